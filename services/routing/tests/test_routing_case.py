"""A case's routing life, pure: routing a registration, and the decisions people make on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from backbone.auth import OrgTree
from backbone.contracts import CaseAccepted, CaseAssigned, CaseRejected, CaseUnroutable, PetitionRegistered
from routing.domain import (
    RoutingError,
    RuleTable,
    accept,
    evolve,
    petition_office_for,
    reassign,
    registered,
    reject,
    route,
)

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
TABLE = RuleTable.load(SEED / "routing-rules.yaml", SEED / "taxonomy.yaml")
TODAY = date(2026, 11, 25)


def petition(**over) -> PetitionRegistered:
    base = dict(case_id="c1", case_no="XF-2026-000001", channel="来信", received_at=datetime(2026, 11, 20, 1, tzinfo=UTC),
                receiving_unit="S1-XFB", subsidiary="S1", anonymous=False, petitioner_count=1, petitioner_unit="S1-U2",
                category="申诉求决类", issue_type="wages", summary_sealed="s")
    return PetitionRegistered(**{**base, **over})


def routed(**over):
    case = registered(petition(**over))
    events = route(case, TABLE, ORG, TODAY)
    for e in events:
        case = evolve(case, e)
    return case, events


def test_a_rule_that_accepts_assigns_and_accepts_in_one_go():
    case, events = routed()
    assert [type(e) for e in events] == [CaseAssigned, CaseAccepted]
    assert events[0].unit == "S1-HR" and events[0].rule_id == "by-issue-type" and "第五条" in events[0].basis
    assert events[1].accepted_on == TODAY and events[1].automatic
    assert (case.unit, case.status, case.version) == ("S1-HR", "accepted", 2)


def test_acceptance_is_never_dated_before_receipt():
    _, events = routed(received_at=datetime(2026, 12, 1, 1, tzinfo=UTC))
    assert events[1].accepted_on == date(2026, 12, 1)


def test_an_accusation_waits_for_discipline_inspection_to_decide():
    case, events = routed(category="检举控告类", issue_type="cadre_conduct", accused_unit="S1-U1")
    assert [type(e) for e in events] == [CaseAssigned] and events[0].unit == "S1-JW"
    assert (case.status, case.version) == ("assigned", 1)


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


def test_accept_and_reject_only_an_assigned_case():
    case, _ = routed(category="检举控告类", issue_type="cadre_conduct", accused_unit="S1-U1")
    [accepted] = accept(case, TODAY)
    assert isinstance(accepted, CaseAccepted) and not accepted.automatic and accepted.unit == "S1-JW"
    [rejected] = reject(case, "sealed-reason", "劳动人事争议仲裁", TODAY)
    assert isinstance(rejected, CaseRejected) and rejected.reason_sealed == "sealed-reason"
    done = evolve(case, rejected)
    assert (done.status, done.legal_channel) == ("rejected", "劳动人事争议仲裁")
    for decided in (evolve(case, accepted), done):
        with pytest.raises(RoutingError):
            accept(decided, TODAY)
        with pytest.raises(RoutingError):
            reject(decided, "x", None, TODAY)
    unroutable, _ = routed(receiving_unit="HQ-XFB", subsidiary="S4", petitioner_unit="S4-U1",
                           issue_type="retirement_benefits")
    with pytest.raises(RoutingError, match="人工分派"):
        accept(unroutable, TODAY)


def test_reassignment_never_goes_to_the_accused_and_routes_the_unroutable():
    case, _ = routed(category="检举控告类", issue_type="cadre_conduct", accused_unit="S1-U1")
    for target in ("S1-U1",):
        with pytest.raises(RoutingError, match="第三十条"):
            reassign(case, target, "r", ORG)
    with pytest.raises(RoutingError, match="已由该单位承办"):
        reassign(case, "S1-JW", "r", ORG)
    with pytest.raises(RoutingError, match="未知的单位"):
        reassign(case, "NOWHERE", "r", ORG)
    [moved] = reassign(case, "HQ-JJ", "sealed", ORG)
    assert (moved.unit, moved.previous_unit, moved.rule_id) == ("HQ-JJ", "S1-JW", "manual")
    unroutable, _ = routed(receiving_unit="HQ-XFB", subsidiary="S4", petitioner_unit="S4-U1",
                           issue_type="retirement_benefits")
    [assigned] = reassign(unroutable, "S4-HR", "sealed", ORG)
    after = evolve(unroutable, assigned)
    assert (after.status, after.unit, after.unroutable_reason) == ("assigned", "S4-HR", None)
    rejected = replace(case, status="rejected")
    with pytest.raises(RoutingError, match="不予受理"):
        reassign(rejected, "S1-HR", "r", ORG)
