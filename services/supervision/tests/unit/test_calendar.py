from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from supervision.domain.calendar import WorkCalendar

SEED = Path(__file__).resolve().parents[4] / "deploy" / "seed" / "calendar.yaml"


def days(start: date, end: date):
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# Facts from the State Council notices, each checked against chinese_calendar below
KNOWN = [
    *[(d, False) for d in days(date(2025, 10, 1), date(2025, 10, 8))],  # 2025 国庆+中秋
    (date(2025, 9, 28), True),  # Sunday, 调休 make-up
    (date(2025, 10, 11), True),  # Saturday, 调休 make-up
    (date(2025, 10, 9), True),
    *[(d, False) for d in days(date(2026, 10, 1), date(2026, 10, 7))],  # 2026 国庆
    (date(2026, 10, 10), True),  # Saturday, 调休 make-up
    (date(2026, 2, 16), False),  # 2026 春节 (Monday)
    (date(2026, 2, 28), True),  # Saturday, 调休 make-up
    (date(2025, 1, 1), False),
    (date(2025, 3, 8), False),  # ordinary Saturday
    (date(2025, 3, 10), True),  # ordinary Monday
]


@pytest.mark.parametrize(("d", "working"), KNOWN)
def test_known_facts_match_chinese_calendar_and_work_calendar(d, working):
    assert chinese_calendar.is_workday(d) is working
    assert WorkCalendar().is_workday(d) is working
    assert WorkCalendar().is_verified(d)


def test_agrees_with_chinese_calendar_for_every_day_of_2025_and_2026():
    cal = WorkCalendar()
    for d in days(date(2025, 1, 1), date(2026, 12, 31)):
        assert cal.is_workday(d) == chinese_calendar.is_workday(d), d
        assert cal.is_verified(d)


def test_unsupported_year_falls_back_to_monday_to_friday_unverified():
    cal = WorkCalendar()
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 1))
    week = days(date(2027, 3, 1), date(2027, 3, 7))  # Monday..Sunday
    assert [cal.is_workday(d) for d in week] == [True] * 5 + [False] * 2
    assert not any(cal.is_verified(d) for d in week)
    # 2027-01-01 is a Friday: a guessed working day until the table is entered
    assert cal.is_workday(date(2027, 1, 1))
    assert not cal.is_verified(date(2027, 1, 1))
    # years before the library's range fall back too
    assert cal.is_workday(date(2003, 3, 3)) and not cal.is_verified(date(2003, 3, 3))


def test_overrides_win_both_ways_in_a_supported_year():
    company_day_off = date(2025, 3, 12)  # ordinary Wednesday
    extra_saturday = date(2025, 3, 15)  # ordinary Saturday
    national_holiday = date(2025, 10, 3)
    cal = WorkCalendar({company_day_off: False, extra_saturday: True, national_holiday: True})
    assert not cal.is_workday(company_day_off)
    assert cal.is_workday(extra_saturday)
    assert cal.is_workday(national_holiday)
    assert cal.is_workday(date(2025, 3, 13))  # neighbours unaffected
    assert cal.is_verified(company_day_off)


def test_overrides_enter_an_unpublished_year():
    cal = WorkCalendar({date(2027, 1, 1): False, date(2027, 2, 7): True})
    assert not cal.is_workday(date(2027, 1, 1))  # Friday made a holiday
    assert cal.is_workday(date(2027, 2, 7))  # Sunday made a working day
    # entering a year's table marks the whole year as verified
    assert cal.is_verified(date(2027, 1, 1))
    assert cal.is_verified(date(2027, 3, 10))
    assert cal.is_workday(date(2027, 3, 10))
    assert not cal.is_verified(date(2028, 3, 10))


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2025, 3, 10), date(2025, 3, 10)),  # already a working day
        (date(2025, 3, 8), date(2025, 3, 10)),  # Saturday -> Monday
        (date(2025, 10, 1), date(2025, 10, 9)),  # through 国庆
        (date(2025, 10, 11), date(2025, 10, 11)),  # make-up Saturday
        (date(2025, 10, 12), date(2025, 10, 13)),
        (date(2026, 2, 15), date(2026, 2, 24)),  # through 春节
        (date(2027, 1, 2), date(2027, 1, 4)),  # fallback: Saturday -> Monday
    ],
)
def test_next_workday_on_or_after(d, expected):
    assert WorkCalendar().next_workday_on_or_after(d) == expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 3, 3), 0, date(2025, 3, 3)),
        (date(2025, 3, 3), 1, date(2025, 3, 4)),  # the start day is not counted
        (date(2025, 3, 3), 5, date(2025, 3, 10)),  # Monday + 5 -> next Monday
        (date(2025, 3, 7), 1, date(2025, 3, 10)),  # Friday + 1 -> Monday
        (date(2025, 9, 26), 5, date(2025, 10, 10)),  # Sun 9-28 make-up counts, 10-01..08 skipped
        (date(2025, 9, 29), 5, date(2025, 10, 13)),  # Sat 10-11 make-up counts
        (date(2025, 10, 1), 5, date(2025, 10, 14)),  # starting on a holiday
    ],
)
def test_add_working_days(start, n, expected):
    assert WorkCalendar().add_working_days(start, n) == expected


def test_add_working_days_matches_brute_force_for_every_start_in_2025():
    cal = WorkCalendar()
    for start in days(date(2025, 1, 1), date(2025, 12, 31)):
        for n in (1, 5, 10):
            d, left = start, n
            while left:
                d += timedelta(days=1)
                left -= chinese_calendar.is_workday(d)
            assert cal.add_working_days(start, n) == d, (start, n)


def test_add_working_days_rejects_negative():
    with pytest.raises(ValueError):
        WorkCalendar().add_working_days(date(2025, 3, 3), -1)


# --- YAML loader -----------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "calendar.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_load_none_means_no_overrides():
    cal = WorkCalendar.load(None)
    assert cal.is_workday(date(2027, 1, 1)) and not cal.is_verified(date(2027, 1, 1))


def test_load_both_lists(tmp_path):
    cal = WorkCalendar.load(
        write(
            tmp_path,
            "# 2027, published by the State Council\n"
            "holidays: [2027-01-01, '2027-02-05']\n"  # quoted form accepted too
            "workdays:\n  - 2027-02-07\n",
        )
    )
    assert not cal.is_workday(date(2027, 1, 1))
    assert not cal.is_workday(date(2027, 2, 5))
    assert cal.is_workday(date(2027, 2, 7))
    assert cal.is_verified(date(2027, 6, 1))


@pytest.mark.parametrize(
    "text", ["", "# nothing yet\n", "holidays: []\n", "workdays:\n", "holidays: []\nworkdays: []\n"]
)
def test_load_empty_or_partial_files(tmp_path, text):
    cal = WorkCalendar.load(write(tmp_path, text))
    assert cal.is_workday(date(2025, 9, 28)) and not cal.is_workday(date(2025, 10, 1))
    assert not cal.is_verified(date(2027, 1, 1))


def test_load_only_workdays(tmp_path):
    cal = WorkCalendar.load(write(tmp_path, "workdays: [2025-03-08]\n"))
    assert cal.is_workday(date(2025, 3, 8))


def test_load_rejects_a_date_in_both_lists(tmp_path):
    path = write(tmp_path, "holidays: [2027-01-01, 2027-02-07]\nworkdays: [2027-02-07]\n")
    with pytest.raises(ValueError, match="2027-02-07"):
        WorkCalendar.load(path)


@pytest.mark.parametrize(
    "text",
    [
        "holidays: [not-a-date]\n",
        "holidays: [2027-13-01]\n",
        "holidays: [2027-01-01 08:00:00]\n",  # a timestamp, not a day
        "holiday: [2027-01-01]\n",  # misspelt key
        "- 2027-01-01\n",  # not a mapping
    ],
)
def test_load_rejects_malformed_files(tmp_path, text):
    with pytest.raises(ValueError):
        WorkCalendar.load(write(tmp_path, text))


def test_seed_file_is_valid_and_empty():
    cal = WorkCalendar.load(SEED)
    assert cal.is_workday(date(2027, 1, 1)) and not cal.is_verified(date(2027, 1, 1))
    assert "2027" in SEED.read_text(encoding="utf-8")
