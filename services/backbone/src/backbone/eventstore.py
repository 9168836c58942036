"""Append-only event store with optimistic concurrency, and the outbox written beside it.

``append`` must be called inside the caller's transaction: the events, the outbox rows and the
caller's own effects (projection rows, idempotency keys, processed-event tracking) commit together
or not at all. The relay is woken by NOTIFY, which PostgreSQL delivers only on commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg
from psycopg.types.json import Jsonb

from . import telemetry
from .contracts import PRODUCER_OF, SERVICE_TOPIC, Payload
from .envelope import Actor, Envelope, new_event

NOTIFY_CHANNEL = "xf_outbox"


class ConcurrencyConflict(Exception):
    """Someone else appended to the stream since it was read."""

    def __init__(self, stream_id: str, expected_version: int):
        super().__init__(f"stream {stream_id} is no longer at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


def current_version(conn: psycopg.Connection, stream_id: str) -> int:
    row = conn.execute(
        "SELECT coalesce(max(version), 0) AS v FROM events WHERE stream_id = %s", (stream_id,)
    ).fetchone()
    return _first(row)


def load(conn: psycopg.Connection, stream_id: str) -> list[Envelope]:
    rows = conn.execute(
        "SELECT envelope FROM events WHERE stream_id = %s ORDER BY version", (stream_id,)
    ).fetchall()
    return [Envelope.from_json(_first(r)) for r in rows]


def append(
    conn: psycopg.Connection,
    service: str,
    events: Sequence[Envelope],
    expected_version: int,
) -> None:
    """Append ``events`` (versions expected_version+1, +2, ...) to their stream and the outbox.

    Raises ConcurrencyConflict if another transaction appended to the same stream first; the
    transaction is then unusable and the caller must roll back (the unit of work does).
    """
    if not events:
        return
    topic = SERVICE_TOPIC[service]
    stream_id = events[0].subject
    for i, ev in enumerate(events, start=1):
        if ev.subject != stream_id:
            raise ValueError("one append writes one stream")
        if ev.sequence != expected_version + i:
            raise ValueError(f"event {ev.type} has version {ev.sequence}, expected {expected_version + i}")
        if PRODUCER_OF.get(ev.type) != service:
            raise ValueError(f"{service} may not publish {ev.type}")
    try:
        with conn.transaction():  # a savepoint, so the caller's transaction can report the conflict
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO events (stream_id, version, event_id, event_type, occurred_at, envelope)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    [(ev.subject, ev.sequence, ev.id, ev.type, ev.time, Jsonb(ev.to_json())) for ev in events],
                )
                cur.executemany(
                    "INSERT INTO outbox (event_id, topic, key, value, traceparent) VALUES (%s, %s, %s, %s, %s)",
                    [(ev.id, topic, ev.subject, ev.encode(), ev.traceparent) for ev in events],
                )
    except psycopg.errors.UniqueViolation as e:
        if e.diag.constraint_name == "events_pkey":
            raise ConcurrencyConflict(stream_id, expected_version) from None
        raise
    conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")


def record(
    conn: psycopg.Connection,
    service: str,
    subject: str,
    expected_version: int | None,
    items: Iterable[tuple[str, Payload]],
    actor: Actor,
    correlationid: str | None = None,
    causationid: str | None = None,
) -> list[Envelope]:
    """Build envelopes for ``items`` (carrying the current trace) and append them to ``subject``."""
    version = current_version(conn, subject) if expected_version is None else expected_version
    traceparent = telemetry.current_traceparent()
    envs: list[Envelope] = []
    for i, (event_type, payload) in enumerate(items, start=1):
        env = new_event(
            service=service,
            payload=payload,
            event_type=event_type,
            subject=subject,
            sequence=version + i,
            actor=actor,
            correlationid=correlationid,
            causationid=causationid,
            traceparent=traceparent,
        )
        correlationid = correlationid or env.correlationid
        envs.append(env)
    append(conn, service, envs, version)
    return envs



def _first(row) -> object:
    if row is None:
        return None
    if isinstance(row, dict):
        return next(iter(row.values()))
    return row[0]
