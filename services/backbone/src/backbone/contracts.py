"""The event contract: the only thing the four services share about each other.

Every published event type is a past-tense fact with a version suffix. Its payload is a pydantic
model that forbids unknown fields, so an event that does not match its schema is caught at the
consumer (and dead-lettered) instead of corrupting a projection.

Privacy: no payload carries personal data in clear. Petitioner identity and free-text summaries
travel as ``*_sealed`` ciphertext that only intake can open; receipt codes travel as a hash.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# one topic per producing service, partitioned by case id (the record key)
TOPIC_INTAKE = "xf.intake.events.v1"
TOPIC_ROUTING = "xf.routing.events.v1"
TOPIC_SUPERVISION = "xf.supervision.events.v1"
TOPIC_REPORTING = "xf.reporting.events.v1"
TOPIC_DEAD_LETTER = "xf.dead-letter.v1"
# holds one record naming the broker's incarnation; see backbone.broker
TOPIC_BROKER_EPOCH = "xf.broker-epoch"

SERVICE_TOPIC = {
    "intake": TOPIC_INTAKE,
    "routing": TOPIC_ROUTING,
    "supervision": TOPIC_SUPERVISION,
    "reporting": TOPIC_REPORTING,
}
DATA_TOPICS = (TOPIC_INTAKE, TOPIC_ROUTING, TOPIC_SUPERVISION, TOPIC_REPORTING, TOPIC_DEAD_LETTER)

Channel = Literal["来信", "来访", "来电", "网上信访", "传真", "领导信箱", "匿名举报箱", "领导接访", "工会转办", "地方转办"]
Category = Literal["建议意见类", "检举控告类", "申诉求决类", "咨询类"]
Clock = Literal["acceptance_notice", "handling"]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PetitionRegistered(Payload):
    """petition.registered.v1 — a petition was entered in the register (Art. 21, 22, 23)."""

    case_id: str
    case_no: str
    channel: Channel
    received_at: datetime
    receiving_unit: str
    subsidiary: str | None = Field(description="subsidiary owning the matter; None when it is headquarters")
    anonymous: bool
    petitioner_count: int = Field(ge=0)
    involved_count: int | None = Field(default=None, ge=1, description="涉及人数")
    petitioner_unit: str | None = None
    petitioners_sealed: str | None = None
    category: Category
    issue_type: str
    summary_sealed: str
    accused_unit: str | None = None
    receipt_code_hash: str | None = None


class CaseAssigned(Payload):
    """case.assigned.v1 — a unit is made responsible for the case (归口 / 属地 / 纪检)."""

    case_id: str
    unit: str
    subsidiary: str | None
    rule_id: str
    basis: str
    previous_unit: str | None = None
    reason: str | None = None


class CaseAccepted(Payload):
    """case.accepted.v1 — 受理: the responsible unit accepts the case; the handling clock starts."""

    case_id: str
    unit: str
    accepted_on: date
    automatic: bool


class CaseRejected(Payload):
    """case.rejected.v1 — 不予受理, with the reason and the legal channel to use instead."""

    case_id: str
    unit: str
    reason: str
    legal_channel: str | None = None
    rejected_on: date


class DeadlineSet(Payload):
    """deadline.set.v1 — a statutory clock started; ``due_on`` already rolled past holidays."""

    case_id: str
    clock: Clock
    starts_on: date
    period: int
    unit_of_period: Literal["calendar_days", "working_days"]
    due_on: date
    basis: str = Field(description="the article that sets the period")
    rolled_from: date | None = Field(default=None, description="nominal last day, when it fell on a rest day")


class DeadlineMet(Payload):
    """deadline.met.v1 — the act a clock waits for happened (on time or late)."""

    case_id: str
    clock: Clock
    on: date
    late: bool


EVENT_TYPES: dict[str, type[Payload]] = {
    "petition.registered.v1": PetitionRegistered,
    "case.assigned.v1": CaseAssigned,
    "case.accepted.v1": CaseAccepted,
    "case.rejected.v1": CaseRejected,
    "deadline.set.v1": DeadlineSet,
    "deadline.met.v1": DeadlineMet,
}

# which service may publish which event types (checked when a service appends)
PRODUCER_OF: dict[str, str] = {
    "petition.registered.v1": "intake",
    "case.assigned.v1": "routing",
    "case.accepted.v1": "routing",
    "case.rejected.v1": "routing",
    "deadline.set.v1": "supervision",
    "deadline.met.v1": "supervision",
}


class UnknownEventType(ValueError):
    pass


def payload_model(event_type: str) -> type[Payload]:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def receipt_code_hash(code: str) -> str:
    """How a receipt code travels and is looked up: only its hash ever leaves intake's answer."""
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()
