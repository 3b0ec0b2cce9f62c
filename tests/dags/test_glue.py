"""The Airflow glue without a DAG run: run plans from Airflow dates, connection checks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bankgate.banks import load_banks
from bankgate.config import ConfigError
from bankgate.plugins.bankgate_airflow.connection import settings_from_connection
from bankgate.plugins.bankgate_airflow.runs import Plan, repull_plan, scheduled_plan
from tests.dags.helpers import SAMPLE

NY = ZoneInfo("America/New_York")
BANK = load_banks(SAMPLE)["first_harbor"]  # 06:30 New York, Monday to Friday, lookback 7 days


def test_a_cron_trigger_run_covers_since_the_previous_fire_time() -> None:
    monday = datetime(2025, 3, 10, 10, 30, tzinfo=UTC)  # 06:30 New York
    plan = scheduled_plan(
        BANK, data_interval_start=monday, data_interval_end=monday, logical_date=monday, run_after=monday
    )
    assert plan.start == datetime(2025, 3, 7, 6, 30, tzinfo=NY)  # Friday's run
    assert plan.end == monday and plan.since == datetime(2025, 2, 28, 6, 30, tzinfo=NY)
    forced = scheduled_plan(
        BANK, data_interval_start=monday, data_interval_end=monday, logical_date=None, run_after=None, force=True
    )
    assert forced.since == forced.start  # a forced re-pull takes exactly the interval
    assert Plan.from_xcom(plan.to_xcom()) == plan


def test_a_manual_run_without_logical_date_ends_at_run_after() -> None:
    after = datetime(2025, 3, 11, 15, 0, tzinfo=UTC)
    plan = scheduled_plan(
        BANK, data_interval_start=None, data_interval_end=None, logical_date=None, run_after=after, manual=True
    )
    assert (plan.start, plan.end, plan.reason) == (datetime(2025, 3, 11, 6, 30, tzinfo=NY), after, "manual")


def test_repull_covers_whole_local_days() -> None:
    plan = repull_plan(BANK, date(2025, 3, 8), date(2025, 3, 9))
    assert plan.since == plan.start == datetime(2025, 3, 8, tzinfo=NY)
    assert plan.end == datetime(2025, 3, 10, tzinfo=NY) and plan.force
    assert plan.covers(datetime(2025, 3, 9, 23, 59, tzinfo=NY).timestamp())
    assert not plan.covers(plan.end.timestamp())
    with pytest.raises(ValueError, match="before start date"):
        repull_plan(BANK, date(2025, 3, 9), date(2025, 3, 8))


def test_naive_datetimes_are_refused_at_every_task_boundary() -> None:
    naive = datetime(2025, 3, 10, 6, 30)
    with pytest.raises(ValueError, match="has no time zone"):
        scheduled_plan(BANK, data_interval_start=None, data_interval_end=naive, logical_date=None, run_after=None)
    raw = repull_plan(BANK, date(2025, 3, 8), date(2025, 3, 9)).to_xcom()
    with pytest.raises(ValueError, match="plan end 2025-03-10T00:00:00 has no time zone"):
        Plan.from_xcom({**raw, "end": "2025-03-10T00:00:00"})


def test_airflow_pendulum_dates_keep_their_offset_through_xcom() -> None:
    """Airflow's context holds pendulum datetimes; their isoformat() after astimezone(ZoneInfo)
    had no offset, so the window's end came back from XCom naive."""
    import pendulum

    fire = pendulum.datetime(2025, 3, 10, 10, 30, tz="UTC")  # 06:30 New York (EDT)
    plan = scheduled_plan(BANK, data_interval_start=fire, data_interval_end=fire, logical_date=fire, run_after=fire)
    raw = plan.to_xcom()
    assert raw["end"] == "2025-03-10T06:30:00-04:00"
    assert Plan.from_xcom(raw).end.timestamp() == fire.timestamp()


def conn(**changes: object) -> SimpleNamespace:
    key = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    extra = {"known_hosts": f"sftp.bank.example ssh-ed25519 {key}"}
    base = {"conn_id": "sftp_x", "conn_type": "sftp", "host": "sftp.bank.example", "port": 22, "login": "acme"}
    base |= {"password": "s3cret-pw", "extra_dejson": extra}
    return SimpleNamespace(**(base | changes))


def test_connection_becomes_settings() -> None:
    settings = settings_from_connection(conn())
    assert (settings.host, settings.port, settings.username) == ("sftp.bank.example", 22, "acme")
    assert "s3cret-pw" not in repr(settings)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"extra_dejson": {}}, "extra.known_hosts is missing"),
        ({"extra_dejson": {"known_hosts": "x", "no_host_key_check": "true"}}, "extra.no_host_key_check is set"),
        ({"extra_dejson": {"known_hosts": "x", "allow_host_key_change": True}}, "allow_host_key_change is set"),
        ({"conn_type": "ftp"}, "type is 'ftp'"),
        ({"host": ""}, "host is empty"),
        ({"password": None}, "neither a password nor extra.private_key"),
        ({"extra_dejson": {"known_hosts": "x", "look_for_keys": True}}, "unsupported extra field(s) look_for_keys"),
    ],
)
def test_connection_problems_name_the_connection_and_field(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_connection(conn(**changes))
    assert str(info.value).startswith("connection 'sftp_x': ") and message in str(info.value)
    assert "s3cret-pw" not in str(info.value)


def test_a_banks_settings_reach_the_transfer_rules(tmp_path) -> None:
    """The loader builds the one bank model the transfer core takes: no translation between."""
    from bankgate.banks import move_to, unchanged

    config = SAMPLE.read_text().replace('verify = "checksum"', 'verify = "sha256"')
    (tmp_path / "banks.toml").write_text(config)
    bank = load_banks(tmp_path / "banks.toml")["first_harbor"]
    assert (bank.name, bank.verify, bank.concurrency) == ("first_harbor", "sha256", 4)
    assert bank.remote_dirs == ("/outbound/ach", "/outbound/bai") and bank.include[0] == "*.ach"
    assert bank.stability == (unchanged(120),) and bank.post_pull == move_to("/outbound/archive")
