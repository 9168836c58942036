"""The whole platform as processes: four APIs, relays and consumers, on the session's database
and broker (a broker of its own, so the broker-restart test may kill it)."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from stack.system import SERVICES, Stack, StackConfig, free_port

# every e2e wait is bounded: a registration must be fully projected (assignment and deadlines in
# reporting) within this many seconds; the measured figure is in bench/ (typically well under 1 s)
PROPAGATION_BOUND_S = 15
CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def stack(database_url, tmp_path_factory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    cfg = StackConfig(
        data_dir=root,
        database_url=database_url,
        broker_port=free_port(),
        api_ports={s: free_port() for s in SERVICES},
        partitions=3,
        traces_dir=root / "traces",
    )
    s = Stack(cfg)
    try:
        s.start()
        s.supervise()  # as ./dev run does: whatever dies (the broker included) is started again
        yield s
    finally:
        s.stop()


class Api:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.clients = {s: httpx.Client(base_url=stack.url(s), timeout=30) for s in SERVICES}

    def call(self, service: str, method: str, path: str, token: str | None = None, **kw) -> httpx.Response:
        headers = kw.pop("headers", {})
        # each test is its own client of the public endpoints' per-client limits (uvicorn trusts
        # X-Forwarded-For from 127.0.0.1): one test's wrong query codes never stop another
        headers.setdefault("X-Forwarded-For", _client_of_this_test())
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.clients[service].request(method, path, headers=headers, **kw)

    def register(self, body: dict, token: str = "demo-s1-registrar", **kw) -> httpx.Response:
        return self.call("intake", "POST", "/petitions", token, json=body, **kw)

    def eventually(self, fn, timeout: float = PROPAGATION_BOUND_S):
        """Poll ``fn`` until it stops raising AssertionError (never a fixed sleep)."""
        for attempt in Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.1),
                                retry=retry_if_exception_type((AssertionError, httpx.TransportError)), reraise=True):
            with attempt:
                return fn()

    def case_in_reporting(self, case_id: str, token: str = "demo-hq-analyst", want=lambda c: True) -> dict:
        def check():
            r = self.call("reporting", "GET", f"/cases/{case_id}", token)
            assert r.status_code == 200, r.text
            c = r.json()
            assert want(c), c
            return c

        return self.eventually(check)


def _client_of_this_test() -> str:
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    n = int.from_bytes(hashlib.sha256(test.encode()).digest()[:3], "big")
    return f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}"


@pytest.fixture(scope="session")
def api(stack) -> Api:
    return Api(stack)


@pytest.fixture
def petition():
    """Factory of valid registration bodies; keyword arguments replace fields."""
    return make_petition


def make_petition(**over) -> dict:
    body = {
        "channel": "来信",
        # an hour ago: no clock of a default petition is due, whatever day the suite runs
        "received_at": (datetime.now(CHINA) - timedelta(hours=1)).isoformat(timespec="seconds"),
        "receiving_unit": "S1-XFB",
        "category": "申诉求决类",
        "issue_type": "wages",
        "summary": "三季度绩效工资未足额发放",
        # a phone of its own: petitions of different tests are different persons' (detection matches persons)
        "petitioners": [{"name": "测试人", "phone": f"139{secrets.randbelow(10**8):08d}", "unit": "S1-U2"}],
    }
    body.update(over)
    return body
