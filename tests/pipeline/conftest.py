"""The pipeline tests' stores: fresh buckets on moto (S3 -> SQS wired as deployed) and on the
GCS emulator, with the pipeline configured for them (the servers: ``tests/fixtures/clouds.py``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
import requests

from bankgate.demo.local_aws import LocalAws
from tests.fixtures.clouds import point_aws_at


@dataclass
class Aws(LocalAws):
    """The demo's local AWS plus one test's fresh buckets."""

    staging: str = ""
    archive: str = ""
    processed: str = ""


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Fresh buckets and a queue wired with a real S3 -> SQS notification configuration."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    point_aws_at(moto_url, monkeypatch)
    s3 = boto3.client("s3")
    sqs = boto3.client("sqs")
    suffix = uuid.uuid4().hex[:8]
    staging, archive, processed = f"staging-{suffix}", f"archive-{suffix}", f"processed-{suffix}"
    for bucket in (staging, archive, processed):
        s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName=f"staging-events-{suffix}", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=staging,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "inbound/"}]}},
                }
            ]
        },
    )
    routes = {
        "nacha": {"destination": f"s3://{processed}/nacha/"},
        "bai2": {"destination": f"s3://{processed}/bai2/"},
        "fixed:*": {"destination": f"s3://{processed}/fixed/", "format": "csv"},
        "*": {"destination": f"s3://{processed}/other/"},
    }
    monkeypatch.setenv("BANKGATE_STAGING", f"s3://{staging}")
    monkeypatch.setenv("BANKGATE_ARCHIVE", f"s3://{archive}/originals/")
    monkeypatch.setenv("BANKGATE_QUARANTINE", f"s3://{archive}/quarantine/")
    monkeypatch.setenv("BANKGATE_LEDGER", f"s3://{archive}/ledger/")
    monkeypatch.setenv("BANKGATE_ROUTES", json.dumps(routes))
    import lambdas.process

    monkeypatch.setattr(lambdas.process, "_pipeline", None)
    yield Aws(moto_url, s3, sqs, queue_url, staging=staging, archive=archive, processed=processed)


@pytest.fixture
def gcs(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    from bankgate.store.gcs import default_client

    client = default_client()
    suffix = uuid.uuid4().hex[:8]
    names = {"staging": f"staging-{suffix}", "archive": f"archive-{suffix}", "processed": f"processed-{suffix}"}
    for name in names.values():
        client.create_bucket(name)
    monkeypatch.setenv("BANKGATE_STAGING", f"gs://{names['staging']}")
    monkeypatch.setenv("BANKGATE_ARCHIVE", f"gs://{names['archive']}/originals/")
    monkeypatch.setenv("BANKGATE_QUARANTINE", f"gs://{names['archive']}/quarantine/")
    monkeypatch.setenv("BANKGATE_LEDGER", f"gs://{names['archive']}/ledger/")
    monkeypatch.setenv("BANKGATE_ROUTES", json.dumps({"*": {"destination": f"gs://{names['processed']}/"}}))
    import lambdas.gcs_process

    monkeypatch.setattr(lambdas.gcs_process, "_pipeline", None)
    return client, names
