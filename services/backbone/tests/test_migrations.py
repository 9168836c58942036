"""Migrations have one owner: applied once, in order; a service refuses a schema that is behind or
that another layout made."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from backbone.db import SchemaNotReady, ensure_current, migrate
from intake.bootstrap import MIGRATIONS


def test_applied_once_checked_at_start_and_foreign_layouts_refused(database_url):
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    with pytest.raises(SchemaNotReady, match="python -m stack migrate"):
        ensure_current(database_url, schema, MIGRATIONS)
    applied = migrate(database_url, schema, MIGRATIONS)
    assert applied == ["backbone/0001_event_store.sql", "service/0001_intake.sql"]
    assert migrate(database_url, schema, MIGRATIONS) == []
    ensure_current(database_url, schema, MIGRATIONS)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {schema}.schema_migrations (name) VALUES ('backbone/0001_backbone.sql')")
    with pytest.raises(SchemaNotReady, match="another layout"):
        migrate(database_url, schema, MIGRATIONS)
