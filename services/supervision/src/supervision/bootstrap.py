"""Supervision's composition root: the working-day calendar, the group's policy, the organisation,
the sealer; the projection that starts and stops clocks as other services' events arrive; and the
ticker, which does what time does (pre-warnings, breaches, escalations)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import yaml

from backbone import days, visibility
from backbone import contracts as ev
from backbone.contracts import TOPIC_INTAKE, TOPIC_ROUTING
from backbone.db import connect
from backbone.envelope import SYSTEM
from backbone.eventstore import ConcurrencyConflict, conflicts_detected
from backbone.runtime import ConsumerDef, Context, ServiceDef
from backbone.sealing import Sealer

from . import store
from .domain.calendar import WorkCalendar
from .domain.case import CaseFile, Ctx, evolve, react, tick
from .documents import load_templates
from .domain.policy import Policy

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("supervision.ticker")


@dataclass
class Supervision:
    ctx: Context
    calendar: WorkCalendar
    policy: Policy
    sealer: Sealer
    templates: dict[str, dict]  # reply templates (deploy/seed/reply-templates.yaml)
    documents: dict[str, dict]  # statutory document templates (deploy/seed/documents.yaml)
    peers: dict[str, Sealer]  # other services' sealers, for documents only
    today: Callable[[], date] = days.today

    @property
    def domain(self) -> Ctx:
        return Ctx(cal=self.calendar, policy=self.policy, org=self.ctx.org)


def supervision(ctx: Context) -> Supervision:
    s = ctx.settings
    templates = yaml.safe_load(s.seed("reply-templates.yaml").read_text(encoding="utf-8"))["templates"]
    peers = {name: Sealer(key.get_secret_value()) for name, key in s.peer_seal_keys.items()}
    return Supervision(ctx, WorkCalendar.load(s.seed("calendar.yaml")), Policy.load(s.seed("handling.yaml")),
                       Sealer(s.seal_key.get_secret_value()), templates, load_templates(s.seed("documents.yaml")), peers)


class ClocksProjection:
    """Starts and stops the statutory clocks as cases move (domain.case.react), and notices at once
    what is already due (a case registered or decided after the fact)."""

    emits = True
    wants = (ev.PetitionRegistered, ev.CaseAssigned, ev.CaseUnroutable, ev.CaseClassified, ev.CaseAccepted,
             ev.CaseRejected, ev.ObjectionRaised, ev.TrackSet, ev.LeaderTookCase, ev.JointHandlingSet,
             ev.SubtaskReported, ev.InvestigationRecorded, ev.MediationScheduled, ev.MediationConcluded,
             ev.JointMeetingRecorded, ev.MeetingActionDone)

    def __init__(self, app: Supervision):
        self.app = app

    def load(self, case_ids):
        return store.select_many(case_ids)

    def states(self, rows):
        return store.from_rows(*rows)

    def apply(self, case, event):
        case, caused = react(case, event, self.app.domain)
        if case is not None and caused:
            due = tick(case, self.app.today(), self.app.domain)
            for e in due:
                case = evolve(case, e)
            caused += due
        return case, caused

    def save(self, cases):
        return store.save(list(cases.values()), self.app.policy)


def ticker(app: Supervision, every_s: float, page: int = 200) -> Callable[[threading.Event], None]:
    """Every ``every_s``, walk the files that may have something due today (``next_check_on``), in
    case-id order, a page per transaction, and record what time did to them."""
    s = app.ctx.settings

    def run(stop: threading.Event) -> None:
        conn = None
        while not stop.wait(every_s):
            try:
                if conn is None or conn.closed:
                    conn = connect(s.database_url, s.schema, autocommit=True, name=f"{s.schema}-ticker")
                tick_all(app, conn, app.today(), page)
            except (psycopg.OperationalError, psycopg.errors.DeadlockDetected, ConcurrencyConflict) as e:
                log.warning("tick interrupted (%s); next time", type(e).__name__)
                if isinstance(e, psycopg.OperationalError) and conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()

    return run


def tick_all(app: Supervision, conn: psycopg.Connection, today: date, page: int = 200) -> int:
    """One pass over every file with something possibly due by ``today``; the events recorded."""
    after, recorded = "00000000-0000-0000-0000-000000000000", 0
    while True:
        with conflicts_detected(), conn.transaction():
            rows = conn.execute("SELECT state::text FROM cases WHERE next_check_on <= %s AND case_id > %s"
                                " ORDER BY case_id LIMIT %s FOR UPDATE", (today, after, page)).fetchall()
            if not rows:
                return recorded
            files: list[CaseFile] = []
            envs = []
            for (state,) in rows:
                f = CaseFile.model_validate_json(state)
                due = tick(f, today, app.domain)
                if due:
                    envs += app.ctx.store.envelopes(f.case_id, f.version, due, SYSTEM)
                    for e in due:
                        f = evolve(f, e)
                files.append(f)
            after = files[-1].case_id
            write = app.ctx.store.write_statement(envs, *store.save(files, app.policy), *visibility.statements(envs))
            positions = conn.execute(*write).fetchone()[0]
        app.ctx.store.published(envs, positions)
        recorded += len(envs)
        if len(rows) < page:
            return recorded


def _app(ctx: Context):
    from .api import build

    return build(supervision(ctx))


SERVICE = ServiceDef(
    name="supervision",
    migrations=MIGRATIONS,
    app=_app,
    consumers=lambda ctx: [ConsumerDef("clocks", [TOPIC_INTAKE, TOPIC_ROUTING], ClocksProjection(supervision(ctx)))],
    tasks=lambda ctx: [("ticker", ticker(supervision(ctx), ctx.settings.tick_s))],
)
