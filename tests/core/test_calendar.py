"""Arrival calendars (``bankgate/calendar.py``) and their config: US holidays from the holidays
library, Monday holidays, the Federal Reserve's Saturday rule, weekends, and deadlines across
the DST changes in New York on a worker whose own zone is Tokyo's."""

from __future__ import annotations

import sys
import time as clock
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bankgate.banks import BankConfig, ConfigError, load_banks
from bankgate.calendar import Calendar, Due, Expectation, calendar, due_on

NY = ZoneInfo("America/New_York")
FED = calendar("FED")
ACH = Expectation(time(9, 0), "America/New_York", "ACH_RET_*.ach", "business")
SAMPLE = Path(__file__).parents[2] / "samples" / "banks.toml"


def weekdays(day: date) -> bool:  # the pull cron's days, for "schedule" expectations
    return day.weekday() < 5


@pytest.fixture
def tokyo_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The worker's own zone is Tokyo's (no DST, UTC+9): nothing may depend on it."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (date(2026, 1, 19), "Martin Luther King Jr. Day"),  # third Monday of January
        (date(2026, 2, 16), "Washington's Birthday"),
        (date(2026, 5, 25), "Memorial Day"),
        (date(2026, 9, 7), "Labor Day"),  # first Monday of September
        (date(2026, 10, 12), "Columbus Day"),  # the Fed closes; the stock exchange does not
        (date(2026, 11, 11), "Veterans Day"),
        (date(2026, 11, 26), "Thanksgiving Day"),
        (date(2022, 12, 26), "Christmas Day (observed)"),  # Christmas on a Sunday: closed Monday
    ],
)
def test_federal_reserve_holidays_are_not_business_days(day: date, holiday: str) -> None:
    assert FED.holiday(day) == holiday
    assert not FED.is_business_day(day)
    assert FED.why_not_business(day) == f"{holiday}, a FED holiday"


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 7, 3),  # Independence Day on a Saturday: the Fed is open the Friday before
        date(2021, 12, 31),  # New Year's Day 2022 on a Saturday: open on New Year's Eve
        date(2026, 4, 3),  # Good Friday: the stock exchange closes, the Fed does not
        date(2026, 9, 8),  # the Tuesday after Labor Day
    ],
)
def test_federal_reserve_business_days_that_other_calendars_close(day: date) -> None:
    assert FED.is_business_day(day)
    assert FED.why_not_business(day) == ""


def test_the_stock_exchange_calendar_differs_where_it_should() -> None:
    nyse = calendar("NYSE")
    assert nyse.holiday(date(2026, 4, 3)) == "Good Friday"
    assert nyse.is_business_day(date(2026, 10, 12))  # Columbus Day: trading
    assert calendar("US").holiday(date(2026, 7, 3)) == "Independence Day (observed)"  # public holiday


def test_weekends_are_never_business_days_and_no_calendar_has_no_holidays() -> None:
    assert Calendar().why_not_business(date(2026, 1, 17)) == "Saturday"
    assert Calendar().why_not_business(date(2026, 1, 18)) == "Sunday"
    assert Calendar().is_business_day(date(2026, 1, 19))  # MLK day is a day like any other without one


def test_an_unknown_calendar_names_the_choices() -> None:
    with pytest.raises(ValueError, match="'FEDS' is not a holiday calendar: use 'FED'"):
        calendar("FEDS")


def test_without_the_library_a_code_is_checked_for_its_form_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The processing Lambda reads the bank file for its waivers, without the holidays library."""
    monkeypatch.setitem(sys.modules, "holidays", None)  # import holidays -> ModuleNotFoundError
    assert calendar("XTSE") == Calendar("XTSE")
    assert calendar("FED") == Calendar("FED")
    with pytest.raises(ValueError, match="'nyse!' is not a holiday calendar code"):
        calendar("nyse!")


def test_a_monday_holiday_expects_nothing_and_tuesday_expects_its_own_files() -> None:
    assert due_on(ACH, FED, date(2026, 1, 19), weekdays) == "Martin Luther King Jr. Day, a FED holiday"
    tuesday = due_on(ACH, FED, date(2026, 1, 20), weekdays)
    assert isinstance(tuesday, Due)
    assert tuesday.deadline == datetime(2026, 1, 20, 9, 0, tzinfo=NY)
    assert tuesday.since == datetime(2026, 1, 20, 0, 0, tzinfo=NY)  # one day's files, not two
    assert tuesday.opens == datetime(2026, 1, 17, 0, 0, tzinfo=NY)  # since Friday's day ended


def test_a_weekend_shifts_the_expectation_to_monday() -> None:
    assert due_on(ACH, FED, date(2026, 3, 7), weekdays) == "Saturday"
    assert due_on(ACH, FED, date(2026, 3, 8), weekdays) == "Sunday"
    monday = due_on(ACH, FED, date(2026, 3, 9), weekdays)
    assert isinstance(monday, Due)
    saturday_noon = datetime(2026, 3, 7, 12, tzinfo=NY).timestamp()
    assert monday.verdict(saturday_noon) == "early"  # named on Monday, not counted
    assert monday.verdict(datetime(2026, 3, 9, 8, 59, tzinfo=NY).timestamp()) == "on time"
    assert monday.verdict(datetime(2026, 3, 9, 9, 0, tzinfo=NY).timestamp()) == "on time"  # the cut-off itself
    assert monday.verdict(datetime(2026, 3, 9, 9, 0, 1, tzinfo=NY).timestamp()) == "late"
    assert monday.verdict(datetime(2026, 3, 10, 0, 0, tzinfo=NY).timestamp()) == ""  # Tuesday's
    assert monday.verdict(datetime(2026, 3, 6, 23, 59, tzinfo=NY).timestamp()) == ""  # Friday's


@pytest.mark.usefixtures("tokyo_worker")
@pytest.mark.parametrize(
    ("day", "utc_hour", "day_hours"),
    [
        (date(2026, 3, 6), 14, 24),  # Friday, EST (UTC-5)
        (date(2026, 3, 9), 13, 24),  # Monday after the spring-forward Sunday: EDT (UTC-4)
        (date(2026, 10, 30), 13, 24),  # Friday, EDT
        (date(2026, 11, 2), 14, 24),  # Monday after the fall-back Sunday: EST again
    ],
)
def test_deadlines_follow_new_york_across_dst_on_a_tokyo_worker(day: date, utc_hour: int, day_hours: int) -> None:
    assert datetime.now().astimezone().utcoffset() == timedelta(hours=9)  # the worker really is in Tokyo
    due = due_on(ACH, FED, day, weekdays)
    assert isinstance(due, Due)
    assert due.deadline.astimezone(UTC) == datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)
    assert (due.until - due.since) == timedelta(hours=day_hours)  # wall-clock arithmetic within the zone
    assert due.until.timestamp() - due.since.timestamp() == day_hours * 3600  # a Monday after DST is 24 h


@pytest.mark.usefixtures("tokyo_worker")
def test_the_dst_sunday_itself_is_23_and_25_hours_long() -> None:
    daily = Expectation(time(9, 0), "America/New_York", "*.bai", "daily")
    spring = due_on(daily, FED, date(2026, 3, 8), weekdays)
    fall = due_on(daily, FED, date(2026, 11, 1), weekdays)
    assert isinstance(spring, Due) and isinstance(fall, Due)
    assert spring.until.timestamp() - spring.since.timestamp() == 23 * 3600
    assert fall.until.timestamp() - fall.since.timestamp() == 25 * 3600
    assert spring.deadline.astimezone(UTC).hour == 13  # 09:00 EDT on the day DST starts


def test_daily_expectations_are_due_on_holidays_and_schedule_ones_follow_the_cron() -> None:
    daily = Expectation(time(9, 0), "America/New_York", "*", "daily")
    assert isinstance(due_on(daily, FED, date(2026, 12, 25), weekdays), Due)
    schedule = Expectation(time(9, 0), "America/New_York", "*", "schedule")
    assert due_on(schedule, FED, date(2026, 12, 25), weekdays) == "Christmas Day, a FED holiday"
    assert due_on(schedule, FED, date(2026, 12, 26), weekdays) == "not a schedule day"
    assert isinstance(due_on(schedule, Calendar(), date(2026, 12, 25), weekdays), Due)  # no calendar


# -- the config --------------------------------------------------------------------------------

BANK = """\
[banks.harbor]
conn_id = "sftp_harbor"
remote_dirs = ["/outbound"]
destination = "s3://staging/inbound/harbor/"
cron = "30 6 * * 1-5"
timezone = "America/Chicago"
"""


def load(tmp_path: Path, text: str) -> dict[str, BankConfig]:
    path = tmp_path / "banks.toml"
    path.write_text(text)
    return load_banks(path)


def test_expect_tables_and_a_calendar_load(tmp_path: Path) -> None:
    bank = load(
        tmp_path,
        BANK + 'calendar = "FED"\n'
        '[[banks.harbor.expect]]\nlabel = "ACH returns"\npattern = "ACH_RET_*.ach"\n'
        'by = "09:00"\ntz = "America/New_York"\n'
        '[[banks.harbor.expect]]\npattern = "*.bai"\nby = "09:00"\ntz = "America/New_York"\nmin_files = 2\n',
    )["harbor"]
    assert bank.calendar == "FED" and bank.business_days == FED
    assert bank.expectations == (
        Expectation(time(9, 0), "America/New_York", "ACH_RET_*.ach", "business", 1, "ACH returns"),
        Expectation(time(9, 0), "America/New_York", "*.bai", "business", 2),
    )
    assert bank.sla_timezone == "America/New_York"  # not the pull's Chicago


def test_an_expectation_without_tz_takes_the_banks_zone(tmp_path: Path) -> None:
    bank = load(tmp_path, BANK + '[[banks.harbor.expect]]\npattern = "*.ach"\nby = "10:30"\ndays = "daily"\n')["harbor"]
    assert bank.expect == (Expectation(time(10, 30), "America/Chicago", "*.ach", "daily"),)


def test_the_legacy_arrival_sla_is_one_expectation_of_any_file_on_schedule_days(tmp_path: Path) -> None:
    bank = load(tmp_path, BANK + 'calendar = "FED"\narrival_sla = { latest = "09:00", min_files = 2 }\n')["harbor"]
    assert bank.expectations == (Expectation(time(9, 0), "America/Chicago", "*", "schedule", 2),)
    assert bank.sla_deadline(date(2026, 9, 7)) is None  # Labor Day: the calendar applies to it too
    assert bank.sla_deadline(date(2026, 9, 8)) == datetime(2026, 9, 8, 9, 0, tzinfo=ZoneInfo("America/Chicago"))


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('calendar = "FEDS"\n', "bank 'harbor': calendar: 'FEDS' is not a holiday calendar"),
        ('[[banks.harbor.expect]]\nby = "09:00"\n', "bank 'harbor': expect[1].pattern: missing"),
        ('[[banks.harbor.expect]]\npattern = "*.ach"\n', "bank 'harbor': expect[1].by: missing"),
        (
            '[[banks.harbor.expect]]\npattern = "*.ach"\nby = "9am"\n',
            "bank 'harbor': expect[1].by: '9am' is not a time of day",
        ),
        (
            '[[banks.harbor.expect]]\npattern = "*.ach"\nby = "09:00"\ndays = "weekly"\n',
            "bank 'harbor': expect[1].days: 'weekly' is not one of: 'business'",
        ),
        (
            '[[banks.harbor.expect]]\npattern = "*.ach"\nby = "09:00"\ntz = "Mars/Olympus"\n',
            "bank 'harbor': expect[1].tz: 'Mars/Olympus' is not a known time zone",
        ),
        (
            '[[banks.harbor.expect]]\npattern = "*.ach"\nby = "09:00"\nmin_files = 0\n',
            "bank 'harbor': expect[1].min_files: must be a whole number from 1",
        ),
        (
            '[[banks.harbor.expect]]\npattern = "*.ach"\nby = "09:00"\nwhen = "daily"\n',
            "bank 'harbor': expect[1].when: unknown key",
        ),
        (
            '[[banks.harbor.expect]]\npattern = "2026-*/*.ach"\nby = "09:00"\n',
            "bank 'harbor': expect[1].pattern: '2026-*/*.ach' matches files 1 folder(s) below",
        ),
        (
            '[[banks.harbor.expect]]\npattern = "*.ach"\nby = "09:00"\ntz = "America/New_York"\n'
            '[[banks.harbor.expect]]\npattern = "*.bai"\nby = "09:00"\ntz = "Europe/London"\n',
            "bank 'harbor': expect: the cut-offs use more than one time zone (America/New_York, Europe/London)",
        ),
        ("expect = []\n", "bank 'harbor': expect: must be one or more [[banks.<name>.expect]] tables"),
    ],
)
def test_calendar_config_mistakes_are_named_with_bank_and_key(tmp_path: Path, extra: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, BANK + extra)
    assert f"banks.toml: {problem}" in str(info.value)


def test_the_sample_shows_a_fed_calendar_with_expected_files() -> None:
    first = load_banks(SAMPLE)["first_harbor"]
    assert first.calendar == "FED"
    assert {e.pattern for e in first.expect} == {"*.ach", "*.bai"}
    assert all(e.days == "business" and e.by == time(9, 0) for e in first.expect)
