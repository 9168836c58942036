"""厂地联动, pure: which external parties a case may be shared with, with which fields, and who
may record what on a shared case. The parties, presets and rules are data (deploy/seed/sharing.yaml).

Never shareable: an accusation (检举控告类, or a case naming an accused unit or person), whose
reporter must stay unknown to everyone outside the discipline line (Arts 30, 46(五)). Contact
details and ID numbers only under a preset that includes them, and only to the party types that
preset names.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backbone.auth import OrgTree
from backbone.contracts import CaseShared, CoordinationRecorded, RoutingEvent, SharedField, SharingRevoked

IDENTITY_FIELDS = frozenset({"contact", "id_number"})


class SharingError(Exception):
    pass


class Party(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    type: str
    covers: tuple[str, ...]


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    fields: tuple[SharedField, ...]
    party_types: tuple[str, ...] | None = None  # None: any party type

    @model_validator(mode="after")
    def _identity_is_restricted(self) -> Preset:
        if IDENTITY_FIELDS & set(self.fields) and not self.party_types:
            raise ValueError(f"preset {self.name}: contact or ID numbers need the party types allowed to receive them")
        return self


class ShareRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    issue_types: tuple[str, ...]
    party_type: str
    preset: str
    purpose: str
    basis: str


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    parties: tuple[Party, ...]
    presets: dict[str, Preset]
    purposes: tuple[str, ...]
    rules: tuple[ShareRule, ...] = ()

    def check(self, org: OrgTree) -> Policy:
        for p in self.parties:
            if p.id not in org or org.get(p.id).kind not in ("union", "government"):
                raise ValueError(f"party {p.id}: not a union or government unit of org.yaml")
            for s in p.covers:
                if s not in org:
                    raise ValueError(f"party {p.id}: covers unknown unit {s}")
        for r in self.rules:
            if r.preset not in self.presets or r.purpose not in self.purposes:
                raise ValueError(f"sharing rule {r.id}: unknown preset or purpose")
        return self

    def party(self, party_id: str) -> Party | None:
        return next((p for p in self.parties if p.id == party_id), None)


class Share(BaseModel):
    """What a party holds of a case (routing's state)."""

    model_config = ConfigDict(frozen=True)
    party: str
    preset: str
    fields: tuple[str, ...]
    purpose: str
    since: date
    actions: int = 0


def shareable(category: str, accused_unit: str | None, accused_principals: tuple[str, ...]) -> str | None:
    """Why the case may not be shared at all, or None."""
    if category == "检举控告类" or accused_unit or accused_principals:
        return "检举控告类事项及检举人身份不得共享（《信访工作条例》第三十条、第四十六条第五项）"
    return None


def share(policy: Policy, *, case_id: str, category: str, accused_unit: str | None, accused_principals: tuple[str, ...],
          subsidiary: str | None, party_id: str, preset: str, purpose: str, basis: str, on: date,
          rule_id: str | None = None) -> list[RoutingEvent]:
    why_not = shareable(category, accused_unit, accused_principals)
    if why_not:
        raise SharingError(why_not)
    party = policy.party(party_id)
    if party is None:
        raise SharingError(f"{party_id} 不是登记的外部协作方（工会、地方政府部门）")
    if subsidiary is None or subsidiary not in party.covers:
        raise SharingError(f"{party_id} 的属地不含该案件所属单位 {subsidiary}")
    p = policy.presets.get(preset)
    if p is None:
        raise SharingError(f"未知的共享范围 {preset}，可选：{'、'.join(policy.presets)}")
    if p.party_types is not None and party.type not in p.party_types:
        raise SharingError(f"共享范围「{p.name}」不得提供给{party.type}类协作方")
    if purpose not in policy.purposes:
        raise SharingError(f"未知的共享目的 {purpose}，可选：{'、'.join(policy.purposes)}")
    return [CaseShared(case_id=case_id, party=party.id, party_type=party.type, preset=preset, fields=list(p.fields),
                       purpose=purpose, basis=basis, rule_id=rule_id, on=on)]


def by_rule(policy: Policy, *, case_id: str, category: str, issue_type: str, accused_unit: str | None,
            accused_principals: tuple[str, ...], subsidiary: str | None, on: date) -> list[RoutingEvent]:
    """The shares the rules make as soon as a case is routed (nothing for an accusation)."""
    if shareable(category, accused_unit, accused_principals):
        return []
    out: list[RoutingEvent] = []
    for r in policy.rules:
        if issue_type not in r.issue_types:
            continue
        for party in policy.parties:
            if party.type == r.party_type and subsidiary in party.covers:
                out += share(policy, case_id=case_id, category=category, accused_unit=accused_unit,
                             accused_principals=accused_principals, subsidiary=subsidiary, party_id=party.id,
                             preset=r.preset, purpose=r.purpose, basis=r.basis, on=on, rule_id=r.id)
    return out


def revoke(case_id: str, shares: dict[str, Share], party_id: str, reason_sealed: str | None,
           on: date) -> list[RoutingEvent]:
    if party_id not in shares:
        raise SharingError(f"该案件未向 {party_id} 共享")
    return [SharingRevoked(case_id=case_id, party=party_id, reason_sealed=reason_sealed, on=on)]


def coordinate(case_id: str, shares: dict[str, Share], party_id: str, action: str, note_sealed: str | None,
               attachments: list, on: date) -> list[RoutingEvent]:
    if party_id not in shares:
        raise SharingError("该案件未向本方共享")
    return [CoordinationRecorded(case_id=case_id, party=party_id, action=action, note_sealed=note_sealed,
                                 attachments=attachments, on=on)]


# -- 联合调解 and 联席会议 --------------------------------------------------------------------------------


class Mediation(BaseModel):
    model_config = ConfigDict(frozen=True)
    no: int
    parties: tuple[str, ...]
    due_on: date
    result: str | None = None


def schedule_mediation(case_id: str, shares: dict[str, Share], mediations: tuple[Mediation, ...], parties: list[str],
                       meeting_at, place: str, due_on: date, on: date) -> list[RoutingEvent]:
    from backbone.contracts import MediationScheduled

    missing = [p for p in parties if p not in shares]
    if missing:
        raise SharingError(f"联合调解的协作方须先共享该案件：{'、'.join(missing)}")
    if due_on < on:
        raise SharingError("调解期限不能早于今天")
    return [MediationScheduled(case_id=case_id, no=len(mediations) + 1, parties=parties, meeting_at=meeting_at,
                               place=place, due_on=due_on, on=on)]


def conclude_mediation(case_id: str, mediations: tuple[Mediation, ...], no: int, result: str, text_sealed: str,
                       on: date) -> list[RoutingEvent]:
    from backbone.contracts import MediationConcluded

    m = next((m for m in mediations if m.no == no), None)
    if m is None:
        raise SharingError(f"没有第{no}次联合调解")
    if m.result is not None:
        raise SharingError(f"第{no}次联合调解已有结果：{m.result}")
    return [MediationConcluded(case_id=case_id, no=no, result=result, text_sealed=text_sealed, on=on)]


class MeetingTask(BaseModel):
    model_config = ConfigDict(frozen=True)
    meeting_id: str
    no: int
    owner: str
    due_on: date
    done_on: date | None = None


def action_done(case_id: str, tasks: tuple[MeetingTask, ...], meeting_id: str, no: int, by_unit: str, org: OrgTree,
                on: date) -> list[RoutingEvent]:
    from backbone.contracts import MeetingActionDone

    t = next((t for t in tasks if t.meeting_id == meeting_id and t.no == no), None)
    if t is None:
        raise SharingError("没有这项联席会议决定")
    if t.done_on is not None:
        raise SharingError("该决定已办结")
    if not org.is_within(t.owner, by_unit) and by_unit != t.owner:
        raise SharingError(f"只有责任单位 {t.owner} 或其上级可以报告办结")
    return [MeetingActionDone(case_id=case_id, meeting_id=meeting_id, decision_no=no, on=on)]
