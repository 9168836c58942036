"""The petitioner's portal in a real browser (Playwright driving Debian's chromium, on a phone-sized
screen): submit online with the truthfulness declaration, get the case number and query code,
follow the case, evaluate it once it is answered; a stranger guessing codes is stopped. Screenshots
are kept in test-artifacts/portal/."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

playwright = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: ./dev test installs it (apt-get install chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def page_for(browser, client_ip: str):
    # each test is its own client (uvicorn trusts X-Forwarded-For from 127.0.0.1), so that one
    # test's wrong guesses do not count against another: the header is added on the way out, as a
    # proxy in front of the platform would (a page cannot send it across origins without CORS)
    context = browser.new_context(**PHONE)
    context.route("**/public/**", lambda route: route.continue_(
        headers={**route.request.headers, "x-forwarded-for": client_ip}))
    return context, context.new_page()


def test_a_petitioner_submits_follows_and_evaluates_in_the_browser(api, browser):
    context, page = page_for(browser, "198.51.100.10")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(api.stack.url("intake") + "/public/portal")
    assert page.title().startswith("网上信访")
    page.select_option("#office", "S1-XFB")
    page.fill("#name", "周九")
    page.fill("#phone", "13712345678")
    page.fill("#id_number", "11010119900101123X")  # a wrong check digit
    page.select_option("#unit", "S1-U2")
    page.select_option("#issue_type", "wages")
    page.fill("#summary", "本人系机修车间职工，2026年7月至9月的夜班补贴一直未发放，多次询问无果，请求尽快补发。")
    page.click("#send")
    assert "第十九条第二款" in page.inner_text("#submit-error")  # the declaration comes first
    page.check("#declaration")
    page.click("#send")
    page.wait_for_selector("#submit-error:not([hidden])")
    assert "身份证" in page.inner_text("#submit-error")
    page.fill("#id_number", "")
    page.screenshot(path=str(ARTIFACTS / "1-form.png"), full_page=True)
    page.click("#send")
    page.wait_for_selector("#submitted:not([hidden])")
    case_no, code = page.inner_text("#case-no"), page.inner_text("#receipt")
    assert case_no.startswith("XF-") and len(code.replace("-", "")) == 16
    page.screenshot(path=str(ARTIFACTS / "2-submitted.png"), full_page=True)

    # the registration is a 网上信访 with the declaration, routed like any other
    found = api.eventually(lambda: _case_by_number(api, case_no))
    case_id = found["case_id"]
    c = api.case_in_reporting(case_id, want=lambda c: c["status"] == "accepted")
    assert (c["channel"], c["declared_truthful"], c["assigned_unit"]) == ("网上信访", True, "S1-HR")

    page.click("#follow")
    page.wait_for_selector("#status-result:not([hidden])")
    assert page.inner_text("#s-case-no") == case_no and page.inner_text("#s-status") == "办理中"
    assert page.inner_text("#s-accepted") == c["accepted_on"]
    assert page.is_hidden("#evaluation-form")  # nothing to evaluate before the reply
    body = page.inner_text("body")
    assert "S1-HR" not in body and "人力资源部" not in body  # no handler or unit names
    page.screenshot(path=str(ARTIFACTS / "3-status.png"), full_page=True)

    # the unit answers (意见书 drafted, reviewed, served); the petitioner evaluates in the browser
    sup = f"/cases/{case_id}"
    ok(api.call("supervision", "POST", f"{sup}/reply/drafts", "demo-s1-hr-handler",
                json={"decision": "支持", "template": "wages", "request": "补发夜班补贴", "facts": "经核查属实",
                      "reasons": "漏报考勤", "basis": "公司薪酬管理办法"}))
    ok(api.call("supervision", "POST", f"{sup}/reply/review", "demo-s1-leader", json={"approved": True}))
    ok(api.call("supervision", "POST", f"{sup}/reply/service", "demo-s1-hr-handler", json={"method": "当面"}))
    api.case_in_reporting(case_id, want=lambda c: c["served_on"])
    page.click("#status-form button")
    page.wait_for_selector("#evaluation-form:not([hidden])")
    page.select_option("#e-office", "满意")
    page.select_option("#e-unit", "基本满意")
    page.screenshot(path=str(ARTIFACTS / "4-evaluate.png"), full_page=True)
    page.click("#evaluation-form button")
    page.wait_for_selector("#evaluated:not([hidden])")
    c = api.case_in_reporting(case_id, want=lambda c: c["evaluation"]["responsible_unit"])
    assert c["evaluation"] == {"petition_office": "满意", "petition_office_by": "petitioner",
                               "responsible_unit": "基本满意", "responsible_unit_by": "petitioner"}
    assert not errors, errors
    context.close()


def _case_by_number(api, case_no: str) -> dict:
    items = ok(api.call("reporting", "GET", "/cases", "demo-s1-supervisor", params={"limit": 500}))["items"]
    found = [i for i in items if i["case_no"] == case_no]
    assert found, case_no
    return found[0]


def test_a_stranger_trying_query_codes_is_stopped_and_learns_nothing(api, browser):
    context, page = page_for(browser, "203.0.113.66")
    page.goto(api.stack.url("intake") + "/public/portal")
    page.click("#tab-status")
    messages = []
    for i in range(11):
        page.fill("#code", f"ABCD-EFGH-JKMN-{i:04d}".replace("0", "P"))
        page.click("#status-form button")
        page.wait_for_selector("#status-error:not([hidden])")
        messages.append(page.inner_text("#status-error"))
    assert "查询码无效" in messages[0] and "频繁" in messages[-1]
    page.screenshot(path=str(ARTIFACTS / "5-limited.png"), full_page=True)
    r = httpx.post(api.stack.url("reporting") + "/public/status", json={"receipt_code": "ABCD-EFGH-JKMN-PQRS"},
                   headers={"X-Forwarded-For": "203.0.113.66"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # evaluation by code is limited the same way in supervision
    for _ in range(10):
        httpx.post(api.stack.url("supervision") + "/public/evaluation", headers={"X-Forwarded-For": "203.0.113.67"},
                   json={"receipt_code": "ABCD-EFGH-JKMN-PQRS", "petition_office": "满意"})
    r = httpx.post(api.stack.url("supervision") + "/public/evaluation", headers={"X-Forwarded-For": "203.0.113.67"},
                   json={"receipt_code": "ABCD-EFGH-JKMN-PQRS", "petition_office": "满意"})
    assert r.status_code == 429 and r.headers["Retry-After"]
    context.close()


def test_portal_submissions_are_limited_per_client(api):
    url = api.stack.url("intake") + "/public/petitions"
    body = {"receiving_unit": "S2-XFB", "anonymous": True, "issue_type": "other", "summary": "建议在厂区增设职工休息室和饮水点。",
            "category": "建议意见类", "declaration": True}
    codes = [httpx.post(url, json=body, headers={"X-Forwarded-For": "192.0.2.44"}).status_code for _ in range(11)]
    assert codes[:10] == [201] * 10 and codes[10] == 429
    r = httpx.post(url, json={**body, "declaration": False}, headers={"X-Forwarded-For": "192.0.2.45"})
    assert r.status_code == 422 and "第十九条第二款" in r.text
