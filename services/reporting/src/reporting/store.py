"""Reporting's read models: ``case_view``, ``case_deadlines``, ``timeline`` and ``alerts``."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg.types.json import Jsonb

from .projection import CaseReport

VIEW = {
    "case_id": "uuid", "case_no": "text", "channel": "text", "received_at": "timestamptz", "receiving_unit": "text",
    "subsidiary": "text", "petitioner_unit": "text", "accused_unit": "text", "category": "text",
    "issue_type": "text", "anonymous": "bool", "petitioner_count": "int", "involved_count": "int",
    "receipt_code_hash": "text", "assigned_unit": "text", "routing_status": "text", "routing_version": "int",
    "accepted_on": "date", "rejected_on": "date", "legal_channel": "text", "unroutable_reason": "text",
    "updated_at": "timestamptz",
}
DEADLINE = {"case_id": "uuid", "clock": "text", "starts_on": "date", "due_on": "date", "rolled_from": "date",
            "basis": "text", "met_on": "date", "late": "bool"}
TIMELINE = {"event_id": "uuid", "case_id": "uuid", "source": "text", "type": "text", "version": "int",
            "occurred_at": "timestamptz", "actor_role": "text", "actor_unit": "text", "trace_id": "text",
            "detail": "jsonb"}
ALERT = {"alert_id": "uuid", "kind": "text", "unit": "text", "case_id": "uuid", "raised_at": "timestamptz",
         "message": "text"}


def _insert(table: str, cols: dict[str, str], conflict: str) -> str:
    names = list(cols)
    return (f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM unnest("
            + ", ".join(f"%s::{t}[]" for t in cols.values()) + f") {conflict}")


def _update_all(key: tuple[str, ...], cols: dict[str, str]) -> str:
    return f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in key)


_VIEW = _insert("case_view", VIEW, _update_all(("case_id",), VIEW))
_DEADLINES = _insert("case_deadlines", DEADLINE, _update_all(("case_id", "clock"), DEADLINE))
_TIMELINE = _insert("timeline", TIMELINE, "ON CONFLICT DO NOTHING")
_ALERTS = _insert("alerts", ALERT, "ON CONFLICT DO NOTHING")


def _columns(rows: list[dict], cols: dict[str, str]) -> list[list]:
    return [[(Jsonb(r.get(c)) if t == "jsonb" else r.get(c)) for r in rows] for c, t in cols.items()]


def load_many(conn, case_ids: list[str]) -> dict[str, CaseReport]:
    views = conn.execute(f"SELECT {', '.join(VIEW)} FROM case_view WHERE case_id = ANY(%s::uuid[])", (case_ids,))
    deadlines = conn.execute(f"SELECT {', '.join(DEADLINE)} FROM case_deadlines WHERE case_id = ANY(%s::uuid[])",
                             (case_ids,))
    out: dict[str, CaseReport] = {}
    for r in views.fetchall():
        view = dict(zip(VIEW, r, strict=True))
        out[str(r[0])] = CaseReport(str(r[0]), view)
    for r in deadlines.fetchall():
        row = dict(zip(DEADLINE, r, strict=True))
        report = out.setdefault(str(r[0]), CaseReport(str(r[0]), {"case_id": str(r[0])}))
        report.deadlines[row["clock"]] = row
    return out


def save(conn, reports: Sequence[CaseReport]) -> None:
    views = [{**r.view, "case_id": r.case_id, "routing_version": r.view.get("routing_version", 0)} for r in reports]
    conn.execute(_VIEW, _columns(views, VIEW))
    deadlines = [{**d, "case_id": r.case_id, "clock": clock} for r in reports for clock, d in r.deadlines.items()]
    if deadlines:
        conn.execute(_DEADLINES, _columns(deadlines, DEADLINE))
    timeline = [t for r in reports for t in r.new_timeline]
    if timeline:
        conn.execute(_TIMELINE, _columns(timeline, TIMELINE))
    alerts = [a for r in reports for a in r.new_alerts]
    if alerts:
        conn.execute(_ALERTS, _columns(alerts, ALERT))


def reset(conn) -> None:
    """Empty every read model (before a rebuild from the event stores)."""
    conn.execute("TRUNCATE case_view, case_deadlines, timeline, alerts, case_scope")
