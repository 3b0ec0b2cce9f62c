"""AWS Lambda: process objects landing in the staging bucket.

Accepts S3 event notifications (direct invocation), SQS messages carrying S3 events (the
usual wiring, with partial batch failures so one bad message does not redeliver the
others) and EventBridge "Object Created" events. Every record is processed independently.
An EventBridge "Scheduled Event" runs the sweep for batch jobs that never started.

Only configuration and clients live at module level (built once per container); nothing
about a request is stored outside the handler call (the product brief's lesson 3).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bankgate.config import PipelineConfig
from bankgate.events import EventError, ObjectEvent
from bankgate.pipeline import STATUSES, Outcome, Pipeline, StagedObject
from bankgate.store import split_url

logger = Logger(service="bankgate-process")
#: The sweep's metric (namespace ``bankgate``, dimension ``service``): the stack's StagedObjectAgeAlarm.
metrics = Metrics(namespace="bankgate", service="bankgate-process")
OLDEST_STAGED = "OldestStagedObjectAge"
_pipeline: Pipeline | None = None


class RetryLater(RuntimeError):
    """Another worker holds this object right now; let the queue deliver it again later."""


def pipeline() -> Pipeline:
    """The container's pipeline: config and clients only, created on first use."""
    global _pipeline
    if _pipeline is None:
        from bankgate.batch import HandOff
        from bankgate.store.s3 import default_client

        handoff = HandOff.from_env()  # big files go to the batch runner where one is configured
        _pipeline = Pipeline(PipelineConfig.from_env(), s3_client=default_client(), handoff=handoff)
    return _pipeline


def _process(event: ObjectEvent) -> Outcome:
    current = pipeline()
    _, staging_bucket, _ = split_url(current.config.staging)
    if event.bucket != staging_bucket:
        raise ValueError(f"event for bucket {event.bucket!r}, but staging is {staging_bucket!r}")
    outcome = current.process(event.object)
    logger.info(
        "object handled",
        extra={
            "source": outcome.source,
            "status": outcome.status,
            "file_type": outcome.file_type,
            "records": outcome.records,
            "reason": outcome.reason,
            "outputs": outcome.outputs,
        },
    )
    if outcome.status == "busy":
        raise RetryLater(f"{outcome.source} is being processed by another worker")
    return outcome


def s3_objects(event: dict[str, Any]) -> list[ObjectEvent]:
    """Every object-created record of an S3 notification (not just the first); keys arrive
    URL-encoded with '+' for spaces, and ``s3:TestEvent`` (sent on configuration) is ignored."""
    if event.get("Event") == "s3:TestEvent":
        return []
    if not isinstance(event.get("Records"), list):
        raise EventError("not an S3 event: no Records list")
    return [
        ObjectEvent(
            record.s3.bucket.name,
            _staged(unquote_plus(record.s3.get_object.key), record.s3.get_object, "eTag", "versionId"),
        )
        for record in S3Event(event).records
        if record.event_name.startswith("ObjectCreated")
    ]


def eventbridge_object(event: dict[str, Any]) -> ObjectEvent:
    """An EventBridge "Object Created" event (keys are not URL-encoded there)."""
    detail = S3EventBridgeNotificationEvent(event).detail
    obj = detail.object
    return ObjectEvent(detail.bucket.name, _staged(obj.key, obj, "etag", "version-id"))


def _staged(key: str, obj: Any, etag_field: str, version_field: str) -> StagedObject:
    """Optional fields read with ``get``: a data class property raises when one is absent."""
    return StagedObject(
        key=key,
        etag=str(obj.get(etag_field) or "").strip('"'),
        version=obj.get(version_field) or None,
        sequencer=str(obj.get("sequencer") or ""),
    )


def sqs_objects(body: str) -> list[ObjectEvent]:
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise EventError(f"SQS message body is not JSON: {exc}") from None
    if isinstance(event, dict) and event.get("detail-type") == "Object Created":
        return [eventbridge_object(event)]
    return s3_objects(event)


def _sqs_record(record: SQSRecord) -> list[str]:
    logger.set_correlation_id(record.message_id)  # every log line of this message carries it
    return [_process(event).status for event in sqs_objects(record.body)]


def resubmit_stuck() -> dict[str, Any]:
    """The scheduled sweep (an EventBridge schedule): hand-offs whose batch job never started
    are submitted again (``Pipeline.resubmit_stuck``), and the age of the oldest staged object
    is published as the metric ``bankgate/OldestStagedObjectAge`` (CloudWatch's embedded metric
    format, in the log: no PutMetricData call or permission), which the stack alarms on."""
    current = pipeline()
    outcomes = current.resubmit_stuck()
    resubmitted = [o.source for o in outcomes if o.reason.startswith("resubmitted")]
    oldest = round(current.oldest_staged_seconds(), 1)
    metrics.add_metric(name=OLDEST_STAGED, unit=MetricUnit.Seconds, value=oldest)
    metrics.flush_metrics()
    logger.info("stuck hand-offs swept", extra={"looked_at": len(outcomes), "resubmitted": resubmitted})
    return {"swept": len(outcomes), "resubmitted": resubmitted, "oldest_staged_seconds": oldest}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("detail-type") == "Scheduled Event":
        return resubmit_stuck()
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:sqs":
        processor = BatchProcessor(event_type=EventType.SQS)
        response = process_partial_response(
            event=event, record_handler=_sqs_record, processor=processor, context=context
        )
        return dict(response)  # a plain dict, as every other path returns (not Powertools' TypedDict)
    events = [eventbridge_object(event)] if event.get("detail-type") == "Object Created" else s3_objects(event)
    outcomes, failures = [], []
    for item in events:  # one bad record must not stop the others
        try:
            outcomes.append(_process(item).status)
        except Exception as exc:
            logger.exception("object failed", extra={"key": item.object.key})
            failures.append(f"{item.object.key}: {exc}")
    if failures:
        # Lambda retries the whole event; the objects already handled are no-ops then (ledger).
        raise RuntimeError(f"{len(failures)} of {len(events)} objects failed: " + "; ".join(failures))
    counts: dict[str, int] = {status: outcomes.count(status) for status in STATUSES if status != "busy"}  # busy raised
    if not counts["handed_off"]:
        del counts["handed_off"]  # only a deployment with a batch runner hands off
    return {"objects": len(outcomes), **counts, "statuses": outcomes}
