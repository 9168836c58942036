"""The clocks of one case as a pure state machine: whichever order the events arrive in, the same
clocks and the same caused events."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from backbone.contracts import CaseAccepted, CaseAssigned, CaseRejected, DeadlineMet, DeadlineSet, PetitionRegistered
from backbone.envelope import SYSTEM, new_envelope
from supervision.domain.calendar import WorkCalendar
from supervision.domain.case import apply

CAL = WorkCalendar()
REGISTERED = PetitionRegistered(case_id="c", case_no="XF-2026-000001", channel="来信",
                                received_at=datetime(2026, 9, 25, 2, tzinfo=UTC), receiving_unit="S1-XFB",
                                subsidiary="S1", anonymous=True, petitioner_count=0, category="咨询类",
                                issue_type="other", summary_sealed="s")
ASSIGNED = CaseAssigned(case_id="c", unit="S1-HR", subsidiary="S1", rule_id="r", basis="b")


def env(payload, seq=1):
    return new_envelope(payload, subject="c", sequence=seq, actor=SYSTEM)


def fold(events):
    state, caused = None, []
    for e in events:
        state, out = apply(state, e, CAL)
        caused += out
    return state, caused


def test_registration_starts_the_notice_clock_with_its_article():
    state, caused = fold([env(REGISTERED)])
    [d] = caused
    assert isinstance(d, DeadlineSet) and d.clock == "acceptance_notice" and "第二十三条第二款" in d.basis
    # received 2026-09-25 (Beijing): +15 days is 2026-10-10, a make-up working Saturday (调休)
    assert (d.starts_on, d.due_on, d.rolled_from) == (date(2026, 9, 25), date(2026, 10, 10), None)
    assert state.clocks["acceptance_notice"].met_on is None


def test_acceptance_meets_the_notice_and_starts_the_sixty_days_in_any_order():
    accepted = env(CaseAccepted(case_id="c", unit="S1-HR", accepted_on=date(2026, 9, 28), automatic=True), 2)
    outcomes = set()
    for order in itertools.permutations([env(REGISTERED), env(ASSIGNED), accepted]):
        state, caused = fold(order)
        outcomes.add((
            tuple(sorted((type(c).__name__, c.clock) for c in caused)),
            tuple(sorted((k, v.due_on, v.met_on, v.late) for k, v in state.clocks.items())),
            state.unit, state.decision,
        ))
    assert len(outcomes) == 1
    [(caused, clocks, unit, decision)] = outcomes
    assert caused == (("DeadlineMet", "acceptance_notice"), ("DeadlineSet", "acceptance_notice"),
                      ("DeadlineSet", "handling"))
    assert ("handling", date(2026, 11, 27), None, None) in clocks  # 09-28 + 60 days, a Friday
    assert (unit, decision) == ("S1-HR", "accepted")


def test_a_written_refusal_meets_the_notice_and_starts_nothing_more():
    state, caused = fold([env(REGISTERED), env(CaseRejected(case_id="c", unit="S1-HR", reason_sealed="r",
                                                             rejected_on=date(2026, 10, 20)), 2)])
    met = [c for c in caused if isinstance(c, DeadlineMet)]
    assert len(met) == 1 and met[0].late  # 10-20 is after the 10-10 last day
    assert set(state.clocks) == {"acceptance_notice"} and state.decision == "rejected"


def test_the_same_fact_twice_changes_nothing():
    accepted = env(CaseAccepted(case_id="c", unit="S1-HR", accepted_on=date(2026, 9, 28), automatic=True), 2)
    state, _ = fold([env(REGISTERED), accepted])
    again, caused = apply(state, accepted, CAL)
    assert caused == [] and again.clocks == state.clocks
    again, caused = apply(state, env(REGISTERED), CAL)
    assert caused == [] and again.clocks == state.clocks


def test_events_it_does_not_care_about_leave_the_state_alone():
    state, _ = fold([env(REGISTERED)])
    unrelated = env(DeadlineMet(case_id="c", clock="handling", on=date(2026, 9, 30), late=False))
    assert apply(state, unrelated, CAL) == (state, [])
    assert apply(None, unrelated, CAL) == (None, [])
