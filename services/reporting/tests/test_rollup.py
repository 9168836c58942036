"""The indicators' counts per month (reporting/rollup.py) against the cases themselves: on a varied
case set, every indicator by every grouping, for every kind of principal and period, read from the
counts equals what kpis.query counts from case_view; counted case by case as the cases change, the
counts equal counting everything again (real PostgreSQL, reporting's own migrations)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from backbone import bulk
from backbone.auth import OrgTree, Principal
from backbone.db import connect, migrate, open_async_pool
from backbone.visibility import Scope
from reporting import kpis, usecases
from reporting.bootstrap import MIGRATIONS
from reporting.rollup import Rollup, digest

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
CATALOGUE = kpis.Catalogue.model_validate(yaml.safe_load((SEED / "kpis.yaml").read_text(encoding="utf-8")))
ROLLUP = Rollup(CATALOGUE)
SCOPES = {
    "headquarters": Scope.of(Principal("hq", "HQ", "hq_analyst"), ORG),
    "subsidiary": Scope.of(Principal("s1", "S1", "supervisor"), ORG),
    "unit": Scope.of(Principal("s1-hr", "S1-HR", "handler"), ORG),
    "accused unit's leader": Scope.of(Principal("s2-u1", "S2-U1", "leader"), ORG),
    "excluded person": Scope.of(Principal("p-7", "S2-HR", "handler"), ORG),
    "union": Scope.of(Principal("union", "UNION-S1", "union_liaison"), ORG),
}
GROUPS = [*kpis.GROUPS, kpis.COLLECTOR]
PERIODS = ["2026-11", "2026-10", "2026-Q4", "2026", "2025-11"]
UNITS = ["S1-HR", "S1-LTX", "S1-U1", "S2-HR", "S2-U1", "S3-HR", "HQ-HR", None]
GRADES = ["满意", "基本满意", "不满意", "超期未评价", None]
COLLECTORS = ["handling_unit", "petition_office", "hq_callback", None]
VIEW = ("case_id", "case_no", "subsidiary", "assigned_unit", "receiving_unit", "received_at", "channel", "category",
        "issue_type", "served_on", "closed_on", "accepted_on", "outcome", "evaluation_responsible_unit",
        "evaluation_responsible_unit_by", "evaluation_petition_office", "evaluation_petition_office_by", "flags",
        "review_level", "clocks_met", "clocks_late")
SCOPE = ("case_id", "received_at", "receiving_unit", "responsible_unit", "accused_unit", "involved", "shared_with",
         "excluded")


def a_case(rng: random.Random, n: int) -> tuple[dict, dict]:
    unit = rng.choice(UNITS)
    sub = ORG.subsidiary_of(unit) if unit else rng.choice(["S1", "S2", None])
    received = datetime(2025, 9, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(0, 15 * 30 * 24))
    day = (received + timedelta(hours=8)).date()
    served = day + timedelta(days=rng.randrange(5, 70)) if rng.random() < 0.7 else None
    closed = served + timedelta(days=rng.randrange(0, 40)) if served and rng.random() < 0.8 else None
    met = sorted(c for c in ("acceptance_notice", "handling") if rng.random() < 0.7)
    view = {"case_id": str(uuid.UUID(int=n)), "case_no": f"XF-{n}" if rng.random() < 0.97 else None,
            "subsidiary": sub, "assigned_unit": unit, "receiving_unit": f"{sub or 'HQ'}-XFB", "received_at": received,
            "channel": rng.choice(["来信", "来访", "网上信访"]), "category": rng.choice(["申诉求决类", "检举控告类", None]),
            "issue_type": rng.choice(["wages", "social_insurance", "housing"]), "served_on": served,
            "closed_on": closed, "accepted_on": day + timedelta(days=3) if rng.random() < 0.8 else None,
            "outcome": rng.choice(["息诉罢访", "未息诉罢访"]) if closed else None,
            "evaluation_responsible_unit": rng.choice(GRADES) if served else None,
            "evaluation_responsible_unit_by": rng.choice(COLLECTORS),
            "evaluation_petition_office": rng.choice(GRADES) if served else None,
            "evaluation_petition_office_by": rng.choice(COLLECTORS),
            "flags": sorted(f for f in ("repeat", "skip_level") if rng.random() < 0.25),
            "review_level": "复查" if closed and rng.random() < 0.2 else None,
            "clocks_met": met, "clocks_late": [c for c in met if rng.random() < 0.3]}
    scope = {"case_id": view["case_id"], "received_at": received, "receiving_unit": view["receiving_unit"],
             "responsible_unit": unit, "accused_unit": "S2-U1" if rng.random() < 0.1 else None,
             "involved": sorted({rng.choice(UNITS[:6]) for _ in range(rng.randrange(0, 3))}),
             "shared_with": ["UNION-S1"] if rng.random() < 0.15 else [],
             "excluded": ["p-7"] if rng.random() < 0.1 else []}
    return view, scope


def write(conn, views: list[dict], scopes: list[dict]) -> None:
    conn.execute(bulk.insert("case_view", VIEW, bulk.update_all(("case_id",), VIEW)), [bulk.rows(views)])
    conn.execute(bulk.insert("case_scope", SCOPE, bulk.update_all(("case_id",), SCOPE)), [bulk.rows(scopes)])


def exclude(conn, case_id: str, state: str = "approved") -> None:
    conn.execute("INSERT INTO kpi_exclusions (exclusion_id, case_id, unit, ground, reasons, approver_unit, requested_by,"
                 " requested_at, state) VALUES (%s, %s, 'S1-HR', 'g', 'r', 'S1', 'x', now(), %s)",
                 [str(uuid.uuid4()), case_id, state])


@pytest.fixture(scope="module")
def cases(database_url):
    schema = f"rollup_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, MIGRATIONS)
    rng = random.Random(20261201)
    made = [a_case(rng, n) for n in range(1, 601)]
    with connect(database_url, schema, autocommit=True) as conn:
        write(conn, [v for v, _ in made], [s for _, s in made])
        for view, _ in made[::17]:
            exclude(conn, view["case_id"])
        for i in range(5, len(made), 23):
            if i % 17:  # one open request per case
                exclude(conn, made[i][0]["case_id"], "pending")
        assert ROLLUP.ensure(conn) == [k.id for k in CATALOGUE.kpis]
    return database_url, schema, made


def read_all(database_url: str, schema: str, rollup: Rollup | None) -> dict:
    """Every indicator by every grouping, scope and period, as GET /kpis/{id} answers."""
    app = SimpleNamespace(kpis=CATALOGUE, ctx=SimpleNamespace(org=ORG), rollup=rollup)

    async def run():
        pool = await open_async_pool(database_url, schema, 2)
        out = {}
        try:
            for k in CATALOGUE.kpis:
                groups = (["subsidiary", "total"] if k.per_employees
                          else [g for g in GROUPS if g != kpis.COLLECTOR or k.evaluation])
                for group in groups:
                    for name, scope in SCOPES.items():
                        for period in PERIODS:
                            out[k.id, group, name, period] = await usecases.kpi(app, pool, scope, k.id, period, group)
        finally:
            await pool.close()
        return out

    return asyncio.run(run())


def cells(database_url: str, schema: str) -> set:
    with connect(database_url, schema) as conn:
        return set(conn.execute("SELECT kpi_id, dim, month, value, class_key, cases, numerator, denominator, excluded"
                                " FROM kpi_cells WHERE (cases, numerator, denominator, excluded) <> (0, 0, 0, 0)"))


def test_the_counts_answer_exactly_as_the_cases_do(cases):
    database_url, schema, _ = cases
    counted, direct = read_all(database_url, schema, ROLLUP), read_all(database_url, schema, None)
    assert counted == direct
    # and the set is varied enough for that to mean something
    some = counted["satisfaction", "subsidiary", "headquarters", "2026"]["items"]
    assert sum(i["excluded"] for i in some) > 0 and len(some) >= 3
    assert counted["repeat_rate", "unit", "union", "2026"]["items"]  # shared with the union: it sees those
    hq = counted["repeat_rate", "total", "headquarters", "2026"]["items"][0]["denominator"]
    for hidden in ("accused unit's leader", "excluded person"):
        assert counted["repeat_rate", "total", hidden, "2026"]["items"][0]["denominator"] < hq


def test_counted_case_by_case_as_cases_change_equals_counting_everything_again(cases):
    database_url, schema, made = cases
    rng = random.Random(7)
    changed = []
    with connect(database_url, schema) as conn:
        for view, scope in rng.sample(made, 150):
            new_view, new_scope = a_case(rng, int(uuid.UUID(view["case_id"])))  # the same case, changed
            new_view["received_at"] = new_scope["received_at"] = view["received_at"] if rng.random() < 0.5 else \
                new_view["received_at"]
            changed.append((new_view, new_scope))
        for view, _ in made[::29]:
            if view["case_id"] not in {v["case_id"] for v, _ in changed}:
                changed.append(({**view, "served_on": None, "closed_on": None}, None))
        ids = sorted({v["case_id"] for v, _ in changed})
        conn.execute(*Rollup.lock(ids))
        write(conn, [v for v, _ in changed], [s for _, s in changed if s is not None])
        for view, _ in changed[:5]:
            conn.execute("UPDATE kpi_exclusions SET state = 'refused' WHERE case_id = %s", [view["case_id"]])
            exclude(conn, view["case_id"]) if rng.random() < 0.5 else None
        for statement in ROLLUP.refresh(ids):
            conn.execute(*statement)
        conn.commit()
    kept = cells(database_url, schema)
    assert read_all(database_url, schema, ROLLUP) == read_all(database_url, schema, None)
    with connect(database_url, schema) as conn:
        for statement in ROLLUP.recount():
            conn.execute(*statement)
        conn.commit()
    assert cells(database_url, schema) == kept


def test_counts_made_with_another_definition_are_not_read(cases):
    database_url, schema, _ = cases
    changed = CATALOGUE.model_copy(deep=True)
    changed.get("satisfaction").expired = "satisfied"
    other = Rollup(changed)
    assert digest(changed.get("satisfaction")) != digest(CATALOGUE.get("satisfaction"))
    assert other.stale({k.id: digest(k) for k in CATALOGUE.kpis}) == ["satisfaction"]
    assert other.stale({"gone": "x"}) is None  # an indicator no longer defined: count all again
    app = SimpleNamespace(kpis=changed, ctx=SimpleNamespace(org=ORG), rollup=other)

    async def run(rollup):
        pool = await open_async_pool(database_url, schema, 2)
        try:
            async with pool.connection() as conn:
                scope = SCOPES["headquarters"]
                pred, params = scope.where("s")
                bounds = {"current": kpis.period_range("2026")}
                figures = await rollup.figures(conn, changed.get("satisfaction"), "subsidiary", bounds, pred, params)
            return figures, await usecases.kpi(app, pool, scope, "satisfaction", "2026", "subsidiary")
        finally:
            await pool.close()

    figures, answer = asyncio.run(run(other))
    assert figures is None  # counted with the other choice: the cases are counted instead
    assert answer["choices"]["超期未评价"] == "计为满意"
    direct = answer
    with connect(database_url, schema, autocommit=True) as conn:
        assert other.ensure(conn) == ["satisfaction"]  # as at the start of a process with the new definition
        figures, answer = asyncio.run(run(other))
        assert figures is not None and answer == direct
        assert ROLLUP.ensure(conn) == ["satisfaction"] and ROLLUP.ensure(conn) == []


def test_a_definition_whose_value_would_read_as_a_parameter_is_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="may not contain %"):
        kpis.Condition.model_validate({"field": "outcome", "in": ["100%"]})
