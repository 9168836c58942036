"""PostgreSQL access pinned to a service's own schema, and migrations with one owner.

Migrations are applied by ``migrate`` — run by ``python -m stack migrate`` (the embedded launcher
does it before starting anything) or by the ``migrate`` one-shot service in docker-compose before
the services start. A service process never migrates: it checks at start-up that its schema is
current (``ensure_current``) and refuses to start otherwise, so an API and a consumer can never race.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool

# json/jsonb columns parsed by orjson rather than the standard library's json (py-spy on intake at
# a steady 200/s: 8.8 % of the process in psycopg's json loader, reading detection's candidates)
set_json_loads(orjson.loads)


class SchemaNotReady(RuntimeError):
    pass


def conninfo(database_url: str, schema: str, name: str | None = None, parallel_workers: int | None = None,
             random_page_cost: float | None = None) -> str:
    # search_path pins every connection to the service's schema: a service cannot read another's
    # tables; application_name tells operators (pg_stat_activity) which role a connection serves
    extra = {"application_name": f"xf-{name}"} if name else {}
    # jit off: the platform's statements are keyed reads and writes that run in milliseconds, and
    # PostgreSQL's default (on above a cost of 100,000, which estimates without statistics reach
    # easily) compiled the detector's match query for 75 ms of its 137 (50 registrations)
    options = f"-c search_path={schema} -c jit=off"
    if parallel_workers is not None:
        options += f" -c max_parallel_workers_per_gather={parallel_workers}"
    if random_page_cost is not None:
        options += f" -c random_page_cost={random_page_cost}"
    return psycopg.conninfo.make_conninfo(database_url, options=options, **extra)


def connect(database_url: str, schema: str, *, autocommit: bool = False, name: str | None = None,
            **kw) -> psycopg.Connection:
    return psycopg.connect(conninfo(database_url, schema, name), autocommit=autocommit, **kw)


async def open_async_pool(database_url: str, schema: str, max_size: int = 10, parallel_workers: int | None = None,
                          random_page_cost: float | None = None) -> AsyncConnectionPool:
    # autocommit: a single statement needs no BEGIN/COMMIT round trips; multi-statement writes open
    # their transaction explicitly (``async with conn.transaction()``)
    pool = AsyncConnectionPool(conninfo(database_url, schema, f"{schema}-api", parallel_workers, random_page_cost),
                               min_size=min(4, max_size), max_size=max_size, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True, timeout=30)
    return pool


def run_script(conn: psycopg.Connection, script: Sequence[tuple[str, Sequence]], *, begin: bool = False,
               commit: bool = False) -> list[list[tuple]]:
    """Send several statements in one round trip (client-side parameter binding); the rows of each.
    Without ``begin``, statements sent together run as one implicit transaction."""
    cur = psycopg.ClientCursor(conn)
    text = "; ".join(["BEGIN"] * begin + [q for q, _ in script] + ["COMMIT"] * commit)
    cur.execute(text, [p for _, params in script for p in params])
    out: list[list[tuple]] = []
    more = True
    while more:
        if cur.pgresult is not None and cur.pgresult.status == psycopg.pq.ExecStatus.TUPLES_OK:
            out.append(cur.fetchall())
        more = bool(cur.nextset())
    return out


def scripts(service_migrations: Path | None) -> list[tuple[str, str]]:
    """Every migration script of the backbone and of the service, in the order they apply."""
    out = []
    base = resources.files("backbone") / "migrations"
    for entry in sorted(base.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".sql"):
            out.append((f"backbone/{entry.name}", entry.read_text()))
    if service_migrations is not None:
        for p in sorted(Path(service_migrations).glob("*.sql")):
            out.append((f"service/{p.name}", p.read_text()))
    return out


def _applied(conn: psycopg.Connection, schema: str) -> set[str] | None:
    exists = conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'schema_migrations'",
        (schema,),
    ).fetchone()
    if not exists:
        return None
    return {r[0] for r in conn.execute(sql.SQL("SELECT name FROM {}.schema_migrations").format(sql.Identifier(schema)))}


def migrate(database_url: str, schema: str, service_migrations: Path | None = None) -> list[str]:
    """Create the schema and apply pending scripts in one transaction; returns what was applied."""
    wanted = scripts(service_migrations)
    applied = []
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        # serialise concurrent migrators of the same schema (two launchers, a retried compose job)
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"migrate:{schema}",))
        done = _applied(conn, schema) or set()
        unknown = done - {name for name, _ in wanted}
        if unknown:
            raise SchemaNotReady(
                f"schema {schema} holds migrations this version does not know ({', '.join(sorted(unknown))}): "
                "it was made by another layout; use another database or drop the schema"
            )
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for name, text in wanted:
            if name not in done:
                conn.execute(text)
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
                applied.append(name)
    return applied


def ensure_current(database_url: str, schema: str, service_migrations: Path | None = None) -> None:
    """Refuse to start a service whose schema is behind its code."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        done = _applied(conn, schema)
    missing = [name for name, _ in scripts(service_migrations) if name not in (done or set())]
    if missing:
        raise SchemaNotReady(
            f"schema {schema} is missing migrations {', '.join(missing)}: run `python -m stack migrate` "
            "(or the compose `migrate` service) before starting the services"
        )
