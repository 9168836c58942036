"""Reporting's HTTP API: case lists and timelines, consolidated counts, alerts, and the anonymous
petitioner's status lookup. Every answer is cut to the principal's scope (backbone.visibility)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from backbone.contracts import AlertKind, AlertOutcome, UnitId
from backbone.http import PoolDep, PrincipalDep, ScopeDep, create_app
from backbone.paging import MAX_LIMIT

from . import alerting, usecases, web
from . import fairness_api
from .bootstrap import Reporting

router = APIRouter(tags=["报表与查询"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
public = APIRouter(prefix="/public", tags=["信访人查询"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
After = Annotated[str | None, Query(max_length=300, description="上一页返回的 next")]


def _app(request: Request) -> Reporting:
    return request.app.state.reporting


@router.get("/cases", summary="案件列表（本账号可见范围）")
async def list_cases(
    request: Request, scope: ScopeDep, pool: PoolDep,
    status: Annotated[Literal["registered", "assigned", "unroutable", "accepted", "rejected", "objected", "disputed"]
                      | None, Query(description="受理分派状态")] = None,
    subsidiary: Annotated[UnitId | None, Query()] = None,
    issue_type: Annotated[str | None, Query(max_length=64, description="问题类型")] = None,
    case_no: Annotated[str | None, Query(max_length=40, description="信访件编号")] = None,
    limit: Limit = 100, after: After = None,
) -> dict:
    return await usecases.cases(_app(request), pool, scope, status, subsidiary, limit, after, issue_type=issue_type,
                                case_no=case_no)


@router.get("/cases/{case_id}", summary="案件详情与完整时间线；as_of= 查看任一过去时刻的状态（由事件重算）")
async def get_case(case_id: str, request: Request, scope: ScopeDep, pool: PoolDep,
                   as_of: Annotated[datetime | None, Query(description="过去某一时刻（ISO 8601；不带时区按北京时间）")] = None
                   ) -> dict:
    return await usecases.case(_app(request), pool, case_id, scope, as_of)


@router.get("/stats/by-subsidiary", summary="按子公司和状态汇总的案件数")
async def by_subsidiary(request: Request, scope: ScopeDep, pool: PoolDep) -> dict:
    return await usecases.by_subsidiary(_app(request), pool, scope)


@router.get("/stats/detection", summary="重复、越级、集体访、一信多投等标注的件次、人次及占比（含分子分母和公式）")
async def detection_stats(request: Request, scope: ScopeDep, pool: PoolDep,
                          since: Annotated[date | None, Query(description="收到日期起（含）")] = None,
                          until: Annotated[date | None, Query(description="收到日期止（含）")] = None) -> dict:
    return await usecases.detection_stats(_app(request), pool, scope, since, until)


@router.get("/stats/sharing", summary="厂地联动汇总：按子公司和协作方的共享案件数、撤销数、协作方处置记录数")
async def sharing_stats(request: Request, scope: ScopeDep, pool: PoolDep) -> dict:
    return await usecases.sharing_stats(_app(request), pool, scope)


@router.get("/risk", summary="维稳信息共享：按子公司、单位、问题类型和周汇总的件数和人数（不含姓名和内容）")
async def risk(request: Request, scope: ScopeDep, pool: PoolDep,
               since: Annotated[date | None, Query(description="收到日期起（含）")] = None,
               until: Annotated[date | None, Query(description="收到日期止（含）")] = None) -> dict:
    return await usecases.risk(_app(request), pool, scope, since, until)


@router.get("/kpis", summary="指标定义：名称、公式、日期口径、可选口径")
async def kpi_catalogue(request: Request, scope: ScopeDep) -> dict:
    return usecases.kpi_catalogue(_app(request))


@router.get("/kpis/{kpi_id}", summary="指标值（分子、分母、公式），含环比、同比，按子公司、单位、渠道、类别、问题类型或合计")
async def kpi(kpi_id: Annotated[str, Path(max_length=40)], request: Request, scope: ScopeDep, pool: PoolDep,
              period: Annotated[str, Query(max_length=7, description="2026-11（月）、2026-Q4（季）或 2026（年）")],
              group_by: Annotated[Literal["subsidiary", "unit", "channel", "category", "issue_type", "total", "collector"],
                                  Query(description="collector：按评价收集方（仅满意率类指标）")] = "subsidiary") -> dict:
    return await usecases.kpi(_app(request), pool, scope, kpi_id, period, group_by)


@router.get("/reports/monthly", summary="信访工作月报（Excel）：汇总、分子公司、指标及公式、热点问题、超期与督办",
            response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def monthly_report(request: Request, scope: ScopeDep, pool: PoolDep,
                         month: Annotated[str, Query(max_length=7, description="2026-11")]) -> Response:
    content, filename = await usecases.monthly_report(_app(request), pool, scope, month)
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@router.get("/alerts", summary="预警及其依据（案件、时间窗、阈值）和签收、办结情况；可按状态、类别筛选")
async def alerts(request: Request, scope: ScopeDep, pool: PoolDep, limit: Limit = 100, after: After = None,
                 state: Annotated[Literal["open", "acknowledged", "closed"] | None,
                                  Query(description="open 待签收、acknowledged 已签收、closed 已办结")] = None,
                 kind: Annotated[AlertKind | None, Query(description="预警类别")] = None) -> dict:
    return await alerting.alerts(_app(request), pool, scope, limit, after, state, kind)


class AcknowledgementBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=500, description="签收说明（不写个人信息）")


class ClosureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: AlertOutcome = Field(description="已化解、误报、转办、其他")
    resolution: str = Field(min_length=2, max_length=500, description="处置情况（不写个人信息）")


@router.post("/alerts/{alert_id}/acknowledgement", summary="签收预警：由本人接手（已签收或已办结的不能再签收）")
async def acknowledge_alert(alert_id: str, body: AcknowledgementBody, request: Request, principal: PrincipalDep,
                            scope: ScopeDep, pool: PoolDep) -> dict:
    return await alerting.acknowledge(_app(request), pool, alert_id, body.note, principal, scope)


@router.post("/alerts/{alert_id}/closure", summary="办结预警：写明结果和处置情况（只能办结一次）")
async def close_alert(alert_id: str, body: ClosureBody, request: Request, principal: PrincipalDep, scope: ScopeDep,
                      pool: PoolDep) -> dict:
    return await alerting.close(_app(request), pool, alert_id, body.outcome, body.resolution, principal, scope)


class AlertShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    party: UnitId = Field(description="外部协作方（deploy/seed/sharing.yaml）")
    shared: bool = Field(default=True, description="false：收回")
    basis: str = Field(min_length=2, max_length=300, description="依据")


@router.post("/alerts/{alert_id}/shares", summary="维稳信息共享：把预警提供给属地政府部门或工会（或收回），对方只见类别、单位和时间段")
async def share_alert(alert_id: str, body: AlertShareBody, request: Request, principal: PrincipalDep, scope: ScopeDep,
                      pool: PoolDep) -> dict:
    return await usecases.share_alert(_app(request), pool, alert_id, body.party, body.shared, body.basis, principal, scope)


class StatusQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_code: str = Field(min_length=16, max_length=40, description="登记时给出的查询码")


@public.post("/status", summary="信访人凭查询码查看办理状态（无需登录）")
async def status_by_receipt(body: StatusQuery, request: Request, pool: PoolDep) -> dict:
    with request.app.state.limits.lookups(request, "code"):  # a wrong code counts against the client
        return await usecases.status_by_receipt(pool, body.receipt_code)


def build(reporting: Reporting) -> FastAPI:
    # a union or government liaison reads the cases shared with its party, in the same shape
    app = create_app("报表与查询 reporting", reporting.ctx, [router, public, web.router], party_routes=["/cases", "/cases/{case_id}", "/risk"])
    app.include_router(fairness_api.router)  # exclusions, rankings, 每月一题
    app.state.reporting = reporting
    return app
