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
D = date(2026, 11, 21)
EXAMPLES: list[ev.Event] = [
    ev.PetitionRegistered(case_id="c", case_no="XF-2026-000001", channel="来信", received_at=NOW, receiving_unit="S1-XFB",
                       subsidiary="S1", anonymous=False, petitioner_count=1, category="申诉求决类", issue_type="wages",
                       summary_sealed="s", petitioners_sealed="p", petitioner_keys=["id:ab"], urgent=True),
    ev.PetitionFlagged(case_id="c", flag="final_after_re_review", rule="r", linked_case_ids=["c0"], suggestion="不再受理",
                       basis="第三十六条第三款"),
    ev.CaseAssigned(case_id="c", unit="S1-HR", subsidiary="S1", rule_id="r", basis="b", mode="交办", first_unit="S1-HR",
                    moves=1, on=D, report_due_on=D),
    ev.CaseUnroutable(case_id="c", queue_unit="HQ-XFB", reason="无规则"),
    ev.CaseClassified(case_id="c", category="检举控告类", issue_type="cadre_conduct", accused_unit="S1-U1",
                      accused_principals=["s1-u1-handler"], by_unit="S1-JW", on=D),
    ev.CaseAccepted(case_id="c", unit="S1-HR", accepted_on=D, automatic=True, category="申诉求决类"),
    ev.CaseRejected(case_id="c", unit="S1-HR", reason_sealed="r", legal_channel="诉讼", rejected_on=D),
    ev.ObjectionRaised(case_id="c", unit="S2-HR", sender="S1-HR", reason_sealed="r", on=D),
    ev.ObjectionDecided(case_id="c", agreed=False, by_unit="S1-HR", referred_to="HQ", on=D),
    ev.TrackSet(case_id="c", track="一般快速办", target_days=30, on=D),
    ev.LeaderTookCase(case_id="c", leader="s1-leader", unit="S1", on=D),
    ev.HandlerAssigned(case_id="c", handler="s1-hr-handler", unit="S1-HR", on=D),
    ev.HandlerRecused(case_id="c", handler="s1-hr-handler", reason_sealed="r", replaced_by="x", on=D),
    ev.JointHandlingSet(case_id="c", lead_unit="S1-HR", subtasks=[ev.Subtask(unit="S1-SB", task_sealed="t", due_on=D)],
                        on=D),
    ev.SubtaskReported(case_id="c", unit="S1-SB", report_sealed="r", on=D),
    ev.InvestigationRecorded(case_id="c", record_no=1, investigators=["a"], units=["S1-JW"], on=D, details_sealed="d"),
    ev.DeadlineSet(case_id="c", clock="handling", starts_on=D, period=60, unit_of_period="calendar_days",
                due_on=date(2027, 1, 20), basis="《信访工作条例》第三十四条"),
    ev.DeadlineMet(case_id="c", clock="acceptance_notice", on=D, late=False),
    ev.DeadlinePaused(case_id="c", clock="re_review", reason="听证", on=D),
    ev.DeadlineResumed(case_id="c", clock="re_review", on=D, paused_days=3, due_on=D),
    ev.DeadlineExtended(case_id="c", clock="handling", days=30, approved_by="s1-leader", reason_sealed="r", approved_on=D,
                        due_on=D, basis="第三十四条"),
    ev.DeadlineWarned(case_id="c", clock="subtask:S1-SB", due_on=D, days_left=2, on=D),
    ev.DeadlineBreached(case_id="c", clock="order:1", due_on=D, on=D),
    ev.DeadlineCancelled(case_id="c", clock="objection", on=D, reason="已受理"),
    ev.ProgressNoted(case_id="c", note_sealed="n", by_unit="S1-HR", executed=True, on=D),
    ev.CaseUntouched(case_id="c", clock="handling", share=0.5, last_progress_on=None, on=D),
    ev.ReplyDrafted(case_id="c", draft=1, decision="支持", template="wages", content_sealed="c", by_unit="S1-HR", on=D),
    ev.ReplyReviewed(case_id="c", draft=1, approved=True, by="s1-leader", on=D),
    ev.ReplyServed(case_id="c", draft=1, served_on=D, method="当面", receipt="签收"),
    ev.AgreementSigned(case_id="c", kind="调解协议书", content_sealed="c", signed_on=D),
    ev.CaseClosed(case_id="c", approved_by="s1-leader", outcome="息诉罢访", on=D),
    ev.EvaluationRecorded(case_id="c", target="responsible_unit", grade="不满意", via="查询码", collected_by="petitioner",
                          on=D),
    ev.EvaluationExpired(case_id="c", target="petition_office", on=D),
    ev.FollowUpRequired(case_id="c", ground="不满意", unit="S1-HR", due_on=D),
    ev.FollowUpRecorded(case_id="c", by_unit="S1-XFB", outcome_sealed="o", satisfied_now=False, on=D),
    ev.RehandlingOrdered(case_id="c", unit="S1-HR", by_unit="S1-XFB", reason_sealed="r", due_on=D, on=D),
    ev.ReviewRequested(case_id="c", level="复查", requested_on=D, reviewing_unit="HQ-XFB", basis="第三十五条"),
    ev.ReviewOpinionIssued(case_id="c", level="复核", decision="维持", content_sealed="c", by_unit="HQ-XFB", issued_on=D),
    ev.CaseFinalised(case_id="c", on=D, basis="第三十六条第三款", issue_type="wages"),
    ev.UrgentFlagged(case_id="c", by_unit="S1-XFB", reason_sealed="r", notified=["S1-XFB", "HQ-XFB"], on=D),
    ev.OrderIssued(case_id="c", order_no=1, ground="overdue", level="subsidiary", issued_by="S1-XFB", to_unit="S1-HR",
                   feedback_due_on=D, basis="第四十条", clock="handling", on=D),
    ev.OrderFeedback(case_id="c", order_no=1, by_unit="S1-HR", feedback_sealed="f", late=False, on=D),
    ev.OrderEscalated(case_id="c", order_no=1, level="headquarters", issued_by="HQ-XFB", feedback_due_on=D, on=D),
    ev.AlertRaised(alert_id="a", kind="unroutable", unit="HQ-XFB", case_ids=["c"], raised_at=NOW, message="m"),
    ev.PetitionMarked(case_id="c", mark="threat", value=True, reason_sealed="s"),
    ev.CaseShared(case_id="c", party="GOV-RSJ", party_type="hrss", preset="facts", fields=["case_no", "summary"],
                  purpose="社保移交衔接", basis="b", on=D),
    ev.SharingRevoked(case_id="c", party="GOV-RSJ", on=D),
    ev.CoordinationRecorded(case_id="c", party="GOV-RSJ", action="contact_made", note_sealed="s",
                            attachments=[ev.Attachment(name="a.pdf", media_type="application/pdf", size_bytes=3)], on=D),
    ev.MediationScheduled(case_id="c", no=1, parties=["GOV-TJW"], meeting_at=NOW, place="调解室", due_on=D, on=D),
    ev.MediationConcluded(case_id="c", no=1, result="调解成功", text_sealed="s", on=D),
    ev.JointMeetingRecorded(case_id="c", meeting_id="m", held_on=D, parties=["GOV"], units=["S1"],
                            decisions=[ev.MeetingDecision(no=1, text_sealed="s", owner="S1-HR", due_on=D)], on=D),
    ev.MeetingActionDone(case_id="c", meeting_id="m", decision_no=1, on=D),
    ev.AlertShared(alert_id="a", party="GOV-PCS", shared=True, basis="b", at=NOW),
    ev.AlertRaised(alert_id="a", kind="rising", unit="S1-XFB", case_ids=["c"], raised_at=NOW, message="m",
                   about_unit="S1", issue_type="wages", window_start=NOW, window_end=NOW, threshold=10, count=12,
                   baselines=[ev.AlertBaseline(name="previous", start=NOW, end=NOW, count=3)]),
    ev.AlertAcknowledged(alert_id="a", by="s1-handler", by_unit="S1", at=NOW, note="已安排专人跟进"),
    ev.AlertClosed(alert_id="a", by="s1-handler", by_unit="S1", at=NOW, outcome="已化解", resolution="已约谈并解决"),
    ev.KpiExclusionRequested(exclusion_id="x", case_id="c", unit="S1-HR", ground="unreasonable", reasons="r" * 10,
                             approver_unit="HQ", at=NOW),
    ev.KpiExclusionDecided(exclusion_id="x", case_id="c", approved=True, reason="理由充分", at=NOW),
    ev.GovernanceIssueOpened(issue_id="g", issue_type="wages", subsidiary="S1", month="2026-11", why="w", owner_unit="S1-HR",
                             owner="人力资源部部长", fix="f", starts_on=D, deadline=D, at=NOW),
    ev.GovernanceFixRecorded(issue_id="g", note="n", done=True, on=D, at=NOW),
]


def test_every_registered_type_has_an_example_and_names_its_producer_and_topic():
    assert {type(e).type for e in EXAMPLES} == set(ev.REGISTRY)
    for e in EXAMPLES:
        cls = type(e)
        assert ev.event_class(cls.type) is cls
        expected = ev.MILESTONE_TOPIC[cls.producer] if cls.milestone else ev.SERVICE_TOPIC[cls.producer]
        assert cls.topic == expected and ev.producer_of_topic(cls.topic) == cls.producer
        assert cls.topic in ev.topics_of(cls.producer)
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
    good = new_envelope(EXAMPLES[2], subject="c", sequence=1, actor=SYSTEM).encode()  # a routing event
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
    with pytest.raises(ValidationError):  # a clock's name is a kind and an identifier, nothing else
        ev.DeadlineMet(case_id="c", clock="handling; DROP", on=date(2026, 1, 1), late=False)
    with pytest.raises(ValidationError):
        ev.DeadlineExtended(case_id="c", clock="handling", days=31, approved_by="x", reason_sealed="r",
                            approved_on=date(2026, 1, 1), due_on=date(2026, 1, 1), basis="b")


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
