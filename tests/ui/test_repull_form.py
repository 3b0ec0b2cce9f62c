"""What an analyst clicks: the ``bank_repull`` trigger form in the Airflow 3 UI, end to end.

Real parts only: an OpenSSH sshd serving the bank's files (``tests/sftp/sshd.py``), Airflow
3 in child processes (api-server, scheduler with the LocalExecutor, dag-processor; SQLite; the
simple auth manager with everyone admin, so no login) parsing this repo's ``dags/``, and
Debian's chromium driven by Playwright. The browser opens the DAG's page, clicks Trigger,
picks the bank (none is preselected; a decoy bank sorted first reads the same directory
into its own staging, so a pick the form ignored would show), sets the first and last day,
keeps Force and "Unpause on trigger" as they are, and submits. The run is then followed
through the REST API until it ends, and the staging directory is checked: exactly the files of
the chosen day, with their bytes, and the run's note naming the bank and the day.

The same Airflow then shows a late bank: the analyst checks a past day of ``bank_sla__harbor``
from its trigger form, and the run's page shows it failed, its note naming the late file and
its time (a screenshot goes to ``tests/ui/artifacts/``, ignored by git).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bankgate.store.local import LocalStore
from tests.sftp.sshd import Sshd
from tests.ui.airflow_server import Airflow

pytestmark = pytest.mark.timeout(300)

CONN_ID = "sftp_ui"
BANK = "harbor"  # the bank picked in the form
DECOY = "atlantic"  # sorted first: were the form to preselect a bank, it would be this one
DAG_ID = "bank_repull"
SLA_DAG = f"bank_sla__{BANK}"
ARTIFACTS = Path(__file__).with_name("artifacts")
#: The harbor's payroll file is due by 09:00 UTC every day; the test's files come at noon.
EXPECT = """
[[banks.harbor.expect]]
label = "Payroll ACH"
pattern = "*.ach"
by = "09:00"
days = "daily"
"""


def _bank(name: str, staging: Path, extra: str = "") -> str:
    return f"""\
[banks.{name}]
conn_id = "{CONN_ID}"
remote_dirs = ["/outbound"]
include = ["*.ach", "*.txt"]
cron = "0 6 * * *"
timezone = "UTC"
destination = "file://{staging}/"
stability = {{ unchanged_for = "3 s" }}
post_pull = "keep"
concurrency = 2
{extra}"""


def _noon(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()


def _landed(staging: Path) -> dict[str, bytes]:
    """Staged files by key (the pull ledger and temporary uploads excluded)."""
    if not staging.exists():
        return {}
    store = LocalStore(staging)
    return {
        info.key: store.read_bytes(info.key)
        for info in store.list()
        if not info.key.startswith(("bankgate-ledger/", "bankgate-partial/"))
    }


@pytest.fixture(scope="module")
def airflow(
    chromium_path: Path, sshd: Sshd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Airflow, dict[str, Any]]]:
    """The bank's files on the server, the two-bank config, and Airflow serving ``bank_repull``
    (and the harbor's SLA DAG): one Airflow for the module's tests."""
    tmp_path = tmp_path_factory.mktemp("repull-form")
    sshd.clear()
    day = datetime.now(UTC).date() - timedelta(days=3)
    other = day + timedelta(days=1)
    wanted = {"payroll.ach": b"101 HARBOR PAYROLL\n" * 200, "balances.txt": bytes(range(256)) * 40}
    for name, data in wanted.items():
        sshd.put(f"/outbound/{name}", data, mtime=_noon(day))
    sshd.put("/outbound/next_day.ach", b"not this day\n", mtime=_noon(other))

    staging, decoy_staging = tmp_path / "staging", tmp_path / "decoy-staging"
    banks = tmp_path / "banks.toml"
    banks.write_text(_bank(DECOY, decoy_staging) + "\n" + _bank(BANK, staging, EXPECT))
    conn = {
        "conn_type": "sftp",
        "host": sshd.host,
        "port": sshd.port,
        "login": sshd.user,
        "extra": {"private_key": sshd.client_key.read_text(), "known_hosts": sshd.known_hosts},
    }
    server = Airflow(
        tmp_path / "airflow",
        {"BANKGATE_BANKS": str(banks), f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(conn)},
    )
    try:
        server.start()
        server.wait_for_dag(DAG_ID)
        yield (
            server,
            {
                "day": day.isoformat(),
                "wanted": {f"{day.isoformat()}/{name}": data for name, data in wanted.items()},
                "staging": staging,
                "decoy_staging": decoy_staging,
            },
        )
    finally:
        server.stop()
        sshd.clear()


def _wait_for_run(server: Airflow, timeout: float = 150) -> dict[str, Any]:
    """The re-pull DAG's only run, once it has ended."""
    deadline = time.monotonic() + timeout
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            runs = server.api("GET", f"dags/{DAG_ID}/dagRuns").json()["dag_runs"]
        except requests.RequestException:  # a slow answer on a loaded machine: ask again
            time.sleep(1)
            continue
        assert len(runs) <= 1, runs
        if runs and runs[0]["state"] in ("success", "failed"):
            return runs[0]
        time.sleep(1)
    raise AssertionError(f"no finished run within {timeout}s: {runs}\n{server.logs()}")


def _task_states(server: Airflow, run_id: str) -> list[tuple[str, int, str]]:
    tis = server.api("GET", f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
    return sorted((ti["task_id"], ti["map_index"], ti["state"]) for ti in tis)


def test_an_analyst_repulls_one_day_of_a_bank_from_the_trigger_form(
    airflow: tuple[Airflow, dict[str, Any]], browser_page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    server, case = airflow
    page = browser_page
    assert server.api("GET", f"dags/{DAG_ID}").json()["is_paused"] is True  # new DAGs start paused

    page.goto(f"{server.url}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(f"Trigger Dag - {DAG_ID}")).to_be_visible()
    submit = dialog.get_by_role("button", name="Trigger", exact=True)  # the dialog's submit
    start, end = dialog.locator("#element_start_date"), dialog.locator("#element_end_date")
    expect(start).to_have_value("")
    expect(submit).to_be_disabled()  # the days are required

    bank = dialog.locator('input[name="element_bank"]')
    expect(bank).to_have_value("")  # no bank preselected
    start.fill(case["day"])
    end.fill(case["day"])
    expect(submit).to_be_disabled()  # the bank is required too
    dialog.locator("#element_bank").click()
    page.get_by_role("option", name=BANK, exact=True).click()
    expect(bank).to_have_value(BANK)
    expect(dialog.locator('input[name="element_force"]')).to_be_checked()  # Force's default, kept
    expect(dialog.get_by_role("checkbox", name=f"Unpause {DAG_ID} on trigger")).to_be_checked()
    expect(submit).to_be_enabled()
    submit.click()

    # Airflow may render the toast twice while it animates in (same id): either one will do
    expect(page.get_by_text("Dag run has been successfully triggered.").first).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/dags/{DAG_ID}/runs/manual__"))  # the new run's page
    run = _wait_for_run(server)
    states = _task_states(server, run["dag_run_id"])
    assert run["state"] == "success", f"{states}\n{server.logs()}"
    page.reload()  # the run's page, as the analyst sees it once the run is over
    expect(page.get_by_text("Success").first).to_be_visible(timeout=90_000)  # a loaded machine renders slowly
    page.screenshot(path=str(tmp_path / "run.png"))

    assert run["conf"] == {"bank": BANK, "start_date": case["day"], "end_date": case["day"], "force": True}
    assert run["run_type"] == "manual" and run["triggered_by"] == "ui"
    day = case["day"]
    forced = "forced: files already pulled are pulled again"
    assert run["note"] == f"Re-pull of bank {BANK}, {day} (bank-local days; {forced})\nFound 2 file(s): 2 pulled."
    assert server.api("GET", f"dags/{DAG_ID}").json()["is_paused"] is False  # unpaused by the form
    assert _landed(case["staging"]) == case["wanted"]  # the day's two files, their bytes; not the next day's
    assert _landed(case["decoy_staging"]) == {}
    assert {state for _task, _index, state in states} == {"success"}, states


def test_an_analyst_sees_a_late_banks_sla_run_fail_with_the_right_message(
    airflow: tuple[Airflow, dict[str, Any]], browser_page: Any
) -> None:
    """UI step 6: a past day checked from the SLA DAG's form; the run is red and says why."""
    from playwright.sync_api import expect

    server, case = airflow
    page = browser_page
    server.wait_for_dag(SLA_DAG)
    page.goto(f"{server.url}/dags/{SLA_DAG}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(f"Trigger Dag - {SLA_DAG}")).to_be_visible()
    dialog.locator("#element_day").fill(case["day"])
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/dags/{SLA_DAG}/runs/manual__"))
    run_id = page.url.rsplit("/runs/", 1)[1].split("/")[0].split("?")[0]

    run = server.wait_for_run(SLA_DAG, run_id, timeout=150)

    message = (
        f"bank {BANK}: arrival SLA missed on {case['day']}: Payroll ACH: 0 of 1 file(s) arrived by 09:00 UTC; "
        "1 missing; arrived late: /outbound/payroll.ach at 12:00"
    )
    assert run["state"] == "failed", server.logs()
    assert run["conf"] == {"day": case["day"]}
    assert run["note"] == message
    page.reload()
    expect(page.get_by_text("Failed").first).to_be_visible(timeout=90_000)
    expect(page.get_by_text(message).first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sla-late-bank.png"), full_page=True)
