"""Fairness and 每月一题 over HTTP: a unit asks that a case leave its rates, the wrong approver is
refused, the level above approves and the indicator leaves the case out (and says so); headquarters
opens an issue of the month that its owner's subsidiary sees and another subsidiary does not."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.e2e.conftest import CHINA


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def _s1_hr(api, month):
    out = ok(api.call("reporting", "GET", "/kpis/repeat_rate", "demo-hq-analyst", params={"period": month, "group_by": "unit"}))
    [item] = [i for i in out["items"] if i["group"] == "S1-HR"]
    return item, out


def test_a_unit_asks_the_level_above_approves_and_the_rates_leave_the_case_out(api, petition):
    case_id = ok(api.register(petition()), 201)["case_id"]
    api.case_in_reporting(case_id, want=lambda c: c["assigned_unit"] == "S1-HR")
    month = datetime.now(CHINA).strftime("%Y-%m")
    before, _ = _s1_hr(api, month)

    path = f"/cases/{case_id}/kpi-exclusion"
    r = api.call("reporting", "POST", path, "demo-s1-hr-handler", json={"ground": "because", "reasons": "诉求明显超出政策规定范围"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "ground" and r.json()["message_en"]
    r = api.call("reporting", "POST", path, "demo-s1-hr-handler", json={"ground": "unreasonable", "reasons": "太短"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "reasons"
    assert api.call("reporting", "POST", path, "demo-s2-handler",
                    json={"ground": "unreasonable", "reasons": "诉求明显超出政策规定范围"}).status_code == 404
    asked = ok(api.call("reporting", "POST", path, "demo-s1-hr-handler",
                        json={"ground": "unreasonable", "reasons": "诉求明显超出政策规定范围，已多次解释"}), 201)
    assert (asked["state"], asked["unit"], asked["approver_unit"]) == ("pending", "S1-HR", "HQ")
    assert api.call("reporting", "POST", path, "demo-s1-hr-handler",
                    json={"ground": "unreasonable", "reasons": "诉求明显超出政策规定范围"}).status_code == 409
    pending = ok(api.call("reporting", "GET", "/kpi-exclusions", "demo-hq-supervisor", params={"state": "pending"}))
    assert case_id in {i["case_id"] for i in pending["items"]}

    decision = f"{path}/decision"
    r = api.call("reporting", "POST", decision, "demo-s1-supervisor", json={"approved": True, "reason": "同意"})
    assert r.status_code == 403 and r.json()["fields"][0]["field"] == "approver_unit", r.text  # S1 is not above itself
    assert api.call("reporting", "POST", decision, "demo-s1-hr-handler", json={"approved": True, "reason": "同意"}
                    ).status_code == 403
    done = ok(api.call("reporting", "POST", decision, "demo-hq-supervisor", json={"approved": True, "reason": "理由充分，同意剔除"}))
    assert done["state"] == "approved" and done["decided_by"] == "hq-supervisor"

    after, out = _s1_hr(api, month)
    assert after["excluded"] == before["excluded"] + 1
    assert after["denominator"] + after["excluded"] == before["denominator"] + before["excluded"]
    assert "申请剔除" in out["choices"]
    approved = ok(api.call("reporting", "GET", "/kpi-exclusions", "demo-s1-supervisor", params={"state": "approved"}))
    assert case_id in {i["case_id"] for i in approved["items"]}
    assert case_id not in {i["case_id"] for i in ok(api.call("reporting", "GET", "/kpi-exclusions", "demo-s2-supervisor"))["items"]}

    ranking = ok(api.call("reporting", "GET", "/kpis/repeat_rate/ranking", "demo-hq-analyst",
                          params={"period": month, "level": "unit"}))
    listed = [i for b in ranking["bands"] for i in b["items"]] + ranking["not_ranked"]
    assert "S1-HR" in {i["group"] for i in listed} and ranking["better"] == "lower"
    r = api.call("reporting", "GET", "/kpis/participation", "demo-hq-analyst", params={"period": month, "group_by": "collector"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "group_by"
    ok(api.call("reporting", "GET", "/kpis/satisfaction", "demo-hq-analyst", params={"period": month, "group_by": "collector"}))


def test_headquarters_opens_the_issue_of_the_month_seen_by_the_owners_subsidiary_only(api):
    today = datetime.now(CHINA).date()
    body = {"issue_type": "wages", "subsidiary": "S1", "month": today.strftime("%Y-%m"),
            "why": "本月工资待遇件次最多", "owner_unit": "S1-HR", "owner": "一公司人力资源部部长",
            "fix": "统一绩效工资核算口径并按月公示", "deadline": (today + timedelta(days=30)).isoformat()}
    assert api.call("reporting", "POST", "/governance", "demo-s1-supervisor", json=body).status_code == 403
    r = api.call("reporting", "POST", "/governance", "demo-hq-analyst", json={**body, "owner_unit": "S2-HR"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "owner_unit"
    issue = ok(api.call("reporting", "POST", "/governance", "demo-hq-analyst", json=body), 201)
    gid = issue["issue_id"]
    for token, sees in (("demo-hq-analyst", True), ("demo-s1-supervisor", True), ("demo-s2-supervisor", False)):
        listed = {i["issue_id"] for i in ok(api.call("reporting", "GET", "/governance", token))["items"]}
        assert (gid in listed) is sees, token
    assert api.call("reporting", "GET", f"/governance/{gid}", "demo-s2-supervisor").status_code == 404
    tracked = ok(api.call("reporting", "GET", f"/governance/{gid}", "demo-s1-supervisor"))
    assert tracked["months"][-1]["month"] == today.strftime("%Y-%m") and tracked["overdue"] is False
    assert {"repeat_rate", "satisfaction"} <= set(tracked["months"][-1])
    assert api.call("reporting", "POST", f"/governance/{gid}/progress", "demo-s2-handler", json={"note": "进展"}
                    ).status_code == 404
    done = ok(api.call("reporting", "POST", f"/governance/{gid}/progress", "demo-s1-hr-handler",
                       json={"note": "整改完成", "done": True}))
    assert done["state"] == "done" and done["done_on"] == today.isoformat()
    assert api.call("reporting", "GET", "/governance/suggestions", "demo-hq-analyst",
                    params={"month": today.strftime("%Y-%m")}).status_code == 200
