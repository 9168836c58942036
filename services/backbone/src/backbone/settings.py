"""Settings every service process reads from its environment (prefix ``XF_``), failing fast.

Broker timeouts default to Kafka's own (production); the embedded launcher and the tests set short
ones, because the embedded broker (Tansu) holds a JoinGroup reply for half the session timeout
(shared/reference/broker-notes.md). Authentication defaults to signed tokens (JWT): demo tokens
are accepted only when ``XF_AUTH_MODE=demo``, which only the embedded launcher sets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .contracts import SERVICES


class BackboneSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XF_", extra="ignore")

    service: str = Field(description="service name; also the PostgreSQL schema and service.name")
    database_url: str = Field(description="libpq URL of the service's own database")
    db_schema: str | None = Field(default=None, description="PostgreSQL schema (defaults to the service name)")
    db_pool_max: int = Field(default=10, ge=1, le=200)
    # PostgreSQL's parallel workers per query for the API's reads (None: the server's setting). On
    # two cores they cost more than they give: 100,000 cases, KPI p50 27 -> 14 ms and the
    # dashboard's first screen 390 -> 256 ms with 0 (the embedded launcher sets 0)
    db_parallel_workers: int | None = Field(default=None, ge=0, le=64)
    # the planner's cost of a random page read for the API's reads (None: the server's, 4 by
    # default, tuned for spinning disks). With 1.1 (SSD, the read models in memory) a subsidiary's
    # KPI joins case_scope by index instead of scanning it: 100,000 cases, KPI p99 125 -> 19 ms
    db_random_page_cost: float | None = Field(default=None, ge=0.1, le=100)

    kafka_bootstrap: str = Field(description="host:port[,host:port] of the Kafka brokers")
    topic_partitions: int = Field(default=6, ge=1, le=1000)
    topic_replication: int = Field(default=1, ge=1, le=10)
    # Kafka's defaults; Tansu needs short ones to join a group quickly
    kafka_session_timeout_ms: int = Field(default=45_000, ge=1000)
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    kafka_request_timeout_ms: int = Field(default=30_000, ge=1000)
    kafka_max_poll_records: int = Field(default=500, ge=1, le=10_000)
    # how long a fetch may wait for records. Measured on the embedded broker (one idle consumer):
    # 10 ms -> delivery p50 5.6 ms, 9.4 % of a core while idle; 50 ms -> 5.0 ms, 2.5 %;
    # 500 ms (Kafka's default) -> 35 ms, max 215 ms per hop
    kafka_fetch_max_wait_ms: int = Field(default=50, ge=0, le=5000)
    kafka_fetch_min_bytes: int = Field(default=1, ge=1, le=10_000_000)
    kafka_linger_ms: int = Field(default=2, ge=0, le=1000)
    # a consumer waits this long after the first record of a poll for more, so that a steady stream
    # is applied in fewer, larger batches (each costs ~1 ms of CPU whatever its size)
    consumer_linger_ms: int = Field(default=0, ge=0, le=1000)
    # consumer threads run at this nice value (Linux; 0 = as the process): when the machine is
    # short of CPU, requests are served first and projections catch up after
    consumer_nice: int = Field(default=0, ge=0, le=19)
    # Idempotent producer: on for Kafka. The embedded memory broker hands out producer ids from 1
    # again after a restart, so a producer from before the restart can collide with a new one and
    # have its records acknowledged as duplicates and dropped (seen here). Embedded mode turns it
    # off and keeps per-partition order with one request in flight; consumers drop duplicates.
    kafka_idempotent_producer: bool = True
    # how often a relay or consumer checks whether the broker lost its memory
    broker_epoch_check_s: float = Field(default=1.0, gt=0)
    # the embedded broker only: write each topic in generations of this many records, because its
    # fetches cost more with every batch a partition holds (backbone.broker); 0 for Kafka
    broker_generation_records: int = Field(default=0, ge=0, le=100_000_000)
    # events are published right after commit (backbone.publisher); the relay looks every
    # relay_poll_s for what that did not deliver within relay_grace_s, and publishes it
    relay_poll_s: float = Field(default=0.5, gt=0)
    relay_grace_s: float = Field(default=2.0, ge=0)
    relay_batch: int = Field(default=1000, ge=1, le=100_000)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535, description="port of the service's HTTP API")
    http_max_body_bytes: int = Field(default=262_144, ge=1024, description="larger request bodies get 413")
    # the public (no login) endpoints, per client (backbone.ratelimit; `limits` notation)
    public_rate: str = Field(default="60/minute", description="requests to the public endpoints")
    public_failures: str = Field(default="10/10 minutes", description="lookups naming no case (wrong query codes)")
    public_submissions: str = Field(default="10/hour", description="petitions submitted through the portal")
    # where a petitioner's browser reaches each service's public API, and which origins may call it
    public_urls: dict[str, str] = Field(default_factory=dict, description='{"reporting": "https://...", ...}')
    portal_origins: list[str] = Field(default_factory=list, description="origins allowed to call /public (CORS)")

    seed_dir: Path = Field(description="folder with org.yaml, taxonomy.yaml, routing-rules.yaml, calendar.yaml")
    auth_mode: Literal["jwt", "demo"] = "jwt"
    demo_tokens_path: Path | None = Field(default=None, description="demo bearer tokens (auth_mode=demo only)")
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_public_key: SecretStr | None = Field(default=None, description="PEM public key of the token issuer")
    jwt_public_key_file: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_algorithms: list[str] = ["RS256", "ES256"]
    jwt_unit_claim: str = "xf_unit"
    jwt_role_claim: str = "xf_role"
    seal_key: SecretStr | None = Field(default=None, description="base64 of a 32-byte AES key (sealed fields)")

    traces_dir: Path | None = Field(default=None, description="write finished spans here as JSON lines")
    otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP endpoint, e.g. http://collector:4318")
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0, description="share of petitions traced")
    traces_per_s: float = Field(default=20.0, ge=0.0, le=100_000, description="at most this many new traces a second")

    @field_validator("service")
    @classmethod
    def _known_service(cls, v: str) -> str:
        if v not in SERVICES:
            raise ValueError(f"unknown service {v!r}")
        return v

    @field_validator("public_rate", "public_failures", "public_submissions")
    @classmethod
    def _rate(cls, v: str) -> str:
        from limits import parse

        parse(v)  # "10/hour", "60 per minute" ...: refused at start if it is not a rate
        return v

    @model_validator(mode="after")
    def _auth_configured(self) -> BackboneSettings:
        if self.auth_mode == "demo" and self.demo_tokens_path is None:
            raise ValueError("XF_AUTH_MODE=demo needs XF_DEMO_TOKENS_PATH")
        if self.auth_mode == "jwt":
            missing = [n for n in ("jwt_issuer", "jwt_audience") if not getattr(self, n)]
            if not (self.jwt_public_key or self.jwt_public_key_file or self.jwt_jwks_url):
                missing.append("jwt_public_key | jwt_public_key_file | jwt_jwks_url")
            if missing:
                raise ValueError(f"XF_AUTH_MODE=jwt needs {', '.join('XF_' + m.upper() for m in missing)}")
        return self

    @property
    def schema(self) -> str:
        return self.db_schema or self.service

    def seed(self, name: str) -> Path:
        return Path(self.seed_dir) / name

    def public_key_pem(self) -> str | None:
        if self.jwt_public_key is not None:
            return self.jwt_public_key.get_secret_value()
        if self.jwt_public_key_file is not None:
            return Path(self.jwt_public_key_file).read_text()
        return None


class SealingSettings(BackboneSettings):
    """Settings of a service that seals free text or identity with a key of its own."""

    @field_validator("seal_key")
    @classmethod
    def _required(cls, v: SecretStr | None) -> SecretStr:
        if v is None:
            raise ValueError("this service needs XF_SEAL_KEY (base64 of 32 random bytes)")
        return v
