"""The days a command states. Statutory periods count Beijing calendar days from the day an act
happened (收到之日, 受理之日, 送达之日 ...), which a person may record after the fact: every command
that starts or stops a clock takes that day explicitly, defaulting to today, never in the future."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from .errors import Invalid

CHINA = ZoneInfo("Asia/Shanghai")
EARLIEST = date(1990, 1, 1)


def today() -> date:
    return datetime.now(CHINA).date()


def stated(day: date | None, today_: date, field: str = "on") -> date:
    """The day an act happened, as a command states it (None: today); 422 for a day to come."""
    if day is None:
        return today_
    if day > today_:
        raise Invalid(f"{field} 不能晚于今天（{today_.isoformat()}）", field=field)
    if day < EARLIEST:
        raise Invalid(f"{field} 不在合理范围内", field=field)
    return day
