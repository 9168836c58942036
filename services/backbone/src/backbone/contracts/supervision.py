"""Events supervision publishes."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from .base import Event

Clock = Literal["acceptance_notice", "handling"]


class SupervisionEvent(Event):
    producer: ClassVar[str] = "supervision"


class DeadlineSet(SupervisionEvent):
    """A statutory clock started; ``due_on`` already rolled past holidays."""

    type: ClassVar[str] = "deadline.set.v1"

    case_id: str = Field(max_length=36)
    clock: Clock
    starts_on: date
    period: int = Field(ge=1, le=3650)
    unit_of_period: Literal["calendar_days", "working_days"]
    due_on: date
    basis: str = Field(max_length=200, description="the article that sets the period")
    rolled_from: date | None = Field(default=None, description="nominal last day, when it fell on a rest day")


class DeadlineMet(SupervisionEvent):
    """The act a clock waits for happened (on time or late)."""

    type: ClassVar[str] = "deadline.met.v1"

    case_id: str = Field(max_length=36)
    clock: Clock
    on: date
    late: bool
