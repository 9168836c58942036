"""Routing API: a handler accepts (受理), rejects (不予受理) or reassigns a case.

Run:  python -m routing.api

Every write takes the case's routing version from ``If-Match`` (answered as ``ETag``); a write
based on a stale version, or racing another write to the same case, gets 409.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import psycopg
import uvicorn
from fastapi import APIRouter, FastAPI, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from backbone import eventstore
from backbone.auth import Directory, Principal
from backbone.contracts import CaseAccepted, CaseAssigned, CaseRejected
from backbone.envelope import Actor
from backbone.eventstore import ConcurrencyConflict, record
from backbone.http import (
    DirectoryDep,
    Forbidden,
    NotFound,
    PoolDep,
    PrincipalDep,
    Unprocessable,
    create_app,
    require_role,
)

from .config import Settings
from .domain import (
    PetitionFacts,
    RoutingError,
    RoutingState,
    apply,
    check_reassign,
    ensure_open_for_decision,
    fold,
)
from .time import today

router = APIRouter(prefix="/cases", tags=["受理与分派"])

DECIDERS = ("handler", "supervisor", "leader")


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=500)


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=1000, description="不予受理的理由（书面告知信访人）")
    legal_channel: str | None = Field(default=None, max_length=100, description="应当通过的法定途径，如 劳动人事争议仲裁")


class ReassignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str
    reason: str = Field(min_length=2, max_length=1000)


class RoutingPublic(BaseModel):
    case_id: str
    case_no: str
    unit: str | None
    status: str
    version: int


def _facts(conn: psycopg.Connection, case_id: str) -> tuple[PetitionFacts, str] | None:
    try:
        uuid.UUID(case_id)
    except ValueError:
        return None
    row = conn.execute("SELECT * FROM petitions WHERE case_id = %s", (case_id,)).fetchone()
    if row is None:
        return None
    facts = PetitionFacts(
        str(row["case_id"]), row["receiving_unit"], row["petitioner_unit"], row["subsidiary"],
        row["category"], row["issue_type"], row["accused_unit"],
    )
    return facts, row["case_no"]


def _load(conn, case_id: str, principal: Principal, directory: Directory) -> tuple[PetitionFacts, str, RoutingState]:
    found = _facts(conn, case_id)
    if found is None:
        raise NotFound("没有这个案件", case_id=case_id)
    facts, case_no = found
    state = fold(eventstore.load(conn, case_id))
    visible = directory.can_see_case(principal, [state.unit, facts.receiving_unit], facts.accused_unit)
    if not visible:
        raise NotFound("没有这个案件", case_id=case_id)
    return facts, case_no, state


def _expected(if_match: str | None, state: RoutingState, case_id: str) -> int:
    if if_match is None:
        return state.version
    try:
        v = int(if_match.strip().strip('"').removeprefix("W/").strip('"'))
    except ValueError:
        raise Unprocessable("If-Match 应为案件版本号", field="If-Match") from None
    if v != state.version:
        raise ConcurrencyConflict(case_id, v)
    return v


def _answer(response: Response, case_id: str, case_no: str, state: RoutingState) -> RoutingPublic:
    response.headers["ETag"] = f'"{state.version}"'
    return RoutingPublic(case_id=case_id, case_no=case_no, unit=state.unit, status=state.status, version=state.version)


def _write(conn, case_id, state, expected, principal, items) -> None:
    for env in record(conn, "routing", case_id, expected, items, Actor(principal.id, principal.unit, principal.role)):
        apply(state, env.type, env.payload())


@router.get("/{case_id}", response_model=RoutingPublic, summary="查看案件的受理与分派")
def get_case(case_id: str, response: Response, principal: PrincipalDep, directory: DirectoryDep, pool: PoolDep):
    with pool.connection() as conn:
        _, case_no, state = _load(conn, case_id, principal, directory)
    return _answer(response, case_id, case_no, state)


@router.post("/{case_id}/accept", response_model=RoutingPublic, summary="受理")
def accept(
    case_id: str, body: AcceptBody, response: Response, principal: PrincipalDep, directory: DirectoryDep,
    pool: PoolDep, if_match: Annotated[str | None, Header()] = None,
):
    require_role(principal, *DECIDERS)
    with pool.connection() as conn, conn.transaction():
        _, case_no, state = _load(conn, case_id, principal, directory)
        expected = _expected(if_match, state, case_id)
        _decidable(state, principal, directory)
        event = CaseAccepted(case_id=case_id, unit=state.unit, accepted_on=today(), automatic=False)
        _write(conn, case_id, state, expected, principal, [("case.accepted.v1", event)])
    return _answer(response, case_id, case_no, state)


@router.post("/{case_id}/reject", response_model=RoutingPublic, summary="不予受理（须说明理由和法定途径）")
def reject(
    case_id: str, body: RejectBody, response: Response, principal: PrincipalDep, directory: DirectoryDep,
    pool: PoolDep, if_match: Annotated[str | None, Header()] = None,
):
    require_role(principal, *DECIDERS)
    with pool.connection() as conn, conn.transaction():
        _, case_no, state = _load(conn, case_id, principal, directory)
        expected = _expected(if_match, state, case_id)
        _decidable(state, principal, directory)
        event = CaseRejected(
            case_id=case_id, unit=state.unit, reason=body.reason, legal_channel=body.legal_channel, rejected_on=today()
        )
        _write(conn, case_id, state, expected, principal, [("case.rejected.v1", event)])
    return _answer(response, case_id, case_no, state)


@router.post("/{case_id}/reassign", response_model=RoutingPublic, summary="改派承办单位")
def reassign(
    case_id: str, body: ReassignBody, response: Response, principal: PrincipalDep, directory: DirectoryDep,
    pool: PoolDep, if_match: Annotated[str | None, Header()] = None,
):
    require_role(principal, *DECIDERS)
    with pool.connection() as conn, conn.transaction():
        facts, case_no, state = _load(conn, case_id, principal, directory)
        expected = _expected(if_match, state, case_id)
        if state.status == "rejected":
            raise Unprocessable("案件已不予受理，不能改派")
        try:
            check_reassign(facts, body.unit, directory.org)
        except RoutingError as e:
            raise Unprocessable(str(e), field="unit") from None
        if body.unit == state.unit:
            raise Unprocessable("案件已由该单位承办", field="unit")
        event = CaseAssigned(
            case_id=case_id,
            unit=body.unit,
            subsidiary=directory.org.subsidiary_of(body.unit),
            rule_id="manual",
            basis="人工改派",
            previous_unit=state.unit,
            reason=body.reason,
        )
        _write(conn, case_id, state, expected, principal, [("case.assigned.v1", event)])
    return _answer(response, case_id, case_no, state)


def _decidable(state: RoutingState, principal: Principal, directory: Directory) -> None:
    try:
        ensure_open_for_decision(state)
    except RoutingError as e:
        raise Unprocessable(str(e), case_status=state.status) from None
    if not directory.can_see_unit(principal, state.unit):
        # only the responsible unit (or a unit above it) decides acceptance
        raise Forbidden("只有承办单位或其上级可以决定是否受理", unit=state.unit)


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service="routing")
    return create_app("受理与分派 routing", settings, [router], migrations=Path(__file__).parent / "migrations")


def main() -> None:
    settings = Settings(service="routing")
    uvicorn.run(build(settings), host=settings.http_host, port=settings.http_port, log_level="warning")


if __name__ == "__main__":
    main()
