"""Routing's ``cases`` table: the state of each case (one document), written with its events.

Both the consumer (routing a registration, recording a detection's suggestion) and the API (people's
decisions) write a case's row, so both read it ``FOR UPDATE``: a decision and a consumed event on the
same case take turns, and neither overwrites the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from psycopg import sql

from backbone import bulk
from backbone.visibility import Scope

from .domain import RoutingCase

COLUMNS = ("case_id", "case_no", "received_at", "subsidiary", "unit", "status", "version", "state")
_SELECT = "SELECT c.state::text FROM cases c"
_UPSERT = bulk.insert("cases", COLUMNS, bulk.update_all(("case_id",), COLUMNS))


def to_row(c: RoutingCase) -> dict:
    return {"case_id": c.case_id, "case_no": c.case_no, "received_at": c.received_at, "subsidiary": c.facts.subsidiary,
            "unit": c.unit, "status": c.status, "version": c.version,
            "state": orjson.Fragment(c.__pydantic_serializer__.to_json(c))}


def from_row(r: Sequence) -> RoutingCase:
    return RoutingCase.model_validate_json(r[0])


def upsert(cases: Sequence[RoutingCase]) -> tuple[str, list[str]]:
    """The statement that writes these cases' state rows."""
    return _UPSERT, [bulk.rows(to_row(c) for c in cases)]


def select_many(case_ids: list[str]) -> tuple[str, list[str]]:
    return _SELECT + " WHERE c.case_id = ANY(%s::uuid[]) ORDER BY c.case_id FOR UPDATE", [bulk.array(case_ids)]


def from_rows(rows: list[tuple]) -> dict[str, RoutingCase]:
    return {c.case_id: c for c in map(from_row, rows)}


async def load_visible(conn, case_id: str, scope: Scope, *, for_update: bool = False) -> RoutingCase | None:
    pred, params = scope.where("s")
    query = sql.SQL(_SELECT + " JOIN case_scope s ON s.case_id = c.case_id WHERE c.case_id = %(id)s AND {}"
                    + (" FOR UPDATE OF c" if for_update else "")).format(pred)
    cur = await conn.execute(query, {**params, "id": case_id})
    row = await cur.fetchone()
    return from_row(row) if row else None


async def list_visible(conn, scope: Scope, *, status: str | None, limit: int, after) -> list[RoutingCase]:
    pred, params = scope.where("s")
    conds = [sql.SQL("{}").format(pred)]
    if status:
        conds.append(sql.SQL("c.status = %(status)s"))
    if after:
        conds.append(sql.SQL("(c.received_at, c.case_id) < (%(at)s, %(after_id)s::uuid)"))
    query = sql.SQL(_SELECT + " JOIN case_scope s ON s.case_id = c.case_id WHERE {} ORDER BY c.received_at DESC,"
                    " c.case_id DESC LIMIT %(limit)s").format(sql.SQL(" AND ").join(conds))
    params.update(status=status, limit=limit, at=after[0] if after else None, after_id=after[1] if after else None)
    cur = await conn.execute(query, params)
    return [from_row(r) for r in await cur.fetchall()]
