"""Supervision's tables: one file per case (``cases``: the document and what lists filter on), one
row per clock (``clocks``) and per 督办 order (``orders``), all written with the case's events.

The consumer (clocks started and stopped by other services' events), the API (people's acts) and
the ticker (what time does) all write a case's file, so each reads it ``FOR UPDATE``.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from psycopg import sql

from backbone import bulk
from backbone.visibility import Scope

from .domain.case import CaseFile, next_check_on
from .domain.policy import Policy

CASE_COLUMNS = ("case_id", "case_no", "subsidiary", "unit", "stage", "version", "next_check_on", "state",
                "petitioners_sealed", "summary_sealed")
SEALED = {"petitioners_sealed", "summary_sealed"}  # written once, read only for documents
CLOCK_COLUMNS = ("case_id", "clock", "kind", "unit", "starts_on", "period", "unit_of_period", "due_on", "basis",
                 "rolled_from", "paused_on", "extended_days", "met_on", "late", "breached_on", "cancelled_on")
ORDER_COLUMNS = ("case_id", "order_no", "ground", "level", "issued_by", "to_unit", "issued_on", "feedback_due_on",
                 "feedback_on", "late", "escalations")
_CASES = bulk.insert("cases", CASE_COLUMNS, bulk.update_all(("case_id",), [c for c in CASE_COLUMNS if c not in SEALED])
                     + ", petitioners_sealed = COALESCE(EXCLUDED.petitioners_sealed, cases.petitioners_sealed),"
                     " summary_sealed = COALESCE(EXCLUDED.summary_sealed, cases.summary_sealed)")
_CLOCKS = bulk.insert("clocks", CLOCK_COLUMNS, bulk.update_all(("case_id", "clock"), CLOCK_COLUMNS))
_ORDERS = bulk.insert("orders", ORDER_COLUMNS, bulk.update_all(("case_id", "order_no"), ORDER_COLUMNS))
_SELECT = "SELECT c.state::text FROM cases c"


def select_many(case_ids: list[str]) -> list[tuple[str, list[str]]]:
    """The query reading these cases' files (locked until the batch commits)."""
    # locked in case-id order, as the ticker locks them: two lockers never wait on each other in a circle
    return [(_SELECT + " WHERE c.case_id = ANY(%s::uuid[]) ORDER BY c.case_id FOR UPDATE", [bulk.array(case_ids)])]


def from_rows(rows: list[tuple]) -> dict[str, CaseFile]:
    return {f.case_id: f for f in (CaseFile.model_validate_json(r[0]) for r in rows)}


def save(files: Sequence[CaseFile], policy: Policy) -> list[tuple[str, list[str]]]:
    """The statements that write these files, their clocks and their orders."""
    out = [(_CASES, [bulk.rows({
        "case_id": f.case_id, "case_no": f.case_no, "subsidiary": f.subsidiary, "unit": f.unit, "stage": f.stage,
        "version": f.version, "next_check_on": next_check_on(f, policy),
        "state": orjson.Fragment(f.__pydantic_serializer__.to_json(f, exclude=SEALED)),
        "petitioners_sealed": f.petitioners_sealed, "summary_sealed": f.summary_sealed} for f in files)])]
    # only what changed: the file's document holds every clock; the rows are for listings
    clocks = [{"case_id": f.case_id, "clock": k.name, **k.model_dump(include=set(CLOCK_COLUMNS) - {"case_id", "clock"})}
              for f in files for k in f.clocks.values() if k.name in f.dirty]
    if clocks:
        out.append((_CLOCKS, [bulk.rows(clocks)]))
    orders = [{"case_id": f.case_id, "order_no": o.no, "ground": o.ground, "level": o.level, "issued_by": o.issued_by,
               "to_unit": o.to_unit, "issued_on": o.on, "feedback_due_on": o.feedback_due_on,
               "feedback_on": o.feedback_on, "late": o.late, "escalations": o.escalations}
              for f in files for o in f.orders if f"#order:{o.no}" in f.dirty]
    if orders:
        out.append((_ORDERS, [bulk.rows(orders)]))
    return out


async def load_visible(conn, case_id: str, scope: Scope, *, for_update: bool = False) -> CaseFile | None:
    pred, params = scope.where("s")
    query = sql.SQL(_SELECT + " JOIN case_scope s ON s.case_id = c.case_id WHERE c.case_id = %(id)s AND {}"
                    + (" FOR UPDATE OF c" if for_update else "")).format(pred)
    cur = await conn.execute(query, {**params, "id": case_id})
    row = await cur.fetchone()
    return CaseFile.model_validate_json(row[0]) if row else None


async def load_by_receipt(conn, receipt_hash: str, *, for_update: bool = False) -> CaseFile | None:
    cur = await conn.execute(_SELECT + " WHERE c.state->>'receipt_code_hash' = %s" + (" FOR UPDATE" if for_update else ""),
                             (receipt_hash,))
    row = await cur.fetchone()
    return CaseFile.model_validate_json(row[0]) if row else None


async def sealed_facts(conn, case_id: str) -> tuple[str | None, str | None]:
    """intake's sealed petitioners and summary of a case (for its statutory documents)."""
    cur = await conn.execute("SELECT petitioners_sealed, summary_sealed FROM cases WHERE case_id = %s", (case_id,))
    row = await cur.fetchone()
    return (row[0], row[1]) if row else (None, None)
