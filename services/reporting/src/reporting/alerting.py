"""Early warnings as people work them: listed in scope with their evidence, acknowledged (签收)
and closed (办结) by a person — each one statement writing reporting's own event
(``alert.acknowledged.v1``, ``alert.closed.v1``) with the alert's new state, so that a rebuild
restores them from the store (reporting.warnings.RESTORE).

Who sees an alert: whoever may see its case (backbone.visibility, in SQL): headquarters, the
subsidiary concerned, never another subsidiary. A 信访老户 warning says nothing of who the person is,
but that the person is one is itself what only identity roles may see (Scope.flags): it is shown
only to them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from psycopg import sql
from psycopg.rows import dict_row

from backbone import telemetry
from backbone.auth import IDENTITY_FLAGS
from backbone.contracts import AlertAcknowledged, AlertClosed
from backbone.envelope import Actor, new_envelope
from backbone.errors import Conflict, Invalid, NotFound, checked_case_id
from backbone.eventstore import conflicts_detected
from backbone.http import require_role
from backbone.paging import MAX_LIMIT, decode_cursor, next_cursor
from backbone.visibility import Scope

from .bootstrap import Reporting

CHINA = ZoneInfo("Asia/Shanghai")

LABEL = {"unroutable": "无法自动分派", "urgent": "重大紧急", "overdue": "超期", "order_escalated": "督办升级",
         "untouched": "长期未跟进", "collective_sign": "集体访苗头", "rising": "同比/环比上升", "sensitive_period": "敏感时期",
         "frequent_petitioner": "信访老户", "overdue_cluster": "超期集中"}
STATE_LABEL = {"open": "待签收", "acknowledged": "已签收", "closed": "已办结"}
IDENTITY_KINDS = tuple(k for k in LABEL if k in IDENTITY_FLAGS)  # the warnings only identity roles see
# who acts on a warning: those who handle and supervise cases (headquarters' analysts may take one on)
ACKNOWLEDGE_ROLES = ("handler", "leader", "supervisor", "hq_analyst")
CLOSE_ROLES = ("handler", "leader", "supervisor")
# what staff write travels in clear in reporting's events (reporting holds no seal key): no personal data
_PERSONAL = re.compile(r"(?<!\d)(\d{17}[\dXx]|1[3-9]\d{9})(?!\d)")

_COLUMNS = ("a.alert_id::text AS alert_id, a.kind, a.unit, a.case_id::text AS case_id, a.raised_at, a.message, a.state,"
            " a.acknowledged_by, a.acknowledged_at, a.acknowledgement_note, a.closed_by, a.closed_at, a.outcome,"
            " a.resolution, a.case_ids, a.about_unit, a.issue_type, a.window_start, a.window_end, a.threshold, a.count,"
            " a.baselines, a.period")


def visible(scope: Scope, alias: str = "a") -> sql.Composable:
    """The alerts this principal may see beyond its cases' scope (SQL over ``alerts`` as ``alias``)."""
    if scope.identity or not IDENTITY_KINDS:
        return sql.SQL("true")
    return sql.SQL("NOT {}.kind = ANY({})").format(sql.Identifier(alias), sql.Literal(list(IDENTITY_KINDS)))


def _shown(app: Reporting, r: dict) -> dict:
    org = app.ctx.org
    return {**r, "kind_label": LABEL.get(r["kind"], r["kind"]), "unit_name": org.name(r["unit"]),
            "state_label": STATE_LABEL[r["state"]], "about_unit_name": org.name(r["about_unit"]),
            "issue_name": app.issue_names.get(r["issue_type"]) if r["issue_type"] else None,
            "case_ids": r["case_ids"] or [r["case_id"]]}


async def alerts(app: Reporting, pool, scope: Scope, limit: int, after: str | None, state: str | None = None,
                 kind: str | None = None) -> dict:
    """Alerts about cases in scope, newest first, with their evidence and where people are with them."""
    cursor = decode_cursor(after)
    limit = min(limit, MAX_LIMIT)
    pred, params = scope.where("s")
    conds = [pred, visible(scope)]
    if state:
        conds.append(sql.SQL("a.state = %(state)s"))
    if kind:
        conds.append(sql.SQL("a.kind = %(kind)s"))
    if cursor:
        conds.append(sql.SQL("(a.raised_at, a.alert_id) < (%(at)s, %(after_id)s)"))
    params.update(limit=limit, state=state, kind=kind, at=cursor[0] if cursor else None,
                  after_id=cursor[1] if cursor else None)
    query = sql.SQL(
        "SELECT " + _COLUMNS + ","
        " ARRAY(SELECT x.party FROM alert_shares x WHERE x.alert_id = a.alert_id AND x.revoked_at IS NULL"
        "       ORDER BY x.party) AS shared_with FROM alerts a"
        " JOIN case_scope s ON s.case_id = a.case_id WHERE {} ORDER BY a.raised_at DESC, a.alert_id DESC"
        " LIMIT %(limit)s").format(sql.SQL(" AND ").join(conds))
    async with pool.connection() as conn:
        rows = await (await conn.cursor(row_factory=dict_row).execute(query, params)).fetchall()
    return {"count": len(rows), "items": [_shown(app, r) for r in rows],
            "next": next_cursor(rows, limit, lambda r: (r["raised_at"], r["alert_id"]))}


async def _in_scope(pool, alert_id: str, scope: Scope) -> dict:
    pred, params = scope.where("s")
    query = sql.SQL(
        "SELECT " + _COLUMNS + ", (SELECT max(e.version) FROM events e WHERE e.stream_id = a.case_id::text) AS version"
        " FROM alerts a JOIN case_scope s ON s.case_id = a.case_id WHERE a.alert_id = %(id)s AND {} AND {}"
    ).format(pred, visible(scope))
    async with pool.connection() as conn:
        row = await (await conn.cursor(row_factory=dict_row).execute(query, {**params, "id": alert_id})).fetchone()
    if row is None:
        # as for a case: a principal out of scope does not learn that the alert exists
        raise NotFound("没有这条预警 / no such alert", alert_id=alert_id)
    return row


def plain_text(text: str, field: str) -> str:
    """Staff's free text as it may travel in reporting's events: stripped, without ID or phone numbers."""
    text = text.strip()
    if _PERSONAL.search(text):
        raise Invalid("请勿填写身份证号、手机号等个人信息 / do not write ID or phone numbers here", field=field)
    return text


def _closed(a: dict, doing: str, doing_en: str) -> Conflict:
    at = f"{a['closed_at'].astimezone(CHINA):%Y-%m-%d %H:%M}"
    return Conflict(f"预警已于 {at}（北京时间）由 {a['closed_by']} 办结（{a['outcome']}），不能再{doing}"
                    f" / the alert was closed by {a['closed_by']} on {at} (Beijing time) and cannot be {doing_en}",
                    message_en=f"the alert is already closed and cannot be {doing_en}", alert_id=a["alert_id"],
                    state=a["state"], closed_by=a["closed_by"], closed_at=a["closed_at"].isoformat())


async def _record(app: Reporting, pool, a: dict, event, by, update: tuple[str, list]) -> None:
    """The event on the alert's case stream, and the alert's new state, in one statement."""
    env = new_envelope(event, subject=a["case_id"], sequence=(a["version"] or 0) + 1,
                       actor=Actor(by.id, by.unit, by.role), traceparent=telemetry.current_traceparent())
    async with pool.connection() as conn:
        # two people at once: the second append to the stream conflicts (409), never two closures
        with conflicts_detected():
            cur = await conn.execute(*app.ctx.store.write_statement([env], update))
            positions = (await cur.fetchone())[0]
    app.ctx.store.published([env], positions)


def _lifecycle(a: dict) -> dict:
    keys = ("alert_id", "kind", "state", "acknowledged_by", "acknowledged_at", "acknowledgement_note", "closed_by",
            "closed_at", "outcome", "resolution")
    return {**{k: a[k] for k in keys}, "state_label": STATE_LABEL[a["state"]]}


async def acknowledge(app: Reporting, pool, alert_id: str, note: str, by, scope: Scope) -> dict:
    """签收: a person takes the warning on. Once; not after it was closed (409)."""
    require_role(by, *ACKNOWLEDGE_ROLES)
    a = await _in_scope(pool, checked_case_id(alert_id), scope)
    note = plain_text(note, "note")
    if a["state"] == "closed":
        raise _closed(a, "签收", "acknowledged")
    if a["state"] == "acknowledged":
        raise Conflict(f"预警已于 {a['acknowledged_at'].astimezone(CHINA):%Y-%m-%d %H:%M}（北京时间）由 {a['acknowledged_by']}"
                       " 签收，无需重复签收"
                       f" / the alert was already acknowledged by {a['acknowledged_by']}",
                       message_en="the alert is already acknowledged", alert_id=a["alert_id"], state=a["state"],
                       acknowledged_by=a["acknowledged_by"], acknowledged_at=a["acknowledged_at"].isoformat())
    now = datetime.now(UTC)
    event = AlertAcknowledged(alert_id=a["alert_id"], by=by.id, by_unit=by.unit, at=now, note=note)
    await _record(app, pool, a, event, by, (
        "UPDATE alerts SET state = 'acknowledged', acknowledged_by = %s, acknowledged_at = %s, acknowledgement_note = %s"
        " WHERE alert_id = %s AND state = 'open' RETURNING 1", [by.id, now, note, a["alert_id"]]))
    return _lifecycle({**a, "state": "acknowledged", "acknowledged_by": by.id, "acknowledged_at": now,
                       "acknowledgement_note": note})


async def close(app: Reporting, pool, alert_id: str, outcome: str, resolution: str, by, scope: Scope) -> dict:
    """办结: a person closes the warning with what came of it. Once (409 the second time)."""
    require_role(by, *CLOSE_ROLES)
    a = await _in_scope(pool, checked_case_id(alert_id), scope)
    resolution = plain_text(resolution, "resolution")
    if not resolution:
        raise Invalid("请写明处置情况 / the resolution is required", field="resolution")
    if a["state"] == "closed":
        raise _closed(a, "重复办结", "closed again")
    now = datetime.now(UTC)
    event = AlertClosed(alert_id=a["alert_id"], by=by.id, by_unit=by.unit, at=now, outcome=outcome, resolution=resolution)
    await _record(app, pool, a, event, by, (
        "UPDATE alerts SET state = 'closed', closed_by = %s, closed_at = %s, outcome = %s, resolution = %s"
        " WHERE alert_id = %s AND state <> 'closed' RETURNING 1", [by.id, now, outcome, resolution, a["alert_id"]]))
    return _lifecycle({**a, "state": "closed", "closed_by": by.id, "closed_at": now, "outcome": outcome,
                       "resolution": resolution})
