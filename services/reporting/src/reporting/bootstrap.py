"""Reporting's composition root: the read models' projection, and its rebuild."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from backbone.contracts import TOPIC_INTAKE, TOPIC_ROUTING, TOPIC_SUPERVISION, TOPIC_SUPERVISION_MILESTONES
from backbone.db import connect
from backbone.runtime import ConsumerDef, Context, ServiceDef
from backbone.visibility import SCOPED

from . import projection, store
from .fairness import FairnessRules
from .kpis import Catalogue
from .rollup import Rollup
from .rollup import inputs as rollup_inputs
from .warnings import WarningRules, Warnings

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("reporting")


@dataclass
class Reporting:
    ctx: Context
    parties: dict[str, frozenset[str]] = field(default_factory=dict)  # 厂地联动: party -> subsidiaries it covers
    kpis: Catalogue = field(default_factory=lambda: Catalogue(kpis=[]))
    issue_names: dict[str, str] = field(default_factory=dict)
    fairness: FairnessRules | None = None  # exclusions, ranking, 每月一题 (deploy/seed/fairness.yaml)
    trace_ui: str | None = None  # an operator's trace link, e.g. http://jaeger:16686/trace/{trace_id}
    traces_dir: Path | None = None  # the embedded stack's span files, read by GET /traces/{id}
    rollup: Rollup | None = None  # the indicators' counts per month, kept by the projector (None: count cases)


def reporting(ctx: Context) -> Reporting:
    out = _reporting(ctx)
    out.fairness = FairnessRules.model_validate(yaml.safe_load(ctx.settings.seed("fairness.yaml").read_text(encoding="utf-8")))
    return out


def _reporting(ctx: Context) -> Reporting:
    seed = yaml.safe_load(ctx.settings.seed("sharing.yaml").read_text(encoding="utf-8"))
    catalogue = kpi_catalogue(ctx)
    taxonomy = yaml.safe_load(ctx.settings.seed("taxonomy.yaml").read_text(encoding="utf-8"))
    return Reporting(ctx, {p["id"]: frozenset(p["covers"]) for p in seed["parties"]}, catalogue,
                     {t["id"]: t["name"] for t in taxonomy["issue_types"]}, rollup=Rollup(catalogue),
                     trace_ui=getattr(ctx.settings, "trace_ui", None), traces_dir=ctx.settings.traces_dir)


def kpi_catalogue(ctx: Context) -> Catalogue:
    """The indicators' definitions (deploy/seed/kpis.yaml: data a group edits)."""
    return Catalogue.model_validate(yaml.safe_load(ctx.settings.seed("kpis.yaml").read_text(encoding="utf-8")))


class ReportProjection:
    """Every event of every service, into the read models; unroutable cases raise an alert.

    Each event changes its own case's report only (``per_case``): a rebuild folds case by case.
    The indicators' counts of the changed cases follow (``after``, reporting/rollup.py)."""

    emits = True
    per_case = True

    def __init__(self, rollup: Rollup):
        self.rollup = rollup
        self._inputs: dict[str, tuple] = {}

    def load(self, case_ids):
        # the cases' counts are locked before their old rows are read (reporting/rollup.py)
        return [*store.select_many(case_ids), self.rollup.lock(case_ids)]

    def states(self, rows):
        reports = store.from_rows(*rows[:2])
        self._inputs = {c: self._counted(r) for c, r in reports.items()}  # as counted before this batch
        return reports

    def apply(self, report, event):
        return projection.apply(report, event)

    def save(self, reports):
        return store.save(list(reports.values()))

    def after(self, reports, events):
        """Count again the cases whose counted values changed, or who may see them (most events
        change neither: a deadline set, a timeline line)."""
        scoped = {e.subject for e in events if isinstance(e.payload, SCOPED)}
        return self.rollup.refresh([c for c, r in reports.items()
                                    if c in scoped or self._counted(r) != self._inputs.get(c)])

    @staticmethod
    def _counted(report):
        return rollup_inputs(report.view, store.clocks(report.deadlines))

    def after_rebuild(self):
        return self.rollup.recount()


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
                        ReportProjection(Rollup(kpi_catalogue(ctx)))),
            # early warnings over the registrations and the deadlines, off the critical path
            ConsumerDef("warnings", [TOPIC_INTAKE, TOPIC_SUPERVISION],
                        Warnings(rules, _office_of(ctx.org), ctx.org.name, issue_names),
                        linger_ms=200)]


def _app(ctx: Context):
    from .api import build

    return build(reporting(ctx))


def tasks(ctx: Context):
    def recount(stop) -> None:
        """At start, count again the indicators whose definitions changed (deploy/seed/kpis.yaml);
        meanwhile they are counted from the cases."""
        with connect(ctx.settings.database_url, ctx.settings.schema, autocommit=True, name="reporting.kpi-recount") as conn:
            counted = Rollup(kpi_catalogue(ctx)).ensure(conn)
        if counted:
            log.info("indicators counted again (definitions changed): %s", ", ".join(counted))
        stop.wait()

    return [("kpi-recount", recount)]


SERVICE = ServiceDef(name="reporting", migrations=MIGRATIONS, app=_app, consumers=consumers, tasks=tasks)
