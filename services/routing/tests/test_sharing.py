"""厂地联动 rules, pure: who may be given what of a case."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from backbone.auth import OrgTree
from routing import sharing as sh

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
POLICY = sh.Policy.model_validate(yaml.safe_load((SEED / "sharing.yaml").read_text(encoding="utf-8"))).check(ORG)
D = date(2026, 11, 20)


def share(**over):
    args = dict(case_id="c", category="申诉求决类", accused_unit=None, accused_principals=(), subsidiary="S1",
                party_id="GOV-RSJ", preset="facts", purpose="社保移交衔接", basis="依据", on=D)
    return sh.share(POLICY, **{**args, **over})


def test_a_share_carries_the_presets_fields_purpose_and_basis():
    [e] = share()
    assert (e.party, e.party_type, e.preset, e.purpose) == ("GOV-RSJ", "hrss", "facts", "社保移交衔接")
    assert "summary" in e.fields and "contact" not in e.fields


@pytest.mark.parametrize("over, why", [
    ({"category": "检举控告类"}, "检举控告"),
    ({"accused_unit": "S1-U1"}, "检举控告"),
    ({"accused_principals": ("s1-u1-leader",)}, "检举控告"),
    ({"party_id": "S1-HR"}, "外部协作方"),
    ({"subsidiary": "S3"}, "属地"),
    ({"party_id": "UNION-S1", "preset": "facts_with_id"}, "不得提供"),
    ({"party_id": "GOV-PCS", "preset": "facts_with_contact"}, "不得提供"),
    ({"preset": "everything"}, "共享范围"),
    ({"purpose": "好奇"}, "共享目的"),
])
def test_what_may_not_be_shared(over, why):
    with pytest.raises(sh.SharingError, match=why):
        share(**over)


def test_the_rule_shares_social_insurance_cases_with_the_localitys_office_and_never_an_accusation():
    args = dict(case_id="c", category="申诉求决类", issue_type="social_insurance_transfer", accused_unit=None,
                accused_principals=(), subsidiary="S1", on=D)
    [e] = sh.by_rule(POLICY, **args)
    assert (e.party, e.preset, e.rule_id) == ("GOV-RSJ", "facts_with_id", "social-insurance-to-hrss")
    assert sh.by_rule(POLICY, **{**args, "subsidiary": "S3"}) == []  # no 人社 office covers S3
    assert sh.by_rule(POLICY, **{**args, "issue_type": "wages"}) == []
    assert sh.by_rule(POLICY, **{**args, "category": "检举控告类"}) == []


def test_revoking_or_acting_needs_a_share():
    shares = {"GOV-JD": sh.Share(party="GOV-JD", preset="facts", fields=("case_no",), purpose="联合走访", since=D)}
    assert sh.revoke("c", shares, "GOV-JD", None, D)[0].party == "GOV-JD"
    with pytest.raises(sh.SharingError):
        sh.revoke("c", shares, "GOV-RSJ", None, D)
    assert sh.coordinate("c", shares, "GOV-JD", "on_site_visit", None, [], D)[0].action == "on_site_visit"
    with pytest.raises(sh.SharingError):
        sh.coordinate("c", shares, "GOV-TJW", "contact_made", None, [], D)


def test_an_identity_preset_must_name_who_may_receive_it():
    with pytest.raises(ValueError, match="party types"):
        sh.Preset(name="x", fields=("summary", "contact"))


def test_a_mediation_needs_shared_parties_and_has_one_outcome():
    shares = {"GOV-TJW": sh.Share(party="GOV-TJW", preset="facts", fields=("case_no",), purpose="联合调解", since=D)}
    with pytest.raises(sh.SharingError, match="先共享"):
        sh.schedule_mediation("c", shares, (), ["GOV-JD"], None, "调解室", D, D)
    with pytest.raises(sh.SharingError, match="早于"):
        sh.schedule_mediation("c", shares, (), ["GOV-TJW"], None, "调解室", date(2026, 11, 1), D)
    [e] = sh.schedule_mediation("c", shares, (), ["GOV-TJW"], "2026-11-25T09:00:00+08:00", "调解室", date(2026, 12, 1), D)
    assert e.no == 1
    done = (sh.Mediation(no=1, parties=("GOV-TJW",), due_on=D, result="调解成功"),)
    with pytest.raises(sh.SharingError, match="已有结果"):
        sh.conclude_mediation("c", done, 1, "调解不成", "s", D)
    with pytest.raises(sh.SharingError, match="没有第2次"):
        sh.conclude_mediation("c", done, 2, "调解不成", "s", D)


def test_a_meeting_decision_is_reported_done_by_its_owner_or_above():
    tasks = (sh.MeetingTask(meeting_id="m", no=1, owner="S1-HR", due_on=D),)
    assert sh.action_done("c", tasks, "m", 1, "S1", ORG, D)[0].decision_no == 1
    with pytest.raises(sh.SharingError, match="责任单位"):
        sh.action_done("c", tasks, "m", 1, "S2-HR", ORG, D)
    with pytest.raises(sh.SharingError, match="没有"):
        sh.action_done("c", tasks, "m", 2, "S1-HR", ORG, D)
