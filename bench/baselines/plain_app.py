"""Baseline: a plain FastAPI endpoint doing one INSERT and a COMMIT (async psycopg pool), and a
no-op endpoint that shows the load generator's own ceiling. Run by bench/pipeline.py:

    BENCH_DATABASE_URL=... uvicorn bench.baselines.plain_app:app --port 18080
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

URL = os.environ["BENCH_DATABASE_URL"]


class Item(BaseModel):
    channel: str
    summary: str


@asynccontextmanager
async def lifespan(app: FastAPI):
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS plain_items (id bigserial PRIMARY KEY, body jsonb NOT NULL)")
    app.state.pool = AsyncConnectionPool(URL, min_size=8, max_size=16, open=False)
    await app.state.pool.open()
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/noop")
async def noop() -> dict:
    return {"ok": True}


@app.post("/items", status_code=201)
async def create(item: Item, request: Request) -> dict:
    async with request.app.state.pool.connection() as conn:  # commits on leaving the block
        cur = await conn.execute("INSERT INTO plain_items (body) VALUES (%s) RETURNING id", (item.model_dump_json(),))
        row = await cur.fetchone()
    return {"id": row[0]}
