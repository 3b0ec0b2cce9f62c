"""Five-field cron expressions: parse with clear messages, and find fire times.

Why not croniter: the bank config is checked by the CLI and tests where Airflow (which brings
croniter) is not installed, and a run's selection window needs the previous fire time as a
pure function of its logical date. The semantics follow croniter's (and so Airflow's): Vixie
cron fields, names for months and weekdays, ``7`` for Sunday, and a day that matches when
either day-of-month or day-of-week matches if both are restricted. Times are wall-clock
times in the schedule's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["ALIASES", "Cron"]

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = {name: i for i, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DAYS = {name: i for i, name in enumerate("sun mon tue wed thu fri sat".split())}
# (name, lowest, highest, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_ITEM = re.compile(r"^(?:(\*)|(\w+)(?:-(\w+))?)(?:/(\d+))?$")
_MONTH_DAYS = dict(zip(range(1, 13), (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)))
#: How far back or forward to look for a fire time (covers "0 0 29 2 *" and its leap years).
_SEARCH_DAYS = 366 * 9


def _value(text: str, field: str, low: int, high: int, names: dict[str, int]) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    if not text.isdigit():
        raise ValueError(f"field '{field}': {text!r} is not a number" + (" or a name" if names else ""))
    number = int(text)
    if not low <= number <= high:
        raise ValueError(f"field '{field}': {number} is out of range {low}-{high}")
    return number


def _parse_field(text: str, field: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise ValueError(f"field '{field}': cannot read {item!r}")
        star, first, last, step_text = match.groups()
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"field '{field}': step must be at least 1 in {item!r}")
        if star:
            start, stop = low, high
        else:
            start = _value(first, field, low, high, names)
            stop = _value(last, field, low, high, names) if last else (high if step_text else start)
            if stop < start:
                raise ValueError(f"field '{field}': range {item!r} runs backwards")
        values.update(range(start, stop + 1, step))
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression; ``fields`` keeps the five source fields (aliases expanded)."""

    expression: str
    fields: tuple[str, str, str, str, str]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """Raise ValueError naming the field and what is wrong with it."""
        text = ALIASES.get(expression.strip().lower(), expression.strip())
        parts = text.split()
        if len(parts) != 5:
            raise ValueError(
                f"{expression!r} has {len(parts)} fields; a cron expression has 5 "
                "(minute hour day-of-month month day-of-week) or is one of " + ", ".join(ALIASES)
            )
        sets = [_parse_field(part, *spec) for part, spec in zip(parts, _FIELDS)]
        weekdays = frozenset(day % 7 for day in sets[4])
        if parts[4] == "*" and not any(day <= _MONTH_DAYS[month] for month in sets[3] for day in sets[2]):
            raise ValueError(f"{expression!r} never fires: no month in it has that day")
        return cls(expression, tuple(parts), sets[0], sets[1], sets[2], sets[3], weekdays)  # type: ignore[arg-type]

    @property
    def hourly(self) -> bool:
        """Fires in every hour of the day (so in both showings of an hour the clocks repeat)."""
        return len(self.hours) == 24

    def fires_on(self, day: date) -> bool:
        """Whether the schedule fires at some time on this (local) calendar day."""
        if day.month not in self.months:
            return False
        dom_match = day.day in self.days
        dow_match = (day.isoweekday() % 7) in self.weekdays
        dom_star, dow_star = self.fields[2] == "*", self.fields[4] == "*"
        if dom_star or dow_star:
            return dom_match and dow_match
        return dom_match or dow_match

    def previous(self, before: datetime, tz: ZoneInfo) -> datetime:
        """The latest fire time strictly before ``before`` (an aware datetime), in ``tz``."""
        local = before.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        while True:
            wall = self._previous_wall(local)
            for candidate in reversed(_instants(wall, tz, self.hourly)):
                if candidate < before:
                    return candidate
            local = wall - timedelta(minutes=1)

    def next(self, after: datetime, tz: ZoneInfo) -> datetime:
        """The earliest fire time strictly after ``after`` (an aware datetime), in ``tz``."""
        local = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        while True:
            wall = self._next_wall(local)
            for candidate in _instants(wall, tz, self.hourly):
                if candidate > after:
                    return candidate
            local = wall + timedelta(minutes=1)

    def _previous_wall(self, start: datetime) -> datetime:
        """The latest matching wall-clock minute at or before ``start`` (naive)."""
        day = start.date()
        for offset in range(_SEARCH_DAYS):
            if self.fires_on(day):
                last = (start.hour, start.minute) if offset == 0 else (23, 59)
                for hour in sorted(self.hours, reverse=True):
                    if hour > last[0]:
                        continue
                    for minute in sorted(self.minutes, reverse=True):
                        if (hour, minute) <= last:
                            return datetime(day.year, day.month, day.day, hour, minute)
            day -= timedelta(days=1)
        raise ValueError(f"cron {self.expression!r} never fires")

    def _next_wall(self, start: datetime) -> datetime:
        """The earliest matching wall-clock minute at or after ``start`` (naive)."""
        day = start.date()
        for offset in range(_SEARCH_DAYS):
            if self.fires_on(day):
                first = (start.hour, start.minute) if offset == 0 else (0, 0)
                for hour in sorted(self.hours):
                    if hour < first[0]:
                        continue
                    for minute in sorted(self.minutes):
                        if (hour, minute) >= first:
                            return datetime(day.year, day.month, day.day, hour, minute)
            day += timedelta(days=1)
        raise ValueError(f"cron {self.expression!r} never fires")


def _instants(wall: datetime, tz: ZoneInfo, hourly: bool) -> list[datetime]:
    """The instants a wall-clock fire time stands for, in order, as Airflow's
    ``CronTriggerTimetable`` (croniter) fires them. A time the clocks show twice (set back)
    fires at both showings when the schedule fires every hour, else once, at the second; a
    time they skip (set forward) fires at the instant it would have been before the change.
    Matching Airflow matters: a run's window starts at the previous fire time, and a different
    choice left the hours between the two showings to no run's window."""
    first, second = wall.replace(tzinfo=tz), wall.replace(tzinfo=tz, fold=1)
    exists = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
    if first.utcoffset() == second.utcoffset() or not exists:
        return [first]
    return [first, second] if hourly else [second]
