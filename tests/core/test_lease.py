"""The one compare-and-swap and lease primitive both ledgers build on (``bankgate.lease``), on
the stores whose conditional writes are real: a local directory and S3 (moto over HTTP)."""

from __future__ import annotations

import threading

import pytest

from bankgate.lease import TALLY, Contended, Current, Lease, read, swap
from bankgate.store.base import ObjectStore

KEY = "ledger/counter.json"


def test_racing_swaps_never_lose_an_update(store: ObjectStore) -> None:
    threads, rounds = 6, 12

    def bump(current: Current | None) -> tuple[bytes, int]:
        value = int(current.data) if current else 0
        return str(value + 1).encode(), value + 1

    def worker() -> None:
        for _ in range(rounds):
            swap(store, KEY, bump, attempts=1000)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    current = read(store, KEY)
    assert current is not None and int(current.data) == threads * rounds


def test_a_declined_change_writes_nothing_and_says_why(store: ObjectStore) -> None:
    etag, _ = swap(store, KEY, lambda current: (b"first", "created"))
    assert etag and read(store, KEY) == Current(b"first", etag)
    assert swap(store, KEY, lambda current: (None, f"kept {current.data!r}")) == (None, "kept b'first'")
    assert read(store, KEY) == Current(b"first", etag)


def test_a_key_that_changes_under_every_attempt_is_contended(store: ObjectStore) -> None:
    swap(store, KEY, lambda current: (b"0", None))

    def change_behind_its_back(current: Current | None) -> tuple[bytes, None]:
        assert current is not None
        other = read(store, KEY)
        assert other is not None
        store.replace(KEY, other.data + b"+", etag=other.etag)  # another writer gets in first
        return b"mine", None

    conflicts, contended = TALLY.conflicts, TALLY.contended
    with pytest.raises(Contended, match="kept changing under 3 attempts"):
        swap(store, KEY, change_behind_its_back, attempts=3)
    current = read(store, KEY)
    assert current is not None and current.data == b"0+++"  # theirs, never overwritten blindly
    # every lost round is a refused conditional write, counted for bench/scale.py
    assert (TALLY.conflicts - conflicts, TALLY.contended - contended) == (3, 1)
    swap(store, KEY, lambda current: (b"won", None))
    assert (TALLY.conflicts - conflicts, TALLY.contended - contended) == (3, 1)  # a won round is no conflict


def test_a_lease_runs_until_it_expires() -> None:
    holder = Lease(60).holder(1000.0, extra_seconds=5, bank="acme")
    assert holder["bank"] == "acme" and holder["expires_at"] == 1065.0 and holder["pid"] > 0
    assert Lease.live(holder, 1064.9) and not Lease.live(holder, 1065.0)
    assert not Lease.live({}, 0.0)  # a record without a lease has expired
