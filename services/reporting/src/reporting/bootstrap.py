"""Reporting's composition root: the read models' projection, and its rebuild."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from backbone.contracts import TOPIC_INTAKE, TOPIC_ROUTING, TOPIC_SUPERVISION, TOPIC_SUPERVISION_MILESTONES
from backbone.runtime import ConsumerDef, Context, ServiceDef

from . import projection, store
from .fairness import FairnessRules
from .kpis import Catalogue
from .warnings import WarningRules, Warnings

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Reporting:
    ctx: Context
    parties: dict[str, frozenset[str]] = field(default_factory=dict)  # 厂地联动: party -> subsidiaries it covers
    kpis: Catalogue = field(default_factory=lambda: Catalogue(kpis=[]))
    issue_names: dict[str, str] = field(default_factory=dict)
    fairness: FairnessRules | None = None  # exclusions, ranking, 每月一题 (deploy/seed/fairness.yaml)
    trace_ui: str | None = None  # an operator's trace link, e.g. http://jaeger:16686/trace/{trace_id}
    traces_dir: Path | None = None  # the embedded stack's span files, read by GET /traces/{id}


def reporting(ctx: Context) -> Reporting:
    out = _reporting(ctx)
    out.fairness = FairnessRules.model_validate(yaml.safe_load(ctx.settings.seed("fairness.yaml").read_text(encoding="utf-8")))
    return out


def _reporting(ctx: Context) -> Reporting:
    seed = yaml.safe_load(ctx.settings.seed("sharing.yaml").read_text(encoding="utf-8"))
    catalogue = Catalogue.model_validate(yaml.safe_load(ctx.settings.seed("kpis.yaml").read_text(encoding="utf-8")))
    taxonomy = yaml.safe_load(ctx.settings.seed("taxonomy.yaml").read_text(encoding="utf-8"))
    return Reporting(ctx, {p["id"]: frozenset(p["covers"]) for p in seed["parties"]}, catalogue,
                     {t["id"]: t["name"] for t in taxonomy["issue_types"]},
                     trace_ui=getattr(ctx.settings, "trace_ui", None), traces_dir=ctx.settings.traces_dir)


class ReportProjection:
    """Every event of every service, into the read models; unroutable cases raise an alert.

    ``hold`` (a rebuild's): up to that many cases' reports stay in memory between chunks and their
    rows are written once, when evicted (least recently touched first) or by ``flush`` at the end,
    instead of being read and rewritten once per chunk a case's events fall in (the stores are
    read in time order, so a case's ~25 events fall in as many chunks). Timeline rows and alerts
    are written with every chunk."""

    emits = True

    def __init__(self, hold: int = 0):
        self.hold = hold
        self.held: OrderedDict[str, projection.CaseReport] = OrderedDict()
        self.dirty: set[str] = set()
        self._asked: list[str] = []
        self._missing: list[str] = []

    def load(self, case_ids):
        if not self.hold:
            return store.select_many(case_ids)
        self._asked = list(case_ids)
        self._missing = [c for c in case_ids if c not in self.held]
        # every case held: still one statement, so that the consumer asks for the states
        return store.select_many(self._missing) if self._missing else [("SELECT 1 WHERE false", [])]

    def states(self, rows):
        if not self.hold:
            return store.from_rows(*rows)
        out = {c: self.held[c] for c in self._asked if c in self.held}
        out.update(store.from_rows(*rows) if self._missing else {})
        return out

    def apply(self, report, event):
        return projection.apply(report, event)

    def save(self, reports):
        if not self.hold:
            return store.save(list(reports.values()))
        out = store.save_news(list(reports.values()))
        for case_id, r in reports.items():
            self.held[case_id] = replace(r, new_timeline=(), new_alerts=())
            self.held.move_to_end(case_id)
            self.dirty.add(case_id)
        evicted = []
        while len(self.held) > self.hold:
            case_id, r = self.held.popitem(last=False)
            if case_id in self.dirty:
                self.dirty.discard(case_id)
                evicted.append(r)
        return out + store.save_rows(evicted)

    def flush(self):
        """The rows of every case still held (the end of a rebuild)."""
        rows = [self.held[c] for c in sorted(self.dirty)]
        self.held.clear()
        self.dirty.clear()
        return store.save_rows(rows)


def _office_of(org):
    def office(unit: str) -> str:
        """Who acts on a warning about ``unit``: its subsidiary's petition office (or the subsidiary)."""
        home = org.subsidiary_of(unit) if unit in org else None
        root = home or next(u.id for u in org.units.values() if u.parent is None and u.kind == "headquarters")
        return org.child_of_kind(root, "petition_office") or root
    return office


def consumers(ctx: Context) -> list[ConsumerDef]:
    rules = WarningRules.load(ctx.settings.seed("warnings.yaml"))
    taxonomy = yaml.safe_load(ctx.settings.seed("taxonomy.yaml").read_text(encoding="utf-8"))
    issue_names = {t["id"]: t["name"] for t in taxonomy["issue_types"]}
    return [ConsumerDef("projector", [TOPIC_INTAKE, TOPIC_ROUTING, TOPIC_SUPERVISION, TOPIC_SUPERVISION_MILESTONES],
                        ReportProjection()),
            # early warnings over the registrations and the deadlines, off the critical path
            ConsumerDef("warnings", [TOPIC_INTAKE, TOPIC_SUPERVISION],
                        Warnings(rules, _office_of(ctx.org), ctx.org.name, issue_names),
                        linger_ms=200)]


def _app(ctx: Context):
    from .api import build

    return build(reporting(ctx))


SERVICE = ServiceDef(name="reporting", migrations=MIGRATIONS, app=_app, consumers=consumers)
