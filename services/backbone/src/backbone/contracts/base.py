"""Event base classes, the type registry and the topics."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints

SERVICES = ("intake", "routing", "supervision", "reporting")
# an organisation unit's id: letters, digits, _ . - (never spaces or control characters)
UnitId = Annotated[str, StringConstraints(pattern=r"^[\w.-]{1,64}$")]
# a principal's (user account's) id, as the identity provider names it
PrincipalId = Annotated[str, StringConstraints(pattern=r"^[\w.@-]{1,128}$")]
TOPIC_DEAD_LETTER = "xf.dead-letter.v1"
# holds one record naming the broker's incarnation; see backbone.broker
TOPIC_BROKER_EPOCH = "xf.broker-epoch"
# one topic per producing service, partitioned by case id (the record key)
SERVICE_TOPIC = {s: f"xf.{s}.events.v1" for s in SERVICES}
# and for a service whose few milestones other services wait for, a topic of their own, so that
# those services do not read the whole stream to find them (an event class says ``milestone``)
MILESTONE_TOPIC = {"supervision": "xf.supervision.milestones.v1"}
DATA_TOPICS = (*SERVICE_TOPIC.values(), *MILESTONE_TOPIC.values(), TOPIC_DEAD_LETTER)
_TOPIC_PRODUCER = {t: s for s, t in SERVICE_TOPIC.items()} | {t: s for s, t in MILESTONE_TOPIC.items()}


def topics_of(service: str) -> list[str]:
    """Every topic a service publishes to."""
    return [SERVICE_TOPIC[service]] + ([MILESTONE_TOPIC[service]] if service in MILESTONE_TOPIC else [])

REGISTRY: dict[str, type[Event]] = {}


class UnknownEventType(ValueError):
    pass


class Event(BaseModel):
    """A published fact. A concrete event sets ``type``; its producer's base class sets ``producer``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str] = ""
    producer: ClassVar[str] = ""
    topic: ClassVar[str] = ""
    milestone: ClassVar[bool] = False  # published on the producer's milestone topic

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.producer and (not cls.topic or "milestone" in cls.__dict__):
            if cls.producer not in SERVICE_TOPIC:
                raise TypeError(f"{cls.__name__}: unknown producer {cls.producer!r}")
            if cls.milestone and cls.producer not in MILESTONE_TOPIC:
                raise TypeError(f"{cls.__name__}: {cls.producer} has no milestone topic")
            cls.topic = MILESTONE_TOPIC[cls.producer] if cls.milestone else SERVICE_TOPIC[cls.producer]
        if "type" in cls.__dict__:
            name, _, version = cls.type.rpartition(".")
            if not name or not version.startswith("v") or not cls.producer:
                raise TypeError(f"{cls.__name__}: type must look like 'thing.happened.v1' and have a producer")
            if cls.type in REGISTRY and REGISTRY[cls.type] is not cls:
                raise TypeError(f"event type {cls.type} is declared twice")
            REGISTRY[cls.type] = cls

    @classmethod
    def schema_urn(cls) -> str:
        name, _, version = cls.type.rpartition(".")
        return f"urn:xinfang:event:{name}:{version}"


def event_class(event_type: str) -> type[Event]:
    try:
        return REGISTRY[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def producer_of_topic(topic: str) -> str | None:
    return _TOPIC_PRODUCER.get(topic)


def receipt_code_hash(code: str) -> str:
    """How a receipt code travels and is looked up: only its hash ever leaves intake's answer."""
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()
