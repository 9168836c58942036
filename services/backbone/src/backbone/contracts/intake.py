"""Events intake publishes."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from .base import Event, UnitId

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
    receipt_code_hash: str | None = Field(default=None, max_length=64)
