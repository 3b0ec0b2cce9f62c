"""The bank config: every key parsed, every mistake named by bank and key, cron semantics."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bankgate.banks import (
    DELETE,
    KEEP,
    ArrivalSla,
    BankConfig,
    ConfigError,
    load_banks,
    marker,
    move_to,
    parse_duration,
    parse_size,
    unchanged,
)
from bankgate.cron import Cron

SAMPLE = Path(__file__).parents[2] / "samples" / "banks.toml"
NY = ZoneInfo("America/New_York")

MINIMAL = """
[banks.acme]
conn_id = "sftp_acme"
remote_dirs = ["/out"]
destination = "s3://staging/inbound/acme"
cron = "0 6 * * *"
"""


def load(tmp_path: Path, text: str) -> dict[str, BankConfig]:
    path = tmp_path / "banks.toml"
    path.write_text(textwrap.dedent(text))
    return load_banks(path)


def problem(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return str(info.value)


# -- the sample and defaults --------------------------------------------------------------------


def test_sample_config_loads_with_every_kind_of_setting() -> None:
    banks = load_banks(SAMPLE)
    assert set(banks) == {"first_harbor", "prairie_trust"}
    first, prairie = banks["first_harbor"], banks["prairie_trust"]
    assert first.remote_dirs == ("/outbound/ach", "/outbound/bai")
    assert first.timezone == "America/New_York"  # from [defaults]
    assert first.stability == (unchanged(120),)
    assert first.post_pull == move_to("/outbound/archive")
    assert first.arrival_sla == ArrivalSla(time(9, 0), 2)
    assert first.max_file_size == 2 << 30
    assert first.lookback_seconds == 7 * 86400
    assert prairie.timezone == "America/Chicago"  # a bank's own value beats the default
    assert prairie.stability == (marker(".done"),) and prairie.done_marker == ".done"
    assert prairie.post_pull == DELETE
    assert prairie.max_file_size == 500_000_000
    assert prairie.destination.startswith("gs://")


def test_minimal_bank_gets_documented_defaults(tmp_path: Path) -> None:
    bank = load(tmp_path, MINIMAL)["acme"]
    assert bank.destination == "s3://staging/inbound/acme/"  # a prefix always ends with '/'
    assert (bank.timezone, bank.include, bank.exclude) == ("UTC", ("*",), ())
    assert bank.post_pull == KEEP and bank.arrival_sla is None
    assert bank.concurrency == 4 and bank.stability == (unchanged(60),)
    assert bank.verify == "checksum"


def test_file_destination_is_allowed_for_local_runs(tmp_path: Path) -> None:
    bank = load(tmp_path, MINIMAL.replace("s3://staging/inbound/acme", "file:///srv/staging"))["acme"]
    assert bank.destination == "file:///srv/staging/"


# -- every mistake names the bank and the key ---------------------------------------------------


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ('cron = "0 6 * * *"', 'cron = "0 25 * * *"', "bank 'acme': cron: field 'hour': 25 is out of range 0-23"),
        ('cron = "0 6 * * *"', 'cron = "0 6 * *"', "bank 'acme': cron: '0 6 * *' has 4 fields"),
        ('cron = "0 6 * * *"', 'cron = "0 6 * * MON-XYZ"', "field 'day of week': 'XYZ' is not a number or a name"),
        ('cron = "0 6 * * *"', 'cron = "0 6 31 2 *"', "never fires"),
        ('cron = "0 6 * * *"', 'cron = "0 6 * * 5-1"', "range '5-1' runs backwards"),
        (
            "[banks.acme]",
            '[banks.acme]\ntimezone = "Mars/Olympus"',
            "bank 'acme': timezone: 'Mars/Olympus' is not a known time zone",
        ),
        ("s3://staging/inbound/acme", "ftp://staging/x", "bank 'acme': destination: unsupported URL 'ftp://staging/x'"),
        ("s3://staging/inbound/acme", "s3:///nobucket", "bank 'acme': destination: 's3:///nobucket' names no bucket"),
        ("[banks.acme]", "[banks.acme]\nmax_size = 5", "bank 'acme': max_size: unknown key"),
        (
            "[banks.acme]",
            '[banks.acme]\nmax_file_size = "2 gigs"',
            "bank 'acme': max_file_size: '2 gigs' is not a size",
        ),
        ("[banks.acme]", "[banks.acme]\nmax_file_size = 0", "bank 'acme': max_file_size: 0 must be more than 0 bytes"),
        (
            "[banks.acme]",
            "[banks.acme]\nconcurrency = 0",
            "bank 'acme': concurrency: must be a whole number from 1 to 32",
        ),
        ("[banks.acme]", '[banks.acme]\nlookback = "3 fortnights"', "bank 'acme': lookback: '3 fortnights'"),
        ("[banks.acme]", '[banks.acme]\nverify = "md5"', "bank 'acme': verify: 'md5' is not one of: 'checksum'"),
        ('conn_id = "sftp_acme"', 'conn_id = "sftp acme"', "bank 'acme': conn_id: 'sftp acme' may contain only"),
        ('conn_id = "sftp_acme"\n', "", "bank 'acme': conn_id: missing (required)"),
        ('remote_dirs = ["/out"]', 'remote_dirs = "/out"', "bank 'acme': remote_dirs: must be a non-empty list"),
        ('remote_dirs = ["/out"]', 'remote_dirs = ["out"]', "bank 'acme': remote_dirs: 'out' must be an absolute"),
        ('remote_dirs = ["/out"]', 'remote_dirs = ["/a/../b"]', "without '..'"),
        (
            "[banks.acme]",
            '[banks.acme]\ninclude = ["in/*.ach"]',
            "bank 'acme': include: 'in/*.ach' matches files 1 folder(s) below the remote directory, but subfolders = 0",
        ),
        (
            "[banks.acme]",
            '[banks.acme]\nsubfolders = 1\nexclude = ["*/x/*.ach"]',
            "bank 'acme': exclude: '*/x/*.ach' matches files 2 folder(s) below the remote directory, but subfolders",
        ),
        ("[banks.acme]", '[banks.acme]\nsubfolders = 1\ninclude = ["/out/*.ach"]', "include: '/out/*.ach': a pattern"),
        ("[banks.acme]", '[banks.acme]\nsubfolders = 1\ninclude = ["../*.ach"]', "it is relative, without empty"),
        ("[banks.acme]", "[banks.acme]\nsubfolders = 9", "bank 'acme': subfolders: must be a whole number from 0 to 8"),
        ("[banks.acme]", '[banks.acme]\nsubfolders = "yes"', "bank 'acme': subfolders: must be a whole number"),
        (
            "[banks.acme]",
            '[banks.acme]\nsubfolders = 1\npost_pull = { action = "move", to = "/out/archive" }',
            "bank 'acme': post_pull.to: '/out/archive' is within subfolders = 1 of one; files would be re-pulled",
        ),
        (
            "[banks.acme]",
            "[banks.acme]\nstability = { unchanged = 60 }",
            "bank 'acme': stability.unchanged: unknown key",
        ),
        ("[banks.acme]", "[banks.acme]\nstability = {}", "bank 'acme': stability: set unchanged_for"),
        ("[banks.acme]", '[banks.acme]\nstability = { done_marker = "*.ok" }', "must be a plain suffix"),
        ("[banks.acme]", '[banks.acme]\nstability = { done_marker = "" }', "stability.done_marker: must be a suffix"),
        ("[banks.acme]", '[banks.acme]\npost_pull = "archive"', "bank 'acme': post_pull: 'archive' is not an action"),
        ("[banks.acme]", '[banks.acme]\npost_pull = { action = "move" }', "bank 'acme': post_pull.to: a 'move' needs"),
        (
            "[banks.acme]",
            '[banks.acme]\npost_pull = { action = "move", to = "/out/" }',
            "bank 'acme': post_pull.to: '/out' is a pulled directory",
        ),
        (
            "[banks.acme]",
            '[banks.acme]\npost_pull = { action = "delete", to = "/x" }',
            "post_pull.to: only a 'move' has a destination",
        ),
        ("[banks.acme]", '[banks.acme]\narrival_sla = "9am"', "bank 'acme': arrival_sla: '9am' is not a time of day"),
        (
            "[banks.acme]",
            '[banks.acme]\narrival_sla = { latest = "09:00", min_files = 0 }',
            "arrival_sla.min_files: must be a whole number from 1",
        ),
        ("[banks.acme]", "[banks.Acme]", "bank 'Acme': a bank name is lower-case letters"),
        ("[banks.acme]", "[pipeline]\nx = 1\n[banks.acme]", "pipeline: unknown top-level key"),
        ("[banks.acme]", "[defaults]\nconcurency = 2\n[banks.acme]", "defaults: concurency: unknown key"),
    ],
)
def test_mistakes_name_bank_key_and_problem(tmp_path: Path, replace: str, by: str, expected: str) -> None:
    assert replace in MINIMAL
    message = problem(tmp_path, MINIMAL.replace(replace, by, 1))
    assert expected in message
    assert f"{tmp_path / 'banks.toml'}: " in message  # and the file


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace('cron = "0 6 * * *"', 'cron = "61 * * * *"\ntimezone = "Nowhere/City"')
    text += '\n[banks.beta]\nconn_id = "b"\nremote_dirs = ["/x"]\ncron = "@daily"\ndestination = "gcs://b/"\n'
    message = problem(tmp_path, text)
    assert message.splitlines()[0] == "3 problems in the bank config:"
    assert "bank 'acme': cron: field 'minute': 61" in message
    assert "bank 'acme': timezone: 'Nowhere/City'" in message
    assert "bank 'beta': destination: unsupported URL 'gcs://b/'" in message


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    assert "no banks configured" in problem(tmp_path, "[defaults]\nconcurrency = 2\n")
    assert "not valid TOML" in problem(tmp_path, "[banks.acme\n")
    with pytest.raises(ConfigError, match="cannot read the bank config"):
        load_banks(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "size"),
    [(1024, 1024), ("1024", 1024), ("2 GiB", 2 << 30), ("2GiB", 2 << 30), ("500 MB", 500_000_000), ("1.5 kib", 1536)],
)
def test_sizes(text: int | str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GiB", "-1 MB", "2 GB/s", True, 1.5])
def test_bad_sizes(text: object) -> None:
    with pytest.raises(ValueError):
        parse_size(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"), [(60, 60), ("90 s", 90), ("2 min", 120), ("1h", 3600), ("3 days", 259200), ("1 week", 604800)]
)
def test_durations(text: int | str, seconds: int) -> None:
    assert parse_duration(text) == seconds


# -- behaviour the DAGs rely on ------------------------------------------------------------------


def test_subfolders_are_opt_in_and_patterns_may_then_name_folders(tmp_path: Path) -> None:
    """What the patterns select is bankgate/sftp/selection.py's (tests/sftp/test_selection.py)."""
    assert load(tmp_path, MINIMAL)["acme"].subfolders == 0
    bank = load(
        tmp_path,
        MINIMAL.replace(
            "[banks.acme]",
            '[banks.acme]\nsubfolders = 2\ninclude = ["20??-??-??/*.ach", "*.txt"]\nexclude = ["*/tmp/*"]\n'
            'stability = { done_marker = ".done", unchanged_for = "1 min" }\n'
            'post_pull = { action = "move", to = "/archive" }',
        ),
    )["acme"]
    assert bank.subfolders == 2 and bank.include == ("20??-??-??/*.ach", "*.txt") and bank.exclude == ("*/tmp/*",)
    assert bank.done_marker == ".done"
    assert bank.stability == (unchanged(60), marker(".done"))


def test_interval_follows_the_cron_not_a_fixed_period() -> None:
    """CronTriggerTimetable gives a run a zero-length interval at its fire time; the run
    covers from the previous fire time. Monday's 06:30 run covers since Friday's."""
    bank = load_banks(SAMPLE)["first_harbor"]
    monday = datetime(2025, 3, 10, 6, 30, tzinfo=NY)
    assert bank.interval_ending(monday) == (datetime(2025, 3, 7, 6, 30, tzinfo=NY), monday)
    # a manual run mid-morning covers since that morning's scheduled run
    manual = datetime(2025, 3, 11, 10, 17, tzinfo=NY)
    assert bank.interval_ending(manual)[0] == datetime(2025, 3, 11, 6, 30, tzinfo=NY)
    start, end = bank.selection_window(*bank.interval_ending(monday))
    assert (end - start) == timedelta(days=3 + 7)


def test_sla_deadline_only_on_schedule_days() -> None:
    bank = load_banks(SAMPLE)["first_harbor"]
    assert bank.sla_deadline(date(2025, 3, 10)) == datetime(2025, 3, 10, 9, 0, tzinfo=NY)
    assert bank.sla_deadline(date(2025, 3, 8)) is None  # Saturday: no files expected
    assert load_banks(SAMPLE)["prairie_trust"].sla_deadline(date(2025, 3, 8)) is not None  # Mon-Sat


def test_bank_config_does_not_import_airflow() -> None:
    code = "import sys, bankgate.banks; print([m for m in sys.modules if m.split('.')[0] in ('airflow', 'croniter')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- cron ------------------------------------------------------------------------------------------


def test_cron_day_of_month_or_day_of_week_when_both_are_set() -> None:
    cron = Cron.parse("0 0 13 * FRI")  # the 13th, or any Friday (Vixie cron, croniter, Airflow)
    assert cron.fires_on(date(2025, 3, 13)) and cron.fires_on(date(2025, 3, 14))
    assert not cron.fires_on(date(2025, 3, 12))
    assert Cron.parse("@weekly").fires_on(date(2025, 3, 9)) and Cron.parse("0 0 * * 7").fires_on(date(2025, 3, 9))


def test_cron_previous_and_next_across_dst() -> None:
    cron = Cron.parse("30 6 * * *")
    spring = datetime(2025, 3, 9, 6, 30, tzinfo=NY)  # the day clocks go forward
    assert cron.previous(spring, NY) == datetime(2025, 3, 8, 6, 30, tzinfo=NY)
    assert spring.timestamp() - cron.previous(spring, NY).timestamp() == 23 * 3600
    assert cron.next(spring, NY) == datetime(2025, 3, 10, 6, 30, tzinfo=NY)
    utc_before = datetime(2025, 3, 9, 11, 0, tzinfo=ZoneInfo("UTC"))  # 07:00 New York
    assert cron.previous(utc_before, NY) == spring


CRONS = ["30 6 * * 1-5", "*/15 7-18 * * 1-6", "0 0 1 * *", "5 4 * * sun", "0 9 1,15 * *", "0 0 13 * 5", "0 12 29 2 *"]


@pytest.mark.parametrize("expression", CRONS)
def test_cron_matches_croniter(expression: str) -> None:
    croniter = pytest.importorskip("croniter").croniter  # present wherever Airflow is installed
    rng = random.Random(expression)
    for _ in range(40):
        moment = datetime(2024, 1, 1, tzinfo=NY) + timedelta(minutes=rng.randrange(2 * 366 * 24 * 60))
        cron = Cron.parse(expression)
        assert cron.previous(moment, NY) == croniter(expression, moment).get_prev(datetime), moment
        assert cron.next(moment, NY) == croniter(expression, moment).get_next(datetime), moment
