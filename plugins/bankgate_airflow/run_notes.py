"""An Airflow listener that writes the notes of bankgate's operator runs, so the run list says
what each run was asked and what it did:

- ``bank_repull``: the bank and the days; once it ends, the files found, pulled and missing;
- ``bank_reprocess``: the selection; once it ends, what became of each file;
- ``bank_sla__<bank>``: the missed SLA in one sentence (what is missing, what came late), or
  that it was met.

Why a listener: a task cannot set its run's note (the Task SDK has no call for it), while the
scheduler calls these hooks with the run in its database session when the run starts and
ends, and ``dag.test()`` when it ends. The outcome comes from the report XCom the run's last
task stores even when it fails the run. A note someone wrote (the trigger form has a field
for it) is kept: only an empty note or the one this listener wrote at the start is replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow.listeners import hookimpl

from bankgate.plugins.bankgate_airflow.runs import repull_note
from bankgate.plugins.bankgate_airflow.sla import sla_note

REPULL_DAG = "bank_repull"
REPROCESS_DAG = "bank_reprocess"
SLA_PREFIX = "bank_sla__"

Note = Callable[[Mapping[str, Any], Mapping[str, Any] | None], str]


def _reprocess_note(conf: Mapping[str, Any], report: Mapping[str, Any] | None) -> str:
    from bankgate.plugins.bankgate_airflow.reprocess import note

    return note(conf, report)


def _sla_note(_conf: Mapping[str, Any], result: Mapping[str, Any] | None) -> str:
    return sla_note(result) if result else ""


def _kind(dag_id: str) -> tuple[str, str, Note] | None:
    """(task, XCom key, note) for the DAGs that get notes."""
    if dag_id == REPULL_DAG:
        return "record", "report", repull_note
    if dag_id == REPROCESS_DAG:
        return "record", "report", _reprocess_note
    if dag_id.startswith(SLA_PREFIX):
        return "check_arrivals", "result", _sla_note
    return None


def _note(dag_run: Any, ended: bool) -> None:
    if _kind(dag_run.dag_id) is None:
        return
    from sqlalchemy import inspect

    session = inspect(dag_run).session
    if session is not None:  # the scheduler's run, in its session
        _write(dag_run, session, ended)
        return
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:  # dag.test() hands over a run detached from its session
        _write(session.get(DagRun, dag_run.id), session, ended)


def _report(dag_run: Any, session: Any, task_id: str, key: str) -> Mapping[str, Any] | None:
    from airflow.models.xcom import XComModel

    query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key=key)
    row = session.scalars(query).first()
    value = XComModel.deserialize_value(row) if row is not None else None
    return value if isinstance(value, Mapping) else None


def _write(dag_run: Any, session: Any, ended: bool) -> None:
    kind = _kind(dag_run.dag_id) if dag_run is not None else None
    if kind is None:
        return
    task_id, key, note = kind
    conf = dag_run.conf or {}
    ours = note(conf, None)
    if dag_run.note and dag_run.note != ours:
        return  # someone's own note
    text = note(conf, _report(dag_run, session, task_id, key)) if ended else ours
    if text:
        dag_run.note = text


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    _note(dag_run, ended=False)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _note(dag_run, ended=True)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _note(dag_run, ended=True)
