"""Routing's consumer: every registered petition is routed to the unit that owns it.

Run:  python -m routing.consumer
"""

from __future__ import annotations

from backbone.auth import Directory
from backbone.consumer import Delivery, serve
from backbone.contracts import TOPIC_INTAKE, CaseAccepted, CaseAssigned, PetitionRegistered
from backbone.envelope import SYSTEM

from .config import Settings
from .domain import PetitionFacts, RuleTable, decide
from .time import china_date, today


def make_handler(settings: Settings):
    directory = Directory.load(settings.seed_path)
    table = RuleTable.load(settings.rules_file, settings.taxonomy_file)

    def handle(d: Delivery) -> None:
        if d.event.type != "petition.registered.v1":
            return
        p: PetitionRegistered = d.event.payload()
        d.conn.execute(
            "INSERT INTO petitions (case_id, case_no, received_at, receiving_unit, petitioner_unit, subsidiary,"
            " category, issue_type, accused_unit) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (case_id) DO NOTHING",
            (p.case_id, p.case_no, p.received_at, p.receiving_unit, p.petitioner_unit, p.subsidiary,
             p.category, p.issue_type, p.accused_unit),
        )
        facts = PetitionFacts(p.case_id, p.receiving_unit, p.petitioner_unit, p.subsidiary, p.category,
                              p.issue_type, p.accused_unit)
        decision = decide(facts, table, directory.org)
        events = [
            ("case.assigned.v1", CaseAssigned(
                case_id=p.case_id,
                unit=decision.unit,
                subsidiary=directory.org.subsidiary_of(decision.unit),
                rule_id=decision.rule.id,
                basis=decision.rule.basis,
            )),
        ]
        if decision.rule.auto_accept:
            events.append(("case.accepted.v1", CaseAccepted(
                case_id=p.case_id, unit=decision.unit, accepted_on=max(today(), china_date(p.received_at)), automatic=True,
            )))
        d.emit(p.case_id, events, actor=SYSTEM)

    return handle


def main() -> None:
    settings = Settings(service="routing")
    serve("router", [TOPIC_INTAKE], make_handler(settings), settings)


if __name__ == "__main__":
    main()
