"""Fairness and 每月一题 on a fixed case set, computed by hand and compared exactly (real PostgreSQL,
reporting's own migrations and event store): exclusions on request, ranking within volume bands,
satisfaction by who collected it, and an issue's cases before and after its fix. The ranking
itself is a pure function, tested on its own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from itertools import permutations
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from backbone import bulk
from backbone.auth import OrgTree, Principal
from backbone.db import connect, migrate, open_async_pool
from backbone.errors import Conflict, Invalid, NotAllowed, NotFound
from backbone.eventstore import EventStore
from backbone.visibility import Scope
from reporting import fairness, fairness_usecases as uc, governance, kpis, usecases
from reporting.bootstrap import MIGRATIONS
from reporting.fairness import Entry, FairnessRules, RankingRules
from reporting.rollup import Rollup

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
CATALOGUE = kpis.Catalogue.model_validate(yaml.safe_load((SEED / "kpis.yaml").read_text(encoding="utf-8")))
ROLLUP = Rollup(CATALOGUE)
RULES = FairnessRules.model_validate(yaml.safe_load((SEED / "fairness.yaml").read_text(encoding="utf-8")))
TAXONOMY = yaml.safe_load((SEED / "taxonomy.yaml").read_text(encoding="utf-8"))

P = {name: Principal(name, unit, role) for name, unit, role in [
    ("hq-analyst", "HQ", "hq_analyst"), ("hq-supervisor", "HQ-XFB", "supervisor"), ("hq-hr-leader", "HQ-HR", "leader"),
    ("s1-supervisor", "S1", "supervisor"), ("s1-handler", "S1", "handler"), ("s1-hr-handler", "S1-HR", "handler"),
    ("s1-u1-handler", "S1-U1", "handler"), ("s1-u1-leader", "S1-U1", "leader"), ("s1-u2-handler", "S1-U2", "handler"),
    ("s1-registrar", "S1-XFB", "registrar"),
    ("s2-supervisor", "S2", "supervisor"), ("s2-hr-handler", "S2-HR", "handler"), ("s2-handler", "S2", "handler")]}


def scope(name: str) -> Scope:
    return Scope.of(P[name], ORG)


def cid(n: int) -> str:
    return str(uuid.UUID(int=n))


def case(n, unit, received, *, issue="wages", served=None, ru=None, by=None, flags=()):
    sub = ORG.subsidiary_of(unit) if unit else "S1"
    return {"case_id": cid(n), "case_no": f"XF-{n}", "subsidiary": sub, "assigned_unit": unit,
            "receiving_unit": f"{sub}-XFB" if sub else "HQ-XFB",
            "received_at": datetime.fromisoformat(received + "T02:00:00+00:00"), "channel": "来信", "category": "申诉求决类",
            "issue_type": issue, "served_on": served, "evaluation_responsible_unit": ru,
            "evaluation_responsible_unit_by": by, "flags": list(flags)}


N = lambda d: date(2026, 11, d)  # noqa: E731
CASES = [
    case(1, "S1-U1", "2026-11-02", served=N(20), ru="满意", by="handling_unit", flags=["repeat"]),  # excluded (approved)
    case(2, "S1-U1", "2026-11-03", served=N(21), ru="不满意", by="hq_callback", flags=["repeat"]),
    case(3, "S1-U1", "2026-11-04", served=N(22), ru="满意", by="petitioner"),
    case(4, "S1-U1", "2026-11-05"),
    case(5, "S1-U2", "2026-11-06", served=N(15), ru="基本满意", by="handling_unit", flags=["repeat"]),  # pending
    case(6, "S1-U2", "2026-11-07", served=N(16), ru="满意", by="hq_callback"),
    case(7, "S1-HR", "2026-11-08", issue="housing", served=N(25), ru="不满意", by="handling_unit"),
    case(8, "S1-HR", "2026-11-09", flags=["repeat"]),
    case(9, "S2-HR", "2026-11-10", served=N(10), ru="满意", by="petition_office", flags=["repeat"]),  # refused
    case(10, "S2-HR", "2026-11-11", served=N(11), ru="超期未评价"),
    case(11, "S2-HR", "2026-11-12"),
    case(12, "S2-U1", "2026-11-13", issue="housing"),
    case(13, "S1-U1", "2026-10-14", flags=["repeat"]),
    case(14, "HQ-HR", "2026-08-03"),  # a headquarters case: decided within headquarters
    case(15, None, "2026-08-04"),  # not yet assigned
]


def app_():
    return SimpleNamespace(kpis=CATALOGUE, fairness=RULES, issue_names={t["id"]: t["name"] for t in TAXONOMY["issue_types"]},
                           ctx=SimpleNamespace(org=ORG, store=EventStore("reporting")), rollup=ROLLUP)


def run(pool, fn, *args, **kw):
    database_url, schema = pool

    async def go():
        p = await open_async_pool(database_url, schema, 2)
        try:
            return await fn(app_(), p, *args, **kw)
        finally:
            await p.close()

    return asyncio.run(go())


REASONS = "该信访人诉求已超出政策规定，经多次答复仍坚持"


@pytest.fixture(scope="module")
def pool(database_url):
    schema = f"fair_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, MIGRATIONS)
    cols = ("case_id", "case_no", "subsidiary", "assigned_unit", "receiving_unit", "received_at", "channel", "category",
            "issue_type", "served_on", "evaluation_responsible_unit", "evaluation_responsible_unit_by", "flags")
    with connect(database_url, schema, autocommit=True) as conn:
        conn.execute(bulk.insert("case_view", cols), [bulk.rows(CASES)])
        conn.execute(bulk.insert("case_scope", ("case_id", "received_at", "receiving_unit", "responsible_unit")),
                     [bulk.rows({"case_id": c["case_id"], "received_at": c["received_at"],
                                 "receiving_unit": c["receiving_unit"], "responsible_unit": c["assigned_unit"]}
                                for c in CASES)])
        ROLLUP.ensure(conn)  # counted before the decisions: an approval counts its case again
    p = (database_url, schema)
    run(p, uc.request_exclusion, cid(1), "unreasonable", REASONS, P["s1-u1-handler"], scope("s1-u1-handler"))
    run(p, uc.decide_exclusion, cid(1), True, "理由充分，同意剔除", P["s1-supervisor"], scope("s1-supervisor"))
    run(p, uc.request_exclusion, cid(5), "repeated_after_final", REASONS, P["s1-u2-handler"], scope("s1-u2-handler"))
    run(p, uc.request_exclusion, cid(9), "not_our_duty", REASONS, P["s2-hr-handler"], scope("s2-hr-handler"))
    run(p, uc.decide_exclusion, cid(9), False, "属本单位职责，不予剔除", P["hq-supervisor"], scope("hq-supervisor"))
    return p


def kpi(pool, kpi_id, group="unit", who="hq-analyst", period="2026-11"):
    out = run(pool, usecases.kpi, scope(who), kpi_id, period, group)
    return {i["group"]: (i["numerator"], i["denominator"], i["excluded"]) for i in out["items"]}, out


# -- exclusions --------------------------------------------------------------------------------------------


def test_an_approved_exclusion_leaves_numerator_and_denominator_pending_and_refused_ones_count(pool):
    by, out = kpi(pool, "repeat_rate")
    assert by == {"S1-U1": (1, 3, 1), "S1-U2": (1, 2, 0), "S1-HR": (1, 2, 0), "S2-HR": (1, 3, 0), "S2-U1": (0, 1, 0)}
    assert "申请剔除" in out["choices"]
    subs, _ = kpi(pool, "repeat_rate", "subsidiary")
    assert subs == {"S1": (3, 7, 1), "S2": (1, 4, 0)}
    sat, _ = kpi(pool, "satisfaction")
    assert sat == {"S1-U1": (1, 2, 1), "S1-U2": (2, 2, 0), "S1-HR": (0, 1, 0), "S2-HR": (1, 1, 0)}
    [item] = [i for i in out["items"] if i["group"] == "S1-U1"]
    assert item["value"] == round(1 / 3, 4) and item["previous"]["excluded"] == 0


def test_volumes_keep_excluded_cases(pool):
    by, out = kpi(pool, "per_thousand", "subsidiary")
    assert by["S1"] == (8, 18000, 0) and out["choices"]["申请剔除"].startswith("不适用")


def test_the_exclusion_list_is_cut_to_the_scope_and_filtered_by_state(pool):
    every = run(pool, uc.exclusions, scope("hq-analyst"), None, 100, None)
    assert {(i["case_no"], i["state"]) for i in every["items"]} == {("XF-1", "approved"), ("XF-5", "pending"),
                                                                     ("XF-9", "refused")}
    [one] = run(pool, uc.exclusions, scope("hq-analyst"), "approved", 100, None)["items"]
    assert (one["unit"], one["approver_unit"], one["decided_by"], one["ground_name"]) == (
        "S1-U1", "S1", "s1-supervisor", "诉求明显不合理/无理诉求")
    assert {i["case_no"] for i in run(pool, uc.exclusions, scope("s2-supervisor"), None, 100, None)["items"]} == {"XF-9"}
    first = run(pool, uc.exclusions, scope("hq-analyst"), None, 2, None)
    rest = run(pool, uc.exclusions, scope("hq-analyst"), None, 2, first["next"])
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next"] is None


def test_only_the_handling_unit_asks_and_only_with_a_known_ground_and_reasons(pool):
    with pytest.raises(NotAllowed) as e:  # S1's own handler: not the unit holding the case
        run(pool, uc.request_exclusion, cid(3), "unreasonable", REASONS, P["s1-handler"], scope("s1-handler"))
    assert e.value.detail["fields"][0]["field"] == "unit" and e.value.detail["message_en"]
    with pytest.raises(NotFound):  # a unit that cannot see the case does not learn it exists
        run(pool, uc.request_exclusion, cid(3), "unreasonable", REASONS, P["s2-hr-handler"], scope("s2-hr-handler"))
    with pytest.raises(NotAllowed):  # a registrar is not the handling unit
        run(pool, uc.request_exclusion, cid(3), "unreasonable", REASONS, P["s1-registrar"], scope("s1-registrar"))
    with pytest.raises(Invalid) as e:
        run(pool, uc.request_exclusion, cid(3), "because", REASONS, P["s1-u1-handler"], scope("s1-u1-handler"))
    assert e.value.detail["fields"][0]["field"] == "ground" and "unreasonable" in e.value.message
    with pytest.raises(Invalid) as e:
        run(pool, uc.request_exclusion, cid(3), "unreasonable", "  太短了  " + " " * 10, P["s1-u1-handler"],
            scope("s1-u1-handler"))
    assert e.value.detail["fields"][0]["field"] == "reasons"
    with pytest.raises(Conflict):  # one open request per case
        run(pool, uc.request_exclusion, cid(5), "unreasonable", REASONS, P["s1-u2-handler"], scope("s1-u2-handler"))
    with pytest.raises(Invalid) as e:
        run(pool, uc.request_exclusion, cid(15), "unreasonable", REASONS, P["s1-handler"], scope("s1-handler"))
    assert e.value.detail["fields"][0]["field"] == "case_id"


def test_the_level_above_decides_and_nobody_decides_their_own_request(pool):
    # S1-U2's case: S1 decides, not headquarters, not the unit itself
    for who in ("hq-supervisor", "s1-u1-leader"):
        with pytest.raises((NotAllowed, NotFound)):
            run(pool, uc.decide_exclusion, cid(5), True, "同意", P[who], scope(who))
    with pytest.raises(NotAllowed):  # a handler does not approve
        run(pool, uc.decide_exclusion, cid(5), True, "同意", P["s1-handler"], scope("s1-handler"))
    with pytest.raises(NotFound):  # nothing pending
        run(pool, uc.decide_exclusion, cid(1), False, "撤回", P["s1-supervisor"], scope("s1-supervisor"))
    # a headquarters case is decided within headquarters, by someone other than who asked
    run(pool, uc.request_exclusion, cid(14), "beyond_authority", REASONS, P["hq-hr-leader"], scope("hq-hr-leader"))
    with pytest.raises(NotAllowed) as e:
        run(pool, uc.decide_exclusion, cid(14), True, "同意", P["hq-hr-leader"], scope("hq-hr-leader"))
    assert e.value.detail["fields"][0]["field"] == "requested_by"
    out = run(pool, uc.decide_exclusion, cid(14), False, "不同意", P["hq-supervisor"], scope("hq-supervisor"))
    assert out["state"] == "refused" and out["approver_unit"] == "HQ"


def test_who_is_the_level_above():
    assert fairness.approver_of(ORG, "S1-U1") == "S1"
    assert fairness.approver_of(ORG, "S1-HR") == "HQ"  # a department acts for its company
    assert fairness.approver_of(ORG, "S1") == "HQ"
    assert fairness.approver_of(ORG, "S4-U1") == "S4"
    assert fairness.approver_of(ORG, "HQ-HR") == "HQ"
    assert fairness.may_request(ORG, "S1-HR", "S1") and fairness.may_request(ORG, "S1", "S1-HR")
    assert not fairness.may_request(ORG, "S1", "S1-U1") and not fairness.may_request(ORG, "S1-U2", "S1-U1")
    assert fairness.may_decide(ORG, "HQ-XFB", "HQ") and fairness.may_decide(ORG, "S1-XFB", "S1")
    assert not fairness.may_decide(ORG, "S1-U1", "S1") and not fairness.may_decide(ORG, "nowhere", "S1")


# -- satisfaction by who collected it -----------------------------------------------------------------------


def test_satisfaction_by_collector_compares_self_collected_with_the_independent_callback(pool):
    by, out = kpi(pool, "satisfaction", "collector")
    assert by == {"handling_unit": (1, 2, 1), "hq_callback": (1, 2, 0), "petitioner": (1, 1, 0),
                  "petition_office": (1, 1, 0), None: (0, 0, 0)}
    names = {i["group"]: i["group_name"] for i in out["items"]}
    assert names["hq_callback"] == "总部独立回访" and names["handling_unit"] == "承办单位回访"
    assert names["petitioner"] == "信访人自评" and names["petition_office"] == "信访部门回访"
    mine, _ = kpi(pool, "satisfaction", "collector", who="s2-supervisor")
    assert mine == {"petition_office": (1, 1, 0), None: (0, 0, 0)}


@pytest.mark.parametrize("kpi_id", ["participation", "repeat_rate", "per_thousand"])
def test_collector_is_refused_for_indicators_without_an_evaluation(pool, kpi_id):
    with pytest.raises(Invalid) as e:
        kpi(pool, kpi_id, "collector")
    f = e.value.detail["fields"][0]
    assert f["field"] == "group_by" and "评价" in f["message"] and "collector" in f["message_en"]


# -- ranking -------------------------------------------------------------------------------------------------

SMALL = RankingRules.model_validate({"min_denominator": 2, "bands": [
    {"id": "small", "name": "≤2", "max": 2}, {"id": "medium", "name": "3", "max": 3}, {"id": "large", "name": ">3"}]})


def test_units_are_ranked_within_their_volume_band_with_ties_and_a_minimum(pool, monkeypatch):
    monkeypatch.setattr(RULES, "ranking", SMALL)
    out = run(pool, uc.ranking, scope("hq-analyst"), "repeat_rate", "2026-11", "unit")
    bands = {b["band"]: [(i["group"], i["rank"], i["numerator"], i["denominator"]) for i in b["items"]] for b in out["bands"]}
    assert bands == {"small": [("S1-HR", 1, 1, 2), ("S1-U2", 1, 1, 2)], "medium": [("S2-HR", 1, 1, 3)],
                     "large": [("S1-U1", 1, 1, 3)]}
    [left] = out["not_ranked"]
    assert (left["group"], left["band"], left["denominator"]) == ("S2-U1", "small", 1) and "最低 2 件" in left["reason"]
    assert out["better"] == "lower" and out["min_denominator"] == 2
    [u1] = [i for b in out["bands"] for i in b["items"] if i["group"] == "S1-U1"]
    assert (u1["volume"], u1["excluded"]) == (4, 1)  # the volume keeps the excluded case, the rate does not
    subs = run(pool, uc.ranking, scope("hq-analyst"), "satisfaction", "2026-11", "subsidiary")
    ranked = {i["group"]: (i["band"], i["rank"]) for b in subs["bands"] for i in b["items"]}
    assert ranked == {"S1": ("large", 1)} and subs["not_ranked"][0]["group"] == "S2"  # S2: 1 evaluation < 2


def test_volumes_are_not_ranked_and_bad_requests_name_the_field(pool):
    with pytest.raises(Invalid) as e:
        run(pool, uc.ranking, scope("hq-analyst"), "per_thousand", "2026-11", "subsidiary")
    assert e.value.detail["fields"][0]["field"] == "kpi_id"
    with pytest.raises(Invalid) as e:
        run(pool, uc.ranking, scope("hq-analyst"), "repeat_rate", "2026-13", "unit")
    assert e.value.detail["fields"][0]["field"] == "period"
    with pytest.raises(NotFound):
        run(pool, uc.ranking, scope("hq-analyst"), "nonsense", "2026-11", "unit")


def _placed(entries, rules=SMALL, better="higher"):
    return {p.entry.group: (p.band, p.rank) for p in fairness.rank(entries, rules, better)}


def test_rank_pure_bands_boundaries_minimum_and_unassigned():
    e = [Entry("a", 2, 1, 2), Entry("b", 3, 2, 3), Entry("c", 4, 2, 2), Entry("d", 0, 0, 0), Entry(None, 9, 9, 9),
         Entry("f", 2, 0, 1)]
    assert _placed(e) == {"a": ("small", 1), "b": ("medium", 1), "c": ("large", 1), "d": ("small", None),
                          None: (None, None), "f": ("small", None)}
    reasons = {p.entry.group: p.reason for p in fairness.rank(e, SMALL, "higher")}
    assert reasons["a"] is None and "未分派" in reasons[None] and "0 件" in reasons["d"]
    assert fairness.band_of(SMALL.bands, 0).id == "small" and fairness.band_of(SMALL.bands, 3).id == "medium"
    assert fairness.band_of(SMALL.bands, 10**9).id == "large"


def test_rank_pure_direction_and_competition_ties_in_any_order():
    e = [Entry("a", 1, 2, 4), Entry("b", 1, 1, 2), Entry("c", 1, 3, 4), Entry("d", 1, 1, 4), Entry("e", 1, 2, 2)]
    want_high = {"e": 1, "c": 2, "a": 3, "b": 3, "d": 5}  # 1/2 == 2/4 exactly: a shared rank, then 5
    want_low = {"d": 1, "a": 2, "b": 2, "c": 4, "e": 5}
    for order in permutations(e):
        assert {g: r for g, (_, r) in _placed(list(order)).items()} == want_high
        assert {g: r for g, (_, r) in _placed(list(order), better="lower").items()} == want_low
    out = fairness.rank(e, SMALL, "higher")
    assert [p.entry.group for p in out] == ["e", "c", "a", "b", "d"]  # by rank, ties by name
    assert _placed([Entry("x", 1, 1, 3), Entry("y", 1, 2, 6), Entry("z", 1, 1, 3)]) == {
        "x": ("small", 1), "y": ("small", 1), "z": ("small", 1)}


def test_ranking_rules_refuse_bands_that_do_not_rise():
    for bands in ([{"id": "a", "name": "a", "max": 5}], [{"id": "a", "name": "a"}, {"id": "b", "name": "b"}],
                  [{"id": "a", "name": "a", "max": 5}, {"id": "b", "name": "b", "max": 5}, {"id": "c", "name": "c"}]):
        with pytest.raises(ValueError):
            RankingRules.model_validate({"bands": bands})


# -- 每月一题 ---------------------------------------------------------------------------------------------------

OPEN = {"issue_type": "wages", "subsidiary": "S1", "month": "2026-11", "why": "本月工资待遇件次最多，重复访突出",
        "owner_unit": "S1-HR", "owner": "一公司人力资源部部长", "fix": "统一绩效工资核算口径并按月公示",
        "starts_on": date(2026, 11, 1), "deadline": date(2026, 11, 20)}


def test_headquarters_opens_an_issue_the_owner_completes_it_and_its_cases_are_tracked_before_and_after(pool, monkeypatch):
    monkeypatch.setattr(RULES, "governance", RULES.governance.model_copy(update={"months_before": 2, "months_after": 1}))
    opened = run(pool, uc.open_issue, OPEN, P["hq-analyst"], today=date(2026, 11, 1))
    gid = opened["issue_id"]
    assert (opened["state"], opened["overdue"], opened["issue_type_name"]) == ("open", False, "工资待遇")
    # seen by headquarters and by the owner's subsidiary (down to its units), not by another subsidiary
    for who, sees in (("hq-analyst", True), ("s1-supervisor", True), ("s1-u1-handler", True), ("s2-supervisor", False)):
        listed = {i["issue_id"] for i in run(pool, uc.issues, scope(who), 100, None, today=date(2026, 12, 5))["items"]}
        assert (gid in listed) is sees, who
    with pytest.raises(NotFound):
        run(pool, uc.issue, gid, scope("s2-supervisor"), today=date(2026, 12, 5))

    t = run(pool, uc.issue, gid, scope("hq-analyst"), today=date(2026, 12, 5))
    assert t["overdue"] is True and t["days_late"] == 15 and t["state_label"] == "已逾期"
    months = {m["month"]: (m["phase"], m["cases"], m["repeat_rate"]["numerator"], m["repeat_rate"]["denominator"],
                           m["satisfaction"]["numerator"], m["satisfaction"]["denominator"]) for m in t["months"]}
    # Nov: S1's wage cases 1-6 and 8 (7 is housing); case 1 is excluded from the rates, not from the count
    assert months == {"2026-09": ("before", 0, 0, 0, 0, 0), "2026-10": ("before", 1, 1, 1, 0, 0),
                      "2026-11": ("during", 7, 3, 6, 3, 4), "2026-12": ("during", 0, 0, 0, 0, 0)}
    phases = {p["phase"]: (p["months"], p["cases"], p["repeat_rate"]["numerator"], p["repeat_rate"]["denominator"])
              for p in t["phases"]}
    assert phases == {"before": (2, 1, 1, 1), "during": (2, 7, 3, 6)}

    with pytest.raises(NotAllowed):  # the owner records progress, not another unit of the company
        run(pool, uc.record_fix, gid, "进展", False, None, P["s1-u1-handler"], scope("s1-u1-handler"), today=date(2026, 11, 5))
    with pytest.raises(NotFound):
        run(pool, uc.record_fix, gid, "进展", False, None, P["s2-hr-handler"], scope("s2-hr-handler"), today=date(2026, 11, 5))
    with pytest.raises(Invalid) as e:
        run(pool, uc.record_fix, gid, "完成", True, date(2026, 12, 9), P["s1-hr-handler"], scope("s1-hr-handler"),
            today=date(2026, 12, 5))
    assert e.value.detail["fields"][0]["field"] == "on"
    run(pool, uc.record_fix, gid, "已完成口径梳理", False, date(2026, 11, 10), P["s1-hr-handler"], scope("s1-hr-handler"),
        today=date(2026, 11, 10))
    done = run(pool, uc.record_fix, gid, "全部整改完成", True, date(2026, 11, 30), P["s1-hr-handler"], scope("s1-hr-handler"),
               today=date(2026, 12, 5))
    assert (done["state_label"], done["days_late"], len(done["progress"]), done["version"]) == ("逾期完成", 10, 2, 3)
    with pytest.raises(Conflict):
        run(pool, uc.record_fix, gid, "再记一次", False, None, P["s1-hr-handler"], scope("s1-hr-handler"),
            today=date(2026, 12, 5))
    t = run(pool, uc.issue, gid, scope("s1-supervisor"), today=date(2026, 12, 5))
    assert [(m["month"], m["phase"]) for m in t["months"]] == [
        ("2026-09", "before"), ("2026-10", "before"), ("2026-11", "during"), ("2026-12", "after")]
    assert {p["phase"]: p["cases"] for p in t["phases"]} == {"before": 1, "during": 7, "after": 0}
    # both facts are events in reporting's own store, on the issue's stream
    database_url, schema = pool
    with connect(database_url, schema, autocommit=True) as conn:
        types = [r[0] for r in conn.execute("SELECT event_type FROM events WHERE stream_id = %s ORDER BY version", (gid,))]
    assert types == ["governance.issue_opened.v1", "governance.fix_recorded.v1", "governance.fix_recorded.v1"]


def test_only_headquarters_opens_an_issue_and_its_fields_are_checked(pool):
    today = date(2026, 11, 1)
    with pytest.raises(NotAllowed):
        run(pool, uc.open_issue, OPEN, P["s1-supervisor"], today=today)
    for change, field in (({"issue_type": "nonsense"}, "issue_type"), ({"subsidiary": "S1-HR"}, "subsidiary"),
                          ({"owner_unit": "S2-HR"}, "owner_unit"), ({"owner_unit": "GOV"}, "owner_unit"),
                          ({"deadline": date(2026, 10, 1)}, "deadline"), ({"starts_on": date(1, 1, 1)}, "starts_on")):
        with pytest.raises(Invalid) as e:
            run(pool, uc.open_issue, {**OPEN, **change}, P["hq-supervisor"], today=today)
        assert e.value.detail["fields"][0]["field"] == field, change
    # a headquarters department may own a subsidiary's issue; a group-wide issue needs no subsidiary
    assert run(pool, uc.open_issue, {**OPEN, "owner_unit": "HQ-HR", "subsidiary": None}, P["hq-supervisor"],
               today=today)["subsidiary_name"] == "全集团"


def test_suggestions_are_each_subsidiarys_top_issue_types(pool):
    out = run(pool, uc.suggestions, scope("hq-analyst"), "2026-11")
    top = {i["subsidiary"]: [(t["issue_type"], t["cases"], t["previous"]) for t in i["top"]] for i in out["items"]}
    assert top == {"S1": [("wages", 7, 1), ("housing", 1, 0)], "S2": [("wages", 3, 0), ("housing", 1, 0)]}
    with pytest.raises(Invalid):
        run(pool, uc.suggestions, scope("hq-analyst"), "2026-Q4")


def test_governance_pure_window_phases_and_deadline():
    assert governance.shift("2026-01", -1) == "2025-12" and governance.shift("2026-12", 1) == "2027-01"
    assert governance.window(date(2026, 3, 15), None, date(2026, 5, 2), 2, 6) == [
        "2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert governance.window(date(2026, 3, 15), date(2026, 4, 1), date(2027, 1, 1), 1, 2) == [
        "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert [governance.phase(m, date(2026, 3, 15), date(2026, 4, 1)) for m in ("2026-02", "2026-03", "2026-04", "2026-05")] \
        == ["before", "during", "during", "after"]
    assert governance.deadline_state(date(2026, 3, 1), None, date(2026, 3, 1))["overdue"] is False
    assert governance.deadline_state(date(2026, 3, 1), None, date(2026, 3, 4))["days_late"] == 3
    assert governance.deadline_state(date(2026, 3, 1), date(2026, 2, 20), date(2026, 9, 1))["state_label"] == "已完成"


def test_a_rebuild_empties_the_read_models_but_keeps_reporting_s_own_facts(database_url):
    from reporting import store

    schema = f"fair_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, MIGRATIONS)
    with connect(database_url, schema, autocommit=True) as conn:
        conn.execute(bulk.insert("case_view", ("case_id", "case_no")), [bulk.rows([{"case_id": cid(1), "case_no": "XF-1"}])])
        conn.execute("INSERT INTO kpi_exclusions (exclusion_id, case_id, unit, ground, reasons, approver_unit, requested_by,"
                     " requested_at, state) VALUES (%s, %s, 'S1-U1', 'unreasonable', 'r', 'S1', 'p', now(), 'approved')",
                     (cid(7), cid(1)))
        conn.execute("INSERT INTO governance_issues (issue_id, issue_type, month, why, owner_unit, owner, fix, starts_on,"
                     " deadline, opened_by, opened_at) VALUES (%s, 'wages', '2026-11', 'w', 'S1-HR', 'o', 'f', '2026-11-01',"
                     " '2026-12-01', 'p', now())", (cid(8),))
        store.reset(conn)
        counts = conn.execute("SELECT (SELECT count(*) FROM case_view), (SELECT count(*) FROM kpi_exclusions),"
                              " (SELECT count(*) FROM governance_issues)").fetchone()
    assert counts == (0, 1, 1)
