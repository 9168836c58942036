"""Supervision's file on a case as pure functions: clocks started and stopped by other services'
events in any order, what people do (extension, reply, evaluation, 复查 / 复核), and what time does
(warnings, breaches, 督办 and its escalation)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from backbone import contracts as ev
from backbone.auth import OrgTree
from backbone.envelope import SYSTEM, new_envelope
from supervision.domain import case as dom
from supervision.domain.calendar import WorkCalendar
from supervision.domain.case import CaseFile, Ctx, SupervisionError, evolve, react, tick
from supervision.domain.policy import Policy, review_body, supervision_chain

SEED = Path(__file__).resolve().parents[4] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
CTX = Ctx(cal=WorkCalendar(), policy=Policy.load(SEED / "handling.yaml"), org=ORG)


def registered(**over) -> ev.PetitionRegistered:
    base = dict(case_id="c", case_no="XF-2026-000001", channel="来信", received_at=datetime(2026, 9, 25, 2, tzinfo=UTC),
                receiving_unit="S1-XFB", subsidiary="S1", anonymous=True, petitioner_count=0, category="申诉求决类",
                issue_type="wages", summary_sealed="s", receipt_code_hash="h" * 64)
    return ev.PetitionRegistered(**{**base, **over})


ASSIGNED = ev.CaseAssigned(case_id="c", unit="S1-HR", subsidiary="S1", rule_id="r", basis="b", previous_unit="S1-XFB",
                           first_unit="S1-HR", on=date(2026, 9, 25))


def env(payload, seq=1):
    return new_envelope(payload, subject="c", sequence=seq, actor=SYSTEM)


def fold(events, case=None):
    caused = []
    for e in events:
        case, out = react(case, env(e), CTX)
        caused += out
    return case, caused


def act(case: CaseFile, events):
    for e in events:
        case = evolve(case, e)
    return case


def accepted(on=date(2026, 9, 27), **over) -> CaseFile:
    case, _ = fold([registered(**over), ASSIGNED, ev.CaseAccepted(case_id="c", unit="S1-HR", accepted_on=on,
                                                                  automatic=False, category=over.get("category", "申诉求决类"))])
    return case


def served(on=date(2026, 10, 20)) -> CaseFile:
    case = accepted()
    case = act(case, dom.draft_reply(case, "支持", "wages", "sealed", "S1-HR", date(2026, 10, 15)))
    case = act(case, dom.review_draft(case, True, "s1-leader", None, date(2026, 10, 16)))
    return act(case, dom.serve_reply(case, on, "当面", "签收", CTX))


# -- clocks from other services' events -------------------------------------------------------------------------


def test_registration_starts_the_notice_clock_with_its_article():
    case, caused = fold([registered(receiving_unit="S1-HR")])
    [d] = caused
    assert isinstance(d, ev.DeadlineSet) and d.clock == "acceptance_notice" and "第二十三条第二款" in d.basis
    # received 2026-09-25 (Beijing): +15 days is 2026-10-10, a make-up working Saturday (调休)
    assert (d.starts_on, d.due_on, d.rolled_from, d.unit) == (date(2026, 9, 25), date(2026, 10, 10), None, "S1-HR")
    assert case.clocks["acceptance_notice"].met_on is None


def test_a_petition_office_owes_the_transfer_and_the_notice_within_the_same_fifteen_days():
    case, caused = fold([registered(), ASSIGNED])
    notice = case.clocks["acceptance_notice"]
    assert notice.basis == "《信访工作条例》第二十二条第一款、第二十三条第二款" and notice.met_on is None
    # the department of the same company takes over the company's notice duty: no 转送 clocks
    assert "transferred_notice" not in case.clocks and notice.unit == "S1-XFB"
    case, _ = fold([ev.CaseAccepted(case_id="c", unit="S1-HR", accepted_on=date(2026, 9, 27), automatic=True)], case)
    assert case.clocks["acceptance_notice"].met_on == date(2026, 9, 27)


def test_the_same_clocks_whatever_order_registration_and_decisions_arrive_in():
    events = [registered(), ASSIGNED, ev.CaseAccepted(case_id="c", unit="S1-HR", accepted_on=date(2026, 9, 27),
                                                      automatic=True, category="申诉求决类")]
    results = set()
    for order in itertools.permutations(events):
        case, _ = fold(list(order))
        results.add(tuple(sorted((k.name, k.due_on, k.met_on, k.late) for k in case.clocks.values())))
    assert len(results) == 1
    clocks = {name: (due, met) for name, due, met, _ in results.pop()}
    assert clocks["acceptance_notice"] == (date(2026, 10, 10), date(2026, 9, 27))
    assert clocks["handling"][0] == date(2026, 11, 26)  # 2026-09-27 + 60 days


def test_an_acceptance_whose_sixtieth_day_is_national_day_ends_after_the_holiday():
    case = accepted(on=date(2026, 8, 2))
    handling = case.clocks["handling"]
    assert (handling.rolled_from, handling.due_on) == (date(2026, 10, 1), date(2026, 10, 8))
    assert handling.basis == "《信访工作条例》第三十四条"


def test_periods_other_than_appeals_are_the_groups_and_say_so():
    case = accepted(category="咨询类")
    handling = case.clocks["handling"]
    assert handling.period == 15 and "集团" in handling.basis


def test_a_transfer_to_another_company_gives_it_fifteen_days_or_five_working_days_to_object():
    case, _ = fold([registered(), ASSIGNED,
                    ev.CaseAssigned(case_id="c", unit="S2-HR", subsidiary="S2", rule_id="转送", basis="b", mode="转送",
                                    previous_unit="S1-HR", first_unit="S1-HR", moves=1, on=date(2026, 9, 28))])
    notice, objection = case.clocks["transferred_notice"], case.clocks["objection"]
    assert (notice.unit, notice.due_on, "第二十三条第三款" in notice.basis) == ("S2-HR", date(2026, 10, 13), True)
    # 5 working days from Monday 2026-09-28: 09-29, 09-30, then the National Day week, 10-08, 10-09, 10-10 (调休)
    assert (objection.unit_of_period, objection.due_on) == ("working_days", date(2026, 10, 10))
    assert case.clocks["acceptance_notice"].met_on == date(2026, 9, 28)  # the sender told where it went
    late, _ = fold([ev.ObjectionRaised(case_id="c", unit="S2-HR", sender="S1-HR", reason_sealed="r",
                                       on=date(2026, 10, 12))], case)
    assert late.clocks["objection"].met_on == date(2026, 10, 12) and late.clocks["objection"].late


def test_an_assignment_with_a_report_date_and_a_fourth_transfer_bring_a_report_clock_and_a_duban():
    case, _ = fold([registered(), ASSIGNED])
    moved = ev.CaseAssigned(case_id="c", unit="S2-HR", subsidiary="S2", rule_id="交办", basis="b", mode="交办",
                            previous_unit="S1-HR", first_unit="S1-HR", moves=4, on=date(2026, 9, 28),
                            report_due_on=date(2026, 10, 30))
    case, caused = fold([moved], case)
    assert case.clocks["report"].due_on == date(2026, 10, 30) and "第二十二条" in case.clocks["report"].basis
    [order] = [e for e in caused if isinstance(e, ev.OrderIssued)]
    assert (order.ground, order.to_unit, order.issued_by) == ("推诿", "S2-HR", "S2-XFB")


def test_refusal_stops_every_clock_it_settles():
    case, _ = fold([registered(), ASSIGNED, ev.CaseRejected(case_id="c", unit="S1-HR", reason_sealed="r",
                                                            legal_channel="诉讼", rejected_on=date(2026, 9, 30))])
    assert case.stage == "rejected" and case.clocks["acceptance_notice"].met_on == date(2026, 9, 30)
    assert "handling" not in case.clocks


def test_an_urgent_registration_tells_every_level_above_at_once():
    _, caused = fold([registered(urgent=True, receiving_unit="S1-U1")])
    [urgent] = [e for e in caused if isinstance(e, ev.UrgentFlagged)]
    assert urgent.notified == ["S1-XFB", "HQ-XFB"]


def test_joint_handling_subtasks_are_clocks_of_the_assisting_units():
    case = accepted()
    case, _ = fold([ev.JointHandlingSet(case_id="c", lead_unit="S1-HR", on=date(2026, 9, 28), subtasks=[
        ev.Subtask(unit="S1-SB", task_sealed="t", due_on=date(2026, 10, 12))])], case)
    sub = case.clocks["subtask:S1-SB"]
    assert (sub.unit, sub.due_on) == ("S1-SB", date(2026, 10, 12))
    case, _ = fold([ev.SubtaskReported(case_id="c", unit="S1-SB", report_sealed="r", on=date(2026, 10, 9))], case)
    assert case.clocks["subtask:S1-SB"].met_on == date(2026, 10, 9)


# -- people's acts ---------------------------------------------------------------------------------------------


def test_the_extension_is_once_at_most_thirty_days_and_before_the_period_ends():
    case = accepted()  # handling due 2026-11-26
    with pytest.raises(SupervisionError, match="不得超过30日"):
        dom.extend_handling(case, 31, "r", "s1-leader", date(2026, 11, 1), CTX.cal)
    with pytest.raises(SupervisionError, match="届满"):
        dom.extend_handling(case, 30, "r", "s1-leader", date(2026, 11, 27), CTX.cal)
    [ext] = dom.extend_handling(case, 30, "r", "s1-leader", date(2026, 11, 1), CTX.cal)
    assert isinstance(ext, ev.DeadlineExtended) and ext.due_on == date(2026, 12, 28)  # 11-26 + 30 = Sat 12-26
    case = act(case, [ext])
    assert case.clocks["handling"].original_due_on == date(2026, 11, 26)
    with pytest.raises(SupervisionError, match="只能延长一次"):
        dom.extend_handling(case, 5, "r", "s1-leader", date(2026, 11, 2), CTX.cal)


def test_a_hearing_pause_is_not_counted():
    case = accepted()
    case = act(case, dom.pause_clock(case, "handling", "听证", date(2026, 10, 9)))
    assert case.clocks["handling"].paused_on == date(2026, 10, 9)
    assert tick(case, date(2027, 3, 1), CTX) == []  # a paused clock is never breached
    [resumed] = dom.resume_clock(case, "handling", date(2026, 10, 19), CTX.cal)
    assert resumed.paused_days == 10 and resumed.due_on == date(2026, 12, 7)  # 11-26 + 10 = Sunday 12-06
    with pytest.raises(SupervisionError, match="只有办理"):
        dom.pause_clock(case, "acceptance_notice", "听证", date(2026, 10, 9))


def test_a_reply_is_reviewed_before_it_is_served_and_serving_stops_the_clock():
    case = accepted()
    with pytest.raises(SupervisionError, match="审核同意"):
        dom.serve_reply(case, date(2026, 10, 20), "当面", "签收", CTX)
    case = act(case, dom.draft_reply(case, "支持", "wages", "sealed", "S1-HR", date(2026, 10, 15)))
    with pytest.raises(SupervisionError, match="尚待审核"):
        dom.draft_reply(case, "支持", "wages", "sealed", "S1-HR", date(2026, 10, 15))
    case = act(case, dom.review_draft(case, False, "s1-leader", "改", date(2026, 10, 16)))
    with pytest.raises(SupervisionError, match="审核同意"):
        dom.serve_reply(case, date(2026, 10, 20), "当面", "签收", CTX)
    case = act(case, dom.draft_reply(case, "支持", "wages", "sealed2", "S1-HR", date(2026, 10, 17)))
    case = act(case, dom.review_draft(case, True, "s1-leader", None, date(2026, 10, 18)))
    events = dom.serve_reply(case, date(2026, 10, 20), "邮寄", "签收", CTX)
    case = act(case, events)
    assert case.stage == "replied" and case.clocks["handling"].met_on == date(2026, 10, 20)
    window = case.clocks["review_request_window"]
    assert (window.kind, window.due_on, "第三十五条" in window.basis) == ("window", date(2026, 11, 19), True)
    assert case.clocks["evaluation"].kind == "window" and case.clocks["execution"].unit == "S1-HR"


def test_evaluation_of_two_targets_and_a_dissatisfied_petitioner_owed_a_followup():
    case = served()
    case = act(case, dom.evaluate(case, "petition_office", "满意", "电话", "petition_office", None, date(2026, 10, 22), CTX))
    with pytest.raises(SupervisionError, match="已评价"):
        dom.evaluate(case, "petition_office", "满意", "电话", "petition_office", None, date(2026, 10, 22), CTX)
    events = dom.evaluate(case, "responsible_unit", "不满意", "查询码", "petitioner", None, date(2026, 10, 23), CTX)
    assert {type(e) for e in events} >= {ev.EvaluationRecorded, ev.FollowUpRequired, ev.DeadlineMet}
    case = act(case, events)
    assert case.clocks["evaluation"].met_on == date(2026, 10, 23) and case.clocks["followup"].open
    case = act(case, dom.record_followup(case, "S1-XFB", "sealed", False, date(2026, 10, 25)))
    assert case.clocks["followup"].met_on == date(2026, 10, 25)
    case = act(case, dom.order_rehandling(case, "S1-XFB", "sealed", date(2026, 10, 26), CTX))
    assert case.stage == "rehandling" and case.clocks["rehandling"].unit == "S1-HR"


def test_an_evaluation_window_that_closes_makes_the_targets_expired():
    case = served()
    due = tick(case, date(2026, 12, 31), CTX)
    expired = [e.target for e in due if isinstance(e, ev.EvaluationExpired)]
    assert expired == ["petition_office", "responsible_unit"]
    case = act(case, due)
    with pytest.raises(SupervisionError, match="超期未评价"):
        dom.evaluate(case, "petition_office", "满意", "电话", "petition_office", None, date(2026, 12, 31), CTX)


def test_a_review_request_on_day_thirty_one_is_refused_with_the_article_and_the_dates():
    case = served(on=date(2026, 10, 20))  # the window runs to 2026-11-19
    with pytest.raises(SupervisionError, match="第三十五条") as refused:
        dom.request_review(case, "复查", date(2026, 11, 20), CTX)
    assert "2026-10-20" in str(refused.value) and "2026-11-19" in str(refused.value)
    assert refused.value.detail["due_on"] == "2026-11-19"
    events = dom.request_review(case, "复查", date(2026, 11, 19), CTX)
    case = act(case, events)
    [req] = [e for e in events if isinstance(e, ev.ReviewRequested)]
    assert req.reviewing_unit == "HQ-XFB" and case.stage == "reviewing"  # a department of S1 -> the group
    assert case.clocks["review"].due_on == date(2026, 12, 21)  # 11-19 + 30 = Saturday 12-19


def test_review_then_re_review_then_final():
    case, _ = fold([registered(), ASSIGNED,
                    ev.CaseAssigned(case_id="c", unit="S1-U1", subsidiary="S1", rule_id="交办", basis="b", mode="交办",
                                    previous_unit="S1-HR", first_unit="S1-HR", moves=1, on=date(2026, 9, 26),
                                    report_due_on=date(2026, 11, 30)),
                    ev.CaseAccepted(case_id="c", unit="S1-U1", accepted_on=date(2026, 9, 27), automatic=False)])
    case = act(case, dom.draft_reply(case, "不支持", "general-refuse", "s", "S1-U1", date(2026, 10, 15)))
    case = act(case, dom.review_draft(case, True, "lead", None, date(2026, 10, 15)))
    case = act(case, dom.serve_reply(case, date(2026, 10, 16), "当面", "签收", CTX))
    case = act(case, dom.request_review(case, "复查", date(2026, 10, 20), CTX))
    assert case.review("复查").reviewing_unit == "S1-XFB"  # 站段 -> its company
    with pytest.raises(SupervisionError, match="复查意见作出后"):
        dom.request_review(case, "复核", date(2026, 10, 25), CTX)
    case = act(case, dom.issue_opinion(case, "复查", "维持", "s", "S1-XFB", date(2026, 11, 2), CTX))
    assert case.clocks["re_review_request_window"].due_on == date(2026, 12, 2)
    case = act(case, dom.request_review(case, "复核", date(2026, 11, 10), CTX))
    assert case.review("复核").reviewing_unit == "HQ-XFB" and case.stage == "re_reviewing"
    assert "第三十六条" in case.clocks["re_review"].basis
    events = dom.issue_opinion(case, "复核", "维持", "s", "HQ-XFB", date(2026, 11, 30), CTX)
    case = act(case, events)
    [final] = [e for e in events if isinstance(e, ev.CaseFinalised)]
    assert case.stage == "final" and "第三十六条第三款" in final.basis and final.issue_type == "wages"


def test_the_review_chain_follows_the_organisation_and_leaves_the_group_above_headquarters():
    assert review_body(ORG, "S1-U1") == "S1-XFB"
    assert review_body(ORG, "S1-HR") == "HQ-XFB"
    assert review_body(ORG, "S4-HR") == "HQ-XFB"
    assert review_body(ORG, "HQ-HR") is None
    assert supervision_chain(ORG, "S1-U1") == [("unit", "S1-U1")][:0] + [("subsidiary", "S1-XFB"), ("headquarters", "HQ-XFB")]
    assert supervision_chain(ORG, "S1-HR") == [("subsidiary", "S1-XFB"), ("headquarters", "HQ-XFB")]
    assert supervision_chain(ORG, "HQ-HR") == [("headquarters", "HQ-XFB")]


# -- what time does ---------------------------------------------------------------------------------------------


def test_warnings_then_the_breach_then_a_duban_that_escalates_when_unanswered():
    case = accepted()  # handling due 2026-11-26
    case = act(case, dom.note_progress(case, "s", "S1-HR", False, date(2026, 10, 1)))  # (not untouched)
    [warned] = tick(case, date(2026, 11, 21), CTX)
    assert isinstance(warned, ev.DeadlineWarned) and warned.days_left == 5
    case = act(case, [warned])
    assert tick(case, date(2026, 11, 22), CTX) == []  # warned once per threshold
    [second] = tick(case, date(2026, 11, 24), CTX)
    assert second.days_left == 2
    case = act(case, [second])
    due = tick(case, date(2026, 11, 27), CTX)
    breach, order, feedback = due
    assert isinstance(breach, ev.DeadlineBreached) and breach.on == date(2026, 11, 27)
    assert isinstance(order, ev.OrderIssued) and (order.ground, order.level, order.to_unit) == ("overdue", "subsidiary", "S1-HR")
    assert order.clock == "handling" and feedback.clock == "order:1"
    case = act(case, due)
    assert tick(case, date(2026, 11, 28), CTX) == []  # one breach, one order
    up = tick(case, feedback.due_on + timedelta(days=1), CTX)
    escalated = [e for e in up if isinstance(e, ev.OrderEscalated)]
    assert escalated and (escalated[0].level, escalated[0].issued_by) == ("headquarters", "HQ-XFB")
    case = act(case, up)
    case = act(case, dom.order_feedback(case, 1, "S1-HR", "sealed", case.clocks["order:1"].due_on))
    assert case.orders[0].feedback_on is not None and not case.orders[0].late


def test_a_breach_is_dated_by_the_rule_not_by_when_it_is_noticed():
    case = accepted(on=date(2026, 1, 5))
    breach = tick(case, date(2026, 12, 1), CTX)[0]
    assert breach.on == case.clocks["handling"].due_on + timedelta(days=1)


def test_a_case_untouched_for_half_its_time_is_flagged_once():
    case = accepted()  # 2026-09-27 .. 2026-11-26
    flagged = [e for e in tick(case, date(2026, 10, 28), CTX) if isinstance(e, ev.CaseUntouched)]
    assert flagged and flagged[0].last_progress_on is None
    case = act(case, flagged)
    assert not [e for e in tick(case, date(2026, 10, 29), CTX) if isinstance(e, ev.CaseUntouched)]
    noted = act(accepted(), dom.note_progress(accepted(), "s", "S1-HR", False, date(2026, 10, 1)))
    assert not [e for e in tick(noted, date(2026, 10, 28), CTX) if isinstance(e, ev.CaseUntouched)]
    assert dom.next_check_on(noted, CTX.policy) > date(2026, 10, 28)  # nothing left for the ticker to retry


def test_a_backdated_registration_is_breached_at_once_and_brings_one_order():
    case, caused = fold([registered(received_at=datetime(2026, 1, 5, 2, tzinfo=UTC))])
    due = tick(case, date(2026, 12, 1), CTX)
    orders = [e for e in due if isinstance(e, ev.OrderIssued)]
    assert [o.clock for o in orders] == ["acceptance_notice"]
    assert {e.clock for e in due if isinstance(e, ev.DeadlineSet)} == {"order:1"}
    # two breaches in one tick: each gets its own order number
    case = act(case, due)
    case = case.model_copy(update={"clocks": {**case.clocks, "objection": case.clocks["acceptance_notice"].model_copy(
        update={"name": "objection", "breached_on": None})}})
    later = tick(case.model_copy(update={"clocks": {**case.clocks, "report": case.clocks["objection"].model_copy(
        update={"name": "report"})}}), date(2026, 12, 1), CTX)
    assert sorted(o.order_no for o in later if isinstance(o, ev.OrderIssued)) == [2]


def test_a_case_sent_to_another_organisation_after_acceptance_is_accepted_there_anew():
    case = accepted()
    moved = ev.CaseAssigned(case_id="c", unit="S1-U1", subsidiary="S1", rule_id="交办", basis="b", mode="交办",
                            previous_unit="S1-HR", first_unit="S1-HR", moves=1, on=date(2026, 10, 9),
                            report_due_on=date(2026, 12, 30), needs_acceptance=True)
    case, _ = fold([moved], case)
    assert case.clocks["handling"].cancelled_on == date(2026, 10, 9) and case.stage == "assigned"
    assert case.clocks["transferred_notice"].unit == "S1-U1" and case.clocks["objection"].open
    case, _ = fold([ev.CaseAccepted(case_id="c", unit="S1-U1", accepted_on=date(2026, 10, 12), automatic=False)], case)
    assert case.clocks["handling"].starts_on == date(2026, 10, 12) and case.clocks["handling"].unit == "S1-U1"
    assert case.clocks["transferred_notice"].met_on == date(2026, 10, 12)
    assert case.clocks["objection"].cancelled_on == date(2026, 10, 12)


def test_a_joint_mediation_and_a_joint_meetings_decisions_are_clocks_met_by_their_outcome():
    d = date(2026, 11, 2)
    case, out = fold([ev.MediationScheduled(case_id="c", no=1, parties=["GOV-TJW"], meeting_at=datetime(2026, 11, 5, 1),
                                            place="调解室", due_on=date(2026, 11, 20), on=d),
                      ev.JointMeetingRecorded(case_id="c", meeting_id="0123456789ab", held_on=d, parties=["GOV"],
                                              units=["S1-HR"], on=d, decisions=[ev.MeetingDecision(
                                                  no=1, text_sealed="s", owner="S1-HR", due_on=date(2026, 11, 16))])],
                     case=accepted())
    assert case.clocks["mediation:1"].due_on == date(2026, 11, 20)
    assert case.clocks["meeting:01234567.1"].unit == "S1-HR"
    case, _ = fold([ev.MediationConcluded(case_id="c", no=1, result="调解成功", text_sealed="s", on=d),
                    ev.MeetingActionDone(case_id="c", meeting_id="0123456789ab", decision_no=1, on=d)], case=case)
    assert case.clocks["mediation:1"].met_on == d and case.clocks["meeting:01234567.1"].met_on == d
