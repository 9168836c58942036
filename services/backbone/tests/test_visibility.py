"""The visibility rule: written once, applied in SQL; the SQL and the rule as written agree for every
principal over every shape of case (checked against real PostgreSQL)."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from backbone.auth import OrgTree, Principal
from backbone.db import connect, migrate
from backbone.visibility import CaseUnits, Scope

ORG = OrgTree.load(Path(__file__).resolve().parents[3] / "deploy" / "seed" / "org.yaml")
CASES = [
    CaseUnits(receiving, responsible, accused, shared, involved, excluded)
    for receiving, responsible, accused, shared, involved, excluded in itertools.product(
        ["S1-XFB", "S2-XFB", "HQ-XFB", "S1-U1", None],
        [None, "S1-HR", "S1-JW", "HQ-JJ", "S2-LTX", "HQ-XFB", "S4-HR"],
        [None, "S1-U1", "S1", "S2", "HQ"],
        [(), ("UNION",), ("GOV", "S1-HR")],
        [(), ("S1-XFB",), ("S2-HR", "S1-U1")],
        [(), ("p-S1-HR", "hq")],
    )
]
PRINCIPALS = [Principal(f"p-{u}", u, "handler") for u in ORG.units] + [
    Principal("hq", "HQ", "hq_analyst"), Principal("union", "UNION", "union_liaison"),
    Principal("gov", "GOV", "government_liaison"), Principal("union-as-handler", "UNION", "handler"),
]


def sees(principal: str, case: CaseUnits) -> bool:
    p = next(x for x in PRINCIPALS if x.id == principal)
    return Scope.of(p, ORG).allows(case)


def test_the_rule_in_words():
    wages = CaseUnits("S1-XFB", "S1-HR", None)
    assert sees("p-S1", wages) and sees("p-S1-HR", wages) and sees("p-S1-XFB", wages) and sees("hq", wages)
    assert sees("p-HQ", wages)  # headquarters' own principals see the whole group
    assert not sees("p-S2", wages) and not sees("p-S1-U2", wages)  # the petitioner's unit is not entitled
    assert not sees("union", wages) and not sees("gov", wages)
    accusation = CaseUnits("S1-XFB", "S1-JW", "S1-U1")
    assert sees("p-S1-JW", accusation) and sees("p-S1", accusation)  # units above the accused do see it
    assert not sees("p-S1-U1", accusation)
    assert not sees("hq", CaseUnits("HQ-XFB", "HQ-JJ", "HQ"))  # even headquarters, when it is the accused
    shared = CaseUnits("S1-XFB", "S1-HR", None, ("UNION",))
    assert sees("union", shared) and not sees("gov", shared)
    assert not sees("union", CaseUnits("S1-XFB", "S1-HR", "UNION", ("UNION",)))  # never the accused, shared or not
    assert not sees("hq", CaseUnits(None, None, None))  # a case with no units yet is nobody's
    # units taking part (first handler, sender, assisting and reviewing units) see it
    transferred = CaseUnits("S1-XFB", "S2-HR", None, involved=("S1-HR",))
    assert sees("p-S1-HR", transferred) and sees("p-S2-HR", transferred) and not sees("p-S3-HR", transferred)
    # a petition office acts for its whole organisation: the group's office sees the group
    direct = CaseUnits("S1-HR", "S1-HR", None)
    assert sees("p-S1-XFB", direct) and not sees("p-S2-XFB", direct) and sees("p-HQ-XFB", direct)
    assert not sees("p-HQ-XFB", CaseUnits("S1-XFB", "HQ-JJ", "HQ"))  # never when headquarters is accused
    # an accused person, or a handler who withdrew, never does, whatever their unit
    assert not sees("p-S1-HR", CaseUnits("S1-XFB", "S1-HR", None, excluded=("p-S1-HR",)))
    assert not sees("hq", CaseUnits("S1-XFB", "S1-HR", None, ("UNION",), excluded=("hq",)))


@pytest.fixture(scope="module")
def cases_table(database_url):
    schema = f"vis_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema)
    ids = {}
    with connect(database_url, schema) as conn:
        for case in CASES:
            case_id = str(uuid.uuid4())
            ids[case_id] = case
            conn.execute("INSERT INTO case_scope (case_id, receiving_unit, responsible_unit, accused_unit, shared_with,"
                         " involved, excluded) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (case_id, case.receiving_unit, case.responsible_unit, case.accused_unit, list(case.shared_with),
                          list(case.involved), list(case.excluded)))
    return database_url, schema, ids


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.id)
def test_sql_and_python_agree(cases_table, principal):
    database_url, schema, ids = cases_table
    scope = Scope.of(principal, ORG)
    pred, params = scope.where("s")
    with connect(database_url, schema) as conn:
        found = {str(r[0]) for r in conn.execute(sql.SQL("SELECT case_id FROM case_scope s WHERE {}").format(pred),
                                                  params)}
    expected = {case_id for case_id, case in ids.items() if scope.allows(case)}
    assert found == expected


def test_psycopg_is_real(cases_table):
    database_url, schema, ids = cases_table
    with psycopg.connect(database_url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {schema}.case_scope").fetchone()[0] == len(ids) == len(CASES)


def test_a_revocation_holds_over_an_older_share_arriving_late(cases_table):
    """Routing's events on a case can reach a consumer out of order: whatever the order, in one
    batch or across batches, the newest decision on a party's share is what the party gets."""
    from datetime import date

    from backbone import contracts as ev
    from backbone.envelope import SYSTEM, new_envelope
    from backbone.visibility import statements

    database_url, schema, _ = cases_table

    def share(seq, fields=("case_no",)):
        return new_envelope(ev.CaseShared(case_id=case_id, party="GOV-RSJ", party_type="government", preset="p",
                                          fields=list(fields), purpose="x", basis="b", on=date(2026, 11, 2)),
                            subject=case_id, sequence=seq, actor=SYSTEM)

    def revoke(seq):
        return new_envelope(ev.SharingRevoked(case_id=case_id, party="GOV-RSJ", on=date(2026, 11, 3)),
                            subject=case_id, sequence=seq, actor=SYSTEM)

    def state():
        with connect(database_url, schema) as conn:
            return conn.execute("SELECT shared_with, shared -> 'GOV-RSJ' FROM case_scope WHERE case_id = %s",
                                (case_id,)).fetchone()

    both = ("case_no", "status")
    for plan in ([[("share", 3)], [("revoke", 5)], [("share", 4)]],  # across batches
                 [[("revoke", 5), ("share", 3)]],  # in one batch
                 [[("revoke", 5)], [("share", 3)]],  # the revocation first, the share later
                 [[("share", 3)], [("share", 6)], [("revoke", 5)]]):  # a re-share after it
        case_id = str(uuid.uuid4())
        batches = [[share(seq, both) if kind == "share" else revoke(seq) for kind, seq in b] for b in plan]
        with connect(database_url, schema) as conn:
            for batch in batches:
                for statement, params in statements(batch):
                    conn.execute(statement, params)
            conn.commit()
        last = max((e for b in batches for e in b), key=lambda e: e.sequence)
        if isinstance(last.payload, ev.SharingRevoked):
            assert state() == ([], None), plan
        else:
            assert state() == (["GOV-RSJ"], list(both)), plan
