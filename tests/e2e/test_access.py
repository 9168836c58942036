"""Who may see what, bad input, and Idempotency-Key, over HTTP."""

from __future__ import annotations

import uuid


def test_missing_or_wrong_token_is_401(api, petition):
    assert api.register(petition(), token=None).status_code == 401
    r = api.register(petition(), token="not-a-token")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert api.call("reporting", "GET", "/cases", None).status_code == 401


def test_bad_input_is_422_naming_each_bad_field(api, petition):
    body = petition(channel="飞鸽传书", category="不存在的类别")
    del body["summary"]
    r = api.register(body)
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["fields"]}
    assert {"channel", "category", "summary"} <= fields
    r = api.register(petition(issue_type="nope", received_at="2099-01-01T00:00:00+08:00", anonymous=True))
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["fields"]}
    assert {"issue_type", "received_at", "petitioners"} <= fields
    r = api.register(petition(channel="来访", petitioners=[{"name": f"代表{i}"} for i in range(6)]))
    assert r.status_code == 422 and "第二十条" in r.json()["fields"][0]["message"]


def test_registrar_cannot_register_for_another_subsidiary(api, petition):
    r = api.register(petition(receiving_unit="S2-XFB"), token="demo-s1-registrar")
    assert r.status_code == 403
    assert api.register(petition(), token="demo-hq-analyst").status_code == 403  # wrong role


def test_same_idempotency_key_gives_same_answer_and_one_case(api, petition):
    key = str(uuid.uuid4())
    body = petition()
    a = api.register(body, headers={"Idempotency-Key": key})
    b = api.register(body, headers={"Idempotency-Key": key})
    assert a.status_code == b.status_code == 201
    assert a.json() == b.json()
    assert b.headers.get("Idempotent-Replayed") == "true"
    # the same key for a different request is refused, not silently replayed
    c = api.register({**body, "summary": "另一件事"}, headers={"Idempotency-Key": key})
    assert c.status_code == 422
    case_id = a.json()["case_id"]
    api.case_in_reporting(case_id)
    listed = api.call("reporting", "GET", "/cases", "demo-hq-analyst", params={"limit": 500}).json()["items"]
    assert [i["case_no"] for i in listed].count(a.json()["case_no"]) == 1


def test_subsidiary_cannot_read_another_subsidiarys_case(api, petition):
    r = api.register(petition(receiving_unit="S2-XFB", petitioners=[{"name": "某人", "unit": "S2-U1"}]),
                     token="demo-s2-registrar")
    case_id = r.json()["case_id"]
    api.case_in_reporting(case_id, token="demo-s2-handler")  # its own subsidiary sees it
    api.case_in_reporting(case_id, token="demo-hq-analyst")  # headquarters sees everything
    for service, path in (("reporting", f"/cases/{case_id}"), ("routing", f"/cases/{case_id}"),
                          ("supervision", f"/cases/{case_id}/deadlines"), ("intake", f"/petitions/{case_id}")):
        assert api.call(service, "GET", path, "demo-s1-handler").status_code == 404, service
    mine = api.call("reporting", "GET", "/cases", "demo-s1-handler", params={"limit": 500}).json()["items"]
    assert all(i["subsidiary"] != "S2" for i in mine)
    stats = api.call("reporting", "GET", "/stats/by-subsidiary", "demo-s1-handler").json()
    assert {i["subsidiary"] for i in stats["items"]} <= {"S1"}
    hq = api.call("reporting", "GET", "/stats/by-subsidiary", "demo-hq-analyst").json()
    assert "S2" in {i["subsidiary"] for i in hq["items"]}
    # union and government liaisons see only cases shared with them: none are yet
    assert api.call("reporting", "GET", f"/cases/{case_id}", "demo-union-liaison").status_code == 404
    for service, path in (("intake", "/petitions"), ("reporting", "/cases")):
        assert api.call(service, "GET", path, "demo-gov-liaison").json()["count"] == 0, service
    # and nothing at all of routing's or supervision's reads: they serve the enterprise only
    assert api.call("routing", "GET", "/cases", "demo-gov-liaison").status_code == 403


def test_identity_is_shown_only_to_roles_that_need_it(api, petition):
    r = api.register(petition())
    case_id = r.json()["case_id"]
    seen = api.call("intake", "GET", f"/petitions/{case_id}", "demo-s1-handler")
    assert seen.status_code == 200
    assert seen.json()["petitioners"][0]["name"] == "测试人"
    analyst = api.call("intake", "GET", f"/petitions/{case_id}", "demo-hq-analyst")
    assert analyst.status_code == 200  # headquarters sees the case, but not who petitioned nor what they wrote
    assert analyst.json()["petitioners"] is None and analyst.json()["summary"] is None
    assert "测试人" not in analyst.text
    listed = api.call("intake", "GET", "/petitions", "demo-s1-handler", params={"limit": 500})
    assert listed.status_code == 200 and "测试人" not in listed.text


def test_the_demo_data_is_registered_once_whatever_the_day(stack, tmp_path):
    from stack.demo import PETITIONS, seed

    first = seed(stack.url("intake"), tmp_path)
    (tmp_path / "demo-anchor").read_text()  # the day the demo was first registered is kept
    again = seed(stack.url("intake"), tmp_path)  # e.g. the next `./dev run`, after midnight
    assert [a["case_id"] for a in again] == [f["case_id"] for f in first] and len(first) == len(PETITIONS)
