"""Early warnings, pure: 集体访苗头 over a window of registrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reporting.warnings import CollectiveSign, collective_sign

T = datetime(2026, 11, 2, 1, tzinfo=UTC)
RULE = CollectiveSign(petitions_at_least=5, window_days=7)


def cases(*days):
    return [(T + timedelta(days=d), f"c{i}") for i, d in enumerate(days)]


def test_five_within_a_week_is_a_sign_with_its_evidence():
    assert collective_sign(cases(0, 1, 2, 3, 6.9), RULE) == ["c0", "c1", "c2", "c3", "c4"]


def test_four_or_five_spread_over_more_than_a_week_are_not():
    assert collective_sign(cases(0, 1, 2, 3), RULE) is None
    assert collective_sign(cases(0, 2, 4, 6, 8), RULE) is None


def test_order_of_arrival_does_not_matter():
    assert sorted(collective_sign(list(reversed(cases(0, 1, 2, 3, 4))), RULE)) == ["c0", "c1", "c2", "c3", "c4"]
