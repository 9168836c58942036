"""A petition travels intake -> routing -> supervision -> reporting over the broker."""

from __future__ import annotations

import json
import threading
from datetime import date


def test_registered_petition_reaches_reporting_with_assignment_and_deadlines(api, petition):
    body = petition(received_at="2026-09-25T10:00:00+08:00")
    r = api.register(body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["case_no"].startswith("XF-2026-")
    assert created["receipt_code"]  # every petitioner follows the case with a query code

    c = api.case_in_reporting(created["case_id"], want=lambda c: {"handling", "acceptance_notice"}
                              <= {d["clock"] for d in c["deadlines"]} and c["status"] == "accepted")
    assert c["assigned_unit"] == "S1-HR"  # wages -> the petitioner's own subsidiary's HR (归口)
    assert c["status_label"] == "办理中"
    clocks = {d["clock"]: d for d in c["deadlines"]}
    notice = clocks["acceptance_notice"]
    # received 2026-09-25: +15 days is 2026-10-10, a Saturday that is a make-up working day (调休)
    assert notice["starts_on"] == "2026-09-25"
    assert notice["due_on"] == "2026-10-10" and notice["rolled_from"] is None
    assert "第二十三条" in notice["basis"]
    handling = clocks["handling"]
    assert "第三十四条" in handling["basis"]
    assert date.fromisoformat(handling["due_on"]) >= date.fromisoformat(handling["starts_on"])
    # a petition office registered it: one 15-day clock holds its duty to send it on (Art 22) and
    # to tell the petitioner (Art 23 ¶2); routing to its own HR met neither, accepting met both
    assert "第二十二条" in notice["basis"] and notice["met_on"]
    types = [t["type"] for t in c["timeline"]]
    for t in ("petition.registered.v1", "case.assigned.v1", "case.accepted.v1", "deadline.set.v1", "deadline.met.v1"):
        assert t in types
    # the timeline never carries identity or content in clear
    assert "测试人" not in json.dumps(c, ensure_ascii=False)
    assert body["petitioners"][0]["phone"] not in json.dumps(c, ensure_ascii=False)


def test_supervision_lists_overdue_cases_as_of_a_date(api, petition):
    r = api.register(petition(received_at="2026-08-03T10:00:00+08:00", category="检举控告类",
                              issue_type="discipline_violation", accused_unit="S1-U2"))
    case_id = r.json()["case_id"]
    # an accusation is not auto-accepted: the acceptance-notice clock keeps running
    api.case_in_reporting(case_id, want=lambda c: any(d["clock"] == "acceptance_notice" for d in c["deadlines"]))

    def overdue():
        r = api.call("supervision", "GET", "/deadlines", "demo-s1-supervisor",
                     params={"as_of": "2026-11-23", "state": "overdue"})
        assert r.status_code == 200, r.text
        items = [i for i in r.json()["items"] if i["case_id"] == case_id]
        assert items, r.json()
        return items[0]

    item = api.eventually(overdue)
    assert item["clock"] == "acceptance_notice" and item["state"] == "overdue"
    assert item["due_on"] == "2026-08-18"
    # as of the due day itself it is due soon, not overdue: the last day lasts until 24:00
    r = api.call("supervision", "GET", "/deadlines", "demo-s1-supervisor", params={"as_of": "2026-08-18"})
    assert any(i["case_id"] == case_id and i["state"] == "due_soon" for i in r.json()["items"])


def test_accusation_goes_to_discipline_above_the_accused_and_is_hidden_from_it(api, petition):
    r = api.register(petition(category="检举控告类", issue_type="cadre_conduct", accused_unit="S1-U1",
                              anonymous=True, petitioners=[]))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    c = api.case_in_reporting(case_id, want=lambda c: c["assigned_unit"] is not None)
    assert c["assigned_unit"] == "S1-JW"
    assert c["status"] == "assigned"  # discipline inspection decides acceptance itself
    # the accused unit's own handler cannot see it, in any service
    assert api.call("reporting", "GET", f"/cases/{case_id}", "demo-s1-u1-handler").status_code == 404
    assert api.call("routing", "GET", f"/cases/{case_id}", "demo-s1-u1-handler").status_code == 404
    listed = api.call("reporting", "GET", "/cases", "demo-s1-u1-handler").json()["items"]
    assert case_id not in [i["case_id"] for i in listed]
    # and it cannot be reassigned to the accused unit
    r = api.call("routing", "POST", f"/cases/{case_id}/reassign", "demo-s1-handler",
                 json={"unit": "S1-U1", "reason": "由站段自查"})
    assert r.status_code == 422, r.text


def test_anonymous_petitioner_reads_status_with_receipt_code_only(api, petition):
    r = api.register(petition(anonymous=True, petitioners=[], issue_type="housing", category="建议意见类"))
    code = r.json()["receipt_code"]
    assert code and len(code.replace("-", "")) == 16

    def status():
        s = api.call("reporting", "POST", "/public/status", json={"receipt_code": code})
        assert s.status_code == 200, s.text
        assert s.json()["status"] == "accepted"
        return s.json()

    body = api.eventually(status)
    assert set(body) == {"case_no", "status", "status_label", "stage", "stage_label", "accepted_on", "rejected_on",
                         "legal_channel", "served_on", "closed_on", "final_on", "evaluated", "updated_at"}
    assert api.call("reporting", "POST", "/public/status", json={"receipt_code": "A" * 16}).status_code == 404


def test_handler_rejects_with_reason_and_channel(api, petition):
    r = api.register(petition(category="检举控告类", issue_type="discipline_violation", accused_unit="S1-U2"))
    case_id = r.json()["case_id"]
    api.case_in_reporting(case_id, want=lambda c: c["status"] == "assigned")
    rr = api.call("routing", "POST", f"/cases/{case_id}/reject", "demo-s1-handler",
                  json={"reason": "属于劳动争议，应申请劳动人事争议仲裁", "legal_channel": "劳动人事争议仲裁"})
    assert rr.status_code == 200, rr.text
    assert rr.status_code == 200, rr.text
    assert rr.json()["status"] == "rejected"
    c = api.case_in_reporting(case_id, want=lambda c: c["status"] == "rejected")
    assert c["legal_channel"] == "劳动人事争议仲裁"
    # the reason travels sealed: routing, which wrote it, shows it; reporting and the timeline never hold it
    assert rr.json()["reject_reason"] == "属于劳动争议，应申请劳动人事争议仲裁"
    assert "劳动争议，应申请" not in json.dumps(c, ensure_ascii=False)
    # a rejected case cannot then be accepted
    again = api.call("routing", "POST", f"/cases/{case_id}/accept", "demo-s1-handler", json={})
    assert again.status_code == 422


def test_two_concurrent_writes_to_one_case_one_succeeds_one_conflicts(api, petition):
    r = api.register(petition(category="检举控告类", issue_type="discipline_violation", accused_unit="S1-U2"))
    case_id = r.json()["case_id"]
    api.case_in_reporting(case_id, want=lambda c: c["status"] == "assigned")
    etag = api.call("routing", "GET", f"/cases/{case_id}", "demo-s1-handler").headers["ETag"]
    barrier = threading.Barrier(2)
    results = []

    def write(unit):
        barrier.wait()
        results.append(api.call("routing", "POST", f"/cases/{case_id}/reassign", "demo-s1-jw-handler",
                                headers={"If-Match": etag}, json={"unit": unit, "reason": "改派"}).status_code)

    # an accusation moves only between discipline bodies unless discipline inspection decides otherwise
    threads = [threading.Thread(target=write, args=(u,)) for u in ("HQ-JJ", "S2-JW")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == [200, 409]
    # the stream is intact: one reassignment, version 2
    case = api.call("routing", "GET", f"/cases/{case_id}", "demo-s1-handler").json()
    assert case["version"] == 2 and case["unit"] in ("HQ-JJ", "S2-JW")


def test_a_petition_no_rule_can_route_waits_in_the_receiving_offices_queue_with_an_alert(api, petition):
    # S4 has no retiree office and no petition office yet: no rule names a responsible unit
    r = api.register(petition(receiving_unit="HQ-XFB", issue_type="retirement_benefits",
                              petitioners=[{"name": "某退休职工", "unit": "S4-U1"}]), token="demo-hq-registrar")
    case_id = r.json()["case_id"]
    c = api.case_in_reporting(case_id, want=lambda c: c["status"] == "unroutable" and c["alerts"])
    assert c["assigned_unit"] == "HQ-XFB" and c["status_label"] == "待人工分派"
    assert "找不到承办单位" in c["unroutable_reason"] and c["alerts"][0]["kind"] == "unroutable"
    # the queue is visible where it must be acted on, and nowhere else
    queue = api.call("routing", "GET", "/cases", "demo-hq-supervisor", params={"status": "unroutable"}).json()
    assert case_id in [i["case_id"] for i in queue["items"]]
    alerts = api.call("reporting", "GET", "/alerts", "demo-hq-supervisor").json()["items"]
    assert case_id in [a["case_id"] for a in alerts]
    assert case_id not in [a["case_id"] for a in api.call("reporting", "GET", "/alerts", "demo-s1-supervisor").json()["items"]]
    # its statutory clock runs meanwhile: being unroutable is no excuse for a late notice
    clocks = api.call("supervision", "GET", f"/cases/{case_id}/deadlines", "demo-hq-supervisor").json()["clocks"]
    assert {k["clock"] for k in clocks} == {"acceptance_notice"} and not any(k["met_on"] for k in clocks)
    # a person routes it by hand
    etag = api.call("routing", "GET", f"/cases/{case_id}", "demo-hq-supervisor").headers["ETag"]
    rr = api.call("routing", "POST", f"/cases/{case_id}/reassign", "demo-hq-supervisor", headers={"If-Match": etag},
                  json={"unit": "S4-HR", "reason": "四公司退休人员暂由综合管理部承办"})
    assert rr.status_code == 200, rr.text
    assert rr.json()["status"] == "assigned" and rr.json()["unit"] == "S4-HR"
    c = api.case_in_reporting(case_id, want=lambda c: c["status"] == "assigned")
    assert c["assigned_unit"] == "S4-HR"


def test_receipt_codes_are_never_stored_and_a_replay_gives_the_same_code(api, petition, database_url):
    import psycopg

    body = petition(anonymous=True, petitioners=[], issue_type="housing", category="建议意见类")
    a = api.register(body, headers={"Idempotency-Key": "receipt-replay-1"}).json()
    b = api.register(body, headers={"Idempotency-Key": "receipt-replay-1"}).json()
    assert a["receipt_code"] and a == b
    code = a["receipt_code"]
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT response::text FROM intake.idempotency_keys WHERE key = 'receipt-replay-1'").fetchone()[0]
        events = conn.execute("SELECT body::text FROM intake.events WHERE stream_id = %s", (a["case_id"],)).fetchone()[0]
    for text in (stored, events):
        assert code not in text and code.replace("-", "") not in text


def test_request_bodies_are_capped_and_junk_is_refused_without_a_server_error(api, petition):
    r = api.register(petition(summary="很长" * 70_000))  # ~420 KB of UTF-8
    assert r.status_code == 413  # FastAPI's own limit (XF_HTTP_MAX_BODY_BYTES), before anything is parsed
    r = api.call("intake", "POST", "/petitions", "demo-s1-registrar", content=b"{not json",
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    r = api.register(petition(petitioners=[{"name": "x" * 51}]))
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "petitioners.0.name", r.text
    r = api.call("reporting", "GET", "/cases", "demo-hq-analyst", params={"subsidiary": "S1\x00"})
    assert r.status_code == 422, r.text  # a NUL would otherwise reach PostgreSQL, which refuses it
    r = api.call("reporting", "GET", "/cases", "demo-hq-analyst", params={"after": "not-a-cursor"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "after", r.text
