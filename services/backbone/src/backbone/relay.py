"""Outbox relay: the guarantee behind publishing right after commit (backbone.publisher).

It publishes, in position order, what is still in the outbox after a grace period — events whose
publishing after commit failed or never happened (the process died, the broker was away) — and
deletes them once the broker has them. When the broker turns out to be a new incarnation (see
backbone.broker) it republishes the whole event store first, then records the broker's epoch;
until then no process publishes after commit, so nothing reaches the new broker ahead of the
history it belongs after.

Order within one case: the relay publishes in position order, which within a case is commit order
(a second append to a stream waits on the first one's primary-key row and fails if it raced). A
late fallback can deliver an event of a case after later ones went out directly; consumers do not
depend on the order of events of one case across a failure (they are tested in every order).

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

from . import bulk, telemetry
from .broker import Broker, close_quietly
from .contracts import SERVICE_TOPIC, event_class, topics_of
from .db import connect, run_script

log = logging.getLogger("backbone.relay")
tracer = trace.get_tracer("backbone.relay")

# what publishing after commit has not delivered within the grace period
_LEFT_OVER = (
    "SELECT o.position, e.stream_id, e.event_id, e.event_type, e.traceparent, convert_to(e.body::text, 'UTF8')"
    " FROM outbox o JOIN events e ON e.position = o.position"
    " WHERE e.occurred_at < now() - make_interval(secs => %s) ORDER BY o.position LIMIT %s"
)
# planned afresh each time (never a generic plan: one made while the outbox was small once scanned
# the whole table for every batch), and sent with the next read
_FORGET = "DELETE FROM outbox WHERE position = ANY(%s::bigint[])"
_ALL_AFTER = (
    "SELECT position, stream_id, event_id, event_type, traceparent, convert_to(body::text, 'UTF8') FROM events"
    " WHERE position > %s ORDER BY position LIMIT %s"
)


class Relay:
    def __init__(self, settings, broker: Broker, publisher=None, stop: threading.Event | None = None):
        self.s = settings
        self.broker = broker
        self.publisher = publisher  # this process's fast path, stopped while a new broker is filled
        self.stop = stop or threading.Event()
        self.topic = SERVICE_TOPIC[settings.service]
        self.published = 0
        self.republished = 0

    def _connect(self) -> psycopg.Connection:
        conn = connect(self.s.database_url, self.s.schema, autocommit=True, name=f"{self.s.schema}-relay")
        # forgetting what the broker acknowledged need not wait for the disk: if a crash loses a
        # DELETE, those events are published again and consumers drop the duplicates
        conn.execute("SET synchronous_commit = off")
        return conn

    # -- publishing -------------------------------------------------------------------------------
    def _publish(self, rows: list[tuple]) -> None:
        """Send a batch and wait until the broker has all of it; one PRODUCER span per batch, linked
        to each event's trace."""
        start = time.time_ns()
        groups: dict[str, list[tuple]] = {}
        for r in rows:  # each event to its class's topic (the service's, or its milestone topic)
            groups.setdefault(event_class(r[3]).topic, []).append(r)
        futures = [f for topic, group in groups.items() for f in self.broker.send(topic, [
            (r[1].encode(), bytes(r[5]), [("traceparent", r[4].encode())] if r[4] else None) for r in group])]
        for f in futures:  # (the producer may have been replaced since, for a new topic generation)
            f.get(timeout=self.s.kafka_request_timeout_ms / 1000)  # raises the send's error, if any
        telemetry.batch_span(
            tracer, f"{self.topic} publish", SpanKind.PRODUCER, [r[4] for r in rows], start, time.time_ns(),
            {"messaging.system": "kafka", "messaging.operation.type": "publish", "xf.path": "relay",
             "messaging.destination.name": ",".join(groups), "messaging.batch.message_count": len(rows)},
        )

    def _republish_all(self, conn: psycopg.Connection) -> int:
        """A broker that lost its memory gets the whole store again, in position order."""
        after, n = 0, 0
        while not self.stop.is_set():
            rows = conn.execute(_ALL_AFTER, (after, 5000)).fetchall()
            if not rows:
                break
            self._publish(rows)
            after = rows[-1][0]
            n += len(rows)
        return n

    def _epoch_in_store(self, conn: psycopg.Connection) -> str | None:
        row = conn.execute("SELECT broker_epoch FROM relay_state").fetchone()
        return row[0] if row else None

    # -- loop -------------------------------------------------------------------------------------
    def run(self) -> None:
        conn = None
        try:
            conn = self._connect()
            log.info("relay %s waiting for the publisher lock", self.s.service)
            while not self.stop.is_set():
                if conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"relay:{self.s.schema}",)).fetchone()[0]:
                    break
                self.stop.wait(1.0)
            stored_epoch = self._epoch_in_store(conn)
            acknowledged: list[int] = []  # forgotten together with the next read: one round trip
            while not self.stop.is_set():
                try:
                    epoch = self.broker.establish_epoch()
                    if epoch is None:
                        raise KafkaError("broker epoch unknown")
                    if epoch != stored_epoch:
                        if self.publisher is not None:
                            self.publisher.stop_going_first()
                        # never carry a producer (and its producer id) across broker incarnations
                        self.broker.reset_producer()
                        for topic in topics_of(self.s.service):
                            self.broker.start_generations(topic)
                        n = self._republish_all(conn)
                        conn.execute(
                            "INSERT INTO relay_state (singleton, broker_epoch) VALUES (true, %s)"
                            " ON CONFLICT (singleton) DO UPDATE SET broker_epoch = EXCLUDED.broker_epoch",
                            (epoch,),
                        )
                        stored_epoch = epoch
                        self.republished += n
                        log.info("broker epoch %s: republished %d events of %s", epoch[:8], n, self.s.service)
                    script = [(_FORGET, [bulk.array(str(p) for p in acknowledged)])] if acknowledged else []
                    rows = run_script(conn, [*script, (_LEFT_OVER, [self.s.relay_grace_s, self.s.relay_batch])])[-1]
                    acknowledged = []
                    if rows:
                        self._publish(rows)
                        acknowledged = [r[0] for r in rows]
                        self.published += len(rows)
                        if len(rows) == self.s.relay_batch:
                            continue
                    self.stop.wait(self.s.relay_poll_s)
                except KafkaError as e:
                    log.warning("publish failed (%s); retrying", type(e).__name__)
                    if self.publisher is not None:
                        self.publisher.stop_going_first()
                    self.broker.reset_producer()
                    self.broker.epochs.close()
                    self.stop.wait(0.5)
                except psycopg.OperationalError as e:
                    log.warning("database unavailable (%s); retrying", type(e).__name__)
                    self.stop.wait(1.0)
                    close_quietly(conn)
                    conn = self._connect()
        finally:
            close_quietly(conn)
