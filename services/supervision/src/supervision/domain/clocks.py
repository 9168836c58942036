"""The 《信访工作条例》(2022) clocks and how their last day is computed.

The 条例 gives periods in days (日) and, once, in working days (第二十三条第三款, 5个工作日), but does
not say how to count them. We follow 《民法典》第二百零一条至第二百零三条 by analogy — an
interpretation, not an express rule, to be confirmed with the group's legal / 信访 office:

* calendar days: for N days starting on S, S itself is not counted (Art. 201); the nominal last day is
  S + N. If that day is not a working day (statutory holiday or weekend rest day, per the calendar,
  so a 调休 make-up Saturday is a working day), the period ends on the next working day (Art. 203 ¶1).
* working days: the period ends on the Nth working day after S; it cannot end on a rest day, so there
  is nothing to roll.
* the last day lasts until 24:00 (Art. 203 ¶2): a clock is overdue only from the day after it.

Each clock starts from a different event (收到之日, 受理之日, 收到书面答复之日 ...); the caller passes the
date of that event. An extension (延期) runs from the last day of the period it extends (原办理期限届满
之日), for at most 30 days, once. Time spent on a hearing (听证, 第三十六条第二款), or waiting for the
petitioner's material or an expert appraisal, is not counted: a paused clock's last day moves by the
days of the pause (working days, for a working-day clock).

``Clock`` is the state of one running clock; ``start``, ``pause``, ``resume``, ``extend``, ``meet``,
``breach``, ``cancel`` are pure and return a new clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from supervision.domain.calendar import WorkCalendar

Unit = Literal["calendar_days", "working_days"]
Status = Literal["met", "met_late", "overdue", "due_soon", "running"]

_ACT = "《信访工作条例》"


@dataclass(frozen=True, slots=True)
class ClockRule:
    clock: str
    period: int
    unit: Unit
    basis: str
    starts_from: str = ""  # the event whose date starts the clock, in the 条例's words

    def __post_init__(self) -> None:
        if self.period <= 0:
            raise ValueError(f"{self.clock}: period must be positive, got {self.period}")
        if self.unit not in ("calendar_days", "working_days"):
            raise ValueError(f"{self.clock}: unknown unit {self.unit!r}")


def _rule(clock: str, period: int, unit: Unit, article: str, starts_from: str) -> tuple[str, ClockRule]:
    return clock, ClockRule(clock, period, unit, _ACT + article, starts_from)


RULES: dict[str, ClockRule] = dict(
    [
        # 信访部门 registers, then 转送 or 交办 within 15 days
        _rule("transfer", 15, "calendar_days", "第二十二条第一款", "收到信访事项之日"),
        # received directly: written notice on the spot, or else within 15 days of receipt
        _rule("acceptance_notice", 15, "calendar_days", "第二十三条第二款", "收到之日"),
        # received by 转送/交办: notice within 15 days, or an objection with reasons within 5 working days
        _rule("transferred_notice", 15, "calendar_days", "第二十三条第三款", "收到之日"),
        _rule("objection", 5, "working_days", "第二十三条第三款", "收到之日"),
        _rule("handling", 60, "calendar_days", "第三十四条", "受理之日"),
        _rule("extension", 30, "calendar_days", "第三十四条", "原办理期限届满之日"),  # at most 30, once
        _rule("review_request_window", 30, "calendar_days", "第三十五条", "收到书面答复之日"),
        _rule("review", 30, "calendar_days", "第三十五条", "收到复查请求之日"),
        _rule("re_review_request_window", 30, "calendar_days", "第三十六条第一款", "收到书面答复之日"),
        _rule("re_review", 30, "calendar_days", "第三十六条第一款", "收到复核请求之日"),
    ]
)


@dataclass(frozen=True, slots=True)
class Deadline:
    clock: str
    starts_on: date
    period: int
    unit: str
    due_on: date
    basis: str
    rolled_from: date | None  # the nominal last day, when it was a rest day and the period was extended
    calendar_verified: bool  # False if any day that decided due_on lies in a year without a holiday table


def compute(rule: ClockRule, starts_on: date, cal: WorkCalendar) -> Deadline:
    if rule.unit == "working_days":
        due_on = cal.add_working_days(starts_on, rule.period)
        rolled_from = None
        deciding_from = starts_on + timedelta(days=1)  # every day counted or skipped
    else:
        nominal = starts_on + timedelta(days=rule.period)
        due_on = cal.next_workday_on_or_after(nominal)
        rolled_from = nominal if due_on != nominal else None
        deciding_from = nominal  # days before the nominal last day count whatever they are
    deciding = (deciding_from + timedelta(days=i) for i in range((due_on - deciding_from).days + 1))
    verified = all(cal.is_verified(d) for d in deciding)
    return Deadline(
        clock=rule.clock,
        starts_on=starts_on,
        period=rule.period,
        unit=rule.unit,
        due_on=due_on,
        basis=rule.basis,
        rolled_from=rolled_from,
        calendar_verified=verified,
    )


def status_as_of(due_on: date, met_on: date | None, as_of: date, warn_days: int = 3) -> Status:
    if met_on is not None:
        return "met" if met_on <= due_on else "met_late"
    if as_of > due_on:  # the last day runs to 24:00, so due_on itself is still in time
        return "overdue"
    if (due_on - as_of).days <= warn_days:
        return "due_soon"
    return "running"


# -- a running clock ---------------------------------------------------------------------------------

Kind = Literal["duty", "window", "internal"]


class ClockError(Exception):
    """An operation the clock's rules forbid (extending twice, resuming what is not paused ...)."""


class Clock(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: Kind
    starts_on: date
    period: int
    unit_of_period: str
    basis: str
    unit: str | None = None  # the unit that must act
    due_on: date
    rolled_from: date | None = None
    paused_on: date | None = None
    paused_days: int = 0  # days not counted, in the clock's own unit
    extended_days: int = 0
    original_due_on: date | None = None  # before the extension
    met_on: date | None = None
    late: bool | None = None
    breached_on: date | None = None
    cancelled_on: date | None = None
    warned: int | None = None  # the fewest days left a pre-warning was given at
    untouched_on: date | None = None

    @property
    def open(self) -> bool:
        return self.met_on is None and self.cancelled_on is None

    @property
    def running(self) -> bool:
        return self.open and self.paused_on is None


def start(name: str, rule: ClockRule, starts_on: date, cal: WorkCalendar, *, unit: str | None = None,
          kind: Kind = "duty") -> Clock:
    d = compute(rule, starts_on, cal)
    return Clock(name=name, kind=kind, starts_on=starts_on, period=rule.period, unit_of_period=rule.unit,
                 basis=rule.basis, unit=unit, due_on=d.due_on, rolled_from=d.rolled_from)


def internal(name: str, days: int, starts_on: date, basis: str, cal: WorkCalendar, *, unit: str | None = None,
             kind: Kind = "internal") -> Clock:
    """A clock the group sets itself (track targets, sub-tasks, 督办 feedback ...)."""
    return start(name, ClockRule(name, max(days, 1), "calendar_days", basis), starts_on, cal, unit=unit, kind=kind)


def until(name: str, due_on: date, starts_on: date, basis: str, cal: WorkCalendar, *, unit: str | None = None) -> Clock:
    """An internal clock with a stated last day (a sub-task's deadline, a 交办 report date)."""
    return internal(name, (due_on - starts_on).days, starts_on, basis, cal, unit=unit)


def _due(c: Clock, cal: WorkCalendar) -> tuple[date, date | None]:
    if c.unit_of_period == "working_days":
        due, rolled = cal.add_working_days(c.starts_on, c.period + c.paused_days), None
    else:
        nominal = c.starts_on + timedelta(days=c.period + c.paused_days)
        due = cal.next_workday_on_or_after(nominal)
        rolled = nominal if due != nominal else None
    if c.extended_days:
        nominal = due + timedelta(days=c.extended_days)  # from the day the original period ended
        due = cal.next_workday_on_or_after(nominal)
        rolled = nominal if due != nominal else None
    return due, rolled


def _working_days_between(start_: date, end: date, cal: WorkCalendar) -> int:
    return sum(1 for i in range((end - start_).days) if cal.is_workday(start_ + timedelta(days=i)))


def pause(c: Clock, on: date) -> Clock:
    if not c.open:
        raise ClockError("该时限已结束，不能暂停")
    if c.paused_on is not None:
        raise ClockError("该时限已暂停")
    if on < c.starts_on:
        raise ClockError("暂停日期早于时限起算日")
    return c.model_copy(update={"paused_on": on})


def resume(c: Clock, on: date, cal: WorkCalendar) -> tuple[Clock, int]:
    """Resume a paused clock; the days of the pause are not counted. Returns (clock, days)."""
    if c.paused_on is None:
        raise ClockError("该时限没有暂停")
    if on < c.paused_on:
        raise ClockError("恢复日期早于暂停日期")
    days = (on - c.paused_on).days if c.unit_of_period == "calendar_days" else _working_days_between(c.paused_on, on, cal)
    c = c.model_copy(update={"paused_on": None, "paused_days": c.paused_days + days})
    due, rolled = _due(c, cal)
    # a clock breached before the pause is still breached; one that is not due any more is not
    breached = c.breached_on if c.breached_on is not None and c.breached_on <= due else None
    return c.model_copy(update={"due_on": due, "rolled_from": rolled, "breached_on": breached, "warned": None}), days


def extend(c: Clock, days: int, on: date, cal: WorkCalendar, max_days: int = 30) -> Clock:
    """延期 (Art 34): once, at most ``max_days``, decided before the period ends."""
    if not c.open:
        raise ClockError("该时限已结束，不能延期")
    if c.extended_days:
        raise ClockError("办理期限只能延长一次（《信访工作条例》第三十四条）")
    if not 1 <= days <= max_days:
        raise ClockError(f"延长期限不得超过{max_days}日（《信访工作条例》第三十四条）")
    if on > c.due_on:
        raise ClockError(f"原办理期限已于{c.due_on.isoformat()}届满，不能再延期")
    c = c.model_copy(update={"extended_days": days, "original_due_on": c.due_on})
    due, rolled = _due(c, cal)
    return c.model_copy(update={"due_on": due, "rolled_from": rolled, "warned": None})


def meet(c: Clock, on: date) -> Clock:
    return c.model_copy(update={"met_on": on, "late": on > c.due_on, "paused_on": None})


def breach(c: Clock) -> Clock:
    """The day after the last day (the last day lasts until 24:00): the clock is breached."""
    return c.model_copy(update={"breached_on": c.due_on + timedelta(days=1)})


def cancel(c: Clock, on: date) -> Clock:
    return c.model_copy(update={"cancelled_on": on, "paused_on": None})


def next_check(c: Clock, warn_days: tuple[int, ...], untouched_share: float | None) -> date | None:
    """The next day something may happen to this clock by itself (a warning, the breach, the
    untouched flag): what the ticker looks for. None: nothing will."""
    if not c.running:
        return None
    days = [c.due_on + timedelta(days=1)] if c.breached_on is None else []
    days += [c.due_on - timedelta(days=w) for w in pending_warnings(c, warn_days)]
    if untouched_share is not None and c.untouched_on is None and c.kind == "duty":
        days.append(untouched_day(c, untouched_share))
    return min(days) if days else None


def pending_warnings(c: Clock, warn_days: tuple[int, ...]) -> list[int]:
    """The pre-warnings still to give (days before the last day), if the clock is not breached."""
    if c.breached_on is not None:
        return []
    return [w for w in warn_days if c.warned is None or w < c.warned]


def untouched_day(c: Clock, share: float) -> date:
    return c.starts_on + timedelta(days=int((c.due_on - c.starts_on).days * share))
