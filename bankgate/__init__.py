"""bankgate: the shared core (CLI, storage, pipeline) that sits between the parsers, the
Lambdas and the Airflow DAGs."""
