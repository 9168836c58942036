"""Supervision's queries: which clocks are due soon or overdue as of a day, and each case's clocks.
(Clocks start and stop in the projection, bootstrap.ClocksProjection.)"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row

from backbone.errors import case_not_found, checked_case_id
from backbone.paging import MAX_LIMIT, decode_cursor, next_cursor
from backbone.visibility import Scope

from .bootstrap import Supervision
from .domain.clocks import status_as_of

CLOCK_LABEL = {"acceptance_notice": "受理告知", "handling": "办理答复"}
STATE_LABEL = {"met": "按期完成", "met_late": "超期完成", "overdue": "已超期", "due_soon": "即将到期", "running": "期限内"}

_SELECT = (
    "SELECT k.*, c.case_no, c.subsidiary, c.unit FROM clocks k JOIN cases c ON c.case_id = k.case_id"
    " JOIN case_scope s ON s.case_id = k.case_id WHERE {scope} AND {where}"
)


def _view(row: dict, as_of: date, warn_days: int) -> dict:
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


async def deadlines(app: Supervision, pool, scope: Scope, as_of: date, state: str, warn_days: int | None,
                    limit: int, after: str | None) -> dict:
    """Open clocks in scope that are overdue (last day before ``as_of``), due soon (within
    ``warn_days`` of it) or either ('open'), by last day."""
    warn = app.ctx.settings.warn_days if warn_days is None else warn_days
    cursor = decode_cursor(after, (date.fromisoformat, UUID, str))
    limit = min(limit, MAX_LIMIT)
    where = ["k.met_on IS NULL", {"overdue": "k.due_on < %(as_of)s", "due_soon": "k.due_on BETWEEN %(as_of)s AND %(horizon)s",
                                   "open": "k.due_on <= %(horizon)s"}[state]]
    if cursor:
        where.append("(k.due_on, k.case_id, k.clock) > (%(c_due)s, %(c_id)s, %(c_clock)s)")
    pred, params = scope.where("s")
    params.update(as_of=as_of, horizon=as_of + timedelta(days=warn), limit=limit)
    if cursor:
        params.update(c_due=cursor[0], c_id=cursor[1], c_clock=cursor[2])
    query = sql.SQL(_SELECT + " ORDER BY k.due_on, k.case_id, k.clock LIMIT %(limit)s").format(
        scope=pred, where=sql.SQL(" AND ".join(where)))
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        rows = await (await cur.execute(query, params)).fetchall()
    return {
        "as_of": as_of, "warn_days": warn, "state": state, "count": len(rows),
        "items": [_view(r, as_of, warn) for r in rows],
        "next": next_cursor(rows, limit, lambda r: (r["due_on"], r["case_id"], r["clock"])),
    }


async def case_deadlines(app: Supervision, pool, case_id: str, scope: Scope, as_of: date) -> dict:
    case_id = checked_case_id(case_id)
    pred, params = scope.where("s")
    query = sql.SQL(_SELECT + " ORDER BY k.starts_on, k.clock").format(scope=pred, where=sql.SQL("k.case_id = %(id)s"))
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        rows = await (await cur.execute(query, {**params, "id": case_id})).fetchall()
    if not rows:
        raise case_not_found(case_id)
    warn = app.ctx.settings.warn_days
    return {"case_id": case_id, "as_of": as_of, "clocks": [_view(r, as_of, warn) for r in rows]}
