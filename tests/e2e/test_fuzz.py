"""Nothing a client sends produces a server error: every operation of every service's OpenAPI,
fed by schemathesis with valid (positive) and invalid (negative) input, for an all-seeing
principal, a registrar and a liaison, answers below 500."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from stack.system import SERVICES

TOKENS = ("demo-admin", "demo-s1-registrar", "demo-union-liaison")


def operations(stack, service):
    schema = schemathesis.openapi.from_url(stack.url(service) + "/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_no_input_makes_a_server_error(stack, service, mode):
    failures = []
    for op in operations(stack, service):
        run = _fuzz(stack, service, op, mode, failures)
        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in this operation can be made invalid
    assert not failures, failures[:5]


def _fuzz(stack, service, op, mode, failures):
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case):
        for token in TOKENS:
            response = case.call(base_url=stack.url(service), headers={"Authorization": f"Bearer {token}",
                                                                           # its own client: its wrong query codes
                                                                           # do not count against other tests
                                                                           "X-Forwarded-For": "192.0.2.250"})
            if response.status_code >= 500:
                failures.append((op.label, token, case.path_parameters, case.query, str(case.body)[:300],
                                 response.status_code, response.text[:300]))

    return run
