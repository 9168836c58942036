"""Routing's composition root: the rule table, the organisation, the sealer, the projection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from backbone.contracts import TOPIC_INTAKE, CaseAssigned, PetitionFlagged, PetitionRegistered
from backbone.runtime import ConsumerDef, Context, ServiceDef
from backbone.sealing import Sealer

from . import sharing, store
from .domain import CHINA, RoutingCase, RuleTable, evolve, flagged, registered, route
from .sharing import Policy

MIGRATIONS = Path(__file__).parent / "migrations"


def today() -> date:
    return datetime.now(CHINA).date()


@dataclass
class Routing:
    ctx: Context
    table: RuleTable
    sealer: Sealer
    issue_types: frozenset[str]
    sharing: Policy
    today: Callable[[], date] = today


def routing(ctx: Context) -> Routing:
    s = ctx.settings
    table = RuleTable.load(s.seed("routing-rules.yaml"), s.seed("taxonomy.yaml"), s.seed("handling.yaml"))
    taxonomy = yaml.safe_load(s.seed("taxonomy.yaml").read_text(encoding="utf-8"))
    policy = Policy.model_validate(yaml.safe_load(s.seed("sharing.yaml").read_text(encoding="utf-8"))).check(ctx.org)
    return Routing(ctx, table, Sealer(s.seal_key.get_secret_value()), frozenset(t["id"] for t in taxonomy["issue_types"]),
                   policy)


class RoutingProjection:
    """Every registered petition is routed: assigned (and accepted, when the rule says so), or
    queued as unroutable at the receiving petition office."""

    emits = True
    wants = (PetitionRegistered, PetitionFlagged)

    def __init__(self, app: Routing):
        self.app = app

    def load(self, case_ids):
        return [store.select_many(case_ids)]

    def states(self, rows):
        return store.from_rows(rows[0])

    def apply(self, case: RoutingCase | None, event):
        p = event.payload
        if isinstance(p, PetitionFlagged):
            return (flagged(case, p) if case is not None else None), []
        if not isinstance(p, PetitionRegistered) or case is not None:
            return case, []
        case = registered(p)
        events = route(case, self.app.table, self.app.ctx.org, self.app.today())
        if case.facts.subsidiary and any(isinstance(e, CaseAssigned) for e in events):
            f = case.facts  # 厂地联动 by rule (e.g. social-insurance hand-over → the locality's 人社 office)
            events += sharing.by_rule(self.app.sharing, case_id=f.case_id, category=f.category, issue_type=f.issue_type,
                                      accused_unit=f.accused_unit, accused_principals=f.accused_principals,
                                      subsidiary=f.subsidiary, on=events[0].on)
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
    # (supervision's reviewing and supervising units are petition offices, which see their whole
    # organisation anyway: routing needs none of supervision's events)
    consumers=lambda ctx: [ConsumerDef("router", [TOPIC_INTAKE], RoutingProjection(routing(ctx)))],
)
