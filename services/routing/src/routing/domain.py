"""Routing decisions (who owns a case) and the routing state of a case. Pure.

The rule table is data (deploy/seed/routing-rules.yaml); ``decide`` applies the first rule that
matches. An accusation (检举控告) goes to discipline inspection one level above the accused unit
and never to the accused unit or anything under it (条例 Art. 22 ¶2, Art. 30). A petition no rule
can route is not lost: it waits in the 'unroutable' queue of the receiving petition office.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml

from backbone.auth import OrgTree
from backbone.contracts import (
    CaseAccepted,
    CaseAssigned,
    CaseRejected,
    CaseUnroutable,
    PetitionRegistered,
    RoutingEvent,
)

CHINA = ZoneInfo("Asia/Shanghai")


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
    if p.receiving_unit not in org or (p.subsidiary is not None and p.subsidiary not in org):
        raise NoResponsibleUnit(f"登记单位 {p.receiving_unit} 或所属子公司不在组织机构中")
    owner = p.subsidiary or _root(org, p.receiving_unit)
    for rule in table.rules:
        if not rule.matches(p.category, p.issue_type):
            continue
        if rule.above == "accused" and p.accused_unit:
            unit = _discipline_above(org, p.accused_unit) if p.accused_unit in org else None
        else:
            kind = table.issue_type_kind.get(p.issue_type, "petition_office") if rule.target_kind == "from_issue_type" else rule.target_kind
            unit = org.child_of_kind(owner, kind) or org.child_of_kind(owner, "petition_office")
            if unit is None and org.get(owner).kind == kind:
                unit = owner
        if unit is None:
            raise NoResponsibleUnit(f"规则 {rule.id} 在 {owner} 下找不到承办单位")
        if p.accused_unit and p.accused_unit in org and org.is_within(unit, p.accused_unit):
            # never hand a matter to the unit it is about: go to discipline inspection above it
            unit = _discipline_above(org, p.accused_unit)
            if unit is None:
                raise NoResponsibleUnit("被反映单位之上没有纪检监察机构")
        return Decision(unit, rule)
    raise NoResponsibleUnit(f"没有规则适用于 {p.category}/{p.issue_type}")


def check_reassign(p: PetitionFacts, target: str, org: OrgTree) -> None:
    if target not in org:
        raise RoutingError(f"未知的单位 {target}")
    if p.accused_unit and p.accused_unit in org and org.is_within(target, p.accused_unit):
        raise RoutingError("不得将案件转给被反映的单位或其下属单位（《信访工作条例》第三十条）")


def petition_office_for(org: OrgTree, unit: str) -> str:
    """The petition office that holds what cannot be routed: the unit itself if it is one, else the
    nearest one above it (the office of its subsidiary, else of headquarters)."""
    chain = org.ancestors_or_self(unit) if unit in org else [u.id for u in org.units.values() if u.parent is None][:1]
    for u in chain:
        if org.get(u).kind == "petition_office":
            return u
        office = org.child_of_kind(u, "petition_office")
        if office is not None:
            return office
    return chain[-1]


# -- the state of a case, and the decisions on it ---------------------------------------------------

Status = Literal["assigned", "unroutable", "accepted", "rejected"]
STATUS_LABEL = {"assigned": "待受理", "unroutable": "待人工分派", "accepted": "办理中", "rejected": "不予受理"}


@dataclass(frozen=True, slots=True)
class RoutingCase:
    facts: PetitionFacts
    case_no: str
    received_at: datetime
    unit: str | None = None
    status: Status | None = None
    version: int = 0  # of routing's own stream for the case
    reject_reason_sealed: str | None = None
    legal_channel: str | None = None
    unroutable_reason: str | None = None


def china_date(t: datetime) -> date:
    """Statutory periods count Beijing calendar days."""
    return t.astimezone(CHINA).date()


def registered(p: PetitionRegistered) -> RoutingCase:
    facts = PetitionFacts(p.case_id, p.receiving_unit, p.petitioner_unit, p.subsidiary, p.category, p.issue_type,
                          p.accused_unit)
    return RoutingCase(facts, p.case_no, p.received_at)


def route(case: RoutingCase, table: RuleTable, org: OrgTree, today: date) -> list[RoutingEvent]:
    """Route a newly registered petition: assign it (and accept it when the rule says so), or put it
    in the receiving petition office's unroutable queue."""
    f = case.facts
    try:
        decision = decide(f, table, org)
    except NoResponsibleUnit as e:
        return [CaseUnroutable(case_id=f.case_id, queue_unit=petition_office_for(org, f.receiving_unit), reason=str(e))]
    events: list[RoutingEvent] = [
        CaseAssigned(case_id=f.case_id, unit=decision.unit, subsidiary=org.subsidiary_of(decision.unit),
                     rule_id=decision.rule.id, basis=decision.rule.basis)
    ]
    if decision.rule.auto_accept:
        events.append(CaseAccepted(case_id=f.case_id, unit=decision.unit,
                                   accepted_on=max(today, china_date(case.received_at)), automatic=True))
    return events


def evolve(case: RoutingCase, event: RoutingEvent) -> RoutingCase:
    """Fold one of routing's own events into the case."""
    match event:
        case CaseAssigned(unit=unit):
            status = "assigned" if case.status in (None, "unroutable") else case.status
            case = replace(case, unit=unit, status=status, unroutable_reason=None)
        case CaseUnroutable(queue_unit=unit, reason=reason):
            case = replace(case, unit=unit, status="unroutable", unroutable_reason=reason)
        case CaseAccepted():
            case = replace(case, status="accepted")
        case CaseRejected(reason_sealed=reason, legal_channel=channel):
            case = replace(case, status="rejected", reject_reason_sealed=reason, legal_channel=channel)
    return replace(case, version=case.version + 1)


def accept(case: RoutingCase, today: date) -> list[RoutingEvent]:
    _decidable(case)
    return [CaseAccepted(case_id=case.facts.case_id, unit=case.unit, accepted_on=today, automatic=False)]


def reject(case: RoutingCase, reason_sealed: str, legal_channel: str | None, today: date) -> list[RoutingEvent]:
    _decidable(case)
    return [CaseRejected(case_id=case.facts.case_id, unit=case.unit, reason_sealed=reason_sealed,
                         legal_channel=legal_channel, rejected_on=today)]


def reassign(case: RoutingCase, target: str, reason_sealed: str, org: OrgTree) -> list[RoutingEvent]:
    """Hand the case to another unit (or route an unroutable one by hand)."""
    if case.status == "rejected":
        raise RoutingError("案件已不予受理，不能改派")
    check_reassign(case.facts, target, org)
    if target == case.unit and case.status != "unroutable":
        raise RoutingError("案件已由该单位承办")
    return [CaseAssigned(case_id=case.facts.case_id, unit=target, subsidiary=org.subsidiary_of(target),
                         rule_id="manual", basis="人工分派", previous_unit=case.unit, reason_sealed=reason_sealed)]


def _decidable(case: RoutingCase) -> None:
    if case.status == "accepted":
        raise RoutingError("案件已受理")
    if case.status == "rejected":
        raise RoutingError("案件已不予受理")
    if case.status == "unroutable":
        raise RoutingError("案件尚未分派承办单位，请先人工分派")
