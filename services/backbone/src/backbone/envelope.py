"""CloudEvents 1.0 style envelope around every published event (JSON on the wire)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .contracts import Payload, payload_model


@dataclass(frozen=True, slots=True)
class Actor:
    principal: str
    unit: str
    role: str


SYSTEM = Actor(principal="system", unit="system", role="system")


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    source: str
    type: str
    subject: str  # the case id: also the stream id and the Kafka record key
    time: datetime
    sequence: int  # the event's version in its stream
    data: dict[str, Any]
    correlationid: str
    causationid: str | None
    actor: Actor
    traceparent: str | None = None
    specversion: str = "1.0"
    datacontenttype: str = "application/json"
    dataschema: str = field(default="")

    def payload(self) -> Payload:
        return payload_model(self.type).model_validate(self.data)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["time"] = self.time.isoformat()
        return d

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Envelope:
        if d.get("specversion") != "1.0":
            raise ValueError("not a CloudEvents 1.0 envelope")
        return cls(
            id=str(d["id"]),
            source=d["source"],
            type=d["type"],
            subject=d["subject"],
            time=datetime.fromisoformat(d["time"]),
            sequence=int(d["sequence"]),
            data=d["data"],
            correlationid=d["correlationid"],
            causationid=d.get("causationid"),
            actor=Actor(**d["actor"]),
            traceparent=d.get("traceparent"),
            dataschema=d.get("dataschema", ""),
        )

    @classmethod
    def decode(cls, raw: bytes) -> Envelope:
        """Parse and validate; raises ValueError (or a subclass) for anything malformed."""
        try:
            env = cls.from_json(json.loads(raw))
        except (KeyError, TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"malformed envelope: {e}") from None
        env.payload()  # validates against the contract
        return env


def new_event(
    *,
    service: str,
    payload: Payload,
    event_type: str,
    subject: str,
    sequence: int,
    actor: Actor,
    correlationid: str | None = None,
    causationid: str | None = None,
    traceparent: str | None = None,
) -> Envelope:
    if not isinstance(payload, payload_model(event_type)):
        raise TypeError(f"{event_type} needs a {payload_model(event_type).__name__} payload")
    event_id = str(uuid.uuid4())
    name, _, version = event_type.rpartition(".")
    return Envelope(
        id=event_id,
        source=f"/xinfang/{service}",
        type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        sequence=sequence,
        data=payload.model_dump(mode="json"),
        correlationid=correlationid or event_id,
        causationid=causationid,
        actor=actor,
        traceparent=traceparent,
        dataschema=f"urn:xinfang:event:{name}:{version}",
    )
