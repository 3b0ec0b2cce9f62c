"""A versioned staging bucket (moto over HTTP): each event's own version is read, hashed,
copied, archived or quarantined and deleted; a late older version never overwrites a newer
one's outputs or archive, and never stays behind as the current object. Events are built in
AWS's shape (moto's carry no versionId or sequencer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bankgate.lambdas.process import handler
from demo.local_aws import LambdaContext
from tests.pipeline.events import s3_put_event

ROOT = Path(__file__).resolve().parents[2]
PAYROLL = (ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes()
BROKEN = (ROOT / "samples/nacha/payroll-amount-edited-after-controls.ach").read_bytes()
KEY = "inbound/acme/2026-11-23/payroll.ach"


@pytest.fixture
def versions(aws):
    """Two versions of one key: v1 an invalid file, v2 a valid one, and each one's event."""
    aws.s3.put_bucket_versioning(Bucket=aws.staging, VersioningConfiguration={"Status": "Enabled"})
    events = {}
    for name, body, sequencer in (("v1", BROKEN, "0062E99A88DC407460"), ("v2", PAYROLL, "0062E99A88DC4074A1")):
        put = aws.s3.put_object(Bucket=aws.staging, Key=KEY, Body=body)
        etag = put["ETag"].strip('"')
        events[name] = s3_put_event(aws.staging, KEY, etag=etag, sequencer=sequencer, version=put["VersionId"])
        events[name + "_id"] = put["VersionId"]
    return events


def staged_versions(aws) -> list[str]:
    listing = aws.s3.list_object_versions(Bucket=aws.staging)
    return [v["VersionId"] for v in listing.get("Versions", [])]


def body(aws, bucket: str, key: str) -> bytes:
    return aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_each_event_moves_its_own_version(aws, versions) -> None:
    handler(versions["v1"], LambdaContext())
    # v1 is invalid: its own bytes are quarantined under its own reason (not v2's, the current one)
    assert body(aws, aws.archive, "quarantine/acme/2026-11-23/payroll.ach") == BROKEN
    report = json.loads(body(aws, aws.archive, "quarantine/acme/2026-11-23/payroll.ach.error.json"))
    assert "total_credit" in report["reason"]
    assert staged_versions(aws) == [versions["v2_id"]]  # v1 left staging, v2 is untouched
    handler(versions["v2"], LambdaContext())
    assert body(aws, aws.archive, "originals/acme/2026-11-23/payroll.ach") == PAYROLL
    assert aws.keys(aws.processed) == ["nacha/acme/2026-11-23/payroll.ach.jsonl"]
    assert staged_versions(aws) == []


def test_a_late_older_version_never_overwrites_the_newer_one(aws, versions) -> None:
    handler(versions["v2"], LambdaContext())  # the newer version's event comes first
    assert body(aws, aws.archive, "originals/acme/2026-11-23/payroll.ach") == PAYROLL
    # v1 does not become the current object in staging once v2 is deleted: it is set aside
    # (not processed: it was superseded), its bytes kept, with the reason beside them
    assert staged_versions(aws) == []
    superseded = f"quarantine/acme/2026-11-23/payroll.ach~{versions['v1_id']}"
    assert body(aws, aws.archive, superseded) == BROKEN
    assert "superseded" in json.loads(body(aws, aws.archive, superseded + ".error.json"))["reason"]
    outputs = body(aws, aws.processed, "nacha/acme/2026-11-23/payroll.ach.jsonl")
    late = handler(versions["v1"], LambdaContext())  # then the older one's, late
    assert late["statuses"] == ["stale"]  # set aside already: superseded, not a duplicate
    assert body(aws, aws.archive, "originals/acme/2026-11-23/payroll.ach") == PAYROLL
    assert body(aws, aws.processed, "nacha/acme/2026-11-23/payroll.ach.jsonl") == outputs
    assert aws.keys(aws.archive, "quarantine/") == [superseded, superseded + ".error.json"]
    [ledger_key] = aws.keys(aws.archive, "ledger/")
    record = json.loads(body(aws, aws.archive, ledger_key))
    assert record["state"] == "done" and record["version"] == versions["v2_id"]


def test_a_stale_event_sets_its_version_aside(aws, versions) -> None:
    """An older version still in staging when its stale event comes (e.g. its newer version's
    worker died after the delete) leaves staging, set aside, not processed."""
    from bankgate.config import PipelineConfig
    from bankgate.pipeline import Pipeline

    aws.s3.delete_object(Bucket=aws.staging, Key=KEY, VersionId=versions["v2_id"])
    ledger = Pipeline(PipelineConfig.from_env()).ledger  # v2 was processed: the ledger has it
    claim = ledger.claim(f"s3://{aws.staging}/{KEY}", "0062E99A88DC4074A1", version=versions["v2_id"])
    ledger.finish(claim, state="done")
    handler(versions["v1"], LambdaContext())
    assert staged_versions(aws) == []
    assert body(aws, aws.archive, f"quarantine/acme/2026-11-23/payroll.ach~{versions['v1_id']}") == BROKEN
    assert aws.keys(aws.processed) == []
