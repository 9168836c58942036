"""A case's whole statutory life through every service over HTTP: 受理 -> 延期 -> 意见书 -> 评价 ->
回访 -> 复查 -> 复核 -> finality -> 不再受理 on a new petition; and the rules that refuse what the
statute refuses (a late review request, an accusation moved to the accused), with dates stated."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .conftest import CHINA

TODAY = datetime.now(CHINA).date()
PETITIONER = {"name": "张三", "id_number": "110101199001011237", "phone": "13900000001", "unit": "S1-U1"}


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def ok(r, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


def supervision_file(api, case_id: str, token: str = "demo-hq-analyst", want=lambda f: True) -> dict:
    def check():
        f = ok(api.call("supervision", "GET", f"/cases/{case_id}", token))
        assert want(f), f
        return f

    return api.eventually(check)


def docx_text(api, case_id: str, kind: str, token: str, **params) -> str:
    import io

    from docx import Document

    r = api.call("supervision", "GET", f"/cases/{case_id}/documents/{kind}", token, params={"format": "docx", **params})
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    return "\n".join(p.text for p in Document(io.BytesIO(r.content)).paragraphs)


def pdf_text(api, case_id: str, kind: str, token: str) -> str:
    import io

    from pypdf import PdfReader

    r = api.call("supervision", "GET", f"/cases/{case_id}/documents/{kind}", token, params={"format": "pdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)


def clock(f: dict, name: str) -> dict:
    found = [k for k in f["clocks"] if k["clock"] == name]
    assert found, f"no {name} clock yet in {f['clocks']}"  # an AssertionError, so eventually() polls again
    return found[0]


def test_one_case_through_its_whole_life(api, petition):
    created = ok(api.register(petition(received_at=f"{days_ago(10)}T09:00:00+08:00", petitioners=[PETITIONER])), 201)
    case_id, code = created["case_id"], created["receipt_code"]
    api.case_in_reporting(case_id, want=lambda c: c["status"] == "accepted")  # wages: the rule accepts for S1-HR

    # 交办 to the station (another organisation): it must accept anew, within 15 days or object in 5 working days
    ok(api.call("routing", "POST", f"/cases/{case_id}/transfer", "demo-s1-handler",
                json={"unit": "S1-U1", "mode": "交办", "reason": "属站段职权范围，交站段办理",
                      "report_due_on": (TODAY + timedelta(days=50)).isoformat()}))
    f = supervision_file(api, case_id, want=lambda f: any(k["clock"] == "objection" for k in f["clocks"]))
    assert clock(f, "transferred_notice")["unit"] == "S1-U1" and "第二十三条第三款" in clock(f, "objection")["basis"]
    assert clock(f, "objection")["unit_of_period"] == "working_days" and clock(f, "report")["unit"] == "S1-U1"
    ok(api.call("routing", "POST", f"/cases/{case_id}/accept", "demo-s1-u1-handler", json={}))
    ok(api.call("routing", "POST", f"/cases/{case_id}/leader", "demo-s1-leader", json={}))  # 领导包案
    f = supervision_file(api, case_id, want=lambda f: any(k["clock"] == "handling" and k["unit"] == "S1-U1"
                                                          and k["state"] != "cancelled" for k in f["clocks"]))
    handling = next(k for k in f["clocks"] if k["clock"] == "handling" and k["state"] != "cancelled")
    assert supervision_file(api, case_id, want=lambda f: f["leader"])["leader"] == "s1-leader"  # 包案, in every view
    assert handling["basis"] == "《信访工作条例》第三十四条" and handling["starts_on"] == TODAY.isoformat()

    # 延期: a leader above approves at most 30 days, once
    sup = f"/cases/{case_id}"
    r = api.call("supervision", "POST", f"{sup}/extension", "demo-s1-u1-handler", json={"days": 30, "reason": "需调取档案"})
    assert r.status_code == 403  # a handler is not the unit's head
    r = api.call("supervision", "POST", f"{sup}/extension", "demo-s1-leader", json={"days": 31, "reason": "x" * 5})
    assert r.status_code == 422 and "30" in r.text
    f = ok(api.call("supervision", "POST", f"{sup}/extension", "demo-s1-leader",
                    json={"days": 30, "reason": "需调取历年工资档案核对"}))
    assert clock(f, "handling")["extended_days"] == 30
    r = api.call("supervision", "POST", f"{sup}/extension", "demo-s1-leader", json={"days": 5, "reason": "再延"})
    assert r.status_code == 422 and "一次" in r.text
    ok(api.call("supervision", "POST", f"{sup}/progress", "demo-s1-u1-handler", json={"note": "已调取2026年工资台账"}))

    # 信访处理意见书: drafted from a template, reviewed at the second level, served
    reply = {"decision": "支持", "template": "wages", "request": "补发三季度绩效工资",
             "facts": "经核查，三季度绩效工资少发2,300元", "reasons": "考核系数计算有误", "basis": "《工资支付暂行规定》第九条"}
    ok(api.call("supervision", "POST", f"{sup}/reply/drafts", "demo-s1-u1-handler", json=reply))
    r = api.call("supervision", "POST", f"{sup}/reply/service", "demo-s1-u1-handler", json={"method": "当面"})
    assert r.status_code == 422 and "审核" in r.text
    ok(api.call("supervision", "POST", f"{sup}/reply/review", "demo-s1-leader", json={"approved": True}))
    f = ok(api.call("supervision", "POST", f"{sup}/reply/service", "demo-s1-u1-handler",
                    json={"method": "当面", "receipt": "签收"}))
    assert f["stage"] == "replied" and clock(f, "handling")["state"] == "met"
    assert clock(f, "review_request_window")["due_on"] == (TODAY + timedelta(days=30)).isoformat() or \
        clock(f, "review_request_window")["rolled_from"] == (TODAY + timedelta(days=30)).isoformat()

    # the petitioner evaluates with the query code: satisfied with the office, not with the unit
    body = ok(api.call("supervision", "POST", "/public/evaluation",
                       json={"receipt_code": code, "petition_office": "满意", "responsible_unit": "不满意"}))
    assert body["evaluated"] == ["petition_office", "responsible_unit"] and "S1-U1" not in str(body)
    f = supervision_file(api, case_id)
    assert f["evaluation_status"] == {"petition_office": "已评价", "responsible_unit": "已评价"}
    assert f["evaluations"]["responsible_unit"]["collected_by"] == "petitioner"
    assert clock(f, "followup")["state"] in ("running", "due_soon")  # 不满意 -> a 回访 is owed
    ok(api.call("supervision", "POST", f"{sup}/followup", "demo-s1-xfb-supervisor",
                json={"outcome": "电话回访，信访人仍不接受补发方案", "satisfied_now": False}))

    # 复查 (Art 35) at the level above the station, then 复核 (Art 36) above that, then final
    f = ok(api.call("supervision", "POST", "/public/review-request", json={"receipt_code": code, "level": "复查"}))
    assert f["stage"] == "reviewing"
    f = supervision_file(api, case_id)
    assert f["reviews"][0]["reviewing_unit"] == "S1-XFB" and "第三十五条" in clock(f, "review")["basis"]
    opinion = {"decision": "维持", "request": "补发", "facts": "同原意见", "reasons": "原处理意见正确", "basis": "第三十五条"}
    r = api.call("supervision", "POST", f"{sup}/reviews/复查/opinion", "demo-s1-u1-handler", json=opinion)
    assert r.status_code == 403  # not the reviewing body
    ok(api.call("supervision", "POST", f"{sup}/reviews/复查/opinion", "demo-s1-xfb-handler", json=opinion))
    ok(api.call("supervision", "POST", "/public/review-request", json={"receipt_code": code, "level": "复核"}))
    f = supervision_file(api, case_id)
    assert f["reviews"][1]["reviewing_unit"] == "HQ-XFB" and "第三十六条" in clock(f, "re_review")["basis"]
    f = ok(api.call("supervision", "POST", f"{sup}/reviews/复核/opinion", "demo-hq-xfb-handler", json=opinion))
    assert f["stage"] == "final" and f["final_on"] == TODAY.isoformat()

    c = api.case_in_reporting(case_id, want=lambda c: c["stage"] == "final" and c["final_on"])
    types = [t["type"] for t in c["timeline"]]
    for t in ("case.assigned.v1", "case.accepted.v1", "case.leader_took.v1", "deadline.extended.v1",
              "supervision.progress_noted.v1", "reply.drafted.v1", "reply.reviewed.v1", "reply.served.v1",
              "evaluation.recorded.v1", "followup.required.v1", "followup.recorded.v1", "review.requested.v1",
              "review.opinion_issued.v1", "case.finalised.v1"):
        assert t in types, t
    assert c["leader"] == "s1-leader" and c["first_unit"] == "S1-HR" and c["extended"]
    assert c["evaluation"]["responsible_unit"] == "不满意" and c["stage_label"] == "复核终结"
    for secret in ("张三", "110101199001011237", "考核系数计算有误", "2,300"):
        assert secret not in str(c), secret
    status = ok(api.call("reporting", "POST", "/public/status", json={"receipt_code": code}))
    assert status["stage"] == "final" and "S1-U1" not in str(status)

    # the statutory documents, opened and read back
    listed = ok(api.call("supervision", "GET", f"{sup}/documents", "demo-s1-handler"))["documents"]
    assert {d["kind"] for d in listed} >= {"acceptance_notice", "transfer_form", "extension_notice", "reply",
                                            "review_opinion", "re_review_opinion"}
    reply_doc = docx_text(api, case_id, "reply", "demo-s1-handler")
    for text in ("信访处理意见书", created["case_no"], "张三", "补发三季度绩效工资", "考核系数计算有误",
                 "第三十二条第（一）项", "30日内向一公司信访办请求复查", "第三十五条"):
        assert text in reply_doc, text
    assert "张三" not in docx_text(api, case_id, "reply", "demo-s1-xfb-supervisor")  # a supervisor sees no identity
    assert pdf_text(api, case_id, "reply", "demo-s1-handler").replace("\n", "").count("信访处理意见书") >= 1
    for kind, texts in {"acceptance_notice": ("受理告知书", "一公司北京站段", TODAY.strftime("%Y年%-m月%-d日")),
                        "transfer_form": ("交由", "一公司北京站段", "第二十二条", "5个工作日"),
                        "extension_notice": ("延长30日", "需调取历年工资档案核对", "第三十四条"),
                        "review_opinion": ("复查意见书", "维持原处理意见", "向集团信访办公室请求复核"),
                        "re_review_opinion": ("复核意见书", "不再受理", "第三十六条第三款")}.items():
        doc = docx_text(api, case_id, kind, "demo-s1-handler")
        for text in texts:
            assert text in doc, (kind, text)
    assert api.call("supervision", "GET", f"{sup}/documents/rejection_notice", "demo-s1-handler").status_code == 404

    # the same petitioner, the same matter, after 复核: routing suggests 不再受理 (Art 36 ¶3); a person confirms
    again = ok(api.register(petition(petitioners=[{**PETITIONER, "name": "张三", "phone": None}],
                                     summary="再次反映三季度绩效工资问题")), 201)

    def suggested():
        r = ok(api.call("routing", "GET", f"/cases/{again['case_id']}", "demo-s1-handler"))
        assert r["suggestions"], r
        return r

    case = api.eventually(suggested)
    [s] = [s for s in case["suggestions"] if s["flag"] == "final_after_re_review"]
    assert (s["suggestion"], s["linked_case_ids"]) == ("不再受理", [case_id])
    done = ok(api.call("routing", "POST", f"/cases/{again['case_id']}/reject", "demo-s1-handler",
                       json={"ground": "final_after_re_review", "linked_case_id": case_id,
                             "reason": "该事项已经复核终结，以同一事实和理由再次提出，不再受理"}))
    assert done["status"] == "rejected" and done["reject_ground"] == "final_after_re_review"
    refusal = api.eventually(lambda: docx_text(api, again["case_id"], "rejection_notice", "demo-s1-handler"))
    for text in ("不予受理告知书", "复核终结", "第三十六条第三款", "不再受理"):
        assert text in refusal, text


def test_a_review_requested_on_the_thirty_first_day_is_refused_with_the_article_and_the_dates(api, petition):
    created = ok(api.register(petition(received_at=f"{days_ago(80)}T09:00:00+08:00", category="检举控告类",
                                       issue_type="discipline_violation", accused_unit="S1-U2")), 201)
    case_id = created["case_id"]
    api.case_in_reporting(case_id, want=lambda c: c["status"] == "assigned")
    ok(api.call("routing", "POST", f"/cases/{case_id}/accept", "demo-s1-jw-handler", json={"on": days_ago(75)}))
    supervision_file(api, case_id, want=lambda f: any(k["clock"] == "handling" for k in f["clocks"]))
    sup = f"/cases/{case_id}"
    ok(api.call("supervision", "POST", f"{sup}/reply/drafts", "demo-s1-jw-handler",
                json={"decision": "不支持", "template": "general-refuse", "request": "查处", "facts": "经查不实",
                      "reasons": "无证据", "basis": "纪律处分条例", "on": days_ago(40)}))
    ok(api.call("supervision", "POST", f"{sup}/reply/review", "demo-s1-jw-leader", json={"approved": True, "on": days_ago(40)}))
    served_on = days_ago(31)
    ok(api.call("supervision", "POST", f"{sup}/reply/service", "demo-s1-jw-handler",
                json={"method": "邮寄", "on": served_on}))
    f = supervision_file(api, case_id)
    window = clock(f, "review_request_window")
    r = api.call("supervision", "POST", f"{sup}/reviews", "demo-s1-jw-handler", json={"level": "复查"})
    if window["due_on"] >= TODAY.isoformat():  # the 30th day rolled past a rest day: still in time today
        assert r.status_code == 200, r.text
        return
    assert r.status_code == 422, r.text
    refusal = r.json()
    assert "第三十五条" in refusal["message"] and served_on in refusal["message"] and window["due_on"] in refusal["message"]
    assert refusal["article"] == "《信访工作条例》第三十五条" and refusal["due_on"] == window["due_on"]
    assert refusal["requested_on"] == TODAY.isoformat()


def test_an_acceptance_whose_sixtieth_day_is_national_day_is_due_after_the_holiday(api, petition):
    created = ok(api.register(petition(received_at="2026-07-28T09:00:00+08:00", category="检举控告类",
                                       issue_type="discipline_violation", accused_unit="S1-U2")), 201)
    case_id = created["case_id"]
    api.case_in_reporting(case_id, want=lambda c: c["status"] == "assigned")
    # discipline inspection finds it is in fact an appeal about pay: 申诉求决 (Art 31(六)), 60 days
    ok(api.call("routing", "POST", f"/cases/{case_id}/classify", "demo-s1-jw-handler",
                json={"category": "申诉求决类", "issue_type": "wages", "on": "2026-08-01"}))
    ok(api.call("routing", "POST", f"/cases/{case_id}/accept", "demo-s1-jw-handler", json={"on": "2026-08-02"}))
    f = supervision_file(api, case_id, want=lambda f: any(k["clock"] == "handling" for k in f["clocks"]))
    handling = clock(f, "handling")
    assert (handling["rolled_from"], handling["due_on"]) == ("2026-10-01", "2026-10-08")
    # long overdue by now: breached the day after the last day, and 督办 ordered up the chain
    f = supervision_file(api, case_id, want=lambda f: any(o["clock"] == "handling" for o in f["orders"]))
    assert clock(f, "handling")["breached_on"] == "2026-10-09"
    order = next(o for o in f["orders"] if o["clock"] == "handling")
    assert order["ground"] == "overdue" and order["to_unit"] == "S1-JW"
    listed = ok(api.call("supervision", "GET", "/orders", "demo-hq-supervisor", params={"unit": "S1-JW"}))
    assert case_id in [o["case_id"] for o in listed["items"]]
    record = ok(api.call("supervision", "GET", "/accountability", "demo-hq-supervisor"))
    assert any(u["unit"] == "S1-JW" and u["orders"] >= 1 for u in record["items"])


def test_a_case_passed_on_four_times_brings_a_duban_for_tuiwei(api, petition):
    created = ok(api.register(petition(issue_type="housing", category="建议意见类")), 201)
    case_id = created["case_id"]
    api.case_in_reporting(case_id, want=lambda c: c["status"] == "accepted")
    for unit in ("S1-HR", "S1-LTX", "S1-DQ", "S1-ZC"):
        ok(api.call("routing", "POST", f"/cases/{case_id}/transfer", "demo-s1-handler",
                    json={"unit": unit, "reason": "不属本部门"}))
    r = ok(api.call("routing", "GET", f"/cases/{case_id}", "demo-s1-handler"))
    assert (r["moves"], r["first_unit"]) == (4, "S1-HQB")  # the first unit stays accountable
    f = supervision_file(api, case_id, want=lambda f: any(o["ground"] == "推诿" for o in f["orders"]))
    order = next(o for o in f["orders"] if o["ground"] == "推诿")
    assert order["to_unit"] == "S1-ZC"
    # the ordered unit answers in writing; the order closes
    f = ok(api.call("supervision", "POST", f"/cases/{case_id}/orders/{order['no']}/feedback", "demo-s1-handler",
                    json={"feedback": "已明确由资产管理部牵头办理，不再转办"}))
    assert next(o for o in f["orders"] if o["no"] == order["no"])["feedback_on"] == TODAY.isoformat()
    doc = docx_text(api, case_id, "order", "demo-s1-handler", n=order["no"])
    for text in ("信访事项督办单", "一公司资产管理部", "推诿", "第四十条", "书面反馈"):
        assert text in doc, text


def test_an_objection_returns_the_case_only_when_the_sender_agrees(api, petition):
    created = ok(api.register(petition(issue_type="wages")), 201)
    case_id = created["case_id"]
    api.case_in_reporting(case_id, want=lambda c: c["status"] == "accepted")
    ok(api.call("routing", "POST", f"/cases/{case_id}/transfer", "demo-s1-handler",
                json={"unit": "S2-HR", "reason": "属二公司职工"}))
    r = ok(api.call("routing", "POST", f"/cases/{case_id}/objection", "demo-s2-handler",
                    json={"reason": "信访人系一公司职工，不属本单位职权范围"}))
    assert r["status"] == "objected" and r["sender"] == "S1-HR"
    assert api.call("routing", "POST", f"/cases/{case_id}/objection-decision", "demo-s2-handler",
                    json={"agreed": True}).status_code == 403  # only the sender decides
    r = ok(api.call("routing", "POST", f"/cases/{case_id}/objection-decision", "demo-s1-handler", json={"agreed": True}))
    assert (r["unit"], r["status"], r["mode"]) == ("S1-HR", "assigned", "returned")
    f = supervision_file(api, case_id, want=lambda f: clock(f, "objection")["met_on"] is not None)
    assert clock(f, "objection")["late"] is False


def test_joint_handling_recusal_investigation_hearing_agreement_closure_and_urgency(api, petition):
    created = ok(api.register(petition(issue_type="social_insurance_transfer", category="申诉求决类")), 201)
    case_id = created["case_id"]
    api.case_in_reporting(case_id, want=lambda c: c["status"] == "accepted" and c["assigned_unit"] == "S1-SB")
    cases = f"/cases/{case_id}"
    # 主办 S1-SB, 协办 S1-LTX with its own task and deadline
    due = (TODAY + timedelta(days=10)).isoformat()
    ok(api.call("routing", "POST", f"{cases}/joint-handling", "demo-s1-handler",
                json={"subtasks": [{"unit": "S1-LTX", "task": "核对退休人员名册", "due_on": due}]}))
    f = supervision_file(api, case_id, want=lambda f: any(k["clock"] == "subtask:S1-LTX" for k in f["clocks"]))
    assert clock(f, "subtask:S1-LTX")["due_on"] >= due
    # 回避: the handler withdraws and from then on does not see the case, in any service
    ok(api.call("routing", "POST", f"{cases}/handler", "demo-s1-leader", json={"handler": "s1-handler", "unit": "S1"}))
    assert api.call("reporting", "GET", cases, "demo-s1-handler").status_code == 200
    ok(api.call("routing", "POST", f"{cases}/recusal", "demo-s1-leader",
                json={"handler": "s1-handler", "reason": "信访人系其近亲属", "replaced_by": "s1-leader"}))
    def hidden():
        for service, path in (("routing", cases), ("reporting", cases), ("supervision", cases),
                              ("intake", f"/petitions/{case_id}")):
            assert api.call(service, "GET", path, "demo-s1-handler").status_code == 404, service

    api.eventually(hidden)
    ok(api.call("routing", "POST", f"{cases}/investigations", "demo-s1-leader",
                json={"investigators": ["s1-leader"], "units": ["S1-SB", "S1-LTX"], "place": "社保中心",
                      "persons_heard": "经办人两名", "findings": "移交时漏报一人"}))
    # a hearing pauses the handling clock; its days are not counted
    f = ok(api.call("supervision", "POST", f"{cases}/clocks/handling/pause", "demo-s1-leader",
                    json={"reason": "听证"}))
    assert clock(f, "handling")["state"] == "paused"
    f = ok(api.call("supervision", "POST", f"{cases}/clocks/handling/resume", "demo-s1-leader", json={}))
    assert clock(f, "handling")["state"] in ("running", "due_soon")
    # 重大紧急: every level above is told at once
    ok(api.call("supervision", "POST", f"{cases}/urgent", "demo-s1-leader", json={"reason": "扬言集体上访"}))
    c = api.case_in_reporting(case_id, want=lambda c: c["urgent"] and len([a for a in c["alerts"] if a["kind"] == "urgent"]) == 2)
    assert {a["unit"] for a in c["alerts"] if a["kind"] == "urgent"} == {"S1-XFB", "HQ-XFB"}
    # a 督办 given by hand, answered in writing
    f = ok(api.call("supervision", "POST", f"{cases}/orders", "demo-hq-supervisor", json={"note": "请加快办理"}))
    order = f["orders"][-1]
    assert (order["level"], order["issued_by"], order["to_unit"]) == ("headquarters", "HQ-XFB", "S1-SB")
    ok(api.call("supervision", "POST", f"{cases}/orders/{order['no']}/feedback", "demo-s1-leader",
                json={"feedback": "已联系地方社保经办机构"}))
    # settled by 调解协议书 instead of a reply; the leader approves the closure: 息诉罢访
    ok(api.call("routing", "POST", f"{cases}/subtask-report", "demo-s1-leader", json={"report": "名册已核对"}))
    f = ok(api.call("supervision", "POST", f"{cases}/agreement", "demo-s1-leader",
                    json={"kind": "调解协议书", "content": "双方同意补办社保关系转移"}))
    assert f["stage"] == "replied" and clock(f, "handling")["state"] == "met"
    f = ok(api.call("supervision", "POST", f"{cases}/closure", "demo-s1-leader", json={"outcome": "息诉罢访"}))
    assert f["stage"] == "closed" and f["outcome"] == "息诉罢访"
    c = api.case_in_reporting(case_id, want=lambda c: c["stage"] == "closed")
    types = {t["type"] for t in c["timeline"]}
    assert {"case.joint_handling_set.v1", "case.handler_recused.v1", "case.investigation_recorded.v1",
            "deadline.paused.v1", "deadline.resumed.v1", "case.urgent_flagged.v1", "supervision.order_issued.v1",
            "supervision.order_feedback.v1", "case.subtask_reported.v1", "agreement.signed.v1", "case.closed.v1"} <= types
    assert "信访人系其近亲属" not in str(c) and "双方同意" not in str(c)
    # the evaluation window is open now; a 不满意 by phone sends the case back for 重办
    ok(api.call("supervision", "POST", f"{cases}/evaluations", "demo-s1-xfb-supervisor",
                json={"petition_office": "满意", "responsible_unit": "不满意", "via": "电话"}))
    f = ok(api.call("supervision", "POST", f"{cases}/rehandling", "demo-s1-xfb-supervisor",
                    json={"reason": "信访人对调解执行不满意"}))
    assert f["stage"] == "rehandling" and clock(f, "rehandling")["unit"] == "S1-SB"
    assert f["evaluations"]["responsible_unit"]["collected_by"] == "petition_office"
    awaiting = ok(api.call("supervision", "GET", "/files", "demo-hq-supervisor", params={"which": "under_review"}))
    assert case_id not in [i["case_id"] for i in awaiting["items"]]
