"""What every service's FastAPI app shares: lifespan, authentication, scope, errors, limits, tracing.

- Errors are mapped to HTTP in one place: the ``backbone.errors`` problems, a concurrent write to the
  same case (409), invalid requests (422 naming every bad field), bodies over
  ``XF_HTTP_MAX_BODY_BYTES`` (413, FastAPI's own limit), and anything unexpected (500, logged
  without the request body).
- Tracing is FastAPI's native OpenTelemetry support: one SERVER span per request continuing the
  caller's traceparent, without per-operation spans, metrics or logs (logs would carry rejected
  input values, which may be personal data).
- Routes get the principal and its ``Scope`` (backbone.visibility) as dependencies; both are plain
  ``async`` functions, so they never cost a thread hop.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from psycopg.types.json import Jsonb
from pydantic import BaseModel
from psycopg_pool import AsyncConnectionPool

from .auth import LIAISON_ROLES, Authenticator, InvalidToken, OrgTree, Principal
from . import ratelimit
from .db import open_async_pool
from .errors import Conflict, Invalid, NotAllowed, NotFound, Problem, TooManyRequests, Unauthenticated, field_error
from .eventstore import ConcurrencyConflict
from .visibility import Scope

log = logging.getLogger("backbone.http")

STATUS = {NotFound: 404, NotAllowed: 403, Unauthenticated: 401, Invalid: 422, Conflict: 409, TooManyRequests: 429}


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 429:
        headers = {"Retry-After": str(extra.get("retry_after", 60))}
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers)


def create_app(
    title: str,
    ctx,
    routers: list,
    on_startup: Callable[[FastAPI], Any] | None = None,
    description: str = "",
    schemas: Sequence[type[BaseModel]] = (),
    party_routes: Sequence[str] = (),
) -> FastAPI:
    """``ctx`` is the service's composition root (settings, org, auth, store, ...); ``schemas`` are
    models a route reads by hand (its body documented by reference) to add to the OpenAPI."""
    settings = ctx.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await open_async_pool(settings.database_url, settings.schema, settings.db_pool_max,
                                               settings.db_parallel_workers, settings.db_random_page_cost)
        if on_startup:
            await on_startup(app)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title=title, description=description, lifespan=lifespan, max_body_size=settings.http_max_body_bytes,
        telemetry={"tracing": True, "operation_spans": False, "metrics": False, "logs": False,
                   "exclude": lambda scope: scope.get("path") == "/health"},
    )
    app.state.ctx = ctx
    app.state.party_routes = frozenset(party_routes)  # the only paths a union or government liaison may call
    app.state.limits = ratelimit.from_settings(settings)
    if settings.portal_origins:  # the petitioner's portal calls /public from its own origin; no credentials
        app.add_middleware(CORSMiddleware, allow_origins=settings.portal_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type"], max_age=600)
    for r in routers:
        app.include_router(r)

    @app.exception_handler(Problem)
    async def _problem(_: Request, e: Problem) -> JSONResponse:
        detail = dict(e.detail)
        if "field" in detail and "fields" not in detail:  # one shape for every field error
            detail["fields"] = [{"field": detail.pop("field"), "message": e.message, "type": "rule"}]
        return _error(STATUS.get(type(e), next((s for c, s in STATUS.items() if isinstance(e, c)), 400)),
                      e.code, e.message, **detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        return _error(e.status_code, codes.get(e.status_code, "http_error"), str(e.detail))

    @app.exception_handler(ConcurrencyConflict)
    async def _conflict(_: Request, e: ConcurrencyConflict) -> JSONResponse:
        return _error(409, "concurrent_update", "这个案件刚被其他人修改，请刷新后重试", case_id=e.stream_id)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", "请求中有字段不合格", fields=[field_error(err) for err in e.errors()])

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", "服务器内部错误，已记录")

    if schemas:
        def openapi() -> dict:
            if app.openapi_schema is None:
                spec = FastAPI.openapi(app)
                components = spec.setdefault("components", {}).setdefault("schemas", {})
                for model in schemas:
                    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                    components.update(schema.pop("$defs", {}))
                    components[model.__name__] = schema
            return app.openapi_schema

        app.openapi = openapi

    @app.get("/health", tags=["ops"], summary="健康检查（数据库可用）")
    async def health(request: Request) -> dict:
        async with request.app.state.pool.connection() as conn:
            await conn.execute("SELECT 1")
        return {"status": "ok", "service": settings.service}

    return app


# -- dependencies ------------------------------------------------------------------------------


def get_ctx(request: Request):
    return request.app.state.ctx


def get_pool(request: Request) -> AsyncConnectionPool:
    return request.app.state.pool


async def get_principal(
    request: Request, authorization: Annotated[str | None, Header(max_length=8192)] = None
) -> Principal:
    if not authorization or not authorization[:7].lower() == "bearer ":
        raise Unauthenticated("缺少访问令牌 (Authorization: Bearer …)")
    auth: Authenticator = request.app.state.ctx.auth
    try:
        principal = auth.authenticate(authorization[7:].strip())
    except InvalidToken as e:
        log.info("token refused: %s", e)
        raise Unauthenticated("访问令牌无效或已过期") from None
    if principal.role in LIAISON_ROLES:
        # an external party (厂地联动) reaches only the routes that serve what was shared with it
        path = getattr(request.scope.get("route"), "path", "")
        if path not in getattr(request.app.state, "party_routes", ()):
            raise NotAllowed("外部协作方只能查看和处理共享给本方的案件", party=principal.unit)
    return principal


async def get_scope(request: Request, principal: Annotated[Principal, Depends(get_principal)]) -> Scope:
    org: OrgTree = request.app.state.ctx.org
    return Scope.of(principal, org)


PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ScopeDep = Annotated[Scope, Depends(get_scope)]


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles and principal.role != "admin":
        raise NotAllowed(f"角色 {principal.role} 无权执行此操作", required=list(roles))


def if_match_version(if_match: str | None) -> int | None:
    """The case version a write is based on, from ``If-Match: "<version>"`` (None: no precondition)."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Invalid("If-Match 应为案件版本号", field="If-Match") from None


# -- Idempotency-Key ---------------------------------------------------------------------------


class IdempotencyKey:
    """The first answer to (principal, key) is kept and replayed; the same key with another body is
    refused. The key row is inserted in the same transaction as the write (no ON CONFLICT): if a
    request with the same key committed first, the write aborts and the stored answer is replayed."""

    INSERT = "INSERT INTO idempotency_keys (principal, key, request_hash, status, response) VALUES (%s, %s, %s, %s, %s)"

    def __init__(self, principal: Principal, key: str, body: Any):
        self.principal, self.key = principal, key
        self.fingerprint = hashlib.sha256(
            json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()
        ).hexdigest()

    def insert(self, status: int, response: Any) -> tuple[str, tuple]:
        return self.INSERT, (self.principal.id, self.key, self.fingerprint, status, Jsonb(response))

    async def stored(self, conn) -> tuple[int, Any] | None:
        cur = await conn.execute(
            "SELECT request_hash, status, response FROM idempotency_keys WHERE principal = %s AND key = %s",
            (self.principal.id, self.key),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        if row[0] != self.fingerprint:
            raise Invalid("Idempotency-Key 已用于另一个不同的请求", idempotency_key=self.key)
        return row[1], row[2]


def replayed(status: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})
