"""Failing a task for good: what the Airflow glue raises when retrying cannot help.

Its own small module so the task bodies of every DAG (pulls, batches, re-pull and reprocess
forms, SLA checks) share it without importing one another: ``steps`` must stay out of DAG
parsing (``tests/dags/test_dagbag.py``), and Airflow itself is imported only when a task fails.
"""

from __future__ import annotations

from typing import NoReturn


def fail_task(message: str) -> NoReturn:
    """Fail the task without retries: retrying cannot fix a host key, a credential, a config
    or a form's mistake."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message) from None  # the message says it all: no chained traceback
