"""Any legal object key processes, on S3 (moto), GCS (the emulator) and a local directory:
non-ASCII names, spaces, '+', '%', and keys as long as the store allows (S3 and GCS: 1,024
bytes; a local file name: 255). What bankgate derives from a key (archive, quarantine and
output keys, metadata) fits the store too. moto enforces neither S3's key length nor its 2 KB
of user metadata, so those limits are asserted on what was written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demo.local_aws import LambdaContext
from tests.pipeline.events import blob_keys, finalized_event, s3_put_event

ROOT = Path(__file__).resolve().parents[2]
PAYROLL = (ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes()
BROKEN = (ROOT / "samples/nacha/payroll-amount-edited-after-controls.ach").read_bytes()
FOLDER = "inbound/acme/2026-11-23/"


def longest_key(char: str, limit: int = 1024) -> str:
    """A key of exactly ``limit`` bytes, its file name made of ``char``."""
    room = limit - len(FOLDER.encode()) - len(b".ach")
    return FOLDER + char * (room // len(char.encode())) + "x" * (room % len(char.encode())) + ".ach"


NAMES = [
    FOLDER + "café ü 東京 (1).ach",
    FOLDER + "pay roll+final 100% %41%2B.ach",
    longest_key("東"),
    longest_key("a"),
]
IDS = ["non-ascii", "space-plus-percent", "1024-bytes-cjk", "1024-bytes-ascii"]


def s3_metadata_bytes(aws, bucket: str, key: str) -> int:
    meta = aws.s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    return sum(len(k.encode()) + len(v.encode()) for k, v in meta.items())


@pytest.mark.parametrize("body", [PAYROLL, BROKEN], ids=["valid", "invalid"])
@pytest.mark.parametrize("key", NAMES, ids=IDS)
def test_s3(aws, key: str, body: bytes) -> None:
    from bankgate.lambdas.process import handler

    etag = aws.s3.put_object(Bucket=aws.staging, Key=key, Body=body)["ETag"].strip('"')
    handler(s3_put_event(aws.staging, key, etag=etag, sequencer="0055AED6DCD90281E5"), LambdaContext())
    assert aws.keys(aws.staging) == []
    written = [(b, k) for b in (aws.archive, aws.processed) for k in aws.keys(b)]
    assert len(written) == 3  # ledger, archive and output; or ledger, quarantined file and report
    for bucket, written_key in written:
        assert len(written_key.encode()) <= 1024, written_key
        assert s3_metadata_bytes(aws, bucket, written_key) <= 2048, written_key
    [record_key] = aws.keys(aws.archive, "ledger/")
    record = json.loads(aws.s3.get_object(Bucket=aws.archive, Key=record_key)["Body"].read())
    assert record["state"] == ("done" if body is PAYROLL else "quarantined")
    assert record["source"] == f"s3://{aws.staging}/{key}"
    original = record["archived_to"].removeprefix(f"s3://{aws.archive}/")
    assert aws.s3.get_object(Bucket=aws.archive, Key=original)["Body"].read() == body
    assert aws.s3.head_object(Bucket=aws.archive, Key=original)["Metadata"]["bankgate-source"].isascii()


@pytest.mark.parametrize("key", NAMES, ids=IDS)
def test_gcs(gcs, key: str) -> None:
    from bankgate.lambdas.gcs_process import process

    client, names = gcs
    client.bucket(names["staging"]).blob(key).upload_from_string(PAYROLL)
    result = process(finalized_event(client, names["staging"], key))
    assert result["status"] == "processed", result
    assert blob_keys(client, names["staging"]) == []
    for bucket in (names["archive"], names["processed"]):
        for name in blob_keys(client, bucket):
            assert len(name.encode()) <= 1024, name
            blob = client.bucket(bucket).get_blob(name)
            assert all(v.isascii() for v in (blob.metadata or {}).values()), name


LOCAL_NAMES = [
    FOLDER + "café ü 東京 (1).ach",
    FOLDER + "pay roll+final 100% %41%2B.ach",
    FOLDER + "東" * 83 + "x.ach",  # 255 bytes: the longest file name ext4 takes
    FOLDER + "a" * 251 + ".ach",
]


@pytest.mark.parametrize("body", [PAYROLL, BROKEN], ids=["valid", "invalid"])
@pytest.mark.parametrize("key", LOCAL_NAMES, ids=["non-ascii", "space-plus-percent", "255-bytes-cjk", "255-bytes"])
def test_local(tmp_path: Path, key: str, body: bytes) -> None:
    from bankgate.config import PipelineConfig, Route
    from bankgate.pipeline import Pipeline, StagedObject

    assert len(Path(key).name.encode()) <= 255
    staged = tmp_path / "staging" / key
    staged.parent.mkdir(parents=True)
    staged.write_bytes(body)
    config = PipelineConfig(
        staging=f"file://{tmp_path}/staging",
        archive=f"file://{tmp_path}/archive",
        quarantine=f"file://{tmp_path}/quarantine",
        ledger=f"file://{tmp_path}/ledger",
        routes={"*": Route(f"file://{tmp_path}/processed")},
    )
    outcome = Pipeline(config).process(StagedObject(key))
    assert outcome.status == ("processed" if body is PAYROLL else "quarantined"), outcome.reason
    assert not staged.exists()
    if body is PAYROLL:
        [output] = [p for p in (tmp_path / "processed").rglob("*") if p.is_file() and ".meta" not in p.parts]
        assert output.suffix == ".jsonl" and output.read_bytes().count(b"\n") == 12
        [archived] = [p for p in (tmp_path / "archive").rglob("*") if p.is_file() and ".meta" not in p.parts]
        assert archived.read_bytes() == body
