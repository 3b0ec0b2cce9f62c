"""Real parts for the pipeline tests: moto in server mode over HTTP on loopback."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
import requests

from bankgate.demo.local_aws import LocalAws


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def point_aws_at(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's boto3 clients talk to moto with fake credentials, whatever the machine has."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="module")
def gcs_emulator() -> Iterator[str]:
    """gcp-storage-emulator over HTTP on loopback, in memory."""
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


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


def s3_put_event(bucket: str, key: str, *, etag: str, sequencer: str, version: str | None = None) -> dict:
    """A direct S3 notification in AWS's own shape (moto's carry no sequencer or versionId):
    the key URL-encoded with '+' for spaces, as S3 sends it."""
    from urllib.parse import quote_plus

    obj = {"key": quote_plus(key, safe="/"), "size": 0, "eTag": etag, "sequencer": sequencer}
    if version:
        obj["versionId"] = version
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-23T09:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": obj},
            }
        ]
    }
