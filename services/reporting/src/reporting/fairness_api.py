"""HTTP for fairness and 每月一题: exclusion requests and decisions, rankings within volume bands,
issue-level governance. Routes only adapt to reporting/fairness_usecases.py."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from backbone.contracts import UnitId
from backbone.http import PoolDep, PrincipalDep, ScopeDep
from backbone.paging import MAX_LIMIT

from . import fairness_usecases as uc
from .bootstrap import Reporting

router = APIRouter(tags=["指标公平性与每月一题"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
After = Annotated[str | None, Query(max_length=300, description="上一页返回的 next")]
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="2026-11")]


def _app(request: Request) -> Reporting:
    return request.app.state.reporting


class ExclusionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ground: str = Field(pattern=r"^[a-z_]{1,40}$", description="剔除理由类别（deploy/seed/fairness.yaml，如 unreasonable）")
    reasons: str = Field(min_length=10, max_length=1000, description="申请理由（10至1000字，不写信访人身份信息）")


class ExclusionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approved: bool = Field(description="true：批准剔除；false：不予剔除")
    reason: str = Field(min_length=2, max_length=1000, description="审批意见")


@router.post("/cases/{case_id}/kpi-exclusion", status_code=201,
             summary="承办单位申请将案件从本单位考核指标中剔除（须写明理由类别和理由，由上一级审批）")
async def request_exclusion(case_id: Annotated[str, Path(max_length=64)], body: ExclusionRequest, request: Request,
                            principal: PrincipalDep, scope: ScopeDep, pool: PoolDep) -> dict:
    return await uc.request_exclusion(_app(request), pool, case_id, body.ground, body.reasons, principal, scope)


@router.post("/cases/{case_id}/kpi-exclusion/decision",
             summary="上一级审批剔除申请：批准后该案件不计入各比率指标的分子和分母；不能审批本人的申请")
async def decide_exclusion(case_id: Annotated[str, Path(max_length=64)], body: ExclusionDecision, request: Request,
                           principal: PrincipalDep, scope: ScopeDep, pool: PoolDep) -> dict:
    return await uc.decide_exclusion(_app(request), pool, case_id, body.approved, body.reason, principal, scope)


@router.get("/kpi-exclusions", summary="剔除申请列表（本账号可见案件；可按状态筛选）")
async def exclusions(request: Request, scope: ScopeDep, pool: PoolDep,
                     state: Annotated[Literal["pending", "approved", "refused"] | None,
                                      Query(description="pending 待审批 / approved 已批准 / refused 不予剔除")] = None,
                     case_id: Annotated[str | None, Query(max_length=36, description="只看一件案件的")] = None,
                     limit: Limit = 100, after: After = None) -> dict:
    return await uc.exclusions(_app(request), pool, scope, state, limit, after, case_id=case_id)


@router.get("/kpis/{kpi_id}/ranking",
            summary="指标排名：只在件次规模相近的单位之间排名，计算件次不足最低件数的不参与排名，并列同名次")
async def ranking(kpi_id: Annotated[str, Path(max_length=40)], request: Request, scope: ScopeDep, pool: PoolDep,
                  period: Annotated[str, Query(max_length=7, description="2026-11（月）、2026-Q4（季）或 2026（年）")],
                  level: Annotated[Literal["unit", "subsidiary"], Query(description="unit 承办单位 / subsidiary 子公司")] = "unit"
                  ) -> dict:
    return await uc.ranking(_app(request), pool, scope, kpi_id, period, level)


class IssueOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issue_type: str = Field(pattern=r"^[a-z_]{1,64}$", description="问题类型（taxonomy.yaml）")
    subsidiary: UnitId | None = Field(default=None, description="只针对一个子公司；不填为全集团")
    month: Month = Field(description="选定于哪个月（2026-11）")
    why: str = Field(min_length=5, max_length=2000, description="为什么选这个问题（如本月件次最多、重复访突出）")
    owner_unit: UnitId = Field(description="责任单位")
    owner: str = Field(min_length=2, max_length=100, description="责任人或责任岗位")
    fix: str = Field(min_length=5, max_length=4000, description="系统性整改措施")
    starts_on: date | None = Field(default=None, description="整改开始日期（默认今天）")
    deadline: date = Field(description="整改期限")


class FixRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=2, max_length=2000, description="进展情况")
    done: bool = Field(default=False, description="true：整改完成")
    on: date | None = Field(default=None, description="日期（默认今天；完成时为完成日期）")


@router.get("/governance/suggestions", summary="每月一题候选：各子公司本月件次最多的问题类型（含上月件次和重复访件次）")
async def suggestions(request: Request, scope: ScopeDep, pool: PoolDep,
                      month: Annotated[str, Query(max_length=7, description="2026-11")]) -> dict:
    return await uc.suggestions(_app(request), pool, scope, month)


@router.post("/governance", status_code=201, summary="集团总部确定每月一题：问题类型、责任单位和责任人、系统性整改措施和期限")
async def open_issue(body: IssueOpen, request: Request, principal: PrincipalDep, pool: PoolDep) -> dict:
    return await uc.open_issue(_app(request), pool, body.model_dump(), principal)


@router.get("/governance", summary="每月一题列表（总部看全部，子公司看本公司的），含是否逾期")
async def issues(request: Request, scope: ScopeDep, pool: PoolDep, limit: Limit = 100, after: After = None) -> dict:
    return await uc.issues(_app(request), pool, scope, limit, after)


@router.get("/governance/{issue_id}",
            summary="每月一题跟踪：该问题的案件按月件次、重复信访率、满意率（分子分母），整改前、整改中、整改后对比")
async def issue(issue_id: Annotated[str, Path(max_length=64)], request: Request, scope: ScopeDep, pool: PoolDep) -> dict:
    return await uc.issue(_app(request), pool, issue_id, scope)


@router.post("/governance/{issue_id}/progress", summary="责任单位记录整改进展或完成（done=true，日期为完成日期）")
async def record_fix(issue_id: Annotated[str, Path(max_length=64)], body: FixRecord, request: Request,
                     principal: PrincipalDep, scope: ScopeDep, pool: PoolDep) -> dict:
    return await uc.record_fix(_app(request), pool, issue_id, body.note, body.done, body.on, principal, scope)
