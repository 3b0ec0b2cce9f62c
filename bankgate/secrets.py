"""Secret references: where a key or passphrase comes from, never the secret in config.

``secretsmanager:NAME`` (AWS Secrets Manager), ``file:PATH``, ``env:NAME``, or the value
itself (for local runs). Resolved once per container and never logged.
"""

from __future__ import annotations

import os
from pathlib import Path


def resolve_secret(reference: str) -> str:
    if reference.startswith("secretsmanager:"):
        import boto3

        response = boto3.client("secretsmanager").get_secret_value(SecretId=reference.split(":", 1)[1])
        return response.get("SecretString") or response["SecretBinary"].decode()
    if reference.startswith("file:"):
        return Path(reference.split(":", 1)[1]).read_text()
    if reference.startswith("env:"):
        return os.environ[reference.split(":", 1)[1]]
    return reference
