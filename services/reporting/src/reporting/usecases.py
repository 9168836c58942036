"""Reporting's queries, each cut to the principal's scope in SQL: case lists and timelines,
consolidated counts, alerts, and the anonymous petitioner's status lookup."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from psycopg import sql
from psycopg.rows import dict_row

from backbone import telemetry
from backbone.auth import IDENTITY_FLAGS
from backbone.contracts import AlertShared, receipt_code_hash
from backbone.envelope import Actor, Envelope, new_envelope
from backbone.eventstore import conflicts_detected
from backbone.http import require_role
from backbone.errors import Invalid, NotAllowed, NotFound, case_not_found, checked_case_id
from backbone.paging import MAX_LIMIT, decode_cursor, next_cursor
from backbone.visibility import Scope

from . import alerting, fairness, kpis, monthly, projection, store
from .bootstrap import Reporting
from .projection import STATUS_LABEL, stage, stage_label, status

CHINA = ZoneInfo("Asia/Shanghai")


def _summary(app: Reporting, row: dict, scope: Scope) -> dict:
    org = app.ctx.org
    st = status(row["routing_status"])
    return {
        "case_id": str(row["case_id"]),
        "case_no": row["case_no"],
        "channel": row["channel"],
        "received_at": row["received_at"],
        "receiving_unit": row["receiving_unit"],
        "subsidiary": row["subsidiary"],
        "subsidiary_name": org.name(row["subsidiary"]),
        "category": row["category"],
        "issue_type": row["issue_type"],
        "anonymous": row["anonymous"],
        "petitioner_count": row["petitioner_count"],
        "involved_count": row["involved_count"],
        "assigned_unit": row["assigned_unit"],
        "assigned_unit_name": org.name(row["assigned_unit"]),
        "status": st,
        "status_label": STATUS_LABEL[st],
        "stage": stage(row),
        "stage_label": stage_label(row),
        "accepted_on": row["accepted_on"],
        "rejected_on": row["rejected_on"],
        "legal_channel": row["legal_channel"],
        "unroutable_reason": row["unroutable_reason"],
        "urgent": row["urgent"],
        "threat": row["threat"],
        "flags": scope.flags(row["flags"]),
        "first_time": "repeat" not in row["flags"],  # 初次 / 重复 (the national system's flags)
        "guidance": row["guidance"],
        "visitor_count": row["visitor_count"],
        "person_times": row["person_times"],
        "declared_truthful": row["declared_truthful"],
        "suggestion": row["suggestion"],
        "first_unit": row["first_unit"],
        "first_unit_name": org.name(row["first_unit"]),
        "moves": row["moves"],
        "track": row["track"],
        "leader": row["leader"],
        "handler": row["handler"],
        "extended": row["extended"],
        "served_on": row["served_on"],
        "agreement": row["agreement"],
        "closed_on": row["closed_on"],
        "outcome": row["outcome"],
        "evaluation": {"petition_office": row["evaluation_petition_office"],
                       "petition_office_by": row["evaluation_petition_office_by"],
                       "responsible_unit": row["evaluation_responsible_unit"],
                       "responsible_unit_by": row["evaluation_responsible_unit_by"]},
        "review_level": row["review_level"],
        "reviewing_unit": row["reviewing_unit"],
        "final_on": row["final_on"],
        "orders": row["orders"],
        # a share as it stands (an action that arrived before its share waits unseen; versions are internal)
        "shares": [{k: v for k, v in x.items() if k not in ("version", "share_version")}
                   for x in (row.get("shares") or {}).values() if "preset" in x],
        "updated_at": row["updated_at"],
    }


# what each shared field shows of a case's summary (厂地联动); the rest is null for a party
SHARED_KEYS = {
    "case_no": ("case_no",), "subsidiary": ("subsidiary", "subsidiary_name"), "issue_type": ("issue_type",),
    "category": ("category",), "channel": ("channel",), "status": ("status", "status_label"),
    "stage": ("stage", "stage_label"), "received_at": ("received_at",), "accepted_on": ("accepted_on",),
    "served_on": ("served_on",), "closed_on": ("closed_on",), "involved_count": ("involved_count",),
    "petitioner_count": ("petitioner_count", "person_times"), "assigned_unit": ("assigned_unit", "assigned_unit_name"),
}
ALWAYS = ("case_id", "updated_at")
PARTY_EVENTS = ("case.shared.v1", "case.sharing_revoked.v1", "case.coordination_recorded.v1")


def for_party(view: dict, fields: frozenset[str], party: str) -> dict:
    """The same shape as the enterprise's view, with only the fields shared with ``party``."""
    keep = {*ALWAYS, *(k for f in fields for k in SHARED_KEYS.get(f, ()))}
    out = {k: (v if k in keep else None) for k, v in view.items()}
    out.update(evaluation=None, flags=[], first_time=None, declared_truthful=None,
               shares=[s for s in view.get("shares") or [] if s["party"] == party])
    return out


def _shown(app: Reporting, row: dict, scope: Scope) -> dict:
    view = _summary(app, row, scope)
    fields = scope.shared_fields(row.get("xf_shared"))
    return view if fields is None else for_party(view, fields, scope.party)


async def _rows(pool, query: sql.Composable, params: dict) -> list[dict]:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        return await (await cur.execute(query, params)).fetchall()


async def cases(app: Reporting, pool, scope: Scope, status_: str | None, subsidiary: str | None, limit: int,
                after: str | None, *, issue_type: str | None = None, case_no: str | None = None) -> dict:
    cursor = decode_cursor(after)
    limit = min(limit, MAX_LIMIT)
    pred, params = scope.where("s")
    conds = [pred, sql.SQL("v.received_at IS NOT NULL")]
    if status_:
        conds.append(sql.SQL("coalesce(v.routing_status, 'registered') = %(status)s"))
    if subsidiary:
        conds.append(sql.SQL("v.subsidiary = %(subsidiary)s"))
    # a party searches only by what it was given (a number it was not given finds nothing)
    for name, value in (("issue_type", issue_type), ("case_no", case_no)):
        if value:
            conds.append(sql.SQL("v.{} = %({})s").format(sql.Identifier(name), sql.SQL(name)))
            if scope.liaison:
                conds.append(sql.SQL("(s.shared -> %(xf_party)s) ? {}").format(sql.Literal(name)))
    if cursor:
        conds.append(sql.SQL("(v.received_at, v.case_id) < (%(at)s, %(after_id)s)"))
    params.update(status=status_, subsidiary=subsidiary, issue_type=issue_type, case_no=case_no, limit=limit,
                  at=cursor[0] if cursor else None, after_id=cursor[1] if cursor else None)
    query = sql.SQL("SELECT v.*, s.shared AS xf_shared FROM case_view v JOIN case_scope s ON s.case_id = v.case_id WHERE {}"
                    " ORDER BY v.received_at DESC, v.case_id DESC LIMIT %(limit)s").format(sql.SQL(" AND ").join(conds))
    rows = await _rows(pool, query, params)
    return {"count": len(rows), "items": [_shown(app, r, scope) for r in rows],
            "next": next_cursor(rows, limit, lambda r: (r["received_at"], r["case_id"]))}


def _line(row: dict) -> dict:
    """A timeline row as a case shows it: what the event says, without the event itself."""
    out = {k: v for k, v in row.items() if k != "body"}
    out["detail"] = projection.timeline_detail(row)
    return out


async def case(app: Reporting, pool, case_id: str, scope: Scope, as_of: datetime | None = None) -> dict:
    if as_of is not None:
        return await case_as_of(app, pool, case_id, scope, as_of)
    case_id = checked_case_id(case_id)
    pred, params = scope.where("s")
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(sql.SQL("SELECT v.*, s.shared AS xf_shared FROM case_view v JOIN case_scope s"
                                  " ON s.case_id = v.case_id WHERE v.case_id = %(id)s AND {}").format(pred),
                          {**params, "id": case_id})
        row = await cur.fetchone()
        if row is None:
            # 404 rather than 403: a principal out of scope does not learn that the case exists
            raise case_not_found(case_id)
        await cur.execute("SELECT clock, kind, unit, starts_on, due_on, rolled_from, basis, met_on, late, paused_on,"
                          " breached_on, cancelled_on, extended_days FROM case_deadlines"
                          " WHERE case_id = %s ORDER BY starts_on NULLS LAST, clock", (case_id,))
        deadlines = await cur.fetchall()
        await cur.execute("SELECT event_id::text, source, type, version, occurred_at, recorded_at, actor_role,"
                          " actor_unit, trace_id, detail, body FROM timeline WHERE case_id = %s"
                          " ORDER BY occurred_at, source, version", (case_id,))
        timeline = [t for t in map(_line, await cur.fetchall())
                    if t["type"] != "petition.flagged.v1" or scope.flags([t["detail"].get("flag")])]
        await cur.execute("SELECT alert_id::text, kind, unit, raised_at, message, state FROM alerts WHERE case_id = %s"
                          " ORDER BY raised_at", (case_id,))
        # a 信访老户 warning only for the roles that may see identities (reporting.alerting)
        alerts = [a for a in await cur.fetchall() if scope.identity or a["kind"] not in IDENTITY_FLAGS]
    fields = scope.shared_fields(row["xf_shared"])
    if fields is not None:  # a party: its own dealings with the case, the deadlines if shared, no alerts
        timeline = [t for t in timeline if t["type"] in PARTY_EVENTS and t["detail"].get("party") == scope.party]
        return {**for_party(_summary(app, row, scope), fields, scope.party),
                "deadlines": deadlines if "deadlines" in fields else [], "timeline": timeline, "alerts": []}
    return {**_summary(app, row, scope), "deadlines": deadlines, "timeline": timeline, "alerts": alerts}


async def by_subsidiary(app: Reporting, pool, scope: Scope) -> dict:
    pred, params = scope.where("s")
    rows = await _rows(pool, sql.SQL(
        "SELECT v.subsidiary, coalesce(v.routing_status, 'registered') AS status, count(*) AS n"
        " FROM case_view v JOIN case_scope s ON s.case_id = v.case_id WHERE v.case_no IS NOT NULL AND {}"
        " GROUP BY 1, 2 ORDER BY 1 NULLS FIRST, 2").format(pred), params)
    items = [{"subsidiary": r["subsidiary"], "subsidiary_name": app.ctx.org.name(r["subsidiary"]) or "集团总部本级",
              "status": r["status"], "status_label": STATUS_LABEL[r["status"]], "count": r["n"]} for r in rows]
    return {"total": sum(i["count"] for i in items), "items": items}


FLAG_LABEL = {"repeat": "重复信访", "same_matter_in_handling": "下级正在办理又向上级提出", "final_after_re_review": "复核终结后再次提出",
              "duplicate_text": "一信多投/重复来信", "collective": "集体访/联名", "skip_level": "未依法逐级走访",
              "frequent_petitioner": "信访老户"}


async def detection_stats(app: Reporting, pool, scope: Scope, since, until) -> dict:
    """What intake's detection found, per subsidiary: cases (件次) and people (人次), and per flag
    the cases carrying it, each with its share of the subsidiary's cases (numerator, denominator)."""
    pred, params = scope.where("s")
    params.update(since=since, until=until)
    where = sql.SQL("v.case_no IS NOT NULL AND {} AND (%(since)s::date IS NULL OR v.received_at >= %(since)s::date)"
                    " AND (%(until)s::date IS NULL OR v.received_at < %(until)s::date + 1)").format(pred)
    totals = await _rows(pool, sql.SQL(
        "SELECT v.subsidiary, count(*) AS cases, sum(v.person_times) AS person_times,"
        " sum(coalesce(v.involved_count, v.petitioner_count)) AS involved"
        " FROM case_view v JOIN case_scope s ON s.case_id = v.case_id WHERE {} GROUP BY 1").format(where), params)
    flags = await _rows(pool, sql.SQL(
        "SELECT v.subsidiary, f.flag, count(*) AS n FROM case_view v JOIN case_scope s ON s.case_id = v.case_id,"
        " unnest(v.flags) AS f(flag) WHERE {} GROUP BY 1, 2").format(where), params)
    by: dict = {}
    for t in totals:
        by[t["subsidiary"]] = {"subsidiary": t["subsidiary"], "subsidiary_name": app.ctx.org.name(t["subsidiary"]) or "集团总部本级",
                               "cases": t["cases"], "person_times": t["person_times"], "involved": t["involved"], "flags": {}}
    for f in flags:
        row = by[f["subsidiary"]]
        row["flags"][f["flag"]] = {"label": FLAG_LABEL.get(f["flag"], f["flag"]), "cases": f["n"],
                                   "rate": {"value": round(f["n"] / row["cases"], 4), "numerator": f["n"],
                                            "denominator": row["cases"],
                                            "formula": f"标注「{FLAG_LABEL.get(f['flag'], f['flag'])}」的件次 ÷ 登记件次"}}
    items = sorted(by.values(), key=lambda r: (r["subsidiary"] is not None, r["subsidiary"] or ""))
    return {"since": since, "until": until, "items": items,
            "note": "人次：来访按来访人数，其他按署名人数，匿名按1人；涉及人数另计"}


async def sharing_stats(app: Reporting, pool, scope: Scope) -> dict:
    """厂地联动 consolidated: per subsidiary and party, the cases shared now, ever, revoked, and the
    parties' recorded actions (headquarters sees the group; a subsidiary its own)."""
    pred, params = scope.where("s")
    rows = await _rows(pool, sql.SQL(
        "SELECT v.subsidiary, x.key AS party, x.value->>'party_type' AS party_type,"
        " count(*) AS ever, count(*) FILTER (WHERE x.value->>'revoked_on' IS NULL) AS active,"
        " count(*) FILTER (WHERE x.value->>'revoked_on' IS NOT NULL) AS revoked,"
        " sum(coalesce((x.value->>'actions')::int, 0)) AS actions,"
        " count(*) FILTER (WHERE x.value->>'rule_id' IS NOT NULL) AS by_rule,"
        " min(x.value->>'since') AS first_since"
        " FROM case_view v JOIN case_scope s ON s.case_id = v.case_id, jsonb_each(v.shares) x"
        " WHERE {} GROUP BY 1, 2, 3 ORDER BY 1 NULLS FIRST, 2").format(pred), params)
    org = app.ctx.org
    return {"items": [{**r, "subsidiary_name": org.name(r["subsidiary"]) or "集团总部本级", "party_name": org.name(r["party"])}
                      for r in rows]}


async def risk(app: Reporting, pool, scope: Scope, since, until) -> dict:
    """维稳信息共享: the shared cases as a risk picture — subsidiary, unit, issue type, people and the
    week — never names or content; for a party only what its share gives, for the enterprise its scope."""
    pred, params = scope.where("s")
    params.update(since=since, until=until)
    rows = await _rows(pool, sql.SQL(
        "SELECT v.subsidiary, v.assigned_unit, v.issue_type, v.received_at, v.involved_count, v.petitioner_count,"
        " v.urgent, s.shared FROM case_view v JOIN case_scope s ON s.case_id = v.case_id"
        " WHERE v.case_no IS NOT NULL AND {} AND (%(since)s::date IS NULL OR v.received_at >= %(since)s::date)"
        " AND (%(until)s::date IS NULL OR v.received_at < %(until)s::date + 1)").format(pred), params)
    groups: dict[tuple, dict] = {}
    for r in rows:
        fields = scope.shared_fields(r["shared"])
        allowed = (lambda f: True) if fields is None else (lambda f: f in fields)
        iso = r["received_at"].astimezone(CHINA).isocalendar() if allowed("received_at") else None
        key = (r["subsidiary"] if allowed("subsidiary") else None, r["assigned_unit"] if allowed("assigned_unit") else None,
               r["issue_type"] if allowed("issue_type") else None, f"{iso.year}-W{iso.week:02d}" if iso else None)
        g = groups.setdefault(key, {"subsidiary": key[0], "subsidiary_name": app.ctx.org.name(key[0]), "unit": key[1],
                                    "unit_name": app.ctx.org.name(key[1]), "issue_type": key[2], "week": key[3],
                                    "cases": 0, "people": 0})
        g["cases"] += 1
        g["people"] += (r["involved_count"] or max(r["petitioner_count"], 1)) if allowed("involved_count") else 0
    items = sorted(groups.values(), key=lambda g: (-(g["people"]), g["week"] or ""))
    warnings = []
    if scope.liaison:  # early warnings the enterprise gave this party: kind, subsidiary, unit, week
        shared = await _rows(pool, sql.SQL(
            "SELECT a.kind, a.unit, v.subsidiary, a.raised_at FROM alert_shares x JOIN alerts a USING (alert_id)"
            " JOIN case_view v ON v.case_id = a.case_id WHERE x.party = %(p)s AND x.revoked_at IS NULL"
            " ORDER BY a.raised_at DESC LIMIT 500"), {"p": scope.party})
        for a in shared:
            iso = a["raised_at"].astimezone(CHINA).isocalendar()
            warnings.append({"kind": a["kind"], "kind_label": ALERT_LABEL.get(a["kind"], a["kind"]),
                             "subsidiary": a["subsidiary"], "subsidiary_name": app.ctx.org.name(a["subsidiary"]),
                             "unit": a["unit"], "unit_name": app.ctx.org.name(a["unit"]),
                             "week": f"{iso.year}-W{iso.week:02d}"})
    return {"items": items, "alerts": warnings,
            "note": "仅含单位、问题类型、涉及人数和时间段（周），不含姓名、联系方式和内容"}


ALERT_LABEL = alerting.LABEL  # one list of the kinds' names


async def share_alert(app: Reporting, pool, alert_id: str, party: str, shared: bool, basis: str, by, scope: Scope) -> dict:
    """维稳信息共享: give an early warning to a party covering its subsidiary (or take it back)."""
    require_role(by, "handler", "leader", "supervisor")
    alert_id = checked_case_id(alert_id)
    pred, params = scope.where("s")
    rows = await _rows(pool, sql.SQL(
        "SELECT a.alert_id, a.case_id::text AS case_id, a.kind, v.subsidiary,"
        " (SELECT max(e.version) FROM events e WHERE e.stream_id = a.case_id::text) AS version"
        " FROM alerts a JOIN case_scope s ON s.case_id = a.case_id JOIN case_view v ON v.case_id = a.case_id"
        " WHERE a.alert_id = %(id)s AND {}").format(pred), {**params, "id": alert_id})
    if not rows or (rows[0]["kind"] in IDENTITY_FLAGS and not scope.identity):
        raise NotFound("没有这条预警", alert_id=alert_id)
    a = rows[0]
    if a["kind"] in IDENTITY_FLAGS:  # a 信访老户 warning is about a person: never given outside
        raise Invalid("信访老户预警涉及个人，不向外部协作方提供", field="alert_id")
    covers = app.parties.get(party)
    if covers is None:
        raise Invalid(f"{party} 不是登记的外部协作方", field="party")
    if a["subsidiary"] not in covers:
        raise Invalid(f"{party} 的属地不含预警所属单位 {a['subsidiary']}", field="party")
    now = datetime.now(UTC)
    event = AlertShared(alert_id=alert_id, party=party, shared=shared, basis=basis, at=now)
    env = new_envelope(event, subject=a["case_id"], sequence=(a["version"] or 0) + 1,
                       actor=Actor(by.id, by.unit, by.role), traceparent=telemetry.current_traceparent())
    row = ("INSERT INTO alert_shares (alert_id, party, since, revoked_at) VALUES (%s, %s, %s, %s)"
           " ON CONFLICT (alert_id, party) DO UPDATE SET revoked_at = EXCLUDED.revoked_at,"
           " since = CASE WHEN alert_shares.revoked_at IS NULL THEN alert_shares.since ELSE EXCLUDED.since END"
           " RETURNING 1", [alert_id, party, now, None if shared else now])
    async with pool.connection() as conn:
        with conflicts_detected():
            cur = await conn.execute(*app.ctx.store.write_statement([env], row))
            positions = (await cur.fetchone())[0]
    app.ctx.store.published([env], positions)
    return {"alert_id": alert_id, "party": party, "shared": shared}


async def status_by_receipt(pool, receipt_code: str) -> dict:
    """Status only: no units, no people, no content (an anonymous reporter's case stays anonymous)."""
    rows = await _rows(pool, sql.SQL(
        "SELECT case_no, routing_status, stage, accepted_on, rejected_on, legal_channel, served_on, closed_on,"
        " final_on, evaluation_petition_office, evaluation_responsible_unit, updated_at"
        " FROM case_view WHERE receipt_code_hash = %(h)s"), {"h": receipt_code_hash(receipt_code)})
    if not rows:
        raise NotFound("查询码无效，或案件尚在登记处理中")
    row = rows[0]
    st = status(row["routing_status"])
    return {"case_no": row["case_no"], "status": st, "status_label": STATUS_LABEL[st], "stage": stage(row),
            "stage_label": stage_label(row), "accepted_on": row["accepted_on"], "rejected_on": row["rejected_on"],
            "legal_channel": row["legal_channel"], "served_on": row["served_on"], "closed_on": row["closed_on"],
            "final_on": row["final_on"],
            "evaluated": {"petition_office": row["evaluation_petition_office"] is not None,
                          "responsible_unit": row["evaluation_responsible_unit"] is not None},
            "updated_at": row["updated_at"]}


# -- indicators (deploy/seed/kpis.yaml, reporting/kpis.py) -----------------------------------------------------


async def case_as_of(app: Reporting, pool, case_id: str, scope: Scope, as_of: datetime) -> dict:
    """Time travel: the case as it stood at ``as_of`` — the events recorded by then, folded again
    with the projection's own pure ``apply`` (who may see it is decided as of now)."""
    if scope.liaison:
        raise NotAllowed("外部协作方不能查看案件的历史状态")
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=CHINA)
    case_id = checked_case_id(case_id)
    pred, params = scope.where("s")
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(sql.SQL("SELECT v.*, s.shared AS xf_shared FROM case_view v JOIN case_scope s"
                                  " ON s.case_id = v.case_id WHERE v.case_id = %(id)s AND {}").format(pred),
                          {**params, "id": case_id})
        if await cur.fetchone() is None:
            raise case_not_found(case_id)
        await cur.execute("SELECT body FROM timeline WHERE case_id = %s AND occurred_at <= %s"
                          " AND body IS NOT NULL ORDER BY occurred_at, source, version", (case_id, as_of))
        bodies = [r["body"] for r in await cur.fetchall()]
    report = None
    for body in bodies:
        report, _ = projection.apply(report, Envelope.decode(body.encode()))
    if report is None:
        raise NotFound("该时刻之前案件尚未登记", case_id=case_id, as_of=as_of.isoformat())
    row = {**{c: None for c in store.VIEW}, **store.DEFAULTS, **report.view, "case_id": case_id, "xf_shared": None}
    timeline = [{k: t[k] for k in ("event_id", "source", "type", "version", "occurred_at", "actor_role", "actor_unit",
                                   "trace_id")} | {"detail": projection.timeline_detail(t)} for t in report.new_timeline]
    timeline = [t for t in timeline if t["type"] != "petition.flagged.v1" or scope.flags([t["detail"].get("flag")])]
    deadlines = [{"clock": clock, **{k: d.get(k) for k in ("kind", "unit", "starts_on", "due_on", "rolled_from", "basis",
                                                           "met_on", "late", "paused_on", "breached_on", "cancelled_on",
                                                           "extended_days")}} for clock, d in report.deadlines.items()]
    return {**_summary(app, row, scope), "as_of": as_of, "deadlines": deadlines, "timeline": timeline,
            "alerts": list(report.new_alerts)}


def kpi_catalogue(app: Reporting) -> dict:
    return {"items": [{"id": k.id, "name": k.name, "formula": k.formula, "date_basis": k.date_basis,
                       "choices": k.choices(), "better": k.better} for k in app.kpis.kpis]}


async def kpi(app: Reporting, pool, scope: Scope, kpi_id: str, period: str, group: str) -> dict:
    """One indicator for a period by a grouping, with 环比 and 同比: value, numerator, denominator."""
    k = app.kpis.get(kpi_id)
    if k is None:
        raise NotFound("没有这个指标", kpi=kpi_id)
    if group not in kpis.GROUPS and group != kpis.COLLECTOR:
        raise Invalid(f"分组只能是 {'、'.join([*kpis.GROUPS, kpis.COLLECTOR])}", field="group_by")
    if group == kpis.COLLECTOR and k.evaluation is None:  # satisfaction by who collected it
        raise fairness.refusal(Invalid, f"指标 {k.id} 不读取评价结果，不能按评价收集方分组",
                               f"group_by=collector needs an indicator that reads an evaluation; {k.id} does not",
                               field="group_by")
    if k.per_employees and group not in ("subsidiary", "total"):
        raise Invalid("千人信访率只能按子公司或合计", field="group_by")
    try:
        periods = {"current": period, "previous": kpis.previous(period), "last_year": kpis.year_before(period)}
        bounds = {name: kpis.period_range(p) for name, p in periods.items()}
    except (ValueError, AttributeError) as e:
        raise Invalid(str(e) if isinstance(e, ValueError) else "期间格式为 2026-11、2026-Q4 或 2026",
                      field="period") from None
    pred, params = scope.where("s")
    async with pool.connection() as conn:
        # the counts kept per month (reporting/rollup.py); the cases themselves while they are
        # being counted again for a changed definition
        figures = app.rollup and await app.rollup.figures(conn, k, group, bounds, pred, params)
        if figures is None:
            q = kpis.query(k, group, pred, with_excluded=True)
            figures = {}
            for name, (start, end) in bounds.items():
                cur = await conn.execute(q, {**params, "start": start, "end": end})
                figures[name] = {r[0]: (r[1], r[2], r[-1]) for r in await cur.fetchall()}
    org = app.ctx.org

    def employees(grp) -> int | None:
        if grp is None:
            # the caller's whole scope: a subsidiary's 千人信访率 counts its own headcount only
            return sum(u.employees or 0 for u in org.units.values()
                       if scope.subtree is None or u.id in scope.subtree) or None
        return org.get(grp).employees if grp in org else None

    def figure(name: str, grp) -> dict:
        n, d, excluded = figures[name].get(grp, (0, 0, 0))
        if k.per_employees:
            n, d = d, employees(grp if group == "subsidiary" else None)
            value = round(n * 1000 / d, 4) if d else None
        else:
            value = round(n / d, 4) if d else None
        return {"period": periods[name], "value": value, "numerator": n, "denominator": d, "excluded": excluded}

    groups = sorted({*figures["current"], *figures["previous"], *figures["last_year"]}, key=lambda g: (g is not None, g or ""))
    items = []
    for grp in groups:
        cur_, prev, ly = figure("current", grp), figure("previous", grp), figure("last_year", grp)
        label = (fairness.COLLECTOR_LABEL.get(grp, fairness.NO_COLLECTOR) if group == kpis.COLLECTOR
                 else org.name(grp) if grp else ("合计" if group == "total" else "集团总部本级"))
        items.append({"group": grp, "group_name": label,
                      **{x: cur_[x] for x in ("value", "numerator", "denominator", "excluded")},
                      "previous": prev, "last_year": ly,
                      "change_vs_previous": _delta(cur_["value"], prev["value"]),
                      "change_vs_last_year": _delta(cur_["value"], ly["value"])})
    return {"kpi": k.id, "name": k.name, "formula": k.formula, "date_basis": k.date_basis, "choices": k.choices(),
            "period": period, "group_by": group, "items": items}


def _delta(now, then):
    return None if now is None or then is None else round(now - then, 4)


async def monthly_report(app: Reporting, pool, scope: Scope, month: str) -> tuple[bytes, str]:
    """月报 for a month, in the caller's scope, as an Excel workbook (and its file name)."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise Invalid("月份格式为 2026-11", field="month")
    start, end = kpis.period_range(month)
    totals = [await kpi(app, pool, scope, k.id, month, "total") for k in app.kpis.kpis]
    per_sub = [await kpi(app, pool, scope, k.id, month, "subsidiary") for k in app.kpis.kpis]
    subsidiaries = sorted({i["group"] for f in per_sub for i in f["items"]}, key=lambda g: (g is not None, g or ""))
    pred, params = scope.where("s")
    params.update(start=start, end=end)
    in_month = sql.SQL("(v.received_at AT TIME ZONE 'Asia/Shanghai')::date >= %(start)s"
                       " AND (v.received_at AT TIME ZONE 'Asia/Shanghai')::date < %(end)s")
    volumes = await _rows(pool, sql.SQL(
        "SELECT v.subsidiary, count(*) AS cases, sum(v.person_times) AS person_times,"
        " sum(coalesce(v.involved_count, v.petitioner_count)) AS involved FROM case_view v"
        " JOIN case_scope s ON s.case_id = v.case_id WHERE v.case_no IS NOT NULL AND {} AND {}"
        " GROUP BY 1 ORDER BY 1 NULLS FIRST").format(pred, in_month), params)
    hot = await _rows(pool, sql.SQL(
        "SELECT v.issue_type, count(*) AS n FROM case_view v JOIN case_scope s ON s.case_id = v.case_id"
        " WHERE v.case_no IS NOT NULL AND {} AND {} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10").format(pred, in_month),
        params)
    deadlines = sql.SQL(
        "SELECT v.case_no, d.clock, d.unit, d.due_on, d.basis, d.met_on FROM case_deadlines d"
        " JOIN case_view v ON v.case_id = d.case_id JOIN case_scope s ON s.case_id = d.case_id"
        " WHERE {} AND d.due_on >= %(start)s AND d.due_on < %(end)s AND {} ORDER BY d.due_on, v.case_no LIMIT 5000")
    overdue = await _rows(pool, deadlines.format(pred, sql.SQL(
        "d.kind = 'duty' AND d.breached_on IS NOT NULL AND d.met_on IS NULL AND d.cancelled_on IS NULL")), params)
    orders = await _rows(pool, deadlines.format(pred, sql.SQL("d.clock LIKE 'order:%%'")), params)
    org = app.ctx.org
    names = {g: org.name(g) or "集团总部本级" for g in [None, *subsidiaries, *(d["unit"] for d in overdue + orders)]}
    issue_names = app.issue_names
    for h in hot:
        h["issue_type"] = issue_names.get(h["issue_type"], h["issue_type"])
    scope_name = "集团" if scope.subtree is None else "、".join(sorted({names.get(g) or "" for g in subsidiaries}))
    content = monthly.workbook(month, scope_name or "本单位", totals, {g: per_sub for g in subsidiaries}, names,
                               volumes, hot, overdue, orders)
    return content, f"信访工作月报-{month}.xlsx"
