"""What the group decides for itself (deploy/seed/handling.yaml), and the organisation's review and
督办 chains. Pure; loaded once in the composition root."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from backbone.auth import OrgTree


class Period(BaseModel):
    model_config = ConfigDict(frozen=True)

    days: int
    basis: str


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True)

    handling: dict[str, Period]
    tracks: dict[str, int] = {}
    max_moves: int = 3
    evaluation_window_days: int = 30
    followup_days: int = 10
    rehandling_days: int = 30
    order_feedback_days: int = 10
    warn_days: tuple[int, ...] = (5, 2)
    untouched_share: float = 0.5
    execution_days: int = 30
    external_review_body: str = "上级主管部门"

    @classmethod
    def load(cls, path: Path) -> Policy:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        raw["warn_days"] = tuple(sorted(raw.get("warn_days") or (), reverse=True))
        return cls.model_validate(raw)

    def handling_period(self, category: str | None) -> Period:
        return self.handling.get(category or "申诉求决类") or self.handling["申诉求决类"]


def office_of(org: OrgTree, organ: str) -> str:
    """Who acts for an organisation in 信访 matters: its petition office, else the organisation."""
    return org.child_of_kind(organ, "petition_office") or organ


def review_body(org: OrgTree, unit: str) -> str | None:
    """The level above the one whose reply is reviewed (Arts 35, 36): the petition office of the
    organisation above ``unit``'s own (站段 -> 子公司 -> 集团); None above headquarters (outside the
    group)."""
    organ = org.organ_of(unit)
    parent = org.parent_of(organ)
    if parent is None:
        return None
    return office_of(org, org.organ_of(parent))


def supervision_chain(org: OrgTree, unit: str) -> list[tuple[str, str]]:
    """The 督办 levels above a unit, each (level, issuing unit): its organisation's petition office,
    its subsidiary's, headquarters' — consecutive duplicates removed, so an order escalates to a
    different issuer every time."""
    organ = org.organ_of(unit)
    subsidiary = org.subsidiary_of(unit)
    root = org.ancestors_or_self(unit)[-1]
    chain = [("unit", office_of(org, organ))]
    if subsidiary is not None:
        chain.append(("subsidiary", office_of(org, subsidiary)))
    chain.append(("headquarters", office_of(org, root)))
    out: list[tuple[str, str]] = []
    for level, issuer in chain:
        if issuer == unit:
            continue  # a unit does not supervise itself
        if out and out[-1][1] == issuer:
            out[-1] = (level, issuer)  # the same office: the higher level's name
        else:
            out.append((level, issuer))
    return out or [("headquarters", office_of(org, root))]
