"""Arrival calendars: on which days a bank's files are due, by when, and which arrivals count.

A bank names a holiday calendar (``calendar = "FED"``) and lists what it expects
(``[[banks.<name>.expect]]``: a file pattern, a cut-off time in a time zone, the days it is due).
This module answers, for one expectation and one day, whether anything is due, the deadline as
an aware datetime, and the window of modification times that count toward it. It is pure: no
Airflow, no SFTP, no clock; the SLA task (``plugins/bankgate_airflow/steps.py``) feeds it the
arrivals it read from the pull ledger and the server.

Days an expectation is due (``days``):

- ``"business"``: Monday to Friday, except the calendar's holidays;
- ``"schedule"``: the days the bank's pull cron fires, except the calendar's holidays (the
  ``arrival_sla`` key's meaning);
- ``"daily"``: every day, holidays included (a bank that sends files every day regardless).

**Weekends and holidays: nothing is due, so nothing alarms; the next due day expects its own
files.** An expectation for a non-due day is skipped, not moved: "ACH returns and BAI2
prior-day by 09:00 ET every Fed business day" means Monday's 09:00 deadline covers Friday's
prior-day report (the weekend shifts the report's business day to the next business day), and
the Tuesday after Labor Day expects one set of files, not two. Moving each skipped day's
expectation forward instead would ask a bank that sends one file per business day for three on
Monday. A file counts for the day it arrives on, from midnight (in the expectation's zone) to
the cut-off; after the cut-off and before the day ends it is *late*, named with its time. A
file that arrived since the previous due day ended (on the weekend, on the holiday) is not
counted, since a Saturday re-send must not hide Monday's missing file, but the next due day's
check names it as *early*, so an analyst chasing Monday's file sees it.

Time zones: the deadline is built with ``zoneinfo`` in the expectation's zone (``tz``, by
default the bank's), so 09:00 New York is 14:00 UTC in winter and 13:00 in summer, and the
days of the window are that zone's days; arrivals are compared as epoch seconds, so the
worker's own ``TZ`` takes no part.

Holiday calendars come from the maintained ``holidays`` library: ``"FED"`` is the Federal
Reserve's (the US federal holidays; one falling on a Sunday is observed on the Monday, one
on a Saturday is not observed: the Fed is open that Friday); ``"NYSE"`` and the other market
codes of ``holidays.list_supported_financial()``; or a country code (``"US"``, ``"GB"``) for
its public holidays. Without a calendar no day is a holiday.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

__all__ = [
    "DAYS",
    "FED",
    "Calendar",
    "Due",
    "Expectation",
    "calendar",
    "due_on",
]

Days = Literal["business", "schedule", "daily"]
DAYS: Mapping[str, str] = {
    "business": "Monday to Friday except the calendar's holidays",
    "schedule": "the days the pull cron fires, except the calendar's holidays",
    "daily": "every day, holidays included",
}
FED = "FED"
_CODE = re.compile(r"^[A-Z]{2,4}$")
#: How far back the previous due day is looked for (a window never opens earlier than this).
MAX_GAP_DAYS = 14


@functools.cache
def _holidays(name: str) -> Any:
    """The ``holidays`` calendar object for a name (it fills in years as they are asked for);
    NotImplementedError for a name the library does not know."""
    import holidays

    if name == FED:
        return holidays.country_holidays("US")  # observed days included; Calendar.holiday drops Fridays
    try:
        return holidays.financial_holidays(name)
    except NotImplementedError:
        return holidays.country_holidays(name)


@dataclass(frozen=True, slots=True)
class Calendar:
    """Business days: Monday to Friday, less the named calendar's holidays ("" for none)."""

    name: str = ""

    def holiday(self, day: date) -> str:
        """The holiday's name on ``day``, or "" (weekends are not holidays)."""
        if not self.name:
            return ""
        found = _holidays(self.name).get(day)
        if found is None:
            return ""
        if self.name == FED and day.weekday() == 4 and day not in _fed_actual(day.year):
            return ""  # a Saturday holiday observed on the Friday: the Federal Reserve is open
        return str(found)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.holiday(day)

    def why_not_business(self, day: date) -> str:
        """Why ``day`` is not a business day ("" when it is): "Saturday", "Labor Day, a FED holiday"."""
        if day.weekday() >= 5:
            return day.strftime("%A")
        return self.why_holiday(day)

    def why_holiday(self, day: date) -> str:
        holiday = self.holiday(day)
        return f"{holiday}, a {self.name} holiday" if holiday else ""


@functools.cache
def _fed_actual(year: int) -> frozenset[date]:
    """The federal holidays' own dates in ``year`` (no observed days)."""
    import holidays

    return frozenset(holidays.country_holidays("US", years=year, observed=False))


def calendar(name: str) -> Calendar:
    """A checked calendar: ValueError names the kinds of names when ``name`` is not one.

    "FED" is known without importing the library, so loading the sample config (and parsing the
    DAG files) does not pay for it. An install without the library (the processing Lambda,
    which reads the bank file only for its waivers; ``holidays`` is in the ``sftp`` extra that
    pulls and the DAGs install) checks only the form of a code; the DAGs check the name.
    """
    if name and name != FED:
        try:
            _holidays(name)
        except ModuleNotFoundError:
            if not _CODE.match(name):
                raise ValueError(f"{name!r} is not a holiday calendar code (e.g. 'FED', 'NYSE', 'US')") from None
        except NotImplementedError:
            raise ValueError(
                f"{name!r} is not a holiday calendar: use {FED!r} (US Federal Reserve), a market code such"
                " as 'NYSE', or a country code such as 'US' (the holidays library's)"
            ) from None
    return Calendar(name)


@dataclass(frozen=True, slots=True)
class Expectation:
    """At least ``min_files`` files matching ``pattern`` by ``by`` (in ``tz``) on each due day."""

    by: time
    tz: str = "UTC"
    pattern: str = "*"  # a glob, matched as the bank's include patterns are (bankgate/sftp/selection.py)
    days: Days = "business"
    min_files: int = 1
    label: str = ""  # what an analyst calls these files ("ACH returns"); default: the pattern

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def title(self) -> str:
        """How a message names these files: the label, else the pattern, else "" (any file)."""
        return self.label or ("" if self.pattern == "*" else self.pattern)

    def not_due(self, cal: Calendar, day: date, fires_on: Callable[[date], bool]) -> str:
        """Why nothing is due on ``day`` ("" when something is)."""
        if self.days == "daily":
            return ""
        if self.days == "schedule":
            if not fires_on(day):
                return "not a schedule day"
            return cal.why_holiday(day)
        return cal.why_not_business(day)


@dataclass(frozen=True, slots=True)
class Due:
    """One expectation on one due day: arrivals in ``[since, deadline]`` are on time, those in
    ``(deadline, until)`` late (``until``: the end of the day), those in ``[opens, since)``
    early (since the previous due day ended; not counted)."""

    expectation: Expectation
    day: date
    opens: datetime
    since: datetime
    deadline: datetime
    until: datetime

    def verdict(self, mtime: float) -> str:
        """ "on time", "late", "early" or "" (another day's)."""
        for verdict, low, high in (
            ("early", self.opens, self.since),
            ("on time", self.since, self.deadline),
            ("late", self.deadline, self.until),
        ):
            if low.timestamp() <= mtime < high.timestamp() or (verdict == "on time" and mtime == high.timestamp()):
                return verdict
        return ""


def due_on(expectation: Expectation, cal: Calendar, day: date, fires_on: Callable[[date], bool]) -> Due | str:
    """The expectation's ``Due`` on ``day`` (a date in its zone), or why nothing is due."""
    why = expectation.not_due(cal, day, fires_on)
    if why:
        return why
    zone = expectation.zone
    previous = day - timedelta(days=1)
    while previous > day - timedelta(days=MAX_GAP_DAYS) and expectation.not_due(cal, previous, fires_on):
        previous -= timedelta(days=1)
    deadline = datetime.combine(day, expectation.by, tzinfo=zone)
    return Due(
        expectation,
        day,
        opens=_midnight(previous + timedelta(days=1), zone),
        since=_midnight(day, zone),
        deadline=deadline,
        until=_midnight(day + timedelta(days=1), zone),
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)
