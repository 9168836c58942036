"""Who owns a case and whether it is accepted: the routing state of a case and every decision on
it, as pure functions (a command in, events out; ``evolve`` folds routing's own events).

- Routing a registration applies the rule table (data, deploy/seed/routing-rules.yaml): the first
  rule that matches names the unit (归口 / 属地). An accusation (检举控告) goes to discipline
  inspection above the accused unit and never to it or anything under it (Art 22 ¶2, Art 30); a
  petition no rule can route waits in the receiving petition office's 'unroutable' queue.
- 依法分类处理 (Arts 28-31): the unit classifies, then accepts (受理), refuses (不予受理, with the
  legal channel and the article), or sends the case on (转送 / 交办).
- A unit that received a case from another may object within 5 working days (Art 23 ¶3), or later
  ask to return it; only the sender takes it back; units that cannot agree go to their common
  superior (Art 24). Nobody closes a case as "not ours".
- Responsibility: the first unit to handle a case stays accountable (首办); a track with internal
  target days; a leader may take the case (包案); a handler with an interest withdraws (回避,
  Art 28 ¶3); a lead unit and assisting units each with a sub-task; investigation records.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict

from backbone.auth import OrgTree
from backbone.contracts import (
    CaseAccepted,
    CaseAssigned,
    CaseClassified,
    CaseRejected,
    CaseUnroutable,
    HandlerAssigned,
    HandlerRecused,
    InvestigationRecorded,
    JointHandlingSet,
    LeaderTookCase,
    ObjectionDecided,
    ObjectionRaised,
    PetitionFlagged,
    CaseShared,
    CoordinationRecorded,
    JointMeetingRecorded,
    MediationConcluded,
    MediationScheduled,
    MeetingActionDone,
    SharingRevoked,
    PetitionRegistered,
    RoutingEvent,
    Subtask,
    SubtaskReported,
    TrackSet,
)

from .sharing import Mediation, MeetingTask, Share

CHINA = ZoneInfo("Asia/Shanghai")
ACT = "《信访工作条例》"

# the article behind each ground for 不予受理, and behind each legal channel (Art 31 (一)-(四))
REJECT_BASIS = {
    "same_matter_in_handling": ACT + "第十九条第三款",
    "final_after_re_review": ACT + "第三十六条第三款",
    "not_a_petition": ACT + "第二十三条第一款",
}
CHANNEL_BASIS = {
    "诉讼": ACT + "第三十一条第（一）项",
    "劳动人事争议仲裁": ACT + "第三十一条第（二）项",
    "党员申诉": ACT + "第三十一条第（三）项",
    "行政复议": ACT + "第三十一条第（四）项",
    "其他法定途径": ACT + "第三十一条",
}
OBJECTION_WORKING_DAYS = 5  # Art 23 ¶3


class RoutingError(Exception):
    """A routing command that the rules forbid."""


class NoResponsibleUnit(RoutingError):
    pass


# -- the rule table ----------------------------------------------------------------------------------


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

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


class RuleTable(BaseModel):
    model_config = ConfigDict(frozen=True)

    rules: tuple[Rule, ...]
    issue_type_kind: dict[str, str]
    tracks: dict[str, int] = {}

    @classmethod
    def load(cls, rules_path: Path, taxonomy_path: Path, handling_path: Path | None = None) -> RuleTable:
        raw = yaml.safe_load(Path(rules_path).read_text(encoding="utf-8"))
        tax = yaml.safe_load(Path(taxonomy_path).read_text(encoding="utf-8"))
        tracks = {}
        if handling_path is not None and Path(handling_path).exists():
            tracks = dict(yaml.safe_load(Path(handling_path).read_text(encoding="utf-8")).get("tracks") or {})
        rules = []
        for r in raw["rules"]:
            when = r.get("when") or {}
            rules.append(Rule(
                id=r["id"],
                categories=frozenset(when["category"]) if "category" in when else None,
                issue_types=frozenset(when["issue_type"]) if "issue_type" in when else None,
                target_kind=r["target"]["kind"],
                above=r["target"].get("above"),
                auto_accept=bool(r.get("auto_accept", False)),
                basis=r["basis"],
            ))
        return cls(rules=tuple(rules), issue_type_kind={t["id"]: t["route"] for t in tax["issue_types"]}, tracks=tracks)


class PetitionFacts(BaseModel):
    """What routing knows of a petition (its copy of petition.registered.v1)."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    receiving_unit: str
    petitioner_unit: str | None
    subsidiary: str | None
    category: str
    issue_type: str
    accused_unit: str | None
    accused_principals: tuple[str, ...] = ()


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: str
    rule: Rule


def _root(org: OrgTree, unit: str) -> str:
    return org.ancestors_or_self(unit)[-1]


def discipline_above(org: OrgTree, accused: str) -> str | None:
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
            unit = discipline_above(org, p.accused_unit) if p.accused_unit in org else None
        else:
            kind = table.issue_type_kind.get(p.issue_type, "petition_office") if rule.target_kind == "from_issue_type" else rule.target_kind
            unit = org.child_of_kind(owner, kind) or org.child_of_kind(owner, "petition_office")
            if unit is None and org.get(owner).kind == kind:
                unit = owner
        if unit is None:
            raise NoResponsibleUnit(f"规则 {rule.id} 在 {owner} 下找不到承办单位")
        if p.accused_unit and p.accused_unit in org and org.is_within(unit, p.accused_unit):
            # never hand a matter to the unit it is about: go to discipline inspection above it
            unit = discipline_above(org, p.accused_unit)
            if unit is None:
                raise NoResponsibleUnit("被反映单位之上没有纪检监察机构")
        return Decision(unit=unit, rule=rule)
    raise NoResponsibleUnit(f"没有规则适用于 {p.category}/{p.issue_type}")


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


# -- the state of a case --------------------------------------------------------------------------------

Status = Literal["assigned", "unroutable", "accepted", "rejected", "objected", "disputed"]
STATUS_LABEL = {"assigned": "待受理", "unroutable": "待人工分派", "accepted": "办理中", "rejected": "不予受理",
                "objected": "异议待定", "disputed": "争议待上级决定"}
DECIDABLE = ("assigned", "objected", "disputed")  # acceptance not yet decided


class SubtaskState(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: str
    due_on: date
    reported_on: date | None = None


class Suggestion(BaseModel):
    """What a detection rule suggests for the case (a person confirms it)."""

    model_config = ConfigDict(frozen=True)

    flag: str
    linked_case_ids: tuple[str, ...]
    suggestion: str | None
    basis: str


class RoutingCase(BaseModel):
    """Routing's state of one case: exactly the fold of routing's own stream over the registration."""

    model_config = ConfigDict(frozen=True)

    facts: PetitionFacts
    case_no: str
    received_at: datetime
    unit: str | None = None
    status: Status | None = None
    version: int = 0  # of routing's own stream for the case
    category: str = ""
    issue_type: str = ""
    accused_unit: str | None = None
    accused_principals: tuple[str, ...] = ()
    first_unit: str | None = None
    sender: str | None = None  # who sent the case to its current unit (decides an objection)
    mode: str | None = None
    moves: int = 0
    assigned_on: date | None = None
    report_due_on: date | None = None
    objector: str | None = None
    referred_to: str | None = None
    track: str | None = None
    target_days: int | None = None
    leader: str | None = None
    handler: str | None = None
    recused: tuple[str, ...] = ()
    lead_unit: str | None = None
    subtasks: tuple[SubtaskState, ...] = ()
    investigations: int = 0
    accepted_on: date | None = None
    reject_reason_sealed: str | None = None
    legal_channel: str | None = None
    reject_ground: str | None = None
    linked_case_id: str | None = None
    unroutable_reason: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    shares: dict[str, Share] = {}  # 厂地联动: what each external party holds of the case
    mediations: tuple[Mediation, ...] = ()  # 联合调解
    meeting_tasks: tuple[MeetingTask, ...] = ()  # 联席会议 decisions on the case

    @property
    def case_id(self) -> str:
        return self.facts.case_id

    @property
    def is_accusation(self) -> bool:
        return self.category == "检举控告类"


def china_date(t: datetime) -> date:
    """Statutory periods count Beijing calendar days."""
    return t.astimezone(CHINA).date()


def registered(p: PetitionRegistered) -> RoutingCase:
    facts = PetitionFacts(case_id=p.case_id, receiving_unit=p.receiving_unit, petitioner_unit=p.petitioner_unit,
                          subsidiary=p.subsidiary, category=p.category, issue_type=p.issue_type,
                          accused_unit=p.accused_unit, accused_principals=tuple(p.accused_principals))
    return RoutingCase(facts=facts, case_no=p.case_no, received_at=p.received_at, category=p.category,
                       issue_type=p.issue_type, accused_unit=p.accused_unit,
                       accused_principals=tuple(p.accused_principals))


def flagged(case: RoutingCase, event: PetitionFlagged) -> RoutingCase:
    """Intake's detection found something: keep what it suggests beside the case (not a decision)."""
    s = Suggestion(flag=event.flag, linked_case_ids=tuple(event.linked_case_ids), suggestion=event.suggestion,
                   basis=event.basis)
    return case if s in case.suggestions else case.model_copy(update={"suggestions": (*case.suggestions, s)})


def route(case: RoutingCase, table: RuleTable, org: OrgTree, today: date) -> list[RoutingEvent]:
    """Route a newly registered petition: assign it (and accept it when the rule says so), or put it
    in the receiving petition office's unroutable queue."""
    f = case.facts
    try:
        decision = decide(f, table, org)
    except NoResponsibleUnit as e:
        return [CaseUnroutable(case_id=f.case_id, queue_unit=petition_office_for(org, f.receiving_unit), reason=str(e))]
    on = max(today, china_date(case.received_at))
    events: list[RoutingEvent] = [
        CaseAssigned(case_id=f.case_id, unit=decision.unit, subsidiary=org.subsidiary_of(decision.unit),
                     rule_id=decision.rule.id, basis=decision.rule.basis, mode="rule", first_unit=decision.unit,
                     previous_unit=f.receiving_unit if f.receiving_unit != decision.unit else None, on=on)
    ]
    if decision.rule.auto_accept:
        events.append(CaseAccepted(case_id=f.case_id, unit=decision.unit, accepted_on=on, automatic=True,
                                   category=f.category))
    return events


def evolve(case: RoutingCase, event: RoutingEvent) -> RoutingCase:
    """Fold one of routing's own events into the case."""
    c = case
    match event:
        case CaseAssigned():
            if c.status in (None, "unroutable", "objected", "disputed") or event.needs_acceptance:
                status = "assigned"
            else:
                status = c.status
            c = c.model_copy(update=dict(
                unit=event.unit, status=status, unroutable_reason=None, sender=event.previous_unit or c.facts.receiving_unit,
                mode=event.mode, moves=event.moves, first_unit=event.first_unit or c.first_unit or event.unit,
                assigned_on=event.on, report_due_on=event.report_due_on, objector=None, referred_to=None,
                handler=None if event.unit != c.unit else c.handler))
        case CaseUnroutable(queue_unit=unit, reason=reason):
            c = c.model_copy(update=dict(unit=unit, status="unroutable", unroutable_reason=reason))
        case CaseClassified():
            c = c.model_copy(update=dict(category=event.category, issue_type=event.issue_type,
                                         accused_unit=event.accused_unit,
                                         accused_principals=tuple(event.accused_principals)))
        case CaseAccepted():
            c = c.model_copy(update=dict(status="accepted", accepted_on=event.accepted_on, objector=None,
                                         referred_to=None, category=event.category or c.category))
        case CaseRejected():
            c = c.model_copy(update=dict(status="rejected", reject_reason_sealed=event.reason_sealed,
                                         legal_channel=event.legal_channel, reject_ground=event.ground,
                                         linked_case_id=event.linked_case_id))
        case ObjectionRaised():
            c = c.model_copy(update=dict(status="objected" if c.status != "accepted" else c.status,
                                         objector=event.unit, sender=event.sender))
        case ObjectionDecided(agreed=False, referred_to=superior):
            c = c.model_copy(update=dict(status="disputed" if c.status != "accepted" else c.status,
                                         referred_to=superior))
        case TrackSet():
            c = c.model_copy(update=dict(track=event.track, target_days=event.target_days))
        case LeaderTookCase(leader=leader):
            c = c.model_copy(update=dict(leader=leader))
        case HandlerAssigned(handler=handler):
            c = c.model_copy(update=dict(handler=handler))
        case HandlerRecused():
            c = c.model_copy(update=dict(recused=(*c.recused, event.handler), handler=event.replaced_by))
        case JointHandlingSet():
            c = c.model_copy(update=dict(lead_unit=event.lead_unit, subtasks=tuple(
                SubtaskState(unit=s.unit, due_on=s.due_on) for s in event.subtasks)))
        case SubtaskReported():
            c = c.model_copy(update=dict(subtasks=tuple(
                s.model_copy(update={"reported_on": event.on}) if s.unit == event.unit else s for s in c.subtasks)))
        case InvestigationRecorded():
            c = c.model_copy(update=dict(investigations=c.investigations + 1))
        case CaseShared():
            old = c.shares.get(event.party)
            c = c.model_copy(update=dict(shares={**c.shares, event.party: Share(
                party=event.party, preset=event.preset, fields=tuple(event.fields), purpose=event.purpose,
                since=old.since if old else event.on, actions=old.actions if old else 0)}))
        case SharingRevoked():
            c = c.model_copy(update=dict(shares={k: v for k, v in c.shares.items() if k != event.party}))
        case MediationScheduled():
            c = c.model_copy(update=dict(mediations=(*c.mediations, Mediation(
                no=event.no, parties=tuple(event.parties), due_on=event.due_on))))
        case MediationConcluded():
            c = c.model_copy(update=dict(mediations=tuple(
                m.model_copy(update={"result": event.result}) if m.no == event.no else m for m in c.mediations)))
        case JointMeetingRecorded():
            c = c.model_copy(update=dict(meeting_tasks=(*c.meeting_tasks, *(MeetingTask(
                meeting_id=event.meeting_id, no=d.no, owner=d.owner, due_on=d.due_on) for d in event.decisions))))
        case MeetingActionDone():
            c = c.model_copy(update=dict(meeting_tasks=tuple(
                t.model_copy(update={"done_on": event.on})
                if (t.meeting_id, t.no) == (event.meeting_id, event.decision_no) else t for t in c.meeting_tasks)))
        case CoordinationRecorded():
            share = c.shares.get(event.party)
            if share is not None:
                c = c.model_copy(update=dict(shares={**c.shares, event.party: share.model_copy(
                    update={"actions": share.actions + 1})}))
    return c.model_copy(update={"version": c.version + 1})


# -- decisions people make --------------------------------------------------------------------------------


def _not_before_receipt(case: RoutingCase, on: date) -> None:
    if on < china_date(case.received_at):
        raise RoutingError(f"日期 {on} 早于收到信访事项之日 {china_date(case.received_at)}")


def _open(case: RoutingCase) -> None:
    if case.status == "rejected":
        raise RoutingError("案件已不予受理")
    if case.status == "unroutable":
        raise RoutingError("案件尚未分派承办单位，请先人工分派")


def _decidable(case: RoutingCase, on: date) -> None:
    _not_before_receipt(case, on)
    if case.status == "accepted":
        raise RoutingError("案件已受理")
    _open(case)


def classify(case: RoutingCase, category: str, issue_type: str, accused_unit: str | None,
             accused_principals: tuple[str, ...], by_unit: str, on: date, org: OrgTree,
             issue_types: frozenset[str]) -> list[RoutingEvent]:
    """依法分类处理: confirm or correct the category, the issue type and whom the matter accuses."""
    _not_before_receipt(case, on)
    _open(case)
    if issue_type not in issue_types:
        raise RoutingError(f"未知的问题类型 {issue_type}")
    if accused_unit is not None:
        if accused_unit not in org:
            raise RoutingError(f"未知的被反映单位 {accused_unit}")
        if case.unit is not None and org.is_within(case.unit, accused_unit):
            raise RoutingError("案件现由被反映单位或其下属单位承办，须先转交纪检监察机构（《信访工作条例》第三十条）")
    if case.is_accusation and category != "检举控告类" and org.get(by_unit).kind != "discipline":
        raise RoutingError("检举控告类事项的分类只能由纪检监察机构改变")
    return [CaseClassified(case_id=case.case_id, category=category, issue_type=issue_type, accused_unit=accused_unit,
                           accused_principals=list(accused_principals), by_unit=by_unit, on=on)]


def accept(case: RoutingCase, on: date) -> list[RoutingEvent]:
    _decidable(case, on)
    return [CaseAccepted(case_id=case.case_id, unit=case.unit, accepted_on=on, automatic=False, category=case.category)]


def reject(case: RoutingCase, ground: str, legal_channel: str | None, reason_sealed: str, on: date,
           linked_case_id: str | None = None) -> list[RoutingEvent]:
    """不予受理 with the ground and its article; a matter of another statutory procedure names it.
    A matter the statute says is not accepted at all (Art 19 ¶3, Art 36 ¶3) is refused even if it
    was accepted meanwhile (the rule table may accept automatically before detection has run): the
    acceptance is withdrawn."""
    if ground in ("same_matter_in_handling", "final_after_re_review") and case.status == "accepted":
        _not_before_receipt(case, on)
    else:
        _decidable(case, on)
    if ground == "legal_channel":
        if legal_channel is None:
            raise RoutingError("属于其他法定途径的，须写明应当通过的法定途径（《信访工作条例》第三十一条）")
        basis = CHANNEL_BASIS[legal_channel]
    else:
        if ground in ("same_matter_in_handling", "final_after_re_review") and not linked_case_id:
            raise RoutingError("须注明正在办理或已复核终结的原案件")
        basis = REJECT_BASIS[ground]
    return [CaseRejected(case_id=case.case_id, unit=case.unit, reason_sealed=reason_sealed, legal_channel=legal_channel,
                         ground=ground, basis=basis, linked_case_id=linked_case_id, rejected_on=on)]


def check_target(case: RoutingCase, target: str, org: OrgTree) -> None:
    if target not in org:
        raise RoutingError(f"未知的单位 {target}")
    if org.get(target).kind in ("union", "government"):
        raise RoutingError("工会、地方政府不是集团内的承办单位：请以共享方式协同（厂地联动）")
    accused = case.accused_unit
    if accused and accused in org and org.is_within(target, accused):
        raise RoutingError("不得将案件转给被反映的单位或其下属单位（《信访工作条例》第三十条）")


def transfer(case: RoutingCase, target: str, mode: str, reason_sealed: str, on: date, by_unit: str,
             org: OrgTree, report_due_on: date | None = None) -> list[RoutingEvent]:
    """转送 / 交办 (or, for an unroutable case, route by hand) to another unit."""
    _not_before_receipt(case, on)
    if case.status == "rejected":
        raise RoutingError("案件已不予受理，不能转交")
    check_target(case, target, org)
    if target == case.unit and case.status != "unroutable":
        raise RoutingError("案件已由该单位承办")
    if case.is_accusation and case.unit is not None and org.get(case.unit).kind == "discipline" \
            and org.get(target).kind != "discipline" and org.get(by_unit).kind != "discipline":
        raise RoutingError("检举控告类事项移出纪检监察机构须由纪检监察机构决定（《信访工作条例》第三十条）")
    if mode == "交办" and report_due_on is None:
        raise RoutingError("交办须规定报送办理结果的期限（《信访工作条例》第二十二条）")
    if report_due_on is not None and report_due_on < on:
        raise RoutingError("报送期限不能早于交办之日")
    mode = "manual" if case.status == "unroutable" else mode
    away = case.unit is not None and case.unit in org and org.organ_of(case.unit) != org.organ_of(target)
    return [CaseAssigned(case_id=case.case_id, unit=target, subsidiary=org.subsidiary_of(target),
                         rule_id="manual" if mode == "manual" else mode, basis=_transfer_basis(mode),
                         previous_unit=case.unit, reason_sealed=reason_sealed, mode=mode,
                         first_unit=case.first_unit or target, moves=case.moves + (case.status != "unroutable"),
                         on=on, report_due_on=report_due_on, needs_acceptance=away and case.status == "accepted")]


def _transfer_basis(mode: str) -> str:
    return {"转送": ACT + "第二十二条、第二十三条第一款：转送有权处理的单位",
            "交办": ACT + "第二十二条：交办并要求报送办理结果",
            "manual": "人工分派（无规则适用）",
            "returned": ACT + "第二十三条第三款：经送件单位同意退回",
            "superior_decision": ACT + "第二十四条：由共同上级决定承办单位"}[mode]


def object_to(case: RoutingCase, reason_sealed: str, on: date) -> list[RoutingEvent]:
    """The unit holding a case says it is not within its remit: within 5 working days of receiving
    it (Art 23 ¶3), or later as a request to return it — only the sender can agree."""
    _not_before_receipt(case, on)
    _open(case)
    if case.status in ("objected", "disputed"):
        raise RoutingError("已提出异议，等待送件单位或共同上级决定")
    sender = case.sender or case.facts.receiving_unit
    if sender == case.unit:
        raise RoutingError("案件由本单位直接收到，没有可退回的送件单位：请依法受理、不予受理或转送")
    return [ObjectionRaised(case_id=case.case_id, unit=case.unit, sender=sender, reason_sealed=reason_sealed, on=on)]


def decide_objection(case: RoutingCase, agreed: bool, by_unit: str, reason_sealed: str | None, on: date,
                     org: OrgTree) -> list[RoutingEvent]:
    """The sender agrees (the case comes back to it) or refuses (the common superior decides)."""
    _not_before_receipt(case, on)
    if case.status != "objected" and not (case.status == "accepted" and case.objector):
        raise RoutingError("没有待决定的异议")
    if agreed:
        target = case.sender
        return [ObjectionDecided(case_id=case.case_id, agreed=True, by_unit=by_unit, reason_sealed=reason_sealed, on=on),
                CaseAssigned(case_id=case.case_id, unit=target, subsidiary=org.subsidiary_of(target), rule_id="returned",
                             basis=_transfer_basis("returned"), previous_unit=case.unit, mode="returned",
                             first_unit=case.first_unit, moves=case.moves + 1, on=on,
                             needs_acceptance=case.status == "accepted")]
    superior = org.common_superior(case.sender, case.unit)
    return [ObjectionDecided(case_id=case.case_id, agreed=False, by_unit=by_unit, reason_sealed=reason_sealed,
                             referred_to=superior, on=on)]


def decide_dispute(case: RoutingCase, target: str, reason_sealed: str, on: date, org: OrgTree) -> list[RoutingEvent]:
    """The common superior names the unit that handles the case (Art 24)."""
    _not_before_receipt(case, on)
    if case.status != "disputed":
        raise RoutingError("案件没有待上级决定的争议")
    check_target(case, target, org)
    if target == case.unit:  # the objecting unit keeps it: the dispute ends where it stands
        return [CaseAssigned(case_id=case.case_id, unit=target, subsidiary=org.subsidiary_of(target),
                             rule_id="superior_decision", basis=_transfer_basis("superior_decision"),
                             previous_unit=case.sender, reason_sealed=reason_sealed, mode="superior_decision",
                             first_unit=case.first_unit, moves=case.moves, on=case.assigned_on or on)]
    return [CaseAssigned(case_id=case.case_id, unit=target, subsidiary=org.subsidiary_of(target),
                         rule_id="superior_decision", basis=_transfer_basis("superior_decision"),
                         previous_unit=case.unit, reason_sealed=reason_sealed, mode="superior_decision",
                         first_unit=case.first_unit, moves=case.moves + 1, on=on)]


def set_track(case: RoutingCase, track: str, table: RuleTable, on: date) -> list[RoutingEvent]:
    _not_before_receipt(case, on)
    _open(case)
    if track not in table.tracks:
        raise RoutingError(f"未知的办理类别 {track}")
    return [TrackSet(case_id=case.case_id, track=track, target_days=table.tracks[track], on=on)]


def take_case(case: RoutingCase, leader: str, leader_unit: str, on: date, org: OrgTree) -> list[RoutingEvent]:
    """领导包案: a leader of the holding unit or a unit above it."""
    _not_before_receipt(case, on)
    _open(case)
    _not_involved(case, leader, leader_unit, org)
    if case.leader == leader:
        raise RoutingError("已由该领导包案")
    return [LeaderTookCase(case_id=case.case_id, leader=leader, unit=leader_unit, on=on)]


def assign_handler(case: RoutingCase, handler: str, handler_unit: str, on: date, org: OrgTree) -> list[RoutingEvent]:
    _not_before_receipt(case, on)
    _open(case)
    if case.unit is None or (not org.is_within(handler_unit, case.unit) and not org.is_within(case.unit, handler_unit)):
        raise RoutingError("承办人须属于承办单位")
    _not_involved(case, handler, handler_unit, org)
    return [HandlerAssigned(case_id=case.case_id, handler=handler, unit=handler_unit, on=on)]


def _not_involved(case: RoutingCase, principal: str, unit: str, org: OrgTree) -> None:
    if principal in case.recused:
        raise RoutingError("该人员已声明回避（《信访工作条例》第二十八条）")
    if principal in case.accused_principals:
        raise RoutingError("不得由被检举、揭发的人员办理（《信访工作条例》第三十条）")
    if case.accused_unit and case.accused_unit in org and org.is_within(unit, case.accused_unit):
        raise RoutingError("不得由被反映单位的人员办理（《信访工作条例》第三十条）")


def recuse(case: RoutingCase, handler: str, reason_sealed: str, replaced_by: str | None, on: date) -> list[RoutingEvent]:
    """回避 (Art 28 ¶3): the handler withdraws and is replaced."""
    _not_before_receipt(case, on)
    if handler in case.recused:
        raise RoutingError("该人员已声明回避")
    if replaced_by is not None and (replaced_by == handler or replaced_by in case.recused
                                    or replaced_by in case.accused_principals):
        raise RoutingError("接替的承办人不能是须回避的人员")
    return [HandlerRecused(case_id=case.case_id, handler=handler, reason_sealed=reason_sealed, replaced_by=replaced_by,
                           on=on)]


def joint_handling(case: RoutingCase, subtasks: list[Subtask], on: date, org: OrgTree) -> list[RoutingEvent]:
    """主办 (the unit holding the case) and 协办 units, each with its own sub-task and deadline."""
    _not_before_receipt(case, on)
    _open(case)
    seen = set()
    for s in subtasks:
        check_target(case, s.unit, org)
        if s.unit == case.unit:
            raise RoutingError("主办单位不必再作为协办单位")
        if s.unit in seen:
            raise RoutingError(f"协办单位 {s.unit} 重复")
        if s.due_on < on:
            raise RoutingError("协办期限不能早于今天")
        seen.add(s.unit)
    return [JointHandlingSet(case_id=case.case_id, lead_unit=case.unit, subtasks=subtasks, on=on)]


def report_subtask(case: RoutingCase, unit: str, report_sealed: str, on: date, org: OrgTree) -> list[RoutingEvent]:
    _not_before_receipt(case, on)
    mine = [s for s in case.subtasks if org.is_within(unit, s.unit) or org.is_within(s.unit, unit)]
    if not mine:
        raise RoutingError("本单位不是该案件的协办单位")
    return [SubtaskReported(case_id=case.case_id, unit=mine[0].unit, report_sealed=report_sealed, on=on)]


def record_investigation(case: RoutingCase, investigators: list[str], units: list[str], details_sealed: str,
                         on: date, org: OrgTree) -> list[RoutingEvent]:
    """联合调查组: who investigated, when, where, whom they heard and what they found (sealed)."""
    _not_before_receipt(case, on)
    _open(case)
    for u in units:
        if u not in org:
            raise RoutingError(f"未知的单位 {u}")
        if case.accused_unit and case.accused_unit in org and org.is_within(u, case.accused_unit):
            raise RoutingError("调查组不得有被反映单位参加（《信访工作条例》第三十条）")
    for p in investigators:
        if p in case.accused_principals or p in case.recused:
            raise RoutingError("须回避的人员不得参加调查")
    return [InvestigationRecorded(case_id=case.case_id, record_no=case.investigations + 1, investigators=investigators,
                                  units=units, on=on, details_sealed=details_sealed)]
