"""The Files view and its API against a real Airflow 3 (api-server, scheduler, dag-processor;
SQLite; the simple auth manager with real users and roles, not everyone admin), a real OpenSSH
sshd serving a bank's files, the real pipeline on local folders, and Debian's chromium.

The bank's day is pulled by its real ``bank_pull__harbor`` DAG run (triggered through the REST
API), then processed by the pipeline as the Lambda would: one file is processed, one (a NACHA
file whose amounts were edited after its controls were written) is quarantined. Then:

- the plugin's API answers only as Airflow's auth manager says: no token 401, a bad token 403,
  a viewer may read but not reprocess (403), an analyst may read (200);
- in the browser, an analyst (the ``user`` role) opens Files from the Airflow UI, finds the
  quarantined file by name, reads its reason and journey, the operator waives the two rules
  in the pipeline config, the analyst reprocesses the file from the page, and it shows as
  processed once ``bank_reprocess`` has run. Screenshots of each step go to
  ``tests/ui/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.sftp.sshd import Sshd
from tests.ui.airflow_server import Airflow

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).with_name("artifacts")
BAD = REPO / "samples/nacha/payroll-amount-edited-after-controls.ach"
GOOD = REPO / "samples/nacha/payroll-ppd-ccd.ach"
CODES = ["nacha.batch.total_credit_mismatch", "nacha.file.total_credit_mismatch"]
BANK = "harbor"
CONN_ID = "sftp_files"
USERS = {"admin": "admin", "analyst": "user", "auditor": "viewer"}


class AuthAirflow(Airflow):
    """Airflow whose API needs a token: ``api`` signs in as ``admin``; ``token(user)`` for others."""

    def __init__(self, home: Path, extra_env: dict[str, str]) -> None:
        super().__init__(home, extra_env)
        self._tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self._tokens:
            answer = requests.post(
                f"{self.url}/auth/token", json={"username": user, "password": f"{user}-pw"}, timeout=10
            )
            answer.raise_for_status()
            self._tokens[user] = answer.json()["access_token"]
        return self._tokens[user]

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token('admin')}", **kwargs.pop("headers", {})}
        return super().api(method, path, headers=headers, **kwargs)

    def files(self, path: str, user: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        method = "POST" if "json" in kwargs else "GET"
        return requests.request(method, f"{self.url}/bankgate/api/{path}", headers=headers, timeout=30, **kwargs)


def _pipeline_toml(root: Path, waive: bool) -> str:
    waivers = f'\n[waivers]\n"file://{root}/staging/" = {json.dumps(CODES)}\n' if waive else ""
    return f"""\
staging = "file://{root}/staging"
archive = "file://{root}/archive/"
quarantine = "file://{root}/quarantine/"
ledger = "file://{root}/ledger/"

[routes."*"]
destination = "file://{root}/processed/"
{waivers}"""


@pytest.fixture(scope="module")
def world(chromium_path: Path, sshd: Sshd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A bank's pulled and processed day in a running, authenticated Airflow."""
    root = tmp_path_factory.mktemp("files-view")
    for name in ("staging", "archive", "quarantine", "ledger", "processed"):
        (root / name).mkdir()
    sshd.clear()
    day = datetime.now(UTC).date() - timedelta(days=2)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
    sshd.put("/outbound/payroll-edited.ach", BAD.read_bytes(), mtime=noon)
    sshd.put("/outbound/payroll-ok.ach", GOOD.read_bytes(), mtime=noon + 60)
    banks = root / "banks.toml"
    banks.write_text(
        f'[banks.{BANK}]\nconn_id = "{CONN_ID}"\nremote_dirs = ["/outbound"]\ninclude = ["*.ach"]\n'
        f'cron = "0 6 * * *"\ntimezone = "UTC"\ndestination = "file://{root}/staging/"\n'
        'stability = { unchanged_for = "3 s" }\npost_pull = "delete"\n'
    )
    config = root / "pipeline.toml"
    config.write_text(_pipeline_toml(root, waive=False))
    passwords = root / "passwords.json"
    passwords.write_text(json.dumps({user: f"{user}-pw" for user in USERS}))
    conn = {
        "conn_type": "sftp",
        "host": sshd.host,
        "port": sshd.port,
        "login": sshd.user,
        "extra": {"private_key": sshd.client_key.read_text(), "known_hosts": sshd.known_hosts},
    }
    server = AuthAirflow(
        root / "airflow",
        {
            "BANKGATE_BANKS": str(banks),
            "BANKGATE_CONFIG": str(config),
            f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(conn),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        },
    )
    try:
        server.start()
        pull = f"bank_pull__{BANK}"
        server.wait_for_dag(pull)
        server.wait_for_dag("bank_reprocess")
        server.api("PATCH", f"dags/{pull}", json={"is_paused": False}).raise_for_status()
        answer = server.api("POST", f"dags/{pull}/dagRuns", json={"logical_date": None})
        answer.raise_for_status()
        run = server.wait_for_run(pull, answer.json()["dag_run_id"])
        assert run["state"] == "success", server.logs()
        statuses = _process_staged(root, config)
        assert sorted(statuses.values()) == ["processed", "quarantined"], statuses
        yield {"server": server, "root": root, "day": day, "config": config}
    finally:
        server.stop()
        sshd.clear()


def _process_staged(root: Path, config: Path) -> dict[str, str]:
    """The pipeline on every staged file, as the processing Lambda would run it."""
    from bankgate.config import PipelineConfig
    from bankgate.pipeline import Pipeline, StagedObject

    pipeline = Pipeline(PipelineConfig.from_toml(config))
    keys = [i.key for i in pipeline.staging.list() if not i.key.startswith(("bankgate-ledger/", "bankgate-partial/"))]
    return {key: pipeline.process(StagedObject(key)).status for key in keys}


def test_the_files_api_is_authorised_by_airflows_auth_manager(world: dict[str, Any]) -> None:
    server: AuthAirflow = world["server"]
    day = world["day"].isoformat()
    query = {"owner": BANK, "day": day}

    assert server.files("files", params=query).status_code == 401  # no token
    bad = requests.get(
        f"{server.url}/bankgate/api/files", params=query, headers={"Authorization": "Bearer nope"}, timeout=30
    )
    assert bad.status_code == 403  # Airflow's answer to a token that is not one of its own
    viewer = server.files("files", "auditor", params=query)
    assert viewer.status_code == 200
    assert sorted(r["name"] for r in viewer.json()) == ["payroll-edited.ach", "payroll-ok.ach"]
    denied = server.files("reprocess", "auditor", json={"urls": [viewer.json()[0]["url"]]})
    assert denied.status_code == 403 and "bank_reprocess" in denied.json()["detail"]
    analyst = server.files("files", "analyst", params={**query, "state": "quarantined"})
    assert analyst.status_code == 200
    (row,) = analyst.json()
    assert row["name"] == "payroll-edited.ach" and "total_credit" in row["reason"]
    assert server.files("owners", "analyst").json() == [{"name": BANK, "timezone": "UTC"}]


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_an_analyst_finds_a_quarantined_file_reprocesses_it_and_sees_it_processed(
    world: dict[str, Any], browser_page: Any
) -> None:
    from playwright.sync_api import expect

    server: AuthAirflow = world["server"]
    day: date = world["day"]
    page = browser_page
    # 1. The analyst signs in on Airflow's own login page (the simple auth manager's form).
    page.goto(server.url)
    page.locator("input[name=username]").fill("analyst")
    page.locator("input[name=password]").fill("analyst-pw")
    page.get_by_role("button", name=re.compile("sign in", re.IGNORECASE)).click()
    expect(page.get_by_role("link", name="Files").first).to_be_visible(timeout=60_000)
    assert any(c["name"] == "_token" for c in page.context.cookies())  # Airflow's JWT, set by its login
    # 2. Files, from the UI's navigation.
    page.get_by_role("link", name="Files").first.click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(server.url)}/plugin/bankgate-files"))  # the view, in the UI
    files = page.frame_locator("iframe").first
    files.get_by_label("Day").fill(day.isoformat())
    files.get_by_label("Day").dispatch_event("change")
    files.get_by_label("Day").blur()  # (no caret in the screenshot)
    expect(files.locator("tr.file")).to_have_count(2)
    _shot(page, "1-files")

    # 3. Find the quarantined file by name and read its reason.
    files.get_by_label("Search by name").fill("edited")
    expect(files.locator("tr.file")).to_have_count(1)
    row = files.locator("tr.file")
    expect(row.locator(".badge")).to_have_text("quarantined")
    expect(row.locator(".reason")).to_contain_text("total_credit")
    row.locator(".name").click()
    journey = files.get_by_role("list", name="journey")
    expect(journey.locator("li")).to_have_count(4)
    expect(journey).to_contain_text(".error.json")
    # (the run that pulled it: the scheduled run unpausing started, or the manual one)
    pulled_by = files.locator("a", has_text=f"Airflow: bank_pull__{BANK} / ")
    expect(pulled_by).to_have_text(re.compile(f"^Airflow: bank_pull__{BANK} / [^ ]+ / pull_files.transfer$"))
    expect(pulled_by).to_have_attribute(
        "href", re.compile(f"^/dags/bank_pull__{BANK}/runs/.+/tasks/pull_files.transfer")
    )
    _shot(page, "2-journey")

    # 4. The operator waives the two rules; the analyst reprocesses the file.
    world["config"].write_text(_pipeline_toml(world["root"], waive=True))
    row.get_by_role("checkbox").check()
    files.get_by_role("button", name="Reprocess selected").click()
    notice = files.get_by_role("status")
    expect(notice).to_contain_text("Reprocessing 1 file(s)")
    run_id = notice.get_by_role("link").inner_text()
    _shot(page, "3-reprocess-triggered")

    # 5. Watch it become processed: the page refreshes itself until the file has its new outcome.
    expect(row.locator(".badge")).to_have_text("done", timeout=240_000)
    expect(notice).to_contain_text("payroll-edited.ach: done")
    run = server.wait_for_run("bank_reprocess", run_id)
    assert run["state"] == "success", server.logs()
    assert run["note"] == "Reprocess of 1 file(s): payroll-edited.ach\n1 processed."
    files.get_by_label("State").select_option("done")
    expect(files.locator("tr.file")).to_have_count(1)
    expect(files.locator("tr.file .badge")).to_have_text("done")
    expect(files.locator("tr.file .name")).to_have_text("payroll-edited.ach")
    # The open journey follows the list: pulled, staged, the first attempt and its quarantine
    # (its copy retired to the quarantine's history), the reprocess and its outcome.
    expect(journey.locator("li")).to_have_count(6)
    expect(journey.locator("li").nth(3)).to_contain_text("moved to the quarantine's history")
    expect(journey.locator("li").nth(4)).to_contain_text("attempt 2, a reprocess")
    expect(journey.locator("li").last).to_contain_text(re.compile("processed", re.IGNORECASE))
    expect(journey.locator("li").last).to_contain_text("archived: file://")
    live = [p for p in (world["root"] / "quarantine").rglob("*.ach*") if not {"_history", ".meta"} & set(p.parts)]
    assert live == []  # nothing left in quarantine that looks like a live problem
    _shot(page, "4-processed")
