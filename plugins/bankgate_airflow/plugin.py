"""bankgate's Airflow plugin (entry point ``airflow.plugins``, see setup.cfg): the run notes
listener (``run_notes``), and the Files view with its API (``files_app``)."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from plugins.bankgate_airflow import files_app, run_notes


class BankgatePlugin(AirflowPlugin):
    name = "bankgate"
    listeners: ClassVar[list[Any]] = [run_notes]
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [files_app.FASTAPI_APP]
    external_views: ClassVar[list[dict[str, Any]]] = [files_app.EXTERNAL_VIEW]
