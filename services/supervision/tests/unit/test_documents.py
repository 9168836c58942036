"""Statutory documents, pure: filled from the group's templates, written as DOCX and PDF and read
back; identity only for those who may see it."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from docx import Document as Docx
from pypdf import PdfReader

from backbone.auth import OrgTree
from supervision import documents as docs
from supervision.domain.case import CaseFile, Draft, Order, Refusal, Review, Transfer
from supervision.domain.clocks import Clock
from supervision.domain.policy import Policy

SEED = Path(__file__).resolve().parents[4] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
POLICY = Policy.load(SEED / "handling.yaml")
TEMPLATES = docs.load_templates(SEED / "documents.yaml")
HANDLING = Clock(name="handling", kind="duty", starts_on=date(2026, 8, 2), period=60, unit_of_period="calendar_days",
                 basis="《信访工作条例》第三十四条", unit="S1-U1", due_on=date(2026, 10, 8), rolled_from=date(2026, 10, 1),
                 extended_days=30, original_due_on=date(2026, 10, 8))
FILE = CaseFile(
    case_id="c", case_no="XF-2026-000042", received_on=date(2026, 7, 28), unit="S1-U1", issue_type="wages",
    accepted_on=date(2026, 8, 2), accepted_by="S1-U1", clocks={"handling": HANDLING}, extension_on=date(2026, 9, 30),
    transfers=(Transfer(unit="S1-U1", previous_unit="S1-HR", mode="交办", on=date(2026, 7, 30),
                        report_due_on=date(2026, 9, 30)),),
    drafts=(Draft(no=1, stage="handling", decision="支持", template="wages", by_unit="S1-U1", on=date(2026, 10, 20),
                  approved=True, served_on=date(2026, 10, 21)),),
    reviews=(Review(level="复查", requested_on=date(2026, 11, 1), reviewing_unit="S1-XFB", decision="维持",
                    issued_on=date(2026, 11, 20)),),
    orders=(Order(no=1, ground="overdue", level="subsidiary", issued_by="S1-XFB", to_unit="S1-U1", on=date(2026, 10, 9),
                  feedback_due_on=date(2026, 10, 19)),),
)
TEXTS = {"petitioner": "张三", "extension_reason": "需调取历年工资档案", "transfer_reasons": {0: "属站段职权"},
         "drafts": {1: {"request": "补发绩效工资", "facts": "少发2,300元", "reasons": "系数有误", "basis": "《工资支付暂行规定》"}},
         "opinions": {"复查": {"request": "撤销", "facts": "同原意见", "reasons": "正确", "basis": "第三十五条"}},
         "order_notes": {1: "请加快办理"}}


def fill(kind, n=None, f=FILE, texts=TEXTS):
    return docs.fill(kind, n, f, texts, ORG, POLICY, TEMPLATES, date(2026, 12, 1))


def test_every_document_the_case_has_is_listed_and_filled():
    kinds = [d["kind"] for d in docs.available(FILE)]
    assert kinds == ["acceptance_notice", "transfer_form", "extension_notice", "reply", "review_opinion", "order"]
    for kind in kinds:
        d = fill(kind, 1 if kind in ("transfer_form", "order") else None)
        text = "".join(d.paragraphs)
        assert "—" not in text.replace("——", ""), (kind, text)  # no placeholder left unfilled
        assert d.case_no == "XF-2026-000042"


def test_the_documents_say_what_the_statute_requires():
    acceptance = fill("acceptance_notice")
    assert "2026年8月2日" in "".join(acceptance.paragraphs) and "60日内（至2026年10月8日）" in "".join(acceptance.paragraphs)
    assert acceptance.sign == "一公司北京站段"
    reply = "".join(fill("reply").paragraphs)
    for text in ("补发绩效工资", "少发2,300元", "第三十二条第（一）项", "30日内向一公司信访办请求复查"):
        assert text in reply, text
    extension = "".join(fill("extension_notice").paragraphs)
    assert "延长30日" in extension and "需调取历年工资档案" in extension
    transfer = fill("transfer_form", 1)
    assert transfer.sign == "一公司人力资源部" and "交由" in "".join(transfer.paragraphs)
    assert "2026年9月30日前报送办理结果" in "".join(transfer.paragraphs)
    assert "向集团信访办公室请求复核" in "".join(fill("review_opinion").paragraphs)
    order = fill("order", 1)
    assert order.sign == "一公司信访办" and "2026年10月19日前书面反馈" in "".join(order.paragraphs)


def test_a_refusal_names_its_ground_its_article_and_the_channel_to_use():
    f = FILE.model_copy(update={"refusal": Refusal(ground="legal_channel", basis="《信访工作条例》第三十一条第（二）项",
                                                   legal_channel="劳动人事争议仲裁", reason_sealed="x", on=date(2026, 8, 1),
                                                   unit="S1-HR")})
    text = "".join(fill("rejection_notice", f=f, texts={**TEXTS, "refusal_reason": "系解除劳动合同争议"}).paragraphs)
    for part in ("劳动人事争议仲裁", "第三十一条第（二）项", "系解除劳动合同争议", "不予受理"):
        assert part in text, part


def test_a_document_the_case_does_not_have_yet_is_refused():
    with pytest.raises(docs.Unavailable):
        fill("rejection_notice")
    with pytest.raises(docs.Unavailable):
        fill("re_review_opinion")
    with pytest.raises(docs.Unavailable):
        fill("order", 7)


def test_docx_and_pdf_open_and_read_back():
    d = fill("reply")
    paragraphs = [p.text for p in Docx(io.BytesIO(docs.docx(d))).paragraphs]
    assert paragraphs[0] == "信访处理意见书" and "编号：XF-2026-000042" in paragraphs
    assert any("少发2,300元" in p for p in paragraphs) and "一公司北京站段" in paragraphs
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(docs.pdf(d))).pages).replace("\n", "")
    for part in ("信访处理意见书", "XF-2026-000042", "少发2,300元", "第三十二条"):
        assert part in text, part


def test_templates_with_a_broken_placeholder_are_refused_at_start(tmp_path):
    bad = (SEED / "documents.yaml").read_text(encoding="utf-8").replace("编号：{case_no}，问题类型", "编号：{case no}，问题类型", 1)
    (tmp_path / "documents.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(ValueError, match="placeholder"):
        docs.load_templates(tmp_path / "documents.yaml")
