"""The ledger's guarantees, on the stores whose conditional writes are real: a local directory,
S3 (moto over HTTP) and GCS (the emulator, with GCS's preconditions: ``tests/core/conftest.py``)."""

from __future__ import annotations

import threading

import pytest

from bankgate.ledger import DONE, FAILED, ClaimLost, Ledger, compare_sequencers
from bankgate.store.base import ObjectStore

SOURCE = "s3://staging/inbound/acme/2026-11-23/payroll.ach"


def test_exactly_one_of_concurrent_claims_wins(store: ObjectStore) -> None:
    ledger = Ledger(store)
    barrier = threading.Barrier(8)
    results = []

    def claim() -> None:
        barrier.wait()
        results.append(ledger.claim(SOURCE, "0001"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c.status for c in results) == ["busy"] * 7 + ["claimed"]


def test_done_is_a_duplicate_and_older_events_are_stale(store: ObjectStore) -> None:
    ledger = Ledger(store)
    claim = ledger.claim(SOURCE, "0005")
    ledger.finish(claim, state=DONE)
    assert ledger.claim(SOURCE, "0005").status == "duplicate"
    assert ledger.claim(SOURCE, "0004").status == "stale"
    newer = ledger.claim(SOURCE, "0006")
    assert newer.granted and newer.record.attempts == 2
    ledger.finish(newer, state=DONE)  # a forced reprocess takes a finished record, never a live claim
    assert ledger.claim(SOURCE, "0005", force=True).granted  # forced reprocess


def test_failed_or_expired_claims_can_be_taken_over(store: ObjectStore) -> None:
    ledger = Ledger(store, lease_seconds=3600)
    first = ledger.claim(SOURCE, "0001")
    ledger.finish(first, state=FAILED, reason="store unavailable")
    assert ledger.claim(SOURCE, "0001").granted  # released: retried at once
    short = Ledger(store, prefix="short/", lease_seconds=0)
    held = short.claim(SOURCE, "0001")
    retaken = short.claim(SOURCE, "0001")  # the first worker's lease has expired
    assert held.granted and retaken.granted
    with pytest.raises(ClaimLost):
        short.finish(held, state=DONE)  # the worker that lost its lease cannot record a result
    assert short.finish(retaken, state=DONE).state == DONE


def test_concurrent_replaces_never_lose_an_update(store: ObjectStore) -> None:
    """Compare-and-swap under contention: every replace that succeeds saw the latest value."""
    key = "counter.json"
    store.create(key, b"0")
    threads, rounds = 6, 15

    def bump() -> None:
        for _ in range(rounds):
            while True:
                info = store.info(key)
                assert info is not None
                value = int(store.read_bytes(key))
                if store.replace(key, str(value + 1).encode(), etag=info.etag) is not None:
                    break

    workers = [threading.Thread(target=bump) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert int(store.read_bytes(key)) == threads * rounds


def test_failed_attempts_of_one_version_are_counted(store: ObjectStore) -> None:
    """Releases after an infrastructure error and leases that expired under a dead worker both
    count against the version; a newer version or a forced reprocess starts again from zero."""
    ledger = Ledger(store, lease_seconds=0)
    first = ledger.claim(SOURCE, "0001")
    assert first.record.failures == 0
    ledger.finish(first, state=FAILED, reason="ConnectionError: store unavailable")
    second = ledger.claim(SOURCE, "0001")
    assert (second.record.failures, second.record.last_failure) == (1, "ConnectionError: store unavailable")
    third = ledger.claim(SOURCE, "0001")  # the second worker died holding it: its lease expired
    assert third.record.failures == 2 and "lease" in third.record.last_failure
    assert ledger.claim(SOURCE, "0002").record.failures == 0  # a newer version
    assert ledger.claim(SOURCE, "0002", force=True).record.failures == 0


def test_sequencers_of_different_lengths_compare_left_padded(store: ObjectStore) -> None:
    """AWS's rule: pad the shorter with zeros, then compare. As plain strings each of the first
    two pairs below compares the other way round."""
    ledger = Ledger(store)
    ledger.finish(ledger.claim(SOURCE, "1000000000000000000"), state=DONE)
    assert ledger.claim(SOURCE, "FFFFFFFFFFFFFFFFFF").status == "stale"  # shorter: older
    later = ledger.claim(SOURCE, "02000000000000000000")
    assert later.granted  # longer: newer
    ledger.finish(later, state=DONE)
    assert ledger.claim(SOURCE, "002000000000000000000").status == "duplicate"  # the same, padded
    assert compare_sequencers("0a", "0B") == -1 and compare_sequencers("0B", "0b") == 0  # hex in either case


def test_a_manual_run_is_never_compared_with_event_sequencers(store: ObjectStore) -> None:
    """``bankgate process`` has no event sequencer: it records none, and the next event is
    ordered against it by the objects' modification times instead."""
    ledger = Ledger(store)
    manual = ledger.claim(SOURCE, "", etag="e1", modified_ns=2_000_000_000 * 10**9)
    ledger.finish(manual, state=DONE)
    event = ledger.claim(SOURCE, "0055AED6DCD90281E5", etag="e2", modified_ns=2_000_000_100 * 10**9)
    assert event.granted
    ledger.finish(event, state=DONE)  # a forced claim never takes a live one
    ledger.finish(ledger.claim(SOURCE, "", etag="e3", modified_ns=2_000_000_200 * 10**9, force=True), state=DONE)
    older = ledger.claim(SOURCE, "0055AED6DCD90281E6", etag="e2", modified_ns=2_000_000_100 * 10**9)
    assert older.status == "stale"  # the object it names is older than the one reprocessed


def test_a_live_claim_makes_a_newer_version_wait(store: ObjectStore) -> None:
    """One worker per key at a time: a newer version's event retries once the older one is done,
    so the older one's outputs can never land over the newer one's."""
    ledger = Ledger(store, lease_seconds=3600)
    held = ledger.claim(SOURCE, "0001")
    assert ledger.claim(SOURCE, "0002").status == "busy"
    ledger.finish(held, state=DONE)
    assert ledger.claim(SOURCE, "0002").granted


def test_a_forced_claim_never_takes_a_live_lease(store: ObjectStore) -> None:
    """A reprocess racing the event for the object it restaged: while the event's worker holds
    the claim, the forced claim waits (``busy``), and the holder still records its outcome."""
    ledger = Ledger(store, lease_seconds=3600)
    held = ledger.claim(SOURCE, "0009")
    forced = ledger.claim(SOURCE, "", force=True)
    assert (forced.granted, forced.status) == (False, "busy")
    assert ledger.finish(held, state=DONE).state == DONE  # not taken over: its result stands
    expired = Ledger(store, prefix="expired/", lease_seconds=0)
    dead = expired.claim(SOURCE, "0009")
    assert dead.granted and expired.claim(SOURCE, "", force=True).granted  # a dead worker's lease


def test_a_forced_claim_takes_over_only_the_record_version_it_read(store: ObjectStore) -> None:
    """Compare-and-swap on the record's version: a reprocess that read the quarantined record is
    refused once another worker processed the object since (``duplicate``), as one that found
    no record is once a record appears; over the version it read, it is granted."""
    ledger = Ledger(store)
    ledger.finish(ledger.claim(SOURCE, "0001"), state="quarantined", reason="bad totals", archived_to="q://x")
    _record, read_etag = ledger.get(SOURCE)
    other = ledger.claim(SOURCE, "0002")  # the restaged copy's event, first
    ledger.finish(other, state=DONE, archived_to="a://x")
    late = ledger.claim(SOURCE, "", force=True, over=read_etag)
    assert (late.granted, late.status, late.record.state) == (False, "duplicate", DONE)
    pending = ledger.claim("s3://staging/other.ach", "0001")  # no record when the reprocess read it
    assert ledger.claim("s3://staging/other.ach", "", force=True, over="").status == "busy"
    ledger.finish(pending, state=DONE)
    assert ledger.claim("s3://staging/other.ach", "", force=True, over="").status == "duplicate"

    _record, etag = ledger.get(SOURCE)
    granted = ledger.claim(SOURCE, "", force=True, over=etag)
    assert granted.granted and granted.record.forced and granted.record.attempts == 3
    # Each finished outcome it replaced is kept, oldest first: old attempt -> new attempt.
    assert [(h["attempts"], h["state"], h["reason"]) for h in granted.record.history] == [
        (1, "quarantined", "bad totals"),
        (2, DONE, ""),
    ]
