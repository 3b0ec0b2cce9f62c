"""Bank pulls: one ``bank_pull__<bank>`` DAG per bank in the bank config (``BANKGATE_BANKS``,
default ``samples/banks.toml``), and a ``bank_sla__<bank>`` arrival check for each bank with an
arrival SLA. Built by ``plugins/bankgate_airflow/factory.py``; see each DAG's docs in the UI.
"""

from bankgate.plugins.bankgate_airflow.factory import build_bank_dags

globals().update(build_bank_dags())
