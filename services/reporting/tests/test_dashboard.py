"""The dashboard's overview and trends give, for every indicator, exactly the numerator and
denominator of GET /kpis on the same fixed case set (real PostgreSQL, reporting's migrations), for
headquarters by subsidiary and for a subsidiary by unit; its month arithmetic is pure."""

from __future__ import annotations

import asyncio
from datetime import date
from types import SimpleNamespace

import pytest

from reporting import dashboard, kpis, usecases
from reporting.rollup import Rollup

from .test_kpis import CATALOGUE, HQ, ORG, S2, nd, pool  # noqa: F401 - the fixed case set and its fixture


def app(rollup=True):
    # the counts kept per month (reporting/rollup.py), or (rollup=False) the cases themselves
    return SimpleNamespace(kpis=CATALOGUE, ctx=SimpleNamespace(org=ORG), issue_names={"wages": "工资待遇"},
                           trace_ui=None, traces_dir=None, rollup=Rollup(CATALOGUE) if rollup else None)


def run(pool, fn, *args, rollup=True):
    from backbone.db import open_async_pool

    database_url, schema = pool

    async def go():
        p = await open_async_pool(database_url, schema, 2)
        try:
            return await fn(app(rollup), p, *args)
        finally:
            await p.close()

    return asyncio.run(go())


def test_months_ending_and_their_ranges():
    assert dashboard.months_ending("2026-02", 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert dashboard.months_ending("2026-11")[0] == "2025-11" and len(dashboard.months_ending("2026-11")) == 13
    assert dashboard._ranges(["2025-11", "2026-10", "2026-11"]) == [(date(2025, 11, 1), date(2025, 12, 1)),
                                                                  (date(2026, 10, 1), date(2026, 12, 1))]
    assert dashboard._ranges(dashboard.months_ending("2027-01")) == [(date(2026, 1, 1), date(2027, 2, 1))]


@pytest.mark.parametrize("scope", [HQ, S2], ids=["headquarters", "subsidiary"])
@pytest.mark.parametrize("month", ["2026-11", "2026-10", "2027-01"])
def test_the_dashboard_from_the_counts_equals_the_dashboard_from_the_cases(pool, scope, month):  # noqa: F811
    for fn in (dashboard.overview, dashboard.trends):
        assert run(pool, fn, scope, month) == run(pool, fn, scope, month, rollup=False), fn.__name__


@pytest.mark.parametrize("scope, group", [(HQ, "subsidiary"), (S2, "unit")], ids=["headquarters", "subsidiary"])
def test_every_indicator_agrees_with_the_kpi_api(pool, scope, group):  # noqa: F811
    o = run(pool, dashboard.overview, scope, "2026-11")
    t = run(pool, dashboard.trends, scope, "2026-11")
    assert o["group_by"] == group
    for item in o["indicators"]:
        want = run(pool, usecases.kpi, scope, item["id"], "2026-11", "total" if item["per_employees"] and group == "unit"
                   else ("subsidiary" if item["per_employees"] else group))
        groups = {i["group"]: i for i in want["items"]}
        got = {g["group"]: g for g in item["groups"]}
        counted = lambda items: {k: nd(v) for k, v in items.items() if v["denominator"] or v["numerator"]}  # noqa: E731
        assert counted(got) == counted(groups), item["id"]
        if not item["per_employees"]:  # the scope's total: the sum over its groups
            n = sum(v["numerator"] for v in groups.values())
            d = sum(v["denominator"] for v in groups.values())
            assert nd(item) == (n, d), item["id"]
            assert nd(item["previous"]) == (sum(v["previous"]["numerator"] for v in groups.values()),
                                            sum(v["previous"]["denominator"] for v in groups.values())), item["id"]
        trend = next(x["trend"] for x in t["indicators"] if x["id"] == item["id"])
        assert [p["month"] for p in trend][-1] == "2026-11" and len(trend) == 13
        assert nd(trend[-1]) == nd(item) and nd(trend[-2]) == nd(item["previous"]) and nd(trend[0]) == nd(item["last_year"])


def test_volumes_and_hot_issues_in_scope(pool):  # noqa: F811
    hq = run(pool, dashboard.overview, HQ, "2026-11")
    s2 = run(pool, dashboard.overview, S2, "2026-11")
    assert [v["cases"] for v in hq["volumes"]] == [1, 1, 7]  # 2025-11, 2026-10, 2026-11 of the fixed set
    assert [v["cases"] for v in s2["volumes"]] == [0, 0, 1]
    assert hq["hot_issues"] == [{"issue_type": "wages", "issue_name": "工资待遇", "cases": 7, "previous": 1}]
    t = run(pool, dashboard.trends, HQ, "2026-11")
    assert sum(v["cases"] for v in t["volumes"]) == 9


def test_a_month_in_bad_shape_is_refused(pool):  # noqa: F811
    from backbone.errors import Invalid

    with pytest.raises(Invalid):
        run(pool, dashboard.overview, HQ, "2026-13")


def test_the_hot_issues_come_from_an_indicator_kept_by_issue_type(pool):  # noqa: F811
    # 千人信访率 first in the catalogue: its counts are kept by subsidiary only, so they cannot
    # give the hot issues; the next indicator dated by the day received does
    from backbone.db import open_async_pool

    first = kpis.Catalogue(kpis=sorted(CATALOGUE.kpis, key=lambda k: not k.per_employees))
    assert first.kpis[0].per_employees
    database_url, schema = pool

    async def go(rollup):
        p = await open_async_pool(database_url, schema, 2)
        a = SimpleNamespace(kpis=first, ctx=SimpleNamespace(org=ORG), issue_names={"wages": "工资待遇"},
                            trace_ui=None, traces_dir=None, rollup=rollup)
        try:
            return await dashboard.overview(a, p, HQ, "2026-11")
        finally:
            await p.close()

    counted, direct = asyncio.run(go(Rollup(first))), asyncio.run(go(None))
    assert counted["hot_issues"] == direct["hot_issues"] and counted["hot_issues"]
    assert counted["volumes"] == direct["volumes"]
