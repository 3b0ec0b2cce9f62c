"""The DAG tests' paths and the end-to-end harness: one bank on the session's sshd
(``tests/fixtures/sftp.py``) with a local staging store, its DAGs run by ``dag.test()``.
Nothing here imports Airflow at import time: ``conftest.py`` configures it first."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bankgate.store.local import LocalStore

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
SAMPLE = REPO / "samples" / "banks.toml"

CONN_ID = "sftp_e2e"
BANK = "e2e"
OLD = 600  # seconds: a file this old is finished writing


def bank_toml(staging: Path, **overrides: str) -> str:
    settings = {
        "conn_id": f'"{CONN_ID}"',
        "remote_dirs": '["/outbound"]',
        "include": '["*.ach", "*.txt"]',
        "exclude": '["*.tmp"]',
        "cron": '"0 6 * * *"',
        "timezone": '"UTC"',
        "destination": f'"file://{staging}/"',
        "stability": '{ unchanged_for = "3 s" }',
        "post_pull": '"keep"',
        "concurrency": "2",
        "lookback": '"2 days"',
        "max_file_size": '"1 MiB"',
        **overrides,
    }
    return f"[banks.{BANK}]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())


class Env:
    """One test's bank: its config, its connection, its staging store, the server's files."""

    def __init__(self, sshd: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sshd = sshd
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.staging = tmp_path / "staging"
        self.store = LocalStore(self.staging)
        self.connect()

    def configure(self, **overrides: str) -> None:
        path = self.tmp_path / "banks.toml"
        path.write_text(bank_toml(self.staging, **overrides))
        self.monkeypatch.setenv("BANKGATE_BANKS", str(path))

    def connect(self, known_hosts: str | None = None, port: int | None = None) -> None:
        conn = {
            "conn_type": "sftp",
            "host": self.sshd.host,
            "port": port or self.sshd.port,
            "login": self.sshd.user,
            "extra": {
                "private_key": self.sshd.client_key.read_text(),
                "known_hosts": self.sshd.known_hosts if known_hosts is None else known_hosts,
            },
        }
        self.monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))

    def put(self, name: str, data: bytes, *, age: float = OLD) -> Path:
        return self.sshd.put(f"/outbound/{name}", data, mtime=time.time() - age)

    def landed(self) -> dict[str, bytes]:
        """Staged files by key (ledger and temporary uploads excluded)."""
        return {
            info.key: self.store.read_bytes(info.key)
            for info in self.store.list()
            if not info.key.startswith(("bankgate-ledger/", "bankgate-partial/"))
        }

    def ledger_records(self) -> list[dict[str, Any]]:
        prefix = f"bankgate-ledger/sftp/{BANK}/pulled/"
        return [json.loads(self.store.read_bytes(info.key)) for info in self.store.list(prefix)]

    def run(self, dag_id: str, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Parse the DAG files as the scheduler would and run one DAG; (dag run, task states)."""
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(DAGS))
        assert bag.import_errors == {}
        run = bag.dags[dag_id].test(**kwargs)
        states = {(ti.task_id, ti.map_index): (ti.state, ti.try_number) for ti in run.get_task_instances()}
        return run, states


def xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key=key)
        (row,) = session.scalars(query).all()
        return XComModel.deserialize_value(row)


def day_of(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat()


def run_note(run: Any) -> str:
    """The note Airflow shows on the run (written by the plugin's listener, run_notes.py)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.get(DagRun, run.id).note or ""
