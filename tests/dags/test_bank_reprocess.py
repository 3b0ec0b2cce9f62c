"""``bank_reprocess`` with ``dag.test()``: a file pulled from a real sshd, quarantined by the
real pipeline, reprocessed from its quarantined original after its waiver is configured (the
bank's server already deleted it), by URL or by bank and day; the run reports per file and
its note says what happened. Also ``files_api``, the Files view's one door to the ledgers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bankgate.ledger import Ledger
from bankgate.store.local import LocalStore
from tests.dags.helpers import BANK, Env, day_of, run_note, xcom

SAMPLE = Path(__file__).resolve().parents[2] / "samples/nacha/payroll-amount-edited-after-controls.ach"
CODES = ["nacha.batch.total_credit_mismatch", "nacha.file.total_credit_mismatch"]


class Processing:
    """The pipeline's folders and settings (through the environment, as the DAG reads them)."""

    def __init__(self, env: Env) -> None:
        self.env = env
        root = env.tmp_path
        self.staging = f"file://{env.staging}"
        for name in ("archive", "quarantine", "ledger", "processed"):
            (root / name).mkdir()
        settings = {
            "BANKGATE_STAGING": self.staging,
            "BANKGATE_ARCHIVE": f"file://{root}/archive/",
            "BANKGATE_QUARANTINE": f"file://{root}/quarantine/",
            "BANKGATE_LEDGER": f"file://{root}/ledger/",
            "BANKGATE_ROUTES": json.dumps({"*": {"destination": f"file://{root}/processed/"}}),
        }
        for name, value in settings.items():
            env.monkeypatch.setenv(name, value)
        self.ledger = Ledger(LocalStore(root / "ledger"), "")

    def waive(self) -> None:
        self.env.monkeypatch.setenv("BANKGATE_WAIVERS", json.dumps({f"{self.staging}/": CODES}))

    def process_staged(self) -> dict[str, str]:
        """Run the pipeline on everything the pull staged, as the Lambda would: url -> status."""
        from bankgate.config import PipelineConfig
        from bankgate.pipeline import Pipeline, StagedObject

        pipeline = Pipeline(PipelineConfig.from_env())
        return {pipeline.staging.url_of(key): pipeline.process(StagedObject(key)).status for key in self.env.landed()}


@pytest.fixture
def processing(env: Env) -> Processing:
    return Processing(env)


def _pull_bad_file_and_quarantine_it(env: Env, processing: Processing) -> tuple[str, str]:
    env.configure(post_pull='"delete"')
    remote = env.put("payroll.ach", SAMPLE.read_bytes(), age=3600)
    day = day_of(remote)
    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success", states and not remote.exists()  # gone from the server
    ((url, status),) = processing.process_staged().items()
    assert status == "quarantined"
    return url, day


def test_a_quarantined_file_is_reprocessed_by_url_after_its_waiver_is_set(env: Env, processing: Processing) -> None:
    url, _day = _pull_bad_file_and_quarantine_it(env, processing)
    processing.waive()

    run, states = env.run("bank_reprocess", run_conf={"urls": [url]})

    assert run.state == "success", states
    report = xcom(run, "record", key="report")
    (done,) = report["files"]
    assert (done["url"], done["before"], done["status"], done["type"]) == (url, "quarantined", "processed", "nacha")
    assert done["from"].startswith(f"file://{env.tmp_path}/quarantine/")  # the server no longer has it
    assert done["records"] > 0 and done["outputs"]
    record, _etag = processing.ledger.get(url)
    assert record.state == "done" and record.attempts == 2  # the new attempt, counted on the same record
    assert run_note(run) == "Reprocess of 1 file(s): payroll.ach\n1 processed."


def test_a_bank_and_day_reprocess_picks_the_days_quarantined_files_and_fails_when_one_stays_bad(
    env: Env, processing: Processing
) -> None:
    url, day = _pull_bad_file_and_quarantine_it(env, processing)

    # No waiver yet: the file is quarantined again, and the run says so.
    run, _states = env.run("bank_reprocess", run_conf={"bank": BANK, "start_date": day, "end_date": day})

    assert run.state == "failed"
    report = xcom(run, "record", key="report")
    assert [f["url"] for f in report["files"]] == [url] and report["counts"] == {"quarantined": 1}
    assert report["selection"]["by"] == "days"
    note = run_note(run)
    assert note.startswith(f"Reprocess of bank {BANK}, {day}, quarantined files\n1 quarantined (payroll.ach: ")
    assert "total_credit" in note


def test_a_reprocess_form_without_files_or_bank_fails_in_one_sentence(env: Env, processing: Processing) -> None:
    run, states = env.run("bank_reprocess", run_conf={})

    assert run.state == "failed"
    assert states[("select", -1)] == ("failed", 1)  # a form mistake is not retried
    why = "bank_reprocess form: give the files' URLs, or pick a bank and days."
    assert xcom(run, "record", key="report")["step_failed"] == {"select": why}
    assert run_note(run) == f"Reprocess of bank ?, ?, quarantined files\nselect failed: {why}."


def test_files_api_lists_a_day_and_tells_a_files_journey(env: Env, processing: Processing) -> None:
    from bankgate.plugins.bankgate_airflow import files_api

    url, day = _pull_bad_file_and_quarantine_it(env, processing)

    (row,) = files_api.list_day(BANK, day)
    assert (row["name"], row["state"]) == ("payroll.ach", "quarantined")  # (the pipeline records no type here)
    assert "total_credit" in row["reason"] and row["error_json"].endswith("payroll.ach.error.json")
    assert files_api.list_day(BANK, day, "done") == []
    with pytest.raises(ValueError, match="state 'green' is not one of"):
        files_api.list_day(BANK, day, "green")

    story: dict[str, Any] = files_api.journey(url)
    assert [s["stage"] for s in story["stages"]] == ["pulled", "staged", "processing", "quarantined"]
    assert story["pulled_by"]["dag_id"] == f"bank_pull__{BANK}"
    assert story["pulled_by"]["task_id"] == "pull_files.transfer"
    assert story["pulled_by"]["ui_path"].startswith(f"dags/bank_pull__{BANK}/runs/")
    assert story["stages"][-1]["links"][".error.json"] == row["error_json"]
    assert Path(row["error_json"].removeprefix("file://")).exists()


def test_a_pending_files_journey_names_the_airflow_task_that_pulled_it(env: Env, processing: Processing) -> None:
    """Before any processing there is no archived copy: the run comes from the pull record."""
    from bankgate.plugins.bankgate_airflow import files_api

    remote = env.put("payroll.ach", SAMPLE.read_bytes(), age=3600)
    run, states = env.run(f"bank_pull__{BANK}")
    assert run.state == "success", states
    (row,) = files_api.list_day(BANK, day_of(remote))

    story = files_api.journey(row["url"])

    assert (story["state"], [s["stage"] for s in story["stages"]]) == ("pending", ["pulled", "staged"])
    assert story["file"] == row
    assert (story["pulled_by"]["run_id"], story["pulled_by"]["task_id"]) == (run.run_id, "pull_files.transfer")
