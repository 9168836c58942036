"""The web dashboard in a real browser (Playwright driving Debian's chromium): headquarters and a
subsidiary sign in with their tokens and each sees only its scope — the indicators with numerator,
denominator and formula, the comparison across the units below it, hot issues, warnings, overdue
and 督办 lists, case search and a case page with its timeline, deadlines and articles; an operator
follows a case's trace. Screenshots are kept in test-artifacts/dashboard/."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DESKTOP = {"viewport": {"width": 1440, "height": 900}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


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


@pytest.fixture(scope="module")
def s3_burst(api):
    """Five 通勤 petitions from one workshop of S3 within a week: a 集体访苗头 warning for S3."""
    from .conftest import make_petition

    ids = []
    for i in range(5):
        body = make_petition(receiving_unit="S3-XFB", issue_type="commuting", category="申诉求决类",
                             summary=f"站段合并后通勤班车取消，上下班单程超过两小时（第{i + 1}封）",
                             petitioners=[{"name": f"职工{i}", "phone": f"1371000{i:04d}", "unit": "S3-U1"}])
        ids.append(ok(api.register(body, token="demo-s3-registrar", headers={"Idempotency-Key": f"dash-{i}-{time.time()}"}),
                      201)["case_id"])
    s1 = ok(api.register(make_petition(), headers={"Idempotency-Key": f"dash-s1-{time.time()}"}), 201)["case_id"]
    for case_id in [*ids, s1]:
        api.case_in_reporting(case_id, want=lambda c: c["assigned_unit"] is not None)

    def warned():
        alerts = ok(api.call("reporting", "GET", "/alerts?limit=500", "demo-hq-analyst"))["items"]
        found = [a for a in alerts if a["kind"] == "collective_sign" and a["case_id"] in ids]
        assert found, alerts
        return found[0]

    return ids, api.eventually(warned)


def sign_in(browser, api, token: str):
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(api.stack.url("reporting") + "/dashboard")
    assert page.title().startswith("信访工作台")
    page.fill("#token", token)
    with page.expect_response(re.compile(r"/dashboard/overview")) as overview:
        page.click("#login-form button")
    page.wait_for_selector("body[data-ready=overview]")
    return context, page, overview.value.json(), errors


def go(page, hash_: str, view: str):
    page.evaluate("h => { location.hash = h; }", hash_)
    page.wait_for_selector(f"body[data-ready={view}]")


def test_headquarters_sees_the_group_with_every_formula(api, browser, s3_burst):
    ids, alert = s3_burst
    t0 = time.monotonic()
    context, page, overview, errors = sign_in(browser, api, "demo-hq-analyst")
    print(f"dashboard first load (sign-in to charts drawn): {time.monotonic() - t0:.2f} s")
    assert "集团全部单位" in page.inner_text("header.top") + page.inner_text("main")
    catalogue = ok(api.call("reporting", "GET", "/kpis", "demo-hq-analyst"))["items"]
    for k in catalogue:  # every indicator: its value, numerator, denominator and formula, as the API gave them
        card = page.locator(f"#kpi-{k['id']}")
        figure = next(i for i in overview["indicators"] if i["id"] == k["id"])
        text = card.inner_text()
        assert k["name"] in text and k["formula"] in text
        assert f"分子 {figure['numerator']} / 分母 {figure['denominator']}" in text
    volume = overview["volumes"][-1]
    assert f"{volume['cases']}件次" in page.inner_text("#kpi-cards").replace("\n", "")
    assert overview["group_by"] == "subsidiary"
    page.screenshot(path=str(ARTIFACTS / "1-hq-overview.png"), full_page=True)

    go(page, "#/compare", "compare")
    page.select_option("#kpi-pick", "per_thousand")
    page.wait_for_selector("#compare-table")
    table = page.inner_text("#compare-table")
    assert "第三装备制造有限公司" in table and "第一工程有限公司" in table
    page.screenshot(path=str(ARTIFACTS / "2-hq-compare.png"), full_page=True)

    go(page, "#/alerts?state=", "alerts")
    row = page.locator(f"tr[data-alert='{alert['alert_id']}']")
    assert "集体访苗头" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "3-hq-alerts.png"), full_page=True)

    go(page, "#/issues", "issues")
    assert "站段合并后通勤" in page.inner_text("main")
    go(page, "#/overdue", "overdue")
    page.screenshot(path=str(ARTIFACTS / "4-hq-overdue.png"), full_page=True)

    case = ok(api.call("reporting", "GET", f"/cases/{ids[0]}", "demo-hq-analyst"))
    go(page, "#/cases?case_no=" + case["case_no"], "cases")
    page.click(f"tr[data-case='{ids[0]}']")
    page.wait_for_selector("body[data-ready=case]")
    assert case["case_no"] in page.inner_text("h2")
    timeline = page.inner_text("#timeline")
    assert "登记" in timeline and "分派" in timeline
    deadlines = page.inner_text("#deadlines")
    assert "告知受理" in deadlines and "第二十三条第二款" in deadlines and "《信访工作条例》第三十四条" in deadlines
    assert "三公司信访办" in deadlines  # units by name
    assert page.locator("a.trace").count() == 0  # the trace is for operators
    page.screenshot(path=str(ARTIFACTS / "5-hq-case.png"), full_page=True)
    assert errors == []
    context.close()


def test_a_subsidiary_sees_only_its_own(api, browser, s3_burst):
    ids, alert = s3_burst
    context, page, overview, errors = sign_in(browser, api, "demo-s1-supervisor")
    assert overview["group_by"] == "unit"
    hq = ok(api.call("reporting", "GET", f"/dashboard/overview?month={overview['month']}", "demo-hq-analyst"))
    assert overview["volumes"][-1]["cases"] < hq["volumes"][-1]["cases"]  # S3's burst is not S1's
    main = page.inner_text("main")
    assert "第一工程有限公司" in main
    page.screenshot(path=str(ARTIFACTS / "6-s1-overview.png"), full_page=True)

    go(page, "#/compare", "compare")
    assert "第三装备制造有限公司" not in page.inner_text("main")
    go(page, "#/alerts?state=", "alerts")
    assert page.locator(f"tr[data-alert='{alert['alert_id']}']").count() == 0  # another subsidiary's warning
    go(page, "#/issues", "issues")
    case_no = ok(api.call("reporting", "GET", f"/cases/{ids[0]}", "demo-hq-analyst"))["case_no"]
    go(page, "#/cases?case_no=" + case_no, "cases")
    assert "没有符合条件的案件" in page.inner_text("#results")
    go(page, f"#/case/{ids[0]}", "error")  # not found, rather than forbidden: it does not exist for S1
    assert page.locator("[role=alert]").count() == 1
    page.screenshot(path=str(ARTIFACTS / "7-s1-no-s3-case.png"), full_page=True)
    assert errors == []
    context.close()

    # the subsidiary concerned sees its warning, takes it on and closes it, and sees its own case
    context, page, overview, errors = sign_in(browser, api, "demo-s3-handler")
    go(page, "#/alerts", "alerts")
    row = page.locator(f"tr[data-alert='{alert['alert_id']}']")
    assert row.count() == 1 and "待签收" in row.inner_text()
    assert "阈值 5" in row.inner_text()  # its evidence: the count, the threshold, the window, the cases
    row.locator("button.ack").click()
    row.locator(".ack-form [name=note]").fill("已安排三公司信访办与总装车间对接")
    row.locator(".ack-form button").click()
    # the list again: acknowledged, it leaves the open ones
    page.wait_for_selector(f"tr[data-alert='{alert['alert_id']}']", state="detached")
    go(page, "#/alerts?state=acknowledged", "alerts")
    assert "已签收" in page.locator(f"tr[data-alert='{alert['alert_id']}']").inner_text()
    row = page.locator(f"tr[data-alert='{alert['alert_id']}']")
    row.locator("button.close").click()
    row.locator(".close-form [name=resolution]").fill("恢复通勤班车，已向职工说明")
    row.locator(".close-form button").click()
    page.wait_for_selector(f"tr[data-alert='{alert['alert_id']}']", state="detached")
    go(page, "#/alerts?state=closed", "alerts")
    assert "已化解" in page.locator(f"tr[data-alert='{alert['alert_id']}']").inner_text()
    page.screenshot(path=str(ARTIFACTS / "8a-s3-alert-closed.png"), full_page=True)
    go(page, f"#/case/{ids[0]}", "case")
    page.screenshot(path=str(ARTIFACTS / "8-s3-case.png"), full_page=True)
    assert errors == []
    context.close()


def test_an_operator_follows_a_case_to_its_trace(api, browser, s3_burst):
    ids, _ = s3_burst
    context, page, _, errors = sign_in(browser, api, "demo-operator")
    go(page, f"#/case/{ids[1]}", "case")
    link = page.locator("a.trace").first
    trace_id = link.get_attribute("href").rsplit("/", 1)[1]

    def spans_written():  # span files are flushed in batches
        r = api.call("reporting", "GET", f"/traces/{trace_id}", "demo-operator")
        assert r.status_code == 200, r.text
        return r.json()

    trace = api.eventually(spans_written)
    assert {s["service"] for s in trace["spans"]} >= {"intake", "reporting"}
    link.click()
    page.wait_for_selector("body[data-ready=trace]")
    assert page.locator("#waterfall .row").count() >= len(trace["spans"])  # spans still being flushed may join
    page.screenshot(path=str(ARTIFACTS / "9-operator-trace.png"), full_page=True)
    assert errors == []
    context.close()


def test_a_wrong_token_is_refused_and_the_page_is_strict(api, browser):
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    response = page.goto(api.stack.url("reporting") + "/dashboard")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.fill("#token", "not-a-token")
    page.click("#login-form button")
    page.wait_for_selector("[role=alert]")
    assert "令牌无效" in page.inner_text("[role=alert]")
    assert ok(api.call("reporting", "GET", "/me", "demo-hq-analyst"))["headquarters"] is True
    assert api.call("reporting", "GET", "/traces/" + "0" * 32, "demo-hq-analyst").status_code == 403
    assert api.call("reporting", "GET", "/dashboard/overview?month=2026-13", "demo-hq-analyst").status_code == 422
    context.close()


def test_headquarters_picks_the_issue_of_the_month_and_the_subsidiary_tracks_it(api, browser, s3_burst):
    context, page, overview, errors = sign_in(browser, api, "demo-hq-supervisor")
    go(page, "#/governance", "governance")
    assert "站段合并后通勤" in page.inner_text("main")  # the month's top issue is suggested
    page.select_option("#gov-form [name=issue_type]", "commuting")
    page.select_option("#gov-form [name=subsidiary]", "S3")
    page.select_option("#gov-form [name=owner_unit]", "S3-HQB")
    page.fill("#gov-form [name=owner]", "后勤保障部主任")
    page.fill("#gov-form [name=why]", "本月三公司通勤问题件次最多，集中在总装车间")
    page.fill("#gov-form [name=fix]", "恢复并优化通勤班车线路，建立站段合并后通勤保障机制")
    page.fill("#gov-form [name=deadline]", "2027-03-31")
    page.click("#gov-form button")
    page.wait_for_selector("body[data-ready=governance]")
    page.wait_for_selector("#phases")
    issue_id = page.url.rsplit("/", 1)[1]
    assert "整改前" in page.inner_text("#phases") or "整改中" in page.inner_text("#phases")
    page.screenshot(path=str(ARTIFACTS / "10-hq-governance.png"), full_page=True)
    assert errors == []
    context.close()

    for token, sees in (("demo-s3-handler", True), ("demo-s1-supervisor", False)):
        context, page, _, errors = sign_in(browser, api, token)
        go(page, "#/governance", "governance")
        assert (page.locator(f"tr[data-issue-id='{issue_id}']").count() == 1) is sees, token
        assert errors == []
        context.close()


def test_a_unit_asks_on_the_case_page_that_a_case_leave_its_rates_and_headquarters_decides(api, browser, s3_burst):
    ids, _ = s3_burst
    context, page, _, errors = sign_in(browser, api, "demo-s3-handler")
    go(page, f"#/case/{ids[2]}", "case")
    page.wait_for_selector("#exclusion-form")
    page.select_option("#exclusion-form [name=ground]", "beyond_authority")
    page.fill("#exclusion-form [name=reasons]", "站段合并后的通勤安排属集团统一调整，超出本单位处理权限")
    page.click("#exclusion-form button")
    page.wait_for_selector("#exclusion-table")
    assert "待审批" in page.inner_text("#exclusion-table") or "pending" in page.inner_text("#exclusion-table")
    assert page.locator("#exclusion-form").count() == 0  # one request at a time
    assert errors == []
    context.close()

    context, page, _, errors = sign_in(browser, api, "demo-hq-supervisor")
    go(page, f"#/case/{ids[2]}", "case")
    page.wait_for_selector("#decision-form")
    page.fill("#decision-form [name=reason]", "属集团层面调整事项，同意剔除")
    page.click("#decision-form button[value=true]")
    page.wait_for_selector("#exclusions .tag.green")
    page.screenshot(path=str(ARTIFACTS / "11-hq-exclusion-approved.png"), full_page=True)
    listed = ok(api.call("reporting", "GET", "/kpi-exclusions", "demo-hq-supervisor", params={"case_id": ids[2]}))["items"]
    assert [x["state"] for x in listed] == ["approved"]
    assert errors == []
    context.close()
