"""A pushed file goes through the one intake path: processed, or quarantined when its bytes are
not what the client declared; its upload record takes the outcome."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import requests

from bankgate.config import PipelineConfig
from bankgate.ledger.processing import LedgerRecord
from bankgate.pipeline import Pipeline, StagedObject
from bankgate.push import records
from bankgate.push.clients import parse_clients
from bankgate.push.grants import Grants
from tests.fixtures.pipeline import Aws
from tests.push.conftest import CLIENTS
from tests.test_cli import run_main

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "nacha" / "payroll-ppd-ccd.ach"


def push_and_process(
    aws: Aws, declared: bytes, sent: bytes, method: str, size: int = -1
) -> tuple[str, records.UploadRecord]:
    grants = Grants.open(f"s3://{aws.staging}", f"s3://{aws.archive}/ledger/", parse_clients(CLIENTS), s3=aws.s3)
    size = len(sent) if size < 0 else size
    body = {"name": "payroll.ach", "size": size, "content_type": "text/plain", "method": method}
    answer = grants.create("acme", body | {"sha256": hashlib.sha256(declared).hexdigest()})
    if method == "post":
        files = {"file": ("payroll.ach", sent)}
        assert requests.post(answer["url"], data=answer["fields"], files=files, timeout=10).status_code == 204
    else:
        assert requests.put(answer["url"], data=sent, headers=answer["headers"], timeout=10).status_code == 200
    outcome = Pipeline(PipelineConfig.from_env()).process(StagedObject(answer["key"]))
    record = records.get(grants.ledger, grants.ledger_prefix, "acme", answer["upload_id"])
    assert record is not None
    return outcome.status + ": " + outcome.reason, record


def test_a_pushed_file_is_processed_and_its_record_says_so(aws: Aws) -> None:
    data = SAMPLE.read_bytes()
    status, record = push_and_process(aws, data, data, "put")
    assert status == "processed: "
    assert record.state == "processed" and [h["state"] for h in record.history] == ["processed"]
    # the push records share the ledger root; the processing ledger lists its own records only
    (processed,) = Pipeline(PipelineConfig.from_env()).ledger.records()
    assert processed.source == record.staged_url and processed.state == "done"


def test_bytes_other_than_the_declared_ones_are_quarantined_with_that_reason(aws: Aws) -> None:
    data = SAMPLE.read_bytes()
    tampered = data.replace(b"\n", b"\r\n")  # still a valid NACHA file, but not the declared bytes
    status, record = push_and_process(aws, data, tampered, "post")  # S3 checks no SHA-256 on a POST
    assert status.startswith("quarantined: pushed file 'payroll.ach' (upload ")
    assert f"SHA-256 is {hashlib.sha256(tampered).hexdigest()}" in status
    assert record.state == "quarantined" and record.reason == status.removeprefix("quarantined: ")
    listed = aws.s3.list_objects_v2(Bucket=aws.archive, Prefix="quarantine/")["Contents"]
    report = next(o["Key"] for o in listed if o["Key"].endswith(".error.json"))
    body = json.loads(aws.s3.get_object(Bucket=aws.archive, Key=report)["Body"].read())
    assert body["error"] == "ChecksumMismatch" and body["sha256"] == hashlib.sha256(tampered).hexdigest()


def test_altered_bytes_that_also_fail_validation_are_quarantined_for_the_checksum_first(aws: Aws) -> None:
    data = SAMPLE.read_bytes()
    tampered = b"9" + data[1:]  # the same size, and no longer a valid NACHA file
    status, record = push_and_process(aws, data, tampered, "post")
    assert status.startswith("quarantined: pushed file 'payroll.ach' (upload ")
    assert f"SHA-256 is {hashlib.sha256(tampered).hexdigest()}, but the client declared " in status
    assert "; its content fails too: " in status  # the validation's reason follows
    listed = aws.s3.list_objects_v2(Bucket=aws.archive, Prefix="quarantine/")["Contents"]
    report = next(o["Key"] for o in listed if o["Key"].endswith(".error.json"))
    assert json.loads(aws.s3.get_object(Bucket=aws.archive, Key=report)["Body"].read())["error"] == "ChecksumMismatch"
    assert record.state == "quarantined"


def test_another_size_than_the_declared_one_is_quarantined(aws: Aws) -> None:
    data = SAMPLE.read_bytes()
    status, record = push_and_process(aws, data, data, "put", size=len(data) - 1)  # S3 signs no length on a PUT
    assert status.endswith(f": {len(data)} bytes arrived, but the client declared {len(data) - 1}")
    assert record.state == "quarantined"


def processing_record(aws: Aws, record: records.UploadRecord) -> LedgerRecord:
    found = Pipeline(PipelineConfig.from_env()).ledger.get(record.staged_url)
    assert found is not None
    return found[0]


def shown(aws: Aws, record: records.UploadRecord) -> tuple[str, dict[str, Any]]:
    """``bankgate ledger show URL``: the text, and the JSON's last stage."""
    ledger = f"s3://{aws.archive}/ledger/"
    code, text, _ = run_main("ledger", "show", record.staged_url, "--ledger", ledger)
    assert code == 0
    code, raw, _ = run_main("ledger", "show", record.staged_url, "--ledger", ledger, "--output", "json")
    (journey,) = json.loads(raw)
    return text.decode(), journey["stages"][-1]


def test_the_processing_record_and_the_journey_show_the_declared_sha256(aws: Aws) -> None:
    data = SAMPLE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    _, record = push_and_process(aws, data, data, "put")
    processed = processing_record(aws, record)
    assert (processed.declared_sha256, processed.sha256) == (digest, digest)
    text, last = shown(aws, record)
    assert last["name"] == "processed" and last["sha256"] == digest
    assert last["detail"]["declared_sha256"] == digest
    assert last["detail"]["checksum"] == "received bytes match the declared SHA-256"
    assert f"processed  sha256 {digest}" in text and f"declared_sha256: {digest}" in text


def test_the_journey_of_a_tampered_push_shows_declared_against_received(aws: Aws) -> None:
    data = SAMPLE.read_bytes()
    tampered = data.replace(b"\n", b"\r\n")
    declared, received = hashlib.sha256(data).hexdigest(), hashlib.sha256(tampered).hexdigest()
    _, record = push_and_process(aws, data, tampered, "post")
    processed = processing_record(aws, record)
    assert (processed.state, processed.declared_sha256, processed.sha256) == ("quarantined", declared, received)
    text, last = shown(aws, record)
    assert (last["name"], last["sha256"], last["detail"]["declared_sha256"]) == ("quarantined", received, declared)
    assert last["detail"]["checksum"] == "received bytes differ from the declared SHA-256"
    assert f"quarantined  sha256 {received}" in text and f"declared_sha256: {declared}" in text


def test_a_pulled_file_has_no_declared_sha256(aws: Aws) -> None:
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/bank/2026-03-04/p.ach", Body=SAMPLE.read_bytes())
    Pipeline(PipelineConfig.from_env()).process(StagedObject("inbound/bank/2026-03-04/p.ach"))
    (processed,) = Pipeline(PipelineConfig.from_env()).ledger.records()
    assert processed.sha256 and processed.declared_sha256 == ""
