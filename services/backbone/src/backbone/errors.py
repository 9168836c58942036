"""What a use case can refuse, in the words of the domain. The HTTP layer maps each to a status,
in one place (backbone.http); nothing else raises HTTP errors."""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    code = "bad_request"

    def __init__(self, message: str, **detail: Any):
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFound(Problem):
    """Also what a principal gets for a case it may not see: it must not learn that it exists."""

    code = "not_found"


class NotAllowed(Problem):
    code = "forbidden"


class Unauthenticated(Problem):
    code = "unauthorized"


class Invalid(Problem):
    """The request breaks a rule (a field, or the state of the case)."""

    code = "unprocessable"


class Conflict(Problem):
    code = "conflict"


class TooManyRequests(Problem):
    """A public endpoint's per-client limit (backbone.ratelimit); ``retry_after`` in seconds."""

    code = "too_many_requests"


def case_not_found(case_id: str) -> NotFound:
    return NotFound("没有这个案件", case_id=case_id)


def checked_case_id(case_id: str) -> str:
    """Case ids are UUIDs; anything else names no case (404, like a case out of scope)."""
    import uuid

    try:
        return str(uuid.UUID(case_id))
    except ValueError:
        raise case_not_found(case_id[:64]) from None


# what each of pydantic's refusals says, in Chinese (English is pydantic's own message)
_ZH = {
    "missing": "必填", "extra_forbidden": "不认识的字段", "json_invalid": "不是有效的JSON",
    "string_type": "应为文本", "string_too_short": "至少{min_length}个字符", "string_too_long": "不能超过{max_length}个字符",
    "string_pattern_mismatch": "格式不符合要求", "int_type": "应为整数", "int_parsing": "应为整数",
    "int_from_float": "应为整数", "float_type": "应为数字", "float_parsing": "应为数字", "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false", "greater_than_equal": "不能小于{ge}", "less_than_equal": "不能大于{le}",
    "greater_than": "应大于{gt}", "less_than": "应小于{lt}", "literal_error": "只能取以下值之一：{expected}",
    "enum": "只能取以下值之一：{expected}", "date_type": "应为日期（YYYY-MM-DD）", "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）", "date_from_datetime_inexact": "应为日期，不带时间",
    "datetime_type": "应为日期时间（ISO 8601）", "datetime_parsing": "应为日期时间（ISO 8601）",
    "datetime_from_date_parsing": "应为日期时间（ISO 8601）", "uuid_type": "应为UUID", "uuid_parsing": "应为UUID",
    "list_type": "应为列表", "dict_type": "应为对象", "model_type": "应为对象", "model_attributes_type": "应为对象",
    "too_short": "至少{min_length}项", "too_long": "最多{max_length}项", "union_tag_invalid": "类型不符合要求",
    "timezone_aware": "应带时区", "finite_number": "应为有限数字", "multiple_of": "应为{multiple_of}的倍数",
    "url_parsing": "应为网址", "string_unicode": "文本编码无效",
}


def field_error(err: dict) -> dict:
    """One refused field: where, what rule, in Chinese (``message``) and English (``message_en``)."""
    ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)}
    msg = str(err.get("msg", ""))
    if err.get("type") in ("value_error", "assertion_error"):
        # our own rules: Chinese first, English after it in brackets where given
        text = msg.split(", ", 1)[-1] if msg.startswith(("Value error", "Assertion failed")) else msg
        zh, _, en = text.partition(" (")
        zh, en = (zh, en.rstrip(")")) if en else (text, "")
    else:
        try:
            zh = _ZH.get(err.get("type", ""), msg).format(**ctx)
        except (KeyError, IndexError):
            zh = _ZH.get(err.get("type", ""), msg)
        en = msg
    return {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": zh, "message_en": en or zh,
            "type": err.get("type", "rule"), **({"rule": ctx} if ctx else {})}
