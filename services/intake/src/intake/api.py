"""Intake's HTTP API: registers petitions from every channel. Routes only adapt to ``usecases``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backbone.http import PoolDep, PrincipalDep, ScopeDep, create_app, get_principal, get_scope, replayed
from backbone.paging import MAX_LIMIT

from . import usecases
from .bootstrap import Intake
from .domain import OnlineSubmission, PetitionInput

router = APIRouter(prefix="/petitions", tags=["信访登记"])
public = APIRouter(prefix="/public", tags=["信访人（网上信访，无需登录）"])
PORTAL = (Path(__file__).parent / "portal.html").read_text(encoding="utf-8")


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
        body = PetitionInput.model_validate_json(await request.body(),
                                                 context={"documents": request.app.state.intake.documents})
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


class MarkInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mark: Literal["threat"] = Field(description="扬言")
    value: bool = Field(default=True, description="true 标注，false 撤销")
    reason: str = Field(min_length=1, max_length=2000, description="依据（密封保存）")


@router.post("/{case_id}/marks", summary="标注或撤销扬言（重大紧急在时限监督服务 /cases/{id}/urgent 标注）")
async def set_mark(case_id: str, body: MarkInput, request: Request, principal: PrincipalDep, scope: ScopeDep,
                   pool: PoolDep) -> dict:
    return await usecases.mark(request.app.state.intake, pool, case_id, body.mark, body.value, body.reason, principal,
                               scope)


class SuggestInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    summary: str = Field(min_length=1, max_length=4000, description="概况/内容摘要")


@router.post("/classification-suggestion", summary="按内容建议问题类型和信访类别（登记人确认）")
def suggest_classification(body: SuggestInput, request: Request, principal: PrincipalDep) -> dict:
    return usecases.classification_suggestion(request.app.state.intake, body.summary, principal)


@public.post("/petitions", status_code=201, response_model=PetitionCreated,
             summary="网上信访：信访人提交（须同意真实性承诺），得到信访件编号和查询码")
async def submit_online(body: OnlineSubmission, request: Request, pool: PoolDep):
    request.app.state.limits.submission(request)
    done = await usecases.submit_online(request.app.state.intake, pool, body)
    return Response(orjson.dumps(done.body), status_code=done.status, media_type="application/json")


@public.get("/options", summary="网上信访表单的选项：信访工作机构、问题类型、信访目的、单位、真实性承诺")
async def options(request: Request) -> dict:
    return usecases.portal_options(request.app.state.intake)


@public.get("/portal", response_class=HTMLResponse, include_in_schema=False)
async def portal_page(request: Request) -> HTMLResponse:
    """The petitioner's portal (Chinese, for phones): submit, follow with the query code, evaluate."""
    urls = request.app.state.intake.ctx.settings.public_urls
    config = orjson.dumps({"reporting": urls.get("reporting", ""), "supervision": urls.get("supervision", "")})
    return HTMLResponse(PORTAL.replace("__CONFIG__", config.decode().replace("</", "<\\/")),
                        headers={"Content-Security-Policy": "default-src 'self'; connect-src 'self' "
                                 + " ".join(u for u in urls.values()) + "; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


def build(intake: Intake) -> FastAPI:
    # a union or government liaison reads the registrations shared with its party (the shared fields only)
    app = create_app("信访登记 intake", intake.ctx, [router, public], schemas=[PetitionInput],
                     party_routes=["/petitions", "/petitions/{case_id}"])
    app.state.intake = intake
    return app
