"""Intake's HTTP API: registers petitions from every channel. Routes only adapt to ``usecases``."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from backbone.http import PoolDep, PrincipalDep, ScopeDep, create_app, get_principal, get_scope, replayed
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


@router.post(
    "", status_code=201, response_model=PetitionCreated, summary="登记信访事项",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PetitionInput"}}}},
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
                       {"name": "Authorization", "in": "header", "required": False, "schema": {"type": "string"}}],
    },
)
async def register(request: Request):
    """The hot path, kept lean: the body is validated straight from its bytes (pydantic-core), with no
    dependency injection; the same rules, errors and answer as every other route."""
    principal = await get_principal(request, request.headers.get("authorization"))
    try:
        body = PetitionInput.model_validate_json(await request.body())
    except ValidationError as e:
        raise RequestValidationError(e.errors(include_url=False)) from None
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 200:
        raise RequestValidationError([{"loc": ("header", "idempotency-key"), "msg": "1 to 200 characters",
                                       "type": "string_length"}])
    scope = await get_scope(request, principal)
    done = await usecases.register(request.app.state.intake, request.app.state.pool, body, principal, scope, key)
    if done.replayed:
        return replayed(done.status, done.body)
    return Response(orjson.dumps(done.body), status_code=done.status, media_type="application/json")


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
    app = create_app("信访登记 intake", intake.ctx, [router], schemas=[PetitionInput])
    app.state.intake = intake
    return app
