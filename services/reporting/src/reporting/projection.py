"""What reporting knows of each case, as a pure function of the events: ``apply(report, event)``.

Events of a case come from three topics in no guaranteed relative order, so each event fills only
its own fields, and routing's fields are taken only from a routing version newer than the one seen.
Nothing sealed is ever copied: the timeline shows identifiers and classifications only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from backbone import contracts as ev
from backbone.envelope import Envelope

STATUS_LABEL = {
    "registered": "已登记",
    "assigned": "待受理",
    "unroutable": "待人工分派",
    "accepted": "办理中",
    "rejected": "不予受理",
}

# what of each payload the timeline may show: identifiers and classifications, never sealed fields
SHOWN = {
    "petition.registered.v1": ("case_no", "channel", "receiving_unit", "subsidiary", "category", "issue_type",
                               "anonymous", "petitioner_count", "involved_count", "accused_unit"),
    "case.assigned.v1": ("unit", "subsidiary", "rule_id", "basis", "previous_unit"),
    "case.unroutable.v1": ("queue_unit", "reason"),
    "case.accepted.v1": ("unit", "accepted_on", "automatic"),
    "case.rejected.v1": ("unit", "legal_channel", "rejected_on"),
    "deadline.set.v1": ("clock", "starts_on", "period", "unit_of_period", "due_on", "basis", "rolled_from"),
    "deadline.met.v1": ("clock", "on", "late"),
}
ALERT_NAMESPACE = uuid.UUID("6f1c2b8e-3d1a-4b7e-9a55-0c7d2e1f4a90")


@dataclass(frozen=True, slots=True)
class CaseReport:
    case_id: str
    view: dict[str, Any] = field(default_factory=dict)  # the case_view row's columns
    deadlines: dict[str, dict[str, Any]] = field(default_factory=dict)  # clock -> case_deadlines row
    new_timeline: tuple[dict[str, Any], ...] = ()  # rows to insert
    new_alerts: tuple[dict[str, Any], ...] = ()


def status(routing_status: str | None) -> str:
    return routing_status or "registered"


def trace_id(traceparent: str | None) -> str | None:
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 else None


def timeline_row(env: Envelope) -> dict[str, Any]:
    p = env.payload
    return {
        "event_id": env.id, "case_id": env.subject, "source": env.producer, "type": env.type,
        "version": env.sequence, "occurred_at": env.time, "actor_role": env.actor.role,
        "actor_unit": env.actor.unit, "trace_id": trace_id(env.traceparent),
        "detail": p.model_dump(mode="json", include=set(SHOWN.get(env.type, ()))),
    }


def apply(report: CaseReport | None, env: Envelope) -> tuple[CaseReport, list[ev.Event]]:
    report = report or CaseReport(env.subject)
    view = dict(report.view)
    deadlines = dict(report.deadlines)
    emitted: list[ev.Event] = []
    alerts = report.new_alerts
    p = env.payload
    match p:
        case ev.PetitionRegistered():
            view.update(p.model_dump(include={
                "case_no", "channel", "received_at", "receiving_unit", "subsidiary", "petitioner_unit",
                "accused_unit", "category", "issue_type", "anonymous", "petitioner_count", "involved_count",
                "receipt_code_hash"}))
        case ev.CaseAssigned() | ev.CaseUnroutable() | ev.CaseAccepted() | ev.CaseRejected():
            if env.sequence > view.get("routing_version", 0):
                # an older routing event arriving after a newer one must not move the case back
                view["routing_version"] = env.sequence
                match p:
                    case ev.CaseAssigned(unit=unit):
                        view.update(assigned_unit=unit, unroutable_reason=None)
                        if view.get("routing_status") in (None, "unroutable"):
                            view["routing_status"] = "assigned"
                    case ev.CaseUnroutable(queue_unit=unit, reason=reason):
                        view.update(assigned_unit=unit, routing_status="unroutable", unroutable_reason=reason)
                    case ev.CaseAccepted(unit=unit, accepted_on=on):
                        view.update(assigned_unit=unit, routing_status="accepted", accepted_on=on)
                    case ev.CaseRejected(unit=unit, rejected_on=on, legal_channel=channel):
                        view.update(assigned_unit=unit, routing_status="rejected", rejected_on=on, legal_channel=channel)
            if isinstance(p, ev.CaseUnroutable):
                alert_id = str(uuid.uuid5(ALERT_NAMESPACE, f"unroutable:{env.subject}"))
                alert = ev.AlertRaised(alert_id=alert_id, kind="unroutable", unit=p.queue_unit, case_ids=[env.subject],
                                    raised_at=env.time.astimezone(UTC),
                                    message=f"案件无法按规则分派，请在待人工分派队列中处理：{p.reason}"[:1000])
                emitted.append(alert)
                alerts += ({"alert_id": alert_id, "kind": alert.kind, "unit": alert.unit, "case_id": env.subject,
                            "raised_at": alert.raised_at, "message": alert.message},)
        case ev.DeadlineSet():
            row = dict(deadlines.get(p.clock, {}))
            row.update(p.model_dump(include={"starts_on", "due_on", "rolled_from", "basis"}))
            deadlines[p.clock] = row
        case ev.DeadlineMet():
            deadlines[p.clock] = {**deadlines.get(p.clock, {}), "met_on": p.on, "late": p.late}
    view["updated_at"] = datetime.now(UTC)
    return replace(report, view=view, deadlines=deadlines, new_timeline=(*report.new_timeline, timeline_row(env)),
                   new_alerts=alerts), emitted
