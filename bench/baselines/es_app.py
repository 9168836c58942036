"""Peer: the same save path in the library a Python team would pick instead — ``eventsourcing``
(PostgreSQL persistence, one aggregate per petition, its own event and notification tables),
behind the same FastAPI + uvicorn stack, at the same concurrency. Run by bench/pipeline.py:

    BENCH_DATABASE_URL=... uvicorn bench.baselines.es_app:app --port 18081
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from fastapi import FastAPI, Request
from pydantic import BaseModel


class Petition(Aggregate):
    @event("Registered")
    def __init__(self, channel: str, receiving_unit: str, category: str, issue_type: str, summary: str):
        self.channel = channel
        self.receiving_unit = receiving_unit
        self.category = category
        self.issue_type = issue_type
        self.summary = summary


class Registry(Application[UUID]):
    def register(self, body: dict) -> UUID:
        petition = Petition(**body)
        self.save(petition)
        return petition.id


class Body(BaseModel):
    channel: str
    receiving_unit: str
    category: str
    issue_type: str
    summary: str


def _env() -> dict[str, str]:
    info = psycopg.conninfo.conninfo_to_dict(os.environ["BENCH_DATABASE_URL"])
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(info.get("dbname")),
        "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(info.get("port", "5432")),
        "POSTGRES_USER": str(info.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(info.get("password", "")),
        "POSTGRES_POOL_SIZE": "16",
    }


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.registry = Registry(env=_env())
    yield
    app.state.registry.close()


app = FastAPI(lifespan=lifespan)


@app.post("/petitions", status_code=201)
def register(body: Body, request: Request) -> dict:  # eventsourcing is synchronous: FastAPI runs it in its threadpool
    return {"case_id": str(request.app.state.registry.register(body.model_dump()))}
