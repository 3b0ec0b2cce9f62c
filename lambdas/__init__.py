"""Event entry points (AWS Lambda, Cloud Run / Functions). They never import Airflow."""
