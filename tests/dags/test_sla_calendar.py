"""The ``bank_sla__<bank>`` check with an arrival calendar, run by ``dag.test()`` against a
real sshd: a New York bank on the Federal Reserve's calendar expecting ACH returns and a BAI2
prior-day file, checked on a worker whose own zone is Tokyo's. Late and missing files fail the
run with a message naming them (times in New York) and reach the webhook; on-time files stay
green; a Monday holiday expects nothing and alerts nobody."""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.dags.helpers import BANK, Env, run_note, xcom

NY = ZoneInfo("America/New_York")
Webhook = Callable[[], list[dict[str, Any]]]
ACH = '{ label = "ACH returns", pattern = "ACH_RET_*.ach", by = "09:00", tz = "America/New_York" }'
BAI = '{ label = "BAI2 prior-day", pattern = "*_BAI2.txt", by = "%s", tz = "America/New_York" }'


@pytest.fixture(autouse=True)
def tokyo_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


def configure(env: Env, bai_by: str = "09:00") -> None:
    env.configure(
        timezone='"America/New_York"', cron='"30 6 * * 1-5"', calendar='"FED"', expect=f"[{ACH}, {BAI % bai_by}]"
    )


def put(env: Env, name: str, when: datetime) -> None:
    env.sshd.put(f"/outbound/{name}", b"x", mtime=when.timestamp())


def test_late_and_missing_files_fail_the_run_naming_them_in_the_banks_time(env: Env, webhook: Webhook) -> None:
    configure(env)
    # Tuesday after Martin Luther King Jr. Day: the ACH returns came at 09:47, the BAI2 never;
    # a re-send on the Saturday before is named but does not count.
    put(env, "ACH_RET_0120.ach", datetime(2026, 1, 20, 9, 47, tzinfo=NY))
    put(env, "ACH_RET_0117.ach", datetime(2026, 1, 17, 12, 5, tzinfo=NY))
    put(env, "0116_BAI2.txt", datetime(2026, 1, 16, 8, 0, tzinfo=NY))  # Friday's: not Tuesday's

    run, states = env.run(f"bank_sla__{BANK}", run_conf={"day": "2026-01-20"})

    assert run.state == "failed"
    assert states[("check_arrivals", -1)] == ("failed", 1)
    message = (
        f"bank {BANK}: arrival SLA missed on 2026-01-20: "
        "ACH returns: 0 of 1 file(s) arrived by 09:00 America/New_York; 1 missing; "
        "arrived late: /outbound/ACH_RET_0120.ach at 09:47; "
        "before the day (not counted): /outbound/ACH_RET_0117.ach at Sat 17 12:05. "
        "BAI2 prior-day: 0 of 1 file(s) arrived by 09:00 America/New_York; 1 missing"
    )
    assert xcom(run, "check_arrivals", key="result")["missed"] == message
    assert run_note(run) == message
    (alert,) = webhook()
    assert alert["kind"] == "arrival_sla_missed" and alert["bank"] == BANK
    assert alert["summary"] == "ACH returns: 0 of 1 file(s) arrived by 09:00 America/New_York; " + (
        "BAI2 prior-day: 0 of 1 file(s) arrived by 09:00 America/New_York on 2026-01-20"
    )
    assert alert["details"]["late"] == {"/outbound/ACH_RET_0120.ach": "2026-01-20T09:47:00-05:00"}


def test_files_on_time_after_the_dst_change_keep_the_run_green(env: Env, webhook: Webhook) -> None:
    configure(env)
    # The Monday after DST began: 08:59 EDT is 12:59 UTC, before a 09:00 cut-off that an EST
    # (or a Tokyo) reading would put elsewhere; the 09:00:00 file is on time too.
    put(env, "ACH_RET_0309.ach", datetime(2026, 3, 9, 8, 59, tzinfo=NY))
    put(env, "0306_BAI2.txt", datetime(2026, 3, 9, 9, 0, tzinfo=NY))

    run, states = env.run(f"bank_sla__{BANK}", run_conf={"day": "2026-03-09"})

    assert run.state == "success", states
    assert run_note(run) == (
        "SLA met on 2026-03-09: ACH returns: 1 by 09:00 America/New_York, BAI2 prior-day: 1 by 09:00 America/New_York."
    )
    result = xcom(run, "check_arrivals")
    assert result["arrived"] == ["/outbound/0306_BAI2.txt", "/outbound/ACH_RET_0309.ach"]
    assert datetime.fromisoformat(result["deadline"]) == datetime(2026, 3, 9, 9, 0, tzinfo=NY)
    assert webhook() == []


def test_a_monday_holiday_raises_no_alarm(env: Env, webhook: Webhook) -> None:
    configure(env)  # no file at all on Labor Day

    run, states = env.run(f"bank_sla__{BANK}", run_conf={"day": "2026-09-07"})

    assert run.state == "success", states
    assert run_note(run) == "No files expected on 2026-09-07 (Labor Day, a FED holiday)."
    assert webhook() == []


def test_a_run_at_a_cut_off_checks_the_files_due_then(env: Env, webhook: Webhook) -> None:
    """Two cut-offs, two fire times of one DAG: the 09:00 run checks the ACH returns only, so the
    BAI2 file due at 11:00 is not called missing two hours early."""
    configure(env, bai_by="11:00")
    put(env, "ACH_RET_1103.ach", datetime(2026, 11, 3, 8, 15, tzinfo=NY))

    run, states = env.run(f"bank_sla__{BANK}", logical_date=datetime(2026, 11, 3, 9, 0, tzinfo=NY))

    assert run.state == "success", states
    result = xcom(run, "check_arrivals")
    assert [c["files"] for c in result["expectations"]] == ["ACH returns"]
    assert webhook() == []


def test_a_manual_run_before_the_cut_off_calls_nothing_missing_yet(env: Env, webhook: Webhook) -> None:
    """An analyst triggers the check at 07:00 on a business day still to come (a manual run's
    logical date is when it is triggered): the 09:00 and 11:00 cut-offs have not passed, so
    nothing is missing yet, nobody is alerted, and the note says what is still to come."""
    from datetime import date, timedelta

    import holidays

    configure(env, bai_by="11:00")
    day = date.today() + timedelta(days=7)
    while day.weekday() >= 5 or day in holidays.financial_holidays("NYSE") or day in holidays.US(years=day.year):
        day += timedelta(days=1)

    run, states = env.run(f"bank_sla__{BANK}", logical_date=datetime(day.year, day.month, day.day, 7, 0, tzinfo=NY))

    assert run.state == "success", states
    assert run_note(run) == (
        f"Nothing due yet on {day}: ACH returns by 09:00 America/New_York, "
        "BAI2 prior-day by 11:00 America/New_York still to come."
    )
    assert xcom(run, "check_arrivals")["pending"] == {
        "ACH returns": "09:00 America/New_York",
        "BAI2 prior-day": "11:00 America/New_York",
    }
    assert webhook() == []
