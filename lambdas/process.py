"""AWS Lambda: process objects landing in the staging bucket.

Accepts S3 event notifications (direct invocation), SQS messages carrying S3 events (the
usual wiring, with partial batch failures so one bad message does not redeliver the
others) and EventBridge "Object Created" events. Every record is processed independently.

Only configuration and clients live at module level (built once per container); nothing
about a request is stored outside the handler call (lesson 3).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bankgate.config import PipelineConfig
from bankgate.events import ObjectEvent, from_eventbridge, from_s3_event, from_sqs_body
from bankgate.pipeline import Outcome, Pipeline
from bankgate.store import split_url

logger = Logger(service="bankgate-process")
_pipeline: Pipeline | None = None


class RetryLater(RuntimeError):
    """Another worker holds this object right now; let the queue deliver it again later."""


def pipeline() -> Pipeline:
    """The container's pipeline: config and clients only, created on first use."""
    global _pipeline
    if _pipeline is None:
        import boto3

        _pipeline = Pipeline(PipelineConfig.from_env(), s3_client=boto3.client("s3"))
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


def _sqs_record(record: SQSRecord) -> list[str]:
    logger.set_correlation_id(record.message_id)  # every log line of this message carries it
    return [_process(event).status for event in from_sqs_body(record.body)]


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:sqs":
        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=event, record_handler=_sqs_record, processor=processor, context=context)
    events = [from_eventbridge(event)] if event.get("detail-type") == "Object Created" else from_s3_event(event)
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
    return {"processed": len(outcomes), "statuses": outcomes}
