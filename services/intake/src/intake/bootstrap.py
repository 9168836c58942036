"""Intake's composition root: everything its use cases need, wired once (the tests use it too)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from backbone.contracts import TOPIC_ROUTING
from backbone.runtime import ConsumerDef, Context, ServiceDef
from backbone.sealing import Sealer

from .domain import case_number

MIGRATIONS = Path(__file__).parent / "migrations"


class CaseNumbers:
    """Case numbers from the database sequence, taken in blocks: one round trip per 50 cases.
    Numbers are labels (the case id is the identity): a block cut short by a restart leaves a gap."""

    BLOCK = 50

    def __init__(self) -> None:
        self._free: list[int] = []
        self._lock = asyncio.Lock()

    async def next(self, pool, received_at: datetime) -> str:
        async with self._lock:
            if not self._free:
                async with pool.connection() as conn:
                    cur = await conn.execute("SELECT nextval('case_no_seq') FROM generate_series(1, %s)", (self.BLOCK,))
                    self._free = sorted((r[0] for r in await cur.fetchall()), reverse=True)
            return case_number(received_at, self._free.pop())


@dataclass
class Intake:
    ctx: Context
    sealer: Sealer
    receipt_key: bytes
    issue_types: frozenset[str]
    numbers: CaseNumbers = field(default_factory=CaseNumbers)


def intake(ctx: Context) -> Intake:
    s = ctx.settings
    sealer = Sealer(s.seal_key.get_secret_value())
    taxonomy = yaml.safe_load(s.seed("taxonomy.yaml").read_text(encoding="utf-8"))
    return Intake(ctx, sealer, sealer.derive("receipt-code"), frozenset(t["id"] for t in taxonomy["issue_types"]))


class _ScopeOnly:
    """Intake keeps no state of other services' events: only who may see each case (the backbone
    records that for every consumed event)."""

    emits = False

    def load(self, case_ids):
        return []

    def states(self, rows):
        return {}

    def apply(self, state, event):
        return state, []

    def save(self, states):
        return []


def _app(ctx: Context):
    from .api import build

    return build(intake(ctx))


SERVICE = ServiceDef(
    name="intake",
    migrations=MIGRATIONS,
    app=_app,
    # off the critical path (who may read a registration follows routing's decisions within a second):
    # it gathers a second's worth of events per batch, so it costs almost nothing per petition
    consumers=lambda ctx: [ConsumerDef("scope", [TOPIC_ROUTING], _ScopeOnly(), linger_ms=1000)],
)
