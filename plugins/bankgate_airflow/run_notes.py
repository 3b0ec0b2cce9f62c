"""An Airflow listener that writes each ``bank_repull`` run's note: the bank and the days.

Why a listener: a task cannot set its run's note (the Task SDK has no call for it), while the
scheduler calls these hooks with the run in its database session when the run starts, and
``dag.test()`` when it ends. A note someone already wrote (the trigger form has a field for
it) is kept.
"""

from __future__ import annotations

from typing import Any

from airflow.listeners import hookimpl

from plugins.bankgate_airflow.runs import repull_note

REPULL_DAG = "bank_repull"


def _note(dag_run: Any) -> None:
    if dag_run.dag_id != REPULL_DAG:
        return
    from sqlalchemy import inspect

    if inspect(dag_run).session is not None:  # the scheduler's run, in its session
        _write(dag_run)
        return
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:  # dag.test() hands over a run detached from its session
        _write(session.get(DagRun, dag_run.id))


def _write(dag_run: Any) -> None:
    if dag_run is not None and not dag_run.note:
        dag_run.note = repull_note(dag_run.conf or {})


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    _note(dag_run)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _note(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _note(dag_run)
