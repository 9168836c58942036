"""PostgreSQL access: one pool per process, pinned to the service's own schema, and migrations."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


def _conninfo(database_url: str, schema: str) -> str:
    # search_path pins every connection to the service's schema: a service cannot read another's tables
    return psycopg.conninfo.make_conninfo(database_url, options=f"-c search_path={schema}")


def connect(database_url: str, schema: str, **kw) -> psycopg.Connection:
    return psycopg.connect(_conninfo(database_url, schema), row_factory=dict_row, **kw)


def open_pool(database_url: str, schema: str, max_size: int = 10) -> ConnectionPool:
    pool = ConnectionPool(
        _conninfo(database_url, schema),
        min_size=1,
        max_size=max_size,
        kwargs={"row_factory": dict_row},
        open=False,
    )
    pool.open(wait=True, timeout=30)
    return pool


def _scripts(package_dir: Path | None) -> list[tuple[str, str]]:
    out = []
    base = resources.files("backbone") / "migrations"
    for entry in sorted(base.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".sql"):
            out.append((f"backbone/{entry.name}", entry.read_text()))
    if package_dir is not None:
        for p in sorted(package_dir.glob("*.sql")):
            out.append((f"service/{p.name}", p.read_text()))
    return out


def migrate(database_url: str, schema: str, service_migrations: Path | None = None) -> list[str]:
    """Create the schema and apply pending scripts, once, even with several processes starting."""
    applied = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.transaction():
            # serialise concurrent migrators of the same schema
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"migrate:{schema}",))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for name, text in _scripts(service_migrations):
                if name in done:
                    continue
                conn.execute(text)
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
                applied.append(name)
    return applied
