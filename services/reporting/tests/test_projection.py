"""Reporting's view of a case, pure: filled in any order, never moved back, never holding secrets."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime

from backbone import contracts as ev
from backbone.envelope import SYSTEM, Actor, new_envelope
from reporting.projection import apply, status, timeline_detail

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
    # the view and what each line shows; a line keeps its event whole, sealed fields as sealed
    # (ciphertext: reporting holds no key), to fold the case again (as_of)
    shown = [{k: v for k, v in t.items() if k != "body"} | {"detail": timeline_detail(t)} for t in report.new_timeline]
    text = json.dumps([report.view, shown], default=str)
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


D = date(2026, 11, 21)


def sup(payload, seq):
    return new_envelope(payload, subject="c", sequence=seq, actor=SYSTEM)


def test_the_stage_follows_the_case_through_its_life_and_never_moves_back():
    life = [env(REGISTERED), env(ev.CaseAssigned(case_id="c", unit="S1-HR", subsidiary="S1", rule_id="r", basis="b",
                                                 first_unit="S1-HR")),
            env(ev.CaseAccepted(case_id="c", unit="S1-HR", accepted_on=D, automatic=True), 2),
            sup(ev.ReplyServed(case_id="c", draft=1, served_on=D, method="当面", receipt="签收"), 5),
            sup(ev.EvaluationRecorded(case_id="c", target="responsible_unit", grade="不满意", via="查询码",
                                      collected_by="petitioner", on=D), 6),
            sup(ev.ReviewRequested(case_id="c", level="复查", requested_on=D, reviewing_unit="HQ-XFB", basis="b"), 7),
            sup(ev.ReviewOpinionIssued(case_id="c", level="复查", decision="维持", content_sealed="SEALED-OPINION",
                                       by_unit="HQ-XFB", issued_on=D), 8),
            sup(ev.CaseFinalised(case_id="c", on=D, basis="第三十六条第三款"), 9)]
    report, _ = fold(life)
    v = report.view
    assert (v["stage"], v["final_on"], v["evaluation_responsible_unit"], v["evaluation_responsible_unit_by"]) == (
        "final", D, "不满意", "petitioner")
    assert v["review_level"] == "复查" and v["reviewing_unit"] == "HQ-XFB" and v["first_unit"] == "S1-HR"
    late, _ = apply(report, life[3])  # a late copy of an earlier supervision event
    assert late.view["stage"] == "final"
    assert "SEALED-OPINION" not in json.dumps([report.view, [timeline_detail(t) for t in report.new_timeline]], default=str)


def test_a_clock_that_starts_again_starts_afresh_but_an_early_outcome_is_kept():
    first = sup(ev.DeadlineSet(case_id="c", clock="order:1", starts_on=D, period=10, unit_of_period="calendar_days",
                               due_on=date(2026, 12, 1), basis="第四十条"), 1)
    breached = sup(ev.DeadlineBreached(case_id="c", clock="order:1", due_on=date(2026, 12, 1), on=date(2026, 12, 2)), 2)
    again = sup(ev.DeadlineSet(case_id="c", clock="order:1", starts_on=date(2026, 12, 2), period=10,
                               unit_of_period="calendar_days", due_on=date(2026, 12, 14), basis="第四十条"), 3)
    report, _ = fold([first, breached, again])
    d = report.deadlines["order:1"]
    assert (d["due_on"], d["breached_on"]) == (date(2026, 12, 14), None)


def test_urgent_cases_alert_every_unit_told_and_escalations_alert_the_new_issuer():
    report, emitted = fold([env(REGISTERED), sup(ev.UrgentFlagged(case_id="c", by_unit="S1-XFB", reason_sealed="r",
                                                                  notified=["S1-XFB", "HQ-XFB"], on=D), 1),
                            sup(ev.OrderEscalated(case_id="c", order_no=1, level="headquarters", issued_by="HQ-XFB",
                                                  feedback_due_on=D, on=D), 2)])
    kinds = sorted((a.kind, a.unit) for a in emitted)
    assert kinds == [("order_escalated", "HQ-XFB"), ("urgent", "HQ-XFB"), ("urgent", "S1-XFB")]
    assert report.view["urgent"] is True
    _, again = fold([sup(ev.UrgentFlagged(case_id="c", by_unit="S1-XFB", reason_sealed="r", notified=["S1-XFB"],
                                          on=D), 1)])
    assert again[0].alert_id == next(a.alert_id for a in emitted if a.kind == "urgent" and a.unit == "S1-XFB")


def test_the_timeline_shows_every_event_without_its_sealed_text():
    joint = env(ev.JointHandlingSet(case_id="c", lead_unit="S1-HR", on=D,
                                    subtasks=[ev.Subtask(unit="S1-SB", task_sealed="SEALED-TASK", due_on=D)]), 3)
    report, _ = fold([env(REGISTERED), joint])
    shown = [timeline_detail(t) for t in report.new_timeline]  # derived from the event each line keeps
    assert shown[-1]["subtasks"] == [{"unit": "S1-SB", "due_on": "2026-11-21"}]
    assert "SEALED-TASK" not in json.dumps(shown, default=str)
    assert "receipt_code_hash" not in shown[0]
    assert "SEALED-TASK" in report.new_timeline[-1]["body"]  # the event whole (sealed: reporting holds no key)
    # rows written before migration 0013 show the detail they kept
    assert timeline_detail({"detail": {"flag": "repeat"}, "body": report.new_timeline[0]["body"]}) == {"flag": "repeat"}


def test_sharing_is_right_whatever_order_routing_events_reach_reporting():
    shared = env(ev.CaseShared(case_id="c", party="GOV-RSJ", party_type="government", preset="facts", fields=["case_no"],
                               purpose="社保接续", basis="b", on=date(2026, 11, 21)), 3)
    action = env(ev.CoordinationRecorded(case_id="c", party="GOV-RSJ", action="contact_made", on=date(2026, 11, 22)), 4)
    revoked = env(ev.SharingRevoked(case_id="c", party="GOV-RSJ", on=date(2026, 11, 23)), 5)
    for order in itertools.permutations([env(REGISTERED), shared, action, revoked]):
        report, _ = fold(order)
        share = report.view["shares"]["GOV-RSJ"]
        assert share["actions"] == 1 and share["preset"] == "facts", order  # the action counts, even before its share
        assert share["revoked_on"] == "2026-11-23"  # the revocation holds over the older share
    report, _ = fold([env(REGISTERED), action])
    assert report.view["shares"]["GOV-RSJ"]["actions"] == 1 and "preset" not in report.view["shares"]["GOV-RSJ"]


def test_only_a_change_of_what_an_indicator_counts_recounts_the_case():
    import yaml
    from pathlib import Path

    from reporting import kpis
    from reporting.bootstrap import ReportProjection
    from reporting.rollup import Rollup

    seed = Path(__file__).resolve().parents[3] / "deploy" / "seed" / "kpis.yaml"
    projector = ReportProjection(Rollup(kpis.Catalogue.model_validate(yaml.safe_load(seed.read_text("utf-8")))))
    registered, _ = fold([env(REGISTERED)])
    projector._inputs = {"c": projector._counted(registered)}  # as the batch's reads found it

    def recounts(event) -> bool:
        report, _ = apply(registered, event)
        return bool(projector.after({"c": report}, [event]))

    clock = ev.DeadlineSet(case_id="c", clock="handling", starts_on=date(2026, 11, 21), period=60,
                           unit_of_period="calendar_days", due_on=date(2027, 1, 20), basis="第三十四条")
    assert not recounts(env(clock))  # a deadline set: nothing an indicator counts
    assert recounts(env(ev.DeadlineMet(case_id="c", clock="acceptance_notice", on=date(2026, 11, 22), late=False)))
    assert recounts(env(ev.ReplyServed(case_id="c", draft=1, served_on=date(2026, 11, 30), method="当面", receipt="签收")))
    # who may see it changes with an assignment (case_scope), even where the row would not
    assert recounts(env(ev.CaseAssigned(case_id="c", unit="S1-HR", subsidiary="S1", rule_id="r", basis="b")))
    assert projector.after({"c": registered}, []) == []
    projector._inputs = {}
    assert projector.after({"c": registered}, [])  # a case not counted before


def test_a_new_answer_after_rehandling_is_evaluated_afresh():
    served = sup(ev.ReplyServed(case_id="c", draft=1, served_on=D, method="当面", receipt="签收"), 5)
    graded = sup(ev.EvaluationRecorded(case_id="c", target="responsible_unit", grade="不满意", via="查询码",
                                       collected_by="petitioner", on=D), 6)
    again = sup(ev.ReplyServed(case_id="c", draft=2, served_on=date(2026, 12, 20), method="当面", receipt="签收"), 8)
    report, _ = fold([env(REGISTERED), served, graded])
    assert report.view["evaluation_responsible_unit"] == "不满意"
    report, _ = apply(report, again)
    assert report.view["evaluation_responsible_unit"] is None and report.view["evaluation_responsible_unit_by"] is None
    assert report.view["served_on"] == date(2026, 12, 20)
    late, _ = apply(report, served)  # a late copy of the first answer changes nothing
    assert late.view["evaluation_responsible_unit"] is None
