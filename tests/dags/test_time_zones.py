"""Banks in their own time zones, pulled by a worker in a third one, across DST changes.

Each run must pull every file delivered up to its fire time: the window is computed in the
bank's zone, travels through XCom as aware timestamps, and is compared with the server's UTC
mtimes without ever consulting the worker's local zone (``TZ``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.dags.helpers import BANK, Env, xcom

WORKER_ZONES = ["Australia/Adelaide", "Pacific/Honolulu"]  # half-hour offset and DST / no DST


@pytest.fixture(params=WORKER_ZONES)
def worker_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The worker's local zone (``TZ``), a third zone unlike the bank's and unlike UTC."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


# (bank zone, cron, fire time in the bank's zone, previous fire time): the run's interval.
CASES = {
    # Monday 06:30 after US DST began on Sunday 2026-03-08: the interval is Friday 06:30 EST
    # (UTC-5) to Monday 06:30 EDT (UTC-4), 71 hours, not 72.
    "new_york_spring_forward": (
        "America/New_York",
        "30 6 * * 1-5",
        datetime(2026, 3, 9, 6, 30),
        datetime(2026, 3, 6, 6, 30),
    ),
    # The Monday after US DST ended (2026-11-01): 73 hours.
    "new_york_fall_back": (
        "America/New_York",
        "30 6 * * 1-5",
        datetime(2026, 11, 2, 6, 30),
        datetime(2026, 10, 30, 6, 30),
    ),
    # Kolkata (UTC+05:30, no DST) while the worker's zone changes its clocks.
    "kolkata": ("Asia/Kolkata", "0 9 * * *", datetime(2026, 10, 4, 9, 0), datetime(2026, 10, 3, 9, 0)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_run_pulls_every_file_delivered_up_to_its_fire_time(env: Env, worker_tz: str, case: str) -> None:
    zone, cron, fire_local, previous_local = CASES[case]
    tz = ZoneInfo(zone)
    fire, previous = fire_local.replace(tzinfo=tz), previous_local.replace(tzinfo=tz)
    env.configure(timezone=f'"{zone}"', cron=f'"{cron}"', lookback='"0 s"')

    def put(name: str, when: datetime) -> None:
        env.sshd.put(f"/outbound/{name}", name.encode(), mtime=when.timestamp())

    put("just-before-fire.ach", fire - timedelta(minutes=1))
    put("six-hours-before.ach", fire - timedelta(hours=6))
    put("just-after-previous.ach", previous + timedelta(minutes=1))
    put("before-previous.ach", previous - timedelta(minutes=1))  # the previous run's
    put("after-fire.ach", fire + timedelta(minutes=1))  # the next run's

    run, states = env.run(f"bank_pull__{BANK}", logical_date=fire)

    assert run.state == "success", states
    report = xcom(run, "record")

    assert sorted(p["path"].rsplit("/", 1)[1] for p in report["pulled"]) == [
        "just-after-previous.ach",
        "just-before-fire.ach",
        "six-hours-before.ach",
    ]
    plan = xcom(run, "plan")
    assert datetime.fromisoformat(plan["end"]) == fire
    assert datetime.fromisoformat(plan["start"]) == previous
    assert datetime.fromisoformat(plan["end"]).utcoffset() == fire.utcoffset()  # aware, in the bank's zone
    listing = xcom(run, "list_files")
    assert (listing["older"], listing["newer"]) == (1, 1)


def test_the_arrival_sla_counts_the_day_in_the_banks_zone(env: Env, worker_tz: str) -> None:
    """The SLA check shares the window logic: files of the bank-local day up to the deadline."""
    zone = "America/New_York"
    tz = ZoneInfo(zone)
    env.configure(timezone=f'"{zone}"', cron='"30 6 * * 1-5"', arrival_sla='{ latest = "09:00", min_files = 1 }')
    deadline = datetime(2026, 3, 9, 9, 0, tzinfo=tz)  # the first Monday of EDT
    env.sshd.put("/outbound/on-time.ach", b"x", mtime=(deadline - timedelta(minutes=5)).timestamp())
    env.sshd.put("/outbound/yesterday.ach", b"x", mtime=(deadline - timedelta(hours=10)).timestamp())
    env.sshd.put("/outbound/late.ach", b"x", mtime=(deadline + timedelta(minutes=5)).timestamp())

    run, states = env.run(f"bank_sla__{BANK}", logical_date=deadline)

    assert run.state == "success", states
    result: dict[str, Any] = xcom(run, "check_arrivals")
    assert result["day"] == "2026-03-09"
    assert result["arrived"] == ["/outbound/on-time.ach"]
    assert datetime.fromisoformat(result["deadline"]) == deadline
