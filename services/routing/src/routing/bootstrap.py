"""Routing's composition root: the rule table, the organisation, the sealer, the projection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from backbone.contracts import TOPIC_INTAKE, PetitionRegistered
from backbone.runtime import ConsumerDef, Context, ServiceDef
from backbone.sealing import Sealer

from . import store
from .domain import CHINA, RoutingCase, RuleTable, evolve, registered, route

MIGRATIONS = Path(__file__).parent / "migrations"


def today() -> date:
    return datetime.now(CHINA).date()


@dataclass
class Routing:
    ctx: Context
    table: RuleTable
    sealer: Sealer
    today: Callable[[], date] = today


def routing(ctx: Context) -> Routing:
    s = ctx.settings
    table = RuleTable.load(s.seed("routing-rules.yaml"), s.seed("taxonomy.yaml"))
    return Routing(ctx, table, Sealer(s.seal_key.get_secret_value()))


class RoutingProjection:
    """Every registered petition is routed: assigned (and accepted, when the rule says so), or
    queued as unroutable at the receiving petition office."""

    emits = True

    def __init__(self, app: Routing):
        self.app = app

    def load(self, case_ids):
        return [store.select_many(case_ids)]

    def states(self, rows):
        return store.from_rows(rows[0])

    def apply(self, case: RoutingCase | None, event):
        if not isinstance(event.payload, PetitionRegistered) or case is not None:
            return case, []
        case = registered(event.payload)
        events = route(case, self.app.table, self.app.ctx.org, self.app.today())
        for e in events:
            case = evolve(case, e)
        return case, events

    def save(self, cases):
        return [store.upsert(list(cases.values()))]


def _app(ctx: Context):
    from .api import build

    return build(routing(ctx))


SERVICE = ServiceDef(
    name="routing",
    migrations=MIGRATIONS,
    app=_app,
    consumers=lambda ctx: [ConsumerDef("router", [TOPIC_INTAKE], RoutingProjection(routing(ctx)))],
)
