"""Detection rules, pure: each rule on the registrations it should and should not flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from backbone.auth import OrgTree
from intake import detection as d

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
RULES = d.Rules.model_validate(yaml.safe_load((SEED / "detection.yaml").read_text(encoding="utf-8")))
T0 = datetime(2026, 10, 8, 1, tzinfo=UTC)
LETTER = "我是一公司机修车间职工，2026年3月至今单位拖欠我工资共计三个月，多次找车间领导未果，请求集团督促尽快发放。"
OTHER = "一公司北京站段退休职工反映，2025年起养老金调整未按政策落实，要求补发差额并说明计算依据。"


def reg(n: int, *, days: float = 0, unit: str = "S1-XFB", issue: str = "wages", keys=("id:a",), channel: str = "来信",
        competent: str | None = "S1", text: str | None = None, **kw) -> d.Registration:
    sig = d.signature(text, RULES.duplicate_text).values if text else None
    return d.Registration(case_id=f"00000000-0000-0000-0000-{n:012d}", received_at=T0 + timedelta(days=days),
                          receiving_unit=unit, channel=channel, issue_type=issue, keys=frozenset(keys),
                          competent=competent, sig=sig or None, **kw)


def flags(new, others=(), rules=RULES) -> dict[tuple[str, str], d.Finding]:
    return {(f.case_id[-2:], f.flag): f for f in d.detect(new, list(others), ORG, rules)}


def test_the_same_person_on_the_same_matter_within_the_window_is_a_repeat():
    first, second = reg(1), reg(2, days=20)
    f = flags(second, [first])[("02", "repeat")]
    assert f.linked == [first.case_id] and f.suggestion is None


def test_a_repeat_needs_the_same_person_and_the_same_issue():
    assert ("02", "repeat") not in flags(reg(2, days=20), [reg(1, keys=("id:b",))])
    assert ("02", "repeat") not in flags(reg(2, days=20), [reg(1, issue="housing")])
    assert ("02", "repeat") not in flags(reg(2, days=20, keys=()), [reg(1, keys=())])  # nobody to match


def test_after_the_window_only_an_open_case_makes_a_repeat():
    assert ("02", "repeat") in flags(reg(2, days=200), [reg(1)])  # still being handled
    assert ("02", "repeat") not in flags(reg(2, days=200), [reg(1, closed=True)])
    assert ("02", "repeat") in flags(reg(2, days=80), [reg(1, closed=True)])  # closed, but within 90 days


def test_whichever_is_seen_second_the_later_one_is_flagged():
    first, second = reg(1), reg(2, days=3)
    assert set(flags(first, [second])) == set(flags(second, [first])) == {("02", "repeat")}


def test_the_same_matter_raised_higher_while_a_lower_level_handles_it_is_suggested_not_accepted():
    lower, higher = reg(1, unit="S1-XFB"), reg(2, days=10, unit="HQ-XFB")
    f = flags(higher, [lower])[("02", "same_matter_in_handling")]
    assert f.suggestion == "不予受理" and "第十九条第三款" in f.basis and f.linked == [lower.case_id]
    assert ("02", "same_matter_in_handling") not in flags(higher, [reg(1, unit="S1-XFB", closed=True)])
    assert ("02", "same_matter_in_handling") not in flags(reg(2, days=10, unit="S1-HR"), [lower])  # same level


def test_after_re_review_the_same_matter_is_not_accepted_again():
    f = flags(reg(2, days=400), [reg(1, final=True)])[("02", "final_after_re_review")]
    assert f.suggestion == "不再受理" and "第三十六条第三款" in f.basis


def test_one_letter_to_three_offices_with_light_rewording_is_found_even_anonymous():
    texts = [LETTER, "尊敬的集团领导：" + LETTER.replace("拖欠", "欠发").replace("三个月", "3个月"),
             LETTER.replace("请求集团督促尽快发放", "恳请上级督促单位尽快补发") + "望予重视。"]
    a = reg(1, unit="S1-XFB", keys=(), text=texts[0])
    b = reg(2, days=1, unit="HQ-XFB", keys=(), text=texts[1])
    c = reg(3, days=2, unit="S2-XFB", keys=(), text=texts[2])
    assert flags(b, [a])[("02", "duplicate_text")].rule == "one-letter-many-offices"
    f = flags(c, [a, b])[("03", "duplicate_text")]
    assert f.linked == [a.case_id, b.case_id] and f.score >= RULES.duplicate_text.threshold
    assert flags(reg(2, days=1, keys=(), text=texts[1]), [a])[("02", "duplicate_text")].rule == "same-letter-twice"
    assert not flags(reg(4, days=1, keys=(), text=OTHER), [a])
    assert not flags(reg(5, days=400, keys=(), text=texts[1]), [a])  # outside the window


def test_a_text_too_short_to_compare_has_no_signature():
    assert d.signature("工资", RULES.duplicate_text).empty


def test_collective_visits_and_joint_letters():
    visit = reg(1, channel="来访", petitioner_count=5, involved_count=30)
    assert flags(visit)[("01", "collective")].rule == "collective-visit"
    assert flags(reg(1, petitioner_count=3))[("01", "collective")].rule == "joint-letter"
    assert flags(reg(1, involved_count=12))[("01", "collective")].rule == "collective-petition"
    assert not flags(reg(1, petitioner_count=1, involved_count=4))
    assert not flags(reg(1, channel="来访", petitioner_count=3))  # three visitors are not a joint letter


def test_a_subsidiary_matter_registered_first_at_headquarters_is_skip_level_with_guidance():
    f = flags(reg(1, unit="HQ-XFB"))[("01", "skip_level")]
    assert f.guidance and "S1-XFB" in f.guidance and "第二十条" in f.basis
    assert ("01", "skip_level") not in flags(reg(1, unit="S1-XFB"))  # the competent level
    assert ("02", "skip_level") not in flags(reg(2, days=5, unit="HQ-XFB"), [reg(1, unit="S1-U2")])  # lower level had it
    assert ("01", "skip_level") not in flags(reg(1, unit="HQ-XFB", competent=None))  # headquarters' own staff
    assert ("01", "skip_level") not in flags(reg(1, unit="HQ-XFB", channel="工会转办"))
    letter_of_the_law = RULES.model_copy(update={"skip_level": RULES.skip_level.model_copy(
        update={"levels_above_allowed": 1})})
    assert ("01", "skip_level") not in flags(reg(1, unit="HQ-XFB"), rules=letter_of_the_law)


def test_a_frequent_petitioner_is_flagged_from_the_configured_count_in_the_period():
    history = [reg(i, days=i * 30, issue=f"issue{i}", closed=True) for i in range(1, 5)]
    f = flags(reg(9, days=150, issue="other"), history)[("09", "frequent_petitioner")]
    assert len(f.linked) == 4
    assert ("09", "frequent_petitioner") not in flags(reg(9, days=150, issue="other"), history[:3])
    assert ("09", "frequent_petitioner") not in flags(reg(9, days=900, issue="other"), history)


def test_one_finding_per_case_and_flag_with_every_link():
    found = d.detect(reg(3, days=2), [reg(1), reg(2, days=1)], ORG, RULES)
    repeat = [f for f in found if f.case_id.endswith("03") and f.flag == "repeat"]
    assert len(repeat) == 1 and len(repeat[0].linked) == 2


@pytest.mark.parametrize("bad", [{"repeat": {"window_days": 0}}, {"duplicate_text": {"threshold": 2}}, {"nonsense": {}}])
def test_rules_are_validated_data(bad):
    with pytest.raises(ValueError):
        d.Rules.model_validate(bad)


def test_a_later_registration_not_yet_examined_is_left_to_find_all_its_earlier_cases_itself():
    a, b = reg(1), reg(2, days=1)
    c = reg(3, days=2, detected=False)
    assert not [f for f in d.detect(b, [a, c], ORG, RULES) if f.case_id == c.case_id]
    [f] = [f for f in d.detect(c, [a, b], ORG, RULES) if f.flag == "repeat"]
    assert f.linked == [a.case_id, b.case_id]
