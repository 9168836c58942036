"""Supervision's composition root: the working-day calendar and the clocks projection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backbone.contracts import TOPIC_INTAKE, TOPIC_ROUTING
from backbone.runtime import ConsumerDef, Context, ServiceDef

from . import store
from .domain.calendar import WorkCalendar
from .domain.case import apply

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Supervision:
    ctx: Context
    calendar: WorkCalendar


def supervision(ctx: Context) -> Supervision:
    return Supervision(ctx, WorkCalendar.load(ctx.settings.seed("calendar.yaml")))


class ClocksProjection:
    """Starts and stops the statutory clocks as cases move (domain.case.apply)."""

    emits = True

    def __init__(self, app: Supervision):
        self.calendar = app.calendar

    def load(self, case_ids):
        return store.select_many(case_ids)

    def states(self, rows):
        return store.from_rows(*rows)

    def apply(self, case, event):
        return apply(case, event, self.calendar)

    def save(self, cases):
        return store.save(list(cases.values()))


def _app(ctx: Context):
    from .api import build

    return build(supervision(ctx))


SERVICE = ServiceDef(
    name="supervision",
    migrations=MIGRATIONS,
    app=_app,
    consumers=lambda ctx: [ConsumerDef("clocks", [TOPIC_INTAKE, TOPIC_ROUTING], ClocksProjection(supervision(ctx)))],
)
