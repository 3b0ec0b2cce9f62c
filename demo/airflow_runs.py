"""Run the real bank-pull DAGs for the demo: Airflow 3 with SQLite, ``dag.test()`` in this process.

Airflow reads its configuration once, when first imported, so :func:`configure` must run
before anything imports ``airflow``; this module imports it only inside functions. The DAGs are
the repository's ``dags/`` files parsed by a DagBag exactly as the scheduler would, the bank
config comes from ``BANKGATE_BANKS`` and each bank's SFTP connection from an
``AIRFLOW_CONN_<ID>`` variable, the way a deployment would set them through a secrets backend.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DAGS = Path(__file__).resolve().parents[2] / "dags"


def configure(home: Path, banks_toml: Path) -> None:
    """Point Airflow at a throwaway home with SQLite and this repository's DAGs."""
    if "airflow" in sys.modules:
        raise RuntimeError("Airflow was imported before the demo could configure it")
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "BANKGATE_BANKS": str(banks_toml),
        }
    )


def set_sftp_connection(conn_id: str, host: str, port: int, login: str, private_key: str, known_hosts: str) -> None:
    """An sftp connection with the server's host key pinned, as ``AIRFLOW_CONN_<ID>`` JSON."""
    conn = {
        "conn_type": "sftp",
        "host": host,
        "port": port,
        "login": login,
        "extra": {"private_key": private_key, "known_hosts": known_hosts},
    }
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Send everything written to stdout/stderr (Airflow's task logs, Powertools' JSON lines)
    to ``log`` at the file-descriptor level, so the demo's own summary stays readable."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def init_db() -> None:
    from airflow.utils import db

    db.initdb()


def run_dag(dag_id: str) -> dict[str, Any]:
    """Parse the DAG folder, run one DAG with ``dag.test()``; returns its state, the task
    states and the ``record`` task's report."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    run = bag.dags[dag_id].test()
    states = {
        f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id: str(ti.state)
        for ti in run.get_task_instances()
    }
    return {"state": str(run.state), "tasks": states, "report": xcom(run, "record")}


def xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    """A task's XCom value from the metadata database (None if it pushed none)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key=key)
        rows = session.scalars(query).all()
        return XComModel.deserialize_value(rows[0]) if rows else None


def report_lines(report: Mapping[str, Any] | None) -> list[str]:
    """A pull report as short human lines."""
    if not report:
        return ["no report (the run failed before its record task; see the Airflow log)"]
    lines = []
    for item in report.get("pulled", []):
        lines.append(f"pulled   {item['path']} -> {item['url']} ({item['size']:,} bytes; remote {item['post_pull']})")
    for path, why in sorted((report.get("waiting") or {}).items()):
        lines.append(f"waiting  {path}: {why}")
    for path, why in sorted((report.get("skipped") or {}).items()):
        lines.append(f"skipped  {path}: {why}")
    for path in report.get("too_large", []):
        lines.append(f"too large {path}")
    for path, why in sorted((report.get("failed") or {}).items()):
        lines.append(f"FAILED   {path}: {why}")
    for path, why in sorted((report.get("post_pull_errors") or {}).items()):
        lines.append(f"POST-PULL FAILED {path}: {why}")
    if report.get("already_pulled"):
        lines.append(f"{report['already_pulled']} file(s) already pulled by an earlier run: not pulled again")
    return lines or ["nothing new on the server"]
