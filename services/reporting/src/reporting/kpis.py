"""Indicators as definitions (deploy/seed/kpis.yaml), computed in SQL over the read models.

Every figure comes with its numerator, its denominator, the formula in words and the choices that
change it (e.g. whether 超期未评价 counts as satisfied), for the period asked, the previous one
(环比) and the same one a year before (同比), by any grouping.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field, model_validator

COLUMNS = frozenset({"served_on", "closed_on", "accepted_on", "rejected_on", "final_on", "review_level", "outcome",
                     "evaluation_responsible_unit", "evaluation_petition_office", "channel", "category", "issue_type",
                     "routing_status", "track", "leader", "agreement", "extended", "urgent", "threat", "anonymous"})
DATE_BASIS = ("received_at", "accepted_on", "served_on", "closed_on")
GROUPS = {"subsidiary": "v.subsidiary", "unit": "v.assigned_unit", "channel": "v.channel", "category": "v.category",
          "issue_type": "v.issue_type", "total": "NULL::text"}
CLOCK = re.compile(r"^[a-z_]{1,40}$")
# group_by=collector: who collected the evaluation the indicator reads (satisfaction by collector)
COLLECTOR = "collector"
# a case the level above agreed to leave out of the unit's rates (reporting/fairness.py)
# Every query that counts with ``counted`` joins ``FROM_CASES``: the approved exclusion of a case (at
# most one: kpi_exclusions_open) joined once per row. As an EXISTS it was probed once per FILTER per
# row: 100,000 cases, the dashboard's 13-month trends 1,574 -> 166 ms, its first screen 253 -> 132 ms.
EXCLUDED = sql.SQL("(xq.case_id IS NOT NULL)")
FROM_CASES = sql.SQL("case_view v JOIN case_scope s ON s.case_id = v.case_id"
                     " LEFT JOIN kpi_exclusions xq ON xq.case_id = v.case_id AND xq.state = 'approved'")


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    set: str | None = None
    unset: str | None = None
    field: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    flag: str | None = None
    no_flag: str | None = None
    clock_met: str | None = None
    clock_on_time: str | None = None
    clock_due: str | None = None  # the clock fell due: met (on time or late), or past its day unmet

    @model_validator(mode="after")
    def _known(self) -> Condition:
        for name in (self.set, self.unset, self.field):
            if name is not None and name not in COLUMNS:
                raise ValueError(f"unknown column {name!r}; one of {sorted(COLUMNS)}")
        if self.field is not None and (self.in_ is None) == (self.not_in is None):
            raise ValueError("a field condition needs `in` or `not_in`")
        for clock in (self.clock_met, self.clock_on_time, self.clock_due):
            if clock is not None and not CLOCK.match(clock):
                raise ValueError(f"bad clock name {clock!r}")
        # values become SQL literals in statements that also carry %s parameters (kpis.query,
        # reporting/rollup.py): a % in one would be read as a parameter
        for value in [*(self.in_ or ()), *(self.not_in or ()), self.flag or "", self.no_flag or ""]:
            if "%" in value:
                raise ValueError(f"a condition's value may not contain %: {value!r}")
        return self

    def sql(self) -> sql.Composable:
        """The condition as SQL over ``case_view v``; values are quoted literals (identifiers are
        whitelisted above)."""
        if self.set:
            return sql.SQL("v.{} IS NOT NULL").format(sql.Identifier(self.set))
        if self.unset:
            return sql.SQL("v.{} IS NULL").format(sql.Identifier(self.unset))
        if self.field:
            values = self.in_ if self.in_ is not None else self.not_in
            op = "= ANY({}::text[])" if self.in_ is not None else "<> ALL({}::text[])"
            return sql.SQL("v.{} " + op).format(sql.Identifier(self.field), sql.Literal(values))
        if self.flag:
            return sql.SQL("{} = ANY(v.flags)").format(sql.Literal(self.flag))
        if self.no_flag:
            return sql.SQL("NOT {} = ANY(v.flags)").format(sql.Literal(self.no_flag))
        if self.clock_due:  # 及时 + 超期 + 超期未办: met whenever, or breached and still open
            return sql.SQL("({c} = ANY(v.clocks_met) OR {c} = ANY(v.clocks_overdue))").format(
                c=sql.Literal(self.clock_due))
        clock = self.clock_met or self.clock_on_time
        if clock:  # the case's row lists its clocks met and met late (reporting/store.clocks)
            met = sql.SQL("{} = ANY(v.clocks_met)").format(sql.Literal(clock))
            if self.clock_on_time:
                return sql.SQL("({} AND NOT {} = ANY(v.clocks_late))").format(met, sql.Literal(clock))
            return met
        return sql.SQL("true")


class Kpi(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z_]{1,40}$")
    name: str
    formula: str
    date_basis: Literal["received_at", "accepted_on", "served_on", "closed_on"]
    numerator: list[Condition]
    denominator: list[Condition]
    expired: Literal["excluded", "satisfied", "unsatisfied"] | None = None  # 超期未评价
    evaluation: Literal["evaluation_responsible_unit", "evaluation_petition_office"] | None = None
    per_employees: bool = False
    # fairness (deploy/seed/fairness.yaml): which way is better when units are ranked (none: not
    # ranked), and whether cases approved for exclusion leave the figure (not for volumes)
    better: Literal["higher", "lower"] | None = None
    exclusions: bool = True

    def choices(self) -> dict:
        out = {}
        if self.expired is not None:
            out["超期未评价"] = {"excluded": "不计入", "satisfied": "计为满意", "unsatisfied": "计为不满意"}[self.expired]
        out["申请剔除"] = ("经上一级批准剔除的案件不计入分子和分母" if self.exclusions
                       else "不适用：件次总量照实统计，诉求不合理的信访也已发生")
        return out

    def _conditions(self, part: str) -> list[Condition]:
        conds = list(getattr(self, part))
        if self.expired and self.evaluation and self.expired != "excluded":
            # 超期未评价 joins the denominator; as satisfied, the numerator too
            extra = Condition(field=self.evaluation, **{"in": ["超期未评价"]})
            base = [c for c in conds if c.field != self.evaluation]
            grades = next((c.in_ for c in conds if c.field == self.evaluation), [])
            if part == "denominator" or self.expired == "satisfied":
                conds = base + [Condition(field=self.evaluation, **{"in": [*grades, *extra.in_]})]
        return conds

    def where(self, part: str) -> sql.Composable:
        parts = [c.sql() for c in self._conditions(part)]
        return sql.SQL(" AND ").join(parts) if parts else sql.SQL("true")


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kpis: list[Kpi]

    def get(self, kpi_id: str) -> Kpi | None:
        return next((k for k in self.kpis if k.id == kpi_id), None)


# -- periods ---------------------------------------------------------------------------------------------

PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4]))?$")


def period_range(period: str) -> tuple[date, date]:
    """'2026-11' (month), '2026-Q4' (quarter) or '2026' (year) → [start, end)."""
    m = PERIOD.match(period)
    if not m:
        raise ValueError("期间格式为 2026-11、2026-Q4 或 2026")
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError("月份应为01至12")
        start = date(year, month, 1)
        return start, date(year + (month == 12), month % 12 + 1, 1)
    if m.group(3):
        q = int(m.group(3))
        start = date(year, 3 * q - 2, 1)
        return start, date(year + (q == 4), (3 * q) % 12 + 1, 1)
    return date(year, 1, 1), date(year + 1, 1, 1)


def previous(period: str) -> str:
    """环比: the period before."""
    m = PERIOD.match(period)
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        return f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"
    if m.group(3):
        q = int(m.group(3))
        return f"{year - (q == 1)}-Q{(q - 2) % 4 + 1}"
    return str(year - 1)


def year_before(period: str) -> str:
    """同比: the same period a year before."""
    return str(int(period[:4]) - 1) + period[4:]


def group_column(kpi: Kpi, group: str) -> sql.Composable:
    """The SQL a grouping groups by; ``collector`` only for an indicator that reads an evaluation."""
    if group == COLLECTOR:
        if kpi.evaluation is None:
            raise ValueError(f"指标 {kpi.id} 不读取评价结果，不能按评价收集方分组")
        return sql.SQL("v.{}").format(sql.Identifier(f"{kpi.evaluation}_by"))
    return sql.SQL(GROUPS[group])


def basis_sql(kpi: Kpi) -> sql.Composable:
    """The date that places a case in a period (the received day in Beijing time)."""
    return (sql.SQL("(v.received_at AT TIME ZONE 'Asia/Shanghai')::date") if kpi.date_basis == "received_at"
            else sql.SQL("v.{}").format(sql.Identifier(kpi.date_basis)))


def counted(kpi: Kpi) -> tuple[sql.Composable, sql.Composable]:
    """The denominator's condition once approved exclusions are left out, and the numerator's."""
    den = kpi.where("denominator")
    if kpi.exclusions:
        den = sql.SQL("({}) AND NOT {}").format(den, EXCLUDED)
    return den, kpi.where("numerator")


def query(kpi: Kpi, group: str, scope_pred: sql.Composable, by_month: bool = False, *,
          with_excluded: bool = False) -> sql.Composable:
    """Numerator and denominator per group for one period (%(start)s, %(end)s) within the scope;
    ``by_month``: per group and month of the date basis ('2026-11'), as a second column (trends);
    ``with_excluded``: a last column, the cases the denominator would count but that were excluded."""
    basis = (sql.SQL("(v.received_at AT TIME ZONE 'Asia/Shanghai')::date") if kpi.date_basis == "received_at"
             else sql.SQL("v.{}").format(sql.Identifier(kpi.date_basis)))
    den, num = counted(kpi)
    excluded = (sql.SQL(", count(*) FILTER (WHERE ({}) AND {}) AS excluded").format(kpi.where("denominator"), EXCLUDED)
                if with_excluded and kpi.exclusions else sql.SQL(", 0::bigint AS excluded") if with_excluded else sql.SQL(""))
    month = sql.SQL(", to_char({}, 'YYYY-MM') AS month").format(basis) if by_month else sql.SQL("")
    return sql.SQL(
        "SELECT {g} AS grp, count(*) FILTER (WHERE ({den}) AND ({num})) AS numerator,"
        " count(*) FILTER (WHERE {den}) AS denominator{month}{excluded}"
        " FROM {cases}"
        " WHERE v.case_no IS NOT NULL AND {basis} >= %(start)s AND {basis} < %(end)s AND {scope} GROUP BY {by}"
    ).format(g=group_column(kpi, group), den=den, num=num, basis=basis, scope=scope_pred, month=month, excluded=excluded,
             by=sql.SQL("1, 4" if by_month else "1"), cases=FROM_CASES)

