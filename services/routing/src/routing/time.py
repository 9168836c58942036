from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def china_date(t: datetime) -> date:
    """Statutory periods count Beijing calendar days."""
    return t.astimezone(CHINA).date()


def today() -> date:
    return datetime.now(CHINA).date()
