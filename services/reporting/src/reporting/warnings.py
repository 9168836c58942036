"""Early warnings over the stream of registrations and deadlines (deploy/seed/warnings.yaml).

Five kinds, each an ``alert.raised.v1`` with its evidence (the cases, the window, the threshold):

- 集体访苗头 ``collective_sign``: N petitions on one issue type from one unit (the petitioners'
  own) within a window of days;
- 同比/环比 ``rising``: per subsidiary and issue type, the petitions of the last P days against the
  P days before (环比) and the same P days a year before (同比);
- 敏感时期 ``sensitive_period``: in a named period of the editable calendar, a collective/联名
  petition, a petition of an issue type the period names, or a 集体访苗头 at the period's lower
  threshold;
- 信访老户 ``frequent_petitioner``: a petitioner intake flagged as one comes again, N flagged
  petitions within a window (case ids only: who it is never reaches reporting);
- 超期集中 ``overdue_cluster``: N duty deadlines of one responsible unit breached within a window.

The rules are pure functions (``collective_sign``, ``burst``, ``rising``, ``person_of``,
``SensitivePeriod.covers``). Their state lives in memory, as a stream processor's windowed tables
do, loaded once when the consumer starts and written with every batch (``warning_*`` tables);
what one case contributes (its registration, the unit of each duty clock) is read per batch with
the batch's other states. The consumer's transaction keeps the state, the alerts and the positions
together (see the README on why this is not a faust agent). A rebuild restores the warnings from
reporting's own store instead of deciding them again (``RESTORE``).
"""

from __future__ import annotations

import bisect
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from backbone import bulk
from backbone.contracts import (AlertBaseline, AlertRaised, DeadlineBreached, DeadlineSet, PetitionFlagged,
                                PetitionRegistered)
from backbone.envelope import Envelope

CHINA = ZoneInfo("Asia/Shanghai")
NAMESPACE = uuid.UUID("5b0c3a8e-63a4-4c8e-9a4c-2f6f0d6d8a11")
YEAR = timedelta(days=365)
KINDS = ("collective_sign", "rising", "sensitive_period", "frequent_petitioner", "overdue_cluster")


# -- the rules, as data ----------------------------------------------------------------------------------------

class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


class CollectiveSign(_Rule):
    petitions_at_least: int = Field(default=5, ge=2, le=1000)
    window_days: int = Field(default=7, ge=1, le=90)


class Rising(_Rule):
    petitions_at_least: int = Field(default=10, ge=1, le=100_000, description="本期至少这么多件才比较")
    rise_at_least: float = Field(default=1.0, gt=0, le=100, description="(本期 − 基期) ÷ 基期 ≥ 此值；1.0 即翻一番")
    period_days: int = Field(default=30, ge=7, le=92)
    compare: list[Literal["previous", "last_year"]] = Field(default=["previous", "last_year"], min_length=1)
    records_complete_from: date | None = Field(
        default=None, description="the first day the platform's records are complete; a base period starting before it is"
                                  " not compared (default: the earliest registration the consumer holds)")


_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def _day(text: str, field: str) -> date | tuple[int, int]:
    """``MM-DD`` (every year) as (month, day), or ``YYYY-MM-DD`` (once) as a date."""
    m = _MONTH_DAY.match(text)
    try:
        if m:
            date(2000, int(m[1]), int(m[2]))  # a leap year: 02-29 is a valid every-year day
            return int(m[1]), int(m[2])
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field}「{text}」应为 MM-DD（每年）或 YYYY-MM-DD（仅当年） / {field} must be MM-DD or YYYY-MM-DD") from None


class SensitivePeriod(BaseModel):
    """A named stretch of days in which petitions are watched more closely (两会, 七一, 国庆 ...)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=40)
    from_: str = Field(alias="from", description="MM-DD every year, or YYYY-MM-DD once")
    to: str = Field(description="the last day, in the same form; an every-year period may run over the new year")
    subsidiaries: list[str] = Field(default=[], description="only these subsidiaries (empty: the whole group)")
    collective: bool = Field(default=True, description="a collective visit or joint letter (intake's flag) warns")
    each_petition_of: list[str] = Field(default=[], description="every petition of these issue types warns")
    petitions_at_least: int | None = Field(default=None, ge=2, le=1000,
                                           description="集体访苗头 from this many, lower than collective_sign's")
    issue_types: list[str] = Field(default=[], description="the lower threshold only for these issue types (empty: all)")

    @model_validator(mode="before")
    @classmethod
    def _dates_as_text(cls, data):
        # YAML reads an unquoted 2026-12-01 as a date: take it as the text it was written as
        if isinstance(data, dict):
            data = {k: (v.isoformat() if isinstance(v, date) and k in ("from", "from_", "to") else v)
                    for k, v in data.items()}
        return data

    _bounds: tuple = PrivateAttr()

    @model_validator(mode="after")
    def _check(self):
        start, end = _day(self.from_, "from"), _day(self.to, "to")
        if type(start) is not type(end):
            raise ValueError(f"「{self.name}」的 from 和 to 应同为 MM-DD 或同为 YYYY-MM-DD / from and to must have the same form")
        if isinstance(start, date) and end < start:
            raise ValueError(f"「{self.name}」的 to 早于 from / to is before from")
        self._bounds = (start, end)
        return self

    def occurrence(self, day: date) -> tuple[date, date] | None:
        """The period's first and last day around ``day``, if ``day`` falls in it."""
        start, end = self._bounds
        if isinstance(start, date):
            return (start, end) if start <= day <= end else None
        for year in (day.year - 1, day.year):
            first = _on(year, start)
            last = _on(year + 1 if end < start else year, end)
            if first <= day <= last:
                return first, last
        return None

    def covers(self, day: date, subsidiary: str | None) -> bool:
        return self.occurrence(day) is not None and (not self.subsidiaries or subsidiary in self.subsidiaries)


def _on(year: int, month_day: tuple[int, int]) -> date:
    month, day = month_day
    return date(year, month, min(day, 28) if (month, day) == (2, 29) and year % 4 else day)


class SensitivePeriods(_Rule):
    periods: list[SensitivePeriod] = []

    @field_validator("periods")
    @classmethod
    def _unique(cls, periods):
        names = [p.name for p in periods]
        if len(set(names)) != len(names):
            raise ValueError(f"敏感时期名称重复 / duplicate period names: {sorted({n for n in names if names.count(n) > 1})}")
        return periods

    _memo: dict = PrivateAttr(default_factory=dict)

    def on(self, day: date, subsidiary: str | None) -> list[SensitivePeriod]:
        """The periods in force on ``day`` for ``subsidiary`` (asked for every registration: remembered)."""
        key = (day, subsidiary)
        if key not in self._memo:
            if len(self._memo) > 10_000:
                self._memo.clear()
            self._memo[key] = [p for p in self.periods if p.covers(day, subsidiary)] if self.enabled else []
        return self._memo[key]


class FrequentPetitioner(_Rule):
    petitions_at_least: int = Field(default=2, ge=1, le=100, description="flagged petitions of one person")
    window_days: int = Field(default=30, ge=1, le=365)


class OverdueCluster(_Rule):
    breaches_at_least: int = Field(default=3, ge=2, le=1000)
    window_days: int = Field(default=7, ge=1, le=90)


class WarningRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collective_sign: CollectiveSign = CollectiveSign()
    rising: Rising = Rising()
    sensitive_period: SensitivePeriods = SensitivePeriods()
    frequent_petitioner: FrequentPetitioner = FrequentPetitioner()
    overdue_cluster: OverdueCluster = OverdueCluster()

    @classmethod
    def load(cls, path: Path) -> WarningRules:
        """The rules in ``path``, or a ValueError naming every wrong field."""
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except ValidationError as e:
            lines = [f"  {'.'.join(str(x) for x in err['loc']) or '(根)'}: {err['msg']}" for err in e.errors()]
            raise ValueError(f"{path.name} 中的预警规则有误 / invalid warning rules:\n" + "\n".join(lines)) from None


# -- the rules, pure ---------------------------------------------------------------------------------------------

def collective_sign(window: list[tuple[datetime, str]], rule: CollectiveSign) -> list[str] | None:
    """The cases of the densest stretch of ``window_days`` ending at the latest one, if it holds
    the threshold (pure)."""
    if not window:
        return None
    latest = max(t for t, _ in window)
    inside = sorted((t, c) for t, c in window if latest - timedelta(days=rule.window_days) < t <= latest)
    return [c for _, c in inside] if len(inside) >= rule.petitions_at_least else None


def burst(entries: Iterable[tuple[datetime, str]], at: datetime, days: float,
          at_least: int) -> list[tuple[datetime, str]] | None:
    """The earliest stretch shorter than ``days`` that holds ``at`` and at least ``at_least``
    entries, in time order (pure). "Holds ``at``" rather than "ends at the latest": an entry that
    arrives late (another partition, a back-dated registration) still completes its burst."""
    span = timedelta(days=days)
    near = sorted(e for e in entries if at - span < e[0] < at + span)
    times = [t for t, _ in near]
    for i, start in enumerate(times):
        if start > at:
            break
        j = bisect.bisect_left(times, start + span)
        if j - i >= at_least and at < start + span:
            return near[i:j]
    return None


@dataclass(frozen=True, slots=True)
class Spike:
    """A count that rose: the current period and the periods it was compared against."""

    start: datetime
    end: datetime
    count: int
    baselines: tuple[AlertBaseline, ...]
    rose_against: tuple[str, ...]


def rising(times: Sequence[datetime], at: datetime, rule: Rising, history_from: datetime | None) -> Spike | None:
    """Petitions in (at − P, at] against (at − 2P, at − P] (环比) and (at − 1y − P, at − 1y] (同比),
    ``times`` sorted (pure). A base period is compared only if the records reach back to its start
    (``history_from``); a base of 0 counts as a rise once the minimum is reached."""
    p = timedelta(days=rule.period_days)

    def count(start: datetime, end: datetime) -> int:
        return bisect.bisect_right(times, end) - bisect.bisect_right(times, start)

    current = count(at - p, at)
    if current < rule.petitions_at_least:
        return None
    bases, rose = [], []
    for name in rule.compare:
        end = at - p if name == "previous" else at - YEAR
        start = end - p
        if history_from is None or history_from > start:
            continue
        n = count(start, end)
        bases.append(AlertBaseline(name=name, start=start, end=end, count=n))
        if current - n >= rule.rise_at_least * n:
            rose.append(name)
    return Spike(at - p, at, current, tuple(bases), tuple(rose)) if rose else None


def person_of(case: str, linked: Iterable[str], flagged: dict[str, tuple[datetime, frozenset[str]]],
              linkers: dict[str, set[str]]) -> set[str]:
    """The flagged cases of the person whose flagged ``case`` links ``linked`` (pure): those it
    links, those linking it, and those linking one of the same earlier cases. Intake links a
    frequent petitioner's registration to that person's earlier cases, so the links stand for the
    person without reporting ever learning who it is."""
    linked = set(linked)
    out = {case} | {c for c in linked if c in flagged} | linkers.get(case, set())
    for c in linked:
        out |= linkers.get(c, set())
    return out


# -- the consumer's state ---------------------------------------------------------------------------------------

class Series:
    """One key's entries in time order, each once: what a windowed table of a stream processor holds."""

    __slots__ = ("times", "ids", "seen")

    def __init__(self):
        self.times: list[datetime] = []
        self.ids: list[str] = []
        self.seen: set[str] = set()

    def add(self, at: datetime, entry: str) -> bool:
        if entry in self.seen:
            return False  # a retried batch, or an event delivered twice
        i = bisect.bisect_right(self.times, at)
        self.times.insert(i, at)
        self.ids.insert(i, entry)
        self.seen.add(entry)
        return True

    def between(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
        """Entries with start < t < end."""
        i, j = bisect.bisect_right(self.times, start), bisect.bisect_left(self.times, end)
        return list(zip(self.times[i:j], self.ids[i:j], strict=True))

    def burst(self, at: datetime, days: float, at_least: int) -> tuple[int, int] | None:
        """``burst`` over these entries, as the [i, j) of the stretch found, by bisection (the
        same stretch: its ends fall between entries of different times)."""
        span = timedelta(days=days)
        times = self.times
        lo, hi = bisect.bisect_right(times, at - span), bisect.bisect_left(times, at + span)
        for i in range(lo, hi):
            start = times[i]
            if start > at:
                break
            if i > lo and times[i - 1] == start:
                continue  # a stretch starts at the first of equal times
            j = bisect.bisect_left(times, start + span, i, hi)
            if j - i >= at_least and at < start + span:
                return i, j
        return None

    def prune(self, before: datetime) -> None:
        if self.times and self.times[0] < before:
            k = bisect.bisect_left(self.times, before)
            self.seen.difference_update(self.ids[:k])
            del self.times[:k], self.ids[:k]

    def __len__(self) -> int:
        return len(self.times)


class Ledger:
    """The warnings raised: their ids, and per subject the windows they covered (once per window).
    Loaded once; a batch's new warnings stay pending until the next batch sees them committed."""

    def __init__(self):
        self.ids: set[str] = set()
        self.windows: dict[tuple, list[tuple[datetime, datetime, str]]] = defaultdict(list)
        self.by_case: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)  # 信访老户: evidence cases
        self.pending: list[AlertRaised] = []

    def add(self, a: AlertRaised, committed: bool = False) -> None:
        self.ids.add(a.alert_id)
        if a.window_start is not None and a.window_end is not None:
            span = (a.window_start, a.window_end, a.alert_id)
            bisect.insort(self.windows[key_of(a)], span)
            if a.kind == "frequent_petitioner":
                for c in a.case_ids:
                    self.by_case[c].append(span)
        if not committed:
            self.pending.append(a)

    def forget(self, lost: Iterable[AlertRaised]) -> None:
        """Warnings whose batch rolled back: raised again when their batch is retried."""
        for a in lost:
            self.ids.discard(a.alert_id)
            for spans in (self.windows.get(key_of(a), []), *(self.by_case.get(c, []) for c in a.case_ids)):
                spans[:] = [s for s in spans if s[2] != a.alert_id]

    def covered(self, key: tuple, start: datetime, end: datetime) -> bool:
        """Whether a warning on ``key`` covered part of [start, end] (its windows in order of start:
        the search stops at those that began longer before than any window lasts)."""
        spans = self.windows.get(key, ())
        for s, e, _ in reversed(spans[:bisect.bisect_right(spans, (end, end, "~"))]):
            if e >= start:
                return True
            if s < start - LONGEST:
                return False
        return False

    def covers_person(self, cases: Iterable[str], start: datetime, end: datetime) -> bool:
        return any(s <= end and start <= e for c in cases for s, e, _ in self.by_case.get(c, ()))


LONGEST = timedelta(days=400)  # no window the ledger is asked about is longer (bursts ≤ 90 days, rising ≤ 92)


def key_of(a: AlertRaised) -> tuple:
    return a.kind, a.period, a.about_unit, a.issue_type


@dataclass(frozen=True, slots=True)
class Facts:
    """What the warnings know of one case: its registration, and the unit that must meet each duty clock."""

    received_at: datetime | None = None
    subsidiary: str | None = None
    unit: str | None = None  # the petitioners'
    issue_type: str | None = None
    clocks: tuple[tuple[str, str], ...] = ()

    def unit_of(self, clock: str) -> str | None:
        return next((u for c, u in self.clocks if c == clock), None)


ALERT_COLUMNS = ("alert_id", "kind", "unit", "case_id", "raised_at", "message", "case_ids", "about_unit", "issue_type",
                 "window_start", "window_end", "threshold", "count", "baselines", "period")
LEDGER_COLUMNS = tuple(c for c in ALERT_COLUMNS if c != "case_id")
_WINDOW = bulk.insert("warning_window", ("case_id", "unit", "subsidiary", "issue_type", "received_at"),
                      "ON CONFLICT DO NOTHING")
_CLOCKS = bulk.insert("warning_clocks", ("case_id", "clock", "unit"),
                      "ON CONFLICT (case_id, clock) DO UPDATE SET unit = EXCLUDED.unit")
_BREACHES = bulk.insert("warning_breaches", ("case_id", "clock", "unit", "on_day"), "ON CONFLICT DO NOTHING")
_FREQUENT = bulk.insert("warning_frequent", ("case_id", "received_at", "linked"),
                        "ON CONFLICT (case_id) DO UPDATE SET linked = ARRAY(SELECT DISTINCT x FROM"
                        " unnest(f.linked || EXCLUDED.linked) x ORDER BY x)", alias="f")
_ALERTS = bulk.insert("alerts", ALERT_COLUMNS, "ON CONFLICT DO NOTHING")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), CHINA)


class Warnings:
    emits = True
    wants = (PetitionRegistered, PetitionFlagged, DeadlineSet, DeadlineBreached)

    def __init__(self, rules: WarningRules, petition_office_of: Callable[[str | None], str],
                 name_of: Callable[[str | None], str | None] = lambda u: None, issue_names: dict[str, str] | None = None):
        self.rules = rules
        self.office_of = petition_office_of  # the unit whose people must act on a warning
        self.name_of = name_of
        self.issue_names = issue_names or {}
        self.loaded = False
        self.collective: dict[tuple[str, str], Series] = defaultdict(Series)  # (petitioners' unit, issue type)
        self.volumes: dict[tuple[str, str], Series] = defaultdict(Series)  # (subsidiary, issue type)
        self.breaches: dict[str, Series] = defaultdict(Series)  # responsible unit -> breached duty clocks
        self.flagged: dict[str, tuple[datetime, frozenset[str]]] = {}  # 信访老户's flagged cases
        self._flags_since_prune = 0
        self.linkers: dict[str, set[str]] = defaultdict(set)  # a linked case -> the flagged cases linking it
        self.history_from: datetime | None = None
        self.ledger = Ledger()
        self._confirming: list[AlertRaised] = []
        self._new: list[dict] = []
        self._breach_rows: list[dict] = []
        self._frequent_rows: list[dict] = []
        self._rows: list[dict] = []  # this batch's alerts, as rows
        # a rebuild does not decide warnings again: they are facts in reporting's store (RESTORE)
        self.rebuilding = False

    # -- how much history each rule needs --------------------------------------------------------------------
    @property
    def keep_days(self) -> int:
        r = self.rules
        return max(r.collective_sign.window_days * 4, 365 + 2 * r.rising.period_days + 1 if r.rising.enabled else 0)

    # -- the projection protocol (backbone.consumer) ---------------------------------------------------------------
    def load(self, case_ids):
        """Every batch reads its cases' facts, and whether the last batch's warnings committed (a
        batch rolled back and tried again raises its warnings again); the first also reads the
        windows and the warnings raised back."""
        self._new, self._breach_rows, self._frequent_rows, self._rows = [], [], [], []
        ids = [bulk.array(case_ids)]
        out = [("SELECT case_id::text, unit, subsidiary, issue_type, received_at FROM warning_window"
                " WHERE case_id = ANY(%s::uuid[])", ids),
               ("SELECT case_id::text, clock, unit FROM warning_clocks WHERE case_id = ANY(%s::uuid[])", ids)]
        # (what a batch that never reached ``states`` left to confirm is confirmed with this one's)
        self._confirming, self.ledger.pending = [*self._confirming, *self.ledger.pending], []
        if self._confirming:
            out.append(("SELECT alert_id::text FROM alerts WHERE alert_id = ANY(%s::uuid[])",
                        [bulk.array(a.alert_id for a in self._confirming)]))
        if not self.loaded:
            keep = self.keep_days
            out += [(f"SELECT unit, subsidiary, issue_type, received_at, case_id::text FROM warning_window"
                     f" WHERE received_at > now() - interval '{keep} days'", []),
                    (f"SELECT unit, on_day, case_id::text, clock FROM warning_breaches"
                     f" WHERE on_day > current_date - {self.rules.overdue_cluster.window_days * 4}", []),
                    (f"SELECT case_id::text, received_at, linked FROM warning_frequent"
                     f" WHERE received_at > now() - interval '{self.rules.frequent_petitioner.window_days * 2} days'", []),
                    (f"SELECT alert_id::text, {', '.join(LEDGER_COLUMNS[1:])} FROM alerts WHERE kind = ANY(%s)",
                     [list(KINDS)])]
        return out

    def states(self, rows):
        facts: dict[str, Facts] = {}
        for case_id, unit, subsidiary, issue, at in rows[0]:
            facts[case_id] = Facts(at, subsidiary, unit, issue)
        for case_id, clock, unit in rows[1]:
            f = facts.get(case_id, Facts())
            facts[case_id] = replace(f, clocks=(*f.clocks, (clock, unit)))
        rest = rows[2:]
        if self._confirming:
            committed = {r[0] for r in rest[0]}
            self.ledger.forget(a for a in self._confirming if a.alert_id not in committed)
            self._confirming, rest = [], rest[1:]
        if not self.loaded:
            self._read_back(*rest)
            self.loaded = True
        return facts

    def _read_back(self, window, breaches, frequent, alerts) -> None:
        for unit, subsidiary, issue, at, case_id in window:
            self._count(case_id, at, unit, subsidiary, issue)
        for unit, day, case_id, clock in breaches:
            self.breaches[unit].add(_midnight(day), f"{case_id}|{clock}")
        for case_id, at, linked in frequent:
            self._flag(case_id, at, linked)
        for row in alerts:
            d = dict(zip(LEDGER_COLUMNS, row, strict=True))
            self.ledger.add(AlertRaised.model_validate({**d, "case_ids": d["case_ids"] or []}), committed=True)

    def _count(self, case_id: str, at: datetime, unit: str | None, subsidiary: str | None, issue: str) -> None:
        if unit is not None:
            s = self.collective[(unit, issue)]
            s.add(at, case_id)
            s.prune(s.times[-1] - timedelta(days=self.rules.collective_sign.window_days * 4))
        s = self.volumes[(subsidiary or "", issue)]
        s.add(at, case_id)
        s.prune(s.times[-1] - timedelta(days=self.keep_days))
        if self.history_from is None or at < self.history_from:
            self.history_from = at

    def _flag(self, case_id: str, at: datetime, linked: Iterable[str]) -> None:
        # flagged again (intake found more of the person's cases): the links only grow
        links = frozenset(linked) | self.flagged.get(case_id, (at, frozenset()))[1]
        self.flagged[case_id] = (at, links)
        for c in links:
            self.linkers[c].add(case_id)
        self._flags_since_prune += 1
        if self._flags_since_prune >= 1000:  # a scan of the flagged cases, now and then
            self._flags_since_prune = 0
            keep = timedelta(days=self.rules.frequent_petitioner.window_days * 2)
            before = max(t for t, _ in self.flagged.values()) - keep
            for c in [c for c, (t, _) in self.flagged.items() if t < before]:
                _, old = self.flagged.pop(c)
                for x in old:
                    self.linkers.get(x, set()).discard(c)

    def apply(self, found: Facts | None, env: Envelope):
        p = env.payload
        state = found or Facts()
        alerts: list[AlertRaised] = []
        match p:
            case PetitionRegistered():
                state = replace(state, received_at=p.received_at, subsidiary=p.subsidiary, unit=p.petitioner_unit,
                                issue_type=p.issue_type)
                self._count(env.subject, p.received_at, p.petitioner_unit, p.subsidiary, p.issue_type)
                # written again on a retried batch (ON CONFLICT DO NOTHING)
                self._new.append({"case_id": env.subject, "unit": p.petitioner_unit, "subsidiary": p.subsidiary,
                                  "issue_type": p.issue_type, "received_at": p.received_at})
                if not self.rebuilding:
                    alerts = self._on_registration(env.subject, p)
            case PetitionFlagged(flag="collective" | "frequent_petitioner"):
                at = state.received_at or env.time
                if p.flag == "frequent_petitioner":
                    self._flag(env.subject, at, p.linked_case_ids)
                    self._frequent_rows.append({"case_id": env.subject, "received_at": at,
                                                "linked": sorted(self.flagged[env.subject][1])})
                if not self.rebuilding:
                    alerts = (self._sensitive_collective(env.subject, state, at) if p.flag == "collective"
                              else self._frequent(env.subject, state, at))
                state = replace(state)  # a new state: the consumer saves this batch's rows
            case DeadlineSet(kind="duty") if p.unit:
                state = replace(state, clocks=(*((c, u) for c, u in state.clocks if c != p.clock), (p.clock, p.unit)))
            case DeadlineBreached():
                unit = state.unit_of(p.clock)  # only a duty clock names the unit that must act
                if unit is None:
                    return found, []
                self.breaches[unit].add(_midnight(p.on), f"{env.subject}|{p.clock}")
                self._breach_rows.append({"case_id": env.subject, "clock": p.clock, "unit": unit, "on_day": p.on})
                if not self.rebuilding:
                    alerts = self._overdue(env.subject, unit, p, env.time)
                state = replace(state)
            case _:
                return found, []
        return state, alerts

    def save(self, states):
        out = []
        if self._new:
            out.append((_WINDOW, [bulk.rows(self._new)]))
        clocks = [{"case_id": case_id, "clock": c, "unit": u} for case_id, f in states.items() for c, u in f.clocks]
        if clocks:
            out.append((_CLOCKS, [bulk.rows(clocks)]))
        if self._breach_rows:
            out.append((_BREACHES, [bulk.rows(self._breach_rows)]))
        if self._frequent_rows:
            out.append((_FREQUENT, [bulk.rows(self._frequent_rows)]))
        if self._rows and not self.rebuilding:
            out.append((_ALERTS, [bulk.rows(self._rows)]))
        return out

    # -- each rule, over the state -----------------------------------------------------------------------------
    def _alert(self, kind: str, trigger: str, act: str, message: str, cases: Sequence[str], raised_at: datetime,
               name: str, **evidence) -> AlertRaised | None:
        alert_id = str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))
        if alert_id in self.ledger.ids:
            return None
        case_ids = list(cases)[-1000:] if trigger in cases else [*list(cases)[-999:], trigger]
        a = AlertRaised(alert_id=alert_id, kind=kind, unit=act, case_ids=case_ids, raised_at=raised_at,
                        message=message[:1000], **evidence)
        self.ledger.add(a)
        # the alert is the triggering case's (it is on that case's stream): seen by whoever may see that case
        self._rows.append(alert_row(a, trigger))
        return a

    def _unit(self, unit: str | None) -> str:
        name = self.name_of(unit)
        return f"{name}（{unit}）" if name else (unit or "集团总部本级")

    def _issue(self, issue: str | None) -> str:
        return self.issue_names.get(issue or "", issue or "")

    def _on_registration(self, case_id: str, p: PetitionRegistered) -> list[AlertRaised]:
        out = [self._collective(case_id, p), self._rising(case_id, p)]
        day = p.received_at.astimezone(CHINA).date()
        for period in self.rules.sensitive_period.on(day, p.subsidiary):
            if p.issue_type in period.each_petition_of:
                out.append(self._sensitive_case(case_id, p.subsidiary, p.received_at, period,
                                                f"收到「{self._issue(p.issue_type)}」问题信访"))
            out.append(self._sensitive_burst(case_id, p, period))
        return [a for a in out if a is not None]

    def _collective(self, case_id: str, p: PetitionRegistered) -> AlertRaised | None:
        rule = self.rules.collective_sign
        unit = p.petitioner_unit
        if unit is None or not rule.enabled:
            return None
        window = self.collective[(unit, p.issue_type)]
        latest = window.times[-1]
        # counted by bisection, and the evidence gathered only for a warning not raised yet: a flood
        # on one issue holds thousands of cases in the window (py-spy at a steady 200/s of one
        # letter: 28 % of reporting's CPU went to gathering them for every petition)
        lo = bisect.bisect_right(window.times, latest - timedelta(days=rule.window_days))
        if len(window.times) - lo < rule.petitions_at_least:
            return None
        # one warning per burst: named by its first case, and none while the window still overlaps the
        # last warning's (a steady stream slides its first case along: it is the same burst)
        first = window.times[lo]
        if self.ledger.covered(("collective_sign", None, unit, p.issue_type), first, latest):
            return None
        recent = window.between(latest - timedelta(days=rule.window_days), latest + timedelta(microseconds=1))
        cases = collective_sign(recent, rule)
        message = (f"集体访苗头：{self._unit(unit)}「{self._issue(p.issue_type)}」问题 {len(cases)} 件（{rule.window_days}日内"
                   f"{rule.petitions_at_least}件即预警，自{first.astimezone(CHINA).date()}起）")
        return self._alert("collective_sign", case_id, self.office_of(unit), message, cases, p.received_at,
                           f"{unit}:{p.issue_type}:{cases[0]}", about_unit=unit, issue_type=p.issue_type,
                           window_start=first, window_end=latest, threshold=rule.petitions_at_least, count=len(cases))

    def _rising(self, case_id: str, p: PetitionRegistered) -> AlertRaised | None:
        rule = self.rules.rising
        if not rule.enabled:
            return None
        sub = p.subsidiary or ""
        series = self.volumes[(sub, p.issue_type)]
        history = (_midnight(rule.records_complete_from) if rule.records_complete_from else self.history_from)
        # the current period ends at the key's latest registration: one arriving late still counts in it
        spike = rising(series.times, max(p.received_at, series.times[-1]), rule, history)
        if spike is None or p.received_at <= spike.start:  # a registration from before the current period
            return None
        about = p.subsidiary  # None: headquarters' own cases
        key = ("rising", None, about, p.issue_type)
        if self.ledger.covered(key, spike.start, spike.end):
            return None  # once per subsidiary, issue type and period
        label = {"previous": "环比（上一期）", "last_year": "同比（去年同期）"}
        parts = [f"{label[b.name]} {b.count} 件" + (f"，增{_pct(spike.count, b.count)}" if b.name in spike.rose_against
                                                   else "") for b in spike.baselines]
        message = (f"同比/环比上升：{self._unit(about)}「{self._issue(p.issue_type)}」问题近{rule.period_days}日 {spike.count} 件；"
                   f"{'；'.join(parts)}（本期{rule.petitions_at_least}件以上且增幅≥{round(rule.rise_at_least * 100)}%即预警）")
        cases = [c for _, c in series.between(spike.start, spike.end + timedelta(microseconds=1))]
        return self._alert("rising", case_id, self.office_of(p.subsidiary), message, cases, p.received_at,
                           f"{about}:{p.issue_type}:{case_id}", about_unit=about, issue_type=p.issue_type,
                           window_start=spike.start, window_end=spike.end, threshold=rule.petitions_at_least,
                           count=spike.count, baselines=list(spike.baselines))

    def _sensitive_case(self, case_id: str, subsidiary: str | None, at: datetime, period: SensitivePeriod,
                        what: str) -> AlertRaised | None:
        first, last = period.occurrence(at.astimezone(CHINA).date())
        message = f"敏感时期（{period.name}，{first}至{last}）：{what}，请提级关注、及早化解"
        # one warning per case and period, whatever made it one
        return self._alert("sensitive_period", case_id, self.office_of(subsidiary), message, [case_id], at,
                           f"{period.name}:{case_id}", about_unit=subsidiary, period=period.name,
                           window_start=_midnight(first), window_end=_midnight(last + timedelta(days=1)), count=1)

    def _sensitive_collective(self, case_id: str, state: Facts, at: datetime) -> list[AlertRaised]:
        periods = self.rules.sensitive_period.on(at.astimezone(CHINA).date(), state.subsidiary)
        out = [self._sensitive_case(case_id, state.subsidiary, at, p, "收到集体访/联名信访") for p in periods if p.collective]
        return [a for a in out if a is not None]

    def _sensitive_burst(self, case_id: str, p: PetitionRegistered, period: SensitivePeriod) -> AlertRaised | None:
        unit, n = p.petitioner_unit, period.petitions_at_least
        if unit is None or n is None or (period.issue_types and p.issue_type not in period.issue_types):
            return None
        days = self.rules.collective_sign.window_days
        window = self.collective[(unit, p.issue_type)]
        span = window.burst(p.received_at, days, n)  # by bisection; the evidence only when it is new
        if span is None:
            return None
        start, end = window.times[span[0]], window.times[span[1] - 1]
        key = ("sensitive_period", period.name, unit, p.issue_type)
        if self.ledger.covered(key, start, end):
            return None
        found = sorted(zip(window.times[span[0]:span[1]], window.ids[span[0]:span[1]], strict=True))
        # its own words: the 集体访苗头 rule may warn about the same burst later, at its own threshold
        message = (f"敏感时期（{period.name}）同类信访聚集：{self._unit(unit)}「{self._issue(p.issue_type)}」问题 {len(found)} 件"
                   f"（敏感时期{days}日内{n}件即预警，自{start.astimezone(CHINA).date()}起）")
        return self._alert("sensitive_period", case_id, self.office_of(unit), message, [c for _, c in found],
                           p.received_at, f"{period.name}:{unit}:{p.issue_type}:{found[0][1]}", about_unit=unit,
                           issue_type=p.issue_type, period=period.name, window_start=start, window_end=end,
                           threshold=n, count=len(found))

    def _frequent(self, case_id: str, state: Facts, at: datetime) -> list[AlertRaised]:
        rule = self.rules.frequent_petitioner
        if not rule.enabled:
            return []
        _, links = self.flagged[case_id]
        person = person_of(case_id, links, self.flagged, self.linkers)
        found = burst(((self.flagged[c][0], c) for c in person), at, rule.window_days, rule.petitions_at_least)
        if found is None:
            return []
        start, end = found[0][0], found[-1][0]
        if self.ledger.covers_person(person | links, start, end):
            return []  # once per person and window
        # what the warning says reveals no one: no name, no unit of the person, case ids only; and it is
        # shown only to the roles that may see identities (reporting.alerting)
        message = (f"信访老户再次信访：同一信访人{rule.window_days}日内信访{len(found)}件"
                   f"（已被标注为信访老户，{rule.petitions_at_least}件以上即预警），请包案领导关注，依法做好化解")
        return [a for a in [self._alert("frequent_petitioner", case_id, self.office_of(state.subsidiary), message,
                                        [c for _, c in found], at, f"{found[0][1]}:{case_id}", window_start=start,
                                        window_end=end, threshold=rule.petitions_at_least, count=len(found))] if a]

    def _overdue(self, case_id: str, unit: str, p: DeadlineBreached, recorded: datetime) -> list[AlertRaised]:
        rule = self.rules.overdue_cluster
        if not rule.enabled:
            return []
        day = _midnight(p.on)
        series = self.breaches[unit]
        series.prune(series.times[-1] - timedelta(days=rule.window_days * 4))
        span = timedelta(days=rule.window_days)
        found = burst(series.between(day - span, day + span), day, rule.window_days, rule.breaches_at_least)
        if found is None:
            return []
        start, end = found[0][0], found[-1][0]
        key = ("overdue_cluster", None, unit, None)
        if self.ledger.covered(key, start, end):
            return []
        cases = list(dict.fromkeys(e.split("|")[0] for _, e in found))
        message = (f"超期集中：{self._unit(unit)}{rule.window_days}日内 {len(found)} 项办理时限超期"
                   f"（{start.date()}至{end.date()}，{len(cases)} 件；{rule.breaches_at_least}项以上即预警），请督促整改")
        a = self._alert("overdue_cluster", case_id, self.office_of(unit), message, cases, recorded,
                        f"{unit}:{found[0][1]}", about_unit=unit, window_start=start, window_end=end,
                        threshold=rule.breaches_at_least, count=len(found))
        return [a] if a else []


def _pct(now: int, then: int) -> str:
    return "∞（基期为0）" if then == 0 else f"{round((now - then) * 100 / then)}%"


def alert_row(a: AlertRaised, case_id: str) -> dict:
    """The ``alerts`` row of a warning: exactly what RESTORE makes of its event."""
    d = a.model_dump(mode="json", include=set(ALERT_COLUMNS))
    return {**d, "case_id": case_id}


# what a rebuild starts from: the windows empty, the warnings raised as reporting's store has them, and
# each alert's acknowledgement and closure as people recorded them (reporting.alerting); run after the
# projector's rebuild, which empties the alerts it raises itself and raises them again
_DATA = "body->'data'"
RESTORE = (
    "TRUNCATE warning_window, warning_clocks, warning_breaches, warning_frequent;"
    f" DELETE FROM alerts WHERE kind IN ({', '.join(repr(k) for k in KINDS)});"
    " INSERT INTO alerts (alert_id, kind, unit, case_id, raised_at, message, case_ids, about_unit, issue_type,"
    "                     window_start, window_end, threshold, count, baselines, period)"
    " SELECT (d->>'alert_id')::uuid, d->>'kind', d->>'unit', stream_id::uuid, (d->>'raised_at')::timestamptz,"
    "        d->>'message', ARRAY(SELECT json_array_elements_text(d->'case_ids')), d->>'about_unit', d->>'issue_type',"
    "        (d->>'window_start')::timestamptz, (d->>'window_end')::timestamptz, (d->>'threshold')::int,"
    "        (d->>'count')::int, NULLIF((d->'baselines')::jsonb, 'null'::jsonb), d->>'period'"
    f"   FROM (SELECT stream_id, {_DATA} AS d FROM events WHERE event_type = 'alert.raised.v1') e"
    f"  WHERE d->>'kind' IN ({', '.join(repr(k) for k in KINDS)})"
    " ON CONFLICT DO NOTHING;"
    " UPDATE alerts a SET state = 'acknowledged', acknowledged_by = d->>'by', acknowledged_at = (d->>'at')::timestamptz,"
    "        acknowledgement_note = d->>'note'"
    f"   FROM (SELECT {_DATA} AS d FROM events WHERE event_type = 'alert.acknowledged.v1') e"
    "  WHERE a.alert_id = (d->>'alert_id')::uuid;"
    " UPDATE alerts a SET state = 'closed', closed_by = d->>'by', closed_at = (d->>'at')::timestamptz,"
    "        outcome = d->>'outcome', resolution = d->>'resolution'"
    f"   FROM (SELECT {_DATA} AS d FROM events WHERE event_type = 'alert.closed.v1') e"
    "  WHERE a.alert_id = (d->>'alert_id')::uuid"
)
