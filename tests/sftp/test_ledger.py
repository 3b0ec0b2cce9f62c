"""The pull ledger's guarantees on the stores whose conditional writes are real: a local
directory and S3 (moto over HTTP)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bankgate.sftp import PullLedger, RemoteFile
from bankgate.store import open_url
from bankgate.store.base import ObjectStore
from bankgate.store.local import LocalStore

FILE = RemoteFile("/outbound/payroll.ach", 1234, 1_790_000_000)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalStore(tmp_path / "ledger")
    else:
        yield open_url(request.getfixturevalue("s3_url"))[0]


def test_one_claim_wins_and_a_recorded_file_is_not_claimed_again(store: ObjectStore) -> None:
    ledger = PullLedger(store)
    first = ledger.claim("acme", FILE)
    assert first.claim is not None
    second = ledger.claim("acme", FILE)
    assert second.claim is None and second.reason == "being pulled by another run"

    ledger.record(first.claim, sha256="a" * 64, key="inbound/x", url="s3://b/inbound/x")
    assert ledger.pulled("acme", [FILE, RemoteFile(FILE.path, FILE.size, FILE.mtime + 1)]) == {FILE}
    assert ledger.claim("acme", FILE).reason == "already pulled"
    forced = ledger.claim("acme", FILE, force=True)
    assert forced.claim is not None
    ledger.record(forced.claim, sha256="a" * 64, key="inbound/x", url="s3://b/inbound/x", forced=True)
    record = ledger.get("acme", FILE)
    assert record is not None and record.forced and record.duplicate_of is None  # same identity: no flag


def test_a_dead_workers_claim_expires(store: ObjectStore) -> None:
    ledger = PullLedger(store, lease=60)
    assert ledger.claim("acme", FILE, now=1000.0).claim is not None
    assert ledger.claim("acme", FILE, now=1030.0).claim is None  # still within 60 s + 1 s per MiB
    assert ledger.claim("acme", FILE, now=1100.0).claim is not None  # taken over


def test_concurrent_claims_grant_exactly_one(store: ObjectStore) -> None:
    ledger = PullLedger(store)
    granted: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        granted.append(ledger.claim("acme", FILE).claim is not None)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(granted) == [False] * 7 + [True]


def test_same_content_under_another_identity_is_flagged(store: ObjectStore) -> None:
    ledger = PullLedger(store)
    first = ledger.claim("acme", FILE).claim
    assert first is not None
    ledger.record(first, sha256="b" * 64, key="k1", url="u1")
    other = RemoteFile("/outbound/payroll-copy.ach", FILE.size, FILE.mtime)
    second = ledger.claim("globex", other).claim
    assert second is not None
    record = ledger.record(second, sha256="b" * 64, key="k2", url="u2")
    assert record.duplicate_of is not None
    assert (record.duplicate_of["bank"], record.duplicate_of["path"]) == ("acme", FILE.path)


def test_bank_names_cannot_escape_the_prefix(store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="bank name"):
        PullLedger(store).claim("../other", FILE)
