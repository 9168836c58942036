"""Intake API: registers petitions from every channel.

Run:  python -m intake.api        (settings: XF_* environment, see intake.config)
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import uvicorn
import yaml
from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backbone import eventstore
from backbone.eventstore import record
from backbone.envelope import Actor
from backbone.http import (
    DirectoryDep,
    Forbidden,
    NotFound,
    PoolDep,
    PrincipalDep,
    Unprocessable,
    create_app,
    remember_idempotent,
    replay_idempotent,
    request_fingerprint,
    require_role,
)

from .config import Settings
from .domain import (
    PetitionInput,
    RegistrationRejected,
    Sealer,
    case_number,
    check,
    format_receipt,
    new_receipt_code,
    registered_payload,
)

router = APIRouter(prefix="/petitions", tags=["信访登记"])

IDENTITY_ROLES = ("registrar", "handler", "leader")


class PetitionCreated(BaseModel):
    case_id: str
    case_no: str
    receipt_code: str | None = None
    status_path: str | None = None


class _LostIdempotencyRace(Exception):
    pass


@router.post("", status_code=201, response_model=PetitionCreated, summary="登记信访事项")
def register(
    body: PetitionInput,
    request: Request,
    principal: PrincipalDep,
    directory: DirectoryDep,
    pool: PoolDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
):
    require_role(principal, "registrar")
    if not directory.can_see_unit(principal, body.receiving_unit) and body.receiving_unit in directory.org:
        raise Forbidden("登记单位不在本账号的管辖范围内", field="receiving_unit")
    try:
        check(body, directory.org, request.app.state.issue_types, datetime.now(UTC))
    except RegistrationRejected as e:
        raise Unprocessable("请求中有字段不合格", fields=e.fields) from None
    fingerprint = request_fingerprint(body.model_dump(mode="json"))
    with pool.connection() as conn:
        if idempotency_key:
            replay = replay_idempotent(conn, principal, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        try:
            with conn.transaction():
                case_id = str(uuid.uuid4())
                seq = conn.execute("SELECT nextval('case_no_seq') AS n").fetchone()["n"]
                case_no = case_number(body.received_at, seq)
                code = new_receipt_code() if body.anonymous else None
                payload = registered_payload(
                    body,
                    case_id=case_id,
                    case_no=case_no,
                    org=directory.org,
                    sealer=request.app.state.sealer,
                    receipt_code=code,
                )
                record(
                    conn,
                    "intake",
                    case_id,
                    0,
                    [("petition.registered.v1", payload)],
                    Actor(principal.id, principal.unit, principal.role),
                )
                answer = PetitionCreated(
                    case_id=case_id,
                    case_no=case_no,
                    receipt_code=format_receipt(code) if code else None,
                    status_path="/public/status" if code else None,
                ).model_dump(mode="json")
                if idempotency_key and not remember_idempotent(
                    conn, principal, idempotency_key, fingerprint, 201, answer
                ):
                    raise _LostIdempotencyRace
        except _LostIdempotencyRace:
            # a concurrent request with the same key committed first: answer what it answered
            return replay_idempotent(conn, principal, idempotency_key, fingerprint)
    return JSONResponse(answer, status_code=201)


@router.get("/{case_id}", summary="查看信访登记（含信访人身份，仅限有权角色）")
def read(case_id: str, request: Request, principal: PrincipalDep, directory: DirectoryDep, pool: PoolDep):
    require_role(principal, *IDENTITY_ROLES)
    with pool.connection() as conn:
        events = eventstore.load(conn, case_id) if _is_uuid(case_id) else []
    if not events:
        raise NotFound("没有这个案件", case_id=case_id)
    p = events[0].payload()
    if not directory.can_see_case(principal, [p.receiving_unit, p.petitioner_unit], p.accused_unit):
        raise NotFound("没有这个案件", case_id=case_id)  # 404, not 403: do not confirm it exists
    sealer: Sealer = request.app.state.sealer
    out = p.model_dump(mode="json", exclude={"petitioners_sealed", "summary_sealed", "receipt_code_hash"})
    out["summary"] = sealer.open(case_id, p.summary_sealed)
    out["petitioners"] = sealer.open(case_id, p.petitioners_sealed) if p.petitioners_sealed else []
    out["version"] = events[-1].sequence
    return out


def _is_uuid(s: str) -> bool:
    try:
        uuid.UUID(s)
        return True
    except ValueError:
        return False


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service="intake")

    def startup(app: FastAPI) -> None:
        app.state.sealer = Sealer(settings.petitioner_key)
        taxonomy = yaml.safe_load(Path(settings.taxonomy_file).read_text(encoding="utf-8"))
        app.state.issue_types = {t["id"] for t in taxonomy["issue_types"]}

    return create_app(
        "信访登记 intake",
        settings,
        [router],
        migrations=Path(__file__).parent / "migrations",
        on_startup=startup,
    )


def main() -> None:
    settings = Settings(service="intake")
    uvicorn.run(build(settings), host=settings.http_host, port=settings.http_port, log_level="warning")


if __name__ == "__main__":
    main()
