"""Supervision's use cases: what people do on a case after it is accepted — progress notes, pauses,
the extension, the written reply and its review and service, agreements, closure, the petitioner's
evaluation and follow-up, re-handling, 复查 and 复核, 重大紧急 and 督办 — and the listings.

Every act is the same sequence, written once in ``_act``: load the file in the principal's scope
(FOR UPDATE), check who may act, decide (pure, domain.case), notice what is already due (a backdated
act may make a clock overdue at once), record the events and the file in one statement, publish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from backbone import telemetry, visibility
from backbone.auth import Principal
from backbone.contracts import receipt_code_hash
from backbone.days import stated
from backbone.envelope import SYSTEM, Actor
from backbone.errors import Invalid, NotAllowed, NotFound, case_not_found, checked_case_id
from backbone.eventstore import ConcurrencyConflict, conflicts_detected
from backbone.http import require_role
from backbone.paging import MAX_LIMIT, decode_cursor, next_cursor
from backbone.visibility import Scope

from . import store
from .bootstrap import Supervision
from .domain import case as dom
from .domain.case import STAGE_LABEL, CaseFile, SupervisionError
from .domain.clocks import status_as_of
from .domain.policy import review_body, supervision_chain

STAFF = ("handler", "supervisor", "leader", "registrar")
HANDLERS = ("handler", "leader")


@dataclass(frozen=True)
class Command:
    case_id: str
    by: Principal
    scope: Scope
    expected: int | None = None
    on: date | None = None


# -- who may act ----------------------------------------------------------------------------------------


def holding_unit(app: Supervision, f: CaseFile, by: Principal) -> None:
    if f.unit is None or not app.ctx.org.is_within(f.unit, by.unit):
        raise NotAllowed("只有承办单位或其上级可以办理该案件", unit=f.unit)


def reviewing_unit(level: str) -> Callable[[Supervision, CaseFile, Principal], None]:
    def check(app: Supervision, f: CaseFile, by: Principal) -> None:
        r = f.review(level)
        org = app.ctx.org
        unit = r.reviewing_unit if r else None
        if unit is None:  # the chain left the group: headquarters' petition office records the outcome
            root = org.ancestors_or_self(by.unit)[-1]
            unit = org.child_of_kind(root, "petition_office") or root
        if not org.is_within(unit, by.unit):
            raise NotAllowed(f"只有{level}机关（或其上级）可以作出{level}意见", unit=unit)

    return check


def case_staff(app: Supervision, f: CaseFile, by: Principal) -> None:
    """Anyone on the case's side who sees it: the holding unit and the units above it, the receiving
    petition office, the reviewing units."""
    org = app.ctx.org
    units = [u for u in (f.unit, f.receiving_unit, *(r.reviewing_unit for r in f.reviews)) if u]
    if not any(org.is_within(u, by.unit) for u in units):
        raise NotAllowed("本单位不是该案件的承办、登记或复查复核单位")


def order_unit(no: int) -> Callable[[Supervision, CaseFile, Principal], None]:
    def check(app: Supervision, f: CaseFile, by: Principal) -> None:
        order = next((o for o in f.orders if o.no == no), None)
        if order is None:
            raise NotFound(f"没有第 {no} 号督办")
        if not app.ctx.org.is_within(order.to_unit, by.unit):
            raise NotAllowed("只有被督办单位（或其上级）可以反馈", unit=order.to_unit)

    return check


# -- the one sequence ----------------------------------------------------------------------------------------


async def _act(app: Supervision, pool: AsyncConnectionPool, cmd: Command, roles: tuple[str, ...],
               may: Callable[[Supervision, CaseFile, Principal], None],
               decision: Callable[[CaseFile, date], list]) -> dict:
    require_role(cmd.by, *roles)
    case_id = checked_case_id(cmd.case_id)
    today = app.today()
    on = stated(cmd.on, today)
    async with pool.connection() as conn:
        with conflicts_detected():
            async with conn.transaction():
                f = await store.load_visible(conn, case_id, cmd.scope, for_update=True)
                if f is None:
                    raise case_not_found(case_id)
                if cmd.expected is not None and cmd.expected != f.version:
                    raise ConcurrencyConflict(case_id)
                may(app, f, cmd.by)
                try:
                    events = decision(f, on)
                except SupervisionError as e:
                    raise Invalid(str(e), stage=f.stage, **e.detail) from None
                f, envs = _record(app, f, events, Actor(cmd.by.id, cmd.by.unit, cmd.by.role), today)
                cur = await conn.execute(*app.ctx.store.write_statement(envs, *store.save([f], app.policy),
                                                                         *visibility.statements(envs)))
                positions = (await cur.fetchone())[0]
    app.ctx.store.published(envs, positions)
    return view(app, f, today)


def _record(app: Supervision, f: CaseFile, events: list, actor: Actor, today: date):
    """Fold the events, then whatever they make due at once (recorded by the system)."""
    tp = telemetry.current_traceparent()
    envs = app.ctx.store.envelopes(f.case_id, f.version, events, actor, traceparent=tp)
    for e in events:
        f = dom.evolve(f, e)
    due = dom.tick(f, today, app.domain)
    if due:
        envs += app.ctx.store.envelopes(f.case_id, f.version, due, SYSTEM, correlationid=envs[0].correlationid,
                                        causationid=envs[-1].id, traceparent=tp)
        for e in due:
            f = dom.evolve(f, e)
    return f, envs


def _seal(app: Supervision, f: CaseFile, value) -> str | None:
    return app.sealer.seal(f.case_id, value) if value else None


# -- handling -------------------------------------------------------------------------------------------------


async def note_progress(app, pool, cmd: Command, note: str, executed: bool) -> dict:
    return await _act(app, pool, cmd, STAFF, case_staff, lambda f, on: dom.note_progress(
        f, _seal(app, f, note), cmd.by.unit, executed, on))


async def pause(app, pool, cmd: Command, clock: str, reason: str) -> dict:
    return await _act(app, pool, cmd, HANDLERS + ("supervisor",), case_staff,
                      lambda f, on: dom.pause_clock(f, clock, reason, on))


async def resume(app, pool, cmd: Command, clock: str) -> dict:
    return await _act(app, pool, cmd, HANDLERS + ("supervisor",), case_staff,
                      lambda f, on: dom.resume_clock(f, clock, on, app.calendar))


async def extend(app, pool, cmd: Command, days: int, reason: str) -> dict:
    """延期: the head (a leader) of the holding unit or a unit above it approves."""
    return await _act(app, pool, cmd, ("leader",), holding_unit, lambda f, on: dom.extend_handling(
        f, days, _seal(app, f, reason), cmd.by.id, on, app.calendar))


async def draft_reply(app, pool, cmd: Command, decision: str, template: str, content: dict) -> dict:
    if template not in app.templates:
        raise Invalid(f"未知的答复模板 {template}", field="template", templates=sorted(app.templates))
    return await _act(app, pool, cmd, HANDLERS, holding_unit, lambda f, on: dom.draft_reply(
        f, decision, template, _seal(app, f, content), cmd.by.unit, on))


async def review_draft(app, pool, cmd: Command, approved: bool, comment: str | None) -> dict:
    return await _act(app, pool, cmd, ("leader",), holding_unit, lambda f, on: dom.review_draft(
        f, approved, cmd.by.id, _seal(app, f, comment), on))


async def serve(app, pool, cmd: Command, method: str, receipt: str) -> dict:
    return await _act(app, pool, cmd, HANDLERS, holding_unit,
                      lambda f, on: dom.serve_reply(f, on, method, receipt, app.domain))


async def agreement(app, pool, cmd: Command, kind: str, content: str) -> dict:
    return await _act(app, pool, cmd, HANDLERS, holding_unit, lambda f, on: dom.sign_agreement(
        f, kind, _seal(app, f, content), on, app.domain))


async def close(app, pool, cmd: Command, outcome: str) -> dict:
    return await _act(app, pool, cmd, ("leader",), holding_unit, lambda f, on: dom.close(f, cmd.by.id, outcome, on))


# -- evaluation -----------------------------------------------------------------------------------------------


def collector(app: Supervision, f: CaseFile, by: Principal) -> str:
    """Who collected an evaluation, from who the principal is (never from what the client says):
    headquarters calling back on another organisation's case, a petition office, or the handling
    side itself (self-collected satisfaction reads higher than an independent callback)."""
    org = app.ctx.org
    root = org.ancestors_or_self(by.unit)[-1]
    handling_organ = org.organ_of(f.unit) if f.unit in org else None
    if org.organ_of(by.unit) == root and handling_organ != root:
        return "hq_callback"
    if org.get(by.unit).kind == "petition_office":
        return "petition_office"
    return "handling_unit"


async def evaluate(app, pool, cmd: Command, grades: dict[str, str], via: str, comment: str | None) -> dict:
    def decision(f: CaseFile, on: date):
        who = collector(app, f, cmd.by)
        return _evaluations(app, f, grades, via, who, comment, on)

    return await _act(app, pool, cmd, STAFF + ("hq_analyst",), case_staff_or_hq, decision)


def case_staff_or_hq(app: Supervision, f: CaseFile, by: Principal) -> None:
    if app.ctx.org.parent_of(by.unit) is None:
        return  # headquarters' independent callback
    case_staff(app, f, by)


def _evaluations(app: Supervision, f: CaseFile, grades: dict[str, str], via: str, who: str, comment: str | None,
                 on: date) -> list:
    out, sealed = [], _seal(app, f, comment)
    for target, grade in grades.items():
        events = dom.evaluate(f, target, grade, via, who, sealed, on, app.domain)
        for e in events:
            f = dom.evolve(f, e)
        out += events
    return out


async def followup(app, pool, cmd: Command, outcome: str, satisfied_now: bool) -> dict:
    return await _act(app, pool, cmd, STAFF, case_staff, lambda f, on: dom.record_followup(
        f, cmd.by.unit, _seal(app, f, outcome), satisfied_now, on))


async def rehandle(app, pool, cmd: Command, reason: str) -> dict:
    return await _act(app, pool, cmd, ("supervisor", "leader"), case_staff, lambda f, on: dom.order_rehandling(
        f, cmd.by.unit, _seal(app, f, reason), on, app.domain))


# -- 复查 / 复核 --------------------------------------------------------------------------------------------------


async def request_review(app, pool, cmd: Command, level: str) -> dict:
    return await _act(app, pool, cmd, STAFF, case_staff_or_reviewer,
                      lambda f, on: dom.request_review(f, level, on, app.domain))


def case_staff_or_reviewer(app: Supervision, f: CaseFile, by: Principal) -> None:
    """A request may be received by the handling side or by the body above it."""
    org = app.ctx.org
    above = [review_body(org, u) for u in (f.unit, *(r.reviewing_unit for r in f.reviews)) if u and u in org]
    if any(u and org.is_within(u, by.unit) for u in above):
        return
    case_staff(app, f, by)


async def issue_opinion(app, pool, cmd: Command, level: str, decision: str, content: dict) -> dict:
    return await _act(app, pool, cmd, HANDLERS, reviewing_unit(level), lambda f, on: dom.issue_opinion(
        f, level, decision, _seal(app, f, content), cmd.by.unit, on, app.domain))


# -- 重大紧急 and 督办 -----------------------------------------------------------------------------------------------


async def flag_urgent(app, pool, cmd: Command, reason: str) -> dict:
    return await _act(app, pool, cmd, STAFF, case_staff, lambda f, on: dom.flag_urgent(
        f, cmd.by.unit, _seal(app, f, reason), on, app.ctx.org))


async def issue_order(app, pool, cmd: Command, ground: str, note: str | None) -> dict:
    def may(app_, f: CaseFile, by: Principal) -> None:
        org = app.ctx.org
        if f.unit is None:
            raise NotAllowed("案件没有承办单位")
        issuers = [issuer for _, issuer in supervision_chain(org, f.unit)]
        above = org.is_within(f.unit, by.unit) and by.unit != f.unit
        if not above and not any(org.is_within(i, by.unit) for i in issuers):
            raise NotAllowed("督办由承办单位的上级单位或信访工作机构发出", unit=f.unit)

    return await _act(app, pool, cmd, ("supervisor", "leader"), may, lambda f, on: dom.issue_order(
        f, ground, cmd.by.unit, _seal(app, f, note), on, app.domain))


async def order_feedback(app, pool, cmd: Command, no: int, feedback: str) -> dict:
    return await _act(app, pool, cmd, HANDLERS + ("supervisor",), order_unit(no), lambda f, on: dom.order_feedback(
        f, no, cmd.by.unit, _seal(app, f, feedback), on))


# -- the petitioner, with the query code ---------------------------------------------------------------------------


async def _by_receipt(app: Supervision, pool, receipt_code: str, events_for: Callable[[CaseFile, date], list]) -> dict:
    today = app.today()
    async with pool.connection() as conn:
        with conflicts_detected():
            async with conn.transaction():
                f = await store.load_by_receipt(conn, receipt_code_hash(receipt_code), for_update=True)
                if f is None:
                    raise NotFound("查询码无效，或案件尚在登记处理中")
                try:
                    events = events_for(f, today)
                except SupervisionError as e:
                    raise Invalid(str(e), **e.detail) from None
                f, envs = _record(app, f, events, Actor("petitioner", "petitioner", "petitioner"), today)
                cur = await conn.execute(*app.ctx.store.write_statement(envs, *store.save([f], app.policy),
                                                                         *visibility.statements(envs)))
                positions = (await cur.fetchone())[0]
    app.ctx.store.published(envs, positions)
    return public_view(f)


async def petitioner_evaluates(app, pool, receipt_code: str, grades: dict[str, str], comment: str | None) -> dict:
    return await _by_receipt(app, pool, receipt_code, lambda f, today: _evaluations(
        app, f, grades, "查询码", "petitioner", comment, today))


async def petitioner_requests_review(app, pool, receipt_code: str, level: str) -> dict:
    return await _by_receipt(app, pool, receipt_code, lambda f, today: dom.request_review(f, level, today, app.domain))


def public_view(f: CaseFile) -> dict:
    """What a petitioner sees: status and dates, never units, people or content."""
    window = f.clocks.get("evaluation")
    return {"case_no": f.case_no, "stage": f.stage, "stage_label": STAGE_LABEL.get(f.stage, f.stage),
            "served_on": f.served_on, "evaluation_due_on": window.due_on if window and window.open else None,
            "evaluated": sorted(f.evaluations), "final": f.final_on is not None}


# -- reading -------------------------------------------------------------------------------------------------------


async def case_file(app: Supervision, pool, case_id: str, scope: Scope) -> dict:
    case_id = checked_case_id(case_id)
    async with pool.connection() as conn:
        f = await store.load_visible(conn, case_id, scope)
    if f is None:
        raise case_not_found(case_id)
    return view(app, f, app.today())


def clock_view(k, as_of: date, warn: int) -> dict:
    state = "cancelled" if k.cancelled_on else "paused" if k.paused_on else status_as_of(k.due_on, k.met_on, as_of, warn)
    if state == "overdue" and k.breached_on is None:
        state = "due_soon" if k.kind != "window" else "running"  # not yet recorded as breached
    return {"clock": k.name, "kind": k.kind, "unit": k.unit, "starts_on": k.starts_on, "period": k.period,
            "unit_of_period": k.unit_of_period, "due_on": k.due_on, "rolled_from": k.rolled_from, "basis": k.basis,
            "paused_on": k.paused_on, "paused_days": k.paused_days, "extended_days": k.extended_days,
            "original_due_on": k.original_due_on, "met_on": k.met_on, "late": k.late, "breached_on": k.breached_on,
            "cancelled_on": k.cancelled_on, "state": state, "state_label": STATE_LABEL[state],
            "clock_label": CLOCK_LABEL.get(k.name.split(":", 1)[0], k.name)}


CLOCK_LABEL = {"acceptance_notice": "受理告知", "transferred_notice": "转交办受理告知", "objection": "异议期",
               "transfer": "转送交办", "handling": "办理答复", "rehandling": "重新办理", "track": "分类办理目标",
               "report": "交办报告", "subtask": "协办", "review_request_window": "复查申请期", "review": "复查",
               "re_review_request_window": "复核申请期", "re_review": "复核", "evaluation": "评价期",
               "followup": "回访", "execution": "执行", "order": "督办反馈"}
STATE_LABEL = {"met": "按期完成", "met_late": "超期完成", "overdue": "已超期", "due_soon": "即将到期", "running": "期限内",
               "paused": "已暂停", "cancelled": "已撤销"}


def view(app: Supervision, f: CaseFile, today: date) -> dict:
    warn = app.ctx.settings.warn_days
    evaluation = f.clocks.get("evaluation")
    return {
        "case_id": f.case_id, "case_no": f.case_no, "version": f.version, "unit": f.unit,
        "unit_name": app.ctx.org.name(f.unit), "first_unit": f.first_unit, "moves": f.moves,
        "stage": f.stage, "stage_label": STAGE_LABEL.get(f.stage, f.stage),
        "category": f.category, "accepted_on": f.accepted_on, "leader": f.leader, "last_progress_on": f.last_progress_on,
        "clocks": [clock_view(k, today, warn) for k in sorted(f.clocks.values(), key=lambda k: (k.starts_on, k.name))],
        "drafts": [d.model_dump(mode="json") for d in f.drafts],
        "served_on": f.served_on, "agreement_on": f.agreement_on, "closed_on": f.closed_on, "outcome": f.outcome,
        "evaluation_status": _evaluation_status(f),
        "evaluation_due_on": evaluation.due_on if evaluation else None,
        "evaluations": {t: e.model_dump(mode="json") for t, e in f.evaluations.items()},
        "reviews": [r.model_dump(mode="json") for r in f.reviews], "final_on": f.final_on, "urgent_on": f.urgent_on,
        "orders": [o.model_dump(mode="json") for o in f.orders],
    }


def _evaluation_status(f: CaseFile) -> dict[str, str] | None:
    """Per target: 待评价 / 已评价 / 超期未评价 (None before the reply is served)."""
    if f.served_on is None and f.agreement_on is None:
        return None
    return {t: "已评价" if t in f.evaluations else "超期未评价" if t in f.expired else "待评价" for t in dom.TARGETS}


# -- listings (paged in SQL, cut to the principal's scope) -------------------------------------------------------------

_CLOCKS = ("SELECT k.*, c.case_no, c.subsidiary, c.unit AS case_unit, c.stage FROM clocks k"
           " JOIN cases c ON c.case_id = k.case_id JOIN case_scope s ON s.case_id = k.case_id WHERE {scope} AND {where}")


async def deadlines(app: Supervision, pool, scope: Scope, as_of: date, state: str, warn_days: int | None,
                    limit: int, after: str | None, clock: str | None = None, unit: str | None = None) -> dict:
    """Clocks in scope as of a day: overdue (recorded as breached by then and not met), due soon
    (open, last day within ``warn_days``), or both ('open'), by last day."""
    warn = app.ctx.settings.warn_days if warn_days is None else warn_days
    cursor = decode_cursor(after, (date.fromisoformat, UUID, str))
    limit = min(limit, MAX_LIMIT)
    open_at = ("(k.met_on IS NULL OR k.met_on > %(as_of)s) AND (k.cancelled_on IS NULL OR k.cancelled_on > %(as_of)s)"
               " AND k.starts_on <= %(as_of)s AND k.kind <> 'window'")
    overdue = "k.breached_on <= %(as_of)s"
    soon = "k.due_on BETWEEN %(as_of)s AND %(horizon)s AND (k.breached_on IS NULL OR k.breached_on > %(as_of)s)"
    where = [open_at, {"overdue": overdue, "due_soon": soon, "open": f"(({overdue}) OR ({soon}))"}[state]]
    if clock:
        where.append("k.clock = %(clock)s")
    if unit:
        where.append("k.unit = %(unit)s")
    if cursor:
        where.append("(k.due_on, k.case_id, k.clock) > (%(c_due)s, %(c_id)s, %(c_clock)s)")
    pred, params = scope.where("s")
    params.update(as_of=as_of, horizon=as_of + timedelta(days=warn), limit=limit, clock=clock, unit=unit)
    if cursor:
        params.update(c_due=cursor[0], c_id=cursor[1], c_clock=cursor[2])
    query = sql.SQL(_CLOCKS + " ORDER BY k.due_on, k.case_id, k.clock LIMIT %(limit)s").format(
        scope=pred, where=sql.SQL(" AND ".join(where)))
    rows = await _rows(pool, query, params)
    items = []
    for r in rows:
        st = "overdue" if r["breached_on"] is not None and r["breached_on"] <= as_of else "due_soon"
        items.append({"case_id": str(r["case_id"]), "case_no": r["case_no"], "clock": r["clock"],
                      "clock_label": CLOCK_LABEL.get(r["clock"].split(":", 1)[0], r["clock"]), "kind": r["kind"],
                      "starts_on": r["starts_on"], "period": r["period"], "unit_of_period": r["unit_of_period"],
                      "due_on": r["due_on"], "rolled_from": r["rolled_from"], "basis": r["basis"], "met_on": r["met_on"],
                      "breached_on": r["breached_on"], "state": st, "state_label": STATE_LABEL[st],
                      "days_left": (r["due_on"] - as_of).days, "unit": r["unit"] or r["case_unit"],
                      "subsidiary": r["subsidiary"], "stage": r["stage"]})
    return {"as_of": as_of, "warn_days": warn, "state": state, "count": len(items), "items": items,
            "next": next_cursor(rows, limit, lambda r: (r["due_on"], r["case_id"], r["clock"]))}


async def _rows(pool, query, params) -> list[dict]:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        return await (await cur.execute(query, params)).fetchall()


_LIST = {
    # 待评价: the reply served, the window open, not every target evaluated
    "awaiting_evaluation": "EXISTS (SELECT 1 FROM clocks k WHERE k.case_id = c.case_id AND k.clock = 'evaluation'"
                           " AND k.met_on IS NULL AND k.breached_on IS NULL AND k.cancelled_on IS NULL)",
    "evaluation_expired": "EXISTS (SELECT 1 FROM clocks k WHERE k.case_id = c.case_id AND k.clock = 'evaluation'"
                          " AND k.breached_on IS NOT NULL)",
    "under_review": "c.stage IN ('reviewing', 're_reviewing')",
    "final": "c.stage = 'final'",
    "untouched": "EXISTS (SELECT 1 FROM clocks k WHERE k.case_id = c.case_id AND k.clock IN ('handling', 'rehandling')"
                 " AND k.met_on IS NULL AND (c.state->'clocks'->k.clock->>'untouched_on') IS NOT NULL)",
}


async def files(app: Supervision, pool, scope: Scope, which: str, limit: int, after: str | None) -> dict:
    """Case files in scope in one of the states of ``_LIST``, by case id."""
    cursor = decode_cursor(after, (UUID,))
    limit = min(limit, MAX_LIMIT)
    pred, params = scope.where("s")
    conds = [pred, sql.SQL(_LIST[which])] + ([sql.SQL("c.case_id > %(after)s")] if cursor else [])
    params.update(limit=limit, after=cursor[0] if cursor else None)
    rows = await _rows(pool, sql.SQL("SELECT c.state::text AS state FROM cases c JOIN case_scope s ON s.case_id = c.case_id"
                                     " WHERE {} ORDER BY c.case_id LIMIT %(limit)s").format(sql.SQL(" AND ").join(conds)),
                       params)
    today = app.today()
    found = [CaseFile.model_validate_json(r["state"]) for r in rows]
    return {"which": which, "count": len(found), "items": [view(app, f, today) for f in found],
            "next": next_cursor(found, limit, lambda f: (f.case_id,))}


async def orders(app: Supervision, pool, scope: Scope, state: str, unit: str | None, limit: int,
                 after: str | None) -> dict:
    """督办 orders in scope: open (no feedback yet) or all, by feedback deadline."""
    cursor = decode_cursor(after, (date.fromisoformat, UUID, int))
    limit = min(limit, MAX_LIMIT)
    pred, params = scope.where("s")
    conds = [pred]
    if state == "open":
        conds.append(sql.SQL("o.feedback_on IS NULL"))
    if unit:
        conds.append(sql.SQL("o.to_unit = %(unit)s"))
    if cursor:
        conds.append(sql.SQL("(o.feedback_due_on, o.case_id, o.order_no) > (%(c_due)s, %(c_id)s, %(c_no)s)"))
        params.update(c_due=cursor[0], c_id=cursor[1], c_no=cursor[2])
    params.update(limit=limit, unit=unit)
    rows = await _rows(pool, sql.SQL(
        "SELECT o.*, c.case_no FROM orders o JOIN cases c ON c.case_id = o.case_id JOIN case_scope s"
        " ON s.case_id = o.case_id WHERE {} ORDER BY o.feedback_due_on, o.case_id, o.order_no LIMIT %(limit)s").format(
        sql.SQL(" AND ").join(conds)), params)
    items = [{**r, "case_id": str(r["case_id"]), "to_unit_name": app.ctx.org.name(r["to_unit"]),
              "issued_by_name": app.ctx.org.name(r["issued_by"])} for r in rows]
    return {"state": state, "count": len(items), "items": items,
            "next": next_cursor(rows, limit, lambda r: (r["feedback_due_on"], r["case_id"], r["order_no"]))}


async def accountability(app: Supervision, pool, scope: Scope) -> dict:
    """Per unit, from the record: 督办 orders received, answered late or never, escalated; duty clocks
    breached — the accountability record of Arts 43-46."""
    pred, params = scope.where("s")
    orders_ = await _rows(pool, sql.SQL(
        "SELECT o.to_unit AS unit, count(*) AS orders, count(*) FILTER (WHERE o.late) AS answered_late,"
        " count(*) FILTER (WHERE o.feedback_on IS NULL) AS unanswered, sum(o.escalations) AS escalations"
        " FROM orders o JOIN case_scope s ON s.case_id = o.case_id WHERE {} GROUP BY 1").format(pred), params)
    breaches = await _rows(pool, sql.SQL(
        "SELECT k.unit, count(*) AS breached, count(*) FILTER (WHERE k.met_on IS NULL AND k.cancelled_on IS NULL)"
        " AS still_open FROM clocks k JOIN case_scope s ON s.case_id = k.case_id WHERE {} AND k.kind = 'duty'"
        " AND k.breached_on IS NOT NULL AND k.unit IS NOT NULL GROUP BY 1").format(pred), params)
    units: dict[str, dict] = {}
    for r in orders_:
        units.setdefault(r["unit"], {}).update(orders=r["orders"], answered_late=r["answered_late"],
                                               unanswered=r["unanswered"], escalations=int(r["escalations"] or 0))
    for r in breaches:
        units.setdefault(r["unit"], {}).update(breached_clocks=r["breached"], breached_still_open=r["still_open"])
    items = [{"unit": u, "unit_name": app.ctx.org.name(u), "orders": 0, "answered_late": 0, "unanswered": 0,
              "escalations": 0, "breached_clocks": 0, "breached_still_open": 0, **v} for u, v in sorted(units.items())]
    return {"count": len(items), "items": items}


# -- statutory documents -----------------------------------------------------------------------------------------

IDENTITY_ROLES = ("registrar", "handler", "leader", "admin")  # may see who the petitioners are


async def documents(app: Supervision, pool, case_id: str, scope: Scope) -> dict:
    from .documents import available

    case_id = checked_case_id(case_id)
    async with pool.connection() as conn:
        f = await store.load_visible(conn, case_id, scope)
    if f is None:
        raise case_not_found(case_id)
    return {"case_id": case_id, "documents": available(f)}


async def document(app: Supervision, pool, case_id: str, scope: Scope, by: Principal, kind: str, n: int | None,
                   fmt: str) -> tuple[bytes, str, str]:
    """One statutory document of a case as DOCX or PDF: (content, media type, file name)."""
    from . import documents as docs

    case_id = checked_case_id(case_id)
    async with pool.connection() as conn:
        f = await store.load_visible(conn, case_id, scope)
        if f is None:
            raise case_not_found(case_id)
        petitioners, summary = await store.sealed_facts(conn, case_id)
    try:
        doc = docs.fill(kind, n, f, _texts(app, f, petitioners, summary, by.role in IDENTITY_ROLES), app.ctx.org,
                        app.policy, app.documents, app.today())
    except docs.Unavailable as e:
        raise NotFound(f"该案件还没有{docs.KIND_LABEL.get(kind, kind)}：{e}", kind=kind) from None
    if fmt == "pdf":
        return docs.pdf(doc), "application/pdf", doc.filename + ".pdf"
    return docs.docx(doc), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", doc.filename + ".docx"


def _texts(app: Supervision, f: CaseFile, petitioners: str | None, summary: str | None, identity: bool) -> dict:
    """The sealed texts a document needs, opened with the key of the service that sealed them."""
    intake, routing, own = app.peers.get("intake"), app.peers.get("routing"), app.sealer

    def open_(sealer, sealed):
        if not sealed:
            return None
        if sealer is None:
            return "（本服务未配置该文本的密钥）"
        return sealer.open(f.case_id, sealed)

    if f.anonymous:
        petitioner = "匿名信访人"
    elif identity and petitioners and intake is not None:
        petitioner = "、".join(p["name"] for p in open_(intake, petitioners))
    else:
        petitioner = "信访人"
    return {
        "petitioner": petitioner,
        "summary": open_(intake, summary) if identity else None,
        "refusal_reason": open_(routing, f.refusal.reason_sealed) if f.refusal else None,
        "transfer_reasons": {i: open_(routing, t.reason_sealed) or "" for i, t in enumerate(f.transfers)},
        "extension_reason": open_(own, f.extension_reason_sealed),
        "drafts": {d.no: open_(own, d.content_sealed) or {} for d in f.drafts if d.content_sealed},
        "opinions": {r.level: open_(own, r.content_sealed) or {} for r in f.reviews if r.content_sealed},
        "order_notes": {o.no: open_(own, o.note_sealed) or "" for o in f.orders},
    }
