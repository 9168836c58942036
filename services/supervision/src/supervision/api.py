"""Supervision's HTTP API: clocks due soon or overdue, and each case's statutory clocks, each with
the article that sets it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Query, Request

from backbone.http import PoolDep, ScopeDep, create_app
from backbone.paging import MAX_LIMIT

from . import usecases
from .bootstrap import Supervision

router = APIRouter(tags=["时限监督"])
CHINA = ZoneInfo("Asia/Shanghai")
Day = Annotated[date | None, Query(description="按哪一天计算（默认今天，北京时间）", ge=date(1990, 1, 1), le=date(2200, 1, 1))]


def _app(request: Request) -> Supervision:
    return request.app.state.supervision


@router.get("/deadlines", summary="即将到期和已超期的时限")
async def deadlines(
    request: Request, scope: ScopeDep, pool: PoolDep,
    as_of: Day = None,
    state: Annotated[Literal["due_soon", "overdue", "open"], Query()] = "open",
    warn_days: Annotated[int | None, Query(ge=0, le=60)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    after: Annotated[str | None, Query(max_length=300)] = None,
) -> dict:
    return await usecases.deadlines(_app(request), pool, scope, as_of or datetime.now(CHINA).date(), state, warn_days,
                                    limit, after)


@router.get("/cases/{case_id}/deadlines", summary="案件的各项法定时限")
async def case_deadlines(case_id: str, request: Request, scope: ScopeDep, pool: PoolDep, as_of: Day = None) -> dict:
    return await usecases.case_deadlines(_app(request), pool, case_id, scope, as_of or datetime.now(CHINA).date())


def build(supervision: Supervision) -> FastAPI:
    app = create_app("时限监督 supervision", supervision.ctx, [router])
    app.state.supervision = supervision
    return app
