"""Indicators over HTTP: definitions, figures with numerator, denominator and formula, 环比 and 同比."""

from __future__ import annotations

from datetime import datetime

from tests.e2e.conftest import CHINA


ORG_NAMES = {"S1": "第一工程有限公司", "S2": "第二运输有限公司", "S3": "第三装备制造有限公司", "S4": "第四物流有限公司"}


def _visible_subsidiaries(api, token) -> set:
    """The subsidiaries of the cases this principal may see (its own, and cases its units took part in)."""
    items = ok(api.call("reporting", "GET", "/cases", token, params={"limit": 500}))["items"]
    return {i["subsidiary"] for i in items}


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def test_headquarters_reads_an_indicator_by_subsidiary_with_its_formula(api, petition):
    case_id = ok(api.register(petition()), 201)["case_id"]
    api.case_in_reporting(case_id)
    catalogue = ok(api.call("reporting", "GET", "/kpis", "demo-hq-analyst"))["items"]
    assert {"timely_acceptance", "on_time_completion", "satisfaction", "repeat_rate", "per_thousand"} <= {
        k["id"] for k in catalogue}
    month = datetime.now(CHINA).strftime("%Y-%m")
    out = ok(api.call("reporting", "GET", "/kpis/repeat_rate", "demo-hq-analyst", params={"period": month}))
    [s1] = [i for i in out["items"] if i["group"] == "S1"]
    assert s1["denominator"] >= 1 and 0 <= s1["value"] <= 1 and "÷" in out["formula"]
    assert s1["previous"]["period"] < month and s1["last_year"]["period"].endswith(month[4:])
    mine = ok(api.call("reporting", "GET", "/kpis/repeat_rate", "demo-s2-supervisor", params={"period": month}))
    assert {i["group"] for i in mine["items"]} <= _visible_subsidiaries(api, "demo-s2-supervisor")
    r = api.call("reporting", "GET", "/kpis/repeat_rate", "demo-hq-analyst", params={"period": "2026-13"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "period"
    assert api.call("reporting", "GET", "/kpis/nonsense", "demo-hq-analyst", params={"period": month}).status_code == 404


def test_the_monthly_report_downloads_as_excel_for_those_who_may_see_it(api, petition):
    import io

    from openpyxl import load_workbook

    api.case_in_reporting(ok(api.register(petition()), 201)["case_id"])
    month = datetime.now(CHINA).strftime("%Y-%m")
    r = api.call("reporting", "GET", "/reports/monthly", "demo-hq-analyst", params={"month": month})
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"], r.text[:200]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "汇总" and "第一工程有限公司" in wb.sheetnames and wb.sheetnames[-1] == "超期与督办"
    assert wb["汇总"]["A1"].value.startswith("信访工作月报")
    mine = load_workbook(io.BytesIO(api.call("reporting", "GET", "/reports/monthly", "demo-s2-supervisor",
                                             params={"month": month}).content))
    allowed = {ORG_NAMES[g] for g in _visible_subsidiaries(api, "demo-s2-supervisor") if g}
    assert set(mine.sheetnames) - {"汇总", "超期与督办"} <= allowed | {"集团总部本级"}
    assert api.call("reporting", "GET", "/reports/monthly", "demo-gov-liaison", params={"month": month}).status_code == 403
    assert api.call("reporting", "GET", "/reports/monthly", "demo-hq-analyst", params={"month": "2026-1"}).status_code == 422


def test_any_case_as_it_stood_at_a_past_moment(api, petition):
    from datetime import timedelta

    case_id = ok(api.register(petition()), 201)["case_id"]
    def settled(c):  # accepted, its clocks set and the acceptance notice met: nothing more comes by itself
        clocks = {d["clock"]: d for d in c["deadlines"]}
        return (c["status"] == "accepted" and "handling" in clocks
                and (clocks.get("acceptance_notice") or {}).get("met_on") is not None)

    before = api.case_in_reporting(case_id, "demo-s1-handler", want=settled)
    moment = datetime.now(CHINA).isoformat()
    ok(api.call("routing", "POST", f"/cases/{case_id}/transfer", "demo-s1-handler",
                json={"unit": "S1-U1", "mode": "交办", "reason": "由站段直接办理",
                      "report_due_on": (datetime.now(CHINA) + timedelta(days=30)).date().isoformat()}))
    now = api.case_in_reporting(case_id, "demo-s1-handler", want=lambda c: c["assigned_unit"] == "S1-U1")
    then = ok(api.call("reporting", "GET", f"/cases/{case_id}", "demo-s1-handler", params={"as_of": moment}))
    assert (then["assigned_unit"], then["status"]) == (before["assigned_unit"], before["status"]) == ("S1-HR", "accepted")
    assert len(then["timeline"]) == len(before["timeline"]) < len(now["timeline"])
    assert {d["clock"] for d in then["deadlines"]} == {d["clock"] for d in before["deadlines"]}
    early = (datetime.fromisoformat(before["received_at"]) - timedelta(days=400)).isoformat()
    assert api.call("reporting", "GET", f"/cases/{case_id}", "demo-s1-handler", params={"as_of": early}).status_code == 404
    assert api.call("reporting", "GET", f"/cases/{case_id}", "demo-s2-handler", params={"as_of": moment}).status_code == 404
