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
date of that event. An extension (延期) runs from the last day of the 60-day handling period. Time spent
on a 复核 hearing (听证) is not counted (第三十六条第二款); this module does not model pauses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

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
