"""Reporting's read models: ``case_view``, ``case_deadlines``, ``timeline`` and ``alerts``."""

from __future__ import annotations

from collections.abc import Sequence

from backbone import bulk

from .projection import CaseReport

VIEW = ("case_id", "case_no", "channel", "received_at", "receiving_unit", "subsidiary", "petitioner_unit",
        "accused_unit", "category", "issue_type", "anonymous", "petitioner_count", "involved_count",
        "receipt_code_hash", "assigned_unit", "routing_status", "routing_version", "accepted_on", "rejected_on",
        "legal_channel", "unroutable_reason", "updated_at", "urgent", "threat", "flags", "suggestion", "first_unit",
        "moves", "track", "leader", "handler", "supervision_version", "stage", "extended", "served_on", "agreement",
        "closed_on", "outcome", "evaluation_petition_office", "evaluation_petition_office_by",
        "evaluation_responsible_unit", "evaluation_responsible_unit_by", "review_level", "reviewing_unit",
        "final_on", "orders", "visitor_count", "person_times", "declared_truthful", "guidance", "shares", "clocks_met",
        "clocks_late", "clocks_overdue")
DEADLINE = ("case_id", "clock", "kind", "unit", "starts_on", "due_on", "rolled_from", "basis", "met_on", "late",
            "paused_on", "breached_on", "cancelled_on", "extended_days")
# columns with a NOT NULL default: a row is written whole, so an unset one is written as its default
DEFAULTS = {"routing_version": 0, "supervision_version": 0, "urgent": False, "threat": False, "flags": [], "moves": 0,
            "extended": False, "orders": 0, "person_times": 1, "declared_truthful": False, "shares": {},
            "clocks_met": [], "clocks_late": [], "clocks_overdue": []}
TIMELINE = ("event_id", "case_id", "source", "type", "version", "occurred_at", "actor_role", "actor_unit", "trace_id",
            "body")  # a line's detail is derived from its body when read (migration 0013)
ALERT = ("alert_id", "kind", "unit", "case_id", "raised_at", "message")

_VIEW = bulk.insert("case_view", VIEW, bulk.update_all(("case_id",), VIEW))
_DEADLINES = bulk.insert("case_deadlines", DEADLINE, bulk.update_all(("case_id", "clock"), DEADLINE))
_TIMELINE = bulk.insert("timeline", TIMELINE, "ON CONFLICT DO NOTHING")
_ALERTS = bulk.insert("alerts", ALERT, "ON CONFLICT DO NOTHING")


def select_many(case_ids: list[str]) -> list[tuple[str, list[str]]]:
    """The queries reading these cases' views and deadlines."""
    ids = [bulk.array(case_ids)]
    return [(f"SELECT {', '.join(VIEW)} FROM case_view WHERE case_id = ANY(%s::uuid[])", ids),
            (f"SELECT {', '.join(DEADLINE)} FROM case_deadlines WHERE case_id = ANY(%s::uuid[])", ids)]


def from_rows(views: list[tuple], deadlines: list[tuple]) -> dict[str, CaseReport]:
    out = {str(r[0]): CaseReport(str(r[0]), dict(zip(VIEW, r, strict=True))) for r in views}
    for r in deadlines:
        row = dict(zip(DEADLINE, r, strict=True))
        out.setdefault(str(r[0]), CaseReport(str(r[0]), {"case_id": str(r[0])})).deadlines[row["clock"]] = row
    return out


def clocks(deadlines: dict[str, dict]) -> dict[str, list[str]]:
    """The clocks met, those met late, and those past their day and not met (breached, not
    cancelled), as the case's row keeps them for the indicators (pure)."""
    met = sorted(c for c, d in deadlines.items() if d.get("met_on") is not None)
    overdue = sorted(c for c, d in deadlines.items() if d.get("met_on") is None and d.get("breached_on") is not None
                     and d.get("cancelled_on") is None)
    return {"clocks_met": met, "clocks_late": [c for c in met if deadlines[c].get("late")], "clocks_overdue": overdue}


def save(reports: Sequence[CaseReport]) -> list[tuple[str, list[str]]]:
    """The statements that write these reports: views, deadlines, new timeline rows, new alerts."""
    return save_rows(reports) + save_news(reports)


def save_rows(reports: Sequence[CaseReport]) -> list[tuple[str, list[str]]]:
    """The cases' own rows: their views (with the clocks met) and their deadlines."""
    if not reports:
        return []
    out = [(_VIEW, [bulk.rows({**DEFAULTS, **{k: v for k, v in r.view.items() if v is not None}, "case_id": r.case_id,
                               **clocks(r.deadlines)} for r in reports)])]
    deadlines = [{"kind": "duty", "extended_days": 0, **{k: v for k, v in d.items() if v is not None},
                  "case_id": r.case_id, "clock": clock} for r in reports for clock, d in r.deadlines.items()]
    if deadlines:
        out.append((_DEADLINES, [bulk.rows(deadlines)]))
    return out


def save_news(reports: Sequence[CaseReport]) -> list[tuple[str, list[str]]]:
    """What the reports added since they were read: timeline rows and alerts."""
    out = []
    timeline = [t for r in reports for t in r.new_timeline]
    if timeline:
        out.append((_TIMELINE, [bulk.rows(timeline)]))
    alerts = [a for r in reports for a in r.new_alerts]
    if alerts:
        out.append((_ALERTS, [bulk.rows(alerts)]))
    return out


def reset(conn) -> None:
    """Empty every read model (before a rebuild from the event stores), the indicators' counts too."""
    conn.execute("TRUNCATE case_view, case_deadlines, timeline, alerts, case_scope, kpi_definitions, kpi_scope_classes,"
                 " kpi_contributions, kpi_cells")
