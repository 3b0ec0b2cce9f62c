"""Object-created events from S3 (direct or wrapped in SQS), EventBridge and GCS, turned
into the objects they point at.

The field's lessons in code: every record of an event is used, not just the first; keys
are URL-encoded in S3 events (``+`` is a space); ``s3:TestEvent`` messages (sent when a
notification is configured) are ignored; anything else unexpected is reported, not guessed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from bankgate.pipeline import StagedObject


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    bucket: str
    object: StagedObject


class EventError(ValueError):
    """A record that is not an object-created event we understand."""


def from_s3_record(record: Mapping[str, Any]) -> ObjectEvent | None:
    """One S3 notification record; None for records that are not object creations."""
    if not str(record.get("eventName", "")).startswith("ObjectCreated"):
        return None
    s3 = record["s3"]
    obj = s3["object"]
    return ObjectEvent(
        s3["bucket"]["name"],
        StagedObject(
            key=unquote_plus(obj["key"]),
            etag=str(obj.get("eTag", "")).strip('"'),
            version=obj.get("versionId") or None,
            sequencer=str(obj.get("sequencer", "")),
        ),
    )


def from_s3_event(event: Mapping[str, Any]) -> list[ObjectEvent]:
    """All object-created records of an S3 event (an SQS message body, or a direct invocation)."""
    if event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records")
    if not isinstance(records, list):
        raise EventError("not an S3 event: no Records list")
    return [e for e in map(from_s3_record, records) if e is not None]


def from_sqs_body(body: str) -> list[ObjectEvent]:
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise EventError(f"SQS message body is not JSON: {exc}") from None
    if isinstance(event, dict) and event.get("detail-type") == "Object Created":
        return [from_eventbridge(event)]
    return from_s3_event(event)


def from_eventbridge(event: Mapping[str, Any]) -> ObjectEvent:
    """An EventBridge "Object Created" event (keys are not URL-encoded there)."""
    detail = event["detail"]
    obj = detail["object"]
    return ObjectEvent(
        detail["bucket"]["name"],
        StagedObject(
            key=obj["key"],
            etag=str(obj.get("etag", "")).strip('"'),
            version=obj.get("version-id") or None,
            sequencer=str(obj.get("sequencer", "")),
        ),
    )


def from_gcs_cloudevent(data: Mapping[str, Any]) -> ObjectEvent:
    """``google.cloud.storage.object.v1.finalized``: the generation orders versions of a key."""
    generation = str(data.get("generation", ""))
    return ObjectEvent(
        data["bucket"],
        StagedObject(
            key=data["name"],
            etag=str(data.get("etag", "")),
            version=generation or None,
            sequencer=generation.rjust(20, "0") if generation else "",
        ),
    )
