"""Routing's ``cases`` table: the state of each case, written with the case's routing events."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from backbone.visibility import Scope

from .domain import PetitionFacts, RoutingCase

COLUMNS = ("case_id", "case_no", "received_at", "receiving_unit", "petitioner_unit", "subsidiary", "category",
           "issue_type", "accused_unit", "unit", "status", "version", "reject_reason_sealed", "legal_channel",
           "unroutable_reason")
TYPES = ("uuid", "text", "timestamptz", "text", "text", "text", "text", "text", "text", "text", "text", "int",
         "text", "text", "text")
_SELECT = "SELECT " + ", ".join(f"c.{c}" for c in COLUMNS) + " FROM cases c"
_UPSERT = (
    f"INSERT INTO cases ({', '.join(COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{t}[]" for t in TYPES)
    + ") ON CONFLICT (case_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
)


def to_row(c: RoutingCase) -> tuple:
    f = c.facts
    return (f.case_id, c.case_no, c.received_at, f.receiving_unit, f.petitioner_unit, f.subsidiary, f.category,
            f.issue_type, f.accused_unit, c.unit, c.status, c.version, c.reject_reason_sealed, c.legal_channel,
            c.unroutable_reason)


def from_row(r: Sequence) -> RoutingCase:
    facts = PetitionFacts(str(r[0]), r[3], r[4], r[5], r[6], r[7], r[8])
    return RoutingCase(facts, r[1], r[2], r[9], r[10], r[11], r[12], r[13], r[14])


def upsert(cases: Sequence[RoutingCase]) -> tuple[str, list[list]]:
    rows = [to_row(c) for c in sorted(cases, key=lambda c: c.facts.case_id)]
    return _UPSERT, [list(col) for col in zip(*rows, strict=True)]


def load_many(conn, case_ids: list[str]) -> dict[str, RoutingCase]:
    rows = conn.execute(_SELECT + " WHERE c.case_id = ANY(%s::uuid[])", (case_ids,)).fetchall()
    return {str(r[0]): from_row(r) for r in rows}


async def load_visible(conn, case_id: str, scope: Scope) -> RoutingCase | None:
    pred, params = scope.where("s")
    query = sql.SQL(_SELECT + " JOIN case_scope s ON s.case_id = c.case_id WHERE c.case_id = %(id)s AND {}").format(pred)
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
