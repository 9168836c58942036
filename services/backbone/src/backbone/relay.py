"""Outbox relay: publishes a service's outbox to Kafka and marks what the broker acknowledged.

Run:  python -m backbone.relay            (XF_SERVICE, XF_DATABASE_URL, XF_KAFKA_BOOTSTRAP, ...)

Order: rows are published in outbox position order. Within one case that is commit order, because a
second append to the same stream waits on the first one's primary-key row and fails if it raced, so
a later version always commits (and gets its position) after an earlier one. Across cases a later
position may commit first; that is harmless because rows are selected by "not yet published", not
by a high-water mark, so a late committer is published on the next pass.

Only one relay per schema publishes at a time (a session advisory lock); others wait as standbys.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import psycopg
from kafka import KafkaProducer
from kafka.errors import KafkaError
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from . import telemetry
from .broker import EpochReader, KafkaOptions, establish_epoch, ensure_topics
from .db import connect, migrate
from .eventstore import NOTIFY_CHANNEL
from .settings import BackboneSettings

log = logging.getLogger("backbone.relay")
tracer = trace.get_tracer("backbone.relay")


def make_producer(opts: KafkaOptions, idempotent: bool = True) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=opts.bootstrap,
        acks="all",
        enable_idempotence=idempotent,
        # without idempotence, one request in flight keeps each partition (so each case) in order
        max_in_flight_requests_per_connection=5 if idempotent else 1,
        linger_ms=2,
        request_timeout_ms=opts.request_timeout_ms,
        max_block_ms=opts.request_timeout_ms,
    )


class Relay:
    def __init__(self, settings: BackboneSettings):
        self.s = settings
        self.opts = KafkaOptions.from_settings(settings)
        self.stop = threading.Event()
        self.published = 0
        self.republished_rounds = 0

    # -- database -------------------------------------------------------------------------
    def _db_epoch(self, conn: psycopg.Connection) -> str | None:
        row = conn.execute("SELECT broker_epoch FROM relay_state").fetchone()
        return row["broker_epoch"] if row else None

    def _adopt_epoch(self, conn: psycopg.Connection, epoch: str) -> None:
        """A broker we have not published to: everything in the outbox must go out again."""
        with conn.transaction():
            n = conn.execute("UPDATE outbox SET published_at = NULL WHERE published_at IS NOT NULL").rowcount
            conn.execute(
                "INSERT INTO relay_state (singleton, broker_epoch) VALUES (true, %s)"
                " ON CONFLICT (singleton) DO UPDATE SET broker_epoch = EXCLUDED.broker_epoch",
                (epoch,),
            )
        self.republished_rounds += 1
        log.info("broker epoch %s: republishing %d outbox rows", epoch, n)

    def _batch(self, conn: psycopg.Connection) -> list[dict]:
        return conn.execute(
            "SELECT position, event_id, topic, key, value, traceparent FROM outbox"
            " WHERE published_at IS NULL ORDER BY position LIMIT %s",
            (self.s.relay_batch,),
        ).fetchall()

    # -- kafka ----------------------------------------------------------------------------
    def _publish(self, producer: KafkaProducer, rows: list[dict]) -> None:
        futures = []
        for r in rows:
            with tracer.start_as_current_span(
                f"{r['topic']} publish",
                context=telemetry.context_from(r["traceparent"]),
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "publish",
                    "messaging.destination.name": r["topic"],
                    "messaging.message.id": str(r["event_id"]),
                    "messaging.kafka.message.key": r["key"],
                    "xf.case_id": r["key"],
                },
            ):
                futures.append(
                    producer.send(
                        r["topic"],
                        key=r["key"].encode(),
                        value=bytes(r["value"]),
                        headers=telemetry.kafka_headers(),
                    )
                )
        producer.flush(timeout=self.opts.request_timeout_ms / 1000)
        for f in futures:
            f.get(timeout=0)  # raises the send's error, if any

    # -- loop -----------------------------------------------------------------------------
    def run(self) -> None:
        s = self.s
        with connect(s.database_url, s.schema, autocommit=True) as conn, connect(
            s.database_url, s.schema, autocommit=True
        ) as listen_conn:
            log.info("relay %s waiting for the publisher lock", s.service)
            while not self.stop.is_set():
                if conn.execute("SELECT pg_try_advisory_lock(hashtext(%s)) AS ok", (f"relay:{s.schema}",)).fetchone()["ok"]:
                    break
                self.stop.wait(1.0)
            listen_conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            reader = EpochReader(self.opts)
            producer: KafkaProducer | None = None
            epoch_checked = 0.0
            known_epoch = self._db_epoch(conn)
            broker_epoch: str | None = None
            while not self.stop.is_set():
                try:
                    if producer is None:
                        producer = make_producer(self.opts, s.kafka_idempotent_producer)
                    if broker_epoch is None or time.monotonic() - epoch_checked > s.broker_epoch_check_s:
                        broker_epoch = establish_epoch(self.opts, reader)
                        epoch_checked = time.monotonic()
                        if broker_epoch is None:
                            raise KafkaError("broker epoch unknown")
                        if broker_epoch != known_epoch:
                            ensure_topics(self.opts)
                            self._adopt_epoch(conn, broker_epoch)
                            known_epoch = broker_epoch
                            # never carry a producer (and its producer id) across broker incarnations
                            _close(producer)
                            producer = make_producer(self.opts, s.kafka_idempotent_producer)
                    rows = self._batch(conn)
                    if rows:
                        self._publish(producer, rows)
                        conn.execute(
                            "UPDATE outbox SET published_at = now() WHERE position = ANY(%s)",
                            ([r["position"] for r in rows],),
                        )
                        self.published += len(rows)
                        continue
                    # idle: sleep until a commit NOTIFYs us, or the poll interval passes
                    for _ in listen_conn.notifies(timeout=s.relay_poll_s, stop_after=1):
                        pass
                except KafkaError as e:
                    log.warning("publish failed (%s); retrying", type(e).__name__)
                    _close(producer)
                    producer = None
                    broker_epoch = None
                    reader.close()
                    self.stop.wait(0.5)
            reader.close()
            _close(producer)


def _close(producer: KafkaProducer | None) -> None:
    if producer is not None:
        try:
            producer.close(timeout=2)
        except Exception:  # noqa: BLE001 - a wedged producer must not stop the relay
            pass


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = BackboneSettings()
    telemetry.setup(settings.service, "relay", settings.traces_dir, settings.otlp_endpoint)
    migrate(settings.database_url, settings.schema)
    relay = Relay(settings)
    signal.signal(signal.SIGTERM, lambda *_: relay.stop.set())
    signal.signal(signal.SIGINT, lambda *_: relay.stop.set())
    try:
        relay.run()
    finally:
        telemetry.shutdown()


if __name__ == "__main__":
    main()
