"""The backbone against real PostgreSQL and the real broker."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer

from backbone.broker import KafkaOptions, ensure_topics
from backbone.consumer import IdempotentConsumer
from backbone.contracts import TOPIC_DEAD_LETTER, TOPIC_INTAKE, PetitionRegistered
from backbone.db import connect, migrate
from backbone.envelope import SYSTEM, new_event
from backbone.eventstore import ConcurrencyConflict, append, load
from backbone.settings import BackboneSettings


def registered(case_id: str) -> PetitionRegistered:
    return PetitionRegistered(
        case_id=case_id, case_no="XF-2026-000001", channel="来信", received_at=datetime.now(UTC),
        receiving_unit="S1-XFB", subsidiary="S1", anonymous=True, petitioner_count=0, category="咨询类",
        issue_type="other", summary_sealed="sealed",
    )


def event(case_id: str, version: int = 1):
    return new_event(service="intake", payload=registered(case_id), event_type="petition.registered.v1",
                     subject=case_id, sequence=version, actor=SYSTEM)


@pytest.fixture
def schema(database_url):
    name = f"bb_{uuid.uuid4().hex[:8]}"
    migrate(database_url, name)
    return name


def test_concurrent_appends_to_one_stream_give_one_conflict(database_url, schema):
    case_id = str(uuid.uuid4())
    a = connect(database_url, schema)
    b = connect(database_url, schema)
    append(a, "intake", [event(case_id)], 0)  # a's transaction is open and holds version 1
    errors = []

    def second():
        try:
            append(b, "intake", [event(case_id)], 0)
            b.commit()
        except ConcurrencyConflict as e:
            errors.append(e)
            b.rollback()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.3)  # b is now blocked on a's uncommitted primary key
    a.commit()
    t.join(10)
    assert len(errors) == 1
    assert [e.sequence for e in load(a, case_id)] == [1]
    outbox = a.execute("SELECT count(*) AS n FROM outbox WHERE key = %s", (case_id,)).fetchone()["n"]
    assert outbox == 1  # the loser's outbox row went with its rolled-back transaction
    a.close()
    b.close()


def test_a_service_cannot_publish_another_services_events(database_url, schema):
    with connect(database_url, schema) as conn, pytest.raises(ValueError):
        append(conn, "routing", [event(str(uuid.uuid4()))], 0)


def test_poison_goes_to_dead_letter_with_reason_and_duplicates_are_dropped(database_url, schema, kafka_bootstrap):
    opts = KafkaOptions(bootstrap=kafka_bootstrap, partitions=1, session_timeout_ms=3000, heartbeat_interval_ms=1000)
    ensure_topics(opts)
    with psycopg.connect(database_url) as conn:
        conn.execute(f"CREATE TABLE {schema}.effects (event_id uuid PRIMARY KEY)")
    settings = BackboneSettings(
        service="reporting", db_schema=schema, database_url=database_url, kafka_bootstrap=kafka_bootstrap,
        seed_path="deploy/seed/org.yaml", kafka_session_timeout_ms=3000, kafka_heartbeat_interval_ms=1000,
        broker_epoch_check_s=0.5,
    )

    def handler(d):
        d.conn.execute("INSERT INTO effects (event_id) VALUES (%s)", (d.event.id,))

    good = event(str(uuid.uuid4()))
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    producer.send("xf.broker-epoch", value=uuid.uuid4().hex.encode(), partition=0).get(10)
    for value in (b"not json at all", good.encode(), good.encode()):
        producer.send(TOPIC_INTAKE, key=good.subject.encode(), value=value).get(10)
    producer.close()
    c = IdempotentConsumer(settings, f"t{uuid.uuid4().hex[:6]}", [TOPIC_INTAKE], handler)
    t = threading.Thread(target=c.run)
    t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (c.applied >= 1 and c.dead_lettered >= 1 and c.duplicates >= 1):
        time.sleep(0.1)
    c.stop.set()
    t.join(15)
    assert (c.applied, c.dead_lettered, c.duplicates) == (1, 1, 1)
    with psycopg.connect(database_url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {schema}.effects").fetchone()[0] == 1
    dlq = KafkaConsumer(TOPIC_DEAD_LETTER, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                        consumer_timeout_ms=5000)
    reasons = [dict(r.headers).get("xf-dlq-reason", b"").decode() for r in dlq if r.value == b"not json at all"]
    dlq.close()
    assert reasons and reasons[0].startswith("undecodable")
