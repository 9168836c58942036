"""The event contract: every type is a class that names itself once; envelopes refuse what does not
belong to the contract, to the producer or to the topic."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from backbone import contracts as ev
from backbone.envelope import SYSTEM, Actor, Envelope, PoisonEvent, new_envelope

NOW = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
EXAMPLES: list[ev.Event] = [
    ev.PetitionRegistered(case_id="c", case_no="XF-2026-000001", channel="来信", received_at=NOW, receiving_unit="S1-XFB",
                       subsidiary="S1", anonymous=False, petitioner_count=1, category="申诉求决类", issue_type="wages",
                       summary_sealed="s", petitioners_sealed="p"),
    ev.CaseAssigned(case_id="c", unit="S1-HR", subsidiary="S1", rule_id="r", basis="b"),
    ev.CaseUnroutable(case_id="c", queue_unit="HQ-XFB", reason="无规则"),
    ev.CaseAccepted(case_id="c", unit="S1-HR", accepted_on=date(2026, 11, 21), automatic=True),
    ev.CaseRejected(case_id="c", unit="S1-HR", reason_sealed="r", legal_channel="诉讼", rejected_on=date(2026, 11, 21)),
    ev.DeadlineSet(case_id="c", clock="handling", starts_on=date(2026, 11, 21), period=60, unit_of_period="calendar_days",
                due_on=date(2027, 1, 20), basis="《信访工作条例》第三十四条"),
    ev.DeadlineMet(case_id="c", clock="acceptance_notice", on=date(2026, 11, 21), late=False),
    ev.AlertRaised(alert_id="a", kind="unroutable", unit="HQ-XFB", case_ids=["c"], raised_at=NOW, message="m"),
]


def test_every_registered_type_has_an_example_and_names_its_producer_and_topic():
    assert {type(e).type for e in EXAMPLES} == set(ev.REGISTRY)
    for e in EXAMPLES:
        cls = type(e)
        assert ev.event_class(cls.type) is cls
        assert cls.topic == ev.SERVICE_TOPIC[cls.producer] and ev.producer_of_topic(cls.topic) == cls.producer
        assert cls.type.rsplit(".", 1)[1] == "v1"


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_an_envelope_round_trips_exactly(event):
    env = new_envelope(event, subject="c", sequence=3, actor=Actor("p", "S1", "handler"), traceparent="00-" + "a" * 32
                       + "-" + "b" * 16 + "-01")
    back = Envelope.decode(env.encode(), topic=event.topic)
    assert back == env
    raw = json.loads(env.encode())
    assert raw["specversion"] == "1.0" and raw["source"] == f"/xinfang/{event.producer}"
    assert raw["dataschema"] == f"urn:xinfang:event:{event.type.rsplit('.', 1)[0]}:v1"


def test_poison_is_named_for_what_is_wrong():
    good = new_envelope(EXAMPLES[1], subject="c", sequence=1, actor=SYSTEM).encode()
    with pytest.raises(PoisonEvent, match="does not belong on topic"):
        Envelope.decode(good, topic=ev.SERVICE_TOPIC["intake"])
    forged = json.loads(good)
    forged["source"] = "/xinfang/intake"  # intake claiming a routing decision
    with pytest.raises(PoisonEvent, match="is published by routing"):
        Envelope.decode(json.dumps(forged).encode())
    unknown = {**json.loads(good), "type": "case.vanished.v1"}
    with pytest.raises(PoisonEvent, match="UnknownEventType"):
        Envelope.decode(json.dumps(unknown).encode())
    extra = json.loads(good)
    extra["data"]["surprise"] = 1
    with pytest.raises(PoisonEvent, match="ValidationError"):
        Envelope.decode(json.dumps(extra).encode())
    for junk in (b"", b"null", b"[]", b'{"specversion": "0.3"}', "\u4e2d".encode()):
        with pytest.raises(PoisonEvent):
            Envelope.decode(junk)
    with pytest.raises(ev.UnknownEventType):
        ev.event_class("nope.v1")


def test_payloads_are_bounded_and_units_are_plain_ids():
    with pytest.raises(ValidationError):
        ev.CaseAssigned(case_id="c", unit="S1\x00", subsidiary=None, rule_id="r", basis="b")
    with pytest.raises(ValidationError):
        ev.CaseAssigned(case_id="c", unit="S1-HR", subsidiary=None, rule_id="r", basis="b" * 1001)
    with pytest.raises(ValidationError):
        ev.DeadlineSet(case_id="c", clock="handling", starts_on=date(2026, 1, 1), period=0, unit_of_period="calendar_days",
                    due_on=date(2026, 1, 1), basis="b")


def test_a_new_event_type_is_one_class():
    class Probe(ev.Event):
        producer = "reporting"

    class Probed(Probe):
        type = "probe.probed.v1"
        n: int

    try:
        assert ev.event_class("probe.probed.v1") is Probed and Probed.topic == ev.SERVICE_TOPIC["reporting"]
    finally:
        ev.REGISTRY.pop("probe.probed.v1")


def test_receipt_codes_are_looked_up_by_a_normalised_hash():
    assert ev.receipt_code_hash("abcd-EFGH 2345-6789") == ev.receipt_code_hash("ABCDEFGH23456789")
    assert len(ev.receipt_code_hash("x")) == 64
