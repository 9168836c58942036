"""每月一题 (issue-level governance), the pure part: the months a fix is tracked over, which phase
each month is in, the phases' totals, and whether the deadline is overdue.

Phases: 整改前 (months before the fix started), 整改中 (from the month it started up to and
including the month it was completed, or to now while it is open) and 整改后 (after completion).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

Phase = Literal["before", "during", "after"]
PHASE_LABEL = {"before": "整改前", "during": "整改中", "after": "整改后"}


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def shift(month: str, n: int) -> str:
    """'2026-11' moved by ``n`` months."""
    i = int(month[:4]) * 12 + int(month[5:7]) - 1 + n
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def months(first: str, last: str) -> list[str]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = shift(m, 1)
    return out


def window(starts_on: date, done_on: date | None, today: date, before: int, after: int) -> list[str]:
    """The months tracked: ``before`` months ahead of the start, through ``after`` months past the
    completion (or past today while open), never past the current month."""
    now = month_of(today)
    first = shift(month_of(starts_on), -before)
    last = min(now, shift(month_of(done_on or today), after))
    return months(first, max(first, last))


def phase(month: str, starts_on: date, done_on: date | None) -> Phase:
    if month < month_of(starts_on):
        return "before"
    if done_on is None or month <= month_of(done_on):
        return "during"
    return "after"


def rate(n: int, d: int) -> dict:
    return {"value": round(n / d, 4) if d else None, "numerator": n, "denominator": d}


def phases(series: list[dict], tracked: list[str]) -> list[dict]:
    """Totals per phase over the monthly ``series`` (each with ``phase``, ``cases``, and per tracked
    indicator a numerator and denominator): cases, cases per month, and each rate."""
    out = []
    for p in ("before", "during", "after"):
        rows = [r for r in series if r["phase"] == p]
        if not rows:
            continue
        cases = sum(r["cases"] for r in rows)
        out.append({"phase": p, "phase_label": PHASE_LABEL[p], "months": len(rows), "cases": cases,
                    "cases_per_month": round(cases / len(rows), 2),
                    **{k: rate(sum(r[k]["numerator"] for r in rows), sum(r[k]["denominator"] for r in rows))
                       for k in tracked}})
    return out


def deadline_state(deadline: date, done_on: date | None, today: date) -> dict:
    """Whether the fix is overdue (open past its deadline) or was completed late, and by how many days."""
    if done_on is not None:
        late = (done_on - deadline).days
        return {"state": "done", "state_label": "已完成" if late <= 0 else "逾期完成", "overdue": False,
                "days_late": max(late, 0)}
    late = (today - deadline).days
    return {"state": "open", "state_label": "整改中" if late <= 0 else "已逾期", "overdue": late > 0,
            "days_late": max(late, 0)}
