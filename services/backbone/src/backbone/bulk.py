"""Many rows in one statement: the rows travel as one JSON document (orjson) and PostgreSQL turns
it into rows with ``jsonb_populate_recordset``, typed by the target table's own columns.

Measured, 500 rows of 13 columns: psycopg's array adaptation for ``unnest`` took 9-19 ms of Python
CPU per statement; one orjson document takes 1-2 ms, and PostgreSQL inserts it as fast. Parsed once
as jsonb rather than as json per row: a 1.5 KB timeline row costs PostgreSQL 19.5 µs instead of 29.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson


def rows(items: Iterable[dict[str, Any]]) -> str:
    """The parameter for a ``jsonb_populate_recordset`` statement (dates, UUIDs and nested JSON as orjson writes them)."""
    return orjson.dumps(list(items)).decode()


def insert(table: str, columns: Sequence[str], conflict: str = "", alias: str | None = None) -> str:
    """``INSERT INTO table (columns) ...`` from one JSON parameter; ``conflict`` is its ON CONFLICT clause."""
    cols = ", ".join(columns)
    target = f"{table} AS {alias}" if alias else table
    return f"INSERT INTO {target} ({cols}) SELECT {cols} FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) {conflict}".rstrip()


def update_all(key: Sequence[str], columns: Sequence[str]) -> str:
    """``ON CONFLICT (key) DO UPDATE`` every other column."""
    return f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(
        f"{c} = EXCLUDED.{c}" for c in columns if c not in key
    )


def array(values: Iterable[str]) -> str:
    """A PostgreSQL array literal of strings (for ``= ANY(%s::uuid[])``): cheaper than adapting a list."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"
