"""The stores whose conditional writes are real, for the ledger and lease tests: a local
directory, S3 (moto over HTTP) and GCS (gcp-storage-emulator over HTTP, with GCS's generation
preconditions put in front of it: ``tests/fixtures/gcs_preconditions.py``); the last two are
integration tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from bankgate.store.base import ObjectStore
from bankgate.store.local import LocalStore
from bankgate.store.s3 import S3Store


@pytest.fixture(
    params=[
        "local",
        pytest.param("s3", marks=pytest.mark.integration),
        pytest.param("gcs", marks=pytest.mark.integration),
    ]
)
def store(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalStore(tmp_path / "ledger")
        return
    if request.param == "gcs":
        from bankgate.store.gcs import GCSStore, default_client

        monkeypatch.setenv("STORAGE_EMULATOR_HOST", request.getfixturevalue("gcs_emulator"))
        bucket = f"ledger-{time.time_ns()}"
        default_client().create_bucket(bucket)
        yield GCSStore(bucket)
        return
    url = request.getfixturevalue("moto_url")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a session with these credentials (clouds.point_aws_at)
    client = boto3.client("s3")
    bucket = f"ledger-{time.time_ns()}"
    client.create_bucket(Bucket=bucket)
    yield S3Store(bucket, client=client)
