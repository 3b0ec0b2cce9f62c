"""The same pipeline on GCS: gcp-storage-emulator over HTTP, events as Cloud Run receives them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAYROLL = (ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes()
BROKEN = (ROOT / "samples/nacha/payroll-amount-edited-after-controls.ach").read_bytes()


@pytest.fixture
def gcs(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    from bankgate.store.gcs import default_client

    client = default_client()
    suffix = uuid.uuid4().hex[:8]
    names = {"staging": f"staging-{suffix}", "archive": f"archive-{suffix}", "processed": f"processed-{suffix}"}
    for name in names.values():
        client.create_bucket(name)
    monkeypatch.setenv("BANKGATE_STAGING", f"gs://{names['staging']}")
    monkeypatch.setenv("BANKGATE_ARCHIVE", f"gs://{names['archive']}/originals/")
    monkeypatch.setenv("BANKGATE_QUARANTINE", f"gs://{names['archive']}/quarantine/")
    monkeypatch.setenv("BANKGATE_LEDGER", f"gs://{names['archive']}/ledger/")
    monkeypatch.setenv("BANKGATE_ROUTES", json.dumps({"*": {"destination": f"gs://{names['processed']}/"}}))
    import lambdas.gcs_process

    monkeypatch.setattr(lambdas.gcs_process, "_pipeline", None)
    return client, names


def _finalized_event(client, bucket: str, key: str) -> dict:
    blob = client.bucket(bucket).get_blob(key)
    return {
        "data": {
            "bucket": bucket,
            "name": key,
            "generation": str(blob.generation),
            "etag": blob.etag,
            "size": str(blob.size),
        }
    }


def _keys(client, bucket: str, prefix: str = "") -> list[str]:
    return sorted(b.name for b in client.list_blobs(bucket, prefix=prefix))


def test_finalized_event_processes_and_archives(gcs) -> None:
    from lambdas.gcs_process import process

    client, names = gcs
    key = "inbound/acme/2026-11-23/payroll.ach"
    client.bucket(names["staging"]).blob(key).upload_from_string(PAYROLL)
    event = _finalized_event(client, names["staging"], key)
    result = process(event)
    assert result["status"] == "processed"
    assert _keys(client, names["staging"]) == []
    assert _keys(client, names["archive"], "originals/") == ["originals/acme/2026-11-23/payroll.ach"]
    assert client.bucket(names["archive"]).blob("originals/acme/2026-11-23/payroll.ach").download_as_bytes() == PAYROLL
    [output] = _keys(client, names["processed"])
    assert output == "acme/2026-11-23/payroll.ach.jsonl"
    lines = client.bucket(names["processed"]).blob(output).download_as_bytes().splitlines()
    assert sum(json.loads(line)["record"] == "entry_detail" for line in lines) == 5
    assert process(event)["status"] == "duplicate"  # the same event again is a no-op


def test_invalid_file_is_quarantined_on_gcs(gcs) -> None:
    from lambdas.gcs_process import process

    client, names = gcs
    key = "inbound/acme/2026-11-23/edited.ach"
    client.bucket(names["staging"]).blob(key).upload_from_string(BROKEN)
    result = process(_finalized_event(client, names["staging"], key))
    assert result["status"] == "quarantined" and "total_credit" in result["reason"]
    assert _keys(client, names["archive"], "quarantine/") == [
        "quarantine/acme/2026-11-23/edited.ach",
        "quarantine/acme/2026-11-23/edited.ach.error.json",
    ]
    assert _keys(client, names["processed"]) == []


def test_a_dead_writers_temporary_objects_are_swept_after_the_lease(gcs) -> None:
    """A writer killed between finalising its temporary object and renaming it leaves the
    object under .bankgate-partial/; a sweep removes it once older than the lease, and only it."""
    import time

    from bankgate.store.gcs import PARTIAL_PREFIX, GCSStore

    client, names = gcs
    bucket = client.bucket(names["processed"])
    old = f"{PARTIAL_PREFIX}{uuid.uuid4().hex}"
    bucket.blob(old).upload_from_string(b"half an output")
    bucket.blob("nacha/.bankgate-partial-notes").upload_from_string(b"not ours")
    store = GCSStore(names["processed"], client=client)
    assert store.sweep_partials(older_than=60) == 0  # younger than the lease: left alone
    time.sleep(1.5)
    young = f"{PARTIAL_PREFIX}{uuid.uuid4().hex}"
    bucket.blob(young).upload_from_string(b"being written")
    assert store.sweep_partials(older_than=1) == 1
    assert _keys(client, names["processed"]) == sorted([young, "nacha/.bankgate-partial-notes"])
