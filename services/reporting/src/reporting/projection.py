"""What reporting knows of each case, as a pure function of the events: ``apply(report, event)``.

Events of a case come from three topics in no guaranteed relative order, so each event fills only
its own fields; routing's fields are taken only from a routing version newer than the one seen, and
supervision's stage only from a newer supervision version. Nothing sealed is ever copied: the
timeline shows identifiers, classifications and dates only.
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
    "objected": "异议待定",
    "disputed": "争议待上级决定",
}
STAGE_LABEL = {
    "replied": "已答复", "closed": "已办结", "rehandling": "重新办理中", "reviewing": "复查中", "reviewed": "已复查",
    "re_reviewing": "复核中", "re_reviewed": "已复核", "final": "复核终结",
}
# never shown anywhere: sealed text, identity hashes, receipt-code hashes
HIDDEN = ("petitioner_keys", "receipt_code_hash")
ALERT_NAMESPACE = uuid.UUID("6f1c2b8e-3d1a-4b7e-9a55-0c7d2e1f4a90")
SUPERVISION_STAGES = {ev.ReplyServed: "replied", ev.AgreementSigned: "replied", ev.CaseClosed: "closed",
                      ev.RehandlingOrdered: "rehandling", ev.CaseFinalised: "final"}


@dataclass(frozen=True, slots=True)
class CaseReport:
    case_id: str
    view: dict[str, Any] = field(default_factory=dict)  # the case_view row's columns
    deadlines: dict[str, dict[str, Any]] = field(default_factory=dict)  # clock -> case_deadlines row
    new_timeline: tuple[dict[str, Any], ...] = ()  # rows to insert
    new_alerts: tuple[dict[str, Any], ...] = ()


def status(routing_status: str | None) -> str:
    return routing_status or "registered"


def stage(view: dict[str, Any]) -> str:
    """Where the case is in its life: supervision's stage once the reply is out, else routing's."""
    return view.get("stage") or status(view.get("routing_status"))


def stage_label(view: dict[str, Any]) -> str:
    s = stage(view)
    return STAGE_LABEL.get(s) or STATUS_LABEL.get(s, s)


_NO_EVALUATION = {f"evaluation_{t}{by}": None for t in ("petition_office", "responsible_unit") for by in ("", "_by")}


def trace_id(traceparent: str | None) -> str | None:
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 else None


def shown(p: ev.Event) -> dict[str, Any]:
    """What of a payload a timeline line shows: everything but sealed text and hashes."""
    out = p.model_dump(mode="json", exclude=set(HIDDEN))
    return {k: v for k, v in out.items() if not k.endswith("_sealed") and k != "case_id"} | _sealed_list_fields(out)


def _sealed_list_fields(d: dict) -> dict:
    # joint handling's sub-tasks and a joint meeting's decisions, without their sealed texts
    return {key: [{k: v for k, v in t.items() if not k.endswith("_sealed")} for t in d[key]]
            for key in ("subtasks", "decisions") if key in d}


def timeline_row(env: Envelope) -> dict[str, Any]:
    raw = env.raw or env.encode()
    return {
        "event_id": env.id, "case_id": env.subject, "source": env.producer, "type": env.type,
        "version": env.sequence, "occurred_at": env.time, "actor_role": env.actor.role,
        "actor_unit": env.actor.unit, "trace_id": trace_id(env.traceparent),
        # the whole event, as its store holds it: for time travel (as_of) and for what a line shows
        "body": raw.decode() if isinstance(raw, bytes) else raw,
    }


def timeline_detail(row: dict[str, Any]) -> dict[str, Any]:
    """What a timeline line shows: the row's own ``detail`` (rows written before 0013), else derived
    from the event it keeps."""
    if row.get("detail") is not None:
        return row["detail"]
    return shown(Envelope.decode(row["body"]).payload) if row.get("body") else {}


def _alert(env: Envelope, kind: str, unit: str, message: str, key: str | None = None) -> tuple[ev.AlertRaised, dict]:
    alert_id = str(uuid.uuid5(ALERT_NAMESPACE, f"{kind}:{env.subject}:{key or ''}"))
    alert = ev.AlertRaised(alert_id=alert_id, kind=kind, unit=unit, case_ids=[env.subject],
                           raised_at=env.time.astimezone(UTC), message=message[:1000])
    row = {"alert_id": alert_id, "kind": kind, "unit": unit, "case_id": env.subject, "raised_at": alert.raised_at,
           "message": alert.message}
    return alert, row


def apply(report: CaseReport | None, env: Envelope) -> tuple[CaseReport, list[ev.Event]]:
    report = report or CaseReport(env.subject)
    view = dict(report.view)
    deadlines = dict(report.deadlines)
    emitted: list[ev.Event] = []
    alerts = report.new_alerts
    p = env.payload

    def raise_alert(kind: str, unit: str | None, message: str, key: str | None = None) -> None:
        nonlocal alerts
        if unit:
            alert, row = _alert(env, kind, unit, message, key)
            emitted.append(alert)
            alerts += (row,)

    def deadline(clock: str, **changes) -> None:
        deadlines[clock] = {**deadlines.get(clock, {}), **changes}

    if isinstance(p, ev.IntakeEvent):
        match p:
            case ev.PetitionRegistered():
                view.update(p.model_dump(include={
                    "case_no", "channel", "received_at", "receiving_unit", "subsidiary", "petitioner_unit",
                    "accused_unit", "category", "issue_type", "anonymous", "petitioner_count", "involved_count",
                    "receipt_code_hash", "urgent", "threat", "visitor_count", "person_times", "declared_truthful"}))
            case ev.PetitionFlagged():
                view["flags"] = sorted({*view.get("flags", []), p.flag})
                if p.suggestion:
                    view["suggestion"] = p.suggestion
                if p.guidance:
                    view["guidance"] = p.guidance
            case ev.PetitionMarked(mark=mark, value=value):
                view[mark] = value
    elif isinstance(p, ev.RoutingEvent):
        if env.sequence > view.get("routing_version", 0):
            # an older routing event arriving after a newer one must not move the case back
            view["routing_version"] = env.sequence
            match p:
                case ev.CaseAssigned(unit=unit):
                    view.update(assigned_unit=unit, unroutable_reason=None)
                    if view.get("routing_status") in (None, "unroutable", "objected", "disputed") or p.needs_acceptance:
                        view["routing_status"] = "assigned"
                case ev.CaseUnroutable(queue_unit=unit, reason=reason):
                    view.update(assigned_unit=unit, routing_status="unroutable", unroutable_reason=reason)
                case ev.CaseAccepted(unit=unit, accepted_on=on):
                    view.update(assigned_unit=unit, routing_status="accepted", accepted_on=on)
                case ev.CaseRejected(unit=unit, rejected_on=on, legal_channel=channel):
                    view.update(assigned_unit=unit, routing_status="rejected", rejected_on=on, legal_channel=channel)
                case ev.ObjectionRaised():
                    if view.get("routing_status") != "accepted":
                        view["routing_status"] = "objected"
                case ev.ObjectionDecided(agreed=False):
                    if view.get("routing_status") != "accepted":
                        view["routing_status"] = "disputed"
        match p:  # facts that do not depend on the order of routing's events
            case ev.CaseAssigned():
                view["first_unit"] = view.get("first_unit") or p.first_unit
                view["moves"] = max(view.get("moves") or 0, p.moves)
            case ev.CaseClassified():
                view.update(category=p.category, issue_type=p.issue_type)
                if p.accused_unit:
                    view["accused_unit"] = p.accused_unit
            case ev.TrackSet(track=track):
                view["track"] = track
            case ev.LeaderTookCase(leader=leader):
                view["leader"] = leader
            case ev.HandlerAssigned(handler=handler):
                view["handler"] = handler
            # routing's events on one case can reach the broker out of their order (the API's and the
            # router's publishers are two), so each share keeps the version of the share or revocation
            # it shows, and an action counts even when it arrives before the share it belongs to
            case ev.CaseShared():
                share = dict((view.get("shares") or {}).get(p.party) or {"party": p.party, "actions": 0})
                if env.sequence > share.get("share_version", 0):  # what is shared: the newest share's
                    share.update(party_type=p.party_type, preset=p.preset, fields=p.fields, purpose=p.purpose,
                                 rule_id=p.rule_id, share_version=env.sequence)
                share["since"] = min(str(p.on), share.get("since") or str(p.on))
                if env.sequence > share.get("version", 0):  # whether it holds: the newest share or revocation
                    share.update(changed_on=str(p.on), revoked_on=None, version=env.sequence)
                view["shares"] = {**(view.get("shares") or {}), p.party: share}
            case ev.SharingRevoked():
                shares = dict(view.get("shares") or {})
                old = shares.get(p.party) or {"party": p.party, "actions": 0}
                if env.sequence > old.get("version", 0):
                    shares[p.party] = {**old, "revoked_on": str(p.on), "version": env.sequence}
                view["shares"] = shares
            case ev.CoordinationRecorded():
                shares = dict(view.get("shares") or {})
                old = shares.get(p.party) or {"party": p.party, "actions": 0}
                later = old.get("last_action_on") is None or str(p.on) >= old["last_action_on"]
                shares[p.party] = {**old, "actions": old.get("actions", 0) + 1,
                                   **({"last_action": p.action, "last_action_on": str(p.on)} if later else {})}
                view["shares"] = shares
        if isinstance(p, ev.CaseUnroutable):
            raise_alert("unroutable", p.queue_unit, f"案件无法按规则分派，请在待人工分派队列中处理：{p.reason}")
    elif isinstance(p, ev.SupervisionEvent):
        newer = env.sequence > view.get("supervision_version", 0)
        if newer:
            view["supervision_version"] = env.sequence
        match p:
            case ev.DeadlineSet():
                old = deadlines.get(p.clock, {})
                # a later instance of a clock (a re-set evaluation window, an escalated order) starts
                # afresh; an outcome that arrived before its clock's start is kept
                keep = {} if old.get("starts_on") is not None and old["starts_on"] < p.starts_on else {
                    k: old[k] for k in ("met_on", "late", "breached_on", "cancelled_on") if k in old}
                deadlines[p.clock] = {**p.model_dump(include={"kind", "unit", "starts_on", "due_on", "rolled_from",
                                                              "basis"}),
                                      "met_on": None, "late": None, "paused_on": None, "breached_on": None,
                                      "cancelled_on": None, "extended_days": 0, **keep}
            case ev.DeadlineMet():
                deadline(p.clock, met_on=p.on, late=p.late, paused_on=None)
            case ev.DeadlinePaused():
                deadline(p.clock, paused_on=p.on)
            case ev.DeadlineResumed():
                deadline(p.clock, paused_on=None, due_on=p.due_on)
            case ev.DeadlineExtended():
                deadline(p.clock, due_on=p.due_on, extended_days=p.days)
                view["extended"] = True
            case ev.DeadlineBreached():
                deadline(p.clock, breached_on=p.on)
            case ev.DeadlineCancelled():
                deadline(p.clock, cancelled_on=p.on)
            case ev.CaseUntouched():
                raise_alert("untouched", view.get("assigned_unit"), "案件超过一半办理期限没有办理进展记录", key=p.clock)
            case ev.ReplyServed():
                view.update(served_on=p.served_on)
                if newer:  # a new answer (重新办理) is evaluated afresh, as supervision's case is
                    view.update(_NO_EVALUATION)
            case ev.AgreementSigned():
                view.update(served_on=p.signed_on, agreement=p.kind)
                if newer:
                    view.update(_NO_EVALUATION)
            case ev.CaseClosed():
                view.update(closed_on=p.on, outcome=p.outcome)
            case ev.EvaluationRecorded():
                view[f"evaluation_{p.target}"] = p.grade
                view[f"evaluation_{p.target}_by"] = p.collected_by
            case ev.EvaluationExpired():
                view[f"evaluation_{p.target}"] = "超期未评价"
            case ev.ReviewRequested():
                view.update(review_level=p.level, reviewing_unit=p.reviewing_unit)
            case ev.CaseFinalised():
                view.update(final_on=p.on)
            case ev.UrgentFlagged():
                view["urgent"] = True
                for unit in p.notified:
                    raise_alert("urgent", unit, "重大紧急信访事项，请立即处置并逐级报告（《信访工作条例》第二十五条）", key=unit)
            case ev.OrderIssued():
                view["orders"] = view.get("orders", 0) + 1
            case ev.OrderEscalated():
                raise_alert("order_escalated", p.issued_by, f"督办（第{p.order_no}号）逾期未反馈，已升级督办",
                            key=f"{p.order_no}:{p.level}")
        if newer:
            if type(p) in SUPERVISION_STAGES:
                view["stage"] = SUPERVISION_STAGES[type(p)]
            elif isinstance(p, ev.ReviewRequested):
                view["stage"] = "reviewing" if p.level == "复查" else "re_reviewing"
            elif isinstance(p, ev.ReviewOpinionIssued):
                view["stage"] = "reviewed" if p.level == "复查" else "re_reviewed"
    view["updated_at"] = datetime.now(UTC)
    return replace(report, view=view, deadlines=deadlines, new_timeline=(*report.new_timeline, timeline_row(env)),
                   new_alerts=alerts), emitted
