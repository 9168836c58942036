"""Publishing right after commit, with the outbox as the guarantee.

Whoever commits events (a request, a consumer batch) hands them to the process's ``Publisher``
at once: it sends them without waiting (kafka-python's producer is thread-safe and buffers), and
as the broker acknowledges each one, its outbox row is forgotten (deleted in batches by a
maintenance thread). The relay (backbone.relay) only publishes what is left in the outbox after a
grace period — anything this path did not deliver, because the process died, the broker was away
or the broker is a new incarnation the store has not been republished to yet.

So an event costs no extra database read and no relay wake-up on its way out, and nothing is lost:
the commit comes first, publishing second, and the outbox row stays until the broker has the event.
A crash between acknowledgement and deletion only publishes an event twice; consumers drop duplicates.
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
from .contracts import SERVICE_TOPIC
from .db import connect
from .envelope import Envelope

log = logging.getLogger("backbone.publisher")
tracer = trace.get_tracer("backbone.publisher")
_FORGET = "DELETE FROM outbox WHERE position = ANY(%s::bigint[])"


def by_topic(envelopes: list[Envelope], positions: list[int]) -> list[tuple[str, list[tuple[Envelope, int]]]]:
    """The events and their positions grouped by the topic each goes to, in order."""
    groups: dict[str, list[tuple[Envelope, int]]] = {}
    for env, position in zip(envelopes, positions, strict=True):
        groups.setdefault(env.payload.topic, []).append((env, position))
    return list(groups.items())


class Publisher:
    def __init__(self, settings, broker: Broker):
        self.s = settings
        self.broker = broker
        self.topic = SERVICE_TOPIC[settings.service]
        self.ready = threading.Event()  # the broker holds everything the store had: safe to go first
        self.sent = 0
        self._acked: list[int] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the fast path ---------------------------------------------------------------------------
    def publish(self, envelopes: list[Envelope], positions: list[int]) -> None:
        """Send events just committed (never blocks on the broker; the relay covers any failure)."""
        if not envelopes or not self.ready.is_set():
            return
        start = time.time_ns()
        try:
            for topic, group in by_topic(envelopes, positions):
                futures = self.broker.send(topic, [
                    (env.subject.encode(), env.encode(), [("traceparent", env.traceparent.encode())] if env.traceparent else None)
                    for env, _ in group])
                for future, (_, position) in zip(futures, group, strict=True):
                    future.add_callback(self._acknowledged, position).add_errback(self._failed)
            self.sent += len(envelopes)
        except KafkaError as e:
            self._failed(e)
            return
        telemetry.batch_span(
            tracer, f"{self.topic} publish", SpanKind.PRODUCER, [e.traceparent for e in envelopes], start,
            time.time_ns(), {"messaging.system": "kafka", "messaging.operation.type": "send",
                             "messaging.destination.name": self.topic, "messaging.batch.message_count": len(envelopes)},
        )

    def _acknowledged(self, position: int, _metadata) -> None:
        with self._lock:
            self._acked.append(position)

    def _failed(self, error) -> None:
        # left to the relay; and no more fast path until the broker is known good again
        log.warning("publishing after commit failed (%s): the relay will publish it", type(error).__name__)
        self.ready.clear()

    def stop_going_first(self) -> None:
        """No more publishing after commit until the store has been republished to the broker."""
        self.ready.clear()

    # -- upkeep ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._upkeep, name=f"{self.s.service}-publisher", daemon=True)
        self._thread.start()

    def _upkeep(self) -> None:
        """Forget what the broker acknowledged (every 100 ms) and decide whether the fast path may
        run: only while the broker's epoch is the one the store was last published to in full."""
        conn, checked = None, 0.0
        while not self._stop.wait(0.1):
            try:
                if conn is None or conn.closed:
                    conn = connect(self.s.database_url, self.s.schema, autocommit=True,
                                   name=f"{self.s.schema}-publisher")
                    # forgetting need not wait for the disk: a lost DELETE publishes an event twice
                    conn.execute("SET synchronous_commit = off")
                with self._lock:
                    acked, self._acked = self._acked, []
                if acked:
                    conn.execute(_FORGET, [bulk.array(str(p) for p in acked)], prepare=False)
                checked += 0.1
                if checked >= self.broker.opts.epoch_check_s:
                    checked = 0.0
                    row = conn.execute("SELECT broker_epoch FROM relay_state").fetchone()
                    current = self.broker.epochs.current()
                    if row is not None and current is not None and row[0] == current:
                        self.ready.set()
                    else:
                        self.ready.clear()
            except psycopg.Error as e:
                log.warning("publisher upkeep: database unavailable (%s)", type(e).__name__)
                close_quietly(conn)
                conn = None
        close_quietly(conn)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
