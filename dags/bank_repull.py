"""``bank_repull``: re-pull a bank's files for a range of days, from a form in the Airflow UI
(bank, first day, last day, force). Built by ``plugins/bankgate_airflow/factory.py``.
"""

from bankgate.plugins.bankgate_airflow.factory import build_repull_dag

bank_repull = build_repull_dag()
