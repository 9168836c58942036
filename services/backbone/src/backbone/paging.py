"""Keyset paging for list endpoints: ``limit`` and an opaque ``after`` cursor, done in SQL.

A cursor holds the sort key of the last row of the previous page; the next page starts after it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from .errors import Invalid

MAX_LIMIT = 500


def encode_cursor(*key) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([str(k) if not isinstance(k, int) else k for k in key])).decode().rstrip("=")


def decode_cursor(cursor: str | None, types: tuple[Callable[[str], Any], ...] = (datetime.fromisoformat, UUID)) -> list | None:
    """The sort key a cursor holds, each part converted by ``types`` (a made-up cursor is 422)."""
    if not cursor:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(key, list) or len(key) != len(types):
            raise ValueError
        return [convert(str(k)) for convert, k in zip(types, key, strict=True)]
    except Exception:  # noqa: BLE001 - anything a client made up
        raise Invalid("after 参数不是有效的翻页游标", field="after") from None


def next_cursor(rows: list, limit: int, key) -> str | None:
    """The cursor of the page after ``rows`` (None when this page is the last)."""
    return encode_cursor(*key(rows[-1])) if rows and len(rows) == limit else None
