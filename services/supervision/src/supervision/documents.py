"""Statutory documents of a case (受理告知书, 不予受理告知书, 转送/交办单, 延期告知书, 信访处理意见书,
复查意见书, 复核意见书, 督办单), filled from the group's templates (deploy/seed/documents.yaml) and
written as DOCX (python-docx) and PDF (reportlab, with the Adobe Song CID font every PDF reader
knows, so nothing has to be embedded).

``fill`` is pure: the case file, its opened texts and the organisation in, a ``Document`` out. The
texts were sealed by the services that wrote them; supervision opens intake's and routing's only
here, with their keys (XF_PEER_SEAL_KEYS), and a reader whose role may not see identities gets the
petitioner's name as 「信访人」.
"""

from __future__ import annotations

import io
import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from backbone.auth import OrgTree

from .domain.case import CaseFile
from .domain.policy import Policy, review_body

KINDS = ("acceptance_notice", "rejection_notice", "transfer_form", "extension_notice", "reply", "review_opinion",
         "re_review_opinion", "order")
KIND_LABEL = {"acceptance_notice": "受理告知书", "rejection_notice": "不予受理告知书", "transfer_form": "转送（交办）单",
              "extension_notice": "延期告知书", "reply": "信访处理意见书", "review_opinion": "复查意见书",
              "re_review_opinion": "复核意见书", "order": "督办单"}
DECISION_TEXT = {"支持": "对你（们）的信访请求予以支持（《信访工作条例》第三十二条第（一）项）",
                 "解释": "你（们）的请求合理但缺乏法律依据，作出解释说明（《信访工作条例》第三十二条第（二）项）",
                 "不支持": "你（们）的请求缺乏事实根据或者不符合规定，不予支持（《信访工作条例》第三十二条第（三）项）",
                 "维持": "维持原处理意见", "撤销": "撤销原处理意见", "变更": "变更原处理意见",
                 "责令重新办理": "责令原办理单位重新办理"}
GROUND_TEXT = {"overdue": "已超过法定办理期限", "推诿": "在单位之间多次转办（推诿）", "unexecuted": "支持的处理意见未执行到位",
               "untouched": "长时间没有办理进展", "urgent": "属重大紧急事项", "manual": "需督促办理"}
REFUSAL_TEXT = {"legal_channel": "该事项属于依法应当通过{channel}途径解决的事项",
                "same_matter_in_handling": "该事项正在有权机关、单位办理期限内，你（们）又向上级提出同一事项",
                "final_after_re_review": "该事项已经复核终结，你（们）以同一事实和理由再次提出",
                "not_a_petition": "该事项不属于信访事项"}


class Unavailable(Exception):
    """The case has no such document (yet)."""


@dataclass(frozen=True)
class Document:
    kind: str
    title: str
    basis: str
    case_no: str
    paragraphs: list[str]
    sign: str
    dated: str

    @property
    def filename(self) -> str:
        return f"{self.case_no}-{KIND_LABEL[self.kind]}"


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "—"


def load_templates(path: Path) -> dict[str, dict]:
    docs = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["documents"]
    missing = set(KINDS) - set(docs)
    if missing:
        raise ValueError(f"{path}: no template for {sorted(missing)}")
    for kind, t in docs.items():  # every placeholder is one the filler knows, or the file is refused early
        for text in (*t["body"], t["sign"], t["dated"]):
            for _, name, _, _ in string.Formatter().parse(text):
                if name and not name.isidentifier():
                    raise ValueError(f"{path}: {kind}: bad placeholder {{{name}}}")
    return docs


def available(f: CaseFile) -> list[dict]:
    """The documents a case has so far (kind and, where there can be several, their numbers)."""
    out = []
    if f.accepted_on is not None:
        out.append({"kind": "acceptance_notice"})
    if f.refusal is not None:
        out.append({"kind": "rejection_notice"})
    out += [{"kind": "transfer_form", "n": i} for i, _ in enumerate(f.transfers, start=1)]
    if f.extension_on is not None:
        out.append({"kind": "extension_notice"})
    if any(d.approved for d in f.drafts):
        out.append({"kind": "reply"})
    out += [{"kind": "review_opinion" if r.level == "复查" else "re_review_opinion"} for r in f.reviews if r.issued_on]
    out += [{"kind": "order", "n": o.no} for o in f.orders]
    return [{**d, "label": KIND_LABEL[d["kind"]]} for d in out]


def fill(kind: str, n: int | None, f: CaseFile, texts: dict[str, Any], org: OrgTree, policy: Policy,
         templates: dict[str, dict], today: date) -> Document:
    """The document ``kind`` of the case, its placeholders filled. ``texts`` holds the opened
    sealed texts: petitioner, summary, refusal_reason, transfer_reasons[i], extension_reason,
    drafts[no], opinions[level], order_notes[no]."""
    if kind not in templates:
        raise Unavailable(kind)
    name = org.name
    handling = f.clocks.get("handling")
    v: dict[str, Any] = {
        "case_no": f.case_no or f.case_id, "received_on": _d(f.received_on), "petitioner": texts.get("petitioner") or "信访人",
        "summary": texts.get("summary") or "", "issue_type": f.issue_type or "", "unit_name": name(f.unit) or "",
        "today": _d(today), "accepted_on": _d(f.accepted_on),
        "handling_days": handling.period if handling else policy.handling_period(f.category).days,
        "handling_due_on": _d(handling.due_on) if handling else "", "handling_basis": handling.basis if handling else "",
    }
    if kind == "acceptance_notice":
        _need(f.accepted_on is not None, "案件尚未受理")
        v["unit_name"] = name(f.accepted_by or f.unit) or ""
    elif kind == "rejection_notice":
        r = f.refusal
        _need(r is not None, "案件没有不予受理的决定")
        v.update(rejected_on=_d(r.on), unit_name=name(r.unit) or "", refusal_basis=r.basis,
                 refusal_reason=REFUSAL_TEXT.get(r.ground, "").format(channel=r.legal_channel or "法定")
                 + "。" + (texts.get("refusal_reason") or ""),
                 legal_channel_text=f"请你（们）依法通过{r.legal_channel}途径提出。" if r.legal_channel else "")
    elif kind == "transfer_form":
        _need(bool(f.transfers), "案件没有转送或交办")
        i = (n or len(f.transfers)) - 1
        _need(0 <= i < len(f.transfers), f"没有第 {n} 次转送")
        t = f.transfers[i]
        v.update(mode={"交办": "交由", "转送": "转送", "returned": "退回", "superior_decision": "经共同上级决定交由",
                       "manual": "分派"}.get(t.mode, t.mode), to_unit_name=name(t.unit) or t.unit,
                 from_unit_name=name(t.previous_unit) or "", transfer_on=_d(t.on),
                 transfer_reason=(texts.get("transfer_reasons") or {}).get(i, ""),
                 report_text=f"请于{_d(t.report_due_on)}前报送办理结果（《信访工作条例》第二十二条）。" if t.report_due_on else "")
    elif kind == "extension_notice":
        _need(f.extension_on is not None and handling is not None, "案件没有延期")
        v.update(extension_days=handling.extended_days, extension_reason=texts.get("extension_reason") or "",
                 extension_on=_d(f.extension_on))
    elif kind == "reply":
        drafts = [d for d in f.drafts if d.approved]
        _need(bool(drafts), "处理意见书尚未审核同意")
        d = drafts[-1]
        v.update(**(texts.get("drafts") or {}).get(d.no, {}), decision_text=DECISION_TEXT.get(d.decision, d.decision),
                 served_on=_d(d.served_on or d.on), unit_name=name(d.by_unit) or "",
                 review_body=_body(org, policy, review_body(org, d.by_unit) if d.by_unit in org else None))
    elif kind in ("review_opinion", "re_review_opinion"):
        level = "复查" if kind == "review_opinion" else "复核"
        r = f.review(level)
        _need(r is not None and r.issued_on is not None, f"尚无{level}意见")
        v.update(**(texts.get("opinions") or {}).get(level, {}), decision_text=DECISION_TEXT.get(r.decision, r.decision),
                 served_on=_d(r.issued_on), unit_name=name(r.reviewing_unit) or policy.external_review_body,
                 re_review_body=_body(org, policy, review_body(org, r.reviewing_unit) if r.reviewing_unit in org else None))
    elif kind == "order":
        o = next((o for o in f.orders if o.no == n), f.orders[-1] if f.orders and n is None else None)
        _need(o is not None, f"没有第 {n} 号督办")
        v.update(order_no=o.no, ground_text=GROUND_TEXT.get(o.ground, o.ground), to_unit_name=name(o.to_unit) or o.to_unit,
                 issued_by_name=name(o.issued_by) or o.issued_by, order_on=_d(o.on), feedback_due_on=_d(o.feedback_due_on),
                 order_note=(texts.get("order_notes") or {}).get(o.no, ""))
    t = templates[kind]
    values = _Blank(v)
    return Document(kind=kind, title=t["title"], basis=t["basis"], case_no=str(v["case_no"]),
                    paragraphs=[p.format_map(values) for p in t["body"]], sign=t["sign"].format_map(values),
                    dated=t["dated"].format_map(values))


def _need(ok: bool, why: str) -> None:
    if not ok:
        raise Unavailable(why)


def _d(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "—"


def _body(org: OrgTree, policy: Policy, unit: str | None) -> str:
    return org.name(unit) if unit else policy.external_review_body


# -- writing the files ---------------------------------------------------------------------------------


def docx(doc: Document) -> bytes:
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    d = Docx()
    style = d.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    style.font.size = Pt(14)
    title = d.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(doc.title)
    run.bold, run.font.size = True, Pt(20)
    number = d.add_paragraph(f"编号：{doc.case_no}")
    number.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for text in doc.paragraphs:
        d.add_paragraph(text)
    for text in (doc.sign, doc.dated):
        p = d.add_paragraph(text)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    d.add_paragraph(f"（依据：{doc.basis}）").runs[0].font.size = Pt(10)
    d.core_properties.title = doc.title
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


_FONT = "STSong-Light"


def pdf(doc: Document) -> bytes:
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    body = ParagraphStyle("body", fontName=_FONT, fontSize=13, leading=24, wordWrap="CJK", firstLineIndent=0)
    out = io.BytesIO()
    story = [Paragraph(_esc(doc.title), ParagraphStyle("title", parent=body, fontSize=20, leading=30, alignment=TA_CENTER)),
             Paragraph(_esc(f"编号：{doc.case_no}"), ParagraphStyle("no", parent=body, alignment=TA_RIGHT)),
             Spacer(1, 12)]
    story += [Paragraph(_esc(p), body) for p in doc.paragraphs]
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)
    story += [Spacer(1, 24), Paragraph(_esc(doc.sign), right), Paragraph(_esc(doc.dated), right),
              Paragraph(_esc(f"（依据：{doc.basis}）"), ParagraphStyle("basis", parent=body, fontSize=9))]
    SimpleDocTemplate(out, pagesize=A4, title=doc.title, author=doc.sign, leftMargin=72, rightMargin=72).build(story)
    return out.getvalue()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
