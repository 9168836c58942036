"""Everything that knows about the broker: topics, producers, and the embedded broker's amnesia.

The embedded broker (Tansu) keeps everything in memory: after a restart it is empty, with no topics
and no committed offsets. A record in the one-partition topic ``xf.broker-epoch`` names the
broker's incarnation. ``Broker.establish_epoch`` (the relays call it) creates the topics and writes
a fresh epoch when there is none; whoever reads offset 0 learns the current one. This module is
the only place that deals with it:

- a relay whose store was last published to another epoch republishes its whole store;
- a ``Subscription`` that sees the epoch change joins again and resumes from the positions stored
  for the new epoch (none yet: from offset 0); the consumer's tracking rows drop what it applied.

With Apache Kafka (production) the epoch never changes and none of this ever triggers.

The embedded broker has a second weakness this module hides: a fetch that finds data lists every
batch its partition ever received (the memory engine keeps one object per produced batch and finds
the next offset by listing them; deleting records is not implemented), so each fetch costs more
with the partition's history — measured, broker CPU per produce+fetch grew from 0.6 ms at 1,000
records in a partition to 1.75 ms at 40,000, without bound. With ``generation_records`` set (the
embedded launcher sets it), a service's topic is written in generations: ``xf.intake.events.v1``,
then ``xf.intake.events.v1.g1``, ``.g2`` ... A producer (``Broker.send``) moves to the next
generation after that many records: it creates the next topic, then writes an end marker (header
``xf-generation-end``, value = the next topic's name) to every partition of the one it leaves. A
``Subscription`` reads one generation of each partition at a time and moves to the next when it
reads the marker, so order within a partition is exactly what it was, and a consumer resuming from
its stored positions (which never pass a marker) reads the marker again and follows it. This
needs one producing process per service, which is the embedded launcher's layout; with Kafka the
setting is 0 and a topic is one log for ever.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from .contracts import DATA_TOPICS, TOPIC_BROKER_EPOCH

log = logging.getLogger("backbone.broker")


@dataclass(frozen=True)
class KafkaOptions:
    bootstrap: str
    partitions: int = 6
    replication: int = 1
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3_000
    request_timeout_ms: int = 30_000
    fetch_max_wait_ms: int = 50
    fetch_min_bytes: int = 1
    max_poll_records: int = 500
    linger_ms: int = 2
    idempotent: bool = True
    epoch_check_s: float = 1.0
    generation_records: int = 0  # 0: a topic is one log for ever (Kafka); >0: see the module docstring

    @classmethod
    def from_settings(cls, s) -> KafkaOptions:
        return cls(
            bootstrap=s.kafka_bootstrap,
            partitions=s.topic_partitions,
            replication=s.topic_replication,
            session_timeout_ms=s.kafka_session_timeout_ms,
            heartbeat_interval_ms=s.kafka_heartbeat_interval_ms,
            request_timeout_ms=s.kafka_request_timeout_ms,
            fetch_max_wait_ms=s.kafka_fetch_max_wait_ms,
            fetch_min_bytes=s.kafka_fetch_min_bytes,
            max_poll_records=s.kafka_max_poll_records,
            linger_ms=s.kafka_linger_ms,
            idempotent=s.kafka_idempotent_producer,
            epoch_check_s=s.broker_epoch_check_s,
            generation_records=s.broker_generation_records,
        )


# -- generations (the embedded broker only; see the module docstring) ----------------------------------

GENERATION_END = "xf-generation-end"  # header of the marker that closes a partition of a generation
_GENERATION = re.compile(r"^(?P<base>.+)\.g(?P<n>[1-9][0-9]{0,8})$")


def generation_topic(base: str, n: int) -> str:
    """The name of generation ``n`` of a topic (generation 0 is the topic itself)."""
    return base if n == 0 else f"{base}.g{n}"


def base_topic(topic: str) -> str:
    """The contract's topic a generation belongs to (the topic itself for generation 0)."""
    m = _GENERATION.match(topic)
    return m["base"] if m else topic


def generations_of(base: str, names: Iterable[str]) -> dict[int, str]:
    """The generations of ``base`` among the topic ``names``, by number."""
    found: dict[int, str] = {}
    for name in names:
        if name == base:
            found[0] = name
        elif (m := _GENERATION.match(name)) and m["base"] == base:
            found[int(m["n"])] = name
    return found


def is_generation_end(headers) -> bool:
    return any(k == GENERATION_END for k, _ in headers or ())


@dataclass
class _Writing:
    generation: int
    written: int = 0  # records this process sent to it


def ensure_topics(opts: KafkaOptions) -> list[str]:
    """Create every topic of the contract that does not exist yet; returns the ones created."""
    admin = KafkaAdminClient(bootstrap_servers=opts.bootstrap, request_timeout_ms=opts.request_timeout_ms)
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(t, opts.partitions, opts.replication) for t in DATA_TOPICS if t not in existing]
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


def create_topic(opts: KafkaOptions, name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=opts.bootstrap, request_timeout_ms=opts.request_timeout_ms)
    try:
        admin.create_topics([NewTopic(name, opts.partitions, opts.replication)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def list_topics(opts: KafkaOptions) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=opts.bootstrap, request_timeout_ms=opts.request_timeout_ms)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def make_producer(opts: KafkaOptions, idempotent: bool | None = None) -> KafkaProducer:
    idempotent = opts.idempotent if idempotent is None else idempotent
    return KafkaProducer(
        bootstrap_servers=opts.bootstrap,
        acks="all",
        enable_idempotence=idempotent,
        # without idempotence, one request in flight keeps each partition (so each case) in order
        max_in_flight_requests_per_connection=5 if idempotent else 1,
        linger_ms=opts.linger_ms,
        batch_size=256 * 1024,
        request_timeout_ms=opts.request_timeout_ms,
        max_block_ms=opts.request_timeout_ms,
        allow_auto_create_topics=False,  # topics are created with the contract's partitions, never by a send
    )


def _retire(producer: KafkaProducer, timeout: float, retiring: set) -> None:
    try:
        producer.flush(timeout=timeout)
    except KafkaError:
        pass  # whatever it could not deliver stays in the outbox for the relay
    close_quietly(producer)
    retiring.discard(producer)


def delete_topics(opts: KafkaOptions, names: list[str]) -> None:
    if not names:
        return
    admin = KafkaAdminClient(bootstrap_servers=opts.bootstrap, request_timeout_ms=opts.request_timeout_ms)
    try:
        admin.delete_topics(names)
    finally:
        admin.close()


def partition_count(opts: KafkaOptions, name: str) -> int | None:
    admin = KafkaAdminClient(bootstrap_servers=opts.bootstrap, request_timeout_ms=opts.request_timeout_ms)
    try:
        found = admin.describe_topics([name])
        return len(found[0]["partitions"]) if found and not found[0].get("error_code") else None
    finally:
        admin.close()


def close_quietly(client) -> None:
    if client is not None:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a client of a broker that is gone
            pass


class EpochReader:
    """Reads the broker epoch (offset 0 of the epoch topic), remembering it for ``epoch_check_s``.
    One per process, shared by its relay, consumers and publisher (hence the lock)."""

    def __init__(self, opts: KafkaOptions):
        self._opts = opts
        self._consumer: KafkaConsumer | None = None
        self._tp = TopicPartition(TOPIC_BROKER_EPOCH, 0)
        self._known: str | None = None
        self._read_at = 0.0
        self._lock = threading.RLock()

    def current(self) -> str | None:
        """The epoch, re-read at most every ``epoch_check_s``; None when there is none (yet)."""
        with self._lock:
            if self._known is None or time.monotonic() - self._read_at > self._opts.epoch_check_s:
                self._known = self._read()
                self._read_at = time.monotonic()
            return self._known

    def forget(self) -> None:
        """Read the epoch afresh next time (it may just have been written)."""
        with self._lock:
            self._known = None

    def _read(self) -> str | None:
        try:
            if self._consumer is None:
                self._consumer = KafkaConsumer(
                    bootstrap_servers=self._opts.bootstrap,
                    enable_auto_commit=False,
                    allow_auto_create_topics=False,
                    request_timeout_ms=self._opts.request_timeout_ms,
                    fetch_max_wait_ms=self._opts.fetch_max_wait_ms,
                )
            c = self._consumer
            if not c.partitions_for_topic(TOPIC_BROKER_EPOCH):
                c._client.cluster.request_update()  # noqa: SLF001 - refresh stale metadata after a restart
                return None
            c.assign([self._tp])
            # several relays may have raced to write an epoch: the record at offset 0 is the one;
            # records buffered from an earlier fetch may come first, so look for offset 0 itself
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                c.seek(self._tp, 0)
                for batch in c.poll(timeout_ms=200, max_records=10).values():
                    for rec in batch:
                        if rec.offset == 0:
                            return rec.value.decode()
            return None
        except KafkaError as e:
            log.warning("epoch read failed: %s", type(e).__name__)
            self.close()
            return None

    def close(self) -> None:
        with self._lock:
            close_quietly(self._consumer)
            self._consumer = None


class Broker:
    """One process's view of the broker: options, the epoch, and one producer that every part of
    the process shares (kafka-python's producer is thread-safe; each client costs a network thread,
    and those threads compete with the API for the interpreter lock)."""

    def __init__(self, opts: KafkaOptions):
        self.opts = opts
        self.epochs = EpochReader(opts)
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()
        # held while choosing a topic generation and handing records to the producer, so that no
        # record can follow a generation's end marker (the producer keeps per-partition order)
        self._sending = threading.Lock()
        self._writing: dict[str, _Writing] = {}
        self._retiring: set[KafkaProducer] = set()  # delivering what they hold before they close

    def producer(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = make_producer(self.opts)
            return self._producer

    def reset_producer(self) -> None:
        """Drop the producer: after a send failed, or for a new broker incarnation (never carry a
        producer id across incarnations). Records it still buffered are left to the relay."""
        with self._lock:
            producer, self._producer = self._producer, None
            # a producer still delivering for an old generation must not deliver to a new broker
            doomed, self._retiring = [producer, *self._retiring], set()
        with self._sending:
            self._writing.clear()  # found again on the next send
        for p in doomed:
            if p is not None:
                try:
                    p.close(timeout=0)
                except Exception:  # noqa: BLE001 - a producer of a broker that is gone
                    pass

    def start_generations(self, base: str) -> None:
        """A new broker incarnation: this topic is written from generation 0 again. Any later
        generation it already has can only hold stray records (a send racing the restart) and goes,
        as does a topic with the wrong number of partitions (Tansu creates 4 on a stray send)."""
        if not self.opts.generation_records:
            return
        names = list_topics(self.opts)
        delete_topics(self.opts, [t for n, t in generations_of(base, names).items() if n > 0])
        if partition_count(self.opts, base) != self.opts.partitions:
            delete_topics(self.opts, [base])
            create_topic(self.opts, base)
        with self._sending:
            self._writing[base] = _Writing(0)

    def send(self, topic: str, records: Iterable[tuple[bytes, bytes, list | None]]) -> list:
        """Hand ``(key, value, headers)`` records for a contract topic to the shared producer, in
        order, without waiting; the futures of the sends. Moves to the topic's next generation when
        the current one is full (embedded broker only)."""
        with self._sending:
            producer = self.producer()
            every = self.opts.generation_records
            target = self._current(topic, producer) if every else topic
            futures = [producer.send(target, key=k, value=v, headers=h) for k, v, h in records]
            if every:
                state = self._writing[topic]
                state.written += len(futures)
                if state.written >= every:
                    self._next_generation(topic, state, producer)
            return futures

    def _current(self, base: str, producer: KafkaProducer) -> str:
        state = self._writing.get(base)
        if state is None:
            # first send of this process (or after a reset): write to the newest generation, and
            # close the one before it again (a process that died between creating a generation
            # and ending the previous one may have left it open; a second marker is harmless)
            found = generations_of(base, list_topics(self.opts))
            newest = max(found, default=0)
            if newest > 0:
                self._end(generation_topic(base, newest - 1), generation_topic(base, newest), producer)
            state = self._writing[base] = _Writing(newest)
        return generation_topic(base, state.generation)

    def _next_generation(self, base: str, state: _Writing, producer: KafkaProducer) -> None:
        current, following = generation_topic(base, state.generation), generation_topic(base, state.generation + 1)
        try:
            create_topic(self.opts, following)
            if partition_count(self.opts, following) != self.opts.partitions:  # a stray send made it
                delete_topics(self.opts, [following])
                create_topic(self.opts, following)
        except KafkaError as e:  # stay on this generation a while longer
            log.warning("could not create topic %s: %s", following, type(e).__name__)
            state.written = self.opts.generation_records // 2
            return
        self._end(current, following, producer)
        state.generation, state.written = state.generation + 1, 0
        # a fresh producer for the new topic: kafka-python's producer, once a topic created after it
        # started is sent to, keeps asking for metadata in a busy loop (measured: 100 % of a core
        # for ever). The old one delivers what it holds (markers included), then closes.
        with self._lock:
            retired, self._producer = self._producer, None
            self._retiring.add(retired)
        threading.Thread(target=_retire, args=(retired, self.opts.request_timeout_ms / 1000, self._retiring),
                         daemon=True, name="retired-producer").start()
        log.info("writing %s from now on", following)

    def _end(self, topic: str, following: str, producer: KafkaProducer) -> None:
        for partition in sorted(producer.partitions_for(topic) or range(self.opts.partitions)):
            producer.send(topic, partition=partition, key=b"", value=following.encode(),
                          headers=[(GENERATION_END, b"1")])

    def establish_epoch(self) -> str | None:
        """The broker's epoch, creating the topics and writing a fresh epoch if it has none."""
        epoch = self.epochs.current()
        if epoch is not None:
            return epoch
        producer = None
        try:
            ensure_topics(self.opts)
            # a plain producer of its own: an idempotent one may be wedged on a producer id the
            # restarted broker no longer knows
            producer = make_producer(self.opts, idempotent=False)
            producer.send(TOPIC_BROKER_EPOCH, key=b"epoch", value=uuid.uuid4().hex.encode(), partition=0).get(
                timeout=self.opts.request_timeout_ms / 1000
            )
        except KafkaError as e:
            log.warning("could not establish a broker epoch: %s", type(e).__name__)
            return None
        finally:
            close_quietly(producer)
        # two relays may both have written one: the record at offset 0 wins for everybody
        self.epochs.forget()
        return self.epochs.current()

    def close(self) -> None:
        self.epochs.close()
        self.reset_producer()


@dataclass
class Record:
    """One record as a consumer sees it: ``topic`` is the contract's topic, ``log`` the broker
    topic it was read from (a generation of it, on the embedded broker), which positions name."""

    topic: str
    partition: int
    offset: int
    value: bytes
    headers: list = field(default_factory=list)
    log: str = ""
    event: object = None  # the decoded Envelope (set by the consumer)
    poison: str | None = None

    def __post_init__(self) -> None:
        self.log = self.log or self.topic


Positions = Callable[[str], dict[tuple[str, int], int]]


class Subscription:
    """What a consumer reads, surviving the broker losing its memory (and, on the embedded broker,
    following topic generations).

    ``poll`` returns the current epoch and the records; positions (where to resume in each
    partition) come from ``positions(epoch)``, i.e. from the consumer's own database, so the
    broker's committed offsets are never trusted for correctness. With Kafka this is a consumer
    group member (instances share the partitions); with generations, each partition's current
    generation is assigned by hand, so that moving to a new generation never rebalances a group.
    """

    def __init__(self, broker: Broker, group: str, topics: list[str], positions: Positions):
        self.broker = broker
        self.group = group
        self.topics = topics
        self.positions = positions
        self.epoch: str | None = None
        self._consumer: KafkaConsumer | None = None
        self._committed_at = 0.0
        self._reading: dict[tuple[str, int], str] = {}  # (contract topic, partition) -> the log read now

    def _join(self) -> KafkaConsumer:
        o = self.broker.opts
        ensure_topics(o)  # all topics exist before joining, so the assignment covers them
        consumer = KafkaConsumer(
            bootstrap_servers=o.bootstrap,
            # one group per broker epoch: a member from before a restart can never hold up the new
            # group's rebalance (positions live in the database, not in the group)
            group_id=f"{self.group}.{(self.epoch or '')[:8]}",
            client_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # end offsets of the embedded broker are unreliable
            allow_auto_create_topics=False,
            session_timeout_ms=o.session_timeout_ms,
            heartbeat_interval_ms=o.heartbeat_interval_ms,
            request_timeout_ms=max(o.request_timeout_ms, o.session_timeout_ms + 5_000),
            max_poll_records=o.max_poll_records,
            fetch_max_wait_ms=o.fetch_max_wait_ms,
            fetch_min_bytes=o.fetch_min_bytes,
        )
        me, epoch = self, self.epoch
        if o.generation_records:
            known = self.positions(epoch)
            names = consumer.topics()
            self._reading = {}
            for base in self.topics:
                first = generation_topic(base, min(generations_of(base, names), default=0))
                for partition in sorted(consumer.partitions_for_topic(first) or range(o.partitions)):
                    self._reading[(base, partition)] = first
            consumer.assign([TopicPartition(t, p) for (_, p), t in self._reading.items()])
            for (_, p), t in self._reading.items():
                consumer.seek(TopicPartition(t, p), known.get((t, p), 0))
            return consumer

        class Resume(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                pass

            def on_partitions_assigned(self, assigned):
                known = me.positions(epoch)
                for tp in assigned:
                    consumer.seek(tp, known.get((tp.topic, tp.partition), 0))

        consumer.subscribe(self.topics, listener=Resume())
        return consumer

    def poll(self, timeout_ms: int = 200, max_records: int | None = None) -> tuple[str | None, list[Record]]:
        epoch = self.broker.epochs.current()
        if epoch is None:  # no broker, or no epoch written yet: the relays will write one
            time.sleep(timeout_ms / 1000)
            return None, []
        if epoch != self.epoch:
            if self.epoch is not None:
                log.info("broker epoch changed (%s -> %s): reading %s again from the start", self.epoch[:8], epoch[:8], self.topics)
            self.close()
            self.epoch = epoch
        try:
            if self._consumer is None:
                self._consumer = self._join()
            batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        except KafkaError as e:
            log.warning("poll failed (%s); joining again", type(e).__name__)
            self.close()
            time.sleep(0.2)
            return self.epoch, []
        records = []
        for tp, rs in batches.items():
            base = base_topic(tp.topic)
            for r in rs:
                if is_generation_end(r.headers):
                    self._follow(base, tp, r.value.decode())
                    break  # nothing follows an end marker
                records.append(Record(base, tp.partition, r.offset, r.value, r.headers, tp.topic))
        return self.epoch, records

    def _follow(self, base: str, ended: TopicPartition, following: str) -> None:
        """A partition of a generation ended: read the same partition of the next one instead."""
        if self._reading.get((base, ended.partition)) != ended.topic:
            return
        self._reading[(base, ended.partition)] = following
        nxt = TopicPartition(following, ended.partition)
        self._consumer.assign([TopicPartition(t, p) for (_, p), t in self._reading.items()])
        self._consumer.seek(nxt, self.positions(self.epoch).get((following, ended.partition), 0))

    def commit(self, every_s: float = 5.0) -> None:
        """Commit offsets to the broker, for lag monitoring only (positions that matter are in the
        database): at most every ``every_s`` (a commit per batch cost the broker more than the batch)."""
        if self._consumer is not None and time.monotonic() - self._committed_at >= every_s:
            self._committed_at = time.monotonic()
            try:
                self._consumer.commit_async()
            except KafkaError as e:
                log.debug("offset commit failed (%s)", type(e).__name__)

    def close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except Exception:  # noqa: BLE001 - closing a member of a broker that is gone
                pass
            self._consumer = None
