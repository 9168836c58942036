"""What every service's FastAPI app shares: lifespan (pool, directory, tracing), auth, errors.

Errors are mapped to HTTP in one place: ``ApiError`` subclasses carry their status; a concurrent
write to the same case (ConcurrencyConflict) is 409; request validation is 422 naming every bad
field.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import psycopg
from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from . import telemetry
from .auth import Directory, Principal
from .db import migrate, open_pool
from .eventstore import ConcurrencyConflict
from .settings import BackboneSettings

log = logging.getLogger("backbone.http")


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, **detail: Any):
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFound(ApiError):
    status, code = 404, "not_found"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Unprocessable(ApiError):
    status, code = 422, "unprocessable"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers)


def create_app(
    title: str,
    settings: BackboneSettings,
    routers: list,
    migrations: Path | None = None,
    on_startup: Callable[[FastAPI], None] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        telemetry.setup(settings.service, "api", settings.traces_dir, settings.otlp_endpoint)
        migrate(settings.database_url, settings.schema, migrations)
        app.state.settings = settings
        app.state.directory = Directory.load(settings.seed_path)
        app.state.pool = open_pool(settings.database_url, settings.schema, settings.db_pool_max)
        if on_startup:
            on_startup(app)
        try:
            yield
        finally:
            app.state.pool.close()
            telemetry.shutdown()

    app = FastAPI(title=title, lifespan=lifespan)
    for r in routers:
        app.include_router(r)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, e: ApiError) -> JSONResponse:
        return _error(e.status, e.code, e.message, **e.detail)

    @app.exception_handler(ConcurrencyConflict)
    async def _conflict(_: Request, e: ConcurrencyConflict) -> JSONResponse:
        return _error(409, "concurrent_update", "这个案件刚被其他人修改，请刷新后重试", case_id=e.stream_id)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        fields = [
            {
                "field": ".".join(str(p) for p in err["loc"] if p != "body"),
                "message": err["msg"],
                "type": err["type"],
            }
            for err in e.errors()
        ]
        return _error(422, "invalid_request", "请求中有字段不合格", fields=fields)

    @app.get("/health", tags=["ops"])
    def health(request: Request) -> dict:
        with request.app.state.pool.connection() as conn:
            conn.execute("SELECT 1")
        return {"status": "ok", "service": settings.service}

    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # health checks poll every few hundred milliseconds: keep them out of the traces
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health")
    return app


# -- dependencies ------------------------------------------------------------------------------


def get_pool(request: Request) -> ConnectionPool:
    return request.app.state.pool


def get_directory(request: Request) -> Directory:
    return request.app.state.directory


def get_principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("缺少访问令牌 (Authorization: Bearer …)")
    principal = request.app.state.directory.authenticate(authorization[7:].strip())
    if principal is None:
        raise Unauthorized("访问令牌无效")
    return principal


PoolDep = Annotated[ConnectionPool, Depends(get_pool)]
DirectoryDep = Annotated[Directory, Depends(get_directory)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles and principal.role != "admin":
        raise Forbidden(f"角色 {principal.role} 无权执行此操作", required=list(roles))


# -- Idempotency-Key ---------------------------------------------------------------------------


def request_fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def replay_idempotent(conn: psycopg.Connection, principal: Principal, key: str, fingerprint: str) -> JSONResponse | None:
    row = conn.execute(
        "SELECT request_hash, status, response FROM idempotency_keys WHERE principal = %s AND key = %s",
        (principal.id, key),
    ).fetchone()
    if row is None:
        return None
    if row["request_hash"] != fingerprint:
        raise Unprocessable("Idempotency-Key 已用于另一个不同的请求", idempotency_key=key)
    return JSONResponse(row["response"], status_code=row["status"], headers={"Idempotent-Replayed": "true"})


def remember_idempotent(
    conn: psycopg.Connection, principal: Principal, key: str, fingerprint: str, status: int, body: Any
) -> bool:
    """Store the answer in the caller's transaction; False if a concurrent request won the key."""
    return bool(
        conn.execute(
            "INSERT INTO idempotency_keys (principal, key, request_hash, status, response)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (principal.id, key, fingerprint, status, Jsonb(body)),
        ).rowcount
    )
