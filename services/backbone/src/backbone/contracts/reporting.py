"""Events reporting publishes."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from .base import Event, UnitId


class ReportingEvent(Event):
    producer: ClassVar[str] = "reporting"


class AlertRaised(ReportingEvent):
    """An early warning for people to look at, with its evidence (case ids, never names)."""

    type: ClassVar[str] = "alert.raised.v1"

    alert_id: str = Field(max_length=36)
    kind: Literal["unroutable", "urgent", "overdue", "order_escalated", "untouched", "collective_sign"]
    unit: UnitId = Field(description="the unit whose people must act")
    case_ids: list[str] = Field(max_length=1000)
    raised_at: datetime
    message: str = Field(max_length=1000)


class AlertShared(ReportingEvent):
    """维稳信息共享: an early warning is given to a local government office or a union (or taken
    back), which sees it in its risk view with minimised fields: kind, subsidiary, unit, week."""

    type: ClassVar[str] = "alert.shared.v1"

    alert_id: str = Field(max_length=36)
    party: UnitId
    shared: bool = Field(description="false: taken back")
    basis: str = Field(max_length=300)
    at: datetime
