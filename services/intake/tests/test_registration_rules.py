"""Registration rules and what identifies a person, pure."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
import yaml
from pydantic import ValidationError

from backbone.auth import OrgTree
from backbone.sealing import Sealer
from intake.domain import (
    petitioner_keys,
    RECEIPT_ALPHABET,
    PetitionInput,
    RegistrationRejected,
    case_number,
    check,
    format_receipt,
    receipt_code,
    registered_event,
)

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
TYPES = {t["id"] for t in yaml.safe_load((SEED / "taxonomy.yaml").read_text(encoding="utf-8"))["issue_types"]}
NOW = datetime(2026, 11, 25, 8, tzinfo=UTC)
SEALER = Sealer(base64.b64encode(os.urandom(32)).decode())


def body(**over) -> PetitionInput:
    base = dict(channel="来信", received_at="2026-11-20T09:30:00+08:00", receiving_unit="S1-XFB",
                category="申诉求决类", issue_type="wages", summary="三季度绩效工资未足额发放",
                petitioners=[{"name": "张三", "id_number": "110101199001011237", "phone": "13800000000",
                              "unit": "S1-U2"}])
    return PetitionInput(**{**base, **over})


def rejected_fields(p: PetitionInput) -> set[str]:
    with pytest.raises(RegistrationRejected) as e:
        check(p, ORG, TYPES, NOW)
    return {f["field"] for f in e.value.fields}


def test_a_good_petition_passes():
    check(body(), ORG, TYPES, NOW)


@pytest.mark.parametrize("over, fields", [
    ({"received_at": (NOW + timedelta(hours=1)).isoformat()}, {"received_at"}),
    ({"receiving_unit": "NOWHERE"}, {"receiving_unit"}),
    ({"issue_type": "astrology"}, {"issue_type"}),
    ({"accused_unit": "NOWHERE"}, {"accused_unit"}),
    ({"anonymous": True}, {"petitioners"}),
    ({"petitioners": []}, {"petitioners"}),
    ({"petitioners": [{"name": "甲", "unit": "NOWHERE"}]}, {"petitioners.0.unit"}),
    ({"channel": "来访", "petitioners": [{"name": f"代表{i}"} for i in range(6)]}, {"petitioners"}),
    ({"involved_count": 1, "petitioners": [{"name": "甲"}, {"name": "乙"}]}, {"involved_count"}),
])
def test_each_broken_rule_names_its_field(over, fields):
    assert rejected_fields(body(**over)) == fields


def test_more_than_five_visitors_cites_article_twenty():
    with pytest.raises(RegistrationRejected) as e:
        check(body(channel="来访", petitioners=[{"name": f"代表{i}"} for i in range(6)]), ORG, TYPES, NOW)
    assert "第二十条" in e.value.fields[0]["message"]
    check(body(channel="来信", petitioners=[{"name": f"联名{i}"} for i in range(30)]), ORG, TYPES, NOW)  # a joint letter


def test_input_is_bounded_before_any_rule_runs():
    for over in ({"summary": "x" * 4001}, {"petitioners": [{"name": "x" * 51}]},
                 {"petitioners": [{"name": "甲"}] * 501}, {"received_at": "1900-01-01T00:00:00+08:00"},
                 {"receiving_unit": "S1 XFB"}, {"involved_count": 0}):
        with pytest.raises(ValidationError):
            body(**over)
    assert body(received_at="2026-11-20T09:30:00").received_at.utcoffset() == timedelta(hours=8)  # Beijing time


def test_the_event_carries_no_personal_data_or_text_in_clear():
    p = body(accused_unit="S1-U1")
    e = registered_event(p, case_id="c1", case_no="XF-2026-000001", org=ORG, sealer=SEALER, receipt=None)
    text = e.model_dump_json()
    for secret in ("张三", "110101199001011237", "13800000000", "三季度绩效工资"):
        assert secret not in text
    assert SEALER.open("c1", e.petitioners_sealed)[0]["name"] == "张三"
    assert SEALER.open("c1", e.summary_sealed) == p.summary
    assert (e.subsidiary, e.petitioner_unit, e.accused_unit, e.petitioner_count) == ("S1", "S1-U2", "S1-U1", 1)
    with pytest.raises(InvalidTag):
        SEALER.open("another-case", e.summary_sealed)  # a sealed value cannot be moved to another case


def test_receipt_codes_are_derived_unguessable_and_readable():
    key = SEALER.derive("receipt-code")
    code = receipt_code(key, "c1")
    assert code == receipt_code(key, "c1") != receipt_code(key, "c2")
    assert len(code) == 16 and set(code) <= set(RECEIPT_ALPHABET)
    assert receipt_code(Sealer(base64.b64encode(os.urandom(32)).decode()).derive("receipt-code"), "c1") != code
    assert format_receipt(code).count("-") == 3
    e = registered_event(body(anonymous=True, petitioners=[]), case_id="c1", case_no="n", org=ORG, sealer=SEALER,
                         receipt=code)
    assert e.receipt_code_hash and code not in json.dumps(e.model_dump(mode="json"))


def test_case_numbers_count_beijing_years():
    assert case_number(datetime(2026, 12, 31, 17, tzinfo=UTC), 7) == "XF-2027-000007"


@pytest.mark.parametrize("number, ok", [
    ("110101199001011237", True), ("44030419851215678X", True), ("44030419851215678x", True),
    ("110101199001011234", False),  # wrong check digit
    ("11010119900101123", False), ("1101011990010112370", False), ("11010119900101123A", False),
])
def test_resident_id_numbers_carry_a_valid_check_digit(number, ok):
    person = {"name": "李四", "id_number": number}
    if ok:
        assert PetitionInput(**{**body().model_dump(), "petitioners": [person]}).petitioners[0].id_number == number.upper()
    else:
        with pytest.raises(ValidationError, match="校验位"):
            PetitionInput(**{**body().model_dump(), "petitioners": [person]})


def test_other_documents_are_data_not_resident_ids():
    p = PetitionInput(**{**body().model_dump(), "petitioners": [{"name": "Lee", "id_type": "护照", "id_number": "E1234567"}]})
    assert p.petitioners[0].id_type == "护照"


def test_a_person_matches_across_cases_by_keyed_hashes_that_reveal_nothing():
    key = SEALER.derive("petitioner-match")
    a = PetitionInput(**{**body().model_dump(), "petitioners": [{"name": "张三", "id_number": "110101199001011237",
                                                                   "phone": "+86 138-0000-0000"}]})
    b = PetitionInput(**{**body().model_dump(), "petitioners": [{"name": "张叁", "phone": "13800000000"}]})
    ka, kb = petitioner_keys(key, a.petitioners), petitioner_keys(key, b.petitioners)
    assert len(ka) == 2 and set(ka) & set(kb)  # the same phone, written two ways, is one key
    assert not any("13800000000" in k or "110101" in k for k in ka)
    assert petitioner_keys(Sealer(base64.b64encode(os.urandom(32)).decode()).derive("petitioner-match"),
                           a.petitioners) != ka  # and only intake's key makes them


def test_document_types_and_their_formats_are_data():
    from intake.domain import Documents

    docs = Documents(yaml.safe_load((SEED / "id-documents.yaml").read_text(encoding="utf-8"))["documents"])
    person = {"name": "Lee", "id_type": "港澳居民来往内地通行证", "id_number": "h12345678"}
    p = PetitionInput.model_validate({**body().model_dump(), "petitioners": [person]}, context={"documents": docs})
    assert p.petitioners[0].id_number == "H12345678"
    for bad in ({**person, "id_number": "X12345678"}, {**person, "id_type": "驾驶证"}):
        with pytest.raises(ValidationError):
            PetitionInput.model_validate({**body().model_dump(), "petitioners": [bad]}, context={"documents": docs})
