"""Every indicator computed by hand on a fixed case set and compared exactly with reporting's SQL
(real PostgreSQL, reporting's own migrations)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from backbone import bulk
from backbone.auth import OrgTree, Principal
from backbone.db import connect, migrate, open_async_pool
from backbone.visibility import Scope
from reporting import kpis, store, usecases
from reporting.bootstrap import MIGRATIONS
from reporting.rollup import Rollup

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
CATALOGUE = kpis.Catalogue.model_validate(yaml.safe_load((SEED / "kpis.yaml").read_text(encoding="utf-8")))
HQ = Scope.of(Principal("hq", "HQ", "hq_analyst"), ORG)
S2 = Scope.of(Principal("s2", "S2", "supervisor"), ORG)


def case(n, sub, received, *, accepted=True, served=None, closed=None, outcome=None, ru=None, po=None, flags=(),
         review=None, channel="来信"):
    unit = f"{sub}-HR"
    day = datetime.fromisoformat(received + "T02:00:00+00:00")
    return {"case_id": str(uuid.UUID(int=n)), "case_no": f"XF-{n}", "subsidiary": sub, "assigned_unit": unit,
            "receiving_unit": f"{sub}-XFB", "received_at": day, "accepted_on": day.date() if accepted else None,
            "channel": channel, "category": "申诉求决类", "issue_type": "wages", "served_on": served, "closed_on": closed,
            "outcome": outcome, "evaluation_responsible_unit": ru, "evaluation_petition_office": po,
            "flags": list(flags), "review_level": review, "person_times": 1 + n % 3}


CASES = [
    case(1, "S1", "2026-11-03", served=date(2026, 11, 20), closed=date(2026, 11, 25), outcome="息诉罢访", ru="满意", po="满意"),
    case(2, "S1", "2026-11-05", served=date(2026, 11, 28), closed=date(2026, 11, 29), outcome="未息诉罢访", ru="不满意"),
    case(3, "S1", "2026-11-10", served=date(2026, 11, 30), closed=date(2026, 11, 30), outcome="息诉罢访", ru="超期未评价",
         flags=["repeat"]),
    case(4, "S1", "2026-11-12", accepted=False, flags=["skip_level"]),  # 超期未受理: no notice, past its day
    case(5, "S2", "2026-11-02", served=date(2026, 11, 15), closed=date(2026, 11, 20), outcome="息诉罢访", ru="基本满意",
         review="复查"),
    case(6, "S1", "2026-10-15"),
    case(7, "S1", "2025-11-10", accepted=False, flags=["repeat"]),
    case(8, "S1", "2026-11-15"),  # accepted, no reply, its 60 days past: 超期未答复
    case(9, "S1", "2026-11-16", served=date(2026, 11, 29), channel="网上信访"),  # served, not yet evaluated (待评价)
]
# (case, clock, met late? — None: past its day and not met) — a clock without a row is not due yet
CLOCKS = [(1, "acceptance_notice", False), (2, "acceptance_notice", True), (3, "acceptance_notice", False),
          (4, "acceptance_notice", None), (5, "acceptance_notice", False), (6, "acceptance_notice", False),
          (8, "acceptance_notice", False), (9, "acceptance_notice", False),
          (1, "handling", False), (2, "handling", True), (3, "handling", False), (5, "handling", False),
          (8, "handling", None), (9, "handling", False)]


def deadline(late):
    return ({"met_on": None, "late": None, "breached_on": date(2026, 11, 28)} if late is None
            else {"met_on": date(2026, 11, 20), "late": late, "breached_on": date(2026, 11, 19) if late else None})


@pytest.fixture(scope="module")
def pool(database_url):
    schema = f"kpi_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, MIGRATIONS)
    with connect(database_url, schema, autocommit=True) as conn:
        # the projection keeps each case's met clocks on its row (store.clocks), as the indicators read them
        met = {c["case_id"]: store.clocks({clock: deadline(late)
                                           for n, clock, late in CLOCKS if str(uuid.UUID(int=n)) == c["case_id"]})
               for c in CASES}
        conn.execute(bulk.insert("case_view", ("case_id", "case_no", "subsidiary", "assigned_unit", "receiving_unit",
                                               "received_at", "accepted_on", "channel", "category", "issue_type",
                                               "served_on",
                                               "closed_on", "outcome", "evaluation_responsible_unit",
                                               "evaluation_petition_office", "flags", "review_level", "clocks_met",
                                               "clocks_late", "clocks_overdue", "person_times")),
                     [bulk.rows({**c, **met[c["case_id"]]} for c in CASES)])
        conn.execute(bulk.insert("case_scope", ("case_id", "received_at", "receiving_unit", "responsible_unit")),
                     [bulk.rows({"case_id": c["case_id"], "received_at": c["received_at"],
                                 "receiving_unit": c["receiving_unit"], "responsible_unit": c["assigned_unit"]}
                                for c in CASES)])
        conn.execute(bulk.insert("case_deadlines", ("case_id", "clock", "starts_on", "due_on", "basis", "met_on", "late",
                                                    "breached_on")),
                     [bulk.rows({"case_id": str(uuid.UUID(int=n)), "clock": clock, "starts_on": date(2026, 1, 1),
                                 "due_on": date(2026, 12, 31), "basis": "b", **deadline(late)}
                                for n, clock, late in CLOCKS)])
        Rollup(CATALOGUE).ensure(conn)
    return database_url, schema


def figures(pool, kpi_id, *, period="2026-11", group="subsidiary", scope=HQ, catalogue=CATALOGUE):
    database_url, schema = pool
    # the counts per month (reporting/rollup.py); a changed definition is counted from the cases
    app = SimpleNamespace(kpis=catalogue, ctx=SimpleNamespace(org=ORG), rollup=Rollup(catalogue))

    async def run():
        p = await open_async_pool(database_url, schema, 2)
        try:
            return await usecases.kpi(app, p, scope, kpi_id, period, group)
        finally:
            await p.close()

    out = asyncio.run(run())
    return {i["group"]: i for i in out["items"]}, out


def nd(item, key=None):
    x = item[key] if key else item
    return (x["numerator"], x["denominator"])


def test_timely_acceptance_with_previous_period_and_last_year(pool):
    by, out = figures(pool, "timely_acceptance")
    # S1's November: 及时受理 1, 3, 8, 9; 超期受理 2; 超期未受理 4
    assert nd(by["S1"]) == (4, 6) and by["S1"]["value"] == round(4 / 6, 4)
    assert nd(by["S2"]) == (1, 1)
    assert nd(by["S1"], "previous") == (1, 1) and by["S1"]["previous"]["period"] == "2026-10"
    assert nd(by["S1"], "last_year") == (0, 0) and by["S1"]["last_year"]["value"] is None
    assert "÷" in out["formula"] and "第二十三条" in out["formula"]


def test_on_time_completion_counts_every_accepted_case_answered_or_not(pool):
    by, _ = figures(pool, "on_time_completion")
    # S1's November, accepted: 按期答复 1, 3, 9; 超期答复 2; 超期未答复 8 (4 was never accepted)
    assert nd(by["S1"]) == (3, 5) and nd(by["S2"]) == (1, 1)


@pytest.mark.parametrize("expired, want", [("excluded", (1, 2)), ("satisfied", (2, 3)), ("unsatisfied", (1, 3))])
def test_satisfaction_and_the_choice_for_expired_evaluations(pool, expired, want):
    cat = CATALOGUE.model_copy(deep=True)
    cat.get("satisfaction").expired = expired
    by, out = figures(pool, "satisfaction", catalogue=cat)
    assert nd(by["S1"]) == want and nd(by["S2"]) == (1, 1)
    assert "超期未评价" in out["choices"]


def test_participation_first_time_resolution_resolution_repeat_and_skip_level(pool):
    # 已评价 1, 2 ÷ (已评价 + 超期未评价 3); 9 is still within its window (待评价): not counted
    assert nd(figures(pool, "participation")[0]["S1"]) == (2, 3)
    by, _ = figures(pool, "first_time_resolution")
    # closed first-time cases 1 and 2 (3 is a repeat); 2 was answered late
    assert nd(by["S1"]) == (1, 2) and nd(by["S2"]) == (0, 1)  # S2's went to 复查
    by, _ = figures(pool, "resolution")
    assert nd(by["S1"]) == (2, 3) and nd(by["S2"]) == (1, 1)  # 息诉罢访 1, 3 of closed 1, 2, 3
    by, _ = figures(pool, "repeat_rate")
    assert nd(by["S1"]) == (1, 6) and nd(by["S1"], "last_year") == (1, 1)
    assert nd(figures(pool, "skip_level_rate")[0]["S1"]) == (1, 6)
    assert nd(figures(pool, "satisfaction_office")[0]["S1"]) == (1, 1)


def test_per_thousand_employees_and_groupings(pool):
    by, _ = figures(pool, "per_thousand")
    assert nd(by["S1"]) == (6, 18000) and by["S1"]["value"] == round(6 * 1000 / 18000, 4)
    total, _ = figures(pool, "repeat_rate", group="total")
    assert nd(total[None]) == (1, 7)
    units, _ = figures(pool, "repeat_rate", group="unit")
    assert set(units) == {"S1-HR", "S2-HR"}
    quarter, _ = figures(pool, "repeat_rate", period="2026-Q4")
    assert nd(quarter["S1"]) == (1, 7) and quarter["S1"]["previous"]["period"] == "2026-Q3"


def test_online_share_counts_every_case_received_online(pool):
    by, out = figures(pool, "online_share")
    assert nd(by["S1"]) == (1, 6) and nd(by["S2"]) == (0, 1)  # case 9 of S1's six November cases
    channels, _ = figures(pool, "online_share", group="channel")
    assert nd(channels["网上信访"]) == (1, 1) and nd(channels["来信"]) == (0, 6)
    assert "第十七条" in out["formula"]


def test_a_subsidiary_sees_only_its_own_figures(pool):
    by, _ = figures(pool, "repeat_rate", scope=S2)
    assert set(by) == {"S2"}


@pytest.mark.parametrize("period", ["2026-13", "26-11", "2026-Q5", "x"])
def test_a_bad_period_is_refused_with_the_field(pool, period):
    from backbone.errors import Invalid

    with pytest.raises(Invalid):
        figures(pool, "repeat_rate", period=period)


def test_the_monthly_report_is_a_workbook_with_the_figures_and_their_formulas(pool):
    import io

    from openpyxl import load_workbook

    database_url, schema = pool
    app = SimpleNamespace(kpis=CATALOGUE, ctx=SimpleNamespace(org=ORG), issue_names={"wages": "工资待遇"}, rollup=None)

    async def run():
        p = await open_async_pool(database_url, schema, 2)
        try:
            return await usecases.monthly_report(app, p, HQ, "2026-11")
        finally:
            await p.close()

    content, name = asyncio.run(run())
    assert name == "信访工作月报-2026-11.xlsx"
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["汇总", "第一工程有限公司", "第二运输有限公司", "超期与督办"]
    summary = wb["汇总"]
    assert summary["A1"].value == "信访工作月报（2026年11月）"
    rows = {r[0]: r for r in summary.iter_rows(min_row=5, values_only=True) if r[0]}
    assert rows["重复信访率"][2:4] == (1, 7) and "÷" in rows["重复信访率"][8]
    assert rows["群众满意率（对责任单位）"][9] == "超期未评价：不计入；申请剔除：经上一级批准剔除的案件不计入分子和分母"
    s1 = {r[0]: r for r in wb["第一工程有限公司"].iter_rows(min_row=4, values_only=True) if r[0]}
    assert s1["及时受理率"][1:4] == (round(4 / 6, 4), 4, 6)
    volume = [r for r in summary.iter_rows(values_only=True) if r[0] == "第一工程有限公司"]
    assert volume and volume[0][1] == 6  # S1's cases received in November
    hot = [r for r in summary.iter_rows(values_only=True) if r[1] == "工资待遇"]
    assert hot and hot[0][2] == 7


def test_the_row_keeps_the_clocks_met_and_those_met_late():
    deadlines = {"handling": {"met_on": date(2026, 11, 2), "late": True}, "acceptance_notice": {"met_on": date(2026, 11, 1)},
                 "review": {"met_on": None}, "transfer": {"met_on": date(2026, 11, 1), "late": False},
                 "objection": {"met_on": None, "breached_on": date(2026, 11, 3)},
                 "report": {"met_on": None, "breached_on": date(2026, 11, 3), "cancelled_on": date(2026, 11, 4)}}
    assert store.clocks(deadlines) == {"clocks_met": ["acceptance_notice", "handling", "transfer"],
                                       "clocks_late": ["handling"], "clocks_overdue": ["objection"]}
    assert store.clocks({}) == {"clocks_met": [], "clocks_late": [], "clocks_overdue": []}
