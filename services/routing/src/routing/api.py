"""Routing's HTTP API: 依法分类处理 (classify, accept, refuse with the legal channel, transfer or
assign), objections and the sender's decision, disputes for the common superior, and who answers
for a case (track, 包案, handler, 回避, joint handling, investigation records).

Every write takes the case's version from ``If-Match`` (answered as ``ETag``); a write based on a
stale version, or racing another write, gets 409. Every write states the day it happened (``on``,
default today, never in the future): the statutory clocks run from it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from backbone.contracts import (Attachment, Category, CoordinationAction, LegalChannel, MediationResult, PrincipalId,
                                RejectGround, Track, UnitId)
from backbone.http import PoolDep, PrincipalDep, ScopeDep, create_app, if_match_version
from backbone.paging import MAX_LIMIT

from . import usecases
from .bootstrap import Routing
from .usecases import Command

router = APIRouter(prefix="/cases", tags=["受理与分派"])
Day = Annotated[date | None, Field(default=None, description="办理日期（默认今天，北京时间；不得晚于今天）")]
Reason = Annotated[str, Field(min_length=2, max_length=2000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: Day = None


class AcceptBody(Body):
    note: str | None = Field(default=None, max_length=500)


class ClassifyBody(Body):
    category: Category
    issue_type: str = Field(min_length=1, max_length=64)
    accused_unit: UnitId | None = Field(default=None, description="被反映单位")
    accused_principals: list[PrincipalId] = Field(default_factory=list, max_length=50,
                                                  description="被反映人的账号：案件对其不可见")


class RejectBody(Body):
    reason: Reason = Field(description="不予受理的理由（书面告知信访人）")
    ground: RejectGround = Field(default="legal_channel", description="legal_channel：属于法定途径（第三十一条）；"
                                 "same_matter_in_handling：第十九条第三款；final_after_re_review：第三十六条第三款；"
                                 "not_a_petition：不属于信访事项")
    legal_channel: LegalChannel | None = Field(default=None, description="应当通过的法定途径")
    linked_case_id: str | None = Field(default=None, max_length=36, description="正在办理或已复核终结的原案件")


class TransferBody(Body):
    unit: UnitId
    mode: Literal["转送", "交办"] = "转送"
    reason: Reason
    report_due_on: date | None = Field(default=None, description="交办：报送办理结果的期限")


class ReassignBody(Body):
    unit: UnitId
    reason: Reason


class ObjectBody(Body):
    reason: Reason = Field(description="不属于本单位职权范围的详细理由（第二十三条第三款）")


class ObjectionDecisionBody(Body):
    agreed: bool = Field(description="true：同意退回（案件回到送件单位）；false：不同意（提交共同上级决定）")
    reason: str | None = Field(default=None, max_length=2000)


class DisputeDecisionBody(Body):
    unit: UnitId = Field(description="共同上级决定的承办单位")
    reason: Reason


class TrackBody(Body):
    track: Track


class HandlerBody(Body):
    handler: PrincipalId
    unit: UnitId = Field(description="承办人所在单位")


class RecusalBody(Body):
    handler: PrincipalId | None = Field(default=None, description="须回避的承办人（默认本人）")
    reason: Reason
    replaced_by: PrincipalId | None = None


class SubtaskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitId
    task: str = Field(min_length=2, max_length=2000)
    due_on: date


class JointBody(Body):
    subtasks: list[SubtaskBody] = Field(min_length=1, max_length=20, description="协办单位及其任务、期限")


class ReportBody(Body):
    report: str = Field(min_length=2, max_length=5000)


class InvestigationBody(Body):
    investigators: list[PrincipalId] = Field(min_length=1, max_length=20)
    units: list[UnitId] = Field(min_length=1, max_length=20)
    place: str = Field(min_length=1, max_length=200)
    persons_heard: str = Field(min_length=1, max_length=2000)
    findings: str = Field(min_length=2, max_length=10_000)


IfMatch = Annotated[str | None, Header(max_length=40, description='案件版本号，如 "2"')]


def _answer(response: Response, view: dict) -> dict:
    response.headers["ETag"] = f'"{view["version"]}"'
    return view


def _app(request: Request) -> Routing:
    return request.app.state.routing


def _cmd(case_id: str, principal, scope, if_match: str | None, body: Body) -> Command:
    return Command(case_id, principal, scope, if_match_version(if_match), body.on)


@router.get("", summary="本账号可见的案件（status=unroutable 为待人工分派队列）")
async def listing(
    request: Request, scope: ScopeDep, pool: PoolDep,
    status: Annotated[Literal["assigned", "unroutable", "accepted", "rejected", "objected", "disputed"] | None,
                      Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> dict:
    return await usecases.cases(_app(request), pool, scope, status, limit, after)


@router.get("/{case_id}", summary="查看案件的受理与分派")
async def get_case(case_id: str, request: Request, response: Response, scope: ScopeDep, pool: PoolDep) -> dict:
    return _answer(response, await usecases.case(_app(request), pool, case_id, scope))


@router.post("/{case_id}/classify", summary="依法分类（建议意见 / 检举控告 / 申诉求决 / 咨询）")
async def classify(case_id: str, body: ClassifyBody, request: Request, response: Response, principal: PrincipalDep,
                   scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.classify(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                     body.category, body.issue_type, body.accused_unit,
                                                     body.accused_principals))


@router.post("/{case_id}/accept", summary="受理")
async def accept(case_id: str, body: AcceptBody, request: Request, response: Response, principal: PrincipalDep,
                 scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.accept(_app(request), pool, _cmd(case_id, principal, scope, if_match, body)))


@router.post("/{case_id}/reject", summary="不予受理（写明理由、依据和法定途径）")
async def reject(case_id: str, body: RejectBody, request: Request, response: Response, principal: PrincipalDep,
                 scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.reject(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                   body.ground, body.legal_channel, body.reason, body.linked_case_id))


@router.post("/{case_id}/transfer", summary="转送或交办至其他单位（交办须定报送期限）")
async def transfer(case_id: str, body: TransferBody, request: Request, response: Response, principal: PrincipalDep,
                   scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.transfer(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                     body.unit, body.mode, body.reason, body.report_due_on))


@router.post("/{case_id}/reassign", summary="改派（转送），或人工分派待分派的案件")
async def reassign(case_id: str, body: ReassignBody, request: Request, response: Response, principal: PrincipalDep,
                   scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.transfer(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                     body.unit, "转送", body.reason, None))


@router.post("/{case_id}/objection", summary="提出异议：不属于本单位职权范围（收到之日起5个工作日内），或申请退回")
async def object_to(case_id: str, body: ObjectBody, request: Request, response: Response, principal: PrincipalDep,
                    scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.object_to(_app(request), pool,
                                                      _cmd(case_id, principal, scope, if_match, body), body.reason))


@router.post("/{case_id}/objection-decision", summary="送件单位对异议的决定：同意退回或不同意")
async def decide_objection(case_id: str, body: ObjectionDecisionBody, request: Request, response: Response,
                           principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.decide_objection(
        _app(request), pool, _cmd(case_id, principal, scope, if_match, body), body.agreed, body.reason))


@router.post("/{case_id}/dispute-decision", summary="共同上级决定承办单位（第二十四条）")
async def decide_dispute(case_id: str, body: DisputeDecisionBody, request: Request, response: Response,
                         principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.decide_dispute(
        _app(request), pool, _cmd(case_id, principal, scope, if_match, body), body.unit, body.reason))


@router.post("/{case_id}/track", summary="确定办理类别（简单马上办 / 一般快速办 / 疑难监督办）")
async def set_track(case_id: str, body: TrackBody, request: Request, response: Response, principal: PrincipalDep,
                    scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.set_track(_app(request), pool,
                                                      _cmd(case_id, principal, scope, if_match, body), body.track))


@router.post("/{case_id}/leader", summary="领导包案（由本人包案）")
async def take_case(case_id: str, body: Body, request: Request, response: Response, principal: PrincipalDep,
                    scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.take_case(_app(request), pool, _cmd(case_id, principal, scope, if_match, body)))


@router.post("/{case_id}/handler", summary="指定承办人")
async def assign_handler(case_id: str, body: HandlerBody, request: Request, response: Response, principal: PrincipalDep,
                         scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.assign_handler(_app(request), pool,
                                                           _cmd(case_id, principal, scope, if_match, body),
                                                           body.handler, body.unit))


@router.post("/{case_id}/recusal", summary="回避（第二十八条）：承办人声明利害关系并由他人接替")
async def recuse(case_id: str, body: RecusalBody, request: Request, response: Response, principal: PrincipalDep,
                 scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.recuse(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                   body.handler, body.reason, body.replaced_by))


@router.post("/{case_id}/joint-handling", summary="主办、协办：协办单位各有任务和期限")
async def joint_handling(case_id: str, body: JointBody, request: Request, response: Response, principal: PrincipalDep,
                         scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.joint_handling(
        _app(request), pool, _cmd(case_id, principal, scope, if_match, body),
        [(s.unit, s.task, s.due_on) for s in body.subtasks]))


@router.post("/{case_id}/subtask-report", summary="协办单位报送协办情况")
async def report_subtask(case_id: str, body: ReportBody, request: Request, response: Response, principal: PrincipalDep,
                         scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.report_subtask(_app(request), pool,
                                                           _cmd(case_id, principal, scope, if_match, body), body.report))


@router.post("/{case_id}/investigations", summary="联合调查记录（调查人、时间、地点、对象、结论）")
async def record_investigation(case_id: str, body: InvestigationBody, request: Request, response: Response,
                               principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    details = {"place": body.place, "persons_heard": body.persons_heard, "findings": body.findings}
    return _answer(response, await usecases.record_investigation(
        _app(request), pool, _cmd(case_id, principal, scope, if_match, body), body.investigators, body.units, details))


# -- 厂地联动 -------------------------------------------------------------------------------------


class ShareBody(Body):
    party: UnitId = Field(description="外部协作方（deploy/seed/sharing.yaml 的 parties）")
    preset: str = Field(min_length=1, max_length=40, description="共享范围：status_only / facts / facts_with_contact / facts_with_id")
    purpose: str = Field(min_length=1, max_length=60, description="共享目的（sharing.yaml 的 purposes）")
    basis: str = Field(min_length=2, max_length=300, description="依据")


class RevokeBody(Body):
    reason: str | None = Field(default=None, max_length=2000)


class CoordinationBody(Body):
    action: CoordinationAction = Field(description="contact_made 已联系 / policy_explained 政策解释 / on_site_visit 上门走访 /"
                                                   " payment_done 已支付 / transfer_step_done 移交步骤完成 / outcome 结果")
    note: str | None = Field(default=None, max_length=4000, description="情况说明（密封保存）")
    attachments: list[Attachment] = Field(default_factory=list, max_length=20, description="附件的名称、类型、大小、摘要")


@router.post("/{case_id}/shares", summary="向工会或地方政府部门共享案件（目的、范围、依据）；再次提交即扩大或缩小范围")
async def share(case_id: str, body: ShareBody, request: Request, response: Response, principal: PrincipalDep,
                scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.share(_app(request), pool, _cmd(case_id, principal, scope, if_match, body),
                                                  body.party, body.preset, body.purpose, body.basis))


@router.post("/{case_id}/shares/{party}/revoke", summary="撤销共享：该方立即看不到此案件")
async def revoke(case_id: str, party: UnitId, body: RevokeBody, request: Request, response: Response,
                 principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.revoke_sharing(
        _app(request), pool, _cmd(case_id, principal, scope, if_match, body), party, body.reason))


class MediationBody(Body):
    parties: list[UnitId] = Field(min_length=1, max_length=10, description="参加调解的协作方（须已共享该案件）")
    meeting_at: datetime = Field(description="调解时间")
    place: str = Field(min_length=1, max_length=100, description="调解地点")
    due_on: date = Field(description="调解期限（时限监督）")


class MediationOutcomeBody(Body):
    result: MediationResult
    text: str = Field(min_length=2, max_length=20000, description="调解协议书内容，或调解不成的原因（密封保存）")


@router.post("/{case_id}/mediations", summary="联合调解：与已共享的协作方约定时间、地点和期限")
async def schedule_mediation(case_id: str, body: MediationBody, request: Request, response: Response,
                             principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.schedule_mediation(
        _app(request), pool, _cmd(case_id, principal, scope, if_match, body), body.parties, body.meeting_at, body.place,
        body.due_on))


@router.post("/{case_id}/mediations/{no}/outcome", summary="联合调解结果：调解协议书或调解不成的原因")
async def conclude_mediation(case_id: str, no: Annotated[int, Path(ge=1, le=100)], body: MediationOutcomeBody,
                             request: Request, response: Response, principal: PrincipalDep, scope: ScopeDep,
                             pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.conclude_mediation(
        _app(request), pool, _cmd(case_id, principal, scope, if_match, body), no, body.result, body.text))


@router.post("/{case_id}/meeting-actions/{meeting_id}/{no}/done", summary="联席会议决定事项办结（责任单位报告）")
async def meeting_action_done(case_id: str, meeting_id: Annotated[str, Path(max_length=36)],
                              no: Annotated[int, Path(ge=1, le=50)], body: Body, request: Request, response: Response,
                              principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.meeting_action_done(
        _app(request), pool, _cmd(case_id, principal, scope, if_match, body), meeting_id, no))


class MeetingDecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=2, max_length=4000, description="决定事项（密封保存）")
    owner: UnitId = Field(description="责任单位")
    due_on: date = Field(description="办结期限")


class MeetingCaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_id: str = Field(max_length=36)
    decisions: list[MeetingDecisionBody] = Field(default_factory=list, max_length=50)


class MeetingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    held_on: Day = None
    parties: list[UnitId] = Field(default_factory=list, max_length=20, description="参会的工会、地方政府部门")
    units: list[UnitId] = Field(default_factory=list, max_length=20, description="参会的企业单位")
    cases: list[MeetingCaseBody] = Field(min_length=1, max_length=100, description="研究的案件及其决定事项")


meetings = APIRouter(prefix="/meetings", tags=["厂地联动"])


@meetings.post("", summary="联席会议：研究的案件、决定事项、责任单位和期限（逐案记入时间线并监督）")
async def joint_meeting(body: MeetingBody, request: Request, principal: PrincipalDep, scope: ScopeDep,
                        pool: PoolDep) -> dict:
    return await usecases.joint_meeting(_app(request), pool, principal, scope, body.held_on, body.parties, body.units,
                                        [c.model_dump() for c in body.cases])


COORDINATION = "/cases/{case_id}/coordination"


@router.post("/{case_id}/coordination", summary="协作方记录协调处置情况（已联系、政策解释、上门走访、支付或移交步骤、结果）")
async def coordinate(case_id: str, body: CoordinationBody, request: Request, response: Response,
                     principal: PrincipalDep, scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.coordinate(
        _app(request), pool, _cmd(case_id, principal, scope, if_match, body), body.action, body.note, body.attachments))


def build(routing: Routing) -> FastAPI:
    app = create_app("受理与分派 routing", routing.ctx, [router, meetings], party_routes=[COORDINATION])
    app.state.routing = routing
    return app
