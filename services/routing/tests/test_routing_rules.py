"""Routing decisions from the rule table and the seed organisation tree (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backbone.auth import OrgTree
from routing.domain import NoResponsibleUnit, PetitionFacts, RoutingCase, RoutingError, RuleTable, check_target, decide

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
TABLE = RuleTable.load(SEED / "routing-rules.yaml", SEED / "taxonomy.yaml")


def facts(**over) -> PetitionFacts:
    base = dict(case_id="c", receiving_unit="S1-XFB", petitioner_unit="S1-U2", subsidiary="S1",
                category="申诉求决类", issue_type="wages", accused_unit=None)
    base.update(over)
    return PetitionFacts(**base)


@pytest.mark.parametrize("issue_type, unit", [
    ("wages", "S1-HR"), ("retirement_benefits", "S1-LTX"), ("social_insurance_transfer", "S1-SB"),
    ("work_injury", "S1-AQ"), ("housing", "S1-HQB"), ("three_supplies", "S1-ZC"), ("other", "S1-XFB"),
])
def test_issue_type_routes_inside_the_petitioners_subsidiary(issue_type, unit):
    d = decide(facts(issue_type=issue_type), TABLE, ORG)
    assert d.unit == unit and d.rule.auto_accept


@pytest.mark.parametrize("accused, unit", [
    ("S1-U1", "S1-JW"),  # a grass-roots unit: its subsidiary's discipline committee
    ("S1", "HQ-JJ"),  # a subsidiary itself: headquarters' discipline inspection
    ("S1-JW", "HQ-JJ"),  # the discipline committee itself: never to the accused
    ("S2-HR", "S2-JW"),
])
def test_accusation_goes_to_discipline_one_level_above_the_accused(accused, unit):
    d = decide(facts(category="检举控告类", issue_type="cadre_conduct", accused_unit=accused), TABLE, ORG)
    assert d.unit == unit
    assert not ORG.is_within(d.unit, accused)
    assert not d.rule.auto_accept and "第三十条" in d.rule.basis


def test_headquarters_matter_stays_at_headquarters():
    d = decide(facts(receiving_unit="HQ-XFB", petitioner_unit=None, subsidiary=None), TABLE, ORG)
    assert d.unit == "HQ-HR"


def test_inquiry_goes_to_the_petition_office():
    assert decide(facts(category="咨询类"), TABLE, ORG).unit == "S1-XFB"


def test_reassignment_to_the_accused_or_below_is_refused():
    f = facts(category="检举控告类", accused_unit="S1")
    case = RoutingCase(facts=f, case_no="n", received_at="2026-11-20T01:00:00Z", category=f.category,
                       issue_type=f.issue_type, accused_unit="S1")
    with pytest.raises(RoutingError, match="第三十条"):
        check_target(case, "S1-HR", ORG)
    check_target(case, "HQ-JJ", ORG)
    with pytest.raises(RoutingError, match="未知的单位"):
        check_target(case, "NOPE", ORG)
    with pytest.raises(RoutingError, match="厂地联动"):
        check_target(case, "GOV", ORG)


def test_no_unit_is_an_error_not_a_guess():
    with pytest.raises(NoResponsibleUnit):
        decide(facts(receiving_unit="UNION", subsidiary=None, petitioner_unit=None), TABLE, ORG)
