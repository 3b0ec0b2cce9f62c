"""S3 event order by AWS's rule (left-pad the shorter sequencer with zeros, then compare), with
events built in AWS's own shape: moto's notifications carry no sequencer."""

from __future__ import annotations

import json
from pathlib import Path

from bankgate.cli import main
from bankgate.lambdas.process import handler
from demo.local_aws import LambdaContext
from tests.pipeline.events import s3_put_event

ROOT = Path(__file__).resolve().parents[2]
PAYROLL = (ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes()
KEY = "inbound/acme/2026-11-23/payroll.ach"


def put(aws, body: bytes, key: str = KEY) -> str:
    aws.s3.put_object(Bucket=aws.staging, Key=key, Body=body)
    return aws.s3.head_object(Bucket=aws.staging, Key=key)["ETag"].strip('"')


def deliver(aws, etag: str, sequencer: str, key: str = KEY) -> None:
    handler(s3_put_event(aws.staging, key, etag=etag, sequencer=sequencer), LambdaContext())


def ledger_record(aws) -> dict:
    [key] = aws.keys(aws.archive, "ledger/")
    return json.loads(aws.s3.get_object(Bucket=aws.archive, Key=key)["Body"].read())


def test_an_unversioned_reupload_after_processing_is_processed(aws) -> None:
    """The re-upload's sequencer is one digit longer: as strings "FF..." > "01...", but padded
    it is the later event."""
    deliver(aws, put(aws, PAYROLL), "FFFFFFFFFFFFFFFF")
    assert aws.keys(aws.staging) == []
    edited = PAYROLL.replace(b"ACME", b"ACMF", 1)
    deliver(aws, put(aws, edited), "10000000000000000")
    assert aws.keys(aws.staging) == []  # processed, not left behind as "stale"
    archived = aws.s3.get_object(Bucket=aws.archive, Key="originals/acme/2026-11-23/payroll.ach")["Body"].read()
    assert archived == edited
    assert ledger_record(aws)["sequencer"] == "10000000000000000"


def test_a_cli_reprocess_does_not_make_the_next_upload_stale(aws, capsys) -> None:
    put(aws, PAYROLL)
    assert main(["process", f"s3://{aws.staging}/{KEY}"]) == 0  # a manual run: no event, no sequencer
    assert json.loads(capsys.readouterr().out)["status"] == "processed"
    edited = PAYROLL.replace(b"ACME", b"ACMF", 1)
    deliver(aws, put(aws, edited), "0055AED6DCD90281E5")  # a real sequencer, after the manual run
    assert aws.keys(aws.staging) == []
    archived = aws.s3.get_object(Bucket=aws.archive, Key="originals/acme/2026-11-23/payroll.ach")["Body"].read()
    assert archived == edited


def test_a_direct_invocation_counts_each_outcome_apart(aws) -> None:
    """One S3 notification with three records: an event for a version already replaced, the
    current one, and that one again (at-least-once)."""
    old = put(aws, PAYROLL)
    new = put(aws, PAYROLL.replace(b"ACME", b"ACMF", 1))
    records = [
        s3_put_event(aws.staging, KEY, etag=etag, sequencer=sequencer)["Records"][0]
        for etag, sequencer in ((old, "0055AED6DCD90281E5"), (new, "0055AED6DCD90281E6"), (new, "0055AED6DCD90281E6"))
    ]
    response = handler({"Records": records}, LambdaContext())
    assert response == {
        "objects": 3,
        "processed": 1,
        "quarantined": 0,
        "duplicate": 1,
        "stale": 1,
        "missing": 0,
        "statuses": ["stale", "processed", "duplicate"],
    }
