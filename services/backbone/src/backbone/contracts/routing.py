"""Events routing publishes: who owns a case, whether it is accepted, and who answers for it.

Dates that a person states (the day a decision was made, a transfer received ...) are explicit in
each event: the statutory clocks run from them, not from the time the event was recorded.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .base import Event, PrincipalId, UnitId
from .intake import Category

# 依法分类处理: where a matter that belongs to another statutory procedure is sent (Art 31)
LegalChannel = Literal["诉讼", "劳动人事争议仲裁", "行政复议", "党员申诉", "其他法定途径"]
# why a case is not accepted (不予受理)
RejectGround = Literal[
    "legal_channel",  # 属于诉讼、仲裁、复议等法定途径 (Art 31)
    "same_matter_in_handling",  # 同一事项正在办理期限内向上级提出 (Art 19 ¶3)
    "final_after_re_review",  # 复核后以同一事实和理由再次提出 (Art 36 ¶3)
    "not_a_petition",  # 不属于信访事项
]
# how a case came to a unit: routed by the rule table, 转送 / 交办 by a petition office or a unit
# above, sent back to the sender after an objection, decided by the common superior, or by hand
AssignMode = Literal["rule", "转送", "交办", "returned", "superior_decision", "manual"]
Track = Literal["简单马上办", "一般快速办", "疑难监督办"]


class RoutingEvent(Event):
    producer: ClassVar[str] = "routing"


class CaseAssigned(RoutingEvent):
    """A unit is made responsible for the case (归口 / 属地 / 纪检), or the case moves to another
    unit. ``first_unit`` (首办) stays accountable whatever happens after; ``moves`` counts how
    often the case went from one unit to another (a 推诿 signal for 督办)."""

    type: ClassVar[str] = "case.assigned.v1"

    case_id: str = Field(max_length=36)
    unit: UnitId
    subsidiary: UnitId | None
    rule_id: str = Field(max_length=64)
    basis: str = Field(max_length=1000)
    previous_unit: UnitId | None = None
    reason_sealed: str | None = Field(default=None, max_length=20_000, description="why it was moved (sealed)")
    mode: AssignMode = "rule"
    first_unit: UnitId | None = None
    moves: int = Field(default=0, ge=0, le=10_000)
    on: date | None = Field(default=None, description="the day the unit received it (starts Art 23 ¶3 clocks)")
    report_due_on: date | None = Field(default=None, description="交办: the day the handling report is due (Art 22)")
    needs_acceptance: bool = Field(default=False, description="the case went to another organisation, which must "
                                   "accept it anew (Art 23 ¶3); a move inside one keeps the acceptance")


class CaseUnroutable(RoutingEvent):
    """No rule could name a responsible unit: the case waits at the receiving petition office's
    'unroutable' queue until a person routes it by hand. Nothing is lost."""

    type: ClassVar[str] = "case.unroutable.v1"

    case_id: str = Field(max_length=36)
    queue_unit: UnitId = Field(description="the petition office holding the case")
    reason: str = Field(max_length=1000, description="which rule failed and why (system text, no personal data)")


class CaseClassified(RoutingEvent):
    """依法分类处理 (Arts 28-31): the handling unit confirms or corrects the category and issue type,
    and who the matter accuses (an accused unit, and accused persons' accounts, never see it)."""

    type: ClassVar[str] = "case.classified.v1"

    case_id: str = Field(max_length=36)
    category: Category
    issue_type: str = Field(max_length=64)
    accused_unit: UnitId | None = None
    accused_principals: list[PrincipalId] = Field(default_factory=list, max_length=50)
    by_unit: UnitId
    on: date


class CaseAccepted(RoutingEvent):
    """受理: the responsible unit accepts the case; the handling clock starts (Art 34 for 申诉求决,
    the group's own periods for the other categories)."""

    type: ClassVar[str] = "case.accepted.v1"

    case_id: str = Field(max_length=36)
    unit: UnitId
    accepted_on: date
    automatic: bool
    category: Category | None = None


class CaseRejected(RoutingEvent):
    """不予受理, with the (sealed) reason, the ground, and for a matter of another statutory procedure
    the channel to use instead; ``basis`` cites the article; the written notice is a document."""

    type: ClassVar[str] = "case.rejected.v1"

    case_id: str = Field(max_length=36)
    unit: UnitId
    reason_sealed: str = Field(max_length=20_000)
    legal_channel: LegalChannel | None = None
    ground: RejectGround = "legal_channel"
    basis: str = Field(default="", max_length=300)
    linked_case_id: str | None = Field(default=None, max_length=36, description="the case it repeats (Art 19 ¶3, 36 ¶3)")
    rejected_on: date


class ObjectionRaised(RoutingEvent):
    """The unit a case was sent to says it is not within its remit (Art 23 ¶3: within 5 working days,
    with reasons) or, later, asks to return it. Either way only the sender can take it back."""


    type: ClassVar[str] = "case.objection_raised.v1"

    case_id: str = Field(max_length=36)
    unit: UnitId = Field(description="the objecting unit")
    sender: UnitId = Field(description="the unit that sent the case and decides")
    reason_sealed: str = Field(max_length=20_000)
    on: date  # supervision's objection clock says whether it came within the 5 working days


class ObjectionDecided(RoutingEvent):
    """The sender's decision: agreed (the case comes back to the sender) or refused (it stays); a
    refused objection the objecting unit keeps up goes to the two units' common superior."""

    type: ClassVar[str] = "case.objection_decided.v1"

    case_id: str = Field(max_length=36)
    agreed: bool
    by_unit: UnitId
    reason_sealed: str | None = Field(default=None, max_length=20_000)
    referred_to: UnitId | None = Field(default=None, description="the common superior that will decide (Art 24)")
    on: date


class TrackSet(RoutingEvent):
    """分类办理: 简单马上办 / 一般快速办 / 疑难监督办, each with the group's internal target days."""

    type: ClassVar[str] = "case.track_set.v1"

    case_id: str = Field(max_length=36)
    track: Track
    target_days: int = Field(ge=1, le=365)
    on: date


class LeaderTookCase(RoutingEvent):
    """领导包案 (Art 18 ¶2): a leader takes the case personally; shown wherever the case is."""

    type: ClassVar[str] = "case.leader_took.v1"

    case_id: str = Field(max_length=36)
    leader: PrincipalId
    unit: UnitId
    on: date


class HandlerAssigned(RoutingEvent):
    """The person in the responsible unit who handles the case."""

    type: ClassVar[str] = "case.handler_assigned.v1"

    case_id: str = Field(max_length=36)
    handler: PrincipalId
    unit: UnitId
    on: date


class HandlerRecused(RoutingEvent):
    """回避 (Art 28 ¶3): a handler with an interest in the matter withdraws; the case is hidden from
    them from now on, and ``replaced_by`` handles it."""

    type: ClassVar[str] = "case.handler_recused.v1"

    case_id: str = Field(max_length=36)
    handler: PrincipalId
    reason_sealed: str = Field(max_length=20_000)
    replaced_by: PrincipalId | None = None
    on: date


class Subtask(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: UnitId
    task_sealed: str = Field(max_length=20_000)
    due_on: date


class JointHandlingSet(RoutingEvent):
    """Joint handling: the lead unit (主办) and the assisting units (协办), each assisting unit with its
    own sub-task and deadline; assisting units see the case."""

    type: ClassVar[str] = "case.joint_handling_set.v1"

    case_id: str = Field(max_length=36)
    lead_unit: UnitId
    subtasks: list[Subtask] = Field(min_length=1, max_length=20)
    on: date


class SubtaskReported(RoutingEvent):
    """An assisting unit reports on its sub-task."""

    type: ClassVar[str] = "case.subtask_reported.v1"

    case_id: str = Field(max_length=36)
    unit: UnitId
    report_sealed: str = Field(max_length=20_000)
    on: date


class InvestigationRecorded(RoutingEvent):
    """联合调查组: who investigated, when, where, whom they heard, and what they found."""

    type: ClassVar[str] = "case.investigation_recorded.v1"

    case_id: str = Field(max_length=36)
    record_no: int = Field(ge=1, le=1000)
    investigators: list[PrincipalId] = Field(min_length=1, max_length=20)
    units: list[UnitId] = Field(min_length=1, max_length=20)
    on: date
    details_sealed: str = Field(max_length=100_000, description="place, persons heard and findings (sealed)")


# -- 厂地联动: sharing a case with the trade union and local government, and working it together --

SharedField = Literal[
    "case_no", "subsidiary", "issue_type", "category", "channel", "status", "stage", "received_at", "accepted_on",
    "served_on", "closed_on", "involved_count", "petitioner_count", "assigned_unit", "deadlines", "summary",
    "contact", "id_number",
]
CoordinationAction = Literal["contact_made", "policy_explained", "on_site_visit", "payment_done", "transfer_step_done",
                             "outcome"]


class CaseShared(RoutingEvent):
    """A case is shared with an external party (a union, a local government office) for a purpose,
    with the fields of a preset: set, widened or narrowed (the latest one holds)."""

    type: ClassVar[str] = "case.shared.v1"

    case_id: str = Field(max_length=36)
    party: UnitId
    party_type: str = Field(max_length=40)
    preset: str = Field(max_length=40)
    fields: list[SharedField] = Field(max_length=30)
    purpose: str = Field(max_length=60)
    basis: str = Field(max_length=300)
    rule_id: str | None = Field(default=None, max_length=64, description="the sharing rule, if not a person's decision")
    on: date


class SharingRevoked(RoutingEvent):
    """The case is no longer shared with the party: it vanishes from the party's views at once."""

    type: ClassVar[str] = "case.sharing_revoked.v1"

    case_id: str = Field(max_length=36)
    party: UnitId
    reason_sealed: str | None = Field(default=None, max_length=20_000)
    on: date


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=1, max_length=100)
    size_bytes: int = Field(ge=0, le=1_000_000_000)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class CoordinationRecorded(RoutingEvent):
    """A party to whom the case is shared records what it did (contact made, policy explained,
    on-site visit, a payment or transfer step done, the outcome), with attachments' metadata."""

    type: ClassVar[str] = "case.coordination_recorded.v1"

    case_id: str = Field(max_length=36)
    party: UnitId
    action: CoordinationAction
    note_sealed: str | None = Field(default=None, max_length=50_000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    on: date


MediationResult = Literal["调解成功", "调解不成"]


class MediationScheduled(RoutingEvent):
    """联合调解: the enterprise and the parties the case is shared with meet to mediate, by a deadline
    that supervision watches like any other."""

    type: ClassVar[str] = "case.mediation_scheduled.v1"

    case_id: str = Field(max_length=36)
    no: int = Field(ge=1, le=100)
    parties: list[UnitId] = Field(min_length=1, max_length=10)
    meeting_at: datetime
    place: str = Field(max_length=100)
    due_on: date
    on: date


class MediationConcluded(RoutingEvent):
    """The mediation's outcome: an agreement (调解协议书, sealed) or the reason it failed (sealed)."""

    type: ClassVar[str] = "case.mediation_concluded.v1"

    case_id: str = Field(max_length=36)
    no: int = Field(ge=1, le=100)
    result: MediationResult
    text_sealed: str = Field(max_length=100_000, description="调解协议书 or the failure reason, sealed")
    on: date


class MeetingDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    no: int = Field(ge=1, le=50)
    text_sealed: str = Field(max_length=20_000)
    owner: UnitId
    due_on: date


class JointMeetingRecorded(RoutingEvent):
    """联席会议: the case was discussed at a joint meeting of the enterprise and the parties; the
    decisions on it, each with an owner and a deadline supervision watches."""

    type: ClassVar[str] = "case.joint_meeting_recorded.v1"

    case_id: str = Field(max_length=36)
    meeting_id: str = Field(max_length=36)
    held_on: date
    parties: list[UnitId] = Field(max_length=20)
    units: list[UnitId] = Field(max_length=20)
    decisions: list[MeetingDecision] = Field(max_length=50)
    on: date


class MeetingActionDone(RoutingEvent):
    """A joint meeting's decision on the case was carried out by its owner."""

    type: ClassVar[str] = "case.meeting_action_done.v1"

    case_id: str = Field(max_length=36)
    meeting_id: str = Field(max_length=36)
    decision_no: int = Field(ge=1, le=50)
    on: date
