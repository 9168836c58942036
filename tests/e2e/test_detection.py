"""Intake recognises the person and the pattern, through every service: repeats, the same matter
higher up, 一信多投, collective visits, skip-level petitions, 信访老户, 扬言, channels' own records,
and the classification suggestion."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from tests.e2e.conftest import CHINA

LETTER = ("我是一公司机修车间钳工，自2026年5月起车间以效益不好为由每月只发基本工资，绩效工资和夜班补贴"
          "已拖欠五个月共计一万二千余元，多次找车间主任均推说等公司拨款，请求督促尽快补发。")


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def days_ago(n: float) -> str:
    return (datetime.now(CHINA) - timedelta(days=n)).isoformat(timespec="seconds")


def resident_id() -> str:
    """A valid 18-digit resident ID of a person no other test uses (GB 11643 check digit)."""
    body = f"110101{1960 + secrets.randbelow(40)}0101{secrets.randbelow(1000):03d}"
    w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w)) % 11]


def flagged(api, case_id: str, flag: str, token: str = "demo-hq-xfb-handler") -> dict:
    c = api.case_in_reporting(case_id, token, want=lambda c: flag in c["flags"])
    [event] = [t for t in c["timeline"] if t["type"] == "petition.flagged.v1" and t["detail"]["flag"] == flag]
    return {**c, "finding": event["detail"]}


def test_the_same_id_number_twice_in_twenty_days_on_one_matter_is_a_repeat(api, petition):
    person = {"name": "王五", "id_number": resident_id(), "unit": "S1-U2"}
    first = ok(api.register(petition(received_at=days_ago(20), petitioners=[person])), 201)
    second = ok(api.register(petition(received_at=days_ago(0.1), petitioners=[{**person, "name": "王 五"}],
                                      summary="再次反映绩效工资问题")), 201)
    c = flagged(api, second["case_id"], "repeat")
    assert c["finding"]["linked_case_ids"] == [first["case_id"]] and c["first_time"] is False
    assert api.case_in_reporting(first["case_id"])["first_time"] is True
    # another matter of the same person is not a repeat of this one
    other = ok(api.register(petition(received_at=days_ago(0.1), petitioners=[person], issue_type="housing")), 201)
    assert "repeat" not in api.case_in_reporting(other["case_id"], want=lambda c: c["stage"])["flags"]


def test_the_same_matter_at_headquarters_while_the_subsidiary_handles_it_is_suggested_not_accepted(api, petition):
    person = {"name": "赵六", "id_number": resident_id(), "unit": "S1-U2"}
    lower = ok(api.register(petition(received_at=days_ago(5), petitioners=[person])), 201)
    higher = ok(api.register(petition(receiving_unit="HQ-XFB", petitioners=[person]), token="demo-hq-registrar"), 201)
    c = flagged(api, higher["case_id"], "same_matter_in_handling")
    assert c["finding"]["linked_case_ids"] == [lower["case_id"]] and c["suggestion"] == "不予受理"
    assert "第十九条第三款" in c["finding"]["basis"]
    assert "skip_level" not in c["flags"]  # the lower level had it first


def test_a_letter_sent_to_three_offices_with_light_rewording_is_linked_even_anonymous(api, petition):
    texts = [LETTER,
             "尊敬的集团领导：" + LETTER.replace("拖欠", "欠发").replace("五个月", "5个月") + "恳请关注。",
             LETTER.replace("请求督促尽快补发", "望上级领导督促公司尽快把拖欠的工资补发到位")]
    ids = []
    for unit, token, text in zip(("S1-XFB", "HQ-XFB", "S2-XFB"), ("demo-s1-registrar", "demo-hq-registrar",
                                                                   "demo-s2-registrar"), texts):
        body = petition(receiving_unit=unit, anonymous=True, petitioners=[], summary=text, received_at=days_ago(1))
        ids.append(ok(api.register(body, token=token), 201)["case_id"])
    second, third = (flagged(api, i, "duplicate_text") for i in ids[1:])
    assert second["finding"]["linked_case_ids"] == ids[:1] and second["finding"]["rule"] == "one-letter-many-offices"
    assert set(third["finding"]["linked_case_ids"]) == set(ids[:2]) and third["finding"]["score"] >= 0.22
    assert "duplicate_text" not in api.case_in_reporting(ids[0])["flags"]
    # a different matter from the same workshop is not a duplicate
    other = petition(anonymous=True, petitioners=[], received_at=days_ago(1),
                     summary="机修车间食堂饭菜价格半年内上涨三成，质量却越来越差，建议公司公开食堂账目并引入职工监督。")
    other_id = ok(api.register(other), 201)["case_id"]
    assert "duplicate_text" not in api.case_in_reporting(other_id, want=lambda c: c["stage"])["flags"]


def test_the_very_same_letter_from_one_person_to_two_offices_is_a_duplicate_with_score_one_and_a_repeat(api, petition):
    # the second registration's match carries no signature of its own (the same text): the rules
    # still compare it, as the same letter, and the person's key links it as a repeat
    person = {"name": "钱七", "id_number": resident_id(), "unit": "S1-U2"}
    text = LETTER.replace("钳工", "电工")
    first = ok(api.register(petition(summary=text, petitioners=[person], received_at=days_ago(2))), 201)
    body = petition(receiving_unit="S2-XFB", summary=text, petitioners=[person], received_at=days_ago(1))
    second = ok(api.register(body, token="demo-s2-registrar"), 201)
    c = flagged(api, second["case_id"], "duplicate_text")
    # (earlier runs' copies of the letter, in a database kept between runs, are linked as well)
    assert first["case_id"] in c["finding"]["linked_case_ids"] and c["finding"]["score"] == 1.0
    assert flagged(api, second["case_id"], "repeat")["finding"]["linked_case_ids"] == [first["case_id"]]


def test_thirty_people_with_seven_representatives_are_refused_with_article_twenty(api, petition):
    reps = [{"name": f"代表{i}", "unit": "S1-U2"} for i in range(7)]
    r = api.register(petition(channel="来访", petitioners=reps, involved_count=30,
                              details={"reception_place": "一公司信访接待室", "visitor_count": 30}))
    assert r.status_code == 422
    [problem] = [f for f in r.json()["fields"] if f["field"] == "petitioners"]
    assert "第二十条" in problem["message"]
    five = ok(api.register(petition(channel="来访", petitioners=reps[:5], involved_count=30,
                                    details={"reception_place": "一公司信访接待室", "visitor_count": 30,
                                             "received_by": "接谈人甲", "record": "来访人反映车间拖欠工资"})), 201)
    c = flagged(api, five["case_id"], "collective")
    assert c["finding"]["rule"] == "collective-visit"
    assert (c["petitioner_count"], c["involved_count"], c["visitor_count"], c["person_times"]) == (5, 30, 30, 30)
    # the reception record is kept sealed: intake opens it for those who may read content
    assert "接谈人甲" not in json.dumps(c, ensure_ascii=False)
    # counted for the KPIs: cases flagged, over cases registered, with the formula
    stats = ok(api.call("reporting", "GET", "/stats/detection", "demo-hq-analyst"))
    [s1] = [i for i in stats["items"] if i["subsidiary"] == "S1"]
    rate = s1["flags"]["collective"]["rate"]
    assert rate["numerator"] >= 1 and rate["denominator"] == s1["cases"] and "÷" in rate["formula"]
    assert s1["person_times"] >= 30


def test_a_unit_matter_first_registered_at_headquarters_is_skip_level_with_guidance(api, petition):
    person = {"name": "钱七", "id_number": resident_id(), "unit": "S1-U2"}
    c = flagged(api, ok(api.register(petition(receiving_unit="HQ-XFB", petitioners=[person]),
                                     token="demo-hq-registrar"), 201)["case_id"], "skip_level")
    assert "S1-XFB" in c["guidance"] and "第二十条" in c["finding"]["basis"]
    assert c["assigned_unit"] == "S1-HR"  # routed to the competent level all the same


def test_a_frequent_petitioner_is_flagged_only_for_those_who_may_see_identities(api, petition):
    person = {"name": "孙八", "id_number": resident_id(), "unit": "S1-U2"}
    issues = ["wages", "housing", "commuting", "work_injury", "hardship_relief"]
    ids = [ok(api.register(petition(received_at=days_ago(100 - 20 * i), petitioners=[person], issue_type=t)), 201)
           ["case_id"] for i, t in enumerate(issues)]
    c = flagged(api, ids[-1], "frequent_petitioner", token="demo-s1-handler")
    assert set(c["finding"]["linked_case_ids"]) == set(ids[:-1])
    for token in ("demo-hq-analyst", "demo-s1-supervisor"):
        seen = api.case_in_reporting(ids[-1], token)
        assert "frequent_petitioner" not in seen["flags"]
        assert "frequent_petitioner" not in json.dumps(seen["timeline"])
    routed = ok(api.call("routing", "GET", f"/cases/{ids[-1]}", "demo-s1-supervisor"))
    assert all(s["flag"] != "frequent_petitioner" for s in routed["suggestions"])


def test_staff_mark_a_threat_with_a_sealed_reason(api, petition):
    case_id = ok(api.register(petition()), 201)["case_id"]
    api.case_in_reporting(case_id)
    r = ok(api.call("intake", "POST", f"/petitions/{case_id}/marks", "demo-s1-registrar",
                    json={"mark": "threat", "reason": "来访时声称不解决就去北京"}))
    assert r["value"] is True
    c = api.case_in_reporting(case_id, want=lambda c: c["threat"])
    assert "不解决就去北京" not in json.dumps(c, ensure_ascii=False)
    assert api.call("intake", "POST", f"/petitions/{case_id}/marks", "demo-hq-analyst",
                    json={"mark": "threat", "reason": "x"}).status_code == 403
    assert api.call("intake", "POST", f"/petitions/{case_id}/marks", "demo-s2-registrar",
                    json={"mark": "threat", "reason": "x"}).status_code == 404


def test_each_channel_takes_its_own_record_and_refuses_another_channels(api, petition):
    ok(api.register(petition(details={"postmark_date": "2026-11-20", "letter_no": "GJ123"})), 201)
    r = api.register(petition(details={"reception_place": "接待室"}))  # a letter has no reception place
    assert r.status_code == 422 and any(f["field"] == "details.reception_place" for f in r.json()["fields"])
    r = api.register(petition(channel="来访", details={"visitor_count": 3}))  # a visit needs its place
    assert r.status_code == 422 and any(f["field"] == "details.reception_place" for f in r.json()["fields"])
    r = api.register(petition(channel="匿名举报箱", anonymous=True, petitioners=[],
                              details={"box_location": "机修车间门口", "opened_by": ["甲"]}))
    assert r.status_code == 422 and any(f["field"] == "details.opened_by" for f in r.json()["fields"])
    ok(api.register(petition(channel="工会转办", details={"from_organisation": "一公司工会", "document_no": "工转〔2026〕3号"})),
       201)


def test_a_registrar_gets_a_classification_suggestion_to_confirm(api):
    r = ok(api.call("intake", "POST", "/petitions/classification-suggestion", "demo-s1-registrar",
                    json={"summary": "来信反映车间连续三个月拖欠工资和加班费，要求尽快补发"}))
    assert r["issue_type"][0]["id"] == "wages" and r["category"][0]["id"] == "申诉求决类"
    assert 0 < r["issue_type"][0]["probability"] <= 1 and "确认" in r["note"]
    assert api.call("intake", "POST", "/petitions/classification-suggestion", "demo-hq-analyst",
                    json={"summary": "x"}).status_code == 403


def test_five_wage_petitions_from_one_unit_in_a_week_warn_headquarters_and_that_subsidiary_only(api, petition):
    ids = []
    for i in range(5):
        person = {"name": f"职工{i}", "id_number": resident_id(), "unit": "S2-U2"}
        body = petition(receiving_unit="S2-XFB", petitioners=[person], received_at=days_ago(6 - i),
                        summary=f"西站机务段第{i}名职工反映绩效工资被克扣")
        ids.append(ok(api.register(body, token="demo-s2-registrar"), 201)["case_id"])

    def warned(token):
        items = ok(api.call("reporting", "GET", "/alerts", token, params={"limit": 500}))["items"]
        signs = [a for a in items if a["kind"] == "collective_sign" and a["case_id"] in ids]
        assert signs, items[:3]
        return signs

    [sign] = api.eventually(lambda: warned("demo-hq-supervisor"))
    assert sign["unit"] == "S2-XFB" and "5 件" in sign["message"] and "S2-U2" in sign["message"]
    assert api.eventually(lambda: warned("demo-s2-supervisor"))
    others = ok(api.call("reporting", "GET", "/alerts", "demo-s1-supervisor", params={"limit": 500}))["items"]
    assert not [a for a in others if a["case_id"] in ids]
