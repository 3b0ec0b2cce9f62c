"""bankgate's cron (``bankgate.cron``, used to rebuild a run's window without Airflow) fires
exactly when Airflow's ``CronTriggerTimetable`` does, DST changes included.

A run's window is [previous fire time, this fire time): if the two disagreed on a fire time,
the hours between the two answers would belong to no run's window (seen on the night the
clocks go back, for schedules at a time the clocks show twice)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bankgate.cron import Cron

SCHEDULES = [
    ("America/New_York", "30 1 * * *"),  # 01:30 is shown twice on 1 November
    ("America/New_York", "30 2 * * *"),  # 02:30 is skipped on 8 March
    ("America/New_York", "0 * * * *"),  # hourly: both showings of 01:00 fire
    ("America/New_York", "*/20 0-3 * * *"),
    ("America/New_York", "30 6 * * 1-5"),
    ("America/Chicago", "*/30 7-18 * * 1-6"),
    ("Europe/London", "30 1 * * *"),
    ("Europe/London", "30 * * * *"),
    ("Europe/Berlin", "15 2 * * *"),
    ("Australia/Adelaide", "0 2 * * *"),  # half-hour offset; the clocks go back in April
    ("Asia/Kolkata", "0 9 * * *"),
]
# The months with DST changes in these zones (March, April, October, November).
PERIODS = [(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC))]
PERIODS += [(datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC))]


def _airflow_fires(zone: str, cron: str, start: datetime, end: datetime) -> list[datetime]:
    import pendulum
    from airflow.timetables.base import TimeRestriction
    from airflow.timetables.trigger import CronTriggerTimetable

    timetable = CronTriggerTimetable(cron, timezone=zone)
    restriction = TimeRestriction(earliest=pendulum.instance(start), latest=None, catchup=True)
    fires, info = [], None
    while True:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=info.data_interval if info else None, restriction=restriction
        )
        assert info is not None
        if info.logical_date >= end:
            return fires
        fires.append(datetime.fromtimestamp(info.logical_date.timestamp(), UTC))


@pytest.mark.parametrize(("zone", "cron"), SCHEDULES)
def test_previous_and_next_fire_times_are_airflows(zone: str, cron: str) -> None:
    tz, schedule = ZoneInfo(zone), Cron.parse(cron)
    for start, end in PERIODS:
        fires = _airflow_fires(zone, cron, start, end)
        assert len(fires) > 10
        for earlier, later in pairwise(fires):
            # Compared as instants: Python never finds a time the clocks show twice equal to one
            # in another zone (PEP 495), even when both are the same instant.
            assert schedule.previous(later, tz).timestamp() == earlier.timestamp(), f"before {later.astimezone(tz)}"
            assert schedule.next(earlier, tz).timestamp() == later.timestamp(), f"after {earlier.astimezone(tz)}"
