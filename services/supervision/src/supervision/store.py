"""Supervision's tables: one row per case (``cases``) and one per statutory clock (``clocks``)."""

from __future__ import annotations

from collections.abc import Sequence

from .domain.case import CaseClocks, Clock

CASE_COLUMNS = ("case_id", "case_no", "subsidiary", "unit", "received_on", "decided_on", "decision")
CASE_TYPES = ("uuid", "text", "text", "text", "date", "date", "text")
CLOCK_COLUMNS = ("case_id", "clock", "starts_on", "period", "unit_of_period", "due_on", "basis", "rolled_from",
                 "met_on", "late")
CLOCK_TYPES = ("uuid", "text", "date", "int", "text", "date", "text", "date", "date", "bool")


def _upsert(table: str, columns: tuple[str, ...], types: tuple[str, ...], key: tuple[str, ...]) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest("
        + ", ".join(f"%s::{t}[]" for t in types)
        + f") ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
    )


_CASES = _upsert("cases", CASE_COLUMNS, CASE_TYPES, ("case_id",))
_CLOCKS = _upsert("clocks", CLOCK_COLUMNS, CLOCK_TYPES, ("case_id", "clock"))


def load_many(conn, case_ids: list[str]) -> dict[str, CaseClocks]:
    cases = conn.execute(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases WHERE case_id = ANY(%s::uuid[])", (case_ids,))
    clocks = conn.execute(f"SELECT {', '.join(CLOCK_COLUMNS)} FROM clocks WHERE case_id = ANY(%s::uuid[])", (case_ids,))
    by_case: dict[str, dict[str, Clock]] = {}
    for r in clocks.fetchall():
        by_case.setdefault(str(r[0]), {})[r[1]] = Clock(*r[1:])
    return {str(r[0]): CaseClocks(str(r[0]), *r[1:], clocks=by_case.get(str(r[0]), {})) for r in cases.fetchall()}


def save(conn, cases: Sequence[CaseClocks]) -> None:
    rows = [(c.case_id, c.case_no, c.subsidiary, c.unit, c.received_on, c.decided_on, c.decision) for c in cases]
    conn.execute(_CASES, [list(col) for col in zip(*rows, strict=True)])
    clock_rows = [(c.case_id, k.clock, k.starts_on, k.period, k.unit_of_period, k.due_on, k.basis, k.rolled_from,
                   k.met_on, k.late) for c in cases for k in c.clocks.values()]
    if clock_rows:
        conn.execute(_CLOCKS, [list(col) for col in zip(*clock_rows, strict=True)])
