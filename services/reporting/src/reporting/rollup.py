"""Each indicator's counts per month, kept as cases change: what a KPI reads instead of every case.

Each case has one row per indicator in ``kpi_contributions`` (its month empty while the
indicator's date basis is unset: it counts nowhere yet). The row says where the case counts (the
month, the case's scope class, its subsidiary, unit, channel, category, issue type and who
collected the evaluation read) and how (numerator, denominator, excluded: 0 or 1), computed in
SQL from the very conditions ``kpis.query`` filters by.
``kpi_cells`` holds their sums per indicator, grouping, month, value and scope class.

When cases change, ``refresh`` counts them again and adds the difference between their new rows
and their old ones to the cells: one statement, run after the batch's other writes (it reads what
they wrote). A KPI then sums a few cells per group and month, under the same visibility predicate
as cases (``Scope.where`` over the class's columns, which are case_scope's).

Consistency: a refresh runs under a shared lock on the counts and a lock on each of its cases
(``lock``, taken when the projector reads the cases, before anything reads the old rows);
counting an indicator again (``recount``: a changed definition, a rebuild) takes the lock
exclusively. Counts are read only for the definition they were made with
(``kpi_definitions.digest``); for any other, a KPI is counted from case_view as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

import orjson
from psycopg import sql

from backbone import bulk

from . import kpis
from .kpis import Catalogue, Kpi

VERSION = "1"  # counted again when the way of counting changes
_ROLLUP, _CASE = 0x78660001, 0x78660002  # advisory lock keys: the counts, one case
# the groupings kept; the group's total is the sum of its subsidiaries' (each case has one value)
DIMS = ("subsidiary", "unit", "channel", "category", "issue_type", "collector")
_CONTRIBUTION = ("case_id", "kpi_id", "month", "class_key", "subsidiary", "unit", "channel", "category", "issue_type",
                 "collector", "numerator", "denominator", "excluded", "person_times")
# a scope class: the columns of case_scope the visibility predicate reads
_CLASS = sql.SQL("md5(ROW(s.receiving_unit, s.responsible_unit, s.accused_unit, s.involved, s.shared_with,"
                 " s.excluded)::text)::uuid")


# what a case's counts are made of on its row: every column a condition may test, the groupings'
# columns, the flags and the clocks met (and late) or overdue; who may see it is case_scope's (scoped events)
INPUTS = tuple(sorted(kpis.COLUMNS | {"case_no", "received_at", "subsidiary", "assigned_unit", "flags", "person_times",
                                      "evaluation_responsible_unit_by", "evaluation_petition_office_by"}))


def inputs(view: dict, clocks: dict) -> tuple:
    """Pure: what a case's counts depend on among its row's values (``clocks``: store.clocks)."""
    return (*(view.get(c) for c in INPUTS), tuple(clocks["clocks_met"]), tuple(clocks["clocks_late"]),
            tuple(clocks["clocks_overdue"]))


def digest(k: Kpi) -> str:
    """What the counts of ``k`` depend on: its conditions, date basis and choices."""
    shape = k.model_dump(mode="json", by_alias=True, include={"date_basis", "numerator", "denominator", "expired",
                                                              "evaluation", "exclusions"})
    return hashlib.sha256(orjson.dumps([VERSION, shape], option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _flag(cond: sql.Composable) -> sql.Composable:
    # 0 or 1 exactly as count(*) FILTER (WHERE cond) would count the case (a NULL counts as false)
    return sql.SQL("(CASE WHEN {} THEN 1 ELSE 0 END)::smallint").format(cond)


def _bases(catalogue: Catalogue) -> list[str]:
    return sorted({k.date_basis for k in catalogue.kpis})


def _facts(catalogue: Catalogue) -> sql.Composable:
    """Evaluated once per case (``OFFSET 0`` keeps the planner from copying them into each use):
    its scope class, the first day of the month of each date basis, and each indicator's two
    conditions (the numerator's and the denominator's) as booleans."""
    months = [sql.SQL("{b} - (extract(day FROM {b})::int - 1) AS {m}").format(
        b=kpis.basis_sql(Kpi.model_construct(date_basis=basis)), m=sql.Identifier(f"m_{basis}"))
        for basis in _bases(catalogue)]
    conditions = [sql.SQL("({}) AS {}, ({}) AS {}").format(
        k.where("denominator"), sql.Identifier(f"d_{i}"), k.where("numerator"), sql.Identifier(f"n_{i}"))
        for i, k in enumerate(catalogue.kpis)]
    return sql.SQL("SELECT {} AS class_key, {} OFFSET 0").format(_CLASS, sql.SQL(", ").join(months + conditions))


def _per_kpi(i: int, k: Kpi) -> sql.Composable:
    """One VALUES row: what case ``v`` counts in ``k`` (the ``i``-th indicator), from its facts ``f``."""
    den, num = sql.Identifier("f", f"d_{i}"), sql.Identifier("f", f"n_{i}")
    out = kpis.EXCLUDED if k.exclusions else sql.SQL("false")
    collector = (sql.SQL("v.{}").format(sql.Identifier(f"{k.evaluation}_by")) if k.evaluation
                 else sql.SQL("NULL::text"))
    return sql.SQL("({id}, {month}, {collector}, {n}, {d}, {x})").format(
        id=sql.Literal(k.id), month=sql.Identifier("f", f"m_{k.date_basis}"), collector=collector,
        n=_flag(sql.SQL("{} AND NOT {} AND {}").format(den, out, num)),
        d=_flag(sql.SQL("{} AND NOT {}").format(den, out)), x=_flag(sql.SQL("{} AND {}").format(den, out)))


# the cases of a refresh, reached by key whatever the planner knows of the tables' sizes (this
# machine's server runs without autovacuum, so new tables have no statistics): a LATERAL with a
# LIMIT is always a nested loop on the primary key
_THESE_CASES = sql.SQL(
    "unnest(%s::uuid[]) AS i (case_id)"
    " CROSS JOIN LATERAL (SELECT * FROM case_view v WHERE v.case_id = i.case_id LIMIT 1) v"
    " CROSS JOIN LATERAL (SELECT * FROM case_scope s WHERE s.case_id = i.case_id LIMIT 1) s"
    " LEFT JOIN kpi_exclusions xq ON xq.case_id = i.case_id AND xq.state = 'approved'")


def contributions(catalogue: Catalogue, cases: sql.Composable = kpis.FROM_CASES,
                  ready: sql.Composable = sql.SQL("true")) -> sql.Composable:
    """What the cases (``cases``: case_view ``v``, case_scope ``s``, approved exclusions ``xq``)
    count in each indicator of ``ready`` (a condition on ``c.kpi_id``), one row each (``month`` null:
    the date basis is unset, the case counts nowhere), with their scope columns."""
    return sql.SQL(
        "SELECT v.case_id, c.kpi_id, c.month, f.class_key, v.subsidiary, v.assigned_unit AS unit, v.channel,"
        " v.category, v.issue_type, c.collector, c.numerator, c.denominator, c.excluded, v.person_times,"
        " s.receiving_unit, s.responsible_unit, s.accused_unit, s.involved, s.shared_with, s.excluded AS scope_excluded"
        " FROM {cases} CROSS JOIN LATERAL ({facts}) f CROSS JOIN LATERAL (VALUES {rows})"
        " AS c (kpi_id, month, collector, numerator, denominator, excluded)"
        " WHERE v.case_no IS NOT NULL AND ({ready})"
    ).format(cases=cases, facts=_facts(catalogue),
             rows=sql.SQL(", ").join(_per_kpi(i, k) for i, k in enumerate(catalogue.kpis)), ready=ready)


def _cells(source: str, catalogue: Catalogue, signed: bool,
           where: sql.Composable = sql.SQL("true")) -> sql.Composable:
    """The cells' sums of the rows of ``source`` (with a ``sign`` column when ``signed``)."""
    sign = sql.SQL("c.sign") if signed else sql.SQL("1")
    sums = sql.SQL(", ").join(sql.SQL("sum({s} * c.{col})::bigint AS {col}").format(s=sign, col=sql.Identifier(col))
                              for col in ("numerator", "denominator", "excluded", "person_times"))
    having = (sql.SQL(" HAVING sum(c.sign) <> 0 OR sum(c.sign * c.numerator) <> 0 OR sum(c.sign * c.denominator) <> 0"
                      " OR sum(c.sign * c.excluded) <> 0 OR sum(c.sign * c.person_times) <> 0") if signed else sql.SQL(""))
    rated = [k.id for k in catalogue.kpis if k.evaluation]
    # 千人信访率 is read by subsidiary (or for the whole scope) only: its other groupings are not kept
    staffed = [k.id for k in catalogue.kpis if k.per_employees]
    return sql.SQL(
        "SELECT c.kpi_id COLLATE \"C\", g.dim COLLATE \"C\", c.month, coalesce(g.value, '') COLLATE \"C\" AS value,"
        " c.class_key, sum({s})::int AS cases, {sums}"
        " FROM {source} c CROSS JOIN LATERAL (VALUES {dims}) AS g (dim, value)"
        " WHERE c.month IS NOT NULL AND (g.dim <> 'collector' OR c.kpi_id = ANY({rated}::text[]))"
        " AND (g.dim = 'subsidiary' OR c.kpi_id <> ALL({staffed}::text[])) AND {where}"
        " GROUP BY 1, 2, 3, 4, 5{having}"
    ).format(s=sign, sums=sums, source=sql.SQL(source), rated=sql.Literal(rated), staffed=sql.Literal(staffed),
             having=having, where=where,
             dims=sql.SQL(", ").join(sql.SQL("({}, c.{})").format(sql.Literal(d), sql.Identifier(d)) for d in DIMS))


_ADD_CELLS = (" ON CONFLICT (kpi_id, dim, month, value, class_key) DO UPDATE SET cases = k.cases + EXCLUDED.cases,"
              " numerator = k.numerator + EXCLUDED.numerator, denominator = k.denominator + EXCLUDED.denominator,"
              " excluded = k.excluded + EXCLUDED.excluded, person_times = k.person_times + EXCLUDED.person_times")
_NEW_CLASSES = ("INSERT INTO kpi_scope_classes (class_key, receiving_unit, responsible_unit, accused_unit, involved,"
                " shared_with, excluded) SELECT DISTINCT ON (class_key) class_key, receiving_unit, responsible_unit,"
                " accused_unit, involved, shared_with, scope_excluded FROM {} n WHERE NOT EXISTS"
                " (SELECT 1 FROM kpi_scope_classes k WHERE k.class_key = n.class_key) ON CONFLICT DO NOTHING")


def _ready(catalogue: Catalogue) -> sql.Composable:
    pairs = sql.SQL(", ").join(sql.SQL("({}, {})").format(sql.Literal(k.id), sql.Literal(digest(k)))
                               for k in catalogue.kpis)
    return sql.SQL("SELECT kpi_id FROM kpi_definitions WHERE (kpi_id, digest) IN (VALUES {})").format(pairs)


def _refresh(catalogue: Catalogue) -> sql.Composable:
    """Count the cases %s (twice: new rows, old rows) again: their rows that changed are written,
    and the difference goes to the cells (for the indicators counted with these definitions)."""
    cols = sql.SQL(", ").join(map(sql.Identifier, _CONTRIBUTION))
    updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in _CONTRIBUTION[2:])
    return sql.SQL(
        "WITH ok AS ({ready}),"
        " new AS ({new}),"
        " old AS (SELECT {old_cols} FROM unnest(%s::uuid[]) AS i (case_id) CROSS JOIN LATERAL"
        " (SELECT * FROM kpi_contributions c WHERE c.case_id = i.case_id OFFSET 0) c"
        " WHERE c.kpi_id = ANY(ARRAY(SELECT kpi_id FROM ok))),"
        # most refreshes change nothing a KPI counts: only the rows that differ are written and summed
        " added AS (SELECT {cols} FROM new EXCEPT ALL SELECT {cols} FROM old),"
        " removed AS (SELECT {cols} FROM old EXCEPT ALL SELECT {cols} FROM new),"
        " kept AS (INSERT INTO kpi_contributions AS c ({cols}) SELECT {cols} FROM added"
        " ON CONFLICT (case_id, kpi_id) DO UPDATE SET {updates}),"
        " classes AS ({classes}),"
        " signed AS (SELECT 1 AS sign, {cols} FROM added UNION ALL SELECT -1, {cols} FROM removed),"
        " delta AS ({cells})"
        # in key order, so that two writers of the same cells never wait on each other in a circle
        " INSERT INTO kpi_cells AS k SELECT * FROM delta ORDER BY 1, 2, 3, 4, 5{add}"
    ).format(ready=_ready(catalogue), cols=cols, updates=updates,
             old_cols=sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(c)) for c in _CONTRIBUTION),
             classes=sql.SQL(_NEW_CLASSES).format(sql.SQL(
                 "(SELECT * FROM new WHERE class_key = ANY(ARRAY(SELECT class_key FROM added)))")),
             new=contributions(catalogue, _THESE_CASES, sql.SQL("c.kpi_id = ANY(ARRAY(SELECT kpi_id FROM ok))")),
             cells=_cells("signed", catalogue, signed=True), add=sql.SQL(_ADD_CELLS))


class Rollup:
    """The statements that keep and read the counts of one catalogue's indicators."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.digests = {k.id: digest(k) for k in catalogue.kpis}
        self._refresh = _refresh(catalogue).as_string(None) if catalogue.kpis else None

    # -- keeping ---------------------------------------------------------------------------------------

    @staticmethod
    def lock(case_ids: Sequence[str]) -> tuple[str, list]:
        """The shared lock on the counts and one lock per case, in order (a SELECT: it can be sent
        with the reads that begin the transaction)."""
        return ("SELECT pg_advisory_xact_lock_shared(%s, 0), (SELECT count(pg_advisory_xact_lock(%s, hashtext(x)))"
                " FROM (SELECT x FROM unnest(%s::text[]) x ORDER BY x) t)", [_ROLLUP, _CASE, bulk.array(case_ids)])

    def refresh(self, case_ids: Sequence[str]) -> list[tuple[str, list]]:
        """Count these cases again (after the statements that changed them, in the same
        transaction, under ``lock``)."""
        if not case_ids or self._refresh is None:
            return []
        ids = bulk.array(sorted(case_ids))
        return [(self._refresh, [ids, ids])]

    def recount(self, kpi_ids: Sequence[str] | None = None) -> list[tuple[str, list]]:
        """Count every case again in these indicators (None: all; and forget indicators the
        catalogue no longer has), under the exclusive lock."""
        ids = [k.id for k in self.catalogue.kpis] if kpi_ids is None else list(kpi_ids)
        chosen = Catalogue(kpis=[k for k in self.catalogue.kpis if k.id in ids])
        out: list[tuple[str, list]] = [("SELECT pg_advisory_xact_lock(%s, 0)", [_ROLLUP])]
        forget = sql.SQL("true") if kpi_ids is None else sql.SQL("kpi_id = ANY({})").format(sql.Literal(ids))
        for table in ("kpi_cells", "kpi_contributions", "kpi_definitions"):
            out.append((sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(table), forget).as_string(None), None))
        if not chosen.kpis:
            return out
        cols = ", ".join(_CONTRIBUTION)
        chosen_ids = sql.Literal([k.id for k in chosen.kpis])
        out += [
            (sql.SQL(_NEW_CLASSES).format(sql.SQL("(SELECT {} AS class_key, s.*, s.excluded AS scope_excluded"
                                                  " FROM case_scope s)").format(_CLASS)).as_string(None), None),
            (f"INSERT INTO kpi_contributions ({cols}) SELECT {cols} FROM ("
             + contributions(chosen).as_string(None) + ") x", None),
            ("INSERT INTO kpi_cells " + _cells("kpi_contributions", chosen, signed=False,
                                                where=sql.SQL("c.kpi_id = ANY({}::text[])").format(chosen_ids))
             .as_string(None), None),
            ("INSERT INTO kpi_definitions (kpi_id, digest) SELECT * FROM unnest(%s::text[], %s::text[])",
             [bulk.array(k.id for k in chosen.kpis), bulk.array(self.digests[k.id] for k in chosen.kpis)]),
        ]
        return out

    def stale(self, counted: dict[str, str]) -> list[str] | None:
        """Which indicators to count again, given those counted (id -> digest); None: all of them
        (the counts hold indicators this catalogue does not have)."""
        if set(counted) - set(self.digests):
            return None
        return [k for k, d in self.digests.items() if counted.get(k) != d]

    def ensure(self, conn) -> list[str]:
        """Count again, now, every indicator whose counts were made with another definition
        (a psycopg connection; one transaction). Returns the indicators counted."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_ROLLUP])
            counted = dict(conn.execute("SELECT kpi_id, digest FROM kpi_definitions").fetchall())
            stale = self.stale(counted)
            if stale == []:
                return []
            for q, params in self.recount(stale):
                conn.execute(q, params)
        return list(self.digests) if stale is None else stale

    # -- reading ---------------------------------------------------------------------------------------

    async def figures(self, conn, k: Kpi, group: str, periods: dict[str, tuple[date, date]],
                      scope_pred: sql.Composable, params: dict) -> dict[str, dict] | None:
        """Numerator, denominator and excluded per group for each named period, from the counts;
        None when they were not made with ``k``'s definition (count from case_view instead)."""
        if k.per_employees and group not in ("subsidiary", "total"):
            return None  # not kept (see _cells)
        cur = await conn.execute("SELECT 1 FROM kpi_definitions WHERE kpi_id = %s AND digest = %s",
                                 [k.id, self.digests.get(k.id)])
        if await cur.fetchone() is None:
            return None
        bounds = sql.SQL(", ").join(sql.SQL("({}, {}::date, {}::date)").format(sql.Literal(name), sql.Literal(lo),
                                                                               sql.Literal(hi))
                                    for name, (lo, hi) in periods.items())
        group_sql = sql.SQL("NULL::text") if group == "total" else sql.SQL("NULLIF(c.value, '')")
        cur = await conn.execute(sql.SQL(
            "SELECT p.name, {group}, sum(c.numerator)::int, sum(c.denominator)::int, sum(c.excluded)::int"
            " FROM (VALUES {bounds}) AS p (name, lo, hi)"
            " JOIN kpi_cells c ON c.kpi_id = %(xf_kpi)s AND c.dim = %(xf_dim)s AND c.month >= p.lo AND c.month < p.hi"
            " JOIN kpi_scope_classes s ON s.class_key = c.class_key"
            " WHERE {scope} GROUP BY 1, 2 HAVING sum(c.cases) > 0").format(bounds=bounds, scope=scope_pred,
                                                                           group=group_sql),
            {**params, "xf_kpi": k.id, "xf_dim": "subsidiary" if group == "total" else group})
        out: dict[str, dict] = {name: {} for name in periods}
        for name, grp, n, d, x in await cur.fetchall():
            out[name][grp] = (n, d, x)
        return out

    async def by_month(self, conn, indicators: Sequence[Kpi], group: str, months: Sequence[str],
                       scope_pred: sql.Composable, params: dict) -> dict[str, list] | None:
        """The dashboard's figures: numerator and denominator of each indicator per ``group``
        (subsidiary or unit; 千人信访率 by subsidiary) and month ('2026-11'), as rows
        (subsidiary, unit, month, numerator, denominator) with the other grouping empty; None when
        any indicator was counted with another definition."""
        ids = [k.id for k in indicators]
        cur = await conn.execute("SELECT count(*) FROM kpi_definitions WHERE (kpi_id, digest) IN"
                                 " (SELECT * FROM unnest(%s::text[], %s::text[]))",
                                 [ids, [self.digests.get(i, "") for i in ids]])
        if (await cur.fetchone())[0] != len(ids):
            return None
        staffed = [k.id for k in indicators if k.per_employees]
        cur = await conn.execute(sql.SQL(
            "SELECT c.kpi_id, c.dim, NULLIF(c.value, ''), to_char(c.month, 'YYYY-MM'), sum(c.numerator)::int,"
            " sum(c.denominator)::int FROM kpi_cells c JOIN kpi_scope_classes s ON s.class_key = c.class_key"
            " WHERE c.kpi_id = ANY(%(xf_kpis)s::text[]) AND c.dim = ANY(%(xf_dims)s::text[])"
            " AND c.month = ANY(%(xf_months)s::date[]) AND {scope} GROUP BY 1, 2, 3, 4 HAVING sum(c.cases) > 0"
        ).format(scope=scope_pred),
            {**params, "xf_kpis": ids, "xf_dims": sorted({group, "subsidiary"}),
             "xf_months": [f"{m}-01" for m in months]})
        out: dict[str, list] = {i: [] for i in ids}
        for kpi_id, dim, value, month, n, d in await cur.fetchall():
            if dim == ("subsidiary" if kpi_id in staffed else group):
                out[kpi_id].append((value if dim == "subsidiary" else None, value if dim == "unit" else None, month, n, d))
        return out

    async def volumes(self, conn, k: Kpi, months: Sequence[str], scope_pred: sql.Composable,
                      params: dict) -> dict[str, list[int]]:
        """件次 and 人次 per month ('2026-11'), from the counts of ``k`` (an indicator dated by the day
        received: every registered case counts in it, whatever its conditions)."""
        cur = await conn.execute(sql.SQL(
            "SELECT to_char(c.month, 'YYYY-MM'), sum(c.cases)::int, sum(c.person_times)::int FROM kpi_cells c"
            " JOIN kpi_scope_classes s ON s.class_key = c.class_key WHERE c.kpi_id = %(xf_kpi)s"
            " AND c.dim = 'subsidiary' AND c.month = ANY(%(xf_months)s::date[]) AND {scope} GROUP BY 1"
        ).format(scope=scope_pred), {**params, "xf_kpi": k.id, "xf_months": [f"{m}-01" for m in months]})
        out = {m: [0, 0] for m in months}
        for month, cases, person_times in await cur.fetchall():
            out[month] = [cases, person_times]
        return out

    async def hot_issues(self, conn, k: Kpi, month: str, previous: str, scope_pred: sql.Composable,
                         params: dict) -> list[tuple]:
        """The ten issue types with most cases received in ``month`` (and their count the month
        before), from the counts of ``k`` (dated by the day received)."""
        cur = await conn.execute(sql.SQL(
            "SELECT NULLIF(c.value, ''), coalesce(sum(c.cases) FILTER (WHERE c.month = %(xf_cur)s), 0)::int,"
            " coalesce(sum(c.cases) FILTER (WHERE c.month = %(xf_prev)s), 0)::int FROM kpi_cells c"
            " JOIN kpi_scope_classes s ON s.class_key = c.class_key WHERE c.kpi_id = %(xf_kpi)s"
            " AND c.dim = 'issue_type' AND c.month = ANY(ARRAY[%(xf_cur)s, %(xf_prev)s]::date[]) AND {scope}"
            " GROUP BY 1 HAVING sum(c.cases) > 0 ORDER BY 2 DESC, 1 LIMIT 10"
        ).format(scope=scope_pred), {**params, "xf_kpi": k.id, "xf_cur": f"{month}-01", "xf_prev": f"{previous}-01"})
        return await cur.fetchall()

