"""Reporting's composition root: the read models' projection, and its rebuild."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backbone.contracts import TOPIC_INTAKE, TOPIC_ROUTING, TOPIC_SUPERVISION, TOPIC_SUPERVISION_MILESTONES
from backbone.runtime import ConsumerDef, Context, ServiceDef

from . import projection, store

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Reporting:
    ctx: Context


class ReportProjection:
    """Every event of every service, into the read models; unroutable cases raise an alert."""

    emits = True

    def load(self, case_ids):
        return store.select_many(case_ids)

    def states(self, rows):
        return store.from_rows(*rows)

    def apply(self, report, event):
        return projection.apply(report, event)

    def save(self, reports):
        return store.save(list(reports.values()))


def consumers(ctx: Context) -> list[ConsumerDef]:
    return [ConsumerDef("projector", [TOPIC_INTAKE, TOPIC_ROUTING, TOPIC_SUPERVISION, TOPIC_SUPERVISION_MILESTONES],
                        ReportProjection())]


def _app(ctx: Context):
    from .api import build

    return build(Reporting(ctx))


SERVICE = ServiceDef(name="reporting", migrations=MIGRATIONS, app=_app, consumers=consumers)
