"""The detector's reading of a person's history, against real PostgreSQL: a registration meets the
latest registrations of its own persons, not the latest of everybody (intake migration 0006)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import psycopg

from backbone import bulk
from backbone.db import connect, migrate, run_script
from intake.bootstrap import MIGRATIONS, Detector
from intake.usecases import _KEYS, _REGISTRATION

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _register(conn, keys: list[str], at: datetime) -> str:
    case_id = str(uuid.uuid4())
    row = {"case_id": case_id, "received_at": at, "issue_type": "wages", "keys": keys, "receiving_unit": "S1-XFB",
           "channel": "来信", "competent": "S1", "petitioner_count": 1, "involved_count": None, "sig": None,
           "bands": [], "sig_hash": None}
    conn.execute(_REGISTRATION, (bulk.rows([row]),))
    if keys:
        conn.execute(_KEYS, (bulk.rows({"key": k, "received_at": at, "case_id": case_id} for k in keys),))
    return case_id


def test_a_registration_meets_its_own_persons_earlier_registrations_only(database_url):
    schema = f"intake_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, MIGRATIONS)
    detector = Detector.__new__(Detector)  # the query and the states need no organisation or rules file
    detector.rules = SimpleNamespace(duplicate_text=SimpleNamespace(window_days=180))
    with connect(database_url, schema, autocommit=True) as conn:
        mine = [_register(conn, ["id:a", "tel:a"], T0 + timedelta(days=i)) for i in range(3)]
        both = _register(conn, ["tel:a"], T0 + timedelta(days=4))  # the same phone only
        for i in range(250):  # newer registrations of somebody else
            _register(conn, ["id:b"], T0 + timedelta(days=10, minutes=i))
        _register(conn, [], T0 + timedelta(days=11))  # an anonymous one matches nobody
        new = _register(conn, ["id:a", "tel:a"], T0 + timedelta(days=20))
        states = detector.states(run_script(conn, detector.load([new])))
    others = states[new]["others"]
    assert sorted(o.case_id for o in others) == sorted([*mine, both])
    assert all(o.keys & {"id:a", "tel:a"} for o in others)


def test_the_latest_two_hundred_of_a_person(database_url):
    schema = f"intake_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, MIGRATIONS)
    detector = Detector.__new__(Detector)
    detector.rules = SimpleNamespace(duplicate_text=SimpleNamespace(window_days=180))
    with connect(database_url, schema, autocommit=True) as conn:
        ids = [_register(conn, ["id:c"], T0 + timedelta(hours=i)) for i in range(230)]
        new = _register(conn, ["id:c"], T0 + timedelta(days=30))
        states = detector.states(run_script(conn, detector.load([new])))
    assert sorted(o.case_id for o in states[new]["others"]) == sorted(ids[-200:])
