"""The event contract: the only thing the four services share about each other.

An event type is a class. Its type string (``petition.registered.v1``) is declared once on the class,
and its producer and topic come from the base class it derives from (``IntakeEvent`` ...), so adding
an event is one edit in the producer's module. Payloads forbid unknown fields: an event that does not
match its schema is caught at the consumer (and dead-lettered) instead of corrupting a projection.

Privacy: no payload carries personal data or free text in clear. Petitioner identity, summaries and
reasons travel as ``*_sealed`` ciphertext that only their producer can open; receipt codes travel as a
hash.
"""

from .base import (
    DATA_TOPICS,
    MILESTONE_TOPIC,
    PrincipalId,
    REGISTRY,
    SERVICE_TOPIC,
    SERVICES,
    TOPIC_BROKER_EPOCH,
    TOPIC_DEAD_LETTER,
    Event,
    UnitId,
    UnknownEventType,
    event_class,
    producer_of_topic,
    receipt_code_hash,
    topics_of,
)
from .intake import Category, Channel, Flag, IntakeEvent, Mark, PetitionFlagged, PetitionMarked, PetitionRegistered
from .reporting import AlertAcknowledged, AlertBaseline, AlertClosed, AlertKind, AlertOutcome, AlertRaised, AlertShared
from .reporting import ReportingEvent
from .reporting import GovernanceFixRecorded, GovernanceIssueOpened, KpiExclusionDecided, KpiExclusionRequested
from .routing import (
    AssignMode,
    Attachment,
    CaseShared,
    CoordinationAction,
    CoordinationRecorded,
    JointMeetingRecorded,
    MediationConcluded,
    MediationResult,
    MediationScheduled,
    MeetingActionDone,
    MeetingDecision,
    SharedField,
    SharingRevoked,
    CaseAccepted,
    CaseAssigned,
    CaseClassified,
    CaseRejected,
    CaseUnroutable,
    HandlerAssigned,
    HandlerRecused,
    InvestigationRecorded,
    JointHandlingSet,
    LeaderTookCase,
    LegalChannel,
    ObjectionDecided,
    ObjectionRaised,
    RejectGround,
    RoutingEvent,
    Subtask,
    SubtaskReported,
    Track,
    TrackSet,
)
from .supervision import (
    AgreementSigned,
    CaseClosed,
    CaseFinalised,
    CaseUntouched,
    ClockName,
    DeadlineBreached,
    DeadlineCancelled,
    DeadlineExtended,
    DeadlineMet,
    DeadlinePaused,
    DeadlineResumed,
    DeadlineSet,
    DeadlineWarned,
    EvaluationExpired,
    EvaluationRecorded,
    FollowUpRecorded,
    FollowUpRequired,
    OrderEscalated,
    OrderFeedback,
    OrderIssued,
    ProgressNoted,
    RehandlingOrdered,
    ReplyDrafted,
    ReplyReviewed,
    ReplyServed,
    ReviewOpinionIssued,
    ReviewRequested,
    SupervisionEvent,
    UrgentFlagged,
)

TOPIC_INTAKE = IntakeEvent.topic
TOPIC_ROUTING = RoutingEvent.topic
TOPIC_SUPERVISION = SupervisionEvent.topic
TOPIC_REPORTING = ReportingEvent.topic
TOPIC_SUPERVISION_MILESTONES = MILESTONE_TOPIC["supervision"]

__all__ = [
    "DATA_TOPICS", "MILESTONE_TOPIC", "TOPIC_SUPERVISION_MILESTONES", "topics_of", "REGISTRY", "SERVICE_TOPIC", "SERVICES", "TOPIC_BROKER_EPOCH", "TOPIC_DEAD_LETTER",
    "TOPIC_INTAKE", "UnitId", "PrincipalId", "TOPIC_ROUTING", "TOPIC_SUPERVISION", "TOPIC_REPORTING",
    "Event", "UnknownEventType", "event_class", "producer_of_topic", "receipt_code_hash",
    "Category", "Channel", "Flag", "IntakeEvent", "Mark", "PetitionRegistered", "PetitionFlagged", "PetitionMarked",
    "RoutingEvent", "AssignMode", "LegalChannel", "RejectGround", "Track", "Subtask",
    "CaseAssigned", "CaseUnroutable", "CaseClassified", "CaseAccepted", "CaseRejected", "ObjectionRaised",
    "ObjectionDecided", "TrackSet", "LeaderTookCase", "HandlerAssigned", "HandlerRecused", "JointHandlingSet",
    "SubtaskReported", "InvestigationRecorded",
    "SupervisionEvent", "ClockName", "DeadlineSet", "DeadlineMet", "DeadlinePaused", "DeadlineResumed",
    "DeadlineExtended", "DeadlineWarned", "DeadlineBreached", "DeadlineCancelled", "ProgressNoted", "CaseUntouched",
    "ReplyDrafted", "ReplyReviewed", "ReplyServed", "AgreementSigned", "CaseClosed", "EvaluationRecorded",
    "EvaluationExpired", "FollowUpRequired", "FollowUpRecorded", "RehandlingOrdered", "ReviewRequested",
    "ReviewOpinionIssued", "CaseFinalised", "UrgentFlagged", "OrderIssued", "OrderFeedback", "OrderEscalated",
    "ReportingEvent", "AlertRaised",
    "Attachment", "CaseShared", "CoordinationAction", "CoordinationRecorded", "SharedField", "SharingRevoked",
    "JointMeetingRecorded", "MediationConcluded", "MediationResult", "MediationScheduled", "MeetingActionDone",
    "MeetingDecision",
    "AlertShared", "AlertAcknowledged", "AlertClosed", "AlertBaseline", "AlertKind", "AlertOutcome",
    "KpiExclusionRequested", "KpiExclusionDecided", "GovernanceIssueOpened", "GovernanceFixRecorded",
]
