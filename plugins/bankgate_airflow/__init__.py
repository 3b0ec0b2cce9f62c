"""Airflow glue for the bank pulls: the DAG factory (``factory``), the task bodies it calls
(``steps``), run windows and landing keys (``runs``) and connections (``connection``).

Only ``factory`` imports Airflow at module level; the rest is plain Python the tests call
directly.
"""
