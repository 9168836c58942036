"""Routing's use cases: the decisions people make on a case, and reading cases. (Routing a new
registration happens in the projection, bootstrap.RoutingProjection.) Routes only adapt to these.

Every decision is the same sequence, written once in ``_decide``: load the case in the principal's
scope (FOR UPDATE), check who may act, decide (pure, routing.domain), record the events and the new
state in one statement, publish after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from psycopg_pool import AsyncConnectionPool

from backbone import telemetry, visibility
from backbone.auth import LIAISON_ROLES, Principal
from backbone.contracts import JointMeetingRecorded, MeetingDecision, RoutingEvent, Subtask
from backbone.days import stated
from backbone.envelope import Actor
from backbone.errors import Invalid, NotAllowed, case_not_found, checked_case_id
from backbone.eventstore import ConcurrencyConflict, conflicts_detected
from backbone.http import require_role
from backbone.paging import MAX_LIMIT, decode_cursor, next_cursor
from backbone.visibility import Scope

from . import domain, sharing, store
from .bootstrap import Routing
from .domain import STATUS_LABEL, RoutingCase, RoutingError
from .sharing import SharingError

DECIDERS = ("handler", "supervisor", "leader")


@dataclass(frozen=True)
class Command:
    """What every decision carries: who, on which case, based on which version, on which day."""

    case_id: str
    by: Principal
    scope: Scope
    expected: int | None = None
    on: date | None = None


def _holding_unit(app: Routing, case: RoutingCase, by: Principal) -> None:
    """Only the unit holding the case, or a unit above it, decides on it."""
    if case.unit is None or not app.ctx.org.is_within(case.unit, by.unit):
        raise NotAllowed("只有承办单位或其上级可以处理该案件", unit=case.unit)


def _sender(app: Routing, case: RoutingCase, by: Principal) -> None:
    if case.sender is None or not app.ctx.org.is_within(case.sender, by.unit):
        raise NotAllowed("只有送件单位或其上级可以决定异议", unit=case.sender)


def _superior(app: Routing, case: RoutingCase, by: Principal) -> None:
    if case.referred_to is None or not app.ctx.org.is_within(case.referred_to, by.unit):
        raise NotAllowed("只有争议双方的共同上级可以决定承办单位", unit=case.referred_to)


async def _decide(app: Routing, pool: AsyncConnectionPool, cmd: Command, roles: tuple[str, ...],
                  may: Callable[[Routing, RoutingCase, Principal], None],
                  decision: Callable[[RoutingCase, date], list[RoutingEvent]]) -> dict:
    require_role(cmd.by, *roles)
    case_id = checked_case_id(cmd.case_id)
    on = stated(cmd.on, app.today())
    async with pool.connection() as conn:
        with conflicts_detected():
            async with conn.transaction():
                case = await store.load_visible(conn, case_id, cmd.scope, for_update=True)
                if case is None:
                    raise case_not_found(case_id)
                if cmd.expected is not None and cmd.expected != case.version:
                    raise ConcurrencyConflict(case_id)
                may(app, case, cmd.by)
                try:
                    events = decision(case, on)
                except (RoutingError, SharingError) as e:
                    raise Invalid(str(e), case_status=case.status) from None
                by = cmd.by
                envs = app.ctx.store.envelopes(case_id, case.version, events, Actor(by.id, by.unit, by.role),
                                               traceparent=telemetry.current_traceparent())
                for e in events:
                    case = domain.evolve(case, e)
                cur = await conn.execute(*app.ctx.store.write_statement(envs, store.upsert([case]),
                                                                         *visibility.statements(envs)))
                positions = (await cur.fetchone())[0]
    app.ctx.store.published(envs, positions)
    return view(app, case)


def _seal(app: Routing, case: RoutingCase, text: str | None) -> str | None:
    return app.sealer.seal(case.case_id, text) if text else None


# -- 依法分类处理 ------------------------------------------------------------------------------------


async def classify(app, pool, cmd: Command, category: str, issue_type: str, accused_unit: str | None,
                   accused_principals: list[str]) -> dict:
    def decision(c: RoutingCase, on: date) -> list[RoutingEvent]:
        events = domain.classify(c, category, issue_type, accused_unit, tuple(accused_principals), cmd.by.unit, on,
                                 app.ctx.org, app.issue_types)
        # classified as an accusation: whatever was shared is taken back at once (never shareable)
        if sharing.shareable(category, accused_unit, tuple(accused_principals)):
            events += [e for party in sorted(c.shares) for e in sharing.revoke(c.case_id, c.shares, party, None, on)]
        return events

    return await _decide(app, pool, cmd, DECIDERS, _holding_unit, decision)


async def accept(app, pool, cmd: Command) -> dict:
    return await _decide(app, pool, cmd, DECIDERS, _holding_unit, lambda c, on: domain.accept(c, on))


async def reject(app, pool, cmd: Command, ground: str, legal_channel: str | None, reason: str,
                 linked_case_id: str | None) -> dict:
    return await _decide(app, pool, cmd, DECIDERS, _holding_unit, lambda c, on: domain.reject(
        c, ground, legal_channel, _seal(app, c, reason), on, linked_case_id))


async def transfer(app, pool, cmd: Command, unit: str, mode: str, reason: str, report_due_on: date | None) -> dict:
    return await _decide(app, pool, cmd, DECIDERS, _holding_unit, lambda c, on: domain.transfer(
        c, unit, mode, _seal(app, c, reason), on, cmd.by.unit, app.ctx.org, report_due_on))


async def object_to(app, pool, cmd: Command, reason: str) -> dict:
    return await _decide(app, pool, cmd, DECIDERS, _holding_unit,
                         lambda c, on: domain.object_to(c, _seal(app, c, reason), on))


async def decide_objection(app, pool, cmd: Command, agreed: bool, reason: str | None) -> dict:
    return await _decide(app, pool, cmd, DECIDERS, _sender, lambda c, on: domain.decide_objection(
        c, agreed, cmd.by.unit, _seal(app, c, reason), on, app.ctx.org))


async def decide_dispute(app, pool, cmd: Command, unit: str, reason: str) -> dict:
    return await _decide(app, pool, cmd, ("supervisor", "leader"), _superior, lambda c, on: domain.decide_dispute(
        c, unit, _seal(app, c, reason), on, app.ctx.org))


# -- responsibility ---------------------------------------------------------------------------------


async def set_track(app, pool, cmd: Command, track: str) -> dict:
    return await _decide(app, pool, cmd, DECIDERS, _holding_unit,
                         lambda c, on: domain.set_track(c, track, app.table, on))


async def take_case(app, pool, cmd: Command) -> dict:
    return await _decide(app, pool, cmd, ("leader",), _holding_unit,
                         lambda c, on: domain.take_case(c, cmd.by.id, cmd.by.unit, on, app.ctx.org))


async def assign_handler(app, pool, cmd: Command, handler: str, handler_unit: str) -> dict:
    if handler_unit not in app.ctx.org:
        raise Invalid(f"未知的单位 {handler_unit}", field="unit")
    return await _decide(app, pool, cmd, ("supervisor", "leader"), _holding_unit,
                         lambda c, on: domain.assign_handler(c, handler, handler_unit, on, app.ctx.org))


async def recuse(app, pool, cmd: Command, handler: str | None, reason: str, replaced_by: str | None) -> dict:
    """A handler declares their own conflict; a leader or supervisor records someone else's."""
    who = handler or cmd.by.id
    if who != cmd.by.id:
        require_role(cmd.by, "leader", "supervisor")
    return await _decide(app, pool, cmd, (*DECIDERS,), _holding_unit, lambda c, on: domain.recuse(
        c, who, _seal(app, c, reason), replaced_by, on))


async def joint_handling(app, pool, cmd: Command, subtasks: list[tuple[str, str, date]]) -> dict:
    def decision(c: RoutingCase, on: date):
        tasks = [Subtask(unit=u, task_sealed=_seal(app, c, task), due_on=due) for u, task, due in subtasks]
        return domain.joint_handling(c, tasks, on, app.ctx.org)

    return await _decide(app, pool, cmd, DECIDERS, _holding_unit, decision)


def _assisting(app: Routing, case: RoutingCase, by: Principal) -> None:
    org = app.ctx.org
    if not any(org.is_within(s.unit, by.unit) or org.is_within(by.unit, s.unit) for s in case.subtasks):
        raise NotAllowed("本单位不是该案件的协办单位")


async def report_subtask(app, pool, cmd: Command, report: str) -> dict:
    return await _decide(app, pool, cmd, DECIDERS, _assisting, lambda c, on: domain.report_subtask(
        c, cmd.by.unit, _seal(app, c, report), on, app.ctx.org))


async def record_investigation(app, pool, cmd: Command, investigators: list[str], units: list[str],
                               details: dict) -> dict:
    return await _decide(app, pool, cmd, DECIDERS, _holding_unit, lambda c, on: domain.record_investigation(
        c, investigators, units, _seal(app, c, details), on, app.ctx.org))


# -- reading -------------------------------------------------------------------------------------------


# -- 厂地联动 ---------------------------------------------------------------------------------------

SHARERS = ("handler", "leader", "supervisor")


async def share(app, pool, cmd: Command, party: str, preset: str, purpose: str, basis: str) -> dict:
    """A handler shares the case with a union or a local government office: purpose, preset, basis."""
    return await _decide(app, pool, cmd, SHARERS, _holding_unit, lambda c, on: sharing.share(
        app.sharing, case_id=c.case_id, category=c.category, accused_unit=c.accused_unit,
        accused_principals=c.accused_principals, subsidiary=c.facts.subsidiary, party_id=party, preset=preset,
        purpose=purpose, basis=basis, on=on))


async def revoke_sharing(app, pool, cmd: Command, party: str, reason: str | None) -> dict:
    return await _decide(app, pool, cmd, SHARERS, _holding_unit, lambda c, on: sharing.revoke(
        c.case_id, c.shares, party, _seal(app, c, reason), on))


def _shared_with_me(app: Routing, case: RoutingCase, by: Principal) -> None:
    if by.unit not in case.shares:
        raise NotAllowed("该案件未向本方共享")


async def coordinate(app, pool, cmd: Command, action: str, note: str | None, attachments: list) -> dict:
    """A liaison records what its party did on a case shared with it; the enterprise sees it."""
    out = await _decide(app, pool, cmd, LIAISON_ROLES_T, _shared_with_me, lambda c, on: sharing.coordinate(
        c.case_id, c.shares, cmd.by.unit, action, _seal(app, c, note), attachments, on))
    return party_view(out, cmd.by.unit)


LIAISON_ROLES_T = tuple(sorted(LIAISON_ROLES))


async def schedule_mediation(app, pool, cmd: Command, parties: list[str], meeting_at, place: str, due_on: date) -> dict:
    """联合调解 with parties the case is shared with, by a deadline supervision watches."""
    return await _decide(app, pool, cmd, SHARERS, _holding_unit, lambda c, on: sharing.schedule_mediation(
        c.case_id, c.shares, c.mediations, parties, meeting_at, place, due_on, on))


async def conclude_mediation(app, pool, cmd: Command, no: int, result: str, text: str) -> dict:
    return await _decide(app, pool, cmd, SHARERS, _holding_unit, lambda c, on: sharing.conclude_mediation(
        c.case_id, c.mediations, no, result, app.sealer.seal(c.case_id, text), on))


async def meeting_action_done(app, pool, cmd: Command, meeting_id: str, no: int) -> dict:
    return await _decide(app, pool, cmd, SHARERS, lambda *_: None, lambda c, on: sharing.action_done(
        c.case_id, c.meeting_tasks, meeting_id, no, cmd.by.unit, app.ctx.org, on))


async def joint_meeting(app: Routing, pool: AsyncConnectionPool, by: Principal, scope: Scope, held_on: date | None,
                        parties: list[str], units: list[str], agenda: list[dict]) -> dict:
    """联席会议: one meeting, many cases; on each case discussed, its decisions with owners and
    deadlines. All cases are written together, or none."""
    require_role(by, *SHARERS)
    on = stated(held_on, app.today())
    org = app.ctx.org
    for u in [*parties, *units, *(d["owner"] for item in agenda for d in item["decisions"])]:
        if u not in org:
            raise Invalid(f"未知的单位或协作方 {u}")
    meeting_id = str(uuid.uuid4())
    envs, cases = [], []
    async with pool.connection() as conn:
        with conflicts_detected():
            async with conn.transaction():
                for item in agenda:
                    case_id = checked_case_id(item["case_id"])
                    case = await store.load_visible(conn, case_id, scope, for_update=True)
                    if case is None:
                        raise case_not_found(case_id)
                    decisions = [MeetingDecision(no=i, text_sealed=app.sealer.seal(case_id, d["text"]), owner=d["owner"],
                                                 due_on=d["due_on"]) for i, d in enumerate(item["decisions"], start=1)]
                    events = [JointMeetingRecorded(case_id=case_id, meeting_id=meeting_id, held_on=on, parties=parties,
                                                   units=units, decisions=decisions, on=on)]
                    envs += app.ctx.store.envelopes(case_id, case.version, events, Actor(by.id, by.unit, by.role),
                                                    traceparent=telemetry.current_traceparent())
                    for e in events:
                        case = domain.evolve(case, e)
                    cases.append(case)
                cur = await conn.execute(*app.ctx.store.write_statement(envs, store.upsert(cases),
                                                                        *visibility.statements(envs)))
                positions = (await cur.fetchone())[0]
    app.ctx.store.published(envs, positions)
    return {"meeting_id": meeting_id, "held_on": on, "cases": [view(app, c) for c in cases]}


def party_view(view_: dict, party: str) -> dict:
    """What a party learns back from its own action: its share and the case number, nothing else."""
    return {"case_id": view_["case_id"], "case_no": view_["case_no"], "version": view_["version"],
            "share": next((s for s in view_["shares"] if s["party"] == party), None)}


async def case(app: Routing, pool, case_id: str, scope: Scope) -> dict:
    case_id = checked_case_id(case_id)
    async with pool.connection() as conn:
        found = await store.load_visible(conn, case_id, scope)
    if found is None:
        raise case_not_found(case_id)
    return view(app, found, scope)


async def cases(app: Routing, pool, scope: Scope, status: str | None, limit: int, after: str | None) -> dict:
    """Cases in scope, newest first; ``status=unroutable`` is the queue of cases to route by hand."""
    cursor = decode_cursor(after)
    limit = min(limit, MAX_LIMIT)
    async with pool.connection() as conn:
        found = await store.list_visible(conn, scope, status=status, limit=limit, after=cursor)
    nxt = next_cursor(found, limit, lambda c: (c.received_at, c.case_id))
    return {"count": len(found), "items": [view(app, c, scope) for c in found], "next": nxt}


def view(app: Routing, c: RoutingCase, scope: Scope | None = None) -> dict:
    org = app.ctx.org
    return {
        "case_id": c.case_id,
        "case_no": c.case_no,
        "received_at": c.received_at,
        "receiving_unit": c.facts.receiving_unit,
        "category": c.category,
        "issue_type": c.issue_type,
        "unit": c.unit,
        "unit_name": org.name(c.unit),
        "first_unit": c.first_unit,
        "first_unit_name": org.name(c.first_unit),
        "sender": c.sender,
        "mode": c.mode,
        "moves": c.moves,
        "assigned_on": c.assigned_on,
        "report_due_on": c.report_due_on,
        "status": c.status,
        "status_label": STATUS_LABEL.get(c.status or "", "待分派"),
        "version": c.version,
        "accepted_on": c.accepted_on,
        "track": c.track,
        "target_days": c.target_days,
        "leader": c.leader,
        "handler": c.handler,
        "recused": list(c.recused),
        "lead_unit": c.lead_unit,
        "subtasks": [s.model_dump(mode="json") for s in c.subtasks],
        "investigations": c.investigations,
        "objector": c.objector,
        "referred_to": c.referred_to,
        "legal_channel": c.legal_channel,
        "reject_ground": c.reject_ground,
        "linked_case_id": c.linked_case_id,
        "reject_reason": app.sealer.open(c.case_id, c.reject_reason_sealed) if c.reject_reason_sealed else None,
        "unroutable_reason": c.unroutable_reason,
        "suggestions": [s.model_dump(mode="json") for s in c.suggestions if scope is None or scope.flags([s.flag])],
        "shares": [{**s.model_dump(mode="json"), "party_name": org.name(s.party)} for s in c.shares.values()],
        "mediations": [m.model_dump(mode="json") for m in c.mediations],
        "meeting_tasks": [t.model_dump(mode="json") for t in c.meeting_tasks],
    }
