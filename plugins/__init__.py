"""Airflow-side packages the DAGs import (``plugins/`` doubles as Airflow's plugins folder)."""
