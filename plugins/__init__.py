"""Airflow-side packages the DAGs import (``bankgate.plugins``; Airflow loads the plugin by its entry point)."""

if __name__ != "bankgate.plugins":  # the folder is importable from a checkout's root under its bare name too
    raise ImportError("import bankgate.plugins, not plugins: the folder plugins/ is the package bankgate.plugins")
