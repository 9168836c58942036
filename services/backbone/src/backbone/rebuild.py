"""Rebuild a consumer's projection from the event stores, for operators.

    python -m reporting rebuild

Reads every event of the services the consumer listens to straight from their event stores (the
truth; the broker may have lost them), empties the projection and applies the events again in
chunks, in one transaction, with the same pure ``apply`` the live consumer uses. Events the
projection would emit are not emitted again (they are already in the service's own store).

It runs beside the live consumer safely: it first locks the consumer's tracking table, so the
consumer waits; every event the consumer had applied was committed in its store before that, so
the rebuild reads a superset of it; the tracking rows it writes make the consumer skip, afterwards,
what the rebuild already applied.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Iterator

import psycopg

from .contracts import producer_of_topic
from .db import connect
from .envelope import Envelope
from .consumer import apply_events

log = logging.getLogger("backbone.rebuild")


def _stream(database_url: str, schema: str, producer: str, chunk: int) -> Iterator[tuple]:
    """One source store's events in position order, as (occurred_at, position, producer, body)."""
    with connect(database_url, schema) as conn:
        after = 0
        while True:
            rows = conn.execute(
                "SELECT position, occurred_at, body::text FROM events WHERE position > %s ORDER BY position LIMIT %s",
                (after, chunk),
            ).fetchall()
            if not rows:
                return
            for position, occurred_at, body in rows:
                yield occurred_at, position, producer, body
            after = rows[-1][0]


def rebuild(settings, consumer, store, sources: dict[str, tuple[str, str]] | None = None, chunk: int = 5000,
            reset=None) -> dict:
    """Rebuild ``consumer`` (a runtime.ConsumerDef) of ``settings.service``; ``sources`` maps a
    producing service to (database URL, schema) of its store (default: this database, schema = name)."""
    name = f"{settings.service}.{consumer.name}"
    producers = list(dict.fromkeys(producer_of_topic(t) for t in consumer.topics))  # a service may have two topics
    sources = sources or {p: (settings.database_url, p) for p in producers}
    started = time.monotonic()
    applied = 0
    with connect(settings.database_url, settings.schema) as conn:
        with conn.transaction():
            # the live consumer waits here until the rebuild commits (see the module docstring)
            conn.execute("LOCK TABLE processed_events IN SHARE ROW EXCLUSIVE MODE")
            if reset is not None:
                reset(conn)
            conn.execute("DELETE FROM processed_events WHERE consumer = %s", (name,))
            merged = heapq.merge(*(_stream(*sources[p], p, chunk) for p in producers))
            batch: list[Envelope] = []
            for _, _, producer, body in merged:
                env = Envelope.decode(body)
                if env.producer != producer:
                    raise ValueError(f"{producer}'s store holds a {env.type} event")
                batch.append(env)
                if len(batch) >= chunk:
                    applied += _apply(conn, name, consumer, store, batch)
                    batch = []
            if batch:
                applied += _apply(conn, name, consumer, store, batch)
            flush = getattr(consumer.projection, "flush", None)  # a projection that held states back
            if flush is not None and (writes := flush()):
                conn.execute(*store.write_statement([], *writes))
    seconds = time.monotonic() - started
    return {"consumer": name, "events": applied, "seconds": round(seconds, 2),
            "events_per_s": round(applied / seconds, 1) if seconds else None}


def _apply(conn: psycopg.Connection, name: str, consumer, store, batch: list[Envelope]) -> int:
    done = apply_events(conn, name, consumer.projection, store, batch, emit=False)
    conn.execute(*store.write_statement([], *done.writes))
    for ev, reason in done.rejected:
        log.error("rebuild: %s %s refused: %s", ev.type, ev.id, reason)
    return len(done.fresh)
