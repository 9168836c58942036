"""厂地联动 through every service: a case shared with a local office or a union, each party seeing
exactly what it was given, recording what it did, and losing the case the moment sharing ends."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import make_petition
from tests.e2e.test_detection import resident_id

LIAISONS = ("demo-union-liaison", "demo-s1-union-liaison", "demo-s2-union-liaison", "demo-gov-liaison",
            "demo-rsj-liaison", "demo-jd-liaison", "demo-pcs-liaison", "demo-tjw-liaison")


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def social_insurance_case(api):
    """A retiree's social-insurance hand-over case of S1: shared by rule with the 人社 office."""
    person = {"name": "吴十", "id_number": resident_id(), "phone": "13655556666", "unit": "S1-U2"}
    body = make_petition(issue_type="social_insurance_transfer", petitioners=[person],
                    summary="退休后社保关系移交地方，养老金发放中断两个月，请求协调人社部门尽快接续")
    case_id = ok(api.register(body), 201)["case_id"]
    api.case_in_reporting(case_id, "demo-s1-handler", want=lambda c: c["shares"])
    return case_id, person


def test_a_social_insurance_case_is_shared_by_rule_and_the_office_sees_only_what_it_was_given(
        api, social_insurance_case):
    case_id, person = social_insurance_case
    [share] = api.case_in_reporting(case_id, "demo-s1-handler")["shares"]
    assert (share["party"], share["preset"], share["rule_id"]) == ("GOV-RSJ", "facts_with_id", "social-insurance-to-hrss")
    seen = ok(api.call("reporting", "GET", f"/cases/{case_id}", "demo-rsj-liaison"))
    assert seen["issue_type"] == "social_insurance_transfer" and seen["assigned_unit"]
    assert seen["evaluation"] is None and seen["flags"] == [] and seen["handler"] is None
    assert [s["party"] for s in seen["shares"]] == ["GOV-RSJ"]
    listed = ok(api.call("reporting", "GET", "/cases", "demo-rsj-liaison", params={"limit": 500}))["items"]
    assert case_id in [i["case_id"] for i in listed]
    found = ok(api.call("reporting", "GET", "/cases", "demo-rsj-liaison",
                        params={"issue_type": "social_insurance_transfer", "case_no": seen["case_no"]}))["items"]
    assert [i["case_id"] for i in found] == [case_id]
    # intake learns of the share from routing's events a moment later than reporting
    reg = api.eventually(lambda: ok(api.call("intake", "GET", f"/petitions/{case_id}", "demo-rsj-liaison")))
    assert "养老金发放中断" in reg["summary"]
    assert reg["petitioners"] == [{"name": "吴十", "phone": "13655556666", "address": None, "id_type": "居民身份证",
                                   "id_number": person["id_number"]}]
    # another office of the same town sees nothing of it
    for service, path in (("reporting", f"/cases/{case_id}"), ("intake", f"/petitions/{case_id}")):
        assert api.call(service, "GET", path, "demo-jd-liaison").status_code == 404


def test_a_liaison_records_an_action_the_enterprise_sees_in_the_timeline(api, social_insurance_case):
    case_id, _ = social_insurance_case
    r = ok(api.call("routing", "POST", f"/cases/{case_id}/coordination", "demo-rsj-liaison",
                    json={"action": "transfer_step_done", "note": "已在社保中心办理关系接续",
                          "attachments": [{"name": "接续单.pdf", "media_type": "application/pdf", "size_bytes": 20480}]}))
    assert r["share"]["actions"] == 1 and set(r) == {"case_id", "case_no", "version", "share"}
    c = api.case_in_reporting(case_id, "demo-s1-handler",
                              want=lambda c: any(t["type"] == "case.coordination_recorded.v1" for t in c["timeline"]))
    [action] = [t for t in c["timeline"] if t["type"] == "case.coordination_recorded.v1"]
    assert action["detail"]["party"] == "GOV-RSJ" and action["detail"]["attachments"][0]["name"] == "接续单.pdf"
    assert "已在社保中心办理" not in json.dumps(c, ensure_ascii=False)  # the note is sealed
    assert c["shares"][0]["actions"] == 1
    # a party the case is not shared with cannot record anything on it
    assert api.call("routing", "POST", f"/cases/{case_id}/coordination", "demo-tjw-liaison",
                    json={"action": "contact_made"}).status_code == 404


def test_sharing_narrowed_then_revoked_follows_at_once(api, petition):
    person = {"name": "郑十一", "phone": "13544443333", "unit": "S1-U2"}
    case_id = ok(api.register(petition(issue_type="three_supplies", petitioners=[person],
                                       summary="家属区供暖移交后暖气不热，物业与热力公司互相推诿")), 201)["case_id"]
    api.case_in_reporting(case_id, "demo-s1-handler", want=lambda c: c["assigned_unit"])
    ok(api.call("routing", "POST", f"/cases/{case_id}/shares", "demo-s1-handler",
                json={"party": "GOV-JD", "preset": "facts_with_contact", "purpose": "联合走访",
                      "basis": "三供一业移交后属地街道协调"}))
    reg = api.eventually(lambda: ok(api.call("intake", "GET", f"/petitions/{case_id}", "demo-jd-liaison")))
    assert reg["summary"] and reg["petitioners"] == [{"name": "郑十一", "phone": "13544443333", "address": None}]
    # narrowed to status only: the content and the contact disappear from the party's views
    ok(api.call("routing", "POST", f"/cases/{case_id}/shares", "demo-s1-handler",
                json={"party": "GOV-JD", "preset": "status_only", "purpose": "联合走访", "basis": "走访结束"}))

    def narrowed():
        r = ok(api.call("intake", "GET", f"/petitions/{case_id}", "demo-jd-liaison"))
        assert r["summary"] is None and r["petitioners"] is None
        return ok(api.call("reporting", "GET", f"/cases/{case_id}", "demo-jd-liaison"))

    seen = api.eventually(narrowed)
    assert seen["status"] and seen["category"] is None and seen["assigned_unit"] is None and seen["deadlines"] == []
    ok(api.call("routing", "POST", f"/cases/{case_id}/shares/GOV-JD/revoke", "demo-s1-handler", json={"reason": "已办结"}))

    def gone():
        for service, path in (("reporting", f"/cases/{case_id}"), ("intake", f"/petitions/{case_id}")):
            assert api.call(service, "GET", path, "demo-jd-liaison").status_code == 404, service
        listed = ok(api.call("reporting", "GET", "/cases", "demo-jd-liaison", params={"limit": 500}))["items"]
        assert case_id not in [i["case_id"] for i in listed]

    api.eventually(gone)
    [share] = api.case_in_reporting(case_id, "demo-s1-handler", want=lambda c: c["shares"][0]["revoked_on"])["shares"]
    assert share["since"] and share["revoked_on"]  # the enterprise keeps what was shared with whom, since when


def test_an_accusation_is_never_shared_and_identity_presets_only_go_where_allowed(api, petition):
    accusation = ok(api.register(petition(category="检举控告类", issue_type="cadre_conduct", accused_unit="S1-U1")),
                    201)["case_id"]
    api.case_in_reporting(accusation, "demo-s1-jw-handler", want=lambda c: c["assigned_unit"])
    r = api.call("routing", "POST", f"/cases/{accusation}/shares", "demo-s1-jw-handler",
                 json={"party": "GOV", "preset": "status_only", "purpose": "其他", "basis": "误操作"})
    assert r.status_code == 422 and "检举控告" in r.text
    case_id = ok(api.register(petition(issue_type="commuting")), 201)["case_id"]
    api.case_in_reporting(case_id, "demo-s1-handler", want=lambda c: c["assigned_unit"])
    r = api.call("routing", "POST", f"/cases/{case_id}/shares", "demo-s1-handler",
                 json={"party": "UNION-S1", "preset": "facts_with_id", "purpose": "其他", "basis": "工会协助"})
    assert r.status_code == 422 and "不得提供" in r.text  # ID numbers go to 人社 only
    r = api.call("routing", "POST", f"/cases/{case_id}/shares", "demo-s1-handler",
                 json={"party": "UNION-S2", "preset": "facts", "purpose": "其他", "basis": "工会协助"})
    assert r.status_code == 422 and "属地" in r.text  # another subsidiary's union


def test_a_union_of_one_subsidiary_sees_nothing_of_another(api, petition):
    s2 = ok(api.register(petition(receiving_unit="S2-XFB", issue_type="wages",
                                  petitioners=[{"name": "某人", "phone": "13012341234", "unit": "S2-U1"}]),
                         token="demo-s2-registrar"), 201)["case_id"]
    api.case_in_reporting(s2, "demo-s2-handler", want=lambda c: c["assigned_unit"])
    ok(api.call("routing", "POST", f"/cases/{s2}/shares", "demo-s2-handler",
                json={"party": "UNION-S2", "preset": "facts", "purpose": "联合调解", "basis": "工会参与劳动争议调解"}))
    api.eventually(lambda: ok(api.call("reporting", "GET", f"/cases/{s2}", "demo-s2-union-liaison")))
    assert api.call("reporting", "GET", f"/cases/{s2}", "demo-s1-union-liaison").status_code == 404
    mine = ok(api.call("reporting", "GET", "/cases", "demo-s1-union-liaison", params={"limit": 500}))["items"]
    assert all(i["subsidiary"] != "S2" for i in mine)


def _get_paths(api, service: str) -> list[str]:
    spec = ok(api.call(service, "GET", "/openapi.json"))
    return [p for p, ops in spec["paths"].items() if "get" in ops]


def test_every_get_endpoint_of_every_service_shows_a_liaison_nothing_unshared(api, petition, social_insurance_case):
    shared_id, person = social_insurance_case
    secret = {"name": "冯十二", "phone": "13987654321", "unit": "S1-U2"}
    unshared = ok(api.register(petition(petitioners=[secret], summary="绝不共享的内容：车间奖金分配不公")), 201)["case_id"]
    api.case_in_reporting(unshared, want=lambda c: c["assigned_unit"])
    never = [unshared, "绝不共享", secret["phone"], "冯十二"]
    for service in ("intake", "routing", "supervision", "reporting"):
        for path in _get_paths(api, service):
            if path in ("/health", "/openapi.json", "/docs", "/redoc", "/public/options"):
                continue
            for case_id in (shared_id, unshared):
                url = re.sub(r"\{case_id\}", case_id, path)
                url = re.sub(r"\{[a-z_]+\}", "x", url)
                for token in LIAISONS:
                    r = api.call(service, "GET", url, token)
                    assert r.status_code < 500, (service, url, token, r.text)
                    if r.status_code != 200:
                        assert r.status_code in (403, 404, 422), (service, url, token, r.status_code)
                        continue
                    text = r.text
                    for s in never:
                        assert s not in text, (service, url, token, s)
                    if token != "demo-rsj-liaison":  # only 人社 holds the shared case
                        assert shared_id not in text and person["id_number"] not in text, (service, url, token)


def test_headquarters_sees_sharing_consolidated_per_subsidiary_and_party(api, social_insurance_case):
    items = ok(api.call("reporting", "GET", "/stats/sharing", "demo-hq-analyst"))["items"]
    [rsj] = [i for i in items if i["subsidiary"] == "S1" and i["party"] == "GOV-RSJ"]
    assert rsj["active"] >= 1 and rsj["by_rule"] >= 1 and rsj["party_type"] == "hrss" and rsj["actions"] >= 1
    mine = ok(api.call("reporting", "GET", "/stats/sharing", "demo-s2-handler"))["items"]
    assert all(i["subsidiary"] == "S2" for i in mine)
    assert api.call("reporting", "GET", "/stats/sharing", "demo-rsj-liaison").status_code == 403


def test_a_joint_mediation_and_a_joint_meeting_are_supervised_like_any_other_duty(api, petition):
    case_id = ok(api.register(petition(issue_type="wages", summary="外包单位拖欠农民工工资三个月，请求协调")), 201)["case_id"]
    api.case_in_reporting(case_id, "demo-s1-handler", want=lambda c: c["assigned_unit"])
    ok(api.call("routing", "POST", f"/cases/{case_id}/shares", "demo-s1-handler",
                json={"party": "GOV-TJW", "preset": "facts_with_contact", "purpose": "联合调解", "basis": "劳动争议联合调解"}))
    r = api.call("routing", "POST", f"/cases/{case_id}/mediations", "demo-s1-handler",
                 json={"parties": ["GOV-JD"], "meeting_at": "2026-12-10T09:00:00+08:00", "place": "调解室",
                       "due_on": "2026-12-20"})
    assert r.status_code == 422 and "先共享" in r.text  # only with parties the case is shared with
    m = ok(api.call("routing", "POST", f"/cases/{case_id}/mediations", "demo-s1-handler",
                    json={"parties": ["GOV-TJW"], "meeting_at": "2026-12-10T09:00:00+08:00", "place": "街道调解室",
                          "due_on": "2026-12-20"}))
    assert m["mediations"] == [{"no": 1, "parties": ["GOV-TJW"], "due_on": "2026-12-20", "result": None}]
    meeting = ok(api.call("routing", "POST", "/meetings", "demo-s1-handler",
                          json={"parties": ["GOV-TJW", "UNION-S1"], "units": ["S1-HR"],
                                "cases": [{"case_id": case_id, "decisions": [
                                    {"text": "人力资源部核对欠薪名单", "owner": "S1-HR", "due_on": "2026-12-15"}]}]}))
    meeting_id = meeting["meeting_id"]

    def clocks():
        c = ok(api.call("reporting", "GET", f"/cases/{case_id}", "demo-s1-handler"))
        names = {d["clock"]: d for d in c["deadlines"]}
        assert "mediation:1" in names and f"meeting:{meeting_id[:8]}.1" in names, sorted(names)
        return c

    c = api.eventually(clocks)
    assert any(t["type"] == "case.joint_meeting_recorded.v1" for t in c["timeline"])
    assert "核对欠薪名单" not in json.dumps(c, ensure_ascii=False)
    ok(api.call("routing", "POST", f"/cases/{case_id}/mediations/1/outcome", "demo-s1-handler",
                json={"result": "调解成功", "text": "外包单位于12月25日前足额支付"}))
    ok(api.call("routing", "POST", f"/cases/{case_id}/meeting-actions/{meeting_id}/1/done", "demo-s1-hr-handler", json={}))

    def met():
        c = ok(api.call("reporting", "GET", f"/cases/{case_id}", "demo-s1-handler"))
        names = {d["clock"]: d for d in c["deadlines"]}
        assert names["mediation:1"]["met_on"] and names[f"meeting:{meeting_id[:8]}.1"]["met_on"], names

    api.eventually(met)


def test_a_case_shared_for_risk_shows_in_the_offices_risk_view_without_names(api, petition):
    people = [{"name": f"工人{i}", "phone": f"1350000{i:04d}", "unit": "S1-U2"} for i in range(5)]
    case_id = ok(api.register(petition(channel="来访", petitioners=people, involved_count=40,
                                       summary="四十名外包工人称将集体到市政府反映欠薪",
                                       details={"reception_place": "一公司信访接待室", "visitor_count": 5})), 201)["case_id"]
    api.case_in_reporting(case_id, "demo-s1-handler", want=lambda c: c["assigned_unit"])
    ok(api.call("routing", "POST", f"/cases/{case_id}/shares", "demo-s1-handler",
                json={"party": "GOV-PCS", "preset": "risk_only", "purpose": "维稳信息共享", "basis": "集体访苗头，属地维稳信息共享"}))

    def seen():
        items = ok(api.call("reporting", "GET", "/risk", "demo-pcs-liaison"))["items"]
        assert items, items
        return items

    [item] = api.eventually(seen)
    assert (item["subsidiary"], item["unit"], item["issue_type"], item["people"]) == ("S1", "S1-HR", "wages", 40)
    assert item["week"] and item["cases"] == 1
    text = json.dumps(ok(api.call("reporting", "GET", "/risk", "demo-pcs-liaison")), ensure_ascii=False)
    assert "工人0" not in text and "欠薪" not in text and case_id not in text
    c = ok(api.call("reporting", "GET", f"/cases/{case_id}", "demo-pcs-liaison"))
    assert c["case_no"] is None and c["status"] is None and c["involved_count"] == 40
    case_no = api.case_in_reporting(case_id, "demo-s1-handler")["case_no"]
    # a party cannot find a case by a number it was not given
    assert ok(api.call("reporting", "GET", "/cases", "demo-pcs-liaison", params={"case_no": case_no}))["items"] == []


def test_an_early_warning_given_to_the_local_office_shows_in_its_risk_view_minimised(api, petition):
    # S4 has no petition office yet: its petition cannot be routed by rule and raises an alert
    case_id = ok(api.register(petition(receiving_unit="HQ-XFB", issue_type="retirement_benefits",
                                       petitioners=[{"name": "褚十三", "unit": "S4-U1"}]), token="demo-hq-registrar"),
                 201)["case_id"]
    [alert] = api.case_in_reporting(case_id, "demo-hq-supervisor", want=lambda c: c["alerts"])["alerts"]
    r = api.call("reporting", "POST", f"/alerts/{alert['alert_id']}/shares", "demo-hq-supervisor",
                 json={"party": "GOV-PCS", "basis": "属地维稳"})
    assert r.status_code == 422 and "属地" in r.text  # the 派出所 covers S1 only
    ok(api.call("reporting", "POST", f"/alerts/{alert['alert_id']}/shares", "demo-hq-supervisor",
                json={"party": "GOV", "basis": "信访局掌握集团维稳信息"}))
    risk = ok(api.call("reporting", "GET", "/risk", "demo-gov-liaison"))
    assert any(a["kind"] == "unroutable" and a["subsidiary"] == "S4" and a["week"] for a in risk["alerts"])
    assert case_id not in json.dumps(risk) and "褚十三" not in json.dumps(risk, ensure_ascii=False)
    listed = ok(api.call("reporting", "GET", "/alerts", "demo-hq-supervisor", params={"limit": 500}))["items"]
    assert [a["shared_with"] for a in listed if a["alert_id"] == alert["alert_id"]] == [["GOV"]]
    ok(api.call("reporting", "POST", f"/alerts/{alert['alert_id']}/shares", "demo-hq-supervisor",
                json={"party": "GOV", "shared": False, "basis": "已化解"}))
    assert not ok(api.call("reporting", "GET", "/risk", "demo-gov-liaison"))["alerts"]
    assert api.call("reporting", "POST", f"/alerts/{alert['alert_id']}/shares", "demo-gov-liaison",
                    json={"party": "GOV", "basis": "xx"}).status_code == 403


def test_a_shared_case_classified_as_an_accusation_is_taken_back_at_once(api, petition):
    case_id = ok(api.register(petition(issue_type="commuting", summary="班车线路取消后通勤困难")), 201)["case_id"]
    api.case_in_reporting(case_id, "demo-s1-handler", want=lambda c: c["assigned_unit"])
    ok(api.call("routing", "POST", f"/cases/{case_id}/shares", "demo-s1-handler",
                json={"party": "UNION-S1", "preset": "facts", "purpose": "其他", "basis": "工会协助反映"}))
    api.eventually(lambda: ok(api.call("reporting", "GET", f"/cases/{case_id}", "demo-s1-union-liaison")))
    ok(api.call("routing", "POST", f"/cases/{case_id}/classify", "demo-s1-handler",
                json={"category": "检举控告类", "issue_type": "cadre_conduct", "accused_unit": "S1-U1"}))
    api.eventually(lambda: _status(api, f"/cases/{case_id}", "demo-s1-union-liaison", 404))


def _status(api, path, token, want):
    assert api.call("reporting", "GET", path, token).status_code == want
