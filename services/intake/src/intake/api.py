"""Intake's HTTP API: registers petitions from every channel. Routes only adapt to ``usecases``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backbone.http import PoolDep, PrincipalDep, ScopeDep, create_app, replayed
from backbone.paging import MAX_LIMIT

from . import usecases
from .bootstrap import Intake
from .domain import PetitionInput

router = APIRouter(prefix="/petitions", tags=["信访登记"])


class PetitionCreated(BaseModel):
    case_id: str
    case_no: str
    receipt_code: str | None = None
    status_path: str | None = None


@router.post("", status_code=201, response_model=PetitionCreated, summary="登记信访事项")
async def register(
    body: PetitionInput,
    request: Request,
    principal: PrincipalDep,
    scope: ScopeDep,
    pool: PoolDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
):
    done = await usecases.register(request.app.state.intake, pool, body, principal, scope, idempotency_key)
    if done.replayed:
        return replayed(done.status, done.body)
    return JSONResponse(done.body, status_code=done.status)


@router.get("/{case_id}", summary="查看信访登记（信访人身份和内容仅限有权角色）")
async def read(case_id: str, request: Request, principal: PrincipalDep, scope: ScopeDep, pool: PoolDep) -> dict:
    return await usecases.petition(request.app.state.intake, pool, case_id, principal, scope)


@router.get("", summary="本账号可见的信访登记（不含身份和内容）")
async def listing(
    request: Request,
    scope: ScopeDep,
    pool: PoolDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    after: Annotated[str | None, Query(max_length=200, description="上一页返回的 next")] = None,
) -> dict:
    return await usecases.petitions(request.app.state.intake, pool, scope, limit, after)


def build(intake: Intake) -> FastAPI:
    app = create_app("信访登记 intake", intake.ctx, [router])
    app.state.intake = intake
    return app
