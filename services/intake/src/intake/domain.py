"""Registration rules for a petition, and what identifies a person. Pure: no database, no HTTP.

The API turns a request into ``PetitionInput``; ``check`` raises ``RegistrationRejected`` naming
each field that breaks a rule; ``registered_event`` builds the event with identity and free text
sealed. Receipt codes are derived from the case id with a secret key, so they are never stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from backbone.auth import OrgTree
from backbone.contracts import Category, Channel, PetitionRegistered, UnitId, receipt_code_hash
from backbone.sealing import Sealer, keyed_digest

CHINA = ZoneInfo("Asia/Shanghai")
MAX_VISIT_REPRESENTATIVES = 5  # 《信访工作条例》第二十条第三款
MAX_PETITIONERS = 500  # a joint letter (联名信) may carry many signatures; more go in involved_count
# receipt codes are read aloud and typed by petitioners: no 0/O, 1/I/L
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 16  # ~79 bits: not guessable



class Petitioner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    id_number: str | None = Field(default=None, max_length=30)
    phone: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=200)
    unit: UnitId | None = Field(default=None, description="工作单位 (organisation unit id), if an employee")


class PetitionInput(BaseModel):
    """登记信访事项 — what a registrar enters."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    received_at: datetime = Field(description="收到时间; without an offset it is taken as Beijing time")
    receiving_unit: UnitId = Field(description="登记单位 (organisation unit id)")
    anonymous: bool = False
    petitioners: list[Petitioner] = Field(default_factory=list, max_length=MAX_PETITIONERS)
    involved_count: int | None = Field(default=None, ge=1, le=1_000_000, description="涉及人数")
    category: Category
    issue_type: str = Field(min_length=1, max_length=64)
    summary: str = Field(min_length=1, max_length=4000)
    accused_unit: UnitId | None = Field(default=None, description="被反映单位 (organisation unit id)")

    @field_validator("received_at")
    @classmethod
    def _beijing_time(cls, v: datetime) -> AwareDatetime:
        v = v if v.tzinfo else v.replace(tzinfo=CHINA)
        if not datetime(1990, 1, 1, tzinfo=UTC) <= v <= datetime(2200, 1, 1, tzinfo=UTC):
            raise ValueError("收到时间不在合理范围内")
        return v


class RegistrationRejected(Exception):
    def __init__(self, fields: list[dict]):
        super().__init__("; ".join(f"{f['field']}: {f['message']}" for f in fields))
        self.fields = fields


def check(p: PetitionInput, org: OrgTree, issue_types: set[str], now: datetime) -> None:
    bad: list[dict] = []

    def fail(field: str, message: str) -> None:
        bad.append({"field": field, "message": message, "type": "rule"})

    if p.received_at > now + timedelta(minutes=5):
        fail("received_at", "收到时间不能晚于当前时间")
    if p.receiving_unit not in org:
        fail("receiving_unit", f"未知的登记单位 {p.receiving_unit}")
    if p.issue_type not in issue_types:
        fail("issue_type", f"未知的问题类型 {p.issue_type}")
    if p.accused_unit is not None and p.accused_unit not in org:
        fail("accused_unit", f"未知的被反映单位 {p.accused_unit}")
    if p.anonymous and p.petitioners:
        fail("petitioners", "匿名信访不得登记信访人身份")
    if not p.anonymous and not p.petitioners:
        fail("petitioners", "署名信访至少需要一名信访人")
    for i, person in enumerate(p.petitioners):
        if person.unit is not None and person.unit not in org:
            fail(f"petitioners.{i}.unit", f"未知的工作单位 {person.unit}")
    if p.channel in ("来访", "领导接访") and len(p.petitioners) > MAX_VISIT_REPRESENTATIVES:
        fail(
            "petitioners",
            f"多人走访应推选不超过{MAX_VISIT_REPRESENTATIVES}名代表（《信访工作条例》第二十条），其余人数填入涉及人数",
        )
    if p.involved_count is not None and p.involved_count < len(p.petitioners):
        fail("involved_count", "涉及人数不能少于登记的信访人数")
    if bad:
        raise RegistrationRejected(bad)


def subsidiary_for(p: PetitionInput, org: OrgTree) -> str | None:
    """The subsidiary that owns the matter: the petitioner's own, else the receiving unit's."""
    for person in p.petitioners:
        if person.unit:
            return org.subsidiary_of(person.unit)
    return org.subsidiary_of(p.receiving_unit)


def receipt_code(key: bytes, case_id: str) -> str:
    """The anonymous petitioner's code for ``case_id``: derived, so never stored or logged."""
    n = int.from_bytes(keyed_digest(key, case_id)[:12], "big")
    chars = []
    for _ in range(RECEIPT_LENGTH):
        n, i = divmod(n, len(RECEIPT_ALPHABET))
        chars.append(RECEIPT_ALPHABET[i])
    return "".join(chars)


def format_receipt(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def case_number(received_at: datetime, seq: int) -> str:
    return f"XF-{received_at.astimezone(CHINA).year}-{seq:06d}"


def registered_event(
    p: PetitionInput, *, case_id: str, case_no: str, org: OrgTree, sealer: Sealer, receipt: str | None
) -> PetitionRegistered:
    petitioner_unit = next((x.unit for x in p.petitioners if x.unit), None)
    return PetitionRegistered(
        case_id=case_id,
        case_no=case_no,
        channel=p.channel,
        received_at=p.received_at.astimezone(UTC),
        receiving_unit=p.receiving_unit,
        subsidiary=subsidiary_for(p, org),
        anonymous=p.anonymous,
        petitioner_count=len(p.petitioners),
        involved_count=p.involved_count,
        petitioner_unit=petitioner_unit,
        petitioners_sealed=sealer.seal(case_id, [x.model_dump() for x in p.petitioners]) if p.petitioners else None,
        category=p.category,
        issue_type=p.issue_type,
        summary_sealed=sealer.seal(case_id, p.summary),
        accused_unit=p.accused_unit,
        receipt_code_hash=receipt_code_hash(receipt) if receipt else None,
    )
