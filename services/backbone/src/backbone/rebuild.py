"""Rebuild a consumer's projection from the event stores, for operators.

    python -m reporting rebuild

Reads every event of the services the consumer listens to straight from their event stores (the
truth; the broker may have lost them), empties the projection and applies the events again in
chunks, in one transaction, with the same pure ``apply`` the live consumer uses. Events the
projection would emit are not emitted again (they are already in the service's own store). A
store holds each event once, so every event read is new: none is checked against a tracking row.

It runs beside the live consumer safely: it first locks the consumer's tracking table, so the
consumer waits; every event the consumer had applied was committed in its store before that, so
the rebuild reads a superset of it; the tracking rows it writes (the consumer's own rows stay, the
missing ones are added) make the consumer skip, afterwards, what the rebuild already applied.

A projection whose state is its cases' alone (``per_case = True``: ``apply`` reads and changes only
the event's subject's state) is rebuilt case by case: each store is read in stream order (its
primary key), a case's events from every store merged as a time-ordered reading would order them,
and the case folded from nothing and written once — no state is read back. The writes go to
PostgreSQL from a second thread, so that the database inserts one chunk while Python decodes the
next. Other projections (the early warnings' windows span cases) are rebuilt in time order.
What a projection derives from its rows after each batch (``after``) is derived once, at the end
(``after_rebuild``), in the same transaction.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections.abc import Iterator
from itertools import groupby

import orjson
import psycopg

from .contracts import producer_of_topic
from .db import connect, run_script
from .envelope import Envelope
from .consumer import fold, wanted

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


def _by_stream(database_url: str, schema: str, producer: str, chunk: int) -> Iterator[tuple]:
    """One source store's events in stream order, as (stream_id, occurred_at, position, producer, body)."""
    with connect(database_url, schema) as conn:
        after: tuple[str, int] = ("", 0)
        while True:
            rows = conn.execute(
                "SELECT stream_id, version, occurred_at, position, body::text FROM events"
                " WHERE (stream_id, version) > (%s, %s) ORDER BY stream_id, version LIMIT %s",
                (*after, chunk),
            ).fetchall()
            if not rows:
                return
            if rows[0][0] < after[0] or any(a[0] > b[0] for a, b in zip(rows, rows[1:])):
                # the streams are merged in Python's string order: the database must sort the same way
                raise ValueError(f"{schema}.events: stream ids do not sort by code point in this database's collation")
            for stream_id, _, occurred_at, position, body in rows:
                yield stream_id, occurred_at, position, producer, body
            after = rows[-1][0], rows[-1][1]


def _cases(streams: list[Iterator[tuple]]) -> Iterator[list[tuple]]:
    """Every case's events from every store: per case, in the order a time-ordered merge gives them."""
    for _, rows in groupby(heapq.merge(*streams), key=lambda r: r[0]):
        yield sorted(rows, key=lambda r: (r[1], r[2], r[3]))


class _Writer:
    """Runs the rebuild's statements on its connection from a thread of their own, in order: while
    PostgreSQL writes one chunk (the thread waits on the socket, without the interpreter lock),
    the caller decodes and folds the next."""

    def __init__(self, conn: psycopg.Connection, store, depth: int = 2):
        self.conn, self.store = conn, store
        self.todo: queue.Queue = queue.Queue(maxsize=depth)
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="rebuild-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (writes := self.todo.get()) is not None:
            if self.failed is None:
                try:
                    self.conn.execute(*self.store.write_statement([], *writes))
                except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
                    self.failed = e

    def put(self, writes: list) -> None:
        if self.failed is not None:
            raise self.failed
        self.todo.put(writes)

    def close(self) -> None:
        self.todo.put(None)
        self.thread.join()
        if self.failed is not None:
            raise self.failed


# the tracking rows a live consumer wrote stay (deleting and inserting them again cost 20 µs a row:
# each new row meets its deleted twin in the primary key); only missing or dead-lettered ones change
_TRACKED = ("INSERT INTO processed_events (consumer, event_id)"
            " SELECT %s, x::uuid FROM json_array_elements_text(%s::json) x ON CONFLICT (consumer, event_id)"
            " DO UPDATE SET outcome = 'applied' WHERE processed_events.outcome <> 'applied'")


def _folded(name: str, projection, store, events: list[Envelope], states: dict) -> tuple[list, int]:
    """The writes that apply ``events`` to ``states`` (every event is new: a store holds each once),
    with their tracking rows; and how many were applied."""
    taken = wanted(projection, events)
    kept = {id(e) for e in taken}
    done = fold(name, projection, store, taken, [e for e in events if id(e) not in kept], {e.id for e in taken}, states,
                derive=False)  # what ``after`` derives, the rebuild derives once at its end
    for ev, reason in done.rejected:
        log.error("rebuild: %s %s refused: %s", ev.type, ev.id, reason)
    refused = {e.id for e, _ in done.rejected}
    fresh = [i for i in dict.fromkeys(e.id for e in taken) if i not in refused]
    return [(_TRACKED, (name, orjson.dumps(fresh).decode())), *done.writes], len(fresh)


def _rebuild_by_case(conn: psycopg.Connection, name: str, consumer, store, sources, producers, chunk: int) -> int:
    projection = consumer.projection
    writer = _Writer(conn, store)
    applied = 0
    events: list[Envelope] = []

    def write() -> int:
        writes, n = _folded(name, projection, store, events, {})
        writer.put(writes)
        return n

    try:
        for case in _cases([_by_stream(*sources[p], p, chunk) for p in producers]):
            for stream_id, _, _, producer, body in case:
                env = Envelope.decode(body)
                if env.producer != producer:
                    raise ValueError(f"{producer}'s store holds a {env.type} event")
                if env.subject != stream_id:
                    raise ValueError(f"{producer}'s stream {stream_id} holds an event of {env.subject}")
                events.append(env)
            if len(events) >= chunk:  # whole cases only: each one is folded from nothing, once
                applied += write()
                events = []
        if events:
            applied += write()
    finally:
        writer.close()
    return applied


def rebuild(settings, consumer, store, sources: dict[str, tuple[str, str]] | None = None, chunk: int = 5000,
            reset=None) -> dict:
    """Rebuild ``consumer`` (a runtime.ConsumerDef) of ``settings.service``; ``sources`` maps a
    producing service to (database URL, schema) of its store (default: this database, schema = name)."""
    name = f"{settings.service}.{consumer.name}"
    producers = list(dict.fromkeys(producer_of_topic(t) for t in consumer.topics))  # a service may have two topics
    sources = sources or {p: (settings.database_url, p) for p in producers}
    started = time.monotonic()
    with connect(settings.database_url, settings.schema) as conn:
        with conn.transaction():
            # the live consumer waits here until the rebuild commits (see the module docstring)
            conn.execute("LOCK TABLE processed_events IN SHARE ROW EXCLUSIVE MODE")
            if reset is not None:
                reset(conn)
            by_case = getattr(consumer.projection, "per_case", False)
            applied = (_rebuild_by_case if by_case else _rebuild_in_time_order)(
                conn, name, consumer, store, sources, producers, chunk)
            # what the projection derives from its written rows, once for all (Projection.after)
            for statement in getattr(consumer.projection, "after_rebuild", lambda: [])():
                conn.execute(*statement)
    return _done(name, applied, started)


def _rebuild_in_time_order(conn: psycopg.Connection, name: str, consumer, store, sources, producers,
                           chunk: int) -> int:
    applied = 0
    batch: list[Envelope] = []
    for _, _, producer, body in heapq.merge(*(_stream(*sources[p], p, chunk) for p in producers)):
        env = Envelope.decode(body)
        if env.producer != producer:
            raise ValueError(f"{producer}'s store holds a {env.type} event")
        batch.append(env)
        if len(batch) >= chunk:
            applied += _apply(conn, name, consumer, store, batch)
            batch = []
    if batch:
        applied += _apply(conn, name, consumer, store, batch)
    return applied


def _done(name: str, applied: int, started: float) -> dict:
    seconds = time.monotonic() - started
    return {"consumer": name, "events": applied, "seconds": round(seconds, 2),
            "events_per_s": round(applied / seconds, 1) if seconds else None}


def _apply(conn: psycopg.Connection, name: str, consumer, store, batch: list[Envelope]) -> int:
    projection = consumer.projection
    loads = projection.load(sorted({e.subject for e in wanted(projection, batch)}))
    writes, applied = _folded(name, projection, store, batch, projection.states(run_script(conn, loads)) if loads else {})
    conn.execute(*store.write_statement([], *writes))
    return applied
