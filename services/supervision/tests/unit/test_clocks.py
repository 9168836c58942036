from dataclasses import FrozenInstanceError
from datetime import date, timedelta

import chinese_calendar
import pytest

from supervision.domain.calendar import WorkCalendar
from supervision.domain.clocks import RULES, ClockRule, Deadline, compute, status_as_of

CAL = WorkCalendar()


def test_facts_relied_on_below():
    assert all(not chinese_calendar.is_workday(date(2025, 10, d)) for d in range(1, 9))  # 国庆 10-01..08
    assert chinese_calendar.is_workday(date(2025, 10, 9))
    assert chinese_calendar.is_workday(date(2025, 10, 11)) and date(2025, 10, 11).weekday() == 5
    assert chinese_calendar.is_workday(date(2025, 9, 28)) and date(2025, 9, 28).weekday() == 6
    assert all(not chinese_calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))  # 春节 02-15..23
    assert chinese_calendar.is_workday(date(2026, 2, 24))
    assert all(not chinese_calendar.is_workday(date(2026, 10, d)) for d in range(1, 8))  # 国庆 10-01..07
    assert date(2025, 11, 15).weekday() == 5 and not chinese_calendar.is_workday(date(2025, 11, 15))


# --- the rule table --------------------------------------------------------------------------------

EXPECTED = {
    "transfer": (15, "calendar_days", "第二十二条"),
    "acceptance_notice": (15, "calendar_days", "第二十三条第二款"),
    "transferred_notice": (15, "calendar_days", "第二十三条第三款"),
    "objection": (5, "working_days", "第二十三条第三款"),
    "handling": (60, "calendar_days", "第三十四条"),
    "extension": (30, "calendar_days", "第三十四条"),
    "review_request_window": (30, "calendar_days", "第三十五条"),
    "review": (30, "calendar_days", "第三十五条"),
    "re_review_request_window": (30, "calendar_days", "第三十六条"),
    "re_review": (30, "calendar_days", "第三十六条"),
}


@pytest.mark.parametrize(("clock", "expected"), EXPECTED.items())
def test_rule_table(clock, expected):
    period, unit, article = expected
    rule = RULES[clock]
    assert (rule.clock, rule.period, rule.unit) == (clock, period, unit)
    assert article in rule.basis


@pytest.mark.parametrize("rule", RULES.values(), ids=list(RULES))
def test_every_rule_cites_the_regulation(rule):
    assert rule.basis.startswith("《信访工作条例》第")
    assert rule.basis.endswith(("条", "款"))
    assert rule.starts_from.endswith("之日")
    assert RULES[rule.clock] is rule


def test_only_the_objection_counts_working_days():
    assert [c for c, r in RULES.items() if r.unit == "working_days"] == ["objection"]


@pytest.mark.parametrize(("period", "unit"), [(0, "calendar_days"), (-1, "calendar_days"), (5, "weeks")])
def test_clock_rule_rejects_nonsense(period, unit):
    with pytest.raises(ValueError):
        ClockRule("x", period, unit, "《信访工作条例》第一条")


def test_clock_rule_and_deadline_are_immutable():
    with pytest.raises(FrozenInstanceError):
        RULES["handling"].period = 90
    d = compute(RULES["handling"], date(2025, 3, 3), CAL)
    with pytest.raises(FrozenInstanceError):
        d.due_on = date(2030, 1, 1)


# --- compute: calendar days ------------------------------------------------------------------------


def test_start_day_not_counted_ordinary_weekday():
    # received Monday 2025-03-03: 15 days later is Tuesday 03-18, a working day
    d = compute(RULES["acceptance_notice"], date(2025, 3, 3), CAL)
    assert d == Deadline(
        clock="acceptance_notice",
        starts_on=date(2025, 3, 3),
        period=15,
        unit="calendar_days",
        due_on=date(2025, 3, 18),
        basis="《信访工作条例》第二十三条第二款",
        rolled_from=None,
        calendar_verified=True,
    )


def test_roll_over_past_national_day_2025():
    # 09-16 + 15 = 10-01, the first day of an eight-day holiday: ends on Thursday 10-09
    d = compute(RULES["acceptance_notice"], date(2025, 9, 16), CAL)
    assert (d.due_on, d.rolled_from) == (date(2025, 10, 9), date(2025, 10, 1))


def test_roll_over_from_inside_a_holiday():
    d = compute(RULES["transfer"], date(2025, 9, 20), CAL)  # nominal 10-05
    assert (d.due_on, d.rolled_from) == (date(2025, 10, 9), date(2025, 10, 5))


def test_handling_period_rolls_past_spring_festival_2026():
    # accepted 2025-12-17: day 60 is 2026-02-15, 春节 runs to 02-23
    d = compute(RULES["handling"], date(2025, 12, 17), CAL)
    assert (d.due_on, d.rolled_from) == (date(2026, 2, 24), date(2026, 2, 15))
    assert d.calendar_verified


def test_roll_over_past_national_day_2026():
    d = compute(RULES["review"], date(2026, 9, 1), CAL)  # nominal 10-01
    assert d.rolled_from == date(2026, 10, 1)
    assert d.due_on == CAL.next_workday_on_or_after(date(2026, 10, 8))
    assert d.due_on == date(2026, 10, 8)


@pytest.mark.parametrize(
    ("clock", "start", "due"),
    [
        ("review_request_window", date(2025, 9, 11), date(2025, 10, 11)),  # make-up Saturday
        ("acceptance_notice", date(2025, 9, 13), date(2025, 9, 28)),  # make-up Sunday
        ("transferred_notice", date(2026, 9, 25), date(2026, 10, 10)),  # make-up Saturday, 2026
    ],
)
def test_period_ending_on_a_make_up_day_does_not_roll(clock, start, due):
    d = compute(RULES[clock], start, CAL)
    assert (d.due_on, d.rolled_from) == (due, None)


def test_ordinary_weekend_rolls_to_monday():
    d = compute(RULES["acceptance_notice"], date(2025, 10, 31), CAL)  # nominal Saturday 11-15
    assert (d.due_on, d.rolled_from) == (date(2025, 11, 17), date(2025, 11, 15))


def test_every_calendar_day_deadline_in_2025_ends_on_the_first_working_day_from_the_nominal_day():
    for start in (date(2025, 1, 1) + timedelta(days=i) for i in range(365)):
        for rule in (r for r in RULES.values() if r.unit == "calendar_days"):
            d = compute(rule, start, CAL)
            nominal = start + timedelta(days=rule.period)
            assert d.due_on >= nominal
            assert chinese_calendar.is_workday(d.due_on)
            assert all(
                not chinese_calendar.is_workday(nominal + timedelta(days=k)) for k in range((d.due_on - nominal).days)
            )
            assert d.rolled_from == (nominal if d.due_on != nominal else None)
            assert d.calendar_verified


# --- compute: working days -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (date(2025, 3, 3), date(2025, 3, 10)),  # Monday -> next Monday: start day not counted
        (date(2025, 9, 26), date(2025, 10, 10)),  # 09-28 make-up counts; 10-01..08 skipped
        (date(2025, 9, 29), date(2025, 10, 13)),  # 09-30, 10-09, 10-10, 10-11 (make-up), 10-13
        (date(2025, 10, 1), date(2025, 10, 14)),  # received during the holiday
        (date(2026, 2, 13), date(2026, 2, 27)),  # 02-14 make-up, 春节 02-15..23, then 02-24..27
    ],
)
def test_objection_five_working_days(start, due):
    d = compute(RULES["objection"], start, CAL)
    assert (d.due_on, d.rolled_from, d.unit) == (due, None, "working_days")
    assert d.calendar_verified
    between = [start + timedelta(days=k) for k in range(1, (due - start).days + 1)]
    assert sum(chinese_calendar.is_workday(x) for x in between) == 5


# --- overrides and unpublished years ---------------------------------------------------------------


def test_group_day_off_rolls_the_deadline():
    cal = WorkCalendar({date(2025, 3, 18): False})
    d = compute(RULES["acceptance_notice"], date(2025, 3, 3), cal)
    assert (d.due_on, d.rolled_from) == (date(2025, 3, 19), date(2025, 3, 18))


def test_extra_working_saturday_stops_the_roll():
    cal = WorkCalendar({date(2025, 11, 15): True})
    d = compute(RULES["acceptance_notice"], date(2025, 10, 31), cal)
    assert (d.due_on, d.rolled_from) == (date(2025, 11, 15), None)


def test_objection_counts_an_override_working_day():
    cal = WorkCalendar({date(2025, 10, 3): True})  # hypothetically working
    assert compute(RULES["objection"], date(2025, 9, 29), cal).due_on == date(2025, 10, 11)


def test_deadline_in_an_unpublished_year_is_flagged():
    d = compute(RULES["acceptance_notice"], date(2026, 12, 20), CAL)  # nominal Monday 2027-01-04
    assert (d.due_on, d.calendar_verified) == (date(2027, 1, 4), False)
    # start in 2026 but nominal last day in 2026: verified
    assert compute(RULES["acceptance_notice"], date(2026, 11, 1), CAL).calendar_verified


def test_working_days_into_an_unpublished_year_are_flagged():
    d = compute(RULES["objection"], date(2026, 12, 28), CAL)
    assert d.due_on.year == 2027 and not d.calendar_verified


def test_unpublished_year_weekend_fallback_and_entering_the_table():
    # 2027-01-02 is a Saturday: nominal day rolls to Monday on the weekday guess
    d = compute(RULES["acceptance_notice"], date(2026, 12, 18), CAL)
    assert (d.due_on, d.rolled_from, d.calendar_verified) == (date(2027, 1, 4), date(2027, 1, 2), False)
    # once 2027's holidays are entered the same clock is verified and honours them
    cal = WorkCalendar({date(2027, 1, 4): False, date(2027, 1, 1): False})
    d = compute(RULES["acceptance_notice"], date(2026, 12, 18), cal)
    assert (d.due_on, d.rolled_from, d.calendar_verified) == (date(2027, 1, 5), date(2027, 1, 2), True)


# --- status_as_of ----------------------------------------------------------------------------------

DUE = date(2025, 10, 9)


@pytest.mark.parametrize(
    ("met_on", "as_of", "warn", "expected"),
    [
        (date(2025, 10, 9), date(2025, 12, 1), 3, "met"),  # on the last day
        (date(2025, 9, 1), date(2025, 9, 2), 3, "met"),
        (date(2025, 10, 10), date(2025, 10, 10), 3, "met_late"),
        (date(2025, 10, 10), date(2025, 10, 1), 3, "met_late"),  # met_on decides, not as_of
        (None, date(2025, 10, 10), 3, "overdue"),  # the day after the last day
        (None, date(2025, 10, 9), 3, "due_soon"),  # the last day runs to 24:00
        (None, date(2025, 10, 6), 3, "due_soon"),  # exactly warn_days left
        (None, date(2025, 10, 5), 3, "running"),  # warn_days + 1 left
        (None, date(2025, 10, 9), 0, "due_soon"),
        (None, date(2025, 10, 8), 0, "running"),
        (None, date(2025, 9, 1), 3, "running"),
    ],
)
def test_status_as_of(met_on, as_of, warn, expected):
    assert status_as_of(DUE, met_on, as_of, warn_days=warn) == expected


def test_status_as_of_default_warning_is_three_days():
    assert status_as_of(DUE, None, DUE - timedelta(days=3)) == "due_soon"
    assert status_as_of(DUE, None, DUE - timedelta(days=4)) == "running"
