"""Idempotent Kafka consumer: at-least-once delivery, exactly-once effects.

For every record: one PostgreSQL transaction inserts the tracking row (consumer, event id) and
applies the handler's effect (projection rows, new events + outbox). A tracking row that already
exists means the event was applied before: nothing happens. The consumer's position in each
partition is written in that same transaction (per broker epoch) and is where it resumes; Kafka
offsets are committed only after the database commit (auto-commit is off) and serve monitoring.
A crash between the two replays records that the tracking table then drops.

A record that cannot be decoded or whose handler keeps failing goes to the dead-letter topic with
the reason, and the consumer goes on. Transient database errors are retried without giving up.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import psycopg
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import telemetry
from .broker import EpochReader, KafkaOptions, ensure_topics
from .contracts import TOPIC_DEAD_LETTER, Payload
from .db import connect
from .envelope import Actor, Envelope
from .eventstore import ConcurrencyConflict, record
from .settings import BackboneSettings

log = logging.getLogger("backbone.consumer")
tracer = trace.get_tracer("backbone.consumer")


@dataclass
class Delivery:
    """What a handler gets: the event, the open transaction, and a way to record new events."""

    conn: psycopg.Connection
    event: Envelope
    service: str

    def emit(self, subject: str, items: Iterable[tuple[str, Payload]], actor: Actor | None = None) -> list[Envelope]:
        """Append events caused by this delivery to the service's own stream ``subject``."""
        return record(
            self.conn,
            self.service,
            subject,
            None,
            items,
            actor or self.event.actor,
            correlationid=self.event.correlationid,
            causationid=self.event.id,
        )


Handler = Callable[[Delivery], None]


class IdempotentConsumer:
    def __init__(self, settings: BackboneSettings, name: str, topics: list[str], handler: Handler):
        self.s = settings
        self.name = f"{settings.service}.{name}"
        self.topics = topics
        self.handler = handler
        self.opts = KafkaOptions.from_settings(settings)
        self.stop = threading.Event()
        self.applied = 0
        self.duplicates = 0
        self.dead_lettered = 0
        self.epoch: str | None = None
        self._conn: psycopg.Connection | None = None
        self._dlq: KafkaProducer | None = None

    # -- connections ----------------------------------------------------------------------
    def _db(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.s.database_url, self.s.schema, autocommit=True)
        return self._conn

    def _kafka(self) -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=self.opts.bootstrap,
            # one group per broker epoch: a member of a group from before a restart can never
            # hold up the new group's rebalance (positions live in the database, not in the group)
            group_id=f"xf.{self.name}.{(self.epoch or '')[:8]}",
            client_id=f"xf.{self.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # end offsets of the embedded broker are unreliable
            allow_auto_create_topics=False,
            session_timeout_ms=self.opts.session_timeout_ms,
            heartbeat_interval_ms=self.opts.heartbeat_interval_ms,
            request_timeout_ms=max(self.opts.request_timeout_ms, self.opts.session_timeout_ms + 5_000),
            max_poll_records=self.s.kafka_max_poll_records,
        )

    # -- one record -----------------------------------------------------------------------
    def process(self, topic: str, partition: int, offset: int, value: bytes, headers) -> str:
        """Apply one record; returns 'applied', 'duplicate' or 'dead-lettered'."""
        with tracer.start_as_current_span(
            f"{topic} process",
            context=telemetry.context_from_headers(headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": topic,
                "messaging.consumer.group.name": f"xf.{self.name}.{(self.epoch or '')[:8]}",
                "messaging.kafka.offset": offset,
                "messaging.destination.partition.id": str(partition),
            },
        ) as span:
            try:
                env = Envelope.decode(value)
            except ValueError as e:
                span.set_status(Status(StatusCode.ERROR, "poison"))
                self._dead_letter(topic, partition, offset, value, headers, f"undecodable: {e}")
                with self._db().transaction():
                    self._advance(self._db(), topic, partition, offset)
                return "dead-lettered"
            span.set_attribute("messaging.message.id", env.id)
            span.set_attribute("xf.event_type", env.type)
            span.set_attribute("xf.case_id", env.subject)
            attempt = 0
            while True:
                attempt += 1
                try:
                    conn = self._db()
                    with conn.transaction():
                        fresh = conn.execute(
                            "INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s)"
                            " ON CONFLICT DO NOTHING",
                            (self.name, env.id),
                        ).rowcount
                        self._advance(conn, topic, partition, offset)
                        if not fresh:
                            span.set_attribute("xf.duplicate", True)
                            self.duplicates += 1
                            return "duplicate"
                        self.handler(Delivery(conn, env, self.s.service))
                    self.applied += 1
                    return "applied"
                except psycopg.OperationalError as e:
                    # the database is away: wait for it, never give the event up
                    log.warning("database unavailable (%s); retrying", type(e).__name__)
                    self._conn = None
                    self.stop.wait(min(5.0, 0.2 * attempt))
                    if self.stop.is_set():
                        raise
                except ConcurrencyConflict:
                    if attempt >= 10 * self.s.consumer_max_attempts:
                        raise
                except Exception as e:  # noqa: BLE001 - a failing handler must not stop the stream
                    if attempt < self.s.consumer_max_attempts:
                        self.stop.wait(0.1 * attempt)
                        continue
                    span.record_exception(e)
                    span.set_status(Status(StatusCode.ERROR, "dead-lettered"))
                    reason = f"{type(e).__name__}: {e}"[:1000]
                    self._dead_letter(topic, partition, offset, value, headers, reason)
                    with self._db().transaction():
                        self._db().execute(
                            "INSERT INTO processed_events (consumer, event_id, outcome) VALUES (%s, %s, 'dead-lettered')"
                            " ON CONFLICT DO NOTHING",
                            (self.name, env.id),
                        )
                        self._advance(self._db(), topic, partition, offset)
                    return "dead-lettered"

    def _advance(self, conn: psycopg.Connection, topic: str, partition: int, offset: int) -> None:
        conn.execute(
            "INSERT INTO consumer_positions (consumer, topic, partition, epoch, next_offset)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (consumer, topic, partition) DO UPDATE"
            " SET epoch = EXCLUDED.epoch, next_offset = EXCLUDED.next_offset",
            (self.name, topic, partition, self.epoch or "", offset + 1),
        )

    def _resume(self, consumer: KafkaConsumer, partitions) -> None:
        """Seek each partition to where this consumer got to in the current broker epoch, else to 0."""
        partitions = list(partitions)
        if not partitions:
            return
        rows = self._db().execute(
            "SELECT topic, partition, next_offset FROM consumer_positions"
            " WHERE consumer = %s AND epoch = %s",
            (self.name, self.epoch or ""),
        ).fetchall()
        known = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        for tp in partitions:
            consumer.seek(tp, known.get((tp.topic, tp.partition), 0))

    def _dead_letter(self, topic, partition, offset, value, headers, reason: str) -> None:
        log.error("dead-lettering %s[%s]@%s: %s", topic, partition, offset, reason)
        if self._dlq is None:
            self._dlq = KafkaProducer(bootstrap_servers=self.opts.bootstrap, acks="all")
        meta = {
            "reason": reason,
            "consumer": self.name,
            "topic": topic,
            "partition": partition,
            "offset": offset,
        }
        hdrs = list(headers or []) + [
            ("xf-dlq-reason", reason.encode()),
            ("xf-dlq-consumer", self.name.encode()),
            ("xf-dlq-origin", json.dumps(meta).encode()),
        ]
        self._dlq.send(TOPIC_DEAD_LETTER, value=value, headers=hdrs).get(timeout=self.opts.request_timeout_ms / 1000)
        self.dead_lettered += 1

    # -- loop -----------------------------------------------------------------------------
    def _subscribe(self) -> KafkaConsumer:
        """A fresh group member that resumes from the database's positions for this epoch."""
        ensure_topics(self.opts)  # all topics exist before joining, so the assignment covers them
        consumer = self._kafka()
        me = self

        class Resume(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                pass

            def on_partitions_assigned(self, assigned):
                me._resume(consumer, assigned)

        consumer.subscribe(self.topics, listener=Resume())
        return consumer

    def run(self) -> None:
        consumer: KafkaConsumer | None = None
        reader = EpochReader(self.opts)
        checked = 0.0
        try:
            while self.epoch is None and not self.stop.is_set():
                # positions are per broker epoch: learn it before reading anything
                self.epoch = reader.read()
                if self.epoch is None:
                    self.stop.wait(0.2)
            while not self.stop.is_set():
                if consumer is None:
                    try:
                        consumer = self._subscribe()
                    except KafkaError as e:
                        log.warning("cannot join the group yet (%s)", type(e).__name__)
                        self.stop.wait(0.5)
                        continue
                if time.monotonic() - checked > self.s.broker_epoch_check_s:
                    checked = time.monotonic()
                    epoch = reader.read()
                    if epoch is not None and epoch != self.epoch:
                        # the broker came back empty: read everything again; tracking drops repeats
                        # (a new member: the old one's group state died with the old broker)
                        log.info("broker epoch changed; re-reading from the beginning")
                        self.epoch = epoch
                        _close(consumer)
                        consumer = None
                        continue
                try:
                    batches = consumer.poll(timeout_ms=200)
                except KafkaError as e:
                    log.warning("poll failed (%s)", type(e).__name__)
                    self.stop.wait(0.5)
                    continue
                if not batches:
                    continue
                for tp, records in batches.items():
                    for r in records:
                        self.process(tp.topic, tp.partition, r.offset, r.value, r.headers)
                try:
                    consumer.commit()
                except KafkaError as e:
                    # only for lag monitoring: positions that matter are in the database
                    log.warning("offset commit failed (%s)", type(e).__name__)
        finally:
            reader.close()
            _close(consumer)
            if self._dlq is not None:
                self._dlq.close(timeout=2)
            if self._conn is not None:
                self._conn.close()


def _close(consumer: KafkaConsumer | None) -> None:
    if consumer is not None:
        try:
            consumer.close(autocommit=False)
        except Exception:  # noqa: BLE001 - closing a member of a broker that is gone
            pass


def serve(name: str, topics: list[str], handler: Handler, settings: BackboneSettings | None = None) -> None:
    """Entrypoint body for a service's consumer process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = settings or BackboneSettings()
    telemetry.setup(settings.service, f"consumer-{name}", settings.traces_dir, settings.otlp_endpoint)
    c = IdempotentConsumer(settings, name, topics, handler)
    signal.signal(signal.SIGTERM, lambda *_: c.stop.set())
    signal.signal(signal.SIGINT, lambda *_: c.stop.set())
    try:
        c.run()
    finally:
        telemetry.shutdown()
