"""The same pipeline on GCS: gcp-storage-emulator over HTTP, events as Cloud Run receives them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.pipeline.events import blob_keys, finalized_event

ROOT = Path(__file__).resolve().parents[2]
PAYROLL = (ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes()
BROKEN = (ROOT / "samples/nacha/payroll-amount-edited-after-controls.ach").read_bytes()


def test_finalized_event_processes_and_archives(gcs) -> None:
    from bankgate.lambdas.gcs_process import process

    client, names = gcs
    key = "inbound/acme/2026-11-23/payroll.ach"
    client.bucket(names["staging"]).blob(key).upload_from_string(PAYROLL)
    event = finalized_event(client, names["staging"], key)
    result = process(event)
    assert result["status"] == "processed"
    assert blob_keys(client, names["staging"]) == []
    assert blob_keys(client, names["archive"], "originals/") == ["originals/acme/2026-11-23/payroll.ach"]
    assert client.bucket(names["archive"]).blob("originals/acme/2026-11-23/payroll.ach").download_as_bytes() == PAYROLL
    [output] = blob_keys(client, names["processed"])
    assert output == "acme/2026-11-23/payroll.ach.jsonl"
    lines = client.bucket(names["processed"]).blob(output).download_as_bytes().splitlines()
    assert sum(json.loads(line)["record"] == "entry_detail" for line in lines) == 5
    assert process(event)["status"] == "duplicate"  # the same event again is a no-op


def test_invalid_file_is_quarantined_on_gcs(gcs) -> None:
    from bankgate.lambdas.gcs_process import process

    client, names = gcs
    key = "inbound/acme/2026-11-23/edited.ach"
    client.bucket(names["staging"]).blob(key).upload_from_string(BROKEN)
    result = process(finalized_event(client, names["staging"], key))
    assert result["status"] == "quarantined" and "total_credit" in result["reason"]
    assert blob_keys(client, names["archive"], "quarantine/") == [
        "quarantine/acme/2026-11-23/edited.ach",
        "quarantine/acme/2026-11-23/edited.ach.error.json",
    ]
    assert blob_keys(client, names["processed"]) == []


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
    assert blob_keys(client, names["processed"]) == sorted([young, "nacha/.bankgate-partial-notes"])
