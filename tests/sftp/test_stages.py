"""The pull as separate steps (what the DAG's transfer, verify and post_pull tasks run), against
a real OpenSSH sshd, into a local store, moto S3 and the GCS emulator."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from bankgate.banks import DELETE
from bankgate.sftp import (
    PullLedger,
    PullRecord,
    SftpSettings,
    VerificationFailed,
    connect,
    list_files,
    post_pull,
)
from bankgate.sftp.landing import META_SHA256
from bankgate.sftp.stages import Staged, landed_from_record, promote, stage_file
from bankgate.store import open_url
from tests.sftp.sshd import Sshd

OLD = time.time() - 3600


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
def test_stage_then_promote_lands_verified_bytes_and_leaves_no_temporary_object(
    request: pytest.FixtureRequest, server: Sshd, settings: SftpSettings, where: str
) -> None:
    store, base = open_url(request.getfixturevalue(where))
    data = os.urandom(9 * 1024 * 1024 + 5)  # past the small-file size: a streamed upload
    server.put("/outbound/big.ach", data, mtime=OLD)
    with connect(settings) as session:
        [remote] = list_files(session.sftp, "/outbound")
        staged = stage_file(session, remote, store, f"{base}in/big.ach", metadata={"bankgate-bank": "acme"})
    assert staged.size == len(data) and staged.sha256 == hashlib.sha256(data).hexdigest()
    assert store.read_bytes(staged.temp_key) == data
    assert store.info(f"{base}in/big.ach") is None, "nothing on the final key before verification"

    staged = Staged.from_xcom(staged.to_xcom())  # as it crosses from one task to the next
    landed = promote(store, staged)

    assert landed.key == f"{base}in/big.ach" and store.read_bytes(landed.key) == data
    if where != "gcs_url":  # gcp-storage-emulator's rewrite drops the request's metadata (see test_pull)
        assert store.info(landed.key).metadata[META_SHA256] == staged.sha256
    assert store.info(staged.temp_key) is None
    assert [i.key for i in store.list(base) if "partial" in i.key] == []


@pytest.mark.parametrize(
    ("where", "verify", "caught_by"),
    [("local_url", "sha256", "SHA-256"), ("s3_url", "checksum", "crc32"), ("gcs_url", "checksum", "crc32c")],
)
def test_a_staged_copy_that_does_not_match_is_never_promoted(
    request: pytest.FixtureRequest, server: Sshd, settings: SftpSettings, where: str, verify: str, caught_by: str
) -> None:
    """Caught by reading it back (a directory) or by the store's own checksum (S3, GCS)."""
    store, base = open_url(request.getfixturevalue(where))
    data = os.urandom(200_000)
    server.put("/outbound/pay.ach", data, mtime=OLD)
    with connect(settings) as session:
        [remote] = list_files(session.sftp, "/outbound")
        staged = stage_file(session, remote, store, f"{base}in/pay.ach")
    corrupt = bytearray(data)
    corrupt[1000] ^= 0xFF  # same size, one flipped bit: only the checksum can tell
    store.put_bytes(staged.temp_key, bytes(corrupt))

    with pytest.raises(VerificationFailed, match=caught_by):
        promote(store, staged, verify=verify)

    assert store.info(f"{base}in/pay.ach") is None and store.info(staged.temp_key) is None
    assert server.local("/outbound/pay.ach").read_bytes() == data


def test_post_pull_from_the_ledger_record_acts_only_on_the_file_pulled(
    server: Sshd, settings: SftpSettings, local_url: str
) -> None:
    store, base = open_url(local_url)
    ledger = PullLedger(store)
    server.put("/outbound/a.ach", b"a" * 5000, mtime=OLD)
    with connect(settings) as session:
        [remote] = list_files(session.sftp, "/outbound")
        landed = promote(store, stage_file(session, remote, store, f"{base}in/a.ach"))
        claim = ledger.claim("acme", remote).claim
        assert claim is not None
        ledger.record(claim, sha256=landed.sha256, key=landed.key, url=landed.url, post_pull="pending")
        record = ledger.get("acme", remote)
        assert record is not None
        store.delete(landed.key)  # the pipeline took the staged object away meanwhile

        outcome = post_pull.apply(session, landed_from_record(record), DELETE)
        ledger.set_post_pull("acme", remote, outcome)

    assert outcome == "deleted" and not server.local("/outbound/a.ach").exists()
    assert ledger.get("acme", remote).post_pull == "deleted"
    incomplete = PullRecord("acme", "/outbound/b.ach", 1, 1, "", "", "", 0.0)
    with pytest.raises(VerificationFailed):
        landed_from_record(incomplete)
