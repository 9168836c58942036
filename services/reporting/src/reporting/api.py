"""Reporting API: case timelines, consolidated counts, and the anonymous petitioner's status lookup.

Run:  python -m reporting.api

Every answer is cut to the principal's scope: its own subtree, never a case about its own unit.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import uvicorn
from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field

from backbone.auth import Directory, Principal
from backbone.contracts import receipt_code_hash
from backbone.http import DirectoryDep, NotFound, PoolDep, PrincipalDep, create_app

from .config import Settings
from .projection import STATUS_LABEL, status

router = APIRouter(tags=["报表与查询"])
public = APIRouter(prefix="/public", tags=["信访人查询"])


def _visible(directory: Directory, principal: Principal, row: dict) -> bool:
    return directory.can_see_case(
        principal, [row["receiving_unit"], row["petitioner_unit"], row["assigned_unit"]], row["accused_unit"]
    )


def _summary(row: dict, directory: Directory) -> dict:
    st = status(row["routing_status"])
    names = directory.org.units
    return {
        "case_id": str(row["case_id"]),
        "case_no": row["case_no"],
        "channel": row["channel"],
        "received_at": row["received_at"],
        "receiving_unit": row["receiving_unit"],
        "subsidiary": row["subsidiary"],
        "subsidiary_name": names[row["subsidiary"]].name if row["subsidiary"] in names else None,
        "category": row["category"],
        "issue_type": row["issue_type"],
        "anonymous": row["anonymous"],
        "involved_count": row["involved_count"],
        "assigned_unit": row["assigned_unit"],
        "assigned_unit_name": names[row["assigned_unit"]].name if row["assigned_unit"] in names else None,
        "status": st,
        "status_label": STATUS_LABEL[st],
        "accepted_on": row["accepted_on"],
        "rejected_on": row["rejected_on"],
        "reject_reason": row["reject_reason"],
        "legal_channel": row["legal_channel"],
        "updated_at": row["updated_at"],
    }


@router.get("/cases", summary="案件列表（本单位及下属）")
def list_cases(
    principal: PrincipalDep,
    directory: DirectoryDep,
    pool: PoolDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    subsidiary: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    with pool.connection() as conn:
        rows = conn.execute("SELECT * FROM case_view ORDER BY received_at DESC NULLS LAST").fetchall()
    items = []
    for row in rows:
        if not _visible(directory, principal, row):
            continue
        if subsidiary and row["subsidiary"] != subsidiary:
            continue
        if status_ and status(row["routing_status"]) != status_:
            continue
        items.append(_summary(row, directory))
        if len(items) >= limit:
            break
    return {"count": len(items), "items": items}


@router.get("/cases/{case_id}", summary="案件详情与完整时间线")
def get_case(case_id: str, principal: PrincipalDep, directory: DirectoryDep, pool: PoolDep) -> dict:
    try:
        uuid.UUID(case_id)
    except ValueError:
        raise NotFound("没有这个案件", case_id=case_id) from None
    with pool.connection() as conn:
        row = conn.execute("SELECT * FROM case_view WHERE case_id = %s", (case_id,)).fetchone()
        if row is None or not _visible(directory, principal, row):
            # 404 rather than 403: a principal out of scope does not learn that the case exists
            raise NotFound("没有这个案件", case_id=case_id)
        deadlines = conn.execute(
            "SELECT clock, starts_on, due_on, rolled_from, basis, met_on, late FROM case_deadlines"
            " WHERE case_id = %s ORDER BY starts_on NULLS LAST, clock",
            (case_id,),
        ).fetchall()
        timeline = conn.execute(
            "SELECT event_id, source, type, version, occurred_at, actor_role, actor_unit, trace_id, detail"
            " FROM timeline WHERE case_id = %s ORDER BY occurred_at, source, version",
            (case_id,),
        ).fetchall()
    return {
        **_summary(row, directory),
        "deadlines": deadlines,
        "timeline": [{**t, "event_id": str(t["event_id"])} for t in timeline],
    }


@router.get("/stats/by-subsidiary", summary="按子公司和状态汇总的案件数")
def by_subsidiary(principal: PrincipalDep, directory: DirectoryDep, pool: PoolDep) -> dict:
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT receiving_unit, petitioner_unit, assigned_unit, accused_unit, subsidiary, routing_status"
            " FROM case_view WHERE case_no IS NOT NULL"
        ).fetchall()
    counts: dict[tuple[str | None, str], int] = {}
    for row in rows:
        if _visible(directory, principal, row):
            key = (row["subsidiary"], status(row["routing_status"]))
            counts[key] = counts.get(key, 0) + 1
    names = directory.org.units
    items = [
        {
            "subsidiary": sub,
            "subsidiary_name": names[sub].name if sub in names else "集团总部本级",
            "status": st,
            "status_label": STATUS_LABEL[st],
            "count": n,
        }
        for (sub, st), n in sorted(counts.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
    ]
    return {"total": sum(counts.values()), "items": items}


class StatusQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt_code: str = Field(min_length=16, max_length=40, description="登记时给出的查询码")


@public.post("/status", summary="信访人凭查询码查看办理状态（无需登录）")
def status_by_receipt(body: StatusQuery, pool: PoolDep) -> dict:
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT case_no, routing_status, accepted_on, rejected_on, legal_channel, updated_at"
            " FROM case_view WHERE receipt_code_hash = %s",
            (receipt_code_hash(body.receipt_code),),
        ).fetchone()
    if row is None:
        raise NotFound("查询码无效，或案件尚在登记处理中")
    st = status(row["routing_status"])
    # status only: no units, no people, no content (an anonymous reporter's case stays anonymous)
    return {
        "case_no": row["case_no"],
        "status": st,
        "status_label": STATUS_LABEL[st],
        "accepted_on": row["accepted_on"],
        "rejected_on": row["rejected_on"],
        "legal_channel": row["legal_channel"],
        "updated_at": row["updated_at"],
    }


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service="reporting")
    return create_app("报表与查询 reporting", settings, [router, public], migrations=Path(__file__).parent / "migrations")


def main() -> None:
    settings = Settings(service="reporting")
    uvicorn.run(build(settings), host=settings.http_host, port=settings.http_port, log_level="warning")


if __name__ == "__main__":
    main()
