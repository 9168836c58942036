"""Early warnings, pure: each rule's function at its edges (thresholds, window boundaries, late
arrivals), and the consumer over a fake store (a batch rolled back and retried, a batch delivered
twice, a restart, a rebuild) — none raises a warning twice or loses one."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from backbone import contracts as ev
from backbone.envelope import SYSTEM, new_envelope
from reporting.warnings import (
    CollectiveSign,
    FrequentPetitioner,
    OverdueCluster,
    Rising,
    SensitivePeriod,
    SensitivePeriods,
    WarningRules,
    Warnings,
    alert_row,
    burst,
    collective_sign,
    person_of,
    rising,
)

T = datetime(2026, 11, 2, 1, tzinfo=UTC)
RULE = CollectiveSign(petitions_at_least=5, window_days=7)
SEED = Path(__file__).parents[3] / "deploy" / "seed" / "warnings.yaml"


def cases(*days):
    return [(T + timedelta(days=d), f"c{i}") for i, d in enumerate(days)]


# -- 集体访苗头 ---------------------------------------------------------------------------------------------------

def test_five_within_a_week_is_a_sign_with_its_evidence():
    assert collective_sign(cases(0, 1, 2, 3, 6.9), RULE) == ["c0", "c1", "c2", "c3", "c4"]


def test_four_or_five_spread_over_more_than_a_week_are_not():
    assert collective_sign(cases(0, 1, 2, 3), RULE) is None
    assert collective_sign(cases(0, 2, 4, 6, 8), RULE) is None
    assert collective_sign(cases(0, 1, 2, 3, 7), RULE) is None  # exactly 7 days apart: not within a week


def test_order_of_arrival_does_not_matter():
    assert sorted(collective_sign(list(reversed(cases(0, 1, 2, 3, 4))), RULE)) == ["c0", "c1", "c2", "c3", "c4"]


# -- the window every other rule counts in ------------------------------------------------------------------------

def test_a_burst_needs_the_threshold_within_less_than_the_window():
    assert burst(cases(0, 1, 2), T + timedelta(days=2), 7, 3) == cases(0, 1, 2)
    assert burst(cases(0, 1), T + timedelta(days=1), 7, 3) is None
    assert burst(cases(0, 3, 7), T + timedelta(days=7), 7, 3) is None  # first and last exactly 7 days apart
    assert burst(cases(0, 3, 6.99), T + timedelta(days=6.99), 7, 3) == cases(0, 3, 6.99)


def test_a_late_arrival_completes_the_burst_it_belongs_to():
    entries = cases(0, 1, 20, 21, 22)  # c1 arrives last, after a later burst
    assert burst(entries, T + timedelta(days=1), 7, 2) == cases(0, 1)
    # a stretch that does not hold the new entry is not its burst
    assert burst(cases(0, 1, 2, 30), T + timedelta(days=30), 7, 3) is None


def test_a_burst_is_the_earliest_stretch_holding_the_entry():
    assert [c for _, c in burst(cases(0, 5, 6, 10, 11), T + timedelta(days=6), 7, 3)] == ["c0", "c1", "c2"]


# -- 同比/环比 ----------------------------------------------------------------------------------------------------

RISE = Rising(petitions_at_least=4, rise_at_least=1.0, period_days=30)
AT = datetime(2026, 11, 30, 12, tzinfo=UTC)
LONG_AGO = AT - timedelta(days=800)


def times(*days_before):
    return sorted(AT - timedelta(days=d) for d in days_before)


def test_a_count_that_doubles_against_the_period_before_rises():
    spike = rising(times(0, 1, 2, 3, 31, 32), AT, RISE, LONG_AGO)
    assert spike.count == 4 and spike.rose_against == ("previous", "last_year")
    assert [(b.name, b.count) for b in spike.baselines] == [("previous", 2), ("last_year", 0)]
    assert (spike.start, spike.end) == (AT - timedelta(days=30), AT)


def test_below_the_minimum_nothing_is_compared():
    assert rising(times(0, 1, 2), AT, RISE, LONG_AGO) is None


def test_the_rise_ratio_is_inclusive():
    four_vs_two = times(0, 1, 2, 3, 31, 32, 365 + 1, 365 + 2, 365 + 3)  # 同比 4 vs 3: +33%
    assert rising(four_vs_two, AT, RISE, LONG_AGO).rose_against == ("previous",)  # +100%: exactly the ratio
    four_vs_three = times(0, 1, 2, 3, 31, 32, 33, 365 + 1, 365 + 2, 365 + 3)
    assert rising(four_vs_three, AT, RISE, LONG_AGO) is None


def test_period_edges_are_half_open():
    # exactly 30 days before counts in the previous period, not the current one
    spike = rising(times(0, 1, 2, 3, 30), AT, RISE, LONG_AGO)
    assert spike.count == 4 and spike.baselines[0].count == 1
    assert rising(times(0, 1, 2, 30), AT, RISE, LONG_AGO) is None


def test_a_base_before_the_records_began_is_not_compared():
    recent = AT - timedelta(days=45)  # records from 45 days ago: 环比 base (60..30 days ago) incomplete
    assert rising(times(0, 1, 2, 3), AT, RISE, recent) is None
    spike = rising(times(0, 1, 2, 3), AT, RISE, AT - timedelta(days=60))
    assert [b.name for b in spike.baselines] == ["previous"]
    assert rising(times(0, 1, 2, 3), AT, RISE, None) is None


def test_only_the_configured_comparisons_are_made():
    only_yoy = Rising(petitions_at_least=4, rise_at_least=1.0, period_days=30, compare=["last_year"])
    spike = rising(times(0, 1, 2, 3, 31, 32, 33, 34), AT, only_yoy, LONG_AGO)
    assert [b.name for b in spike.baselines] == ["last_year"]


# -- sensitive periods --------------------------------------------------------------------------------------------

def period(**kw):
    return SensitivePeriod.model_validate({"name": "两会", "from": "03-01", "to": "03-15", **kw})


def test_a_period_covers_its_first_and_last_day_every_year():
    p = period()
    assert p.covers(date(2027, 3, 1), "S1") and p.covers(date(2027, 3, 15), None)
    assert not p.covers(date(2027, 2, 28), "S1") and not p.covers(date(2027, 3, 16), "S1")
    assert p.occurrence(date(2031, 3, 9)) == (date(2031, 3, 1), date(2031, 3, 15))


def test_an_every_year_period_may_run_over_the_new_year():
    p = period(name="岁末年初", **{"from": "12-01", "to": "01-31"})
    assert p.occurrence(date(2027, 1, 15)) == (date(2026, 12, 1), date(2027, 1, 31))
    assert p.occurrence(date(2026, 12, 31)) == (date(2026, 12, 1), date(2027, 1, 31))
    assert p.occurrence(date(2027, 2, 1)) is None and p.occurrence(date(2026, 11, 30)) is None


def test_a_dated_period_is_that_year_only_and_may_be_one_subsidiarys():
    p = SensitivePeriod.model_validate({"name": "改制", "from": date(2027, 1, 1), "to": "2027-01-31",
                                        "subsidiaries": ["S1"]})
    assert p.covers(date(2027, 1, 31), "S1") and not p.covers(date(2028, 1, 15), "S1")
    assert not p.covers(date(2027, 1, 15), "S2") and not p.covers(date(2027, 1, 15), None)


@pytest.mark.parametrize("bad, says", [
    ({"from": "03-01", "to": "2027-03-15"}, "同为"),
    ({"from": "2027-03-15", "to": "2027-03-01"}, "早于"),
    ({"from": "02-30", "to": "03-01"}, "MM-DD"),
    ({"from": "March 1", "to": "03-01"}, "MM-DD"),
])
def test_a_wrong_period_is_refused_with_its_reason(bad, says):
    with pytest.raises(ValidationError, match=says):
        period(**bad)


def test_period_names_are_unique():
    with pytest.raises(ValidationError, match="重复"):
        SensitivePeriods(periods=[period(), period()])


def test_the_seed_is_valid_and_a_wrong_seed_names_the_field(tmp_path):
    rules = WarningRules.load(SEED)
    assert rules.collective_sign.petitions_at_least == 5 and rules.sensitive_period.periods
    bad = tmp_path / "warnings.yaml"
    bad.write_text("rising:\n  period_days: 3\nsensitive_period:\n  periods:\n    - {name: x, from: '13-01', to: '13-02'}\n"
                   "surprise: 1\n", encoding="utf-8")
    with pytest.raises(ValueError) as e:
        WarningRules.load(bad)
    text = str(e.value)
    assert "warnings.yaml" in text and "rising.period_days" in text and "sensitive_period.periods.0" in text
    assert "surprise" in text


# -- 信访老户: who is the same person, by links alone ----------------------------------------------------------------

def test_the_links_stand_for_the_person():
    flagged = {"a": (T, frozenset({"x", "y"})), "b": (T, frozenset({"x", "a"})), "z": (T, frozenset({"q"}))}
    linkers = {"x": {"a", "b"}, "y": {"a"}, "a": {"b"}, "q": {"z"}}
    assert person_of("b", {"x", "a"}, flagged, linkers) == {"a", "b"}  # links a, shares x
    assert person_of("a", {"x", "y"}, flagged, linkers) == {"a", "b"}  # b links a
    assert person_of("z", {"q"}, flagged, linkers) == {"z"}


# -- the consumer, over a fake store ----------------------------------------------------------------------------

def uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, name))


def registered(name, at, unit="S2-U2", subsidiary="S2", issue="wages"):
    p = ev.PetitionRegistered(case_id=uid(name), case_no=f"XF-{name}", channel="来信", received_at=at,
                              receiving_unit=f"{subsidiary}-XFB" if subsidiary else "HQ-XFB", subsidiary=subsidiary,
                              anonymous=False, petitioner_count=1, petitioner_unit=unit, category="申诉求决类",
                              issue_type=issue, summary_sealed="SEALED")
    return new_envelope(p, subject=uid(name), sequence=1, actor=SYSTEM)


def flagged_env(name, flag, linked=(), seq=2):
    p = ev.PetitionFlagged(case_id=uid(name), flag=flag, rule="r", linked_case_ids=[uid(x) for x in linked])
    return new_envelope(p, subject=uid(name), sequence=seq, actor=SYSTEM)


def clock_set(name, unit="S1-HR", clock="handling", kind="duty", seq=3):
    p = ev.DeadlineSet(case_id=uid(name), clock=clock, kind=kind, starts_on=date(2026, 11, 1), period=60,
                       unit_of_period="calendar_days", due_on=date(2026, 12, 31), basis="第三十四条", unit=unit)
    return new_envelope(p, subject=uid(name), sequence=seq, actor=SYSTEM)


def breached(name, on, clock="handling", seq=4):
    p = ev.DeadlineBreached(case_id=uid(name), clock=clock, due_on=on - timedelta(days=1), on=on)
    return new_envelope(p, subject=uid(name), sequence=seq, actor=SYSTEM)


def office(unit):
    sub = (unit or "HQ").split("-")[0]
    return f"{sub}-XFB"


QUIET = {"collective_sign": {"enabled": False}, "rising": {"enabled": False}}


def rules(**over) -> WarningRules:
    return WarningRules.model_validate({**QUIET, **over})


class Store:
    """What the consumer's transactions leave behind: the tables the warnings read back."""

    def __init__(self):
        self.window: dict[str, tuple] = {}
        self.clocks: dict[tuple[str, str], str] = {}
        self.breaches: dict[tuple[str, str], tuple] = {}
        self.frequent: dict[str, tuple] = {}
        self.alerts: dict[str, dict] = {}

    def rows(self, query: str, params) -> list[tuple]:
        if "FROM warning_window WHERE case_id" in query:
            return [(c, *v) for c, v in self.window.items()]
        if "FROM warning_clocks" in query:
            return [(c, k, u) for (c, k), u in self.clocks.items()]
        if "FROM alerts WHERE alert_id" in query:
            return [(a,) for a in self.alerts]
        if "FROM warning_window" in query:
            return [(u, s, i, at, c) for c, (u, s, i, at) in self.window.items()]
        if "FROM warning_breaches" in query:
            return [(u, d, c, k) for (c, k), (u, d) in self.breaches.items()]
        if "FROM warning_frequent" in query:
            return [(c, at, linked) for c, (at, linked) in self.frequent.items()]
        if "FROM alerts WHERE kind" in query:
            cols = ("alert_id", "kind", "unit", "raised_at", "message", "case_ids", "about_unit", "issue_type",
                    "window_start", "window_end", "threshold", "count", "baselines", "period")
            return [tuple(_typed(k, a[k]) for k in cols) for a in self.alerts.values()]
        raise AssertionError(query)

    def commit(self, statements):
        for statement, params in statements:
            rows = json.loads(params[0])
            table = statement.split()[2]
            for r in rows:
                match table:
                    case "warning_window":
                        self.window.setdefault(r["case_id"], (r["unit"], r["subsidiary"], r["issue_type"],
                                                              datetime.fromisoformat(r["received_at"])))
                    case "warning_clocks":
                        self.clocks[(r["case_id"], r["clock"])] = r["unit"]
                    case "warning_breaches":
                        self.breaches.setdefault((r["case_id"], r["clock"]), (r["unit"], date.fromisoformat(r["on_day"])))
                    case "warning_frequent":
                        self.frequent.setdefault(r["case_id"], (datetime.fromisoformat(r["received_at"]), r["linked"]))
                    case "alerts":
                        self.alerts.setdefault(r["alert_id"], r)


def _typed(column, value):
    if column in ("raised_at", "window_start", "window_end") and value is not None:
        return datetime.fromisoformat(value)
    return value


class Consumer:
    """backbone.consumer's batch, without PostgreSQL: load, states, apply, save; commit or roll back."""

    def __init__(self, warnings: Warnings, store: Store | None = None):
        self.w = warnings
        self.store = store or Store()
        self.raised: list[ev.AlertRaised] = []

    def batch(self, *events, commit=True) -> list[ev.AlertRaised]:
        queries = self.w.load(sorted({e.subject for e in events}))
        states = self.w.states([self.store.rows(q, p) for q, p in queries])
        changed, emitted = {}, []
        for e in events:
            state, out = self.w.apply(states.get(e.subject), e)
            if state is not states.get(e.subject):
                states[e.subject] = changed[e.subject] = state
            emitted += out
        writes = self.w.save(changed) if changed else []
        if commit:
            self.store.commit(writes)
            self.raised += emitted
        return emitted


def consumer(rules_: WarningRules, store: Store | None = None) -> Consumer:
    return Consumer(Warnings(rules_, office, lambda u: {"S1-HR": "一公司人力资源部"}.get(u), {"wages": "工资待遇"}), store)


def test_five_registrations_raise_one_collective_sign_with_its_evidence():
    c = consumer(WarningRules.model_validate({"rising": {"enabled": False}}))
    out = c.batch(*[registered(f"p{i}", T + timedelta(days=i)) for i in range(6)])
    [a] = out
    assert a.kind == "collective_sign" and a.unit == "S2-XFB" and "5 件" in a.message and "S2-U2" in a.message
    assert a.case_ids == [uid(f"p{i}") for i in range(5)] and (a.threshold, a.count) == (5, 5)
    assert (a.about_unit, a.issue_type, a.window_start, a.window_end) == ("S2-U2", "wages", T, T + timedelta(days=4))
    [row] = c.store.alerts.values()
    assert row == alert_row(a, uid("p4")) and row["case_id"] == uid("p4") and row["case_ids"] == a.case_ids


def test_a_batch_rolled_back_raises_its_warning_again_when_retried_and_only_once():
    c = consumer(WarningRules.model_validate({"rising": {"enabled": False}}))
    c.batch(*[registered(f"p{i}", T + timedelta(days=i)) for i in range(4)])
    fifth = registered("p4", T + timedelta(days=4))
    assert len(c.batch(fifth, commit=False)) == 1  # the transaction failed
    assert len(c.batch(fifth)) == 1  # retried: raised again, and committed
    assert c.batch(fifth) == []  # delivered once more: nothing new
    assert c.batch(registered("p5", T + timedelta(days=5))) == []  # the same burst, longer
    assert len(c.store.alerts) == 1


def test_a_restarted_consumer_reads_its_windows_and_warnings_back():
    c = consumer(WarningRules.model_validate({"rising": {"enabled": False}}))
    c.batch(*[registered(f"p{i}", T + timedelta(days=i)) for i in range(5)])
    again = consumer(WarningRules.model_validate({"rising": {"enabled": False}}), c.store)
    assert again.batch(registered("p5", T + timedelta(days=5))) == []
    assert len(consumer(WarningRules.model_validate({"rising": {"enabled": False}}), c.store).batch(
        *[registered(f"q{i}", T + timedelta(days=30 + i)) for i in range(5)])) == 1  # a new burst later on


def test_a_rebuild_decides_nothing_but_fills_the_windows():
    c = consumer(WarningRules.model_validate({"rising": {"enabled": False}}))
    c.w.rebuilding = True
    assert c.batch(*[registered(f"p{i}", T + timedelta(days=i)) for i in range(5)]) == []
    assert len(c.store.window) == 5 and not c.store.alerts


def test_a_rise_against_the_period_before_raises_once_per_period_with_both_counts():
    r = rules(rising={"petitions_at_least": 4, "rise_at_least": 1.0, "period_days": 30})
    c = consumer(r)
    # records from 61 days back (the 环比 base is complete), 2 of them in the period before
    c.batch(*[registered(f"old{i}", AT - timedelta(days=d), unit=f"S1-U{i}", subsidiary="S1") for i, d in enumerate((61, 45, 40))])
    assert c.batch(*[registered(f"n{i}", AT - timedelta(days=3 - i), unit=f"S1-U{i}", subsidiary="S1")
                     for i in range(3)]) == []
    [a] = c.batch(registered("n3", AT, unit="S1-U9", subsidiary="S1"))
    assert a.kind == "rising" and a.unit == "S1-XFB" and a.about_unit == "S1" and a.count == 4 and a.threshold == 4
    assert [(b.name, b.count) for b in a.baselines] == [("previous", 2)]  # no records a year back: no 同比
    assert a.case_ids == [uid(f"n{i}") for i in range(4)]  # in time order
    assert "环比（上一期） 2 件，增100%" in a.message and "工资待遇" in a.message
    assert c.batch(registered("n4", AT + timedelta(days=1), unit="S1-U9", subsidiary="S1")) == []  # same period
    other = c.batch(*[registered(f"h{i}", AT - timedelta(days=i), unit=None, subsidiary="S2") for i in range(4)])
    assert [a.about_unit for a in other] == ["S2"]  # each subsidiary on its own


def test_records_complete_from_sets_what_is_compared():
    r = rules(rising={"petitions_at_least": 4, "period_days": 30, "records_complete_from": "2026-11-01"})
    c = consumer(r)
    c.batch(registered("old", AT - timedelta(days=400), unit=None, subsidiary="S1"))  # a back-dated registration
    assert c.batch(*[registered(f"n{i}", AT - timedelta(days=i), unit=None, subsidiary="S1") for i in range(4)]) == []


SENSITIVE = {"periods": [{"name": "岁末年初", "from": "12-01", "to": "01-31", "petitions_at_least": 3,
                          "issue_types": ["wages"], "each_petition_of": ["labour_contract"]},
                         {"name": "改制", "from": "2027-01-01", "to": "2027-01-31", "subsidiaries": ["S1"],
                          "collective": True}]}
DEC = datetime(2026, 12, 2, 2, tzinfo=UTC)


def test_in_a_sensitive_period_a_collective_petition_warns_naming_the_period():
    c = consumer(rules(sensitive_period=SENSITIVE))
    [a] = c.batch(registered("v", DEC), flagged_env("v", "collective"))
    assert a.kind == "sensitive_period" and a.period == "岁末年初" and "岁末年初" in a.message
    assert a.case_ids == [uid("v")] and a.unit == "S2-XFB"
    assert a.window_start.date() == date(2026, 12, 1)
    assert c.batch(flagged_env("v", "collective")) == []  # delivered twice
    assert c.batch(registered("w", DEC - timedelta(days=10)), flagged_env("w", "collective")) == []  # before it


def test_a_period_of_one_subsidiary_warns_only_there():
    c = consumer(rules(sensitive_period=SENSITIVE))
    jan = datetime(2027, 1, 10, 2, tzinfo=UTC)
    out = c.batch(registered("s1", jan, unit="S1-U1", subsidiary="S1"), flagged_env("s1", "collective"),
                  registered("s2", jan, unit="S2-U1", subsidiary="S2"), flagged_env("s2", "collective"))
    assert sorted((a.period, a.case_ids[0]) for a in out) == sorted([("岁末年初", uid("s1")), ("改制", uid("s1")),
                                                                     ("岁末年初", uid("s2"))])


def test_in_a_sensitive_period_a_named_issue_warns_by_itself_and_a_burst_warns_sooner():
    c = consumer(rules(sensitive_period=SENSITIVE))
    [a] = c.batch(registered("lc", DEC, issue="labour_contract"))
    assert a.period == "岁末年初" and "labour_contract" in a.message
    assert c.batch(*[registered(f"w{i}", DEC + timedelta(days=i)) for i in range(2)]) == []
    [b] = c.batch(registered("w2", DEC + timedelta(days=2)))  # 3, not collective_sign's 5
    assert (b.kind, b.threshold, b.count, b.about_unit) == ("sensitive_period", 3, 3, "S2-U2")
    assert c.batch(registered("w3", DEC + timedelta(days=3))) == []  # the same burst
    assert c.batch(*[registered(f"h{i}", DEC + timedelta(days=i), issue="housing") for i in range(3)]) == []


def test_a_frequent_petitioner_coming_again_warns_once_per_window_without_naming_anyone():
    c = consumer(rules(frequent_petitioner={"petitions_at_least": 2, "window_days": 30}))
    earlier = ["e1", "e2", "e3", "e4"]
    c.batch(*[registered(x, T - timedelta(days=100 - 10 * i)) for i, x in enumerate(earlier)])
    assert c.batch(registered("f1", T), flagged_env("f1", "frequent_petitioner", earlier)) == []
    [a] = c.batch(registered("f2", T + timedelta(days=10)), flagged_env("f2", "frequent_petitioner", [*earlier, "f1"]))
    assert a.kind == "frequent_petitioner" and a.case_ids == [uid("f1"), uid("f2")] and a.count == 2
    assert a.about_unit is None and "S2-U2" not in a.message and "信访老户" in a.message
    assert c.batch(registered("f3", T + timedelta(days=20)),
                   flagged_env("f3", "frequent_petitioner", [*earlier, "f1", "f2"])) == []  # the same window
    # someone else, flagged at the same time, is another person
    c.batch(*[registered(x, T - timedelta(days=50)) for x in ("o1", "o2")])
    assert c.batch(registered("g1", T + timedelta(days=11)), flagged_env("g1", "frequent_petitioner", ["o1", "o2"])) == []
    later = c.batch(registered("f5", T + timedelta(days=70)), flagged_env("f5", "frequent_petitioner", ["f3"]),
                    registered("f6", T + timedelta(days=75)), flagged_env("f6", "frequent_petitioner", ["f3", "f5"]))
    assert [a.case_ids for a in later] == [[uid("f5"), uid("f6")]]  # a new window, a new warning


def test_a_frequent_petitioners_flags_arriving_out_of_order_warn_once():
    c = consumer(rules())
    late_first = c.batch(registered("f2", T + timedelta(days=3)), flagged_env("f2", "frequent_petitioner", ["e", "f1"]))
    assert late_first == []
    [a] = c.batch(registered("f1", T), flagged_env("f1", "frequent_petitioner", ["e"]))  # shares e, f2 links it
    assert sorted(a.case_ids) == sorted([uid("f1"), uid("f2")])


def test_breached_duty_deadlines_of_one_unit_cluster_into_one_warning():
    c = consumer(rules(overdue_cluster={"breaches_at_least": 3, "window_days": 7}))
    day = date(2026, 11, 10)
    c.batch(*[clock_set(f"d{i}") for i in range(5)], clock_set("w0", clock="review_request_window", kind="window"),
            clock_set("x0", unit="S2-HR"))
    assert c.batch(breached("d0", day), breached("d1", day + timedelta(days=2)),
                   breached("w0", day, clock="review_request_window"), breached("x0", day)) == []
    [a] = c.batch(breached("d2", day + timedelta(days=6)))
    assert (a.kind, a.unit, a.about_unit, a.count, a.threshold) == ("overdue_cluster", "S1-XFB", "S1-HR", 3, 3)
    assert a.case_ids == [uid("d0"), uid("d1"), uid("d2")] and "一公司人力资源部" in a.message
    assert c.batch(breached("d3", day + timedelta(days=7))) == []  # the same cluster
    assert c.batch(breached("d2", day + timedelta(days=6))) == []  # delivered twice


def test_breaches_a_window_apart_do_not_cluster_and_late_ones_still_do():
    c = consumer(rules(overdue_cluster={"breaches_at_least": 3, "window_days": 7}))
    day = date(2026, 11, 10)
    c.batch(*[clock_set(f"d{i}") for i in range(4)])
    assert c.batch(breached("d0", day), breached("d3", day + timedelta(days=7))) == []
    assert c.batch(breached("d1", day + timedelta(days=3))) == []  # three, but the first and last 7 days apart
    [a] = c.batch(breached("d2", day + timedelta(days=1)))  # arrives after a later one
    assert a.count == 3 and a.window_start.date() == day and a.window_end.date() == day + timedelta(days=3)


def test_the_unit_of_a_clock_is_read_back_with_its_case():
    store = Store()
    first = consumer(rules(overdue_cluster={"breaches_at_least": 2, "window_days": 7}), store)
    first.batch(clock_set("d0"), clock_set("d1"))
    again = consumer(rules(overdue_cluster={"breaches_at_least": 2, "window_days": 7}), store)  # restarted
    [a] = again.batch(breached("d0", date(2026, 11, 10)), breached("d1", date(2026, 11, 11)))
    assert a.about_unit == "S1-HR"


def test_rule_defaults_are_the_documented_ones():
    assert (FrequentPetitioner().petitions_at_least, FrequentPetitioner().window_days) == (2, 30)
    assert (OverdueCluster().breaches_at_least, OverdueCluster().window_days) == (3, 7)
    assert Rising().compare == ["previous", "last_year"]


def test_a_steady_stream_warns_once_per_window_not_once_per_registration():
    c = consumer(WarningRules.model_validate({"rising": {"enabled": False}}))
    out = c.batch(*[registered(f"s{i}", T + timedelta(days=i)) for i in range(12)])  # one a day: 7 in any week
    # each warning's petitions are its own: the second starts after the first's window ended
    assert [a.case_ids for a in out] == [[uid(f"s{i}") for i in range(5)], [uid(f"s{i}") for i in range(5, 12)]]
    assert len(c.batch(*[registered(f"t{i}", T + timedelta(days=30 + i)) for i in range(5)])) == 1  # a later burst


def test_evidence_is_in_time_order_whatever_the_order_of_arrival():
    c = consumer(WarningRules.model_validate({"rising": {"enabled": False}}))
    [a] = c.batch(*[registered(f"p{i}", T + timedelta(days=i)) for i in (3, 0, 4, 1, 2)])
    assert a.case_ids == [uid(f"p{i}") for i in range(5)]
    assert list(c.store.alerts.values())[0]["case_id"] == uid("p2")  # on the case that completed it


def test_a_series_finds_by_bisection_the_stretch_the_pure_burst_finds():
    """Series.burst (what the consumer runs on a flood) and burst (the rule as written) agree on
    random series, equal times included, for every point asked about."""
    import random

    from reporting.warnings import Series, burst

    rng = random.Random(7)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    for _ in range(300):
        s = Series()
        hours = [rng.choice([0, 6, 12, 30, 48, 100]) + rng.randrange(0, 400) for _ in range(rng.randrange(0, 25))]
        for k, h in enumerate(hours):
            s.add(t0 + timedelta(hours=h), f"c{k:02d}")
        entries = list(zip(s.times, s.ids))
        for at in [t0 + timedelta(hours=h) for h in hours[:5]] + [t0 + timedelta(hours=rng.randrange(0, 500))]:
            days, at_least = rng.choice([1, 3, 7]), rng.choice([2, 3, 5])
            want = burst(entries, at, days, at_least)
            got = s.burst(at, days, at_least)
            assert (got is None) == (want is None)
            if got:
                assert sorted(zip(s.times[got[0]:got[1]], s.ids[got[0]:got[1]])) == want
