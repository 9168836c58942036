"""Fairness and 每月一题, as reporting's use cases: exclusion requests and their decisions, rankings
within volume bands, and issue-level governance with its before/after tracking.

Commands follow ``usecases.share_alert``: the role, the scope checked in SQL, one event and the
row that records it written by ONE statement into reporting's store (``kpi_exclusions`` and
``governance_issues`` are not emptied by a rebuild: they are reporting's own facts).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import orjson
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from backbone import telemetry
from backbone.auth import Principal
from backbone.contracts import GovernanceFixRecorded, GovernanceIssueOpened, KpiExclusionDecided, KpiExclusionRequested
from backbone.envelope import Actor, new_envelope
from backbone.errors import Conflict, Invalid, NotAllowed, NotFound, Problem, case_not_found, checked_case_id
from backbone.eventstore import conflicts_detected
from backbone.http import require_role
from backbone.paging import MAX_LIMIT, decode_cursor, next_cursor
from backbone.visibility import Scope

from . import fairness, governance, kpis
from .alerting import plain_text
from .bootstrap import Reporting
from .fairness import refusal

CHINA = ZoneInfo("Asia/Shanghai")
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
STATE_LABEL = {"pending": "待审批", "approved": "已批准剔除", "refused": "不予剔除"}
# dates a request may carry (a fuzzer's year 1 or 9999 is a mistake, not a plan)
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _today() -> date:
    return datetime.now(CHINA).date()


async def _rows(pool, query, params) -> list[dict]:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        return await (await cur.execute(query, params)).fetchall()


async def _write(app: Reporting, pool, env, row: tuple[str, list], on_duplicate: Problem, *,
                 counts_of: str | None = None) -> None:
    """The event and its row in one statement; a duplicate open row (a race) is ``on_duplicate``.
    ``counts_of``: a case whose indicators' counts change with the row (reporting/rollup.py)."""
    try:
        async with pool.connection() as conn, conn.transaction():
            with conflicts_detected():
                if counts_of and app.rollup:
                    await conn.execute(*app.rollup.lock([counts_of]))
                cur = await conn.execute(*app.ctx.store.write_statement([env], row))
                positions = (await cur.fetchone())[0]
                for statement in app.rollup.refresh([counts_of]) if counts_of and app.rollup else ():
                    await conn.execute(*statement)
    except psycopg.errors.UniqueViolation:
        raise on_duplicate from None
    app.ctx.store.published([env], positions)


def _envelope(event, subject: str, version: int, by: Principal):
    return new_envelope(event, subject=subject, sequence=version + 1, actor=Actor(by.id, by.unit, by.role),
                        traceparent=telemetry.current_traceparent())


def _checked_date(value: date, name: str) -> date:
    if not EARLIEST <= value <= LATEST:
        raise refusal(Invalid, f"{name} 应在 {EARLIEST} 至 {LATEST} 之间", f"{name} must lie between {EARLIEST} and {LATEST}",
                      field=name)
    return value


# -- exclusion on request ----------------------------------------------------------------------------------

EXCLUSION_COLUMNS = ("exclusion_id", "case_id", "unit", "ground", "reasons", "approver_unit", "requested_by",
                     "requested_at", "state", "decided_by", "decided_unit", "decided_at", "decision_reason")


def _exclusion(app: Reporting, row: dict) -> dict:
    org, rules = app.ctx.org, app.fairness.exclusion
    ground = rules.ground(row["ground"])
    return {**{k: row[k] for k in EXCLUSION_COLUMNS}, "exclusion_id": str(row["exclusion_id"]),
            "case_id": str(row["case_id"]), "case_no": row.get("case_no"), "subsidiary": row.get("subsidiary"),
            "unit_name": org.name(row["unit"]), "approver_unit_name": org.name(row["approver_unit"]),
            "ground_name": ground.name if ground else row["ground"], "state_label": STATE_LABEL[row["state"]]}


async def request_exclusion(app: Reporting, pool, case_id: str, ground: str, reasons: str, by: Principal,
                            scope: Scope) -> dict:
    """申请剔除: the handling unit asks that a case leave its rates; the level above will decide."""
    require_role(by, "handler", "leader")
    rules, org = app.fairness.exclusion, app.ctx.org
    g = rules.ground(ground)
    if g is None:
        choices = "、".join(f"{x.id}（{x.name}）" for x in rules.grounds)
        raise refusal(Invalid, f"剔除理由类别只能是：{choices}", f"ground must be one of {[x.id for x in rules.grounds]}",
                      field="ground", grounds=[x.model_dump() for x in rules.grounds])
    reasons = plain_text(reasons, "reasons")  # travels in clear in reporting's event: no personal data
    if not rules.reasons_min <= len(reasons) <= rules.reasons_max:
        raise refusal(Invalid, f"申请理由应为 {rules.reasons_min} 至 {rules.reasons_max} 个字",
                      f"reasons must be {rules.reasons_min} to {rules.reasons_max} characters", field="reasons")
    case_id = checked_case_id(case_id)
    pred, params = scope.where("s")
    rows = await _rows(pool, sql.SQL(
        "SELECT v.case_no, v.assigned_unit, (SELECT max(e.version) FROM events e WHERE e.stream_id = %(sid)s) AS version,"
        " (SELECT x.state FROM kpi_exclusions x WHERE x.case_id = v.case_id AND x.state IN ('pending', 'approved')) AS open"
        " FROM case_view v JOIN case_scope s ON s.case_id = v.case_id WHERE v.case_id = %(id)s AND {}").format(pred),
        {**params, "id": case_id, "sid": case_id})
    if not rows:
        raise case_not_found(case_id)
    c = rows[0]
    if c["assigned_unit"] is None or c["assigned_unit"] not in org:
        raise refusal(Invalid, "案件尚未分派承办单位，不能申请剔除", "the case has no handling unit yet", field="case_id")
    unit = c["assigned_unit"]
    if not fairness.may_request(org, by.unit, unit):
        raise refusal(NotAllowed, f"只有承办单位（{org.name(unit)}）的承办人或领导可以申请剔除",
                      f"only a handler or leader of the handling unit {unit} may ask", field="unit", unit=unit)
    if c["open"]:
        raise refusal(Conflict, f"该案件已有{STATE_LABEL[c['open']]}的剔除申请",
                      f"the case already has an exclusion request that is {c['open']}", field="case_id")
    approver = fairness.approver_of(org, unit)
    now = datetime.now(UTC)
    exclusion_id = str(uuid.uuid4())
    event = KpiExclusionRequested(exclusion_id=exclusion_id, case_id=case_id, unit=unit, ground=g.id, reasons=reasons,
                                  approver_unit=approver, at=now)
    row = {"exclusion_id": exclusion_id, "case_id": case_id, "unit": unit, "ground": g.id, "reasons": reasons,
           "approver_unit": approver, "requested_by": by.id, "requested_at": now, "state": "pending",
           "decided_by": None, "decided_unit": None, "decided_at": None, "decision_reason": None}
    insert = ("INSERT INTO kpi_exclusions (exclusion_id, case_id, unit, ground, reasons, approver_unit, requested_by,"
              " requested_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING 1",
              [exclusion_id, case_id, unit, g.id, reasons, approver, by.id, now])
    await _write(app, pool, _envelope(event, case_id, c["version"] or 0, by), insert,
                 refusal(Conflict, "该案件已有待审批或已批准的剔除申请", "the case already has an open exclusion request",
                         field="case_id"))
    return _exclusion(app, {**row, "case_no": c["case_no"]})


async def decide_exclusion(app: Reporting, pool, case_id: str, approved: bool, reason: str, by: Principal,
                           scope: Scope) -> dict:
    """The level above approves (the case leaves the rates) or refuses, with a reason."""
    require_role(by, "supervisor", "leader")
    org = app.ctx.org
    reason = plain_text(reason, "reason")
    if not 2 <= len(reason) <= 1000:
        raise refusal(Invalid, "审批意见应为 2 至 1000 个字", "reason must be 2 to 1000 characters", field="reason")
    case_id = checked_case_id(case_id)
    pred, params = scope.where("s")
    rows = await _rows(pool, sql.SQL(
        "SELECT x.*, v.case_no, v.subsidiary,"
        " (SELECT max(e.version) FROM events e WHERE e.stream_id = %(sid)s) AS version"
        " FROM case_view v JOIN case_scope s ON s.case_id = v.case_id"
        " LEFT JOIN kpi_exclusions x ON x.case_id = v.case_id AND x.state = 'pending'"
        " WHERE v.case_id = %(id)s AND {}").format(pred), {**params, "id": case_id, "sid": case_id})
    if not rows:
        raise case_not_found(case_id)
    x = rows[0]
    if x["exclusion_id"] is None:
        raise refusal(NotFound, "该案件没有待审批的剔除申请", "the case has no pending exclusion request", field="case_id")
    if not fairness.may_decide(org, by.unit, x["approver_unit"]):
        raise refusal(NotAllowed, f"剔除申请由承办单位的上一级（{org.name(x['approver_unit'])}）审批",
                      f"an exclusion is decided by the level above the handling unit: {x['approver_unit']}",
                      field="approver_unit", approver_unit=x["approver_unit"])
    if by.id == x["requested_by"]:
        raise refusal(NotAllowed, "不能审批本人提出的剔除申请", "no one decides their own request", field="requested_by")
    now = datetime.now(UTC)
    state = "approved" if approved else "refused"
    event = KpiExclusionDecided(exclusion_id=str(x["exclusion_id"]), case_id=case_id, approved=approved, reason=reason,
                                at=now)
    update = ("UPDATE kpi_exclusions SET state = %s, decided_by = %s, decided_unit = %s, decided_at = %s,"
              " decision_reason = %s WHERE exclusion_id = %s AND state = 'pending' RETURNING 1",
              [state, by.id, by.unit, now, reason, x["exclusion_id"]])
    await _write(app, pool, _envelope(event, case_id, x["version"] or 0, by), update,
                 refusal(Conflict, "该申请刚被处理", "the request was just decided", field="case_id"),
                 counts_of=case_id if approved else None)
    return _exclusion(app, {**x, "state": state, "decided_by": by.id, "decided_unit": by.unit, "decided_at": now,
                            "decision_reason": reason})


async def exclusions(app: Reporting, pool, scope: Scope, state: str | None, limit: int, after: str | None, *,
                     case_id: str | None = None) -> dict:
    """Exclusion requests about cases in scope, newest first (``state``: pending, approved or refused;
    ``case_id``: one case's)."""
    cursor = decode_cursor(after)
    limit = min(limit, MAX_LIMIT)
    pred, params = scope.where("s")
    conds = [pred]
    if state:
        conds.append(sql.SQL("x.state = %(state)s"))
    if case_id:
        conds.append(sql.SQL("x.case_id = %(case_id)s"))
        params["case_id"] = checked_case_id(case_id)
    if cursor:
        conds.append(sql.SQL("(x.requested_at, x.exclusion_id) < (%(at)s, %(after_id)s)"))
    params.update(state=state, limit=limit, at=cursor[0] if cursor else None, after_id=cursor[1] if cursor else None)
    rows = await _rows(pool, sql.SQL(
        "SELECT x.*, v.case_no, v.subsidiary FROM kpi_exclusions x JOIN case_scope s ON s.case_id = x.case_id"
        " JOIN case_view v ON v.case_id = x.case_id WHERE {} ORDER BY x.requested_at DESC, x.exclusion_id DESC"
        " LIMIT %(limit)s").format(sql.SQL(" AND ").join(conds)), params)
    return {"count": len(rows), "items": [_exclusion(app, r) for r in rows],
            "next": next_cursor(rows, limit, lambda r: (r["requested_at"], r["exclusion_id"]))}


# -- ranking within volume bands ---------------------------------------------------------------------------


def _period(period: str) -> tuple[date, date]:
    try:
        return kpis.period_range(period)
    except ValueError as e:
        raise refusal(Invalid, str(e), "period is 2026-11 (month), 2026-Q4 (quarter) or 2026 (year)", field="period") from None


async def ranking(app: Reporting, pool, scope: Scope, kpi_id: str, period: str, level: str) -> dict:
    """Units (or subsidiaries) ranked by an indicator, only against others of similar volume and only
    with enough cases; the rest listed as 不参与排名 with the reason."""
    k = app.kpis.get(kpi_id)
    if k is None:
        raise NotFound("没有这个指标", kpi=kpi_id)
    if k.better is None:
        raise refusal(Invalid, f"指标 {k.name} 不排名：件次总量排名会促使压访瞒访",
                      f"{k.id} has no direction (better: higher|lower) and is not ranked", field="kpi_id")
    if level not in ("unit", "subsidiary"):
        raise refusal(Invalid, "排名层级只能是 unit 或 subsidiary", "level is unit or subsidiary", field="level")
    start, end = _period(period)
    rules = app.fairness.ranking
    pred, params = scope.where("s")
    params.update(start=start, end=end)
    group = sql.SQL(kpis.GROUPS[level])
    received = sql.SQL("(v.received_at AT TIME ZONE 'Asia/Shanghai')::date")
    async with pool.connection() as conn:
        counted = app.rollup and await app.rollup.figures(conn, k, level, {"current": (start, end)}, pred, params)
        if counted is not None:
            figures = counted["current"]
        else:
            cur = await conn.execute(kpis.query(k, level, pred, with_excluded=True), params)
            figures = {r[0]: (r[1], r[2], r[-1]) for r in await cur.fetchall()}
        cur = await conn.execute(sql.SQL(
            "SELECT {g}, count(*) FROM case_view v JOIN case_scope s ON s.case_id = v.case_id"
            " WHERE v.case_no IS NOT NULL AND {r} >= %(start)s AND {r} < %(end)s AND {p} GROUP BY 1").format(
                g=group, r=received, p=pred), params)
        volumes = dict(await cur.fetchall())
    entries = [fairness.Entry(g, volumes.get(g, 0), *figures.get(g, (0, 0, 0))[:2])
               for g in {*figures, *volumes}]
    placed = fairness.rank(entries, rules, k.better)
    org = app.ctx.org

    def item(p: fairness.Placed) -> dict:
        e = p.entry
        return {"group": e.group, "group_name": org.name(e.group) or ("未分派" if level == "unit" else "集团总部本级"),
                "volume": e.volume, "value": round(e.numerator / e.denominator, 4) if e.denominator else None,
                "numerator": e.numerator, "denominator": e.denominator,
                "excluded": figures.get(e.group, (0, 0, 0))[2], "band": p.band, "rank": p.rank,
                "ranked": p.rank is not None, "reason": p.reason}

    bands = [{"band": b.id, "band_name": b.name, "max": b.max,
              "items": [item(p) for p in placed if p.band == b.id and p.rank is not None]} for b in rules.bands]
    return {"kpi": k.id, "name": k.name, "formula": k.formula, "date_basis": k.date_basis, "choices": k.choices(),
            "period": period, "level": level, "better": k.better, "better_label": "越高越好" if k.better == "higher" else "越低越好",
            "min_denominator": rules.min_denominator, "volume_basis": "本期收到的信访件次（按承办单位/子公司）",
            "bands": bands, "not_ranked": [item(p) for p in placed if p.rank is None],
            "note": "只在件次规模相近的单位之间排名；计算件次少于最低件数的单位不参与排名；并列同名次"}


# -- 每月一题 ---------------------------------------------------------------------------------------------------


def _is_headquarters(org, unit: str) -> bool:
    organ = org.organ_of(unit)
    return org.parent_of(organ) is None and org.get(organ).kind == "headquarters"


def _visible(scope: Scope) -> tuple[sql.Composable, dict]:
    """Headquarters sees every issue; others those owned in their subtree or about their subsidiary."""
    if scope.subtree is None:
        return sql.SQL("true"), {}
    return (sql.SQL("(g.owner_unit = ANY(%(g_subtree)s::text[]) OR g.subsidiary = ANY(%(g_lineage)s::text[]))"),
            {"g_subtree": sorted(scope.subtree), "g_lineage": list(scope.lineage)})


def _issue(app: Reporting, row: dict, today: date) -> dict:
    org = app.ctx.org
    progress = row["progress"] if isinstance(row["progress"], list) else orjson.loads(row["progress"])
    return {"issue_id": str(row["issue_id"]), "issue_type": row["issue_type"],
            "issue_type_name": app.issue_names.get(row["issue_type"], row["issue_type"]),
            "subsidiary": row["subsidiary"], "subsidiary_name": org.name(row["subsidiary"]) or "全集团",
            "month": row["month"], "why": row["why"], "owner_unit": row["owner_unit"],
            "owner_unit_name": org.name(row["owner_unit"]), "owner": row["owner"], "fix": row["fix"],
            "starts_on": row["starts_on"], "deadline": row["deadline"], "done_on": row["done_on"],
            **governance.deadline_state(row["deadline"], row["done_on"], today),
            "progress": progress, "opened_by": row["opened_by"], "opened_at": row["opened_at"], "version": row["version"]}


async def open_issue(app: Reporting, pool, body: dict, by: Principal, *, today: date | None = None) -> dict:
    """每月一题: headquarters picks a recurring issue, names its owner and the systemic fix."""
    require_role(by, "hq_analyst", "supervisor", "leader")
    org = app.ctx.org
    today = today or _today()
    if not _is_headquarters(org, by.unit):
        raise refusal(NotAllowed, "每月一题由集团总部确定", "only headquarters picks the issue of the month", field="unit")
    if body["issue_type"] not in app.issue_names:
        raise refusal(Invalid, "问题类型不在分类表中（taxonomy.yaml）", "issue_type is not in the taxonomy", field="issue_type")
    sub = body.get("subsidiary")
    if sub is not None and (sub not in org or org.get(sub).kind != "subsidiary"):
        raise refusal(Invalid, "subsidiary 应为一个子公司", "subsidiary must name a subsidiary", field="subsidiary")
    owner = body["owner_unit"]
    root = next(u.id for u in org.units.values() if u.parent is None and u.kind == "headquarters")
    if owner not in org or not org.is_within(owner, root):
        raise refusal(Invalid, "责任单位应为集团内的单位", "owner_unit must be a unit of the group", field="owner_unit")
    if sub is not None and org.subsidiary_of(owner) not in (None, sub):
        raise refusal(Invalid, "责任单位应属于该子公司或集团总部", "owner_unit must belong to that subsidiary or to headquarters",
                      field="owner_unit")
    starts_on = _checked_date(body.get("starts_on") or today, "starts_on")
    deadline = _checked_date(body["deadline"], "deadline")
    if deadline < max(starts_on, today):
        raise refusal(Invalid, "整改期限不能早于开始日期和今天", "deadline must not precede the start or today", field="deadline")
    now = datetime.now(UTC)
    issue_id = str(uuid.uuid4())
    event = GovernanceIssueOpened(issue_id=issue_id, issue_type=body["issue_type"], subsidiary=sub, month=body["month"],
                                  why=body["why"], owner_unit=owner, owner=body["owner"], fix=body["fix"],
                                  starts_on=starts_on, deadline=deadline, at=now)
    row = {"issue_id": issue_id, "issue_type": body["issue_type"], "subsidiary": sub, "month": body["month"],
           "why": body["why"], "owner_unit": owner, "owner": body["owner"], "fix": body["fix"], "starts_on": starts_on,
           "deadline": deadline, "done_on": None, "progress": [], "opened_by": by.id, "opened_at": now, "version": 1}
    insert = ("INSERT INTO governance_issues (issue_id, issue_type, subsidiary, month, why, owner_unit, owner, fix,"
              " starts_on, deadline, opened_by, opened_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
              " RETURNING 1", [issue_id, body["issue_type"], sub, body["month"], body["why"], owner, body["owner"],
                               body["fix"], starts_on, deadline, by.id, now])
    await _write(app, pool, _envelope(event, issue_id, 0, by), insert,
                 refusal(Conflict, "每月一题重复", "duplicate issue", field="issue_id"))
    return _issue(app, row, today)


async def _load_issue(pool, issue_id: str, scope: Scope) -> dict:
    try:
        issue_id = str(uuid.UUID(issue_id))
    except ValueError:
        raise NotFound("没有这个每月一题", issue_id=issue_id[:64], message_en="no such issue") from None
    pred, params = _visible(scope)
    rows = await _rows(pool, sql.SQL("SELECT g.* FROM governance_issues g WHERE g.issue_id = %(id)s AND {}").format(pred),
                       {**params, "id": issue_id})
    if not rows:  # out of scope reads as absent
        raise NotFound("没有这个每月一题", issue_id=issue_id, message_en="no such issue")
    return rows[0]


async def record_fix(app: Reporting, pool, issue_id: str, note: str, done: bool, on: date | None, by: Principal,
                     scope: Scope, *, today: date | None = None) -> dict:
    """The owner records progress on the fix, or its completion (``done``) on ``on``."""
    require_role(by, "handler", "leader", "supervisor")
    org = app.ctx.org
    today = today or _today()
    g = await _load_issue(pool, issue_id, scope)
    owner = g["owner_unit"]
    if not (org.is_within(by.unit, owner) or (by.unit in org and org.organ_of(by.unit) == org.organ_of(owner))):
        raise refusal(NotAllowed, f"整改进展由责任单位（{org.name(owner)}）记录",
                      f"progress is recorded by the owner unit {owner}", field="owner_unit")
    if g["done_on"] is not None:
        raise refusal(Conflict, "该问题已完成整改", "the fix is already recorded as done", field="done")
    on = _checked_date(on or today, "on")
    if on > today:
        raise refusal(Invalid, "日期不能晚于今天", "on must not be after today", field="on")
    if done and on < g["starts_on"]:
        raise refusal(Invalid, "完成日期不能早于整改开始日期", "on must not precede the start of the fix", field="on")
    now = datetime.now(UTC)
    event = GovernanceFixRecorded(issue_id=str(g["issue_id"]), note=note, done=done, on=on, at=now)
    entry = {"note": note, "done": done, "on": on.isoformat(), "by": by.id, "unit": by.unit, "at": now.isoformat()}
    update = ("UPDATE governance_issues SET progress = progress || %s::jsonb,"
              " done_on = CASE WHEN %s THEN %s::date ELSE done_on END, version = version + 1"
              " WHERE issue_id = %s AND version = %s RETURNING 1",
              [orjson.dumps([entry]).decode(), done, on, g["issue_id"], g["version"]])
    await _write(app, pool, _envelope(event, str(g["issue_id"]), g["version"], by), update,
                 refusal(Conflict, "记录冲突，请重试", "concurrent update, try again", field="issue_id"))
    progress = [*(g["progress"] or []), entry]
    return _issue(app, {**g, "progress": progress, "done_on": on if done else None, "version": g["version"] + 1}, today)


async def issues(app: Reporting, pool, scope: Scope, limit: int, after: str | None, *, today: date | None = None) -> dict:
    """每月一题 in scope, newest first, with the deadline's state."""
    cursor = decode_cursor(after)
    limit = min(limit, MAX_LIMIT)
    pred, params = _visible(scope)
    conds = [pred] + ([sql.SQL("(g.opened_at, g.issue_id) < (%(at)s, %(after_id)s)")] if cursor else [])
    params.update(limit=limit, at=cursor[0] if cursor else None, after_id=cursor[1] if cursor else None)
    rows = await _rows(pool, sql.SQL("SELECT g.* FROM governance_issues g WHERE {}"
                                     " ORDER BY g.opened_at DESC, g.issue_id DESC LIMIT %(limit)s").format(
                                         sql.SQL(" AND ").join(conds)), params)
    today = today or _today()
    return {"count": len(rows), "items": [_issue(app, r, today) for r in rows],
            "next": next_cursor(rows, limit, lambda r: (r["opened_at"], r["issue_id"]))}


async def issue(app: Reporting, pool, issue_id: str, scope: Scope, *, today: date | None = None) -> dict:
    """One 每月一题 and its cases per month before, during and after the fix: 件次, and each tracked
    indicator (fairness.yaml governance.track) with numerator and denominator, in the caller's scope."""
    today = today or _today()
    g = await _load_issue(pool, issue_id, scope)
    rules = app.fairness.governance
    tracked = [k for k in (app.kpis.get(t) for t in rules.track) if k is not None and not k.per_employees]
    span = governance.window(g["starts_on"], g["done_on"], today, rules.months_before, rules.months_after)
    start, end = kpis.period_range(span[0])[0], kpis.period_range(span[-1])[1]
    pred, params = scope.where("s")
    params.update(start=start, end=end, issue_type=g["issue_type"], subsidiary=g["subsidiary"])
    of_issue = sql.SQL("v.case_no IS NOT NULL AND v.issue_type = %(issue_type)s"
                       " AND (%(subsidiary)s::text IS NULL OR v.subsidiary = %(subsidiary)s) AND {}").format(pred)
    received = sql.SQL("(v.received_at AT TIME ZONE 'Asia/Shanghai')::date")
    by_month: dict[str, dict] = {m: {} for m in span}
    async with pool.connection() as conn:
        cur = await conn.execute(sql.SQL(
            "SELECT to_char({r}, 'YYYY-MM'), count(*), coalesce(sum(v.person_times), 0) FROM case_view v"
            " JOIN case_scope s ON s.case_id = v.case_id WHERE {w} AND {r} >= %(start)s AND {r} < %(end)s GROUP BY 1"
        ).format(r=received, w=of_issue), params)
        for m, n, persons in await cur.fetchall():
            by_month[m].update(cases=n, person_times=persons)
        for k in tracked:
            den, num = kpis.counted(k)
            basis = kpis.basis_sql(k)
            cur = await conn.execute(sql.SQL(
                "SELECT to_char({b}, 'YYYY-MM'), count(*) FILTER (WHERE ({den}) AND ({num})), count(*) FILTER (WHERE {den})"
                " FROM {cases}"
                " WHERE {w} AND {b} >= %(start)s AND {b} < %(end)s GROUP BY 1").format(b=basis, den=den, num=num, w=of_issue,
                                                                                    cases=kpis.FROM_CASES),
                params)
            for m, n, d in await cur.fetchall():
                by_month[m][k.id] = (n, d)
    series = []
    for m in span:
        f = by_month[m]
        p = governance.phase(m, g["starts_on"], g["done_on"])
        series.append({"month": m, "phase": p, "phase_label": governance.PHASE_LABEL[p], "cases": f.get("cases", 0),
                       "person_times": f.get("person_times", 0),
                       **{k.id: governance.rate(*f.get(k.id, (0, 0))) for k in tracked}})
    return {**_issue(app, g, today),
            "tracked": [{"kpi": k.id, "name": k.name, "formula": k.formula, "date_basis": k.date_basis,
                         "choices": k.choices()} for k in tracked],
            "months": series, "phases": governance.phases(series, [k.id for k in tracked]),
            "note": "同一问题类型（及子公司）的案件；件次按收到日期，各指标按其日期口径；本账号可见范围内"}


async def suggestions(app: Reporting, pool, scope: Scope, month: str) -> dict:
    """Candidates for 每月一题: each subsidiary's top issue types of the month, with the month before."""
    if not MONTH.fullmatch(month):
        raise refusal(Invalid, "月份格式为 2026-11", "month is YYYY-MM, e.g. 2026-11", field="month")
    start, end = _period(month)
    prev_start = kpis.period_range(governance.shift(month, -1))[0]
    pred, params = scope.where("s")
    params.update(start=start, end=end, prev=prev_start)
    received = sql.SQL("(v.received_at AT TIME ZONE 'Asia/Shanghai')::date")
    rows = await _rows(pool, sql.SQL(
        "SELECT v.subsidiary, v.issue_type, count(*) FILTER (WHERE {r} >= %(start)s) AS cases,"
        " count(*) FILTER (WHERE {r} < %(start)s) AS previous,"
        " count(*) FILTER (WHERE {r} >= %(start)s AND 'repeat' = ANY(v.flags)) AS repeats"
        " FROM case_view v JOIN case_scope s ON s.case_id = v.case_id"
        " WHERE v.case_no IS NOT NULL AND {r} >= %(prev)s AND {r} < %(end)s AND {p} GROUP BY 1, 2").format(r=received, p=pred),
        params)
    org = app.ctx.org
    by: dict = {}
    for r in rows:
        if r["cases"]:
            by.setdefault(r["subsidiary"], []).append(r)
    items = []
    for sub, rs in sorted(by.items(), key=lambda x: (x[0] is not None, x[0] or "")):
        rs.sort(key=lambda r: (-r["cases"], -r["repeats"], r["issue_type"] or ""))
        items.append({"subsidiary": sub, "subsidiary_name": org.name(sub) or "集团总部本级",
                      "top": [{"issue_type": r["issue_type"], "issue_type_name": app.issue_names.get(r["issue_type"], r["issue_type"]),
                               "cases": r["cases"], "previous": r["previous"], "repeats": r["repeats"]} for r in rs[:3]]})
    return {"month": month, "items": items}
