"""A case's routing life, pure: routing a registration, classification, acceptance and refusal,
transfers, objections and disputes, and who answers for a case."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from backbone.auth import OrgTree
from backbone.contracts import (
    CaseAccepted,
    CaseAssigned,
    CaseClassified,
    CaseRejected,
    CaseUnroutable,
    HandlerRecused,
    InvestigationRecorded,
    JointHandlingSet,
    LeaderTookCase,
    ObjectionDecided,
    ObjectionRaised,
    PetitionFlagged,
    PetitionRegistered,
    Subtask,
    SubtaskReported,
    TrackSet,
)
from routing import domain as d
from routing.domain import RoutingError, RuleTable, evolve, petition_office_for, registered, route

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
TABLE = RuleTable.load(SEED / "routing-rules.yaml", SEED / "taxonomy.yaml", SEED / "handling.yaml")
ISSUES = frozenset(TABLE.issue_type_kind)
TODAY = date(2026, 11, 25)


def petition(**over) -> PetitionRegistered:
    base = dict(case_id="c1", case_no="XF-2026-000001", channel="来信", received_at=datetime(2026, 11, 20, 1, tzinfo=UTC),
                receiving_unit="S1-XFB", subsidiary="S1", anonymous=False, petitioner_count=1, petitioner_unit="S1-U2",
                category="申诉求决类", issue_type="wages", summary_sealed="s")
    return PetitionRegistered(**{**base, **over})


def fold(case, events):
    for e in events:
        case = evolve(case, e)
    return case


def routed(**over):
    case = registered(petition(**over))
    events = route(case, TABLE, ORG, TODAY)
    return fold(case, events), events


def accusation():
    return routed(category="检举控告类", issue_type="cadre_conduct", accused_unit="S1-U1")[0]


def test_a_rule_that_accepts_assigns_and_accepts_in_one_go():
    case, events = routed()
    assert [type(e) for e in events] == [CaseAssigned, CaseAccepted]
    assert events[0].unit == "S1-HR" and events[0].rule_id == "by-issue-type" and "第五条" in events[0].basis
    assert (events[0].mode, events[0].first_unit, events[0].previous_unit, events[0].on) == ("rule", "S1-HR", "S1-XFB", TODAY)
    assert events[1].accepted_on == TODAY and events[1].automatic and events[1].category == "申诉求决类"
    assert (case.unit, case.status, case.version, case.first_unit, case.sender) == ("S1-HR", "accepted", 2, "S1-HR", "S1-XFB")


def test_acceptance_is_never_dated_before_receipt():
    _, events = routed(received_at=datetime(2026, 12, 1, 1, tzinfo=UTC))
    assert events[1].accepted_on == date(2026, 12, 1)


def test_an_accusation_waits_for_discipline_inspection_to_decide():
    case = accusation()
    assert (case.unit, case.status, case.version) == ("S1-JW", "assigned", 1)


@pytest.mark.parametrize("over, queue", [
    # S4 has neither a retiree office nor a petition office: nothing to route to
    ({"receiving_unit": "HQ-XFB", "subsidiary": "S4", "petitioner_unit": "S4-U1", "issue_type": "retirement_benefits"},
     "HQ-XFB"),
    # an accusation against the whole group has no discipline body above it inside the group
    ({"receiving_unit": "S1-XFB", "category": "检举控告类", "issue_type": "cadre_conduct", "accused_unit": "HQ"},
     "S1-XFB"),
    # a receiving unit the organisation no longer has (renamed or merged since registration)
    ({"receiving_unit": "S9-XFB", "subsidiary": None, "petitioner_unit": None}, "HQ-XFB"),
])
def test_what_no_rule_can_route_waits_in_a_petition_office_queue(over, queue):
    case, events = routed(**over)
    assert len(events) == 1 and isinstance(events[0], CaseUnroutable)
    assert events[0].queue_unit == queue and events[0].reason
    assert (case.unit, case.status, case.unroutable_reason) == (queue, "unroutable", events[0].reason)


def test_the_petition_office_for_a_unit_is_the_nearest_one_above_it():
    assert petition_office_for(ORG, "S1-U2") == "S1-XFB"
    assert petition_office_for(ORG, "S1-XFB") == "S1-XFB"
    assert petition_office_for(ORG, "S4-U1") == "HQ-XFB"
    assert petition_office_for(ORG, "HQ") == "HQ-XFB"


# -- 依法分类处理 ---------------------------------------------------------------------------------------------


def test_accept_and_reject_only_a_case_not_yet_decided():
    case = accusation()
    [accepted] = d.accept(case, TODAY)
    assert isinstance(accepted, CaseAccepted) and not accepted.automatic and accepted.unit == "S1-JW"
    [rejected] = d.reject(case, "legal_channel", "劳动人事争议仲裁", "sealed-reason", TODAY)
    assert isinstance(rejected, CaseRejected) and rejected.reason_sealed == "sealed-reason"
    assert rejected.basis == "《信访工作条例》第三十一条第（二）项"
    done = evolve(case, rejected)
    assert (done.status, done.legal_channel, done.reject_ground) == ("rejected", "劳动人事争议仲裁", "legal_channel")
    for decided in (evolve(case, accepted), done):
        with pytest.raises(RoutingError):
            d.accept(decided, TODAY)
        with pytest.raises(RoutingError):
            d.reject(decided, "legal_channel", "诉讼", "x", TODAY)
    unroutable, _ = routed(receiving_unit="HQ-XFB", subsidiary="S4", petitioner_unit="S4-U1",
                           issue_type="retirement_benefits")
    with pytest.raises(RoutingError, match="人工分派"):
        d.accept(unroutable, TODAY)


@pytest.mark.parametrize("channel, article", [("诉讼", "第三十一条第（一）项"), ("劳动人事争议仲裁", "第三十一条第（二）项"),
                                              ("党员申诉", "第三十一条第（三）项"), ("行政复议", "第三十一条第（四）项"),
                                              ("其他法定途径", "第三十一条")])
def test_every_legal_channel_cites_its_article(channel, article):
    [e] = d.reject(accusation(), "legal_channel", channel, "r", TODAY)
    assert e.basis.endswith(article) and e.legal_channel == channel


def test_refusal_grounds_need_what_the_statute_needs():
    case = accusation()
    with pytest.raises(RoutingError, match="第三十一条"):
        d.reject(case, "legal_channel", None, "r", TODAY)
    with pytest.raises(RoutingError, match="原案件"):
        d.reject(case, "final_after_re_review", None, "r", TODAY)
    [e] = d.reject(case, "final_after_re_review", None, "r", TODAY, linked_case_id="c0")
    assert e.basis.endswith("第三十六条第三款") and e.linked_case_id == "c0"
    [e] = d.reject(case, "same_matter_in_handling", None, "r", TODAY, linked_case_id="c0")
    assert e.basis.endswith("第十九条第三款")


def test_a_decision_is_never_dated_before_the_petition_was_received():
    with pytest.raises(RoutingError, match="早于收到"):
        d.accept(accusation(), date(2026, 11, 19))


def test_classification_corrects_the_matter_but_an_accusation_stays_with_discipline():
    case, _ = routed(category="建议意见类", issue_type="housing")
    [e] = d.classify(case, "申诉求决类", "housing", None, (), "S1-HQB", TODAY, ORG, ISSUES)
    assert isinstance(e, CaseClassified) and evolve(case, e).category == "申诉求决类"
    with pytest.raises(RoutingError, match="问题类型"):
        d.classify(case, "申诉求决类", "nonsense", None, (), "S1-HQB", TODAY, ORG, ISSUES)
    # naming the unit that holds the case as the accused: it must first go to discipline inspection
    with pytest.raises(RoutingError, match="第三十条"):
        d.classify(case, "检举控告类", "cadre_conduct", "S1-HQB", (), "S1-HQB", TODAY, ORG, ISSUES)
    acc = accusation()
    with pytest.raises(RoutingError, match="纪检监察"):
        d.classify(acc, "申诉求决类", "wages", None, (), "S1", TODAY, ORG, ISSUES)
    [e] = d.classify(acc, "申诉求决类", "wages", None, (), "S1-JW", TODAY, ORG, ISSUES)
    assert e.category == "申诉求决类"


# -- transfers, objections, disputes ---------------------------------------------------------------------------


def test_transfer_counts_moves_keeps_the_first_unit_and_never_reaches_the_accused():
    case = accusation()
    with pytest.raises(RoutingError, match="第三十条"):
        d.transfer(case, "S1-U1", "转送", "r", TODAY, "S1-JW", ORG)
    with pytest.raises(RoutingError, match="已由该单位承办"):
        d.transfer(case, "S1-JW", "转送", "r", TODAY, "S1-JW", ORG)
    with pytest.raises(RoutingError, match="未知的单位"):
        d.transfer(case, "NOWHERE", "转送", "r", TODAY, "S1-JW", ORG)
    # an accusation leaves discipline inspection only by discipline inspection's own decision
    with pytest.raises(RoutingError, match="纪检监察机构决定"):
        d.transfer(case, "S1-HR", "转送", "r", TODAY, "S1", ORG)
    [moved] = d.transfer(case, "S1-HR", "转送", "r", TODAY, "S1-JW", ORG)
    assert (moved.previous_unit, moved.moves, moved.first_unit, moved.mode) == ("S1-JW", 1, "S1-JW", "转送")
    [to_hq] = d.transfer(case, "HQ-JJ", "交办", "sealed", TODAY, "S1-JW", ORG, report_due_on=date(2026, 12, 20))
    after = evolve(case, to_hq)
    assert (after.unit, after.first_unit, after.moves, after.sender, after.report_due_on) == (
        "HQ-JJ", "S1-JW", 1, "S1-JW", date(2026, 12, 20))


def test_assignment_demands_a_report_date_and_four_transfers_are_counted():
    case, _ = routed()
    with pytest.raises(RoutingError, match="报送办理结果的期限"):
        d.transfer(case, "S2-HR", "交办", "r", TODAY, "S1", ORG)
    for target in ("S2-HR", "S3-HR", "S1-LTX", "S2-LTX"):
        case = fold(case, d.transfer(case, target, "转送", "r", TODAY, "HQ", ORG))
    assert (case.unit, case.moves, case.first_unit) == ("S2-LTX", 4, "S1-HR")


def test_the_unroutable_queue_is_routed_by_hand():
    unroutable, _ = routed(receiving_unit="HQ-XFB", subsidiary="S4", petitioner_unit="S4-U1",
                           issue_type="retirement_benefits")
    [assigned] = d.transfer(unroutable, "S4-HR", "转送", "sealed", TODAY, "HQ-XFB", ORG)
    after = evolve(unroutable, assigned)
    assert (assigned.mode, assigned.moves) == ("manual", 0)
    assert (after.status, after.unit, after.unroutable_reason) == ("assigned", "S4-HR", None)


def test_an_objection_goes_back_only_with_the_senders_consent_or_the_common_superior():
    case = accusation()
    case = fold(case, d.transfer(case, "S2-JW", "转送", "r", TODAY, "S1-JW", ORG))
    with pytest.raises(RoutingError, match="没有待决定的异议"):
        d.decide_objection(case, True, "S1-JW", None, TODAY, ORG)
    [objection] = d.object_to(case, "sealed", TODAY)
    assert isinstance(objection, ObjectionRaised) and (objection.unit, objection.sender) == ("S2-JW", "S1-JW")
    objected = evolve(case, objection)
    assert objected.status == "objected"
    with pytest.raises(RoutingError, match="已提出异议"):
        d.object_to(objected, "again", TODAY)
    # agreed: the case returns to the sender
    decided, back = d.decide_objection(objected, True, "S1-JW", None, TODAY, ORG)
    assert isinstance(decided, ObjectionDecided) and decided.agreed
    returned = fold(objected, [decided, back])
    assert (returned.unit, returned.status, back.mode, returned.moves) == ("S1-JW", "assigned", "returned", 2)
    # refused: the two units' common superior decides
    [refused] = d.decide_objection(objected, False, "S1-JW", None, TODAY, ORG)
    assert refused.referred_to == "HQ"
    disputed = evolve(objected, refused)
    assert disputed.status == "disputed" and disputed.referred_to == "HQ"
    with pytest.raises(RoutingError, match="第三十条"):
        d.decide_dispute(disputed, "S1-U1", "r", TODAY, ORG)
    [decision] = d.decide_dispute(disputed, "S3-JW", "r", TODAY, ORG)
    assert (decision.mode, decision.unit) == ("superior_decision", "S3-JW")
    assert evolve(disputed, decision).status == "assigned"


def test_a_unit_that_received_the_petition_itself_has_nobody_to_return_it_to():
    case, _ = routed(receiving_unit="S1-HR", category="检举控告类", issue_type="discipline_violation",
                     accused_unit=None)
    case = case.model_copy(update={"sender": None, "unit": "S1-HR"})
    case = case.model_copy(update={"facts": case.facts.model_copy(update={"receiving_unit": "S1-HR"})})
    with pytest.raises(RoutingError, match="没有可退回"):
        d.object_to(case, "r", TODAY)


# -- responsibility ----------------------------------------------------------------------------------------------


def test_track_leader_handler_and_recusal():
    case, _ = routed()
    [t] = d.set_track(case, "疑难监督办", TABLE, TODAY)
    assert isinstance(t, TrackSet) and t.target_days == 60
    with pytest.raises(RoutingError, match="办理类别"):
        d.set_track(case, "随便办", TABLE, TODAY)
    [leader] = d.take_case(case, "s1-leader", "S1", TODAY, ORG)
    assert isinstance(leader, LeaderTookCase)
    case = fold(case, [t, leader])
    assert (case.track, case.target_days, case.leader) == ("疑难监督办", 60, "s1-leader")
    with pytest.raises(RoutingError, match="已由该领导包案"):
        d.take_case(case, "s1-leader", "S1", TODAY, ORG)
    case = fold(case, d.assign_handler(case, "s1-hr-handler", "S1-HR", TODAY, ORG))
    assert case.handler == "s1-hr-handler"
    with pytest.raises(RoutingError, match="承办单位"):
        d.assign_handler(case, "s2-handler", "S2", TODAY, ORG)
    [recused] = d.recuse(case, "s1-hr-handler", "sealed", "other-handler", TODAY)
    assert isinstance(recused, HandlerRecused)
    case = evolve(case, recused)
    assert case.handler == "other-handler" and case.recused == ("s1-hr-handler",)
    with pytest.raises(RoutingError, match="回避"):
        d.assign_handler(case, "s1-hr-handler", "S1-HR", TODAY, ORG)
    with pytest.raises(RoutingError, match="回避"):
        d.recuse(case, "s1-hr-handler", "again", None, TODAY)


def test_nobody_from_the_accused_side_handles_or_investigates_an_accusation():
    case = accusation()
    case = evolve(case, d.classify(case, "检举控告类", "cadre_conduct", "S1-U1", ("s1-u1-handler",), "S1-JW", TODAY,
                                   ORG, ISSUES)[0])
    with pytest.raises(RoutingError, match="被检举"):
        d.assign_handler(case, "s1-u1-handler", "S1-JW", TODAY, ORG)
    with pytest.raises(RoutingError, match="第三十条"):
        d.record_investigation(case, ["s1-jw-handler"], ["S1-U1"], "sealed", TODAY, ORG)
    with pytest.raises(RoutingError, match="回避"):
        d.record_investigation(case, ["s1-u1-handler"], ["S1-JW"], "sealed", TODAY, ORG)
    [rec] = d.record_investigation(case, ["s1-jw-handler"], ["S1-JW", "S1-DQ"], "sealed", TODAY, ORG)
    assert isinstance(rec, InvestigationRecorded) and rec.record_no == 1
    assert evolve(case, rec).investigations == 1


def test_joint_handling_gives_each_assisting_unit_its_task_and_deadline():
    case, _ = routed()
    tasks = [Subtask(unit="S1-SB", task_sealed="t1", due_on=date(2026, 12, 10)),
             Subtask(unit="S1-LTX", task_sealed="t2", due_on=date(2026, 12, 5))]
    with pytest.raises(RoutingError, match="主办单位"):
        d.joint_handling(case, [Subtask(unit="S1-HR", task_sealed="t", due_on=date(2026, 12, 1))], TODAY, ORG)
    with pytest.raises(RoutingError, match="早于今天"):
        d.joint_handling(case, [Subtask(unit="S1-SB", task_sealed="t", due_on=date(2026, 11, 1))], TODAY, ORG)
    [joint] = d.joint_handling(case, tasks, TODAY, ORG)
    assert isinstance(joint, JointHandlingSet) and joint.lead_unit == "S1-HR"
    case = evolve(case, joint)
    with pytest.raises(RoutingError, match="不是该案件的协办单位"):
        d.report_subtask(case, "S2-HR", "r", TODAY, ORG)
    [report] = d.report_subtask(case, "S1-SB", "sealed", TODAY, ORG)
    assert isinstance(report, SubtaskReported)
    case = evolve(case, report)
    assert [(s.unit, s.reported_on) for s in case.subtasks] == [("S1-SB", TODAY), ("S1-LTX", None)]


def test_a_detection_suggestion_is_kept_beside_the_case_once():
    case, _ = routed()
    flag = PetitionFlagged(case_id="c1", flag="final_after_re_review", rule="r", linked_case_ids=["c0"],
                           suggestion="不再受理", basis="第三十六条第三款")
    once = d.flagged(case, flag)
    assert d.flagged(once, flag) == once and once.suggestions[0].linked_case_ids == ("c0",)
    assert once.version == case.version  # a suggestion is not a decision: routing's stream is unchanged


def test_a_move_to_another_organisation_after_acceptance_must_be_accepted_there():
    case, _ = routed()  # accepted by S1-HR
    [inside] = d.transfer(case, "S1-LTX", "转送", "r", TODAY, "S1", ORG)
    assert not inside.needs_acceptance and evolve(case, inside).status == "accepted"
    [away] = d.transfer(case, "S1-U1", "交办", "r", TODAY, "S1", ORG, report_due_on=date(2026, 12, 30))
    moved = evolve(case, away)
    assert away.needs_acceptance and moved.status == "assigned"
    assert isinstance(d.accept(moved, TODAY)[0], CaseAccepted)


def test_a_matter_final_after_re_review_is_refused_even_if_the_rule_accepted_it_meanwhile():
    case, _ = routed()  # the rule accepted it before intake's detection flagged it
    with pytest.raises(RoutingError, match="已受理"):
        d.reject(case, "legal_channel", "诉讼", "r", TODAY)
    [e] = d.reject(case, "final_after_re_review", None, "r", TODAY, linked_case_id="c0")
    assert evolve(case, e).status == "rejected"
