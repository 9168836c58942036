"""Supervision's HTTP API: the statutory clocks of every case (each citing its article), and what
people do once a case is accepted — progress notes, pauses (听证 / 补充材料 / 鉴定), the extension
(延期), the written reply (起草 -> 审核 -> 送达), agreements, closure (办结核准), the petitioner's
evaluation and 回访, 重办, 复查 and 复核 to finality, 重大紧急 and 督办 — plus the listings.

Every write states the day it happened (``on``, default today, never in the future) and may send
the case's version in ``If-Match``; the answer is the case file with its ``ETag``.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from backbone.contracts import ClockName, UnitId
from backbone.days import today as beijing_today
from backbone.http import PoolDep, PrincipalDep, ScopeDep, create_app, if_match_version
from backbone.paging import MAX_LIMIT

from . import usecases
from .bootstrap import Supervision
from .usecases import Command

router = APIRouter(tags=["时限监督"])
cases = APIRouter(prefix="/cases/{case_id}", tags=["办理、答复、评价、复查复核、督办"])
public = APIRouter(prefix="/public", tags=["信访人（凭查询码，无需登录）"])
Day = Annotated[date | None, Query(description="按哪一天计算（默认今天，北京时间）", ge=date(1990, 1, 1), le=date(2200, 1, 1))]
Text = Annotated[str, Field(min_length=2, max_length=5000)]
Grade = Literal["满意", "基本满意", "不满意"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date | None = Field(default=None, description="办理日期（默认今天，北京时间；不得晚于今天）")


class ProgressBody(Body):
    note: Text
    executed: bool = Field(default=False, description="支持的意见已执行到位（第三十二条）")


class PauseBody(Body):
    reason: Literal["听证", "补充材料", "鉴定"]


class ExtensionBody(Body):
    days: int = Field(ge=1, le=30, description="延长的日数，不超过30日（第三十四条）")
    reason: Text = Field(description="延期理由（书面告知信访人）")


class DraftBody(Body):
    decision: Literal["支持", "解释", "不支持"] = Field(description="第三十二条（一）支持（二）解释（三）不支持")
    template: str = Field(default="general-support", max_length=64, description="答复模板（见 GET /reply-templates）")
    request: Text = Field(description="信访人的请求")
    facts: Text = Field(description="调查核实的事实")
    reasons: Text = Field(description="理由")
    basis: Text = Field(description="法律、法规、政策依据")


class ReviewDraftBody(Body):
    approved: bool
    comment: str | None = Field(default=None, max_length=2000)


class ServiceBody(Body):
    method: Literal["当面", "邮寄", "电子送达", "其他"]
    receipt: Literal["签收", "拒收"] = "签收"


class AgreementBody(Body):
    kind: Literal["调解协议书", "和解协议书"]
    content: Text


class ClosureBody(Body):
    outcome: Literal["息诉罢访", "未息诉罢访", "不明确"]


class EvaluationBody(Body):
    petition_office: Grade | None = Field(default=None, description="对信访部门的评价")
    responsible_unit: Grade | None = Field(default=None, description="对责任单位的评价")
    via: Literal["电话", "走访", "当面"] = "电话"
    comment: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _something(self):
        if self.petition_office is None and self.responsible_unit is None:
            raise ValueError("至少评价一个对象（petition_office 或 responsible_unit）")
        return self

    def grades(self) -> dict[str, str]:
        return {t: g for t, g in (("petition_office", self.petition_office), ("responsible_unit", self.responsible_unit))
                if g is not None}


class FollowupBody(Body):
    outcome: Text
    satisfied_now: bool


class ReasonBody(Body):
    reason: Text


class ReviewRequestBody(Body):
    level: Literal["复查", "复核"]


class OpinionBody(Body):
    decision: Literal["维持", "撤销", "变更", "责令重新办理"]
    request: Text
    facts: Text
    reasons: Text
    basis: Text


class OrderBody(Body):
    ground: Literal["overdue", "推诿", "unexecuted", "untouched", "manual"] = "manual"
    note: str | None = Field(default=None, max_length=2000)


class FeedbackBody(Body):
    feedback: Text


IfMatch = Annotated[str | None, Header(max_length=40, description='案件版本号，如 "7"')]


def _app(request: Request) -> Supervision:
    return request.app.state.supervision


def _cmd(case_id: str, principal, scope, if_match: str | None, body: Body) -> Command:
    return Command(case_id, principal, scope, if_match_version(if_match), body.on)


def _answer(response: Response, view: dict) -> dict:
    response.headers["ETag"] = f'"{view["version"]}"'
    return view


# -- listings ------------------------------------------------------------------------------------------------


@router.get("/deadlines", summary="即将到期和已超期的时限（按记录的期限事件）")
async def deadlines(
    request: Request, scope: ScopeDep, pool: PoolDep, as_of: Day = None,
    state: Annotated[Literal["due_soon", "overdue", "open"], Query()] = "open",
    warn_days: Annotated[int | None, Query(ge=0, le=60)] = None,
    clock: Annotated[ClockName | None, Query()] = None,
    unit: Annotated[UnitId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    after: Annotated[str | None, Query(max_length=300)] = None,
) -> dict:
    return await usecases.deadlines(_app(request), pool, scope, as_of or beijing_today(), state, warn_days, limit, after,
                                    clock, unit)


@router.get("/files", summary="待评价、超期未评价、复查复核中、复核终结、无进展的案件")
async def files(
    request: Request, scope: ScopeDep, pool: PoolDep,
    which: Annotated[Literal["awaiting_evaluation", "evaluation_expired", "under_review", "final", "untouched"], Query()],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    after: Annotated[str | None, Query(max_length=300)] = None,
) -> dict:
    return await usecases.files(_app(request), pool, scope, which, limit, after)


@router.get("/orders", summary="督办（未反馈的或全部）")
async def orders(
    request: Request, scope: ScopeDep, pool: PoolDep,
    state: Annotated[Literal["open", "all"], Query()] = "open",
    unit: Annotated[UnitId | None, Query(description="被督办单位")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    after: Annotated[str | None, Query(max_length=300)] = None,
) -> dict:
    return await usecases.orders(_app(request), pool, scope, state, unit, limit, after)


@router.get("/accountability", summary="各单位的督办、反馈、超期记录（问责依据）")
async def accountability(request: Request, scope: ScopeDep, pool: PoolDep) -> dict:
    return await usecases.accountability(_app(request), pool, scope)


@router.get("/reply-templates", summary="答复模板")
async def reply_templates(request: Request, principal: PrincipalDep) -> dict:
    return {"templates": [{"id": k, **v} for k, v in sorted(_app(request).templates.items())]}


@router.get("/cases/{case_id}/deadlines", summary="案件的各项时限（含依据条款）")
async def case_deadlines(case_id: str, request: Request, scope: ScopeDep, pool: PoolDep) -> dict:
    f = await usecases.case_file(_app(request), pool, case_id, scope)
    return {"case_id": f["case_id"], "clocks": f["clocks"]}


# -- one case ---------------------------------------------------------------------------------------------------


@cases.get("", summary="案件的监督档案：阶段、时限、答复、评价、复查复核、督办")
async def get_case(case_id: str, request: Request, response: Response, scope: ScopeDep, pool: PoolDep) -> dict:
    return _answer(response, await usecases.case_file(_app(request), pool, case_id, scope))


@cases.post("/progress", summary="办理进展（或支持意见已执行）")
async def progress(case_id: str, body: ProgressBody, request: Request, response: Response, principal: PrincipalDep,
                   scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.note_progress(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                          body.note, body.executed))


@cases.post("/clocks/{clock}/pause", summary="暂停计时（听证、补充材料、鉴定期间不计入）")
async def pause(case_id: str, clock: Annotated[str, Path(max_length=40)], body: PauseBody, request: Request,
                response: Response, principal: PrincipalDep, scope: ScopeDep, pool: PoolDep,
                if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.pause(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                  clock, body.reason))


@cases.post("/clocks/{clock}/resume", summary="恢复计时")
async def resume(case_id: str, clock: Annotated[str, Path(max_length=40)], body: Body, request: Request,
                 response: Response, principal: PrincipalDep, scope: ScopeDep, pool: PoolDep,
                 if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.resume(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                   clock))


@cases.post("/extension", summary="延期（第三十四条：本单位负责人批准，不超过30日，一次）")
async def extension(case_id: str, body: ExtensionBody, request: Request, response: Response, principal: PrincipalDep,
                    scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.extend(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                   body.days, body.reason))


@cases.post("/reply/drafts", summary="起草信访处理意见书（第三十二条）")
async def draft(case_id: str, body: DraftBody, request: Request, response: Response, principal: PrincipalDep,
                scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    content = {"request": body.request, "facts": body.facts, "reasons": body.reasons, "basis": body.basis}
    return _answer(response, await usecases.draft_reply(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                        body.decision, body.template, content))


@cases.post("/reply/review", summary="二级审核处理意见书（同意或退回修改）")
async def review_draft(case_id: str, body: ReviewDraftBody, request: Request, response: Response,
                       principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.review_draft(_app(request), pool,
                                                         _cmd(case_id, principal, scope, if_match, body),
                                                         body.approved, body.comment))


@cases.post("/reply/service", summary="送达处理意见书（on 为送达日期）")
async def serve(case_id: str, body: ServiceBody, request: Request, response: Response, principal: PrincipalDep,
                scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.serve(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                  body.method, body.receipt))


@cases.post("/agreement", summary="调解协议书 / 和解协议书（第三十三条）")
async def agreement(case_id: str, body: AgreementBody, request: Request, response: Response, principal: PrincipalDep,
                    scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.agreement(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                      body.kind, body.content))


@cases.post("/closure", summary="办结核准（记录是否息诉罢访）")
async def closure(case_id: str, body: ClosureBody, request: Request, response: Response, principal: PrincipalDep,
                  scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.close(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                  body.outcome))


@cases.post("/evaluations", summary="记录信访人评价（电话、走访、当面回访；总部独立回访）")
async def evaluations(case_id: str, body: EvaluationBody, request: Request, response: Response,
                      principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.evaluate(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                     body.grades(), body.via, body.comment))


@cases.post("/followup", summary="回访结果")
async def followup(case_id: str, body: FollowupBody, request: Request, response: Response, principal: PrincipalDep,
                   scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.followup(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                     body.outcome, body.satisfied_now))


@cases.post("/rehandling", summary="重办：退回承办单位重新办理（信访人仍可申请复查）")
async def rehandling(case_id: str, body: ReasonBody, request: Request, response: Response, principal: PrincipalDep,
                     scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.rehandle(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                     body.reason))


@cases.post("/reviews", summary="复查或复核请求（on 为收到请求的日期；超过30日的予以拒绝并写明依据）")
async def reviews(case_id: str, body: ReviewRequestBody, request: Request, response: Response,
                  principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.request_review(_app(request), pool,
                                                           _cmd(case_id, principal, scope, if_match, body), body.level))


@cases.post("/reviews/{level}/opinion", summary="复查意见书 / 复核意见书（复核后终结）")
async def opinion(case_id: str, level: Literal["复查", "复核"], body: OpinionBody, request: Request, response: Response,
                  principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    content = {"request": body.request, "facts": body.facts, "reasons": body.reasons, "basis": body.basis}
    return _answer(response, await usecases.issue_opinion(_app(request), pool,
                                                          _cmd(case_id, principal, scope, if_match, body), level,
                                                          body.decision, content))


@cases.post("/urgent", summary="标注重大紧急（第二十五条：逐级报告）")
async def urgent(case_id: str, body: ReasonBody, request: Request, response: Response, principal: PrincipalDep,
                 scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.flag_urgent(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                        body.reason))


@cases.post("/orders", summary="发出督办（第四十条），要求书面反馈")
async def order(case_id: str, body: OrderBody, request: Request, response: Response, principal: PrincipalDep,
                scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.issue_order(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                        body.ground, body.note))


@cases.post("/orders/{no}/feedback", summary="督办的书面反馈")
async def feedback(case_id: str, no: Annotated[int, Path(ge=1, le=10_000)], body: FeedbackBody, request: Request,
                   response: Response, principal: PrincipalDep, scope: ScopeDep, pool: PoolDep,
                   if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.order_feedback(_app(request), pool,
                                                           _cmd(case_id, principal, scope, if_match, body), no,
                                                           body.feedback))


@cases.get("/documents", summary="案件的法定文书清单")
async def documents(case_id: str, request: Request, scope: ScopeDep, pool: PoolDep) -> dict:
    return await usecases.documents(_app(request), pool, case_id, scope)


@cases.get("/documents/{kind}", summary="下载法定文书（DOCX 或 PDF）", response_class=Response,
           responses={200: {"content": {"application/pdf": {}, "application/vnd.openxmlformats-officedocument"
                                        ".wordprocessingml.document": {}}}})
async def document(
    case_id: str, request: Request, principal: PrincipalDep, scope: ScopeDep, pool: PoolDep,
    kind: Literal["acceptance_notice", "rejection_notice", "transfer_form", "extension_notice", "reply",
                  "review_opinion", "re_review_opinion", "order"],
    format: Annotated[Literal["docx", "pdf"], Query()] = "docx",
    n: Annotated[int | None, Query(ge=1, le=10_000, description="第几次转送 / 第几号督办")] = None,
) -> Response:
    content, media, filename = await usecases.document(_app(request), pool, case_id, scope, principal, kind, n, format)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


# -- the petitioner ------------------------------------------------------------------------------------------------


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_code: str = Field(min_length=16, max_length=40, description="登记时给出的查询码")


class PublicEvaluation(Receipt):
    petition_office: Grade | None = None
    responsible_unit: Grade | None = None
    comment: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _something(self):
        if self.petition_office is None and self.responsible_unit is None:
            raise ValueError("至少评价一个对象")
        return self


class PublicReview(Receipt):
    level: Literal["复查", "复核"] = "复查"


@public.post("/evaluation", summary="信访人凭查询码评价（对信访部门、对责任单位）")
async def public_evaluation(body: PublicEvaluation, request: Request, pool: PoolDep) -> dict:
    grades = {t: g for t, g in (("petition_office", body.petition_office), ("responsible_unit", body.responsible_unit))
              if g is not None}
    with request.app.state.limits.lookups(request, "code"):  # a wrong code counts against the client
        return await usecases.petitioner_evaluates(_app(request), pool, body.receipt_code, grades, body.comment)


@public.post("/review-request", summary="信访人凭查询码请求复查或复核（以今天为请求日期）")
async def public_review(body: PublicReview, request: Request, pool: PoolDep) -> dict:
    with request.app.state.limits.lookups(request, "code"):
        return await usecases.petitioner_requests_review(_app(request), pool, body.receipt_code, body.level)


def build(supervision: Supervision) -> FastAPI:
    app = create_app("时限监督 supervision", supervision.ctx, [router, cases, public])
    app.state.supervision = supervision
    return app
