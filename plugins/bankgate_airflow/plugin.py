"""bankgate's Airflow plugin (entry point ``airflow.plugins``, see setup.cfg)."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from plugins.bankgate_airflow import run_notes


class BankgatePlugin(AirflowPlugin):
    name = "bankgate"
    listeners: list[Any] = [run_notes]  # noqa: RUF012 - AirflowPlugin declares an instance attribute
