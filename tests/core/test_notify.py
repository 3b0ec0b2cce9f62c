"""Alerts: always logged, posted to a real local webhook, published to SNS on moto; a failing
channel is reported without leaking the webhook's token."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from bankgate.notify import Alert, Notifier, NotifyError

ALERT = Alert("arrival_sla_missed", "first_harbor", "0 of 2 files by 09:00", {"day": "2025-03-10"})
TOKEN = "T000-secret-token-4f1c"


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []  # noqa: RUF012 - shared with the test, reset per server
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[type[_Hook]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_port}/hooks/{TOKEN}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def test_log_only_when_nothing_is_configured(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "bankgate.alerts")
    assert Notifier.from_env({}).send(ALERT) == ["log"]
    (record,) = caplog.records
    assert "ALERT arrival_sla_missed bank=first_harbor: 0 of 2 files by 09:00" in record.getMessage()


def test_webhook_gets_the_alert_as_json(webhook: type[_Hook], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    notifier = Notifier.from_env({"BANKGATE_ALERT_WEBHOOK": webhook.url})  # type: ignore[attr-defined]
    assert notifier.send(ALERT) == ["log", "webhook"]
    ((path, body),) = webhook.received
    assert path == f"/hooks/{TOKEN}"
    assert json.loads(body) == {
        "source": "bankgate",
        "kind": "arrival_sla_missed",
        "bank": "first_harbor",
        "summary": "0 of 2 files by 09:00",
        "details": {"day": "2025-03-10"},
    }
    assert notifier.channels == ["log", "webhook 127.0.0.1"]
    assert TOKEN not in caplog.text


def test_a_failing_webhook_is_raised_after_logging_without_the_token(
    webhook: type[_Hook], caplog: pytest.LogCaptureFixture
) -> None:
    webhook.status = 500
    notifier = Notifier(webhook_url=webhook.url)  # type: ignore[attr-defined]
    with pytest.raises(NotifyError, match=r"logged but not delivered: webhook: .*answered 500") as info:
        notifier.send(ALERT)
    assert "ALERT arrival_sla_missed" in caplog.text  # the alert itself still reached the log
    assert TOKEN not in str(info.value) and TOKEN not in caplog.text


def test_an_unreachable_webhook_names_only_the_host(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    notifier = Notifier(webhook_url=f"http://127.0.0.1:{port}/hooks/{TOKEN}", timeout=2)
    with pytest.raises(NotifyError, match=r"POST to 127\.0\.0\.1 failed") as info:
        notifier.send(ALERT)
    assert TOKEN not in str(info.value) and TOKEN not in caplog.text


def test_webhook_must_be_http() -> None:
    with pytest.raises(ValueError, match="BANKGATE_ALERT_WEBHOOK"):
        Notifier(webhook_url="file:///etc/passwd")


@pytest.mark.integration  # starts its own moto server
def test_sns_on_moto() -> None:
    boto3 = pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        args = {
            "endpoint_url": f"http://127.0.0.1:{port}",
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        sns, sqs = boto3.client("sns", **args), boto3.client("sqs", **args)
        topic = sns.create_topic(Name="bankgate-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        notifier = Notifier.from_env({"BANKGATE_ALERT_SNS_TOPIC": topic}, sns_client=sns)
        assert notifier.send(ALERT) == ["log", "sns"]
        (message,) = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
        envelope = json.loads(message["Body"])
        assert envelope["Subject"] == "bankgate: arrival_sla_missed (first_harbor)"
        assert json.loads(envelope["Message"])["summary"] == "0 of 2 files by 09:00"
    finally:
        server.stop()
