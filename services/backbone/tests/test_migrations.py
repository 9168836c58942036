"""Migrations have one owner: applied once, in order; a service refuses a schema that is behind or
that another layout made."""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest

from backbone.db import SchemaNotReady, ensure_current, migrate
from intake.bootstrap import MIGRATIONS


def test_applied_once_checked_at_start_and_foreign_layouts_refused(database_url):
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    with pytest.raises(SchemaNotReady, match="python -m stack migrate"):
        ensure_current(database_url, schema, MIGRATIONS)
    applied = migrate(database_url, schema, MIGRATIONS)
    assert applied == ["backbone/0001_event_store.sql", "backbone/0002_scope_involved.sql",
                       "backbone/0003_scope_sharing.sql", "backbone/0004_scope_share_versions.sql",
                       "service/0001_intake.sql",
                       "service/0002_registrations.sql", "service/0003_registrations_index.sql",
                       "service/0004_detection.sql", "service/0005_bands_pending_list.sql",
                       "service/0006_registration_keys.sql"]
    assert migrate(database_url, schema, MIGRATIONS) == []
    ensure_current(database_url, schema, MIGRATIONS)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {schema}.schema_migrations (name) VALUES ('backbone/0001_backbone.sql')")
    with pytest.raises(SchemaNotReady, match="another layout"):
        migrate(database_url, schema, MIGRATIONS)


def _old_layout(database_url: str, schema: str, migrations, tmp_path):
    """A schema as the earlier layout left it: only the service's first migration."""
    import shutil

    first = tmp_path / "first"
    first.mkdir()
    shutil.copy(sorted(migrations.glob("0001_*.sql"))[0], first)
    migrate(database_url, schema, first)


def test_routing_cases_written_by_the_earlier_layout_become_documents(database_url, tmp_path):
    from routing.bootstrap import MIGRATIONS as ROUTING
    from routing.domain import RoutingCase

    schema = f"mig_{uuid.uuid4().hex[:8]}"
    _old_layout(database_url, schema, ROUTING, tmp_path)
    case_id = str(uuid.uuid4())
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {schema}.cases VALUES (%s, 'XF-2026-000009', '2026-11-20T01:00:00Z', 'S1-XFB', 'S1-U2',"
                     " 'S1', '检举控告类', 'cadre_conduct', 'S1-U1', 'S1-JW', 'rejected', 2, 'sealed', '诉讼', NULL)", (case_id,))
    migrate(database_url, schema, ROUTING)
    with psycopg.connect(database_url, autocommit=True) as conn:
        state, status = conn.execute(f"SELECT state::text, status FROM {schema}.cases").fetchone()
    case = RoutingCase.model_validate_json(state)
    assert (case.case_id, case.unit, case.status, case.version, case.legal_channel, case.accused_unit) == (
        case_id, "S1-JW", "rejected", 2, "诉讼", "S1-U1")
    assert case.facts.receiving_unit == "S1-XFB" and status == "rejected"


def test_supervision_files_written_by_the_earlier_layout_become_documents(database_url, tmp_path):
    from supervision.bootstrap import MIGRATIONS as SUPERVISION
    from supervision.domain.case import CaseFile

    schema = f"mig_{uuid.uuid4().hex[:8]}"
    _old_layout(database_url, schema, SUPERVISION, tmp_path)
    case_id = str(uuid.uuid4())
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {schema}.cases VALUES (%s, 'XF-2026-000009', 'S1', 'S1-HR', '2026-11-20',"
                     " '2026-11-21', 'accepted')", (case_id,))
        conn.execute(f"INSERT INTO {schema}.clocks VALUES (%s, 'handling', '2026-11-21', 60, 'calendar_days',"
                     " '2027-01-20', '《信访工作条例》第三十四条', NULL, NULL, NULL)", (case_id,))
    migrate(database_url, schema, SUPERVISION)
    with psycopg.connect(database_url, autocommit=True) as conn:
        state, stage = conn.execute(f"SELECT state::text, stage FROM {schema}.cases").fetchone()
        unit = conn.execute(f"SELECT unit FROM {schema}.clocks").fetchone()[0]
    f = CaseFile.model_validate_json(state)
    assert (f.case_id, f.stage, f.accepted_on, f.unit, stage, unit) == (case_id, "accepted", date(2026, 11, 21), "S1-HR",
                                                                         "accepted", "S1-HR")
    assert f.clocks["handling"].due_on == date(2027, 1, 20) and f.clocks["handling"].open
