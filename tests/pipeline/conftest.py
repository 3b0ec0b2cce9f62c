"""Real parts for the pipeline tests: moto in server mode over HTTP on loopback."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests


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


@dataclass
class Aws:
    url: str
    s3: Any
    sqs: Any
    queue_url: str
    staging: str
    archive: str
    processed: str

    def drain(self, handler, *, rounds: int = 10) -> list[dict]:
        """Feed queued messages to ``handler`` as Lambda's SQS event source does: batches of
        up to 10, failed items left on the queue (visible again after the timeout)."""
        responses = []
        for _ in range(rounds):
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                break
            responses.append(self.deliver(handler, messages))
        return responses

    def deliver(self, handler, messages: list[dict]) -> dict:
        event = {"Records": [sqs_record(m) for m in messages]}
        response = handler(event, LambdaContext())
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return response

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        got = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for item in got.get("Contents", []))


def sqs_record(message: dict) -> dict:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:staging-events",
        "awsRegion": "us-east-1",
    }


class LambdaContext:
    function_name = "bankgate-process"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bankgate-process"
    aws_request_id = "req"

    def __init__(self) -> None:
        self.aws_request_id = uuid.uuid4().hex

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Fresh buckets and a queue wired with a real S3 -> SQS notification configuration."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
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
    yield Aws(moto_url, s3, sqs, queue_url, staging, archive, processed)
