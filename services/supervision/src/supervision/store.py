"""Supervision's tables: one row per case (``cases``) and one per statutory clock (``clocks``)."""

from __future__ import annotations

from collections.abc import Sequence

from backbone import bulk

from .domain.case import CaseClocks, Clock

CASE_COLUMNS = ("case_id", "case_no", "subsidiary", "unit", "received_on", "decided_on", "decision")
CLOCK_COLUMNS = ("case_id", "clock", "starts_on", "period", "unit_of_period", "due_on", "basis", "rolled_from",
                 "met_on", "late")
_CASES = bulk.insert("cases", CASE_COLUMNS, bulk.update_all(("case_id",), CASE_COLUMNS))
_CLOCKS = bulk.insert("clocks", CLOCK_COLUMNS, bulk.update_all(("case_id", "clock"), CLOCK_COLUMNS))


def select_many(case_ids: list[str]) -> list[tuple[str, list[str]]]:
    """The queries reading these cases and their clocks."""
    ids = [bulk.array(case_ids)]
    return [(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases WHERE case_id = ANY(%s::uuid[])", ids),
            (f"SELECT {', '.join(CLOCK_COLUMNS)} FROM clocks WHERE case_id = ANY(%s::uuid[])", ids)]


def from_rows(cases: list[tuple], clocks: list[tuple]) -> dict[str, CaseClocks]:
    by_case = {str(r[0]): CaseClocks(str(r[0]), *r[1:]) for r in cases}
    for r in clocks:
        by_case[str(r[0])].clocks[r[1]] = Clock(*r[1:])
    return by_case


def save(cases: Sequence[CaseClocks]) -> list[tuple[str, list[str]]]:
    """The statements that write these cases and their clocks."""
    out = [(_CASES, [bulk.rows({c: getattr(case, c) for c in CASE_COLUMNS} for case in cases)])]
    clocks = [{"case_id": case.case_id, **{c: getattr(k, c) for c in CLOCK_COLUMNS[1:]}}
              for case in cases for k in case.clocks.values()]
    if clocks:
        out.append((_CLOCKS, [bulk.rows(clocks)]))
    return out
