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


def case_not_found(case_id: str) -> NotFound:
    return NotFound("没有这个案件", case_id=case_id)


def checked_case_id(case_id: str) -> str:
    """Case ids are UUIDs; anything else names no case (404, like a case out of scope)."""
    import uuid

    try:
        return str(uuid.UUID(case_id))
    except ValueError:
        raise case_not_found(case_id[:64]) from None
