"""A local AWS for the demo: moto's S3 and SQS over HTTP on loopback, wired as in production.

Production wiring: the staging bucket sends ``s3:ObjectCreated:*`` events under ``inbound/`` to
an SQS queue, and Lambda's SQS event source hands batches of messages to ``lambdas.process``,
deleting the ones it did not report as failed. Here moto plays S3 and SQS (the notification is
moto's own, not simulated) and :meth:`LocalAws.drain` plays the event source mapping.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
#: Credentials moto accepts; set only for this process, never written anywhere.
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_DEFAULT_REGION": REGION,
}

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LambdaContext:
    """The part of Lambda's context object the handler reads (Powertools logs these fields)."""

    function_name = "bankgate-process"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bankgate-process"

    def __init__(self) -> None:
        self.aws_request_id = uuid.uuid4().hex

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def sqs_event(messages: Sequence[Mapping[str, Any]], queue: str = "staging-events") -> dict[str, Any]:
    """The event Lambda's SQS event source builds from received messages."""
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "0",
                "SenderId": "s3",
                "ApproximateFirstReceiveTimestamp": "0",
            },
            "messageAttributes": {},
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
            "awsRegion": REGION,
        }
        for m in messages
    ]
    return {"Records": records}


@dataclass
class LocalAws:
    url: str
    s3: Any
    sqs: Any
    queue_url: str
    delivered: int = field(default=0, init=False)  # messages handed to a handler so far

    def create_buckets(self, *names: str) -> None:
        for name in names:
            self.s3.create_bucket(Bucket=name)

    def notify_queue(self, bucket: str, prefix: str) -> None:
        """Send object-created events under ``prefix`` of ``bucket`` to the queue."""
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": arn["QueueArn"],
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                    }
                ]
            },
        )

    def drain(self, handler: Handler, *, rounds: int = 100) -> list[dict[str, Any]]:
        """Feed queued messages to ``handler`` in batches of up to 10, as the event source
        mapping does, until the queue is empty; returns the handler's responses."""
        responses = []
        for _ in range(rounds):
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                break
            responses.append(self.deliver(handler, messages))
        return responses

    def deliver(self, handler: Handler, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """One batch: reported failures become visible again at once, the rest are deleted."""
        response = handler(sqs_event(messages), LambdaContext())
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        self.delivered += len(messages)
        return response

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def export(self, bucket: str, target: Path) -> int:
        """Copy a bucket into ``target/<key>`` so its objects can be opened with local tools."""
        count = 0
        for key in self.keys(bucket):
            path = target / key
            path.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(path))
            count += 1
        return count


@contextmanager
def local_aws(queue: str = "staging-events") -> Iterator[LocalAws]:
    """moto's server on a free loopback port, this process's AWS settings pointed at it."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server._server.server_port  # type: ignore[union-attr]  # port 0: the OS picked a free one
    url = f"http://127.0.0.1:{port}"
    saved = {name: os.environ.get(name) for name in (*FAKE_ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE")}
    os.environ.update({**FAKE_ENV, "AWS_ENDPOINT_URL": url})
    os.environ.pop("AWS_PROFILE", None)
    try:
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        yield LocalAws(url, boto3.client("s3"), sqs, queue_url)
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
