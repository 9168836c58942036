"""Events supervision publishes: the statutory clocks, the written reply and its service, the
petitioner's evaluation and follow-up, the review chain to finality, and 督办.

A clock (``deadline.*``) is started, paused, resumed, extended, warned, breached, met or cancelled
only by one of these events, never by a query's guess. Each clock names its article in ``basis``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from .base import Event, PrincipalId, UnitId

# a clock's name: its kind, and for kinds that can run several times at once, what it is about
# (``subtask:S1-HR``, ``order:3``)
ClockName = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}(:[\w.-]{1,64})?$")]
ClockKind = Literal["duty", "window", "internal"]  # a unit's legal duty; the petitioner's window; the group's own target
PauseReason = Literal["听证", "补充材料", "鉴定"]
ReplyDecision = Literal["支持", "解释", "不支持"]  # Art 32 (一)(二)(三)
ServiceMethod = Literal["当面", "邮寄", "电子送达", "其他"]
Receipt = Literal["签收", "拒收"]
EvaluationTarget = Literal["petition_office", "responsible_unit"]
Grade = Literal["满意", "基本满意", "不满意"]
EvaluationVia = Literal["电话", "走访", "当面", "查询码"]
Collector = Literal["handling_unit", "petition_office", "hq_callback", "petitioner"]
ReviewLevel = Literal["复查", "复核"]
ReviewDecision = Literal["维持", "撤销", "变更", "责令重新办理"]
OrderGround = Literal["overdue", "推诿", "unexecuted", "untouched", "urgent", "manual"]
OrderLevel = Literal["unit", "subsidiary", "headquarters"]
Outcome = Literal["息诉罢访", "未息诉罢访", "不明确"]


class SupervisionEvent(Event):
    producer: ClassVar[str] = "supervision"


class DeadlineSet(SupervisionEvent):
    """A clock started (or its last day moved); ``due_on`` already rolled past rest days."""

    type: ClassVar[str] = "deadline.set.v1"

    case_id: str = Field(max_length=36)
    clock: ClockName
    kind: ClockKind = "duty"
    starts_on: date
    period: int = Field(ge=1, le=3650)
    unit_of_period: Literal["calendar_days", "working_days"]
    due_on: date
    basis: str = Field(max_length=200, description="the article (or the group's rule) that sets the period")
    rolled_from: date | None = Field(default=None, description="nominal last day, when it fell on a rest day")
    unit: UnitId | None = Field(default=None, description="the unit that must act")


class DeadlineMet(SupervisionEvent):
    """The act a clock waits for happened (on time or late)."""

    type: ClassVar[str] = "deadline.met.v1"

    case_id: str = Field(max_length=36)
    clock: ClockName
    on: date
    late: bool


class DeadlinePaused(SupervisionEvent):
    """The clock stops counting: a hearing (听证, Art 36 ¶2), waiting for the petitioner's material,
    or an expert appraisal."""

    type: ClassVar[str] = "deadline.paused.v1"

    case_id: str = Field(max_length=36)
    clock: ClockName
    reason: PauseReason
    on: date


class DeadlineResumed(SupervisionEvent):
    type: ClassVar[str] = "deadline.resumed.v1"

    case_id: str = Field(max_length=36)
    clock: ClockName
    on: date
    paused_days: int = Field(ge=0, le=3650, description="days not counted in this pause")
    due_on: date


class DeadlineExtended(SupervisionEvent):
    """延期 (Art 34): once, at most 30 days, approved by the unit's head, the petitioner told why."""

    type: ClassVar[str] = "deadline.extended.v1"

    case_id: str = Field(max_length=36)
    clock: ClockName
    days: int = Field(ge=1, le=30)
    approved_by: PrincipalId
    reason_sealed: str = Field(max_length=20_000)
    approved_on: date
    due_on: date
    basis: str = Field(max_length=200)


class DeadlineWarned(SupervisionEvent):
    """A pre-warning: the clock's last day is near (``days_left`` days to go)."""

    type: ClassVar[str] = "deadline.warned.v1"

    case_id: str = Field(max_length=36)
    clock: ClockName
    due_on: date
    days_left: int = Field(ge=0, le=3650)
    on: date


class DeadlineBreached(SupervisionEvent):
    """The last day passed without the act: overdue (for a window: it closed)."""

    type: ClassVar[str] = "deadline.breached.v1"

    case_id: str = Field(max_length=36)
    clock: ClockName
    due_on: date
    on: date


class DeadlineCancelled(SupervisionEvent):
    """The clock no longer applies (the case left the unit, was not accepted, ...)."""

    type: ClassVar[str] = "deadline.cancelled.v1"

    case_id: str = Field(max_length=36)
    clock: ClockName
    on: date
    reason: str = Field(max_length=200)


class ProgressNoted(SupervisionEvent):
    """What was done on the case (the silence petitioners complain of most is this missing)."""

    type: ClassVar[str] = "supervision.progress_noted.v1"

    case_id: str = Field(max_length=36)
    note_sealed: str = Field(max_length=20_000)
    by_unit: UnitId
    executed: bool = Field(default=False, description="the supported request has been carried out (Art 32)")
    on: date


class CaseUntouched(SupervisionEvent):
    """No progress note although this share of the clock's time has gone."""

    type: ClassVar[str] = "supervision.untouched.v1"

    case_id: str = Field(max_length=36)
    clock: ClockName
    share: float = Field(ge=0, le=1)
    last_progress_on: date | None
    on: date


class ReplyDrafted(SupervisionEvent):
    """A draft of the written reply (信访处理意见书, Art 32): the request, the facts and reasons, the
    decision and its legal or policy basis (all sealed), from one of the group's templates."""

    type: ClassVar[str] = "reply.drafted.v1"

    case_id: str = Field(max_length=36)
    draft: int = Field(ge=1, le=1000)
    stage: Literal["handling", "rehandling"] = "handling"
    decision: ReplyDecision
    template: str = Field(max_length=64)
    content_sealed: str = Field(max_length=200_000)
    by_unit: UnitId
    on: date


class ReplyReviewed(SupervisionEvent):
    """The second-level review of a draft before it is served."""

    type: ClassVar[str] = "reply.reviewed.v1"

    case_id: str = Field(max_length=36)
    draft: int = Field(ge=1, le=1000)
    approved: bool
    by: PrincipalId
    comment_sealed: str | None = Field(default=None, max_length=20_000)
    on: date


class ReplyServed(SupervisionEvent):
    """The approved reply reached the petitioner (送达): it stops the handling clock and opens the
    30-day window for 复查 (Art 35) and the evaluation window."""

    type: ClassVar[str] = "reply.served.v1"

    case_id: str = Field(max_length=36)
    draft: int = Field(ge=1, le=1000)
    served_on: date
    method: ServiceMethod
    receipt: Receipt


class AgreementSigned(SupervisionEvent):
    """调解协议书 / 和解协议书 (Art 33): the parties settled; instead of a written reply."""

    type: ClassVar[str] = "agreement.signed.v1"

    case_id: str = Field(max_length=36)
    kind: Literal["调解协议书", "和解协议书"]
    content_sealed: str = Field(max_length=200_000)
    signed_on: date


class CaseClosed(SupervisionEvent):
    """办结核准: a leader approves the closure; whether the petitioner accepts the outcome. A
    milestone: intake's detection learns that the matter is no longer being handled."""

    type: ClassVar[str] = "case.closed.v1"
    milestone: ClassVar[bool] = True

    case_id: str = Field(max_length=36)
    approved_by: PrincipalId
    outcome: Outcome
    on: date


class EvaluationRecorded(SupervisionEvent):
    """The petitioner's evaluation of one target, and who collected it (self-collected satisfaction
    reads higher than an independent callback)."""

    type: ClassVar[str] = "evaluation.recorded.v1"

    case_id: str = Field(max_length=36)
    target: EvaluationTarget
    grade: Grade
    via: EvaluationVia
    collected_by: Collector
    comment_sealed: str | None = Field(default=None, max_length=20_000)
    on: date


class EvaluationExpired(SupervisionEvent):
    """超期未评价: the window closed without an evaluation of this target."""

    type: ClassVar[str] = "evaluation.expired.v1"

    case_id: str = Field(max_length=36)
    target: EvaluationTarget
    on: date


class FollowUpRequired(SupervisionEvent):
    """A 回访 is owed: after a 不满意 evaluation (or a named complaint)."""

    type: ClassVar[str] = "followup.required.v1"

    case_id: str = Field(max_length=36)
    ground: Literal["不满意", "complaint"]
    unit: UnitId
    due_on: date


class FollowUpRecorded(SupervisionEvent):
    type: ClassVar[str] = "followup.recorded.v1"

    case_id: str = Field(max_length=36)
    by_unit: UnitId
    outcome_sealed: str = Field(max_length=20_000)
    satisfied_now: bool
    on: date


class RehandlingOrdered(SupervisionEvent):
    """重办: the case goes back to the handling unit for another reply, without the petitioner having
    to start the formal 复查 (which stays open to them)."""

    type: ClassVar[str] = "case.rehandling_ordered.v1"

    case_id: str = Field(max_length=36)
    unit: UnitId
    by_unit: UnitId
    reason_sealed: str = Field(max_length=20_000)
    due_on: date
    on: date


class ReviewRequested(SupervisionEvent):
    """复查 (Art 35) or 复核 (Art 36), requested within 30 days, to the level above; a body outside
    the group is named when the chain leaves it."""

    type: ClassVar[str] = "review.requested.v1"

    case_id: str = Field(max_length=36)
    level: ReviewLevel
    requested_on: date
    reviewing_unit: UnitId | None
    external_body: str | None = Field(default=None, max_length=200)
    basis: str = Field(max_length=200)


class ReviewOpinionIssued(SupervisionEvent):
    """复查意见书 / 复核意见书, served on ``issued_on``."""

    type: ClassVar[str] = "review.opinion_issued.v1"

    case_id: str = Field(max_length=36)
    level: ReviewLevel
    decision: ReviewDecision
    content_sealed: str = Field(max_length=200_000)
    by_unit: UnitId
    issued_on: date


class CaseFinalised(SupervisionEvent):
    """After 复核 the matter is final: the same facts and reasons are not accepted again (Art 36 ¶3).
    A milestone: intake's detection waits for it without reading all of supervision's events."""

    type: ClassVar[str] = "case.finalised.v1"
    milestone: ClassVar[bool] = True

    case_id: str = Field(max_length=36)
    on: date
    basis: str = Field(max_length=200)
    issue_type: str | None = Field(default=None, max_length=64)
    petitioner_keys: list[str] = Field(default_factory=list, max_length=100,
                                       description="keyed hashes of the petitioners' identities (never in clear)")


class UrgentFlagged(SupervisionEvent):
    """重大紧急 (Art 25): the chain above is told at once."""

    type: ClassVar[str] = "case.urgent_flagged.v1"

    case_id: str = Field(max_length=36)
    by_unit: UnitId
    reason_sealed: str = Field(max_length=20_000)
    notified: list[UnitId] = Field(max_length=20)
    on: date


class OrderIssued(SupervisionEvent):
    """督办 (Art 40): an order to a unit, with a required written feedback by ``feedback_due_on``."""

    type: ClassVar[str] = "supervision.order_issued.v1"

    case_id: str = Field(max_length=36)
    order_no: int = Field(ge=1, le=10_000)
    ground: OrderGround
    level: OrderLevel
    issued_by: UnitId
    to_unit: UnitId
    feedback_due_on: date
    basis: str = Field(max_length=200)
    clock: ClockName | None = Field(default=None, description="the breached clock the order is about")
    note_sealed: str | None = Field(default=None, max_length=20_000)
    on: date


class OrderFeedback(SupervisionEvent):
    """The unit's written feedback on a 督办 order."""

    type: ClassVar[str] = "supervision.order_feedback.v1"

    case_id: str = Field(max_length=36)
    order_no: int = Field(ge=1, le=10_000)
    by_unit: UnitId
    feedback_sealed: str = Field(max_length=20_000)
    late: bool
    on: date


class OrderEscalated(SupervisionEvent):
    """No feedback in time: the order goes one level up (unit -> subsidiary -> headquarters)."""

    type: ClassVar[str] = "supervision.order_escalated.v1"

    case_id: str = Field(max_length=36)
    order_no: int = Field(ge=1, le=10_000)
    level: OrderLevel
    issued_by: UnitId
    feedback_due_on: date
    on: date
