"""Supervision's consumer: starts and stops the statutory clocks as cases move.

Run:  python -m supervision.consumer

Events of one case arrive on two topics (intake's and routing's) whose relative order Kafka does
not guarantee, so each handler works whichever comes first: a registration that arrives after the
acceptance still starts its notice clock, and finds it already met.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import psycopg

from backbone.consumer import Delivery, serve
from backbone.contracts import TOPIC_INTAKE, TOPIC_ROUTING, DeadlineMet, DeadlineSet
from backbone.envelope import SYSTEM

from .config import Settings
from .domain.calendar import WorkCalendar
from .domain.clocks import RULES, compute

CHINA = ZoneInfo("Asia/Shanghai")


def _start(conn: psycopg.Connection, cal: WorkCalendar, case_id: str, clock: str, starts_on: date) -> DeadlineSet | None:
    d = compute(RULES[clock], starts_on, cal)
    inserted = conn.execute(
        "INSERT INTO clocks (case_id, clock, starts_on, period, unit_of_period, due_on, rolled_from, basis)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (case_id, clock, d.starts_on, d.period, d.unit, d.due_on, d.rolled_from, d.basis),
    ).rowcount
    if not inserted:
        return None
    return DeadlineSet(
        case_id=case_id, clock=clock, starts_on=d.starts_on, period=d.period, unit_of_period=d.unit,
        due_on=d.due_on, basis=d.basis, rolled_from=d.rolled_from,
    )


def _meet(conn: psycopg.Connection, case_id: str, clock: str, on: date) -> DeadlineMet | None:
    row = conn.execute(
        "UPDATE clocks SET met_on = %s, late = %s > due_on WHERE case_id = %s AND clock = %s AND met_on IS NULL"
        " RETURNING late",
        (on, on, case_id, clock),
    ).fetchone()
    if row is None:
        return None
    return DeadlineMet(case_id=case_id, clock=clock, on=on, late=row["late"])


def make_handler(settings: Settings):
    cal = WorkCalendar.load(settings.calendar_file)

    def handle(d: Delivery) -> None:
        ev, conn = d.event, d.conn
        p = ev.payload()
        case_id = ev.subject
        out: list = []
        match ev.type:
            case "petition.registered.v1":
                received_on = p.received_at.astimezone(CHINA).date()
                conn.execute(
                    "INSERT INTO cases (case_id, case_no, subsidiary, receiving_unit, accused_unit, received_on)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (case_id) DO UPDATE SET case_no = EXCLUDED.case_no,"
                    " subsidiary = EXCLUDED.subsidiary, receiving_unit = EXCLUDED.receiving_unit,"
                    " accused_unit = EXCLUDED.accused_unit, received_on = EXCLUDED.received_on",
                    (case_id, p.case_no, p.subsidiary, p.receiving_unit, p.accused_unit, received_on),
                )
                # 《信访工作条例》第二十三条第二款: tell the petitioner within 15 days of receipt
                out.append(_start(conn, cal, case_id, "acceptance_notice", received_on))
                decided = conn.execute("SELECT decided_on FROM cases WHERE case_id = %s", (case_id,)).fetchone()
                if decided and decided["decided_on"]:
                    out.append(_meet(conn, case_id, "acceptance_notice", decided["decided_on"]))
            case "case.assigned.v1":
                conn.execute(
                    "INSERT INTO cases (case_id, unit) VALUES (%s, %s)"
                    " ON CONFLICT (case_id) DO UPDATE SET unit = EXCLUDED.unit",
                    (case_id, p.unit),
                )
            case "case.accepted.v1" | "case.rejected.v1":
                on = p.accepted_on if ev.type == "case.accepted.v1" else p.rejected_on
                decision = "accepted" if ev.type == "case.accepted.v1" else "rejected"
                conn.execute(
                    "INSERT INTO cases (case_id, decided_on, decision) VALUES (%s, %s, %s)"
                    " ON CONFLICT (case_id) DO UPDATE SET decided_on = EXCLUDED.decided_on, decision = EXCLUDED.decision",
                    (case_id, on, decision),
                )
                # the acceptance (or the written refusal) is the notice the petitioner is owed
                out.append(_meet(conn, case_id, "acceptance_notice", on))
                if decision == "accepted":
                    # 《信访工作条例》第三十四条: handle within 60 days of acceptance
                    out.append(_start(conn, cal, case_id, "handling", on))
        items = [("deadline.set.v1" if isinstance(e, DeadlineSet) else "deadline.met.v1", e) for e in out if e]
        if items:
            d.emit(case_id, items, actor=SYSTEM)

    return handle


def main() -> None:
    settings = Settings(service="supervision")
    serve("clocks", [TOPIC_INTAKE, TOPIC_ROUTING], make_handler(settings), settings)


if __name__ == "__main__":
    main()
