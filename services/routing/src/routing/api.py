"""Routing's HTTP API: people accept (受理), reject (不予受理) or reassign a case, and route by hand
what no rule could route. Every write takes the case's version from ``If-Match`` (answered as
``ETag``); a write based on a stale version, or racing another write, gets 409."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from backbone.contracts import UnitId
from backbone.http import PoolDep, PrincipalDep, ScopeDep, create_app, if_match_version
from backbone.paging import MAX_LIMIT

from . import usecases
from .bootstrap import Routing

router = APIRouter(prefix="/cases", tags=["受理与分派"])
LEGAL_CHANNELS = Literal["诉讼", "劳动人事争议仲裁", "行政复议", "党员申诉", "其他法定途径"]


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=500)


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=1000, description="不予受理的理由（书面告知信访人）")
    legal_channel: LEGAL_CHANNELS | None = Field(default=None, description="应当通过的法定途径")


class ReassignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitId
    reason: str = Field(min_length=2, max_length=1000)


IfMatch = Annotated[str | None, Header(max_length=40, description='案件版本号，如 "2"')]


def _answer(response: Response, view: dict) -> dict:
    response.headers["ETag"] = f'"{view["version"]}"'
    return view


def _app(request: Request) -> Routing:
    return request.app.state.routing


@router.get("", summary="本账号可见的案件（status=unroutable 为待人工分派队列）")
async def listing(
    request: Request, scope: ScopeDep, pool: PoolDep,
    status: Annotated[Literal["assigned", "unroutable", "accepted", "rejected"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> dict:
    return await usecases.cases(_app(request), pool, scope, status, limit, after)


@router.get("/{case_id}", summary="查看案件的受理与分派")
async def get_case(case_id: str, request: Request, response: Response, scope: ScopeDep, pool: PoolDep) -> dict:
    return _answer(response, await usecases.case(_app(request), pool, case_id, scope))


@router.post("/{case_id}/accept", summary="受理")
async def accept(case_id: str, body: AcceptBody, request: Request, response: Response, principal: PrincipalDep,
                 scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.accept(_app(request), pool, case_id, principal, scope,
                                                   if_match_version(if_match)))


@router.post("/{case_id}/reject", summary="不予受理（须说明理由和法定途径）")
async def reject(case_id: str, body: RejectBody, request: Request, response: Response, principal: PrincipalDep,
                 scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    cmd = usecases.Reject(body.reason, body.legal_channel)
    return _answer(response, await usecases.reject(_app(request), pool, case_id, cmd, principal, scope,
                                                   if_match_version(if_match)))


@router.post("/{case_id}/reassign", summary="改派承办单位，或人工分派待分派的案件")
async def reassign(case_id: str, body: ReassignBody, request: Request, response: Response, principal: PrincipalDep,
                   scope: ScopeDep, pool: PoolDep, if_match: IfMatch = None) -> dict:
    return _answer(response, await usecases.reassign(_app(request), pool, case_id, body.unit, body.reason, principal,
                                                     scope, if_match_version(if_match)))


def build(routing: Routing) -> FastAPI:
    app = create_app("受理与分派 routing", routing.ctx, [router])
    app.state.routing = routing
    return app
