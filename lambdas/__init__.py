"""Event entry points (AWS Lambda, Cloud Run / Functions). They never import Airflow."""

if __name__ != "bankgate.lambdas":  # the folder is importable from a checkout's root under its bare name too
    raise ImportError("import bankgate.lambdas, not lambdas: the folder lambdas/ is the package bankgate.lambdas")
