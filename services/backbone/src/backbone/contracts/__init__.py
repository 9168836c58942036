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
)
from .intake import Category, Channel, IntakeEvent, PetitionRegistered
from .reporting import AlertRaised, ReportingEvent
from .routing import CaseAccepted, CaseAssigned, CaseRejected, CaseUnroutable, RoutingEvent
from .supervision import Clock, DeadlineMet, DeadlineSet, SupervisionEvent

TOPIC_INTAKE = IntakeEvent.topic
TOPIC_ROUTING = RoutingEvent.topic
TOPIC_SUPERVISION = SupervisionEvent.topic
TOPIC_REPORTING = ReportingEvent.topic

__all__ = [
    "DATA_TOPICS", "REGISTRY", "SERVICE_TOPIC", "SERVICES", "TOPIC_BROKER_EPOCH", "TOPIC_DEAD_LETTER",
    "TOPIC_INTAKE", "UnitId", "TOPIC_ROUTING", "TOPIC_SUPERVISION", "TOPIC_REPORTING",
    "Event", "UnknownEventType", "event_class", "producer_of_topic", "receipt_code_hash",
    "Category", "Channel", "IntakeEvent", "PetitionRegistered",
    "RoutingEvent", "CaseAssigned", "CaseAccepted", "CaseRejected", "CaseUnroutable",
    "SupervisionEvent", "Clock", "DeadlineSet", "DeadlineMet",
    "ReportingEvent", "AlertRaised",
]
