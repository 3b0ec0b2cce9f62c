"""Alerts (a missed arrival SLA, a refused file): always logged, and sent on to a webhook or an
SNS topic when one is configured.

The log line comes first and always, so an alert survives a dead webhook; a channel that fails
is still tried after the others and then raised, so the task that alerted fails and retries
rather than losing the alert quietly. Webhook URLs often carry a token (Slack, Teams), so only
the host is ever logged.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

from bankgate import settings

__all__ = ["Alert", "Notifier", "NotifyError"]

log = logging.getLogger("bankgate.alerts")

TIMEOUT = 10.0


class NotifyError(RuntimeError):
    """An alert was logged but could not be delivered to every configured channel."""


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # e.g. "arrival_sla_missed", "file_too_large"
    bank: str
    summary: str  # one line a person reads first
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps({"source": "bankgate", **asdict(self)}, sort_keys=True, default=str).encode()


class Notifier:
    """Deliver alerts. Channels are configured at construction (``from_env`` takes
    them from the settings); clients are injected or built
    only when a channel needs them."""

    def __init__(
        self,
        *,
        webhook_url: str = "",
        sns_topic_arn: str = "",
        sns_client: Any = None,
        urlopen: Callable[..., Any] = urllib.request.urlopen,
        timeout: float = TIMEOUT,
    ) -> None:
        if webhook_url and urlparse(webhook_url).scheme not in ("http", "https"):
            raise ValueError("BANKGATE_ALERT_WEBHOOK: an alert webhook must be an http(s) URL")
        self.webhook_url = webhook_url
        self.sns_topic_arn = sns_topic_arn
        self._sns_client = sns_client
        self._urlopen = urlopen
        self.timeout = timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> Notifier:
        """The channels from ``BANKGATE_ALERT_WEBHOOK`` / ``_SNS_TOPIC`` (``bankgate/settings.py``)."""
        return cls(**settings.alert_channels(env), **kwargs)

    @property
    def _host(self) -> str:
        return urlparse(self.webhook_url).hostname or "?"

    @property
    def channels(self) -> list[str]:
        names = ["log"]
        if self.webhook_url:
            names.append(f"webhook {self._host}")
        if self.sns_topic_arn:
            names.append(f"sns {self.sns_topic_arn}")
        return names

    def send(self, alert: Alert) -> list[str]:
        """Log the alert, then deliver it to every configured channel; the channels reached."""
        log.warning(
            "ALERT %s bank=%s: %s %s", alert.kind, alert.bank, alert.summary, json.dumps(alert.details, default=str)
        )
        reached, failures = ["log"], []
        for name, deliver in (("webhook", self._webhook), ("sns", self._sns)):
            try:
                if deliver(alert):
                    reached.append(name)
            except Exception as exc:  # every channel is tried; all failures are raised below
                failures.append(
                    f"{name}: {exc}" if isinstance(exc, NotifyError) else f"{name}: {type(exc).__name__}: {exc}"
                )
                log.error("alert %s for bank %s not delivered by %s: %s", alert.kind, alert.bank, name, exc)
        if failures:
            raise NotifyError(
                f"alert {alert.kind!r} for bank {alert.bank!r} logged but not delivered: " + "; ".join(failures)
            )
        return reached

    def _webhook(self, alert: Alert) -> bool:
        if not self.webhook_url:
            return False
        request = urllib.request.Request(
            self.webhook_url, data=alert.to_json(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with self._urlopen(request, timeout=self.timeout) as response:
                status = response.status
        except OSError as exc:  # URLError and HTTPError; their text can echo the URL, so say only the host
            status = getattr(exc, "code", None)
            if status is None:
                raise NotifyError(f"POST to {self._host} failed ({type(exc).__name__})") from None
        if not 200 <= status < 300:
            raise NotifyError(f"POST to {self._host} answered {status}")
        return True

    def _sns(self, alert: Alert) -> bool:
        if not self.sns_topic_arn:
            return False
        if self._sns_client is None:
            import boto3

            self._sns_client = boto3.client("sns")
        self._sns_client.publish(
            TopicArn=self.sns_topic_arn,
            Subject=f"bankgate: {alert.kind} ({alert.bank})"[:100],
            Message=alert.to_json().decode(),
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": alert.kind},
                "bank": {"DataType": "String", "StringValue": alert.bank},
            },
        )
        return True
