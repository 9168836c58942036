"""One visibility rule: the four services give the same answer for every principal and case.

Cases of every shape (a subsidiary's own, an accusation against a grass-roots unit and against a
subsidiary, headquarters' own, an unroutable one) are read by every demo principal in every
service; each answer (200 or 404, and membership in each list) must agree across the services
and with the rule as written in Python (backbone.visibility.Scope.allows).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from backbone.auth import LIAISON_ROLES, OrgTree, Principal
from backbone.visibility import CaseUnits, Scope
from tests.e2e.conftest import make_petition

SEED = Path(__file__).resolve().parents[2] / "deploy" / "seed"
ORG = OrgTree.load(SEED / "org.yaml")
PRINCIPALS = yaml.safe_load((SEED / "demo-tokens.yaml").read_text(encoding="utf-8"))["principals"]
CASES = {
    "s1-wages": ("demo-s1-registrar", {"receiving_unit": "S1-XFB", "issue_type": "wages"}),
    "s1-accuses-u1": ("demo-s1-registrar", {"receiving_unit": "S1-XFB", "category": "检举控告类",
                                            "issue_type": "cadre_conduct", "accused_unit": "S1-U1"}),
    "s2-retiree": ("demo-s2-registrar", {"receiving_unit": "S2-XFB", "issue_type": "retirement_benefits",
                                         "petitioners": [{"name": "甲", "unit": "S2-U1"}]}),
    "hq-accuses-s2": ("demo-hq-registrar", {"receiving_unit": "HQ-XFB", "category": "检举控告类",
                                            "issue_type": "cadre_conduct", "accused_unit": "S2", "anonymous": True,
                                            "petitioners": []}),
    "s4-unroutable": ("demo-hq-registrar", {"receiving_unit": "HQ-XFB", "issue_type": "retirement_benefits",
                                            "petitioners": [{"name": "乙", "unit": "S4-U1"}]}),
}
READS = {
    "intake": "/petitions/{}",
    "routing": "/cases/{}",
    "supervision": "/cases/{}/deadlines",
    "reporting": "/cases/{}",
}
LISTS = {"intake": "/petitions", "routing": "/cases", "reporting": "/cases"}
# a union or government liaison reads only through the routes that serve parties (厂地联动); the
# others answer it 403 whatever the case
PARTY_SERVICES = {"intake", "reporting"}


@pytest.fixture(scope="module")
def cases(api) -> dict[str, tuple[str, CaseUnits]]:
    now = datetime.now(UTC).replace(microsecond=0)
    out = {}
    for i, (name, (token, over)) in enumerate(CASES.items()):
        # the newest petitions of the run, so the first page of every list holds them
        body = make_petition(received_at=(now - timedelta(seconds=i)).isoformat(), **over)
        r = api.register(body, token=token)
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        c = api.case_in_reporting(case_id, token="demo-admin", want=lambda c: c["assigned_unit"] is not None)
        out[name] = (case_id, CaseUnits(c["receiving_unit"], c["assigned_unit"], over.get("accused_unit")))
    # every service has heard of every case (routing's assignment reaches intake and supervision too)
    for case_id, _ in out.values():
        for service, path in READS.items():
            api.eventually(lambda s=service, p=path, c=case_id: _status_is(api, s, p.format(c), "demo-admin", 200))
    return out


def _status_is(api, service, path, token, want):
    r = api.call(service, "GET", path, token)
    assert r.status_code == want, (service, path, r.status_code, r.text[:200])


@pytest.mark.parametrize("who", PRINCIPALS, ids=lambda p: p["id"])
def test_every_service_agrees_with_the_rule(api, cases, who):
    scope = Scope.of(Principal(who["id"], who["unit"], who["role"]), ORG)
    token = who["token"]

    liaison = who["role"] in LIAISON_ROLES
    reads = {s: p for s, p in READS.items() if not liaison or s in PARTY_SERVICES}
    lists = {s: p for s, p in LISTS.items() if not liaison or s in PARTY_SERVICES}

    def agree():  # each service learns of routing's decisions on its own time: retried until caught up
        listed = {}
        for service, path in lists.items():
            r = api.call(service, "GET", path, token, params={"limit": 500})
            assert r.status_code == 200, (service, r.text)
            listed[service] = {i["case_id"] for i in r.json()["items"]}
        for name, (case_id, units) in cases.items():
            expected = 200 if scope.allows(units) else 404
            answers = {service: api.call(service, "GET", path.format(case_id), token).status_code
                       for service, path in reads.items()}
            assert set(answers.values()) == {expected}, (who["id"], name, answers)
            for service in set(READS) - set(reads):
                assert api.call(service, "GET", READS[service].format(case_id), token).status_code == 403
            for service, ids in listed.items():
                assert (case_id in ids) == (expected == 200), (who["id"], name, service)

    api.eventually(agree)


def test_the_rule_cases_are_what_they_claim(cases):
    """Guards the matrix above: it covers every branch of the rule."""
    org_units = {name: units for name, (_, units) in cases.items()}
    assert org_units["s1-accuses-u1"].responsible_unit == "S1-JW"
    assert org_units["hq-accuses-s2"].responsible_unit == "HQ-JJ"
    assert org_units["s4-unroutable"].responsible_unit == "HQ-XFB"  # the receiving office's queue
    s1_u1 = Scope.of(Principal("x", "S1-U1", "handler"), ORG)
    assert not s1_u1.allows(org_units["s1-accuses-u1"])  # the accused unit never sees it
    s2 = Scope.of(Principal("x", "S2", "supervisor"), ORG)
    assert not s2.allows(org_units["hq-accuses-s2"])  # the accused subsidiary itself
    liaison = Scope.of(Principal("x", "UNION", "union_liaison"), ORG)
    assert not any(liaison.allows(u) for u in org_units.values())  # nothing is shared yet
