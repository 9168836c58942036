"""Outbox relay: publishes a service's new events to Kafka and forgets them once acknowledged.

Order: rows are published in outbox position order. Within one case that is commit order, because a
second append to the same stream waits on the first one's primary-key row and fails if it raced, so
a later version always commits (and gets its position) after an earlier one. Across cases a later
position may commit first; that is harmless because the relay takes whatever rows are in the outbox,
not a high-water mark, so a late committer is published on the next pass.

Wake-ups: a commit in this process wakes the relay directly (``Waker``); commits in other processes
arrive as NOTIFY on the service's own channel; without either it looks every ``relay_poll_s``.
When the broker turns out to be a new incarnation (see backbone.broker) the relay republishes the
whole event store first, then goes on with the outbox.

Only one relay per schema publishes at a time (a session advisory lock); others wait as standbys.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from kafka.errors import KafkaError
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from . import telemetry
from .broker import Broker, close_quietly, make_producer
from .contracts import SERVICE_TOPIC
from .db import connect
from .eventstore import Waker

log = logging.getLogger("backbone.relay")
tracer = trace.get_tracer("backbone.relay")

_PENDING = (
    "SELECT o.position, e.stream_id, e.event_id, e.event_type, e.traceparent, convert_to(e.body::text, 'UTF8')"
    " FROM outbox o JOIN events e ON e.position = o.position ORDER BY o.position LIMIT %s"
)
_ALL_AFTER = (
    "SELECT position, stream_id, event_id, event_type, traceparent, convert_to(body::text, 'UTF8') FROM events"
    " WHERE position > %s ORDER BY position LIMIT %s"
)


def notify_channel(schema: str) -> str:
    return f"xf_outbox_{schema}"


class Relay:
    def __init__(self, settings, broker: Broker, waker: Waker, stop: threading.Event | None = None):
        self.s = settings
        self.broker = broker
        self.waker = waker
        self.stop = stop or threading.Event()
        self.topic = SERVICE_TOPIC[settings.service]
        self.published = 0
        self.republished = 0

    def _connect(self) -> psycopg.Connection:
        # no server-side prepared statements: a plan cached while the outbox was small must not
        # stay in use when it is large (a generic plan once scanned the whole table per batch)
        conn = connect(self.s.database_url, self.s.schema, autocommit=True, prepare_threshold=None)
        # forgetting what the broker acknowledged need not wait for the disk: if a crash loses a
        # DELETE, those events are published again and consumers drop the duplicates
        conn.execute("SET synchronous_commit = off")
        return conn

    # -- publishing -------------------------------------------------------------------------------
    def _publish(self, producer, rows: list[tuple]) -> None:
        """Send a batch and wait until the broker has all of it; one PRODUCER span per batch, linked
        to each event's trace (the consumers' spans carry each petition's own trace on)."""
        start = time.time_ns()
        futures = [
            producer.send(self.topic, key=r[1].encode(), value=bytes(r[5]),
                          headers=[("traceparent", r[4].encode())] if r[4] else None)
            for r in rows
        ]
        producer.flush(timeout=self.s.kafka_request_timeout_ms / 1000)
        for f in futures:
            f.get(timeout=0)  # raises the send's error, if any
        tracer.start_span(
            f"{self.topic} publish", kind=SpanKind.PRODUCER, start_time=start,
            links=telemetry.links([r[4] for r in rows]),
            attributes={"messaging.system": "kafka", "messaging.operation.type": "publish",
                        "messaging.destination.name": self.topic, "messaging.batch.message_count": len(rows)},
        ).end()

    def _republish_all(self, conn: psycopg.Connection, producer) -> int:
        """A broker that lost its memory gets the whole store again, in position order."""
        after, n = 0, 0
        while not self.stop.is_set():
            rows = conn.execute(_ALL_AFTER, (after, 5000)).fetchall()
            if not rows:
                break
            self._publish(producer, rows)
            after = rows[-1][0]
            n += len(rows)
        return n

    def _epoch_in_store(self, conn: psycopg.Connection) -> str | None:
        row = conn.execute("SELECT broker_epoch FROM relay_state").fetchone()
        return row[0] if row else None

    # -- loop -------------------------------------------------------------------------------------
    def run(self) -> None:
        conn = None
        producer = None
        listener = threading.Thread(target=self._listen, name=f"{self.s.service}-relay-listen", daemon=True)
        try:
            conn = self._connect()
            log.info("relay %s waiting for the publisher lock", self.s.service)
            while not self.stop.is_set():
                if conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"relay:{self.s.schema}",)).fetchone()[0]:
                    break
                self.stop.wait(1.0)
            listener.start()
            stored_epoch = self._epoch_in_store(conn)
            while not self.stop.is_set():
                try:
                    epoch = self.broker.establish_epoch()
                    if epoch is None:
                        raise KafkaError("broker epoch unknown")
                    if producer is None:
                        producer = make_producer(self.broker.opts)
                    if epoch != stored_epoch:
                        # never carry a producer (and its producer id) across broker incarnations
                        close_quietly(producer)
                        producer = make_producer(self.broker.opts)
                        n = self._republish_all(conn, producer)
                        conn.execute(
                            "INSERT INTO relay_state (singleton, broker_epoch) VALUES (true, %s)"
                            " ON CONFLICT (singleton) DO UPDATE SET broker_epoch = EXCLUDED.broker_epoch",
                            (epoch,),
                        )
                        stored_epoch = epoch
                        self.republished += n
                        log.info("broker epoch %s: republished %d events of %s", epoch[:8], n, self.s.service)
                    rows = conn.execute(_PENDING, (self.s.relay_batch,)).fetchall()
                    if rows:
                        self._publish(producer, rows)
                        conn.execute("DELETE FROM outbox WHERE position = ANY(%s)", ([r[0] for r in rows],))
                        self.published += len(rows)
                        continue
                    self.waker.wait(self.s.relay_poll_s)
                except KafkaError as e:
                    log.warning("publish failed (%s); retrying", type(e).__name__)
                    close_quietly(producer)
                    producer = None
                    self.broker.epochs.close()
                    self.stop.wait(0.5)
                except psycopg.OperationalError as e:
                    log.warning("database unavailable (%s); retrying", type(e).__name__)
                    self.stop.wait(1.0)
                    close_quietly(conn)
                    conn = self._connect()
        finally:
            close_quietly(producer)
            close_quietly(conn)

    def _listen(self) -> None:
        """Commits made by other processes (production API replicas) arrive as NOTIFY."""
        channel = notify_channel(self.s.schema)
        while not self.stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {channel}")
                    while not self.stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.waker.wake()
            except psycopg.Error as e:
                log.warning("LISTEN connection lost (%s)", type(e).__name__)
                self.stop.wait(1.0)
