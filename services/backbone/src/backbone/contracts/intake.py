"""Events intake publishes."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from .base import Event, PrincipalId, UnitId

Channel = Literal["来信", "来访", "来电", "网上信访", "传真", "领导信箱", "匿名举报箱", "领导接访", "工会转办", "地方转办"]
Category = Literal["建议意见类", "检举控告类", "申诉求决类", "咨询类"]


class IntakeEvent(Event):
    producer: ClassVar[str] = "intake"


class PetitionRegistered(IntakeEvent):
    """A petition was entered in the register (Arts 21, 22, 23)."""

    type: ClassVar[str] = "petition.registered.v1"

    case_id: str = Field(max_length=36)
    case_no: str = Field(max_length=40)
    channel: Channel
    received_at: datetime
    receiving_unit: UnitId
    subsidiary: UnitId | None = Field(description="subsidiary owning the matter; None for headquarters")
    anonymous: bool
    petitioner_count: int = Field(ge=0, le=10_000)
    involved_count: int | None = Field(default=None, ge=1, le=1_000_000, description="涉及人数")
    petitioner_unit: UnitId | None = None
    petitioners_sealed: str | None = Field(default=None, max_length=2_000_000)
    category: Category
    issue_type: str = Field(max_length=64)
    summary_sealed: str = Field(max_length=100_000)
    accused_unit: UnitId | None = None
    accused_principals: list[PrincipalId] = Field(default_factory=list, max_length=50,
                                                  description="accounts of accused persons: the case is hidden from them")
    receipt_code_hash: str | None = Field(default=None, max_length=64)
    petitioner_keys: list[str] = Field(default_factory=list, max_length=1000,
                                       description="keyed hashes (HMAC) of the petitioners' ID numbers and phones")
    urgent: bool = Field(default=False, description="重大紧急 (Art 25)")
    threat: bool = Field(default=False, description="扬言")
    details_sealed: str | None = Field(default=None, max_length=200_000,
                                       description="the channel's own record (postmark, reception record, caller ...), sealed")
    visitor_count: int | None = Field(default=None, ge=1, le=100_000, description="来访人数 (a visit)")
    person_times: int = Field(default=1, ge=1, le=1_000_000,
                              description="人次: every person who came or signed (a visit's visitors, else the petitioners; 1 if anonymous)")
    declared_truthful: bool = Field(default=False, description="the petitioner declared the content true (Art 19 ¶2)")


Flag = Literal[
    "repeat",  # 重复信访: same petitioner, same matter (national 初次/重复 flags)
    "same_matter_in_handling",  # Art 19 ¶3: raised higher while a lower level is handling it
    "final_after_re_review",  # Art 36 ¶3: after 复核, the same facts and reasons
    "duplicate_text",  # 一信多投 / the same letter twice
    "collective",  # 集体访 / 联名
    "skip_level",  # 越级 (未依法逐级走访): a statistic and routing fact, never a mark against the person
    "frequent_petitioner",  # 信访老户
]


class PetitionFlagged(IntakeEvent):
    """A detection rule found something about a registration: the earlier case(s) it links to and,
    where the statute says so, a decision to suggest that a person confirms."""

    type: ClassVar[str] = "petition.flagged.v1"

    case_id: str = Field(max_length=36)
    flag: Flag
    rule: str = Field(max_length=64, description="the detection rule (deploy/seed) that matched")
    linked_case_ids: list[str] = Field(default_factory=list, max_length=100)
    suggestion: Literal["不予受理", "不再受理"] | None = None
    basis: str = Field(default="", max_length=300)
    score: float | None = Field(default=None, ge=0, le=1)
    guidance: str | None = Field(default=None, max_length=300, description="where the petitioner is guided (越级)")


Mark = Literal["threat"]  # 重大紧急 is set in supervision (case.urgent_flagged.v1), which notifies the chain


class PetitionMarked(IntakeEvent):
    """Staff set or cleared a mark on a petition after registration: 扬言 (the petitioner threatens
    an extreme act). The reason is sealed."""

    type: ClassVar[str] = "petition.marked.v1"

    case_id: str = Field(max_length=36)
    mark: Mark
    value: bool
    reason_sealed: str = Field(max_length=20_000)
