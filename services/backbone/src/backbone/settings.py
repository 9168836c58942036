"""Settings every service process reads from its environment (prefix ``XF_``).

Broker timeouts default to Kafka's own defaults (production); the embedded launcher and the tests
set short ones, because the embedded broker (Tansu) holds a JoinGroup reply for half the session
timeout (see shared/reference/broker-notes.md).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BackboneSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XF_", extra="ignore")

    # which service this process belongs to: intake, routing, supervision or reporting
    service: str = Field(description="service name; also the PostgreSQL schema and service.name")
    database_url: str = Field(description="libpq URL of the service's own database")
    db_schema: str | None = Field(default=None, description="PostgreSQL schema (defaults to service)")
    db_pool_max: int = 10

    kafka_bootstrap: str = Field(description="host:port[,host:port] of the Kafka brokers")
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    # Kafka's defaults; Tansu needs short ones to join a group quickly
    kafka_session_timeout_ms: int = 45_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_request_timeout_ms: int = 30_000
    kafka_max_poll_records: int = 500
    # Idempotent producer: on for Kafka. The embedded memory broker hands out producer ids from 1
    # again after a restart, so a producer from before the restart can collide with a new one and
    # have its records acknowledged as duplicates and dropped (seen here). Embedded mode turns it
    # off and keeps per-partition order with one request in flight; consumers drop duplicates.
    kafka_idempotent_producer: bool = True
    # how often a relay or consumer checks whether the broker lost its memory
    broker_epoch_check_s: float = 1.0
    # a relay without NOTIFY wake-ups still polls the outbox this often
    relay_poll_s: float = 0.5
    relay_batch: int = 500
    # consumer: attempts before an event is dead-lettered
    consumer_max_attempts: int = 3

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, description="port of the service's HTTP API")

    seed_path: Path = Field(description="organisation tree and tokens (YAML)")
    taxonomy_path: Path | None = Field(default=None, description="issue-type taxonomy (defaults beside seed_path)")
    traces_dir: Path | None = Field(default=None, description="write finished spans here as JSON lines")
    otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP endpoint, e.g. http://collector:4318")

    @field_validator("service")
    @classmethod
    def _known_service(cls, v: str) -> str:
        if v not in {"intake", "routing", "supervision", "reporting"}:
            raise ValueError(f"unknown service {v!r}")
        return v

    @property
    def taxonomy_file(self) -> Path:
        return self.taxonomy_path or Path(self.seed_path).parent / "taxonomy.yaml"

    @property
    def schema(self) -> str:
        return self.db_schema or self.service
