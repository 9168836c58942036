"""Running a service: which roles a process plays, and the threads that play them.

    python -m <service> all        API + relay + consumers in one process (embedded default)
    python -m <service> api        the HTTP API only            (production: scale by replicas)
    python -m <service> relay      the outbox relay only        (one publishes; others stand by)
    python -m <service> consumer   the consumers only           (production: scale by partitions)
    python -m <service> migrate    apply the schema's migrations and exit (compose runs it first)

A service's composition root (``<service>.bootstrap``) describes the service as a ``ServiceDef``;
``serve`` wires the shared parts once (settings, organisation, authentication, event store, broker)
and starts the roles asked for. A role thread that dies takes the process down with it, so that the
supervisor (the embedded launcher, or the container runtime) restarts it whole.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from . import telemetry
from .auth import Authenticator, Chain, DemoTokens, JwtAuthenticator, OrgTree
from .broker import Broker, KafkaOptions
from .consumer import IdempotentConsumer, Projection
from .db import ensure_current
from .eventstore import EventStore
from .publisher import Publisher
from .relay import Relay

log = logging.getLogger("backbone.runtime")
ROLES = ("api", "relay", "consumer")


@dataclass
class ConsumerDef:
    name: str
    topics: list[str]
    projection: Projection
    # how long it may wait to gather a larger batch (None: XF_CONSUMER_LINGER_MS); a consumer off
    # the critical path can wait long and cost almost nothing per event
    linger_ms: int | None = None


@dataclass
class Context:
    """What the backbone hands a service's composition root."""

    settings: Any
    org: OrgTree
    auth: Authenticator
    store: EventStore
    broker: Broker  # the process's one view of the broker (epoch, shared producer)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ServiceDef:
    name: str
    migrations: Path
    app: Callable[[Context], FastAPI]
    consumers: Callable[[Context], list[ConsumerDef]] = lambda ctx: []
    produces: bool = True
    # loops run with the consumers (e.g. supervision's ticker): each is called with the process's
    # stop event and returns when it is set
    tasks: Callable[[Context], list[tuple[str, Callable[[threading.Event], None]]]] = lambda ctx: []


def authenticator(settings, org: OrgTree) -> Authenticator:
    jwt_auth = None
    if settings.jwt_issuer and settings.jwt_audience and (settings.public_key_pem() or settings.jwt_jwks_url):
        jwt_auth = JwtAuthenticator(
            org, issuer=settings.jwt_issuer, audience=settings.jwt_audience, algorithms=settings.jwt_algorithms,
            public_key=settings.public_key_pem(), jwks_url=settings.jwt_jwks_url,
            unit_claim=settings.jwt_unit_claim, role_claim=settings.jwt_role_claim,
        )
    if settings.auth_mode == "demo":
        demo = DemoTokens(settings.demo_tokens_path, org)
        return Chain(demo, jwt_auth) if jwt_auth else demo
    assert jwt_auth is not None  # settings refuse jwt mode without issuer, audience and key
    return jwt_auth


def context(settings, broker: Broker | None = None) -> Context:
    org = OrgTree.load(settings.seed("org.yaml"))
    broker = broker or Broker(KafkaOptions.from_settings(settings))
    store = EventStore(settings.service, Publisher(settings, broker))
    return Context(settings, org, authenticator(settings, org), store, broker)


def serve(service: ServiceDef, settings, roles: set[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    unknown = roles - set(ROLES)
    if unknown or not roles:
        raise SystemExit(f"roles must be among {', '.join(ROLES)} (or 'all'); got {sorted(roles)}")
    telemetry.setup(service.name, "+".join(sorted(roles)), settings.traces_dir, settings.otlp_endpoint,
                    settings.trace_sample_ratio, settings.traces_per_s)
    ensure_current(settings.database_url, settings.schema, service.migrations)
    broker = Broker(KafkaOptions.from_settings(settings))
    ctx = context(settings, broker)
    # the API, the relay and the consumers share one interpreter lock: hand it over every 1 ms
    # instead of 5 ms, so that a wake-up (a commit for the relay, a request for the API) waits less
    sys.setswitchinterval(0.001)
    stop = threading.Event()
    workers: list[tuple[str, Callable[[], None]]] = []
    ctx.store.publisher.start()
    if "relay" in roles and service.produces:
        workers.append(("relay", Relay(settings, broker, ctx.store.publisher, stop).run))
    if "consumer" in roles:
        for c in service.consumers(ctx):
            workers.append((c.name, IdempotentConsumer(settings, c.name, c.topics, c.projection, ctx.store, broker,
                                                       stop, linger_ms=c.linger_ms).run))
        for name, task in service.tasks(ctx):
            workers.append((name, lambda task=task: task(stop)))
    threads = [threading.Thread(target=_fatal_on_exit(name, fn, stop), name=name, daemon=True) for name, fn in workers]
    for t in threads:
        t.start()
    try:
        if "api" in roles:
            import uvicorn

            config = uvicorn.Config(service.app(ctx), host=settings.http_host, port=settings.http_port,
                                    log_level="warning", access_log=False, lifespan="on")
            uvicorn.Server(config).run()
        else:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            stop.wait()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        ctx.store.publisher.close()
        broker.close()
        telemetry.shutdown()


def _fatal_on_exit(name: str, fn: Callable[[], None], stop: threading.Event) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except BaseException:
            log.exception("%s died", name)
        if not stop.is_set():
            log.error("%s stopped unexpectedly: stopping the process so that it is restarted whole", name)
            stop.set()
            os.kill(os.getpid(), signal.SIGTERM)

    return run


def main(service: ServiceDef, settings_cls, argv: list[str] | None = None) -> None:
    """``python -m <service> [all | api | relay | consumer ... | migrate]``"""
    import sys

    args = (argv if argv is not None else sys.argv[1:]) or ["all"]
    settings = settings_cls(service=service.name)
    if args == ["migrate"]:
        from .db import migrate

        applied = migrate(settings.database_url, settings.schema, service.migrations)
        print(f"{service.name}: applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
        return
    serve(service, settings, set(ROLES) if args == ["all"] else set(args))
