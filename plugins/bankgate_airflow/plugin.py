"""bankgate's Airflow plugin (entry point ``airflow.plugins``, see setup.cfg): the run notes
listener (``run_notes``), and the Files view with its API (``files_app``)."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from bankgate.plugins.bankgate_airflow import files_app, run_notes


class BankgatePlugin(AirflowPlugin):
    name = "bankgate"
    # AirflowPlugin declares these as instance attributes
    listeners: list[Any] = [run_notes]  # noqa: RUF012
    fastapi_apps: list[dict[str, Any]] = [files_app.FASTAPI_APP]  # noqa: RUF012
    external_views: list[dict[str, Any]] = [files_app.EXTERNAL_VIEW]  # noqa: RUF012
