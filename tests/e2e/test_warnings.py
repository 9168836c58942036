"""Early warnings over HTTP: raised from the stream, seen by headquarters and the subsidiary
concerned and not by another, acknowledged and closed by a person, filtered by state — and still
so after reporting is rebuilt from the event stores."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from datetime import datetime, timedelta

from tests.e2e.conftest import CHINA


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def days_ago(n: float) -> str:
    return (datetime.now(CHINA) - timedelta(days=n)).isoformat(timespec="seconds")


def resident_id() -> str:
    """A valid 18-digit resident ID of a person no other test uses (GB 11643 check digit)."""
    body = f"110101{1960 + secrets.randbelow(40)}0101{secrets.randbelow(1000):03d}"
    w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w, strict=True)) % 11]


def listed(api, token, **params) -> list[dict]:
    return ok(api.call("reporting", "GET", "/alerts", token, params={"limit": 500, **params}))["items"]


def test_a_frequent_petitioner_coming_again_is_worked_to_closure_by_a_person(api, petition, stack):
    person = {"name": "周老户", "id_number": resident_id(), "unit": "S1-U2"}
    issues = ["housing", "commuting", "work_injury", "hardship_relief", "historical_legacy", "children_employment"]
    ids = [ok(api.register(petition(received_at=days_ago(200 - 40 * i) if i < 4 else days_ago(10 - 8 * (i - 4)),
                                    petitioners=[person], issue_type=t, summary=f"第{i}次反映{t}问题")), 201)["case_id"]
           for i, t in enumerate(issues)]

    def warned(token):
        mine = [a for a in listed(api, token, kind="frequent_petitioner") if a["case_id"] in ids]
        assert mine, token
        return mine

    # the 5th and 6th petitions are flagged 信访老户 (intake: 5 in 365 days); two within 30 days warn
    [alert] = api.eventually(lambda: warned("demo-hq-xfb-handler"))
    # on the case whose flag came last (the two may arrive in either order)
    assert alert["case_ids"] == ids[4:] and alert["case_id"] in ids[4:] and alert["state"] == "open"
    assert (alert["threshold"], alert["count"], alert["kind_label"]) == (2, 2, "信访老户")
    assert alert["unit"] == "S1-XFB" and alert["window_start"] and alert["window_end"]
    text = json.dumps(alert, ensure_ascii=False)
    assert "周老户" not in text and person["id_number"] not in text and "S1-U2" not in text
    # headquarters and the subsidiary concerned, with identity roles; no other subsidiary; and no role
    # that may not see identities learns that the person is a 信访老户
    assert warned("demo-s1-handler")[0]["alert_id"] == alert["alert_id"]
    for token in ("demo-s2-handler", "demo-hq-supervisor", "demo-hq-analyst", "demo-s1-supervisor"):
        assert not [a for a in listed(api, token) if a["alert_id"] == alert["alert_id"]], token
    page = api.case_in_reporting(alert["case_id"], "demo-s1-handler")
    assert alert["alert_id"] in [a["alert_id"] for a in page["alerts"]]
    assert "frequent_petitioner" not in [
        a["kind"] for a in api.case_in_reporting(alert["case_id"], "demo-s1-supervisor")["alerts"]]

    path = f"/alerts/{alert['alert_id']}"
    assert api.call("reporting", "POST", f"{path}/acknowledgement", "demo-s2-handler", json={}).status_code == 404
    assert api.call("reporting", "POST", f"{path}/acknowledgement", "demo-s1-registrar", json={}).status_code == 403
    assert api.call("reporting", "POST", f"{path}/shares", "demo-s1-handler",
                    json={"party": "GOV-PCS", "basis": "属地维稳"}).status_code == 422  # never given outside
    acked = ok(api.call("reporting", "POST", f"{path}/acknowledgement", "demo-s1-handler", json={"note": "已安排包案领导"}))
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "s1-handler"
    r = api.call("reporting", "POST", f"{path}/acknowledgement", "demo-hq-xfb-handler", json={})
    assert r.status_code == 409 and "签收" in r.json()["message"] and "acknowledged" in r.json()["message_en"]
    assert [a["alert_id"] for a in listed(api, "demo-s1-handler", state="acknowledged", kind="frequent_petitioner")
            if a["case_id"] in ids] == [alert["alert_id"]]
    assert not [a for a in listed(api, "demo-s1-handler", state="open") if a["alert_id"] == alert["alert_id"]]

    r = api.call("reporting", "POST", f"{path}/closure", "demo-s1-handler",
                 json={"outcome": "已化解", "resolution": "联系电话13912345678"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "resolution"  # no personal data in clear
    assert api.call("reporting", "POST", f"{path}/closure", "demo-s1-handler",
                    json={"outcome": "没想好", "resolution": "已答复"}).status_code == 422
    closed = ok(api.call("reporting", "POST", f"{path}/closure", "demo-s1-handler",
                         json={"outcome": "已化解", "resolution": "包案领导约谈，诉求已依政策解决，本人表示息访"}))
    assert closed["state"] == "closed" and closed["outcome"] == "已化解" and closed["acknowledged_by"] == "s1-handler"
    again = api.call("reporting", "POST", f"{path}/closure", "demo-hq-xfb-handler",
                     json={"outcome": "误报", "resolution": "重复办结"})
    assert again.status_code == 409, again.text
    body = again.json()
    assert "办结" in body["message"] and "closed" in body["message_en"] and body["closed_by"] == "s1-handler"
    late = api.call("reporting", "POST", f"{path}/acknowledgement", "demo-s1-handler", json={})
    assert late.status_code == 409 and "acknowledged" in late.json()["message_en"]
    [seen] = [a for a in listed(api, "demo-hq-xfb-handler", state="closed") if a["alert_id"] == alert["alert_id"]]
    assert (seen["closed_by"], seen["resolution"], seen["state_label"]) == ("s1-handler", closed["resolution"], "已办结")
    assert not [a for a in listed(api, "demo-hq-xfb-handler", state="acknowledged") if a["alert_id"] == alert["alert_id"]]

    # a rebuild restores the warning and what people did with it from reporting's own events
    r = subprocess.run([sys.executable, "-m", "reporting", "rebuild"], env=stack.service_env("reporting"),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    [after] = [a for a in listed(api, "demo-hq-xfb-handler", kind="frequent_petitioner") if a["alert_id"] == alert["alert_id"]]
    assert after == seen


def test_a_collective_sign_is_acknowledged_at_headquarters_and_closed_by_its_subsidiary(api, petition):
    ids = [ok(api.register(petition(receiving_unit="S3-XFB", issue_type="housing", received_at=days_ago(5 - i),
                                    summary=f"总装车间第{i}名职工反映宿舍漏雨",
                                    petitioners=[{"name": f"职工{i}", "phone": f"139{secrets.randbelow(10**8):08d}",
                                                  "unit": "S3-U1"}]), token="demo-s3-registrar"), 201)["case_id"]
           for i in range(5)]

    def warned(token):
        mine = [a for a in listed(api, token, kind="collective_sign") if a["case_id"] in ids]
        assert mine, token
        return mine

    [sign] = api.eventually(lambda: warned("demo-hq-supervisor"))
    assert sign["case_ids"] == ids and (sign["threshold"], sign["count"], sign["about_unit"]) == (5, 5, "S3-U1")
    assert sign["issue_type"] == "housing" and sign["unit"] == "S3-XFB"
    assert api.eventually(lambda: warned("demo-s3-handler"))
    assert not [a for a in listed(api, "demo-s1-supervisor") if a["case_id"] in ids]
    assert not [a for a in listed(api, "demo-s2-handler") if a["case_id"] in ids]
    path = f"/alerts/{sign['alert_id']}"
    assert api.call("reporting", "POST", f"{path}/closure", "demo-s1-supervisor",
                    json={"outcome": "误报", "resolution": "不是本单位"}).status_code == 404
    ok(api.call("reporting", "POST", f"{path}/acknowledgement", "demo-hq-analyst", json={"note": "总部已关注"}))
    ok(api.call("reporting", "POST", f"{path}/closure", "demo-s3-handler",
                json={"outcome": "已化解", "resolution": "后勤部门已维修宿舍，职工满意"}))
    assert api.call("reporting", "POST", f"{path}/closure", "demo-s3-handler",
                    json={"outcome": "已化解", "resolution": "再次办结"}).status_code == 409
    [closed] = [a for a in listed(api, "demo-s3-handler", state="closed", kind="collective_sign") if a["case_id"] in ids]
    assert closed["acknowledged_by"] == "hq-analyst" and closed["acknowledgement_note"] == "总部已关注"
    assert not [a for a in listed(api, "demo-s3-handler", state="open", kind="collective_sign") if a["case_id"] in ids]
    assert api.call("reporting", "GET", "/alerts", "demo-hq-supervisor", params={"state": "gone"}).status_code == 422
    assert api.call("reporting", "GET", "/alerts", "demo-hq-supervisor", params={"kind": "nonsense"}).status_code == 422


def test_duty_deadlines_breached_together_at_one_unit_warn_its_petition_office(api, petition):
    # six petitions received together long ago, never answered: their notice clocks (Art 23, 15 days)
    # breach on one day, at the petition office or the unit it assigned them to (six: three at one of the two)
    received = days_ago(40)
    ids = [ok(api.register(petition(receiving_unit="S3-XFB", issue_type="three_supplies", received_at=received,
                                    summary=f"三供一业移交后供暖问题{i}", petitioners=[{"name": f"住户{i}", "unit": "S3-U1"}]),
                           token="demo-s3-registrar"), 201)["case_id"] for i in range(6)]

    def warned(token):
        mine = [a for a in listed(api, token, kind="overdue_cluster") if len(set(ids) & set(a["case_ids"])) >= 3]
        assert mine, token
        return mine

    [cluster, *_] = api.eventually(lambda: warned("demo-hq-supervisor"), timeout=30)
    assert cluster["count"] >= 3 and cluster["threshold"] == 3 and cluster["about_unit"] in ("S3-XFB", "S3-ZC")
    assert cluster["unit"] == "S3-XFB" and "超期集中" in cluster["message"] and cluster["window_start"]
    assert api.eventually(lambda: warned("demo-s3-handler"))
    assert not [a for a in listed(api, "demo-s1-supervisor") if a["alert_id"] == cluster["alert_id"]]
