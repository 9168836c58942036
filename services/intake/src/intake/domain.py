"""Registration rules for a petition, and what identifies a person. Pure: no database, no HTTP.

The API turns a request into ``PetitionInput``; ``check`` raises ``RegistrationRejected`` naming
each field that breaks a rule; ``registered_event`` builds the event with identity and free text
sealed. Every petition gets a query code (查询码), derived from the case id with a secret key, so it
is never stored. A person is matched across cases by keyed hashes (HMAC) of their normalised ID
number and phone, which reveal nothing without intake's key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from backbone.auth import OrgTree
from backbone.errors import field_error
from backbone.contracts import Category, Channel, PetitionRegistered, UnitId, receipt_code_hash
from backbone.contracts import PrincipalId as Annotated_Principal
from backbone.sealing import Sealer, keyed_digest

CHINA = ZoneInfo("Asia/Shanghai")
MAX_VISIT_REPRESENTATIVES = 5  # 《信访工作条例》第二十条第三款
MAX_PETITIONERS = 500  # a joint letter (联名信) may carry many signatures; more go in involved_count
# receipt codes are read aloud and typed by petitioners: no 0/O, 1/I/L
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 16  # ~79 bits: not guessable



_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_ok(number: str) -> bool:
    """GB 11643-1999: 17 digits, then the check character (ISO 7064 MOD 11-2)."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    return _ID_CHECK[sum(int(c) * w for c, w in zip(number[:17], _ID_WEIGHTS, strict=True)) % 11] == number[17]


@dataclass(frozen=True)
class DocumentType:
    type: str
    pattern: re.Pattern
    check: str | None = None
    hint: str = ""


class Documents:
    """The identity documents a petitioner may give (deploy/seed/id-documents.yaml), each with the
    pattern its number must match and, for resident IDs, the check digit."""

    def __init__(self, entries: list[dict]):
        self.types = {e["type"]: DocumentType(e["type"], re.compile(e["pattern"]), e.get("check"), e.get("hint", ""))
                      for e in entries}

    def problem(self, id_type: str, number: str) -> str | None:
        doc = self.types.get(id_type)
        if doc is None:
            return f"未知的证件类型 {id_type[:20]}，可选：{'、'.join(self.types)} (unknown document type)"
        if not doc.pattern.fullmatch(number) or (doc.check == "gb11643" and not resident_id_ok(number)):
            what = "且校验位正确" if doc.check == "gb11643" else ""
            return f"{id_type}号码格式不正确（{doc.hint}{what}） ({id_type}: the number does not match its format)"
        return None


# without a group's table (pure tests, a petition built in code): the resident ID's rule, any other document
DEFAULT_DOCUMENTS = Documents([{"type": "居民身份证", "pattern": r"\d{17}[\dX]", "check": "gb11643", "hint": "18位"},
                               *({"type": t, "pattern": r"[A-Za-z0-9\-]{1,30}"} for t in (
                                   "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "港澳台居民居住证",
                                   "外国人永久居留身份证", "其他"))])


def normal_id(number: str) -> str:
    return re.sub(r"\s", "", number).upper()


def normal_phone(phone: str) -> str:
    """Digits only, without the +86 country code: the same phone written two ways is one key."""
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


class Petitioner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    id_type: str = Field(default="居民身份证", min_length=1, max_length=30,
                         description="证件类型（deploy/seed/id-documents.yaml）")
    id_number: str | None = Field(default=None, max_length=30)
    phone: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=200)
    unit: UnitId | None = Field(default=None, description="工作单位 (organisation unit id), if an employee")

    @model_validator(mode="after")
    def _document(self, info: ValidationInfo) -> Petitioner:
        if self.id_number is not None:
            self.id_number = normal_id(self.id_number)
            documents = (info.context or {}).get("documents") or DEFAULT_DOCUMENTS
            problem = documents.problem(self.id_type, self.id_number)
            if problem:
                raise ValueError(problem)
        if self.phone is not None and not 5 <= len(normal_phone(self.phone)) <= 15:
            raise ValueError("电话号码应为5至15位数字 (phone: 5 to 15 digits)")
        return self


# -- what each channel really has (Art 17 and the enterprise's own) --------------------------------


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LetterDetails(_Details):
    """来信"""
    postmark_date: date | None = Field(default=None, description="邮戳日期")
    letter_no: str | None = Field(default=None, max_length=40, description="信件条码")
    sender_address: str | None = Field(default=None, max_length=200, description="寄信地址")


class VisitDetails(_Details):
    """来访: the representatives are the petitioners (no more than 5, Art 20 ¶3); 接谈记录."""
    reception_place: str = Field(min_length=1, max_length=100, description="接待场所")
    visitor_count: int | None = Field(default=None, ge=1, le=100_000, description="来访人数（含代表）")
    received_by: str | None = Field(default=None, max_length=50, description="接谈人")
    record: str | None = Field(default=None, max_length=8000, description="接谈记录")


class LeaderReceptionDetails(VisitDetails):
    """领导接访日"""
    leader: str = Field(min_length=1, max_length=50, description="接访领导")
    reception_date: date | None = Field(default=None, description="接访日")


class PhoneDetails(_Details):
    """来电"""
    caller_number: str | None = Field(default=None, max_length=30, description="来电号码")
    duration_minutes: int | None = Field(default=None, ge=0, le=600, description="通话时长（分钟）")
    recorded: bool = Field(default=False, description="是否录音")


class FaxDetails(_Details):
    """传真"""
    fax_number: str | None = Field(default=None, max_length=30, description="传真号码")
    pages: int | None = Field(default=None, ge=1, le=1000, description="页数")


class OnlineDetails(_Details):
    """网上信访"""
    platform: Literal["本平台门户", "国家信访信息系统", "集团网站", "其他"] = Field(default="本平台门户", description="提交平台")
    declared_truthful: bool = Field(default=False, description="信访人已声明所述属实（第十九条第二款）")


class LeaderMailboxDetails(_Details):
    """领导信箱"""
    mailbox: str = Field(min_length=1, max_length=50, description="信箱（领导或信箱名称）")


class TransferDetails(_Details):
    """工会转办 / 地方转办"""
    from_organisation: str = Field(min_length=1, max_length=100, description="转办机关、组织")
    document_no: str | None = Field(default=None, max_length=60, description="转办文号")
    transferred_on: date | None = Field(default=None, description="转办日期")


class ReportBoxDetails(_Details):
    """匿名举报箱: opened by two people together"""
    box_location: str = Field(min_length=1, max_length=100, description="举报箱位置")
    opened_on: date | None = Field(default=None, description="开箱日期")
    opened_by: list[str] = Field(default_factory=list, max_length=5, description="开箱人（不少于二人）")


CHANNEL_DETAILS: dict[str, type[_Details]] = {
    "来信": LetterDetails, "来访": VisitDetails, "领导接访": LeaderReceptionDetails, "来电": PhoneDetails,
    "传真": FaxDetails, "网上信访": OnlineDetails, "领导信箱": LeaderMailboxDetails, "工会转办": TransferDetails,
    "地方转办": TransferDetails, "匿名举报箱": ReportBoxDetails,
}
VISIT_CHANNELS = ("来访", "领导接访")


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
    accused_principals: list[Annotated_Principal] = Field(default_factory=list, max_length=50,
                                                           description="被反映人的系统账号（案件对其不可见）")
    urgent: bool = Field(default=False, description="重大紧急（第二十五条）")
    threat: bool = Field(default=False, description="扬言")
    details: dict[str, Any] | None = Field(
        default=None, description="该渠道特有的记录，按渠道取字段：" + "；".join(
            f"{c}：{', '.join(m.model_fields)}" for c, m in CHANNEL_DETAILS.items()),
        json_schema_extra={"maxProperties": 20})

    @field_validator("received_at")
    @classmethod
    def _beijing_time(cls, v: datetime) -> AwareDatetime:
        v = v if v.tzinfo else v.replace(tzinfo=CHINA)
        if not datetime(1990, 1, 1, tzinfo=UTC) <= v <= datetime(2200, 1, 1, tzinfo=UTC):
            raise ValueError("收到时间不在合理范围内")
        return v


DECLARATION = ("本人承诺：所反映的情况客观真实，对所提供材料内容的真实性负责，不捏造、歪曲事实，"
               "不诬告、陷害他人（《信访工作条例》第十九条第二款）。")
# the four categories in a petitioner's words (Art 28's 依法分类 is the registrar's, who may correct it)
CATEGORY_PLAIN = {"申诉求决类": "反映诉求、请求解决问题", "建议意见类": "提出意见建议", "检举控告类": "检举、控告",
                  "咨询类": "咨询政策"}


class OnlineSubmission(BaseModel):
    """网上信访 submitted by the petitioner through the portal."""

    model_config = ConfigDict(extra="forbid")

    receiving_unit: UnitId = Field(description="向哪个信访工作机构反映")
    anonymous: bool = Field(default=False, description="匿名（无法回复和评价，只能凭查询码查询进度）")
    name: str | None = Field(default=None, min_length=1, max_length=50, description="姓名")
    id_type: str = Field(default="居民身份证", min_length=1, max_length=30)
    id_number: str | None = Field(default=None, max_length=30, description="证件号码")
    phone: str | None = Field(default=None, max_length=30, description="联系电话")
    address: str | None = Field(default=None, max_length=200, description="通讯地址")
    unit: UnitId | None = Field(default=None, description="工作单位")
    involved_count: int | None = Field(default=None, ge=1, le=1_000_000, description="涉及人数")
    category: Category = "申诉求决类"
    issue_type: str = Field(min_length=1, max_length=64)
    summary: str = Field(min_length=10, max_length=4000, description="反映的事实、理由和请求")
    declaration: bool = Field(description="信访人已阅读并同意真实性承诺（第十九条第二款）")

    @model_validator(mode="after")
    def _signed(self) -> OnlineSubmission:
        if not self.declaration:
            raise ValueError("请阅读并勾选真实性承诺（《信访工作条例》第十九条第二款） (the truthfulness declaration is required)")
        if not self.anonymous and not self.name:
            raise ValueError("署名信访请填写姓名，或选择匿名 (a name, or anonymous)")
        if not self.anonymous and not (self.phone or self.address):
            raise ValueError("请留下电话或通讯地址，以便告知办理情况（第二十三条） (a phone or an address to reply to)")
        return self

    def petition(self, now: datetime, documents: Documents | None = None) -> PetitionInput:
        people = [] if self.anonymous else [{
            "name": self.name, "id_type": self.id_type, "id_number": self.id_number, "phone": self.phone,
            "address": self.address, "unit": self.unit}]
        return PetitionInput.model_validate(dict(
            channel="网上信访", received_at=now, receiving_unit=self.receiving_unit, anonymous=self.anonymous,
            petitioners=people, involved_count=self.involved_count, category=self.category, issue_type=self.issue_type,
            summary=self.summary, details={"platform": "本平台门户", "declared_truthful": True}),
            context={"documents": documents})


class RegistrationRejected(Exception):
    def __init__(self, fields: list[dict]):
        super().__init__("; ".join(f"{f['field']}: {f['message']}" for f in fields))
        self.fields = fields


def check(p: PetitionInput, org: OrgTree, issue_types: set[str], now: datetime) -> None:
    bad: list[dict] = []

    def fail(field: str, message: str, english: str) -> None:
        bad.append({"field": field, "message": message, "message_en": english, "type": "rule"})

    if p.received_at > now + timedelta(minutes=5):
        fail("received_at", "收到时间不能晚于当前时间", "received_at cannot be in the future")
    if p.receiving_unit not in org:
        fail("receiving_unit", f"未知的登记单位 {p.receiving_unit}", "unknown unit in the organisation tree")
    if p.issue_type not in issue_types:
        fail("issue_type", f"未知的问题类型 {p.issue_type}", "not an issue type of the taxonomy")
    if p.accused_unit is not None and p.accused_unit not in org:
        fail("accused_unit", f"未知的被反映单位 {p.accused_unit}", "unknown unit in the organisation tree")
    if p.anonymous and p.petitioners:
        fail("petitioners", "匿名信访不得登记信访人身份", "an anonymous petition names no petitioner")
    if not p.anonymous and not p.petitioners:
        fail("petitioners", "署名信访至少需要一名信访人", "a signed petition names at least one petitioner")
    for i, person in enumerate(p.petitioners):
        if person.unit is not None and person.unit not in org:
            fail(f"petitioners.{i}.unit", f"未知的工作单位 {person.unit}", "unknown unit in the organisation tree")
    if p.channel in ("来访", "领导接访") and len(p.petitioners) > MAX_VISIT_REPRESENTATIVES:
        fail(
            "petitioners",
            f"多人走访应推选不超过{MAX_VISIT_REPRESENTATIVES}名代表（《信访工作条例》第二十条第三款），其余人数填入涉及人数",
            f"several visitors choose at most {MAX_VISIT_REPRESENTATIVES} representatives (Art 20 ¶3); "
            "record the others in involved_count",
        )
    if p.involved_count is not None and p.involved_count < len(p.petitioners):
        fail("involved_count", "涉及人数不能少于登记的信访人数", "involved_count is at least the number of petitioners")
    try:
        d = channel_details(p)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            bad.append(field_error({**err, "loc": ("details", *err["loc"])}))
    else:
        if isinstance(d, VisitDetails) and d.visitor_count is not None and d.visitor_count < len(p.petitioners):
            fail("details.visitor_count", "来访人数不能少于登记的代表人数", "visitor_count is at least the number of representatives")
        if isinstance(d, ReportBoxDetails) and not p.anonymous:
            fail("anonymous", "匿名举报箱的来件按匿名登记", "what the anonymous report box holds is registered as anonymous")
        if isinstance(d, ReportBoxDetails) and len(d.opened_by) == 1:
            fail("details.opened_by", "举报箱应由二人以上共同开启", "a report box is opened by two people or more")
    if bad:
        raise RegistrationRejected(bad)


def channel_details(p: PetitionInput) -> _Details | None:
    """The channel's own record, validated against what that channel has (ValidationError if not)."""
    return None if p.details is None else CHANNEL_DETAILS[p.channel].model_validate(p.details)


def person_times(p: PetitionInput, details: _Details | None) -> int:
    """人次: everyone who came (a visit's visitors), else everyone who signed; an anonymous letter is one."""
    if isinstance(details, VisitDetails) and details.visitor_count:
        return details.visitor_count
    return max(len(p.petitioners), 1)


def subsidiary_for(p: PetitionInput, org: OrgTree) -> str | None:
    """The subsidiary that owns the matter: the petitioner's own, else the receiving unit's."""
    for person in p.petitioners:
        if person.unit:
            return org.subsidiary_of(person.unit)
    return org.subsidiary_of(p.receiving_unit)


def petitioner_keys(key: bytes, petitioners: list[Petitioner]) -> list[str]:
    """Keyed hashes (HMAC) of each petitioner's normalised document number and phone: the same
    person matches across cases, and nothing about them can be read back."""
    keys = set()
    for x in petitioners:
        if x.id_number:
            keys.add("id:" + keyed_digest(key, f"{x.id_type}:{x.id_number}").hex()[:40])
        if x.phone:
            keys.add("tel:" + keyed_digest(key, normal_phone(x.phone)).hex()[:40])
    return sorted(keys)


def receipt_code(key: bytes, case_id: str) -> str:
    """The petitioner's query code for ``case_id``: derived, so never stored or logged."""
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
    p: PetitionInput, *, case_id: str, case_no: str, org: OrgTree, sealer: Sealer, receipt: str | None,
    keys: list[str] | None = None,
) -> PetitionRegistered:
    petitioner_unit = next((x.unit for x in p.petitioners if x.unit), None)
    details = channel_details(p)
    record = details.model_dump(mode="json", exclude_none=True) if details else None
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
        accused_principals=p.accused_principals,
        receipt_code_hash=receipt_code_hash(receipt) if receipt else None,
        petitioner_keys=keys or [],
        urgent=p.urgent,
        threat=p.threat,
        details_sealed=sealer.seal(case_id, record) if record else None,
        visitor_count=details.visitor_count if isinstance(details, VisitDetails) else None,
        person_times=person_times(p, details),
        declared_truthful=isinstance(details, OnlineDetails) and details.declared_truthful,
    )
