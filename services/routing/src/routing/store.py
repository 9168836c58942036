"""Routing's ``cases`` table: the state of each case, written with the case's routing events."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from backbone import bulk

from backbone.visibility import Scope

from .domain import PetitionFacts, RoutingCase

COLUMNS = ("case_id", "case_no", "received_at", "receiving_unit", "petitioner_unit", "subsidiary", "category",
           "issue_type", "accused_unit", "unit", "status", "version", "reject_reason_sealed", "legal_channel",
           "unroutable_reason")
_SELECT = "SELECT " + ", ".join(f"c.{c}" for c in COLUMNS) + " FROM cases c"
_UPSERT = bulk.insert("cases", COLUMNS, bulk.update_all(("case_id",), COLUMNS))


def to_row(c: RoutingCase) -> tuple:
    f = c.facts
    return (f.case_id, c.case_no, c.received_at, f.receiving_unit, f.petitioner_unit, f.subsidiary, f.category,
            f.issue_type, f.accused_unit, c.unit, c.status, c.version, c.reject_reason_sealed, c.legal_channel,
            c.unroutable_reason)


def from_row(r: Sequence) -> RoutingCase:
    facts = PetitionFacts(str(r[0]), r[3], r[4], r[5], r[6], r[7], r[8])
    return RoutingCase(facts, r[1], r[2], r[9], r[10], r[11], r[12], r[13], r[14])


def upsert(cases: Sequence[RoutingCase]) -> tuple[str, list[str]]:
    """The statement that writes these cases' state rows."""
    return _UPSERT, [bulk.rows(dict(zip(COLUMNS, to_row(c), strict=True)) for c in cases)]


def select_many(case_ids: list[str]) -> tuple[str, list[str]]:
    return _SELECT + " WHERE c.case_id = ANY(%s::uuid[])", [bulk.array(case_ids)]


def from_rows(rows: list[tuple]) -> dict[str, RoutingCase]:
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
