"""Routing decisions (who owns a case) and the routing state of a case. Pure.

The rule table is data (deploy/seed/routing-rules.yaml); ``decide`` applies the first rule that
matches. An accusation (检举控告) goes to discipline inspection one level above the accused unit
and never to the accused unit or anything under it (条例 Art. 22 ¶2, Art. 30).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from backbone.auth import OrgTree
from backbone.contracts import CaseAccepted, CaseAssigned, CaseRejected


class RoutingError(Exception):
    """A routing command that the rules forbid."""


class NoResponsibleUnit(RoutingError):
    pass


@dataclass(frozen=True)
class Rule:
    id: str
    categories: frozenset[str] | None
    issue_types: frozenset[str] | None
    target_kind: str
    above: str | None
    auto_accept: bool
    basis: str

    def matches(self, category: str, issue_type: str) -> bool:
        return (self.categories is None or category in self.categories) and (
            self.issue_types is None or issue_type in self.issue_types
        )


@dataclass(frozen=True)
class RuleTable:
    rules: tuple[Rule, ...]
    issue_type_kind: dict[str, str]

    @classmethod
    def load(cls, rules_path: Path, taxonomy_path: Path) -> RuleTable:
        raw = yaml.safe_load(Path(rules_path).read_text(encoding="utf-8"))
        tax = yaml.safe_load(Path(taxonomy_path).read_text(encoding="utf-8"))
        rules = []
        for r in raw["rules"]:
            when = r.get("when") or {}
            rules.append(
                Rule(
                    id=r["id"],
                    categories=frozenset(when["category"]) if "category" in when else None,
                    issue_types=frozenset(when["issue_type"]) if "issue_type" in when else None,
                    target_kind=r["target"]["kind"],
                    above=r["target"].get("above"),
                    auto_accept=bool(r.get("auto_accept", False)),
                    basis=r["basis"],
                )
            )
        return cls(tuple(rules), {t["id"]: t["route"] for t in tax["issue_types"]})


@dataclass(frozen=True)
class PetitionFacts:
    """What routing knows of a petition (its copy of petition.registered.v1)."""

    case_id: str
    receiving_unit: str
    petitioner_unit: str | None
    subsidiary: str | None
    category: str
    issue_type: str
    accused_unit: str | None


@dataclass(frozen=True)
class Decision:
    unit: str
    rule: Rule


def _root(org: OrgTree, unit: str) -> str:
    return org.ancestors_or_self(unit)[-1]


def _discipline_above(org: OrgTree, accused: str) -> str | None:
    """The nearest discipline unit strictly above ``accused`` and outside its subtree."""
    cur = org.parent_of(accused)
    while cur is not None:
        d = cur if org.get(cur).kind == "discipline" else org.child_of_kind(cur, "discipline")
        if d is not None and not org.is_within(d, accused):
            return d
        cur = org.parent_of(cur)
    return None


def decide(p: PetitionFacts, table: RuleTable, org: OrgTree) -> Decision:
    owner = p.subsidiary or _root(org, p.receiving_unit)
    for rule in table.rules:
        if not rule.matches(p.category, p.issue_type):
            continue
        if rule.above == "accused" and p.accused_unit:
            unit = _discipline_above(org, p.accused_unit)
        else:
            kind = table.issue_type_kind.get(p.issue_type, "petition_office") if rule.target_kind == "from_issue_type" else rule.target_kind
            unit = org.child_of_kind(owner, kind) or org.child_of_kind(owner, "petition_office")
            if unit is None and org.get(owner).kind == kind:
                unit = owner
        if unit is None:
            raise NoResponsibleUnit(f"规则 {rule.id} 在 {owner} 下找不到承办单位")
        if p.accused_unit and org.is_within(unit, p.accused_unit):
            # never hand a matter to the unit it is about: go to discipline inspection above it
            unit = _discipline_above(org, p.accused_unit)
            if unit is None:
                raise NoResponsibleUnit("被反映单位之上没有纪检监察机构")
        return Decision(unit, rule)
    raise NoResponsibleUnit(f"没有规则适用于 {p.category}/{p.issue_type}")


def check_reassign(p: PetitionFacts, target: str, org: OrgTree) -> None:
    if target not in org:
        raise RoutingError(f"未知的单位 {target}")
    if p.accused_unit and org.is_within(target, p.accused_unit):
        raise RoutingError("不得将案件转给被反映的单位或其下属单位（《信访工作条例》第三十条）")


# -- state -----------------------------------------------------------------------------------


@dataclass
class RoutingState:
    unit: str | None = None
    status: str = "new"  # new -> assigned -> accepted | rejected
    version: int = 0
    history: list[str] = field(default_factory=list)


def apply(state: RoutingState, event_type: str, payload) -> RoutingState:
    match event_type, payload:
        case "case.assigned.v1", CaseAssigned(unit=unit):
            state.unit = unit
            if state.status == "new":
                state.status = "assigned"
            state.history.append(unit)
        case "case.accepted.v1", CaseAccepted():
            state.status = "accepted"
        case "case.rejected.v1", CaseRejected():
            state.status = "rejected"
    state.version += 1
    return state


def fold(events) -> RoutingState:
    state = RoutingState()
    for env in events:
        apply(state, env.type, env.payload())
    return state


def ensure_open_for_decision(state: RoutingState) -> None:
    if state.status == "accepted":
        raise RoutingError("案件已受理")
    if state.status == "rejected":
        raise RoutingError("案件已不予受理")
    if state.status == "new":
        raise RoutingError("案件尚未分派")
