"""Fairness of the indicators to the units they measure (deploy/seed/fairness.yaml), as pure functions.

- Exclusion on request: a handling unit asks, on a configured ground, that a case be left out of its
  rates; the unit at the level above decides (``approver_of``). Approved cases leave every rate's
  numerator and denominator in SQL (``kpis.EXCLUDED``); volumes keep them.
- Ranking: units are ranked only against units of similar volume (``bands``) and only when the
  indicator's denominator reaches a minimum; ties share a rank (``rank``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backbone.auth import OrgTree
from backbone.errors import Problem


class Ground(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z_]{1,40}$")
    name: str


class ExclusionRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grounds: list[Ground] = Field(min_length=1)
    reasons_min: int = Field(default=10, ge=1)
    reasons_max: int = Field(default=1000, le=1000)

    def ground(self, ground_id: str) -> Ground | None:
        return next((g for g in self.grounds if g.id == ground_id), None)


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z_]{1,40}$")
    name: str
    max: int | None = Field(default=None, ge=0)


class RankingRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_denominator: int = Field(default=5, ge=1)
    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> RankingRules:
        maxima = [b.max for b in self.bands]
        if maxima[-1] is not None or None in maxima[:-1]:
            raise ValueError("only the last volume band is open-ended")
        if maxima[:-1] != sorted(set(maxima[:-1])):
            raise ValueError("volume bands must rise strictly")
        return self


class GovernanceRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    months_before: int = Field(default=6, ge=1, le=36)
    months_after: int = Field(default=6, ge=1, le=36)
    track: list[str] = Field(default_factory=lambda: ["repeat_rate", "satisfaction"])


class FairnessRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exclusion: ExclusionRules
    ranking: RankingRules
    governance: GovernanceRules = Field(default_factory=GovernanceRules)


# who collected an evaluation (backbone.contracts.supervision.Collector), for group_by=collector
COLLECTOR_LABEL = {"handling_unit": "承办单位回访", "petition_office": "信访部门回访", "hq_callback": "总部独立回访",
                   "petitioner": "信访人自评"}
NO_COLLECTOR = "未记录收集方（含超期未评价）"


def refusal(cls: type[Problem], zh: str, en: str, field: str | None = None, **detail) -> Problem:
    """A refusal naming the field and the rule, in Chinese and in English."""
    if field is not None:
        detail["fields"] = [{"field": field, "message": zh, "message_en": en, "type": "rule"}]
    return cls(zh, message_en=en, **detail)


# -- who asks, who decides -----------------------------------------------------------------------------


def approver_of(org: OrgTree, unit: str) -> str:
    """The level above the handling unit: a grass-roots unit's subsidiary, a subsidiary's (or its
    department's) headquarters; headquarters' own cases are decided within headquarters."""
    organ = org.organ_of(unit)
    parent = org.parent_of(organ)
    return organ if parent is None else org.organ_of(parent)


def may_request(org: OrgTree, principal_unit: str, case_unit: str) -> bool:
    """A handler or leader of the handling unit: the unit itself, its company, or a department of it."""
    return principal_unit in org and case_unit in org and org.organ_of(principal_unit) == org.organ_of(case_unit)


def may_decide(org: OrgTree, principal_unit: str, approver_unit: str) -> bool:
    """A principal of the approving organ (its petition office and departments act for it)."""
    return principal_unit in org and org.organ_of(principal_unit) == approver_unit


# -- ranking ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    group: str | None
    volume: int  # 件次 received in the period: what the band is chosen by
    numerator: int
    denominator: int


@dataclass(frozen=True, slots=True)
class Placed:
    entry: Entry
    band: str | None  # None: not in any band (no unit to rank)
    rank: int | None  # None: 不参与排名
    reason: str | None


def band_of(bands: list[Band], volume: int) -> Band:
    return next(b for b in bands if b.max is None or volume <= b.max)


def rank(entries: list[Entry], rules: RankingRules, better: Literal["higher", "lower"]) -> list[Placed]:
    """Each entry's band and rank within it (1 = best; equal rates share a rank and the next rank
    skips: 1, 1, 3), or the reason it is not ranked. Rates compare exactly (as fractions)."""
    out: list[Placed] = []
    ranked: dict[str, list[Entry]] = {}
    for e in entries:
        if e.group is None:
            out.append(Placed(e, None, None, "未分派到承办单位，不参与排名"))
            continue
        band = band_of(rules.bands, e.volume)
        if e.denominator < rules.min_denominator:
            out.append(Placed(e, band.id, None,
                              f"计算件次 {e.denominator} 件，少于参与排名的最低 {rules.min_denominator} 件"))
            continue
        ranked.setdefault(band.id, []).append(e)
    for band_id, members in ranked.items():
        sign = -1 if better == "higher" else 1
        members.sort(key=lambda e: (sign * Fraction(e.numerator, e.denominator), e.group))
        previous, place = None, 0
        for i, e in enumerate(members, start=1):
            value = Fraction(e.numerator, e.denominator)
            if value != previous:
                place, previous = i, value
            out.append(Placed(e, band_id, place, None))
    order = {b.id: i for i, b in enumerate(rules.bands)}
    out.sort(key=lambda p: (p.band is None, order.get(p.band, 0), p.rank is None, p.rank or 0, p.entry.group or ""))
    return out
