"""``bank_reprocess``: process files again from their archived or quarantined originals, from a
form in the Airflow UI or the Files view (staged URLs, or a bank, days and a state). Built by
``plugins/bankgate_airflow/factory.py``.
"""

from bankgate.plugins.bankgate_airflow.factory import build_reprocess_dag

bank_reprocess = build_reprocess_dag()
