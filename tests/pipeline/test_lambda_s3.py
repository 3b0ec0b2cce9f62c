"""The processing Lambda against moto over HTTP: S3 -> SQS notifications drained into the
handler exactly as Lambda's SQS event source would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from bankgate.lambdas.process import handler
from demo.local_aws import LambdaContext

ROOT = Path(__file__).resolve().parents[2]
PAYROLL = (ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes()
BROKEN = (ROOT / "samples/nacha/payroll-amount-edited-after-controls.ach").read_bytes()
BAI2 = (ROOT / "samples/bai2/daily-balances.bai").read_bytes()


def read_jsonl(aws, bucket: str, key: str) -> list[dict]:
    body = aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in body.splitlines()]


def ledger(aws) -> list[dict]:
    return [
        json.loads(aws.s3.get_object(Bucket=aws.archive, Key=k)["Body"].read())
        for k in aws.keys(aws.archive, "ledger/")
    ]


def test_nacha_file_is_parsed_routed_and_archived(aws) -> None:
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/payroll.ach", Body=PAYROLL)
    responses = aws.drain(handler)
    assert all(r == {"batchItemFailures": []} for r in responses)
    assert aws.keys(aws.staging) == []
    assert aws.keys(aws.archive, "originals/") == ["originals/acme/2026-11-23/payroll.ach"]
    archived = aws.s3.get_object(Bucket=aws.archive, Key="originals/acme/2026-11-23/payroll.ach")
    assert archived["Body"].read() == PAYROLL
    assert archived["Metadata"]["bankgate-sha256"]
    assert aws.keys(aws.processed) == ["nacha/acme/2026-11-23/payroll.ach.jsonl"]
    rows = read_jsonl(aws, aws.processed, "nacha/acme/2026-11-23/payroll.ach.jsonl")
    assert [r["record"] for r in rows].count("entry_detail") == 5
    [record] = ledger(aws)
    assert record["state"] == "done"
    assert record["totals"]["total_credit"] == 1578137
    assert record["archived_to"] == f"s3://{aws.archive}/originals/acme/2026-11-23/payroll.ach"


def test_invalid_file_is_quarantined_with_a_reason(aws) -> None:
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/edited.ach", Body=BROKEN)
    aws.drain(handler)
    assert aws.keys(aws.staging) == []
    assert aws.keys(aws.processed) == []
    assert aws.keys(aws.archive, "quarantine/") == [
        "quarantine/acme/2026-11-23/edited.ach",
        "quarantine/acme/2026-11-23/edited.ach.error.json",
    ]
    report = json.loads(
        aws.s3.get_object(Bucket=aws.archive, Key="quarantine/acme/2026-11-23/edited.ach.error.json")["Body"].read()
    )
    assert "total_credit" in report["reason"]
    assert {(p["line"], p["field"]) for p in report["problems"]} >= {(7, "total_credit"), (12, "total_credit")}
    [record] = ledger(aws)
    assert record["state"] == "quarantined"


def test_duplicate_messages_process_once(aws) -> None:
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/payroll.ach", Body=PAYROLL)
    got = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10)
    bodies = [m["Body"] for m in got["Messages"]]
    for m in got["Messages"]:
        aws.sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=m["ReceiptHandle"])
    for body in bodies * 3:  # at-least-once delivery: the same event three times
        aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody=body)
    responses = aws.drain(handler)
    assert all(r == {"batchItemFailures": []} for r in responses)
    assert aws.keys(aws.processed) == ["nacha/acme/2026-11-23/payroll.ach.jsonl"]
    assert aws.keys(aws.archive, "originals/") == ["originals/acme/2026-11-23/payroll.ach"]
    [record] = ledger(aws)
    assert record["state"] == "done" and record["attempts"] == 1


def test_url_encoded_keys(aws) -> None:
    key = "inbound/acme/2026-11-23/pay roll+final (1).ach"
    aws.s3.put_object(Bucket=aws.staging, Key=key, Body=PAYROLL)
    aws.drain(handler)
    assert aws.keys(aws.processed) == ["nacha/acme/2026-11-23/pay roll+final (1).ach.jsonl"]
    assert aws.keys(aws.staging) == []


def test_one_bad_message_does_not_fail_the_others(aws) -> None:
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/balances.bai", Body=BAI2)
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody="this is not an S3 event")
    got = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10)
    messages = got["Messages"]
    while len(messages) < 2:
        messages += aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    response = aws.deliver(handler, messages)
    bad = [m["MessageId"] for m in messages if m["Body"] == "this is not an S3 event"]
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == bad
    assert aws.keys(aws.processed) == ["bai2/acme/2026-11-23/balances.bai.jsonl"]


def test_newer_version_wins_whatever_the_order(aws) -> None:
    key = "inbound/acme/2026-11-23/payroll.ach"
    aws.s3.put_object(Bucket=aws.staging, Key=key, Body=BROKEN)  # version 1: a bad file
    first = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10)["Messages"]
    aws.s3.put_object(Bucket=aws.staging, Key=key, Body=PAYROLL)  # version 2 replaces it
    second = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10)["Messages"]
    aws.deliver(handler, second)  # the newer event arrives first
    aws.deliver(handler, first)  # then the older one, late
    assert aws.keys(aws.processed) == ["nacha/acme/2026-11-23/payroll.ach.jsonl"]
    assert aws.keys(aws.archive, "originals/") == ["originals/acme/2026-11-23/payroll.ach"]
    assert aws.keys(aws.archive, "quarantine/") == []
    body = aws.s3.get_object(Bucket=aws.archive, Key="originals/acme/2026-11-23/payroll.ach")["Body"].read()
    assert body == PAYROLL


def test_crash_between_archive_copy_and_staging_delete(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    import bankgate.store.s3 as s3_store

    real_delete = s3_store.S3Store.delete
    crashes = {"left": 1}

    def crash_once(self, key, *, version=None):
        if self.bucket == aws.staging and crashes["left"]:
            crashes["left"] -= 1
            raise ConnectionError("Lambda timed out after the archive copy")
        return real_delete(self, key, version=version)

    monkeypatch.setattr(s3_store.S3Store, "delete", crash_once)
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/payroll.ach", Body=PAYROLL)
    first = aws.drain(handler, rounds=1)
    assert len(first[0]["batchItemFailures"]) == 1  # the message goes back to the queue
    assert aws.keys(aws.staging) == ["inbound/acme/2026-11-23/payroll.ach"]  # nothing lost
    aws.drain(handler)  # redelivery
    assert aws.keys(aws.staging) == []
    assert aws.keys(aws.archive, "originals/") == ["originals/acme/2026-11-23/payroll.ach"]
    assert aws.keys(aws.processed) == ["nacha/acme/2026-11-23/payroll.ach.jsonl"]
    [record] = ledger(aws)
    assert record["state"] == "done" and record["attempts"] == 2


def test_direct_s3_and_eventbridge_invocations(aws) -> None:
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/a.ach", Body=PAYROLL)
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/b.bai", Body=BAI2)
    etag_a = aws.s3.head_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/a.ach")["ETag"].strip('"')
    s3_event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": aws.staging},
                    "object": {"key": "inbound/acme/2026-11-23/a.ach", "eTag": etag_a, "sequencer": "01"},
                },
            }
        ]
    }
    one = {"objects": 1, "processed": 1, "quarantined": 0, "duplicate": 0, "stale": 0, "missing": 0}
    assert handler(s3_event, LambdaContext()) == {**one, "statuses": ["processed"]}
    bridge = {
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {"bucket": {"name": aws.staging}, "object": {"key": "inbound/acme/2026-11-23/b.bai"}},
    }
    assert handler(bridge, LambdaContext()) == {**one, "statuses": ["processed"]}
    assert aws.keys(aws.processed) == ["bai2/acme/2026-11-23/b.bai.jsonl", "nacha/acme/2026-11-23/a.ach.jsonl"]
    none = dict.fromkeys(one, 0)
    assert handler({"Event": "s3:TestEvent", "Bucket": aws.staging}, LambdaContext()) == {**none, "statuses": []}


def test_pgp_encrypted_nacha_is_decrypted_then_parsed(aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.core.pgp_helpers import make_encrypted_fixture

    ciphertext, secret, passphrase = make_encrypted_fixture(PAYROLL, tmp_path)
    monkeypatch.setenv("BANKGATE_PGP_KEYS", secret)
    monkeypatch.setenv("BANKGATE_PGP_PASSPHRASE", passphrase)
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/payroll.ach.pgp", Body=ciphertext.read_bytes())
    aws.drain(handler)
    # under its encrypted file's name, as a gzip's content: never over a plain payroll.ach's output
    assert aws.keys(aws.processed) == ["nacha/acme/2026-11-23/payroll.ach.pgp/payroll.ach.jsonl"]
    rows = read_jsonl(aws, aws.processed, "nacha/acme/2026-11-23/payroll.ach.pgp/payroll.ach.jsonl")
    assert sum(r["record"] == "entry_detail" for r in rows) == 5
    # the original stays encrypted in the archive
    archived = aws.s3.get_object(Bucket=aws.archive, Key="originals/acme/2026-11-23/payroll.ach.pgp")["Body"].read()
    assert archived == ciphertext.read_bytes()


def test_pgp_file_without_the_right_key_is_quarantined(aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.core.pgp_helpers import make_encrypted_fixture

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ciphertext, _, _ = make_encrypted_fixture(PAYROLL, tmp_path / "a")
    _, other_secret, passphrase = make_encrypted_fixture(b"other", tmp_path / "b")
    monkeypatch.setenv("BANKGATE_PGP_KEYS", other_secret)
    monkeypatch.setenv("BANKGATE_PGP_PASSPHRASE", passphrase)
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/payroll.ach.pgp", Body=ciphertext.read_bytes())
    aws.drain(handler)
    assert aws.keys(aws.processed) == []
    report = json.loads(
        aws.s3.get_object(Bucket=aws.archive, Key="quarantine/acme/2026-11-23/payroll.ach.pgp.error.json")[
            "Body"
        ].read()
    )
    assert "key" in report["reason"].lower()


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_zip_members_are_processed_as_files_with_lineage(aws) -> None:
    bundle = _zip({"payroll.ach": PAYROLL, "statements/balances.bai": BAI2})
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/bundle.zip", Body=bundle)
    aws.drain(handler)
    assert aws.keys(aws.processed) == [
        "bai2/acme/2026-11-23/bundle.zip/statements/balances.bai.jsonl",
        "nacha/acme/2026-11-23/bundle.zip/payroll.ach.jsonl",
    ]
    assert aws.keys(aws.archive, "originals/") == ["originals/acme/2026-11-23/bundle.zip"]
    [record] = ledger(aws)
    assert {o["member"] for o in record["outputs"]} == {
        "acme/2026-11-23/bundle.zip/payroll.ach",
        "acme/2026-11-23/bundle.zip/statements/balances.bai",
    }


def test_zip_with_one_bad_member_is_quarantined_whole(aws) -> None:
    bundle = _zip({"payroll.ach": PAYROLL, "edited.ach": BROKEN})
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/bundle.zip", Body=bundle)
    aws.drain(handler)
    assert aws.keys(aws.processed) == []  # the good member's output was discarded too
    report = json.loads(
        aws.s3.get_object(Bucket=aws.archive, Key="quarantine/acme/2026-11-23/bundle.zip.error.json")["Body"].read()
    )
    assert "bundle.zip/edited.ach" in report["reason"]


def test_zip_slip_is_quarantined_with_the_member_named(aws) -> None:
    bundle = _zip({"../../etc/cron.d/evil": b"* * * * * root rm -rf /\n"})
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/evil.zip", Body=bundle)
    aws.drain(handler)
    report = json.loads(
        aws.s3.get_object(Bucket=aws.archive, Key="quarantine/acme/2026-11-23/evil.zip.error.json")["Body"].read()
    )
    assert "etc/cron.d/evil" in report["reason"]
    assert aws.keys(aws.processed) == []


def test_archive_error_json_names_the_member_and_the_limit(aws) -> None:
    """Not just a sentence: the member's lineage and the limit crossed, for a person or a tool."""
    bundle = _zip({"payroll.ach": PAYROLL, "zeros.ach": bytes(70 << 20)})  # deflates ~1,000:1, past 64 MiB
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/bomb.zip", Body=bundle)
    aws.drain(handler)
    report = json.loads(
        aws.s3.get_object(Bucket=aws.archive, Key="quarantine/acme/2026-11-23/bomb.zip.error.json")["Body"].read()
    )
    assert report["error"] == "ArchiveBomb"
    assert report["member"] == ["acme/2026-11-23/bomb.zip", "zeros.ach"]
    assert report["limit"] == "max_ratio" and report["allowed"] == 500 and report["actual"] > 500
    assert "zeros.ach" in report["reason"]
    [record] = ledger(aws)
    assert record["state"] == "quarantined" and "zeros.ach" in record["reason"]


def test_a_poison_object_is_quarantined_after_max_failures(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    """A route into a bucket that does not exist fails every attempt for infrastructure reasons:
    after BANKGATE_MAX_FAILURES of them the file is quarantined with the last error, instead of
    being retried until SQS parks the message in the DLQ with the file left in staging."""
    routes = {"nacha": {"destination": "s3://no-such-bucket/nacha/"}, "*": {"destination": f"s3://{aws.processed}/"}}
    monkeypatch.setenv("BANKGATE_ROUTES", json.dumps(routes))
    monkeypatch.setenv("BANKGATE_MAX_FAILURES", "3")
    aws.drain(handler)  # the s3:TestEvent moto sends first, as AWS does
    aws.s3.put_object(Bucket=aws.staging, Key="inbound/acme/2026-11-23/payroll.ach", Body=PAYROLL)
    receives, failed = [], []
    for _ in range(10):
        got = aws.sqs.receive_message(
            QueueUrl=aws.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["ApproximateReceiveCount"]
        ).get("Messages", [])
        if not got:
            break
        receives += [int(m["Attributes"]["ApproximateReceiveCount"]) for m in got]
        try:
            failed.append(len(aws.deliver(handler, got)["batchItemFailures"]))
        except BatchProcessingError:  # the whole batch failed: Lambda lets every message reappear
            failed.append(len(got))
            for m in got:
                aws.sqs.change_message_visibility(
                    QueueUrl=aws.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
    assert failed == [1, 1, 1, 0]  # three failed attempts, then the fourth delivery quarantines
    assert receives == [1, 2, 3, 4]  # so SQS maxReceiveCount must be at least BANKGATE_MAX_FAILURES + 1
    assert aws.keys(aws.staging) == []
    assert aws.keys(aws.archive, "quarantine/") == [
        "quarantine/acme/2026-11-23/payroll.ach",
        "quarantine/acme/2026-11-23/payroll.ach.error.json",
    ]
    report = json.loads(
        aws.s3.get_object(Bucket=aws.archive, Key="quarantine/acme/2026-11-23/payroll.ach.error.json")["Body"].read()
    )
    assert report["error"] == "TooManyFailures" and report["limit"] == "max_failures"
    assert (report["actual"], report["allowed"]) == (3, 3)
    assert "NoSuchBucket" in report["reason"] and "3 " in report["reason"]
    [record] = ledger(aws)
    assert record["state"] == "quarantined" and record["failures"] == 3 and "NoSuchBucket" in record["reason"]
    assert record["archived_to"] == f"s3://{aws.archive}/quarantine/acme/2026-11-23/payroll.ach"
