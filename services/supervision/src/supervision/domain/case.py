"""The clocks of one case, as a pure state machine over the events that start and stop them.

Events of one case arrive on two topics (intake's and routing's) whose relative order Kafka does not
guarantee, so ``apply`` works whichever comes first: a registration that arrives after the
acceptance still starts its notice clock, and finds it already met.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from zoneinfo import ZoneInfo

from backbone import contracts as ev
from backbone.envelope import Envelope

from .calendar import WorkCalendar
from .clocks import RULES, compute

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Clock:
    clock: str
    starts_on: date
    period: int
    unit_of_period: str
    due_on: date
    basis: str
    rolled_from: date | None = None
    met_on: date | None = None
    late: bool | None = None


@dataclass(frozen=True, slots=True)
class CaseClocks:
    case_id: str
    case_no: str | None = None
    subsidiary: str | None = None
    unit: str | None = None
    received_on: date | None = None
    decided_on: date | None = None
    decision: str | None = None
    clocks: dict[str, Clock] = field(default_factory=dict)


def _start(case: CaseClocks, clock: str, starts_on: date, cal: WorkCalendar) -> tuple[CaseClocks, list[ev.SupervisionEvent]]:
    if clock in case.clocks:
        return case, []
    d = compute(RULES[clock], starts_on, cal)
    c = Clock(clock, d.starts_on, d.period, d.unit, d.due_on, d.basis, d.rolled_from)
    event = ev.DeadlineSet(case_id=case.case_id, clock=clock, starts_on=d.starts_on, period=d.period,
                        unit_of_period=d.unit, due_on=d.due_on, basis=d.basis, rolled_from=d.rolled_from)
    return replace(case, clocks={**case.clocks, clock: c}), [event]


def _meet(case: CaseClocks, clock: str, on: date) -> tuple[CaseClocks, list[ev.SupervisionEvent]]:
    c = case.clocks.get(clock)
    if c is None or c.met_on is not None:
        return case, []
    late = on > c.due_on
    met = replace(c, met_on=on, late=late)
    return replace(case, clocks={**case.clocks, clock: met}), [ev.DeadlineMet(case_id=case.case_id, clock=clock, on=on, late=late)]


def apply(case: CaseClocks | None, env: Envelope, cal: WorkCalendar) -> tuple[CaseClocks | None, list[ev.SupervisionEvent]]:
    p = env.payload
    if not isinstance(p, ev.PetitionRegistered | ev.CaseAssigned | ev.CaseUnroutable | ev.CaseAccepted | ev.CaseRejected):
        return case, []
    case = case or CaseClocks(env.subject)
    out: list[ev.SupervisionEvent] = []
    match p:
        case ev.PetitionRegistered():
            received_on = p.received_at.astimezone(CHINA).date()
            case = replace(case, case_no=p.case_no, subsidiary=p.subsidiary, received_on=received_on)
            # 《信访工作条例》第二十三条第二款: tell the petitioner how it will be handled within 15 days
            case, out = _start(case, "acceptance_notice", received_on, cal)
            if case.decided_on is not None:
                case, met = _meet(case, "acceptance_notice", case.decided_on)
                out += met
        case ev.CaseAssigned(unit=unit) | ev.CaseUnroutable(queue_unit=unit):
            case = replace(case, unit=unit)
        case ev.CaseAccepted(accepted_on=on) | ev.CaseRejected(rejected_on=on):
            decision = "accepted" if isinstance(p, ev.CaseAccepted) else "rejected"
            case = replace(case, decided_on=on, decision=decision)
            # the acceptance (or the written refusal) is the notice the petitioner is owed
            case, out = _meet(case, "acceptance_notice", on)
            if decision == "accepted":
                # 《信访工作条例》第三十四条: handle and reply within 60 days of acceptance
                case, started = _start(case, "handling", on, cal)
                out += started
    return case, out
