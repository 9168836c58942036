"""Supervision API: which cases are due soon or overdue as of a given date, and each case's clocks.

Run:  python -m supervision.api
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import APIRouter, FastAPI, Query, Request

from backbone.http import DirectoryDep, NotFound, PoolDep, PrincipalDep, create_app

from .config import Settings
from .domain.clocks import status_as_of

router = APIRouter(tags=["时限监督"])
CHINA = ZoneInfo("Asia/Shanghai")

CLOCK_LABEL = {"acceptance_notice": "受理告知", "handling": "办理答复"}
STATE_LABEL = {"met": "按期完成", "met_late": "超期完成", "overdue": "已超期", "due_soon": "即将到期", "running": "期限内"}


def _clock_view(row: dict, as_of: date, warn_days: int) -> dict:
    state = status_as_of(row["due_on"], row["met_on"], as_of, warn_days)
    return {
        "case_id": str(row["case_id"]),
        "case_no": row["case_no"],
        "clock": row["clock"],
        "clock_label": CLOCK_LABEL.get(row["clock"], row["clock"]),
        "starts_on": row["starts_on"],
        "period": row["period"],
        "unit_of_period": row["unit_of_period"],
        "due_on": row["due_on"],
        "rolled_from": row["rolled_from"],
        "basis": row["basis"],
        "met_on": row["met_on"],
        "state": state,
        "state_label": STATE_LABEL[state],
        "days_left": (row["due_on"] - as_of).days,
        "unit": row["unit"],
        "subsidiary": row["subsidiary"],
    }


def _visible(directory, principal, row) -> bool:
    return directory.can_see_case(principal, [row["receiving_unit"], row["unit"]], row["accused_unit"])


SELECT = (
    "SELECT k.*, c.case_no, c.subsidiary, c.receiving_unit, c.unit, c.accused_unit"
    " FROM clocks k LEFT JOIN cases c USING (case_id)"
)


@router.get("/deadlines", summary="即将到期和已超期的案件")
def deadlines(
    request: Request,
    principal: PrincipalDep,
    directory: DirectoryDep,
    pool: PoolDep,
    as_of: Annotated[date | None, Query(description="按哪一天计算（默认今天，北京时间）")] = None,
    state: Annotated[Literal["due_soon", "overdue", "open"], Query()] = "open",
    warn_days: Annotated[int | None, Query(ge=0, le=60)] = None,
) -> dict:
    as_of = as_of or datetime.now(CHINA).date()
    warn = request.app.state.settings.warn_days if warn_days is None else warn_days
    with pool.connection() as conn:
        rows = conn.execute(
            SELECT + " WHERE k.met_on IS NULL AND k.due_on <= %s ORDER BY k.due_on, k.case_id",
            (as_of + timedelta(days=warn) if state != "overdue" else as_of,),
        ).fetchall()
    items = []
    for row in rows:
        if not _visible(directory, principal, row):
            continue
        view = _clock_view(row, as_of, warn)
        if state == "open" or view["state"] == state:
            items.append(view)
    return {"as_of": as_of, "warn_days": warn, "state": state, "count": len(items), "items": items}


@router.get("/cases/{case_id}/deadlines", summary="案件的各项法定时限")
def case_deadlines(
    case_id: str,
    request: Request,
    principal: PrincipalDep,
    directory: DirectoryDep,
    pool: PoolDep,
    as_of: Annotated[date | None, Query()] = None,
) -> dict:
    try:
        uuid.UUID(case_id)
    except ValueError:
        raise NotFound("没有这个案件", case_id=case_id) from None
    as_of = as_of or datetime.now(CHINA).date()
    with pool.connection() as conn:
        rows = conn.execute(SELECT + " WHERE k.case_id = %s ORDER BY k.starts_on, k.clock", (case_id,)).fetchall()
    if not rows or not _visible(directory, principal, rows[0]):
        raise NotFound("没有这个案件", case_id=case_id)
    warn = request.app.state.settings.warn_days
    return {"case_id": case_id, "as_of": as_of, "clocks": [_clock_view(r, as_of, warn) for r in rows]}


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service="supervision")
    return create_app("时限监督 supervision", settings, [router], migrations=Path(__file__).parent / "migrations")


def main() -> None:
    settings = Settings(service="supervision")
    uvicorn.run(build(settings), host=settings.http_host, port=settings.http_port, log_level="warning")


if __name__ == "__main__":
    main()
