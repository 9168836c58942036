"""Events routing publishes."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import Field

from .base import Event, UnitId


class RoutingEvent(Event):
    producer: ClassVar[str] = "routing"


class CaseAssigned(RoutingEvent):
    """A unit is made responsible for the case (归口 / 属地 / 纪检)."""

    type: ClassVar[str] = "case.assigned.v1"

    case_id: str = Field(max_length=36)
    unit: UnitId
    subsidiary: UnitId | None
    rule_id: str = Field(max_length=64)
    basis: str = Field(max_length=1000)
    previous_unit: UnitId | None = None
    reason_sealed: str | None = Field(default=None, max_length=20_000, description="why it was reassigned (sealed)")


class CaseUnroutable(RoutingEvent):
    """No rule could name a responsible unit: the case waits at the receiving petition office's
    'unroutable' queue until a person routes it by hand. Nothing is lost."""

    type: ClassVar[str] = "case.unroutable.v1"

    case_id: str = Field(max_length=36)
    queue_unit: UnitId = Field(description="the petition office holding the case")
    reason: str = Field(max_length=1000, description="which rule failed and why (system text, no personal data)")


class CaseAccepted(RoutingEvent):
    """受理: the responsible unit accepts the case; the handling clock starts."""

    type: ClassVar[str] = "case.accepted.v1"

    case_id: str = Field(max_length=36)
    unit: UnitId
    accepted_on: date
    automatic: bool


class CaseRejected(RoutingEvent):
    """不予受理, with the (sealed) reason and the legal channel to use instead."""

    type: ClassVar[str] = "case.rejected.v1"

    case_id: str = Field(max_length=36)
    unit: UnitId
    reason_sealed: str = Field(max_length=20_000)
    legal_channel: str | None = Field(default=None, max_length=100)
    rejected_on: date
