"""Real parts for the push tests: moto in server mode over HTTP on loopback (S3, STS, IAM)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from bankgate.push.clients import parse_clients
from bankgate.push.grants import Grants
from tests.fixtures.clouds import point_aws_at

EVENTS = Path(__file__).parent / "events"
CLIENTS = {
    "clients": {
        "acme": {
            "extensions": [".ach", ".csv", ".txt"],
            "content_types": ["text/plain", "text/csv", "application/octet-stream"],
            "max_size": "64 MiB",
            "uploads_per_day": 20,
            "link_expiry": "10 min",
            "multipart_threshold": "8 MiB",
        },
        "globex": {"extensions": [".ach"], "content_types": ["text/plain"]},
        "hooli": {  # big files: the 200 MiB browser upload
            "extensions": [".csv"],
            "content_types": ["text/csv"],
            "max_size": "256 MiB",
            "multipart_threshold": "8 MiB",
        },
    }
}


def event(name: str, **changes: Any) -> dict[str, Any]:
    """A recorded API Gateway HTTP API (2.0) event from ``events/``, with top-level changes."""
    return {**json.loads((EVENTS / name).read_text()), **changes}


@dataclass
class Push:
    grants: Grants
    s3: Any
    staging: str
    archive: str


@pytest.fixture
def push(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Push]:
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    point_aws_at(moto_url, monkeypatch)
    s3, sts = boto3.client("s3", config=Config(signature_version="s3v4")), boto3.client("sts")
    suffix = uuid.uuid4().hex[:8]
    staging, archive = f"staging-{suffix}", f"archive-{suffix}"
    for bucket in (staging, archive):
        s3.create_bucket(Bucket=bucket)
    grants = Grants.open(f"s3://{staging}", f"s3://{archive}/ledger/", parse_clients(CLIENTS), s3=s3, sts=sts)
    yield Push(grants, s3, staging, archive)
