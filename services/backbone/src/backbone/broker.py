"""Kafka administration: topics, and the broker epoch that tells us the broker lost its memory.

The embedded broker keeps everything in memory: after a restart it is empty, with no topics and
no committed offsets. A record in the one-partition topic ``xf.broker-epoch`` names the broker's
incarnation. The first relay that finds the topic empty writes a fresh id; whoever reads offset 0
learns the current epoch. When the epoch a relay or consumer remembers differs from the one it
reads, the broker restarted: relays publish their whole outbox again, consumers re-read from the
beginning and drop what their tracking table says they already applied.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from .contracts import DATA_TOPICS, TOPIC_BROKER_EPOCH

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KafkaOptions:
    bootstrap: str
    partitions: int = 6
    replication: int = 1
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3_000
    request_timeout_ms: int = 30_000

    @classmethod
    def from_settings(cls, s) -> KafkaOptions:
        return cls(
            bootstrap=s.kafka_bootstrap,
            partitions=s.topic_partitions,
            replication=s.topic_replication,
            session_timeout_ms=s.kafka_session_timeout_ms,
            heartbeat_interval_ms=s.kafka_heartbeat_interval_ms,
            request_timeout_ms=s.kafka_request_timeout_ms,
        )


def ensure_topics(opts: KafkaOptions) -> list[str]:
    """Create every topic of the contract that does not exist yet; returns the ones created."""
    admin = KafkaAdminClient(bootstrap_servers=opts.bootstrap, request_timeout_ms=opts.request_timeout_ms)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(t, opts.partitions, opts.replication)
            for t in DATA_TOPICS
            if t not in existing
        ]
        if TOPIC_BROKER_EPOCH not in existing:
            # never expire the epoch record (production Kafka keeps it for good)
            wanted.append(NewTopic(TOPIC_BROKER_EPOCH, 1, opts.replication, topic_configs={"retention.ms": "-1"}))
        created = []
        for topic in wanted:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()


class EpochReader:
    """Reads the broker epoch (offset 0 of the epoch topic) on a dedicated consumer."""

    def __init__(self, opts: KafkaOptions):
        self._opts = opts
        self._consumer: KafkaConsumer | None = None
        self._tp = TopicPartition(TOPIC_BROKER_EPOCH, 0)

    def _client(self) -> KafkaConsumer:
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                bootstrap_servers=self._opts.bootstrap,
                enable_auto_commit=False,
                allow_auto_create_topics=False,
                request_timeout_ms=self._opts.request_timeout_ms,
            )
        return self._consumer

    def read(self) -> str | None:
        """The current epoch, or None when the broker has none yet (or cannot be reached)."""
        try:
            c = self._client()
            parts = c.partitions_for_topic(TOPIC_BROKER_EPOCH)
            if not parts:
                c._client.cluster.request_update()  # noqa: SLF001 - refresh stale metadata after a restart
                return None
            c.assign([self._tp])
            c.seek(self._tp, 0)
            # several relays may have raced to write an epoch: the record at offset 0 is the one;
            # records buffered from an earlier fetch may come first, so look for offset 0 itself
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                for batch in c.poll(timeout_ms=200).values():
                    for rec in batch:
                        if rec.offset == 0:
                            return rec.value.decode()
                c.seek(self._tp, 0)
            return None
        except KafkaError as e:
            log.warning("epoch read failed: %s", type(e).__name__)
            self.close()
            return None

    def close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception:  # noqa: BLE001 - closing a broken client
                pass
            self._consumer = None


def establish_epoch(opts: KafkaOptions, reader: EpochReader) -> str | None:
    """Return the broker's epoch, creating topics and writing a fresh epoch if it has none."""
    epoch = reader.read()
    if epoch is not None:
        return epoch
    producer = None
    try:
        ensure_topics(opts)
        # a plain producer of its own: an idempotent one may be wedged on a producer id the
        # restarted broker no longer knows
        producer = KafkaProducer(bootstrap_servers=opts.bootstrap, acks="all", request_timeout_ms=opts.request_timeout_ms)
        producer.send(TOPIC_BROKER_EPOCH, key=b"epoch", value=uuid.uuid4().hex.encode(), partition=0).get(
            timeout=opts.request_timeout_ms / 1000
        )
    except KafkaError as e:
        log.warning("could not establish a broker epoch: %s", type(e).__name__)
        return None
    finally:
        if producer is not None:
            try:
                producer.close(timeout=2)
            except Exception:  # noqa: BLE001
                pass
    # two relays may both have written one: the record at offset 0 wins for everybody
    return reader.read()
