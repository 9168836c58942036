"""Reporting's view of a case, pure: filled in any order, never moved back, never holding secrets."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime

from backbone import contracts as ev
from backbone.envelope import SYSTEM, Actor, new_envelope
from reporting.projection import apply, status

REGISTERED = ev.PetitionRegistered(case_id="c", case_no="XF-2026-000007", channel="来信",
                                received_at=datetime(2026, 11, 20, 1, tzinfo=UTC), receiving_unit="S1-XFB",
                                subsidiary="S1", anonymous=False, petitioner_count=1, category="申诉求决类",
                                issue_type="wages", summary_sealed="SEALED-SUMMARY", petitioners_sealed="SEALED-NAMES",
                                receipt_code_hash="h" * 64)


def env(payload, seq=1):
    return new_envelope(payload, subject="c", sequence=seq, actor=Actor("p", "S1-XFB", "registrar"),
                        traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")


def fold(events):
    report, emitted = None, []
    for e in events:
        report, out = apply(report, e)
        emitted += out
    return report, emitted


def test_a_case_fills_in_whatever_order_its_events_arrive():
    events = [env(REGISTERED), env(ev.CaseAssigned(case_id="c", unit="S1-HR", subsidiary="S1", rule_id="r", basis="b")),
              env(ev.CaseAccepted(case_id="c", unit="S1-HR", accepted_on=date(2026, 11, 21), automatic=True), 2),
              env(ev.DeadlineSet(case_id="c", clock="handling", starts_on=date(2026, 11, 21), period=60,
                              unit_of_period="calendar_days", due_on=date(2027, 1, 20), basis="第三十四条"))]
    views = set()
    for order in itertools.permutations(events):
        report, _ = fold(order)
        v = {k: v for k, v in report.view.items() if k != "updated_at" and v is not None}  # absent = NULL
        views.add(json.dumps(v, sort_keys=True, default=str) + json.dumps(report.deadlines, sort_keys=True, default=str))
        assert len(report.new_timeline) == 4
    assert len(views) == 1
    report, _ = fold(events)
    assert status(report.view["routing_status"]) == "accepted" and report.view["assigned_unit"] == "S1-HR"
    assert report.view["routing_version"] == 2 and report.deadlines["handling"]["due_on"] == date(2027, 1, 20)


def test_an_older_routing_event_never_moves_the_case_back():
    newer = env(ev.CaseRejected(case_id="c", unit="S1-JW", reason_sealed="SEALED-REASON", legal_channel="诉讼",
                             rejected_on=date(2026, 11, 22)), 2)
    older = env(ev.CaseAssigned(case_id="c", unit="S1-JW", subsidiary="S1", rule_id="r", basis="b"), 1)
    report, _ = fold([env(REGISTERED), newer, older])
    assert report.view["routing_status"] == "rejected" and report.view["legal_channel"] == "诉讼"


def test_the_timeline_and_the_view_never_hold_sealed_text():
    report, _ = fold([env(REGISTERED), env(ev.CaseRejected(case_id="c", unit="S1-JW", reason_sealed="SEALED-REASON",
                                                        rejected_on=date(2026, 11, 22)), 2)])
    text = json.dumps([report.view, report.new_timeline], default=str)
    for secret in ("SEALED-SUMMARY", "SEALED-NAMES", "SEALED-REASON"):
        assert secret not in text
    assert report.new_timeline[0]["trace_id"] == "1" * 32 and report.new_timeline[0]["actor_role"] == "registrar"


def test_an_unroutable_case_raises_one_alert_with_a_stable_id():
    unroutable = env(ev.CaseUnroutable(case_id="c", queue_unit="HQ-XFB", reason="规则 x 找不到承办单位"))
    report, emitted = fold([env(REGISTERED), unroutable])
    [alert] = emitted
    assert isinstance(alert, ev.AlertRaised) and alert.unit == "HQ-XFB" and alert.case_ids == ["c"]
    assert report.view["routing_status"] == "unroutable" and report.new_alerts[0]["alert_id"] == alert.alert_id
    _, again = fold([unroutable])
    assert again[0].alert_id == alert.alert_id  # a rebuild makes the very same alert
    assigned, _ = apply(report, env(ev.CaseAssigned(case_id="c", unit="S4-HR", subsidiary="S4", rule_id="manual",
                                                 basis="人工分派"), 2))
    assert assigned.view["routing_status"] == "assigned" and assigned.view["unroutable_reason"] is None


def test_deadlines_are_set_and_met_separately():
    report, _ = fold([env(ev.DeadlineMet(case_id="c", clock="acceptance_notice", on=date(2026, 11, 21), late=False)),
                      env(ev.DeadlineSet(case_id="c", clock="acceptance_notice", starts_on=date(2026, 11, 20), period=15,
                                      unit_of_period="calendar_days", due_on=date(2026, 12, 7),
                                      rolled_from=date(2026, 12, 5), basis="第二十三条第二款"))])
    d = report.deadlines["acceptance_notice"]
    assert (d["due_on"], d["rolled_from"], d["met_on"], d["late"]) == (date(2026, 12, 7), date(2026, 12, 5),
                                                                        date(2026, 11, 21), False)
    assert status(None) == "registered"
    assert SYSTEM.role == "system"
