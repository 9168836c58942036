"""The web dashboard (GET /dashboard): one page in Chinese for headquarters and subsidiaries, and the
one query set behind its overview (GET /dashboard/overview), cut to the caller's scope in SQL.

The overview answers in one round trip what the page's first screen shows: every indicator for the
month with its numerator, denominator and formula, its twelve-month trend, 环比 and 同比 and the
comparison across the units below the caller (subsidiaries for headquarters, units for a
subsidiary); volumes in 件次 and 人次; the month's hot issues; open warnings; overdue clocks and
督办 orders. The indicators come from the same definitions as GET /kpis (reporting/kpis.py).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo
from pathlib import Path

import orjson
from psycopg import sql
from psycopg.rows import dict_row

from backbone.auth import Principal
from backbone.errors import Invalid, NotAllowed, NotFound
from backbone.visibility import Scope

from . import alerting, kpis
from .bootstrap import Reporting

CHINA = ZoneInfo("Asia/Shanghai")
PAGE = Path(__file__).parent / "static" / "dashboard.html"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
TREND_MONTHS = 13  # the month, the eleven before it, and the same month a year before (同比)
OPERATOR_ROLES = ("operator", "admin")
ROLE_LABEL = {"registrar": "登记员", "handler": "承办人", "supervisor": "督办员", "leader": "领导", "hq_analyst": "总部分析员",
              "union_liaison": "工会联络员", "government_liaison": "地方政府联络员", "operator": "运维", "admin": "系统管理员"}


def months_ending(month: str, n: int = TREND_MONTHS) -> list[str]:
    """The ``n`` months ending with ``month`` ('2026-11'), oldest first (pure)."""
    year, m = int(month[:4]), int(month[5:])
    out = []
    for i in range(n - 1, -1, -1):
        k = year * 12 + (m - 1) - i
        out.append(f"{k // 12}-{k % 12 + 1:02d}")
    return out


def ratio(n: int, d: int | None, per: int = 1) -> float | None:
    return round(n * per / d, 4) if d else None


def me(app: Reporting, principal: Principal, scope: Scope) -> dict:
    org = app.ctx.org
    unit = principal.unit
    if scope.subtree is None:
        scope_label = "集团全部单位"
    else:
        home = org.subsidiary_of(unit) if unit in org else None
        scope_label = f"{org.name(home) or org.name(unit) or unit}及所属单位"
    return {"id": principal.id, "unit": unit, "unit_name": org.name(unit), "role": principal.role,
            "role_label": ROLE_LABEL.get(principal.role, principal.role), "scope": scope_label,
            "headquarters": scope.subtree is None, "operator": principal.role in OPERATOR_ROLES,
            "liaison": scope.liaison, "trace_ui": app.trace_ui, "issue_names": app.issue_names,
            "unit_names": {u.id: u.name for u in org.units.values()},
            "exclusion_grounds": [{"id": g.id, "name": g.name} for g in app.fairness.exclusion.grounds]}


def _month(month: str | None) -> str:
    if month is None:
        return datetime.now(CHINA).strftime("%Y-%m")
    if not MONTH.match(month):
        raise Invalid("月份格式为 2026-11", field="month")
    return month


async def _hot_issues(cur, pred: sql.Composable, params: dict) -> list[tuple]:
    """The ten issue types with most cases received this month (%(cur)s..%(end)s), and the month before."""
    await cur.execute(sql.SQL(
        "SELECT v.issue_type, count(*) FILTER (WHERE (v.received_at AT TIME ZONE 'Asia/Shanghai')::date >= %(cur)s),"
        " count(*) FILTER (WHERE (v.received_at AT TIME ZONE 'Asia/Shanghai')::date < %(cur)s)"
        " FROM case_view v JOIN case_scope s ON s.case_id = v.case_id WHERE v.case_no IS NOT NULL AND {}"
        " AND (v.received_at AT TIME ZONE 'Asia/Shanghai')::date >= %(prev)s"
        " AND (v.received_at AT TIME ZONE 'Asia/Shanghai')::date < %(end)s"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10").format(pred), params)
    return await cur.fetchall()


def _received(app: Reporting):
    """An indicator dated by the day received and kept by every grouping (not 千人信访率, kept by
    subsidiary only): every registered case counts in it, so its counts give the volumes and the
    hot issues."""
    return next((k for k in app.kpis.kpis if k.date_basis == "received_at" and not k.per_employees), None)


async def _indicators(app: Reporting, conn, scope: Scope,
                      months: list[str]) -> tuple[list[dict], dict, bool]:
    """Every indicator's numerator and denominator per month of ``months`` and per unit below the
    caller, and the volumes (件次, 人次) per month, and whether they came from the counts kept per
    month (reporting/rollup.py). From the cases (while an indicator is being counted again for a
    new definition): one scan per date basis, every indicator of that basis counted in it."""
    group = "subsidiary" if scope.subtree is None else "unit"
    pred, params = scope.where("s")
    for i, (lo, hi) in enumerate(_ranges(months)):
        params[f"m{i}s"], params[f"m{i}e"] = lo, hi
        params[f"m{i}s_at"], params[f"m{i}e_at"] = _midnight(lo), _midnight(hi)
    counts: dict[str, list] | None = app.rollup and await app.rollup.by_month(conn, app.kpis.kpis, group, months,
                                                                             pred, params)
    counted = counts is not None
    volumes: dict[str, list[int]] = {m: [0, 0] for m in months}
    by_basis: dict[str, list] = {}
    for k in app.kpis.kpis if not counted else ():
        by_basis.setdefault(k.date_basis, []).append(k)
    if counted and _received(app) is not None:
        volumes = await app.rollup.volumes(conn, _received(app), months, pred, params)
    else:
        by_basis.setdefault("received_at", [])  # the volumes are counted in the received_at scan
    counts = counts or {}
    cur = conn.cursor()
    for basis, group_kpis in by_basis.items():
        await cur.execute(combined(basis, group_kpis, pred, len(_ranges(months))), params)
        for row in await cur.fetchall():
            sub, unit, m = row[:3]
            for i, k in enumerate(group_kpis):
                counts.setdefault(k.id, []).append((sub, unit, m, row[3 + 2 * i], row[4 + 2 * i]))
            if basis == "received_at" and m in volumes:
                volumes[m][0] += row[-2]
                volumes[m][1] += row[-1] or 0
    org = app.ctx.org
    out = []
    for k in app.kpis.kpis:
        # 千人信访率 needs a group with a headcount: subsidiaries, or the caller's whole scope
        g = ("subsidiary" if group == "subsidiary" else "total") if k.per_employees else group
        by_month = {m: [0, 0] for m in months}
        by_group: dict[tuple, list[int]] = {}
        for sub, unit, m, n, d in counts.get(k.id, ()):
            if m not in by_month:
                continue
            by_month[m][0] += n
            by_month[m][1] += d
            acc = by_group.setdefault(({"subsidiary": sub, "unit": unit, "total": None}[g], m), [0, 0])
            acc[0] += n
            acc[1] += d

        def point(n: int, d: int, grp=None, whole: bool = True, k=k) -> dict:
            if k.per_employees:  # 件次 per 1,000 employees of the group (or of the whole scope)
                staff = _staff(org, scope) if whole or grp is None else (org.get(grp).employees if grp in org else None)
                return {"value": ratio(d, staff, 1000), "numerator": d, "denominator": staff}
            return {"value": ratio(n, d), "numerator": n, "denominator": d}

        groups = {m: [{"group": grp, "group_name": org.name(grp) or ("合计" if g == "total" else "集团总部本级"),
                       **point(n, d, grp, whole=False)} for (grp, mm), (n, d) in by_group.items() if mm == m]
                  for m in months}
        out.append({"kpi": k, "group_by": g, "months": {m: point(*by_month[m]) for m in months}, "groups": groups})
    return out, volumes, counted


async def overview(app: Reporting, pool, scope: Scope, month: str | None) -> dict:
    """The first screen: every indicator for the month with 环比 and 同比, the comparison across
    the units below the caller, volumes, hot issues, warnings, overdue clocks and 督办 orders.
    The thirteen-month trends come afterwards, from ``trends``."""
    if scope.liaison:
        raise NotAllowed("外部协作方请使用风险信息视图（/risk）")
    month = _month(month)
    year_ago, previous = months_ending(month)[0], months_ending(month)[-2]
    pred, params = scope.where("s")
    params.update(cur=kpis.period_range(month)[0], prev=kpis.period_range(previous)[0], end=kpis.period_range(month)[1])
    org = app.ctx.org
    async with pool.connection() as conn:
        figures, volumes, counted = await _indicators(app, conn, scope, [year_ago, previous, month])
        cur = conn.cursor()
        if counted and _received(app) is not None:
            hot = await app.rollup.hot_issues(conn, _received(app), month, previous, pred, params)
        else:
            hot = await _hot_issues(cur, pred, params)
        lists = {}
        for name, cond in (("overdue", "d.kind = 'duty' AND d.breached_on IS NOT NULL"),
                           ("orders", "d.clock LIKE 'order:%%'")):
            await cur.execute(sql.SQL(
                "SELECT v.case_id::text, v.case_no, v.subsidiary, v.issue_type, d.clock, d.unit, d.due_on, d.basis,"
                " count(*) OVER () FROM case_deadlines d JOIN case_view v ON v.case_id = d.case_id"
                " JOIN case_scope s ON s.case_id = d.case_id WHERE {} AND d.met_on IS NULL AND d.cancelled_on IS NULL"
                " AND {} ORDER BY d.due_on, v.case_no LIMIT 20").format(sql.SQL(cond), pred), params)
            lists[name] = await cur.fetchall()
        await cur.execute(sql.SQL(
            "SELECT a.alert_id::text, a.kind, a.unit, a.case_id::text, a.raised_at, a.message, a.state, count(*) OVER ()"
            " FROM alerts a JOIN case_scope s ON s.case_id = a.case_id WHERE {} {}"
            " ORDER BY a.raised_at DESC LIMIT 10").format(pred, _open_alerts(scope)), params)
        alert_rows = await cur.fetchall()
    indicators = []
    for f in figures:
        k = f["kpi"]
        current, prev, ly = f["months"][month], f["months"][previous], f["months"][year_ago]
        items = sorted(f["groups"][month], key=lambda i: (i["value"] is None, -(i["value"] or 0), i["group"] or ""))
        indicators.append({"id": k.id, "name": k.name, "formula": k.formula, "date_basis": k.date_basis,
                           "choices": k.choices(), "per_employees": k.per_employees, "better": k.better, "month": month,
                           **current,
                           "previous": {"month": previous, **prev}, "last_year": {"month": year_ago, **ly},
                           "change_vs_previous": _delta(current["value"], prev["value"]),
                           "change_vs_last_year": _delta(current["value"], ly["value"]),
                           "groups": items, "group_by": f["group_by"]})
    names = app.issue_names
    return {
        "month": month, "group_by": "subsidiary" if scope.subtree is None else "unit",
        "indicators": indicators,
        "volumes": [{"month": m, "cases": volumes[m][0], "person_times": volumes[m][1]} for m in (year_ago, previous, month)],
        "hot_issues": [{"issue_type": i, "issue_name": names.get(i, i), "cases": n, "previous": p} for i, n, p in hot],
        "alerts": {"total": alert_rows[0][7] if alert_rows else 0,
                   "items": [{"alert_id": a, "kind": kind, "unit": u, "unit_name": org.name(u), "case_id": c,
                              "raised_at": at, "message": msg, "state": st}
                             for a, kind, u, c, at, msg, st, _ in alert_rows]},
        **{name: {"total": rows[0][8] if rows else 0,
                  "items": [{"case_id": c, "case_no": no, "subsidiary": sub, "subsidiary_name": org.name(sub),
                             "issue_name": names.get(it, it), "clock": clock, "unit": u, "unit_name": org.name(u),
                             "due_on": due, "basis": basis} for c, no, sub, it, clock, u, due, basis, _ in rows]}
           for name, rows in lists.items()},
    }


async def trends(app: Reporting, pool, scope: Scope, month: str | None) -> dict:
    """Thirteen months ending with ``month`` of every indicator and of the volumes (loaded after
    the first screen)."""
    if scope.liaison:
        raise NotAllowed("外部协作方请使用风险信息视图（/risk）")
    months = months_ending(_month(month))
    async with pool.connection() as conn:
        figures, volumes, _ = await _indicators(app, conn, scope, months)
    return {"months": months,
            "indicators": [{"id": f["kpi"].id, "trend": [{"month": m, **f["months"][m]} for m in months]} for f in figures],
            "volumes": [{"month": m, "cases": volumes[m][0], "person_times": volumes[m][1]} for m in months]}


def combined(basis_name: str, group_kpis: list, scope_pred: sql.Composable, n_months: int) -> sql.Composable:
    """Numerator and denominator of every indicator of one date basis (the same conditions as
    GET /kpis: kpis.counted), per subsidiary, unit and month, for the months %(m<i>s)s..%(m<i>e)s;
    on the received_at basis also the 件次 and 人次."""
    basis = (sql.SQL("(v.received_at AT TIME ZONE 'Asia/Shanghai')::date") if basis_name == "received_at"
             else sql.SQL("v.{}").format(sql.Identifier(basis_name)))
    counts = []
    for k in group_kpis:
        den, num = kpis.counted(k)
        counts.append(sql.SQL("count(*) FILTER (WHERE ({den}) AND ({num})), count(*) FILTER (WHERE {den})").format(
            den=den, num=num))
    if basis_name == "received_at":
        counts.append(sql.SQL("count(*), sum(v.person_times)"))
    # the received_at basis compares the column itself with the months' bounds at Beijing midnight:
    # converting each row's time to a Beijing date cost 2.3 s over 100,000 cases with 13 months
    raw = sql.SQL("v.received_at") if basis_name == "received_at" else basis
    at = "_at" if basis_name == "received_at" else ""
    months = sql.SQL(" OR ").join(sql.SQL("({b} >= {s} AND {b} < {e})").format(
        b=raw, s=sql.Placeholder(f"m{i}s{at}"), e=sql.Placeholder(f"m{i}e{at}")) for i in range(n_months))
    return sql.SQL(
        "SELECT v.subsidiary, v.assigned_unit, to_char({basis}, 'YYYY-MM'), {counts}"
        " FROM {cases}"
        " WHERE v.case_no IS NOT NULL AND ({months}) AND {scope} GROUP BY 1, 2, 3"
    ).format(basis=basis, counts=sql.SQL(", ").join(counts), months=months, scope=scope_pred, cases=kpis.FROM_CASES)


def _ranges(months: list[str]) -> list[tuple[date, date]]:
    """The months as few [start, end) date ranges as they make (consecutive months merge)."""
    out: list[list[date]] = []
    for m in sorted(months):
        lo, hi = kpis.period_range(m)
        if out and out[-1][1] == lo:
            out[-1][1] = hi
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA)


def _open_alerts(scope: Scope) -> sql.Composable:
    """Warnings nobody has closed yet, of the kinds this principal may see (信访老户: identity roles)."""
    return sql.SQL("AND a.state <> 'closed' AND {}").format(alerting.visible(scope))


def _staff(org, scope: Scope) -> int | None:
    """Employees of the units in a scope (千人信访率 of the whole scope)."""
    return sum(u.employees or 0 for u in org.units.values() if scope.subtree is None or u.id in scope.subtree) or None


def _delta(now, then):
    return None if now is None or then is None else round(now - then, 4)


# -- traces, for operators ---------------------------------------------------------------------------------

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def trace(app: Reporting, principal: Principal, trace_id: str, limit: int = 2000) -> dict:
    """The spans of one trace from the embedded stack's span files (XF_TRACES_DIR), with the batch
    spans that link to it; in production the page links to the trace UI instead (XF_TRACE_UI)."""
    if principal.role not in OPERATOR_ROLES:
        raise NotAllowed("只有运维人员可以查看链路追踪", required=list(OPERATOR_ROLES))
    if not TRACE_ID.match(trace_id):
        raise Invalid("追踪编号应为32位十六进制", field="trace_id")
    directory = app.traces_dir
    if directory is None or not directory.is_dir():
        raise NotFound("本部署未在本地保存链路数据，请使用追踪系统", trace_ui=app.trace_ui)
    needle = trace_id.encode()
    spans = []
    for path in sorted(directory.glob("*.jsonl")):
        with path.open("rb") as f:
            for line in f:
                if needle in line:
                    span = orjson.loads(line)
                    if span["trace_id"] == trace_id or trace_id in span.get("links", ()):  # not a mere mention
                        spans.append(span)
                    if len(spans) >= limit:
                        break
        if len(spans) >= limit:
            break
    if not spans:
        raise NotFound("没有找到这条链路（可能未被采样）", trace_id=trace_id)
    spans.sort(key=lambda s: s["start"])
    t0 = spans[0]["start"]
    return {"trace_id": trace_id, "spans": [
        {"name": s["name"], "service": s["service"], "kind": s["kind"], "status": s["status"],
         "span_id": s["span_id"], "parent_id": s["parent_id"], "linked": s["trace_id"] != trace_id,
         "start_ms": round((s["start"] - t0) / 1e6, 3), "duration_ms": round((s["end"] - s["start"]) / 1e6, 3),
         "attributes": s["attributes"]} for s in spans]}
