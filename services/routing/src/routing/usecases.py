"""Routing's use cases: route a registration (in the projection), and the decisions people make on
a case — accept (受理), reject (不予受理) and reassign — plus reading cases. Routes only adapt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from backbone import telemetry, visibility
from backbone.auth import Principal
from backbone.contracts import RoutingEvent
from backbone.envelope import Actor
from backbone.errors import Invalid, NotAllowed, case_not_found, checked_case_id
from backbone.eventstore import ConcurrencyConflict, conflicts_detected
from backbone.http import require_role
from backbone.paging import MAX_LIMIT, decode_cursor, next_cursor
from backbone.visibility import Scope

from . import domain, store
from .bootstrap import Routing
from .domain import STATUS_LABEL, RoutingCase, RoutingError

DECIDERS = ("handler", "supervisor", "leader")


@dataclass(frozen=True)
class Reject:
    reason: str
    legal_channel: str | None


async def accept(app: Routing, pool, case_id: str, by: Principal, scope: Scope, expected: int | None) -> dict:
    return await _decide(app, pool, case_id, by, scope, expected, lambda c: domain.accept(c, app.today()))


async def reject(app: Routing, pool, case_id: str, cmd: Reject, by: Principal, scope: Scope, expected: int | None) -> dict:
    return await _decide(app, pool, case_id, by, scope, expected, lambda c: domain.reject(
        c, app.sealer.seal(c.facts.case_id, cmd.reason), cmd.legal_channel, app.today()))


async def reassign(app: Routing, pool, case_id: str, unit: str, reason: str, by: Principal, scope: Scope,
                   expected: int | None) -> dict:
    return await _decide(app, pool, case_id, by, scope, expected, lambda c: domain.reassign(
        c, unit, app.sealer.seal(c.facts.case_id, reason), app.ctx.org))


async def _decide(app: Routing, pool: AsyncConnectionPool, case_id: str, by: Principal, scope: Scope,
                  expected: int | None, decision: Callable[[RoutingCase], list[RoutingEvent]]) -> dict:
    """Load the case (in scope), decide (pure), record the events and the new state: one transaction."""
    require_role(by, *DECIDERS)
    case_id = checked_case_id(case_id)
    async with pool.connection() as conn:
        with conflicts_detected():
            async with conn.transaction():
                case = await store.load_visible(conn, case_id, scope)
                if case is None:
                    raise case_not_found(case_id)
                if expected is not None and expected != case.version:
                    raise ConcurrencyConflict(case_id)
                if case.unit is None or not app.ctx.org.is_within(case.unit, by.unit):
                    # only the unit holding the case, or a unit above it, decides on it
                    raise NotAllowed("只有承办单位或其上级可以处理该案件", unit=case.unit)
                try:
                    events = decision(case)
                except RoutingError as e:
                    raise Invalid(str(e), case_status=case.status) from None
                envs = app.ctx.store.envelopes(case_id, case.version, events, Actor(by.id, by.unit, by.role),
                                               traceparent=telemetry.current_traceparent())
                for e in events:
                    case = domain.evolve(case, e)
                cur = await conn.execute(*app.ctx.store.write_statement(envs, store.upsert([case]),
                                                                         *visibility.statements(envs)))
                positions = (await cur.fetchone())[0]
    app.ctx.store.published(envs, positions)
    return view(app, case)


async def case(app: Routing, pool, case_id: str, scope: Scope) -> dict:
    case_id = checked_case_id(case_id)
    async with pool.connection() as conn:
        found = await store.load_visible(conn, case_id, scope)
    if found is None:
        raise case_not_found(case_id)
    return view(app, found)


async def cases(app: Routing, pool, scope: Scope, status: str | None, limit: int, after: str | None) -> dict:
    """Cases in scope, newest first; ``status=unroutable`` is the queue of cases to route by hand."""
    cursor = decode_cursor(after)
    limit = min(limit, MAX_LIMIT)
    async with pool.connection() as conn:
        found = await store.list_visible(conn, scope, status=status, limit=limit, after=cursor)
    nxt = next_cursor(found, limit, lambda c: (c.received_at, c.facts.case_id))
    return {"count": len(found), "items": [view(app, c) for c in found], "next": nxt}


def view(app: Routing, c: RoutingCase) -> dict:
    org = app.ctx.org
    return {
        "case_id": c.facts.case_id,
        "case_no": c.case_no,
        "received_at": c.received_at,
        "receiving_unit": c.facts.receiving_unit,
        "category": c.facts.category,
        "issue_type": c.facts.issue_type,
        "unit": c.unit,
        "unit_name": org.name(c.unit),
        "status": c.status,
        "status_label": STATUS_LABEL.get(c.status or "", "待分派"),
        "version": c.version,
        "legal_channel": c.legal_channel,
        "reject_reason": app.sealer.open(c.facts.case_id, c.reject_reason_sealed) if c.reject_reason_sealed else None,
        "unroutable_reason": c.unroutable_reason,
    }
