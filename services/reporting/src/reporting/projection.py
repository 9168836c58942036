"""Case projections: pure helpers (status, what of an event may be shown) and their SQL upserts.

Events of a case come from three topics in no guaranteed relative order, so every upsert fills
only its own columns, and routing updates are guarded by routing's stream version.
"""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from backbone.envelope import Envelope

STATUS_LABEL = {
    "registered": "已登记",
    "assigned": "待受理",
    "accepted": "办理中",
    "rejected": "不予受理",
}

# what of each payload the timeline may show: identifiers and classifications, never sealed fields
SHOWN = {
    "petition.registered.v1": ("case_no", "channel", "receiving_unit", "subsidiary", "category", "issue_type",
                               "anonymous", "petitioner_count", "involved_count", "accused_unit"),
    "case.assigned.v1": ("unit", "subsidiary", "rule_id", "basis", "previous_unit", "reason"),
    "case.accepted.v1": ("unit", "accepted_on", "automatic"),
    "case.rejected.v1": ("unit", "reason", "legal_channel", "rejected_on"),
    "deadline.set.v1": ("clock", "starts_on", "period", "unit_of_period", "due_on", "basis", "rolled_from"),
    "deadline.met.v1": ("clock", "on", "late"),
}


def status(routing_status: str | None) -> str:
    return routing_status or "registered"


def detail(env: Envelope) -> dict:
    return {k: env.data.get(k) for k in SHOWN.get(env.type, ())}


def trace_id(traceparent: str | None) -> str | None:
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 else None


def apply(conn: psycopg.Connection, env: Envelope) -> None:
    case_id = env.subject
    conn.execute(
        "INSERT INTO timeline (event_id, case_id, source, type, version, occurred_at, actor_role, actor_unit,"
        " trace_id, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (env.id, case_id, env.source.rsplit("/", 1)[-1], env.type, env.sequence, env.time, env.actor.role,
         env.actor.unit, trace_id(env.traceparent), Jsonb(detail(env))),
    )
    p = env.data
    match env.type:
        case "petition.registered.v1":
            conn.execute(
                "INSERT INTO case_view (case_id, case_no, channel, received_at, receiving_unit, subsidiary,"
                " petitioner_unit, accused_unit, category, issue_type, anonymous, petitioner_count, involved_count,"
                " receipt_code_hash) VALUES (%(case_id)s, %(case_no)s, %(channel)s, %(received_at)s,"
                " %(receiving_unit)s, %(subsidiary)s, %(petitioner_unit)s, %(accused_unit)s, %(category)s,"
                " %(issue_type)s, %(anonymous)s, %(petitioner_count)s, %(involved_count)s, %(receipt_code_hash)s)"
                " ON CONFLICT (case_id) DO UPDATE SET case_no = EXCLUDED.case_no, channel = EXCLUDED.channel,"
                " received_at = EXCLUDED.received_at, receiving_unit = EXCLUDED.receiving_unit,"
                " subsidiary = EXCLUDED.subsidiary, petitioner_unit = EXCLUDED.petitioner_unit,"
                " accused_unit = EXCLUDED.accused_unit, category = EXCLUDED.category,"
                " issue_type = EXCLUDED.issue_type, anonymous = EXCLUDED.anonymous,"
                " petitioner_count = EXCLUDED.petitioner_count, involved_count = EXCLUDED.involved_count,"
                " receipt_code_hash = EXCLUDED.receipt_code_hash, updated_at = now()",
                {**p, "involved_count": p.get("involved_count")},
            )
        case "case.assigned.v1" | "case.accepted.v1" | "case.rejected.v1":
            columns = {
                "case.assigned.v1": "assigned_unit = %(unit)s,"
                " routing_status = CASE WHEN case_view.routing_status IS NULL THEN 'assigned'"
                " ELSE case_view.routing_status END",
                "case.accepted.v1": "assigned_unit = %(unit)s, routing_status = 'accepted',"
                " accepted_on = %(accepted_on)s",
                "case.rejected.v1": "assigned_unit = %(unit)s, routing_status = 'rejected',"
                " rejected_on = %(rejected_on)s, reject_reason = %(reason)s, legal_channel = %(legal_channel)s",
            }[env.type]
            conn.execute("INSERT INTO case_view (case_id) VALUES (%s) ON CONFLICT DO NOTHING", (case_id,))
            # an older routing event replayed after a newer one must not move the case back
            conn.execute(
                f"UPDATE case_view SET {columns}, routing_version = %(v)s, updated_at = now()"
                " WHERE case_id = %(case_id)s AND routing_version < %(v)s",
                {"unit": None, "accepted_on": None, "rejected_on": None, "reason": None, "legal_channel": None,
                 **p, "v": env.sequence, "case_id": case_id},
            )
        case "deadline.set.v1":
            conn.execute(
                "INSERT INTO case_deadlines (case_id, clock, starts_on, due_on, rolled_from, basis)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (case_id, clock) DO UPDATE SET"
                " starts_on = EXCLUDED.starts_on, due_on = EXCLUDED.due_on, rolled_from = EXCLUDED.rolled_from,"
                " basis = EXCLUDED.basis",
                (case_id, p["clock"], p["starts_on"], p["due_on"], p.get("rolled_from"), p["basis"]),
            )
        case "deadline.met.v1":
            conn.execute(
                "INSERT INTO case_deadlines (case_id, clock, met_on, late) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (case_id, clock) DO UPDATE SET met_on = EXCLUDED.met_on, late = EXCLUDED.late",
                (case_id, p["clock"], p["on"], p["late"]),
            )
