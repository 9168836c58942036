"""Working-day calendar: Chinese statutory holidays and 调休 make-up working days.

The national table comes from ``chinese_calendar``, which covers 2004-2026. A group can layer its own
overrides on top (a YAML file, see ``deploy/seed/calendar.yaml``), which is also how a new year's
State Council table is entered before the library catches up.

For a year neither source covers, Monday-Friday count as working days and ``is_verified`` is False, so
a deadline computed across that year can be flagged as provisional. A year with at least one override
counts as verified: the file is where the published table is entered, and every published table lists
its holidays.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import yaml

_KEYS = {"holidays": False, "workdays": True}  # YAML key -> is a working day


@functools.lru_cache(maxsize=65536)
def _national(d: date) -> bool | None:
    """chinese_calendar's answer, or None for a year it does not cover (cached: every clock asks
    about the same few hundred days, and the library validates each date on every call)."""
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        return None


class WorkCalendar:
    def __init__(self, overrides: dict[date, bool] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._override_years = {d.year for d in self._overrides}

    def is_workday(self, d: date) -> bool:
        if d in self._overrides:
            return self._overrides[d]
        national = _national(d)
        return d.weekday() < 5 if national is None else national

    def is_verified(self, d: date) -> bool:
        """False when ``is_workday(d)`` is a Monday-Friday guess for a year whose table is missing."""
        return d.year in self._override_years or _national(d) is not None

    def next_workday_on_or_after(self, d: date) -> date:
        while not self.is_workday(d):
            d += timedelta(days=1)
        return d

    def add_working_days(self, start: date, n: int) -> date:
        """The nth working day after ``start`` (``start`` itself is not counted)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        d = start
        while n:
            d += timedelta(days=1)
            if self.is_workday(d):
                n -= 1
        return d

    @classmethod
    def load(cls, path: Path | None) -> WorkCalendar:
        """Read ``holidays:`` (rest days) and ``workdays:`` (make-up working days); both optional."""
        if path is None:
            return cls()
        try:
            doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, ValueError) as e:  # ValueError: YAML-shaped but impossible dates
            raise ValueError(f"{path}: not a valid calendar file: {e}") from e
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: expected a mapping with 'holidays' and/or 'workdays'")
        unknown = set(doc) - set(_KEYS)
        if unknown:  # a misspelt key would otherwise silently drop a year's holidays
            raise ValueError(f"{path}: unknown keys {sorted(map(str, unknown))}; expected 'holidays', 'workdays'")
        overrides: dict[date, bool] = {}
        for key, working in _KEYS.items():
            for raw in doc.get(key) or []:
                d = _as_date(raw, path, key)
                if overrides.get(d, working) != working:
                    raise ValueError(f"{path}: {d.isoformat()} is listed under both 'holidays' and 'workdays'")
                overrides[d] = working
        return cls(overrides)


def _as_date(raw: object, path: Path, key: str) -> date:
    # YAML turns an unquoted 2027-01-01 into a date; accept the quoted string form too
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValueError(f"{path}: '{key}' entry {raw!r} is not a date (YYYY-MM-DD)")
