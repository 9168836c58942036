"""The case-by-case rebuild's merge of the stores (pure): every case's events from every store, in
the order a time-ordered reading of the stores gives them. (The rebuild itself is checked against
what the live consumers built in tests/e2e/test_resilience.py.)"""

from datetime import UTC, datetime, timedelta

from backbone.rebuild import _cases

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def row(stream, minute, position, producer):
    return stream, T0 + timedelta(minutes=minute), position, producer, f"{producer}:{position}"


def test_each_case_comes_once_with_every_store_s_events_in_time_order():
    intake = [row("a", 0, 1, "intake"), row("b", 5, 2, "intake"), row("c", 9, 3, "intake")]
    routing = [row("a", 1, 1, "routing"), row("a", 7, 4, "routing"), row("c", 10, 2, "routing")]
    supervision = [row("a", 3, 2, "supervision"), row("b", 6, 1, "supervision"), row("b", 6, 3, "supervision")]
    cases = list(_cases([iter(intake), iter(routing), iter(supervision)]))
    assert [[r[4] for r in case] for case in cases] == [
        ["intake:1", "routing:1", "supervision:2", "routing:4"],
        ["intake:2", "supervision:1", "supervision:3"],
        ["intake:3", "routing:2"],
    ]


def test_events_at_the_same_moment_keep_their_store_s_order():
    same = [row("a", 0, 2, "routing"), row("a", 0, 5, "routing")]
    other = [row("a", 0, 3, "intake")]
    (case,) = _cases([iter(same), iter(other)])
    assert [r[4] for r in case] == ["routing:2", "intake:3", "routing:5"]


def test_no_store_no_case():
    assert list(_cases([iter([]), iter([])])) == []
