"""DagBag integrity: every DAG file imports cleanly, quickly and offline, and every bank in the
sample config has its DAGs with docs, tags, retries and its own schedule and concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bankgate.banks import load_banks
from tests.dags.helpers import DAGS, SAMPLE

#: Parse time for all DAG files together; Airflow's own limit is 30 s per file.
PARSE_BOUND_S = 2.0


@pytest.fixture(scope="session")
def dagbag(airflow_home: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    os.environ["BANKGATE_BANKS"] = str(SAMPLE)  # set explicitly: there is no default
    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors_or_warnings(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert {path: list(w) for path, w in dagbag.captured_warnings.items()} == {}
    assert dagbag.dag_ids  # and something was found


def test_every_sample_bank_has_its_dags(dagbag: Any) -> None:
    banks = load_banks(SAMPLE)
    expected = {f"bank_pull__{name}" for name in banks} | {"bank_repull", "bank_reprocess"}
    expected |= {f"bank_sla__{name}" for name, bank in banks.items() if bank.arrival_sla}
    assert set(dagbag.dag_ids) == expected


def test_every_dag_has_docs_tags_owner_and_retries(dagbag: Any) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert "bankgate" in dag.tags, dag_id
        assert dag.catchup is False, dag_id
        for task in dag.tasks:
            assert task.retries >= 1 or task.task_id == "record", f"{dag_id}.{task.task_id}"
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id}"
            assert task.doc_md or task.doc or getattr(task, "python_callable", None).__doc__, task.task_id


def test_pull_dags_follow_their_bank(dagbag: Any) -> None:
    from airflow.sdk import CronTriggerTimetable

    for name, bank in load_banks(SAMPLE).items():
        dag = dagbag.dags[f"bank_pull__{name}"]
        assert isinstance(dag.timetable, CronTriggerTimetable)
        assert dag.timetable.expression == bank.cron
        assert dag.timetable.timezone in (bank.timezone, bank.tz) or dag.timetable.timezone.name == bank.timezone
        assert dag.max_active_runs == 1
        assert f"bank:{name}" in dag.tags and set(bank.tags) <= set(dag.tags)
        tasks = {t.task_id: t for t in dag.tasks}
        assert set(tasks) == {
            "plan",
            "list_files",
            "select_files",
            "pull_files.transfer",
            "pull_files.verify",
            "pull_files.post_pull",
            "record",
        }
        assert tasks["pull_files.transfer"].max_active_tis_per_dagrun == bank.concurrency
        assert tasks["pull_files.transfer"].upstream_task_ids == {"select_files"}
        assert tasks["pull_files.verify"].upstream_task_ids == {"pull_files.transfer"}
        assert tasks["pull_files.post_pull"].upstream_task_ids == {"pull_files.verify"}
        assert "pull_files.post_pull" in tasks["record"].upstream_task_ids
        assert tasks["record"].trigger_rule == "all_done"  # reports (and fails the run) whatever happened
        assert "force" in dag.params


def test_repull_form(dagbag: Any) -> None:
    dag = dagbag.dags["bank_repull"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # only ever triggered from the form
    params = dag.params
    assert params.get_param("bank").schema["enum"] == sorted(load_banks(SAMPLE))
    assert params.get_param("start_date").schema["format"] == "date"
    assert params.get_param("end_date").schema["format"] == "date"
    assert params["force"] is True


def test_sla_dag_fires_at_the_deadline_on_schedule_days(dagbag: Any) -> None:
    dag = dagbag.dags["bank_sla__first_harbor"]
    assert dag.timetable.expression == "0 9 * * 1-5"  # 09:00, Monday to Friday like the pull


def test_parsing_is_quick_offline_and_light() -> None:
    """In a fresh process, with sockets forbidden: no network, no transfer or cloud client
    imports, and a bounded parse time."""
    code = textwrap.dedent(
        f"""
        import json, socket, sys, time
        def refuse(*args, **kwargs):
            raise OSError("network access while parsing DAGs")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from airflow.dag_processing.dagbag import DagBag
        before = set(sys.modules)
        start = time.perf_counter()
        bag = DagBag(dag_folder={str(DAGS)!r})
        elapsed = time.perf_counter() - start
        heavy = sorted(m for m in set(sys.modules) - before
                       if m.split(".")[0] in ("paramiko", "boto3", "botocore", "google", "bankgate.sftp")
                       or m.startswith("bankgate.sftp") or m == "bankgate.plugins.bankgate_airflow.steps")
        print(json.dumps({{"errors": {{k: str(v) for k, v in bag.import_errors.items()}},
                          "dags": len(bag.dag_ids), "elapsed": elapsed, "heavy": heavy}}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")} | {"BANKGATE_BANKS": str(SAMPLE)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    assert result["dags"] >= 3
    assert result["heavy"] == []
    assert result["elapsed"] < PARSE_BOUND_S, result


def test_without_a_bank_config_the_dag_files_say_what_to_set(monkeypatch) -> None:
    """No quiet fallback to the repository's sample banks in a deployment."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.delenv("BANKGATE_BANKS", raising=False)
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.dag_ids == [] or not any(d.startswith("bank_") for d in bag.dag_ids)
    assert len(bag.import_errors) == 3  # bank_pulls.py, bank_repull.py and bank_reprocess.py
    assert all("BANKGATE_BANKS is not set" in error for error in bag.import_errors.values())


def test_a_broken_config_is_an_import_error_naming_bank_and_key(tmp_path: Path, monkeypatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    broken = tmp_path / "banks.toml"
    broken.write_text(SAMPLE.read_text().replace('cron = "30 6 * * 1-5"', 'cron = "30 25 * * 1-5"'))
    monkeypatch.setenv("BANKGATE_BANKS", str(broken))
    bag = DagBag(dag_folder=str(DAGS / "bank_pulls.py"))
    (error,) = bag.import_errors.values()
    assert "bank 'first_harbor': cron: field 'hour': 25 is out of range 0-23" in error
