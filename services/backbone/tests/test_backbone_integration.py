"""The backbone against real PostgreSQL and the real broker."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer

from backbone import bulk
from backbone.broker import Broker, KafkaOptions, ensure_topics
from backbone.consumer import IdempotentConsumer
from backbone.contracts import TOPIC_DEAD_LETTER, TOPIC_INTAKE, CaseAccepted, PetitionRegistered
from backbone.db import connect, migrate
from backbone.envelope import SYSTEM, Envelope, new_envelope
from backbone.eventstore import ConcurrencyConflict, EventStore, conflicts_detected
from backbone.publisher import Publisher
from backbone.relay import Relay
from backbone.settings import BackboneSettings

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"


def registered(case_id: str, issue_type: str = "other") -> PetitionRegistered:
    return PetitionRegistered(
        case_id=case_id, case_no="XF-2026-000001", channel="来信", received_at=datetime.now(UTC),
        receiving_unit="S1-XFB", subsidiary="S1", anonymous=True, petitioner_count=0, category="咨询类",
        issue_type=issue_type, summary_sealed="sealed",
    )


def event(case_id: str, version: int = 1, issue_type: str = "other"):
    return new_envelope(registered(case_id, issue_type), subject=case_id, sequence=version, actor=SYSTEM)


@pytest.fixture
def schema(database_url):
    name = f"bb_{uuid.uuid4().hex[:8]}"
    migrate(database_url, name)
    return name


def settings(database_url, schema, kafka_bootstrap, service="reporting") -> BackboneSettings:
    return BackboneSettings(
        service=service, db_schema=schema, database_url=database_url, kafka_bootstrap=kafka_bootstrap,
        seed_dir=SEED, auth_mode="demo", demo_tokens_path=SEED / "demo-tokens.yaml",
        kafka_session_timeout_ms=3000, kafka_heartbeat_interval_ms=1000, broker_epoch_check_s=0.5,
        topic_partitions=3,
    )


def test_concurrent_appends_to_one_stream_give_one_conflict(database_url, schema):
    case_id = str(uuid.uuid4())
    store = EventStore("intake")
    a = connect(database_url, schema)
    b = connect(database_url, schema)
    store.append(a, [event(case_id)])  # a's transaction is open and holds version 1
    errors = []

    def second():
        try:
            with conflicts_detected():
                store.append(b, [event(case_id)])
                b.commit()
        except ConcurrencyConflict as e:
            errors.append(e)
            b.rollback()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.3)  # b is now blocked on a's uncommitted primary key
    a.commit()
    t.join(10)
    assert len(errors) == 1 and errors[0].stream_id == case_id
    assert [e.sequence for e in store.load(a, case_id)] == [1]
    outbox = a.execute("SELECT count(*) FROM outbox o JOIN events e USING (position) WHERE e.stream_id = %s",
                       (case_id,)).fetchone()[0]
    assert outbox == 1  # the loser's outbox row went with its rolled-back transaction
    a.close()
    b.close()


def test_many_streams_in_one_statement_and_a_service_publishes_only_its_own_events(database_url, schema):
    store = EventStore("intake")
    ids = [str(uuid.uuid4()) for _ in range(50)]
    with connect(database_url, schema) as conn:
        store.append(conn, [event(i) for i in ids])
        assert store.versions(conn, ids) == {i: 1 for i in ids}
        with pytest.raises(ValueError):
            EventStore("routing").append(conn, [event(ids[0], 2)])


def _consumer(cfg, name, handler_fail=None):
    class Effects:
        emits = False

        def load(self, case_ids):
            return []

        def states(self, rows):
            return {}

        def apply(self, state, ev):
            if handler_fail and handler_fail(ev):
                raise RuntimeError("this handler cannot take it")
            return ev.id, []

        def save(self, states):
            return [("INSERT INTO effects (event_id) SELECT x::uuid FROM json_array_elements_text(%s::json) x",
                     [json.dumps(list(states.values()))])]

    return IdempotentConsumer(cfg, name, [TOPIC_INTAKE], Effects(), EventStore(cfg.service),
                              Broker(KafkaOptions.from_settings(cfg)))


def _effects(database_url, schema) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [str(r[0]) for r in conn.execute(f"SELECT event_id FROM {schema}.effects")]


def _epoch(kafka_bootstrap) -> None:
    ensure_topics(KafkaOptions(bootstrap=kafka_bootstrap, partitions=3))
    Broker(KafkaOptions(bootstrap=kafka_bootstrap)).establish_epoch()


def _until(check, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        time.sleep(0.1)
    return check()


def test_poison_is_dead_lettered_with_its_reason_and_the_rest_of_the_batch_commits(database_url, schema, kafka_bootstrap):
    cfg = settings(database_url, schema, kafka_bootstrap)
    with psycopg.connect(database_url) as conn:
        conn.execute(f"CREATE TABLE {schema}.effects (event_id uuid)")  # no key: a double effect would show
    _epoch(kafka_bootstrap)
    good, refused = event(str(uuid.uuid4())), event(str(uuid.uuid4()), issue_type="refuse-me")
    wrong_topic = new_envelope(CaseAccepted(case_id=good.subject, unit="S1", accepted_on="2026-01-01", automatic=True),
                               subject=good.subject, sequence=1, actor=SYSTEM)
    tag = uuid.uuid4().hex.encode()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for value in (b"not json at all " + tag, refused.encode(), good.encode(), good.encode(), wrong_topic.encode()):
        producer.send(TOPIC_INTAKE, key=good.subject.encode(), value=value).get(10)
    producer.close()
    c = _consumer(cfg, f"t{uuid.uuid4().hex[:6]}", handler_fail=lambda ev: ev.payload.issue_type == "refuse-me")
    t = threading.Thread(target=c.run)
    t.start()
    _until(lambda: c.applied >= 1 and c.dead_lettered >= 3 and c.duplicates >= 1)
    c.stop.set()
    t.join(15)
    assert (c.applied, c.dead_lettered, c.duplicates) == (1, 3, 1)
    assert _effects(database_url, schema) == [good.id]
    dlq = KafkaConsumer(TOPIC_DEAD_LETTER, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                        consumer_timeout_ms=5000)
    reasons = {r.value: dict(r.headers).get("xf-dlq-reason", b"").decode() for r in dlq}
    dlq.close()
    assert reasons[b"not json at all " + tag].startswith("undecodable")
    assert "does not belong on topic" in reasons[wrong_topic.encode()]
    assert "cannot take it" in reasons[refused.encode()]
    with psycopg.connect(database_url) as conn:
        outcome = conn.execute(f"SELECT outcome FROM {schema}.processed_events WHERE event_id = %s", (refused.id,)).fetchone()
    assert outcome == ("dead-lettered",)


def test_two_instances_of_a_consumer_share_the_partitions_and_apply_each_event_once(database_url, schema, kafka_bootstrap):
    """Production scales a consumer by running several instances in one group."""
    cfg = settings(database_url, schema, kafka_bootstrap)
    with psycopg.connect(database_url) as conn:
        conn.execute(f"CREATE TABLE {schema}.effects (event_id uuid)")  # no key: a double effect would show
    _epoch(kafka_bootstrap)
    name = f"g{uuid.uuid4().hex[:6]}"
    a, b = _consumer(cfg, name), _consumer(cfg, name)
    threads = [threading.Thread(target=c.run) for c in (a, b)]
    for t in threads:
        t.start()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    sent = [event(str(uuid.uuid4())) for _ in range(300)]
    for ev in sent[:150]:
        producer.send(TOPIC_INTAKE, key=ev.subject.encode(), value=ev.encode())
    producer.flush()
    assert _until(lambda: a.applied > 0 and b.applied > 0), (a.applied, b.applied)  # both got partitions
    a.stop.set()  # one instance goes away: the other takes its partitions over
    threads[0].join(15)
    for ev in sent[150:]:
        producer.send(TOPIC_INTAKE, key=ev.subject.encode(), value=ev.encode())
    producer.close()
    mine = {e.id for e in sent}
    assert _until(lambda: len(mine & set(_effects(database_url, schema))) == 300, timeout=60)
    b.stop.set()
    threads[1].join(15)
    applied = [e for e in _effects(database_url, schema) if e in mine]
    assert sorted(applied) == sorted(mine)  # each exactly once


def test_what_was_not_published_after_commit_is_published_by_the_relay_and_a_new_broker_gets_everything(
    database_url, schema, kafka_bootstrap
):
    cfg = settings(database_url, schema, kafka_bootstrap, service="intake").model_copy(
        update={"relay_grace_s": 0.0, "relay_poll_s": 0.1})
    store = EventStore("intake")  # no publisher: as if the process had died right after committing
    case_id = str(uuid.uuid4())

    def run_relay(until) -> Relay:
        relay = Relay(cfg, Broker(KafkaOptions.from_settings(cfg)))
        t = threading.Thread(target=relay.run)
        t.start()
        try:
            assert _until(lambda: until(relay))
        finally:
            relay.stop.set()
            t.join(15)
        return relay

    with connect(database_url, schema, autocommit=True) as conn:
        store.append(conn, [event(case_id)])
        # a relay that never published to this broker publishes the whole store first
        run_relay(lambda r: r.republished == 1 and conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0)
        store.append(conn, [event(case_id, 2)])
        # as if the broker had restarted empty since: its epoch is not the one the store last went to
        conn.execute("UPDATE relay_state SET broker_epoch = 'a-broker-that-lost-its-memory'")
        run_relay(lambda r: r.republished == 2 and conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0)
    topic = KafkaConsumer(TOPIC_INTAKE, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                          consumer_timeout_ms=3000)
    versions = [Envelope.decode(r.value).sequence for r in topic if r.key == case_id.encode()]
    topic.close()
    assert versions[:2] == [1, 1] and 2 in versions  # in order within the case; duplicates are the consumers' job
    assert versions.index(2) > versions.index(1)


def test_events_are_published_right_after_commit_and_forgotten_once_acknowledged(database_url, schema, kafka_bootstrap):
    cfg = settings(database_url, schema, kafka_bootstrap, service="intake").model_copy(update={"broker_epoch_check_s": 0.2})
    publisher = Publisher(cfg, Broker(KafkaOptions.from_settings(cfg)))
    store = EventStore("intake", publisher)
    with connect(database_url, schema, autocommit=True) as conn:
        epoch = Broker(KafkaOptions.from_settings(cfg)).establish_epoch()
        conn.execute("INSERT INTO relay_state (broker_epoch) VALUES (%s) ON CONFLICT (singleton) DO UPDATE"
                     " SET broker_epoch = EXCLUDED.broker_epoch", (epoch,))
        publisher.start()
        try:
            assert _until(publisher.ready.is_set)  # the store has been published to this broker in full
            envs = [event(str(uuid.uuid4())) for _ in range(20)]
            positions = store.append(conn, envs)
            assert len(positions) == 20
            store.published(envs, positions)
            assert _until(lambda: conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0)
        finally:
            publisher.close()
    topic = KafkaConsumer(TOPIC_INTAKE, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                          consumer_timeout_ms=3000)
    seen = {r.value for r in topic}
    topic.close()
    assert {e.encode() for e in envs} <= seen


@pytest.fixture
def own_broker(tmp_path):
    """A broker of this test's own (topic generations must start from nothing)."""
    from stack.system import Proc, free_port, port_open, tansu_binary, wait_until

    port = free_port()
    proc = Proc("broker", [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
                           "--advertised-listener-url", f"tcp://127.0.0.1:{port}", "--silent"],
                {}, tmp_path / "broker.log")
    proc.start()
    wait_until(lambda: port_open(port), 15, "the broker")
    yield f"127.0.0.1:{port}"
    proc.kill()


def test_topic_generations_keep_every_case_in_order_across_switches_and_restarts(database_url, schema, own_broker):
    """The embedded broker's topics are written in generations (backbone.broker); a consumer follows
    them partition by partition, in order, and resumes across a generation end after a restart."""
    cfg = settings(database_url, schema, own_broker).model_copy(update={"broker_generation_records": 23})
    with psycopg.connect(database_url) as conn:
        conn.execute(f"CREATE TABLE {schema}.seen (n bigserial, case_id text, version int)")
    _epoch(own_broker)
    cases = [str(uuid.uuid4()) for _ in range(30)]
    sent = [event(c, v) for v in range(1, 6) for c in cases]  # versions interleaved across cases
    writer = Broker(KafkaOptions.from_settings(cfg))

    class Seen:
        emits = False

        def load(self, case_ids):
            return []

        def states(self, rows):
            return {}

        def apply(self, state, ev):
            return (state or ()) + ((ev.subject, ev.sequence),), []

        def save(self, states):
            rows = [{"case_id": c, "version": v} for seen in states.values() for c, v in seen]
            return [("INSERT INTO seen (case_id, version) SELECT case_id, version FROM"
                     " json_to_recordset(%s::json) AS x(case_id text, version int)", [json.dumps(rows)])]

    def consumer():
        return IdempotentConsumer(cfg, "gen", [TOPIC_INTAKE], Seen(), EventStore(cfg.service),
                                  Broker(KafkaOptions.from_settings(cfg)))

    def seen() -> list[tuple[str, int]]:
        with psycopg.connect(database_url) as conn:
            return conn.execute(f"SELECT case_id, version FROM {schema}.seen ORDER BY n").fetchall()

    first = consumer()
    t = threading.Thread(target=first.run)
    t.start()
    for i in range(0, 100, 10):
        for f in writer.send(TOPIC_INTAKE, [(e.subject.encode(), e.encode(), None) for e in sent[i:i + 10]]):
            f.get(10)
    assert _until(lambda: len(seen()) == 100)
    first.stop.set()
    t.join(15)
    # the rest, while nobody reads; a new consumer resumes from the positions stored with the effects
    for i in range(100, 150, 10):
        for f in writer.send(TOPIC_INTAKE, [(e.subject.encode(), e.encode(), None) for e in sent[i:i + 10]]):
            f.get(10)
    second = consumer()
    t = threading.Thread(target=second.run)
    t.start()
    assert _until(lambda: len(seen()) == 150)
    second.stop.set()
    t.join(15)
    writer.close()
    got = seen()
    assert sorted(got) == sorted((e.subject, e.sequence) for e in sent)  # each exactly once
    for c in cases:
        assert [v for case, v in got if case == c] == [1, 2, 3, 4, 5]  # in order, every case
    names = KafkaConsumer(bootstrap_servers=own_broker).topics()
    assert {f"{TOPIC_INTAKE}.g{n}" for n in range(1, 6)} <= names  # 150 records in generations of 23


def test_after_a_broker_restart_generations_start_again_and_strays_cannot_strand_a_consumer(
        database_url, schema, tmp_path):
    """A memory broker restarts empty; a stray send from before the restart auto-creates a later
    generation (with Tansu's default of 4 partitions). The relay republishes from generation 0, the
    consumer reads everything again (each event applied once) and follows new generations."""
    from stack.system import Proc, free_port, port_open, tansu_binary, wait_until

    port = free_port()
    bootstrap = f"127.0.0.1:{port}"

    def broker() -> Proc:
        proc = Proc("broker", [tansu_binary(), "broker", "--listener-url", f"tcp://{bootstrap}",
                               "--advertised-listener-url", f"tcp://{bootstrap}", "--silent"], {}, tmp_path / "b.log")
        proc.start()
        wait_until(lambda: port_open(port), 15, "the broker")
        return proc

    cfg = settings(database_url, schema, bootstrap, service="intake").model_copy(
        update={"broker_generation_records": 7, "relay_grace_s": 0.0, "relay_poll_s": 0.1})
    with psycopg.connect(database_url) as conn:
        conn.execute(f"CREATE TABLE {schema}.effects (event_id uuid)")  # no key: a double effect would show
    proc = broker()
    store = EventStore("intake")  # no publisher: everything goes through the relay
    sent = [event(str(uuid.uuid4())) for _ in range(30)]
    relay = Relay(cfg, Broker(KafkaOptions.from_settings(cfg)))
    consumer = _consumer(cfg, f"r{uuid.uuid4().hex[:6]}")
    threads = [threading.Thread(target=relay.run), threading.Thread(target=consumer.run)]
    for t in threads:
        t.start()
    try:
        with connect(database_url, schema, autocommit=True) as conn:
            store.append(conn, sent[:20])
            mine = {e.id for e in sent}
            assert _until(lambda: len(mine & set(_effects(database_url, schema))) == 20, timeout=60)
            proc.kill()
            proc = broker()
            stray = KafkaProducer(bootstrap_servers=bootstrap)  # as if an old producer delivered late
            stray.send(f"{TOPIC_INTAKE}.g1", key=b"x", value=b"stray").get(10)
            stray.close()
            store.append(conn, sent[20:])
            assert _until(lambda: len(mine & set(_effects(database_url, schema))) == 30, timeout=90)
    finally:
        relay.stop.set()
        consumer.stop.set()
        for t in threads:
            t.join(15)
        proc.kill()
    applied = [e for e in _effects(database_url, schema) if e in mine]
    assert sorted(applied) == sorted(mine)  # each exactly once, across the restart
    # everything from before the restart is published again (the ten after it too, when the relay
    # noticed the restart only after they were written: which one is a matter of timing)
    assert relay.republished >= 20


def test_two_copies_of_one_event_in_one_batch_are_applied_once(database_url, schema):
    """A republished history can hold an event twice, and one poll can bring both copies."""
    from backbone.broker import Record

    cfg = settings(database_url, schema, "127.0.0.1:1")
    with psycopg.connect(database_url) as conn:
        conn.execute(f"CREATE TABLE {schema}.applications (case_id text PRIMARY KEY, n int)")

    class Counting:  # not idempotent on purpose: every application counts
        emits = False

        def load(self, case_ids):
            return [("SELECT case_id, n FROM applications WHERE case_id = ANY(%s::text[])", [bulk.array(case_ids)])]

        def states(self, rows):
            return {r[0]: r[1] for r in rows[0]}

        def apply(self, state, ev):
            return (state or 0) + 1, []

        def save(self, states):
            return [(bulk.insert("applications", ("case_id", "n"), "ON CONFLICT (case_id) DO UPDATE SET n = EXCLUDED.n"),
                     [bulk.rows({"case_id": k, "n": v} for k, v in states.items())])]

    e = event(str(uuid.uuid4()))
    c = IdempotentConsumer(cfg, "twice", [TOPIC_INTAKE], Counting(), EventStore(cfg.service),
                           Broker(KafkaOptions(bootstrap="127.0.0.1:1")))
    c.handle("epoch", [Record(TOPIC_INTAKE, 0, 5, e.encode()), Record(TOPIC_INTAKE, 0, 9, e.encode())])
    c.handle("epoch", [Record(TOPIC_INTAKE, 0, 12, e.encode())])
    with psycopg.connect(database_url) as conn:
        assert conn.execute(f"SELECT n FROM {schema}.applications").fetchall() == [(1,)]
    assert (c.applied, c.duplicates) == (1, 2)
