"""Idempotent consumer: at-least-once delivery, exactly-once effects, a whole poll per transaction.

A service reacts to events through a ``Projection``: ``load`` reads the state of the batch's cases
in one go, ``apply`` (pure) folds one event into one case's state and names the events it causes,
``save`` says how to write the changed states back. For each poll the consumer runs one
PostgreSQL transaction in three round trips, however many events the poll holds:

1. insert the tracking rows of every event in the batch, returning the ones that are new
   (a tracking row that exists means the event was applied before: it is skipped), and read the
   states of the batch's cases (and, if the projection emits events, its streams' versions) — one
   round trip, with BEGIN;
2. apply the new events in memory (pure);
3. ONE prepared statement writes everything — changed states, caused events and their outbox
   rows, case scope, tracking outcomes, positions per partition — then COMMIT.

A record that is not a valid event for its topic, or whose ``apply`` raises, is dead-lettered with
the reason and the rest of the batch commits. If the write itself fails, the batch is retried event
by event, each in its own transaction, so one bad event cannot hold up the others. Transient
errors (database gone, deadlock, a concurrent append to the same stream) retry without giving up.
Kafka offsets are committed after the database commit, for lag monitoring only: the consumer
resumes from the positions it wrote with its effects.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import orjson
import psycopg
from kafka.errors import KafkaError
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import bulk, telemetry, visibility
from .broker import Broker, Record, Subscription, close_quietly
from .contracts import TOPIC_DEAD_LETTER, Event
from .db import connect, run_script
from .envelope import SYSTEM, Envelope, PoisonEvent
from .eventstore import ConcurrencyConflict, EventStore, conflicts_detected

log = logging.getLogger("backbone.consumer")
tracer = trace.get_tracer("backbone.consumer")

S = TypeVar("S")


class Projection(Protocol, Generic[S]):
    """What a service gives its consumer. ``apply`` must be pure: it returns a new state (or the
    same object when nothing changed) and the events the change causes, and raises for an event it
    cannot take (that event is dead-lettered). Reading and writing are statements, not calls, so
    that the consumer can send a whole batch's reads in one round trip and its writes in another."""

    emits: bool
    # the event types ``apply`` takes (None: every type). The others are not loaded, applied or
    # tracked - only who may see their cases is recorded (idempotent, backbone.visibility)
    wants: tuple[type[Event], ...] | None

    def load(self, case_ids: list[str]) -> list[tuple[str, Sequence]]:
        """The queries (each with its parameters) that read these cases' states."""
        ...

    def states(self, rows: list[list[tuple]]) -> dict[str, S]:
        """The states, from the rows each ``load`` query returned (in the same order)."""
        ...

    def apply(self, state: S | None, event: Envelope) -> tuple[S | None, list[Event | Elsewhere]]: ...

    def save(self, states: dict[str, S]) -> list[tuple[str, Sequence]]:
        """The INSERT statements (each with its parameters) that write these states back."""
        ...

    # optional: ``after(changed_states, applied_events)`` -> statements run after the batch's
    # writes, in its transaction, reading what they wrote (e.g. reporting's counts per indicator,
    # reporting/rollup.py); a rebuild runs ``after_rebuild()`` once instead, at its end


@dataclass(frozen=True)
class Elsewhere:
    """An event a projection causes on another case's stream than the one it consumed (e.g. a
    detection that a later registration repeats a matter made final now)."""

    subject: str
    event: Event


@dataclass
class Applied:
    fresh: set[str]  # ids of the events applied now (not seen before)
    caused: list[Envelope]  # events the projection emitted, to be recorded in the store
    rejected: list[tuple[Envelope, str]]  # events apply() refused, with the reason
    writes: list[tuple[str, Sequence]]  # states, scope and outcomes to write with the caused events
    after: list[tuple[str, Sequence]] = field(default_factory=list)  # then (Projection.after)


_TRACK = (
    "INSERT INTO processed_events (consumer, event_id) SELECT %s, x::uuid FROM json_array_elements_text(%s::json) x"
    " ON CONFLICT DO NOTHING RETURNING event_id"
)
_DEAD = bulk.insert("processed_events", ("consumer", "event_id", "outcome"),
                    "ON CONFLICT (consumer, event_id) DO UPDATE SET outcome = EXCLUDED.outcome")
_POSITIONS = bulk.insert("consumer_positions", ("consumer", "topic", "partition", "epoch", "next_offset"),
                         bulk.update_all(("consumer", "topic", "partition"), ("epoch", "next_offset")))


def dead(consumer: str, event_ids) -> tuple[str, list]:
    return _DEAD, [bulk.rows({"consumer": consumer, "event_id": i, "outcome": "dead-lettered"} for i in event_ids)]
_TRANSIENT = (psycopg.OperationalError, psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure,
              ConcurrencyConflict)


def wanted(projection: Projection, events: Sequence[Envelope]) -> list[Envelope]:
    types = getattr(projection, "wants", None)
    return list(events) if types is None else [e for e in events if isinstance(e.payload, types)]


def read_batch(conn: psycopg.Connection, consumer: str, projection: Projection, store: EventStore,
               events: Sequence[Envelope], *, begin: bool, versions: bool) -> tuple[set[str], dict, dict[str, int]]:
    """ONE round trip: (BEGIN,) insert the tracking rows returning the new ones, read the streams'
    versions and the cases' states. Returns (new event ids, states, versions)."""
    case_ids = sorted({e.subject for e in events})
    script: list[tuple[str, Sequence]] = [(_TRACK, (consumer, orjson.dumps([e.id for e in events]).decode()))]
    if versions:
        script.append(store.versions_query(case_ids))
    loads = projection.load(case_ids) if case_ids else []
    script += loads
    results = run_script(conn, script, begin=begin)
    fresh = {str(r[0]) for r in results[0]}
    found = {c: 0 for c in case_ids} | dict(results[1]) if versions else {}  # 0: no events yet
    states = projection.states(results[-len(loads):]) if loads else {}
    return fresh, states, found


def apply_events(
    conn: psycopg.Connection,
    consumer: str,
    projection: Projection,
    store: EventStore,
    events: Sequence[Envelope],
    *,
    emit: bool = True,
    begin: bool = False,
    span_for=None,
) -> Applied:
    """The heart of a consumer (and of a rebuild): skip what was applied before, fold the rest into
    their cases' states, and say what to write. The caller writes it in one statement
    (``store.write_statement(applied.caused, *applied.writes)``) in the same transaction.
    ``span_for(event)`` may return a span whose context the caused events carry."""
    emitting = emit and projection.emits
    taken = wanted(projection, events)
    kept = {id(e) for e in taken}
    passing = [e for e in events if id(e) not in kept]  # only their cases' scope is recorded
    fresh, states, versions = read_batch(conn, consumer, projection, store, taken, begin=begin, versions=emitting)

    def versions_of(subject: str) -> int:  # another case's stream: rare, one read
        if subject not in versions:
            versions.update(store.versions(conn, [subject]))
        return versions.get(subject, 0)

    return fold(consumer, projection, store, taken, passing, fresh, states,
                versions_of if emitting else None, span_for=span_for)


def fold(consumer: str, projection: Projection, store: EventStore, taken: Sequence[Envelope],
         passing: Sequence[Envelope], fresh: set[str], states: dict[str, Any], versions_of=None,
         *, span_for=None, derive: bool = True) -> Applied:
    """Apply (pure) the fresh events of ``taken`` to ``states``; what to write. ``versions_of(subject)``
    (None: emit nothing) gives a stream's version before the events this batch causes on it."""
    changed: dict[str, Any] = {}
    caused: list[Envelope] = []
    rejected: list[tuple[Envelope, str]] = []
    seen: set[str] = set()
    versions: dict[str, int] = {}
    for ev in taken:
        if ev.id not in fresh or ev.id in seen:
            continue  # applied before, or a second copy in this very batch (a republish can deliver one)
        seen.add(ev.id)
        span = span_for(ev) if span_for else None
        try:
            state, emitted = projection.apply(states.get(ev.subject), ev)
        except Exception as e:  # noqa: BLE001 - a handler that cannot take an event
            rejected.append((ev, f"{type(e).__name__}: {e}"[:1000]))
            if span is not None:
                span.set_status(Status(StatusCode.ERROR, "dead-lettered"))
            continue
        if state is not states.get(ev.subject):
            states[ev.subject] = changed[ev.subject] = state
        if emitted and versions_of is not None:
            tp = telemetry.traceparent_of(span) if span is not None and span.is_recording() else ev.traceparent
            for subject, events_ in _by_subject(ev.subject, emitted):
                version = versions[subject] if subject in versions else versions_of(subject)
                caused += store.envelopes(subject, version, events_, SYSTEM, correlationid=ev.correlationid,
                                          causationid=ev.id, traceparent=tp)
                versions[subject] = version + len(events_)
    writes = projection.save(dict(sorted(changed.items()))) if changed else []
    writes += visibility.statements([e for e in taken if e.id in seen] + list(passing) + caused)
    if rejected:
        writes.append(dead(consumer, [e.id for e, _ in rejected]))
    after = getattr(projection, "after", None)
    then = (after(dict(sorted(changed.items())), [e for e in taken if e.id in seen])
            if after is not None and derive and changed else [])
    return Applied(fresh, caused, rejected, writes, then)


def _by_subject(subject: str, emitted: list) -> list[tuple[str, list[Event]]]:
    """The caused events grouped by the stream they go to, in order (the consumed event's first)."""
    groups: dict[str, list[Event]] = {}
    for e in emitted:
        target, event = (e.subject, e.event) if isinstance(e, Elsewhere) else (subject, e)
        groups.setdefault(target, []).append(event)
    return list(groups.items())


class IdempotentConsumer:
    def __init__(
        self,
        settings,
        name: str,
        topics: list[str],
        projection: Projection,
        store: EventStore,
        broker: Broker,
        stop: threading.Event | None = None,
        linger_ms: int | None = None,
    ):
        self.s = settings
        self.name = f"{settings.service}.{name}"
        self.topics = topics
        self.projection = projection
        self.store = store
        self.broker = broker
        self.stop = stop or threading.Event()
        self.linger_ms = settings.consumer_linger_ms if linger_ms is None else linger_ms
        # what is worth decoding: what the projection applies and what changes who may see a case
        wants = getattr(projection, "wants", None)
        self.reads = None if wants is None else (*wants, *visibility.SCOPED)
        self.applied = 0
        self.duplicates = 0
        self.dead_lettered = 0
        self._conn: psycopg.Connection | None = None
        self._unwritten: tuple[str, dict[tuple[str, int], int]] | None = None  # positions not yet stored
        self._flushed_at = time.monotonic()

    # -- the loop --------------------------------------------------------------------------------
    def run(self) -> None:
        if self.s.consumer_nice and hasattr(os, "setpriority"):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.s.consumer_nice)
        source = Subscription(self.broker, f"xf.{self.name}", self.topics, self._positions)
        try:
            linger = self.linger_ms / 1000
            while not self.stop.is_set():
                epoch, records = source.poll(timeout_ms=200)
                if not records:
                    self._flush_positions()
                    continue
                # a little patience turns many small batches into fewer larger ones: each batch
                # costs about a millisecond of CPU whatever its size (see the module docstring)
                until = time.monotonic() + linger
                while len(records) < self.s.kafka_max_poll_records and time.monotonic() < until:
                    more_epoch, more = source.poll(timeout_ms=max(1, int((until - time.monotonic()) * 1000)),
                                                   max_records=self.s.kafka_max_poll_records - len(records))
                    if more_epoch != epoch:
                        break
                    records += more
                self.handle(epoch or "", records)
                self._flush_positions()
                source.commit()
        finally:
            try:
                self._flush_positions(force=True)
            except Exception:  # noqa: BLE001 - stopping: the positions are read again next time
                pass
            source.close()
            close_quietly(self._conn)

    def handle(self, epoch: str, records: list[Record]) -> None:
        """Apply a batch: one transaction, or event by event if the batch cannot commit."""
        for r in records:
            try:
                r.event = Envelope.decode(r.value, r.topic, only=self.reads)
            except PoisonEvent as e:
                r.poison = f"undecodable: {e}"
        try:
            self._with_retries(lambda: self._apply(epoch, records))
        except Exception as e:  # noqa: BLE001 - isolate whatever broke the batch
            log.warning("batch of %d failed (%s: %s); applying one by one", len(records), type(e).__name__, e)
            for r in records:
                try:
                    self._with_retries(lambda r=r: self._apply(epoch, [r]))
                except Exception as e1:  # noqa: BLE001
                    r.poison = f"{type(e1).__name__}: {e1}"[:1000]
                    self._with_retries(lambda r=r: self._apply(epoch, [r]))

    # -- one transaction ---------------------------------------------------------------------------
    def _apply(self, epoch: str, records: list[Record]) -> None:
        events = [r.event for r in records if r.event is not None and r.poison is None]
        if not events and not any(r.poison for r in records):
            # nothing this consumer reads: no transaction, the positions are written with the next
            # batch that has something (or within FLUSH_S). Read again after a crash, such records
            # are skipped again; what is applied is deduplicated by its tracking rows anyway.
            self._advance(epoch, records)
            return
        conn = self._db()
        start = time.time_ns()
        topic_of = {r.event.id: r.topic for r in records if r.event is not None}
        spans: list = []

        def span_for(ev: Envelope):
            if not telemetry.is_sampled(ev.traceparent):
                return None  # this petition is not traced: no span at all (cheaper than a non-recording one)
            span = tracer.start_span(
                f"{topic_of[ev.id]} process", context=telemetry.parent_context(ev.traceparent),
                kind=SpanKind.CONSUMER, start_time=start,
                attributes={"messaging.operation.type": "process", "messaging.message.id": ev.id,
                            "xf.event_type": ev.type, "xf.case_id": ev.subject},
            )
            spans.append(span)
            return span

        with conflicts_detected(), _rolled_back_on_error(conn):
            # two round trips: BEGIN + tracking + reads, then the one write statement + COMMIT
            done = apply_events(conn, self.name, self.projection, self.store, events, begin=True, span_for=span_for)
            refused = {e.id: reason for e, reason in done.rejected}
            poison = [r for r in records if r.poison or (r.event is not None and r.event.id in refused)]
            for r in poison:
                r.poison = r.poison or refused[r.event.id]
            writes = done.writes
            if poison:
                self._dead_letter(poison)  # durably, before the batch commits
                ids = [r.event.id for r in poison if r.event is not None and r.event.id not in refused]
                if ids:
                    writes.append(dead(self.name, ids))
            self._advance(epoch, records)
            writes.append(self._positions_write())
            # with no caused events, nothing another service could see needs the disk first: a commit
            # lost in a crash loses its tracking rows and positions with it, and the events are read again
            write = self.store.write_statement(done.caused, *writes, durable=bool(done.caused))
            # a server-side prepared statement: planning this one statement cost PostgreSQL more than
            # executing it (575 -> 300 us a batch, measured), worth the COMMIT's own round trip
            positions = conn.execute(*write, prepare=True).fetchone()[0]
            for statement in done.after:
                conn.execute(*statement, prepare=True)
            conn.execute("COMMIT")
        self._unwritten = None
        self.store.published(done.caused, positions)
        self.applied += len(done.fresh) - len(done.rejected)
        self.duplicates += len(events) - len(done.fresh)
        end = time.time_ns()
        for span in spans:
            span.end(end_time=end)
        telemetry.batch_span(
            tracer, f"{self.name} batch", SpanKind.CONSUMER, [e.traceparent for e in events], start, end,
            {"messaging.system": "kafka", "messaging.operation.type": "process",
             "messaging.consumer.group.name": f"xf.{self.name}",
             "messaging.destination.name": ",".join(sorted({r.topic for r in records})),
             "messaging.batch.message_count": len(records), "xf.applied": len(done.fresh),
             "xf.caused": len(done.caused), "xf.dead_lettered": len(poison)},
        )

    # -- positions ---------------------------------------------------------------------------------
    FLUSH_S = 5.0

    def _advance(self, epoch: str, records: list[Record]) -> None:
        if self._unwritten is None or self._unwritten[0] != epoch:
            self._unwritten = (epoch, {})
        ends = self._unwritten[1]
        for r in records:
            ends[(r.log, r.partition)] = max(ends.get((r.log, r.partition), 0), r.offset + 1)

    def _positions_write(self) -> tuple[str, list]:
        epoch, ends = self._unwritten
        return (_POSITIONS, [bulk.rows({"consumer": self.name, "topic": t, "partition": p, "epoch": epoch,
                                        "next_offset": o} for (t, p), o in sorted(ends.items()))])

    def _flush_positions(self, force: bool = False) -> None:
        """Write positions advanced by batches that had nothing to apply (at most every FLUSH_S)."""
        if self._unwritten is None or not self._unwritten[1]:
            return
        if not force and time.monotonic() - self._flushed_at < self.FLUSH_S:
            return
        self._flushed_at = time.monotonic()
        statement, params = self._positions_write()
        self._with_retries(lambda: self._db().execute(statement, params))
        self._unwritten = None

    def _with_retries(self, fn) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except _TRANSIENT as e:
                if self.stop.is_set() or (isinstance(e, ConcurrencyConflict) and attempt > 20):
                    raise
                if isinstance(e, psycopg.OperationalError):
                    log.warning("database unavailable (%s); retrying", type(e).__name__)
                    close_quietly(self._conn)
                    self._conn = None
                self.stop.wait(min(5.0, 0.05 * attempt))

    # -- helpers -----------------------------------------------------------------------------------
    def _db(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.s.database_url, self.s.schema, autocommit=True, name=self.name)
        return self._conn

    def _positions(self, epoch: str) -> dict[tuple[str, int], int]:
        rows = self._db().execute(
            "SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer = %s AND epoch = %s",
            (self.name, epoch),
        ).fetchall()
        return {(t, p): o for t, p, o in rows}

    def _dead_letter(self, records: Sequence[Record]) -> None:
        """Publish to the dead-letter topic (durably, before the batch commits) with the reason."""
        producer = self.broker.producer()
        futures = []
        for r in records:
            log.error("dead-lettering %s[%s]@%s: %s", r.topic, r.partition, r.offset, r.poison)
            origin = {"reason": r.poison, "consumer": self.name, "topic": r.log, "partition": r.partition,
                      "offset": r.offset}
            headers = list(r.headers or []) + [
                ("xf-dlq-reason", (r.poison or "").encode()),
                ("xf-dlq-consumer", self.name.encode()),
                ("xf-dlq-origin", json.dumps(origin).encode()),
            ]
            futures.append(producer.send(TOPIC_DEAD_LETTER, value=r.value, headers=headers))
        producer.flush(timeout=self.s.kafka_request_timeout_ms / 1000)
        for f in futures:
            try:
                f.get(timeout=0)
            except KafkaError as e:
                raise psycopg.OperationalError(f"dead-letter topic unavailable: {e}") from None  # retried
        self.dead_lettered += len(records)


@contextmanager
def _rolled_back_on_error(conn: psycopg.Connection):
    """The batch runs its own BEGIN/COMMIT (to save round trips): roll back whatever failed."""
    try:
        yield
    except BaseException:
        if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                pass
        raise
