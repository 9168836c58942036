"""Events reporting publishes."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .base import Event, PrincipalId, UnitId


class ReportingEvent(Event):
    producer: ClassVar[str] = "reporting"


# raised by the projector about one case (unroutable ... untouched), or by the early warnings over many
AlertKind = Literal["unroutable", "urgent", "overdue", "order_escalated", "untouched", "collective_sign", "rising",
                    "sensitive_period", "frequent_petitioner", "overdue_cluster"]


class AlertBaseline(BaseModel):
    """A period an early warning compared against (环比: the one before; 同比: a year before)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["previous", "last_year"]
    start: datetime
    end: datetime
    count: int = Field(ge=0, le=1_000_000)


class AlertRaised(ReportingEvent):
    """An early warning for people to look at, with its evidence (case ids, never names)."""

    type: ClassVar[str] = "alert.raised.v1"

    alert_id: str = Field(max_length=36)
    kind: AlertKind
    unit: UnitId = Field(description="the unit whose people must act")
    case_ids: list[str] = Field(max_length=1000)
    raised_at: datetime
    message: str = Field(max_length=1000)
    # the evidence of an early warning over many cases (reporting.warnings); optional, so that the
    # alerts raised before these fields existed still validate
    about_unit: UnitId | None = Field(default=None,
                                      description="the unit the warning is about (petitioners', subsidiary, responsible)")
    issue_type: str | None = Field(default=None, max_length=64)
    window_start: datetime | None = None
    window_end: datetime | None = None
    threshold: int | None = Field(default=None, ge=0, le=1_000_000)
    count: int | None = Field(default=None, ge=0, le=1_000_000)
    baselines: list[AlertBaseline] | None = Field(default=None, max_length=4, description="同比/环比: the periods compared")
    period: str | None = Field(default=None, max_length=40, description="the sensitive period's name")


AlertOutcome = Literal["已化解", "误报", "转办", "其他"]


class AlertAcknowledged(ReportingEvent):
    """A person has seen an early warning and taken it on (签收). Staff write the note: no personal data."""

    type: ClassVar[str] = "alert.acknowledged.v1"

    alert_id: str = Field(max_length=36)
    by: PrincipalId
    by_unit: UnitId
    at: datetime
    note: str = Field(default="", max_length=500)


class AlertClosed(ReportingEvent):
    """A person closes an early warning with what came of it: 已化解 (the risk was defused), 误报 (a
    false alarm), 转办 (handed on to the responsible unit), 其他. Staff write the resolution: no personal data."""

    type: ClassVar[str] = "alert.closed.v1"

    alert_id: str = Field(max_length=36)
    by: PrincipalId
    by_unit: UnitId
    at: datetime
    outcome: AlertOutcome
    resolution: str = Field(min_length=1, max_length=500)


class AlertShared(ReportingEvent):
    """维稳信息共享: an early warning is given to a local government office or a union (or taken
    back), which sees it in its risk view with minimised fields: kind, subsidiary, unit, week."""

    type: ClassVar[str] = "alert.shared.v1"

    alert_id: str = Field(max_length=36)
    party: UnitId
    shared: bool = Field(description="false: taken back")
    basis: str = Field(max_length=300)
    at: datetime


class KpiExclusionRequested(ReportingEvent):
    """A handling unit asks that a case be left out of its rates (an unreasonable demand, a finalised
    case petitioned again ...), with a ground from deploy/seed/fairness.yaml and its reasons; the
    unit at the level above (``approver_unit``) decides."""

    type: ClassVar[str] = "kpi.exclusion_requested.v1"

    exclusion_id: str = Field(max_length=36)
    case_id: str = Field(max_length=36)
    unit: UnitId = Field(description="the handling unit whose rates the case counts in")
    ground: str = Field(max_length=64)
    reasons: str = Field(max_length=1000)
    approver_unit: UnitId
    at: datetime


class KpiExclusionDecided(ReportingEvent):
    """The level above approves (the case leaves every rate's numerator and denominator) or refuses."""

    type: ClassVar[str] = "kpi.exclusion_decided.v1"

    exclusion_id: str = Field(max_length=36)
    case_id: str = Field(max_length=36)
    approved: bool
    reason: str = Field(max_length=1000)
    at: datetime


class GovernanceIssueOpened(ReportingEvent):
    """每月一题: headquarters picks a recurring issue (an issue type, in one subsidiary or group-wide),
    names an owner and a systemic fix with a deadline."""

    type: ClassVar[str] = "governance.issue_opened.v1"

    issue_id: str = Field(max_length=36)
    issue_type: str = Field(max_length=64)
    subsidiary: UnitId | None = None
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="the month it was chosen in")
    why: str = Field(max_length=2000)
    owner_unit: UnitId
    owner: str = Field(max_length=100, description="the person or role answerable")
    fix: str = Field(max_length=4000)
    starts_on: date
    deadline: date
    at: datetime


class GovernanceFixRecorded(ReportingEvent):
    """The owner records progress on the fix, or (``done``) its completion on ``on``."""

    type: ClassVar[str] = "governance.fix_recorded.v1"

    issue_id: str = Field(max_length=36)
    note: str = Field(max_length=2000)
    done: bool = False
    on: date
    at: datetime
