"""Event parsing: every record, decoded keys, test events ignored (real event shapes)."""

from __future__ import annotations

import json

import pytest

from bankgate.events import EventError, from_gcs_cloudevent
from bankgate.lambdas.process import eventbridge_object, s3_objects, sqs_objects


def s3_record(key: str, name: str = "ObjectCreated:Put", **extra: str) -> dict:
    return {"eventName": name, "s3": {"bucket": {"name": "staging"}, "object": {"key": key, **extra}}}


def test_all_records_are_used_and_keys_decoded() -> None:
    event = {
        "Records": [
            s3_record("inbound/acme/pay+roll%2B1.ach", eTag='"abc"', sequencer="0A"),
            s3_record("inbound/acme/gone.ach", "ObjectRemoved:Delete"),
            s3_record("inbound/acme/caf%C3%A9.bai", versionId="v2"),
        ]
    }
    objects = s3_objects(event)
    assert [o.object.key for o in objects] == ["inbound/acme/pay roll+1.ach", "inbound/acme/café.bai"]
    assert objects[0].object.etag == "abc" and objects[0].object.sequencer == "0A"
    assert objects[1].object.version == "v2"


def test_test_events_and_garbage() -> None:
    assert s3_objects({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "staging"}) == []
    assert sqs_objects(json.dumps({"Event": "s3:TestEvent"})) == []
    with pytest.raises(EventError):
        sqs_objects("not json")
    with pytest.raises(EventError):
        s3_objects({"hello": "world"})


def test_eventbridge_and_gcs() -> None:
    bridge = {
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {"bucket": {"name": "staging"}, "object": {"key": "inbound/a b.ach", "etag": "e", "sequencer": "1"}},
    }
    assert eventbridge_object(bridge).object.key == "inbound/a b.ach"  # not URL-encoded in EventBridge
    assert sqs_objects(json.dumps(bridge))[0].bucket == "staging"
    gcs = from_gcs_cloudevent({"bucket": "staging", "name": "inbound/x.ach", "generation": "1700000000000001"})
    assert gcs.object.version == "1700000000000001" and gcs.object.sequencer == "00001700000000000001"
