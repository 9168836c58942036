"""The dashboard's routes: the page, its one charting library (ECharts, vendored, Apache-2.0), who
is signed in, the overview's data and, for operators, a case's trace. The page signs in with the
same bearer tokens as the APIs and keeps the token in the tab's sessionStorage only."""

from __future__ import annotations

import gzip
import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from backbone.http import PoolDep, PrincipalDep, ScopeDep

from . import dashboard

router = APIRouter(tags=["工作台"])
STATIC = dashboard.PAGE.parent
_ASSETS = {"echarts.min.js": "text/javascript; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}
_cache: dict[str, tuple[bytes, bytes]] = {}


def _asset(name: str) -> tuple[bytes, bytes]:
    """A static file, plain and gzip-compressed once (ECharts is 1 MB, 340 KB compressed). The
    page names its scripts with their content's hash, so browsers may keep them for a week."""
    if name not in _cache:
        raw = (STATIC / name).read_bytes()
        if name == "dashboard.html":
            for asset in _ASSETS:
                digest = hashlib.sha256((STATIC / asset).read_bytes()).hexdigest()[:12]
                raw = raw.replace(f"/dashboard/static/{asset}\"".encode(), f"/dashboard/static/{asset}?v={digest}\"".encode())
        _cache[name] = raw, gzip.compress(raw, 6)
    return _cache[name]


def _send(request: Request, name: str, media_type: str, cache: str) -> Response:
    raw, packed = _asset(name)
    headers = {"Cache-Control": cache, "Vary": "Accept-Encoding",
               "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(packed, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(raw, media_type=media_type, headers=headers)


@router.get("/dashboard", summary="信访工作台（网页）：指标与趋势、子公司对比、热点问题、预警、超期与督办、案件查询", response_class=Response,
            responses={200: {"content": {"text/html": {}}}})
async def page(request: Request) -> Response:
    return _send(request, "dashboard.html", "text/html; charset=utf-8", "no-cache")


@router.get("/dashboard/static/{name}", include_in_schema=False)
async def asset(name: Annotated[str, Path(max_length=40)], request: Request) -> Response:
    if name not in _ASSETS:
        return Response(status_code=404)
    return _send(request, name, _ASSETS[name], "public, max-age=604800, immutable")


@router.get("/me", summary="当前登录账号：单位、角色和可见范围")
async def whoami(request: Request, principal: PrincipalDep, scope: ScopeDep) -> dict:
    return dashboard.me(request.app.state.reporting, principal, scope)


@router.get("/dashboard/overview", summary="工作台总览：各项指标（分子、分母、公式、环比、同比）、下级单位对比、件次人次、热点问题、预警、超期与督办")
async def overview(request: Request, scope: ScopeDep, pool: PoolDep,
                   month: Annotated[str | None, Query(max_length=7, description="2026-11；默认本月")] = None) -> dict:
    return await dashboard.overview(request.app.state.reporting, pool, scope, month)


@router.get("/dashboard/trends", summary="工作台趋势：近十三个月各项指标（分子、分母）和件次、人次")
async def trends(request: Request, scope: ScopeDep, pool: PoolDep,
                 month: Annotated[str | None, Query(max_length=7, description="2026-11；默认本月")] = None) -> dict:
    return await dashboard.trends(request.app.state.reporting, pool, scope, month)


@router.get("/traces/{trace_id}", summary="运维：一条链路的全部跨度（嵌入式部署从本地链路文件读取）")
async def trace(trace_id: Annotated[str, Path(max_length=32)], request: Request, principal: PrincipalDep) -> dict:
    return dashboard.trace(request.app.state.reporting, principal, trace_id)
