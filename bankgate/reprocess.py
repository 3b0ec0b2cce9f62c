"""Reprocessing one file: its original back in staging, processed again, its old quarantine
copy retired. The ``bank_reprocess`` DAG (``plugins/bankgate_airflow/reprocess.py``) runs this
for each file it selected; it holds against the S3 event the restaged copy causes.

1. The file's processing record is read; its etag is the version this reprocess takes over. A
   record under a live lease is left alone: a worker is processing the file right now.
2. When staging no longer has the object, its original is copied back from where the record
   says (``archived_to``: the archive, or quarantine) under its original key, with metadata
   ``bankgate-reprocess-of`` naming where it came from. So a file the bank's server deleted or
   moved after the pull is reprocessed without a re-pull.
3. The pipeline processes it with a forced claim over that record version (``Ledger.claim``).
   Where staging sends object-created events, the processing Lambda may claim the restaged
   copy first: the forced claim is then refused (``busy`` while that worker holds it,
   ``duplicate`` once it is done), and the reprocess waits for that worker's outcome and
   reports it. Exactly one of them processes the copy.
4. Once a processed outcome is recorded and its archived copy is verified (present, with the
   SHA-256 of the quarantined bytes), the old quarantine copy and its ``.error.json`` move to
   the quarantine's history, ``<quarantine>_history/<key>~attempt-<n>`` (``_history`` cannot
   be a bank's or client's name): copy, verify, then delete, so the original is never lost
   before its copy is verified, and nothing left in quarantine looks like a live problem. The
   record's ``history`` entry of the old attempt names where they went (``retired_to``), and
   the journey shows old attempt -> new attempt. A file quarantined again keeps its quarantine
   place (the new copy and report replace the old); the old reason stays in ``history``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bankgate import lease
from bankgate.ledger import DONE, FAILED, HANDED_OFF, PROCESSING, QUARANTINED, Ledger, LedgerRecord
from bankgate.pipeline import REPORT_SUFFIX, Pipeline, StagedObject
from bankgate.store.base import ObjectStore
from bankgate.streams import sha256_of

log = logging.getLogger(__name__)

META_REPROCESS_OF = "bankgate-reprocess-of"
#: Where retired quarantine copies go, below the quarantine prefix.
HISTORY_PREFIX = "_history/"
#: How long a reprocess waits for another worker (an event's) that holds the restaged copy.
WAIT_SECONDS = 120.0
#: A ledger record's state -> what a reprocess reports for it.
_OUTCOMES = {DONE: "processed", QUARANTINED: "quarantined", FAILED: "failed", HANDED_OFF: "handed_off"}


def key_in(store: ObjectStore, url: str) -> str | None:
    """``url``'s key in ``store``, or None when it lies elsewhere."""
    base = store.url_of("")
    return url[len(base) :] if url.startswith(base) else None


def reprocess_one(pipeline: Pipeline, url: str, *, wait_seconds: float = WAIT_SECONDS) -> dict[str, Any]:
    """Put ``url``'s original back in staging and process it again; what happened (``status``:
    processed, quarantined, failed, handed_off, or skipped with a ``reason``)."""
    result: dict[str, Any] = {"url": url, "name": url.rsplit("/", 1)[-1]}
    key = key_in(pipeline.staging, url)
    if key is None:
        return {**result, "status": "skipped", "reason": f"not in the staging store {pipeline.staging.url_of('')}"}
    found = pipeline.ledger.get(url)
    before, etag = found if found else (None, "")
    result["before"] = before.state if before else "pending"
    if before is not None and _live(pipeline.ledger, before):
        return {**result, "status": "skipped", "reason": "being processed right now; try again when it is done"}
    if pipeline.staging.info(key) is None:
        restored = _restage(pipeline, key, before)
        if restored.startswith("!"):
            return {**result, "status": "skipped", "reason": restored[1:]}
        result["from"] = restored
    outcome = pipeline.process(StagedObject(key), force=True, over=etag)
    if outcome.status in ("busy", "duplicate", "handed_off", "missing"):
        # Another worker (the restaged copy's event) claimed it first: its outcome is the answer.
        result |= _outcome_of_other(pipeline.ledger, url, etag, wait_seconds)
    else:
        result |= {"status": outcome.status, "type": outcome.file_type, "records": outcome.records}
        result |= {"reason": outcome.reason, "outputs": outcome.outputs}
    log.info("%s: %s -> %s %s", url, result["before"], result["status"], result.get("reason", ""))
    if result["status"] == "processed" and before is not None:
        result |= retire(pipeline, url, before)
    return result


def _live(ledger: Ledger, record: LedgerRecord) -> bool:
    if record.state not in (PROCESSING, HANDED_OFF):
        return False
    return lease.Lease.live({"expires_at": record.expires_at or record.claimed_at + ledger.lease_seconds}, time.time())


def _restage(pipeline: Pipeline, key: str, record: LedgerRecord | None) -> str:
    """Copy the record's original back to staging ``key``; where it came from, or "!why not"."""
    original = record.archived_to if record else ""
    for store in (pipeline.archive, pipeline.quarantine):
        original_key = key_in(store, original) if original else None
        info = store.info(original_key) if original_key else None
        if original_key and info is not None:
            metadata = {**info.metadata, META_REPROCESS_OF: original}
            store.copy_to(original_key, pipeline.staging, key, metadata=metadata)
            return original
    return f"!its original {original} is gone" if original else "!no original in the archive or quarantine"


def _outcome_of_other(ledger: Ledger, url: str, etag: str, wait_seconds: float) -> dict[str, Any]:
    """The outcome another worker recorded for ``url`` after the record version ``etag``,
    waiting up to ``wait_seconds`` while it still holds the file."""
    deadline = time.monotonic() + wait_seconds
    while True:
        found = ledger.get(url)
        if found is not None and found[1] != etag and not _live(ledger, found[0]):
            record = found[0]
            return {
                "status": _OUTCOMES.get(record.state, "failed"),
                "type": record.file_type,
                "records": sum(record.counts.values()),
                "reason": record.reason,
                "outputs": [str(o.get("url", "")) for o in record.outputs],
                "by": "another worker (the restaged copy's event) processed it",
            }
        if time.monotonic() >= deadline:
            why = f"another worker still holds it after {wait_seconds:.0f} s; see its ledger record"
            return {"status": "skipped", "reason": why}
        time.sleep(min(1.0, wait_seconds / 10 or 0.1))


def retire(pipeline: Pipeline, url: str, old: LedgerRecord) -> dict[str, Any]:
    """Move ``old``'s quarantine copy and report to the history once ``url``'s new outcome is
    recorded as processed and its archived copy verified; ``retired`` names where they went
    (empty when there was nothing to move), ``kept`` why they stayed."""
    quarantined = key_in(pipeline.quarantine, old.archived_to) if old.state == QUARANTINED else None
    if not quarantined or pipeline.quarantine.info(quarantined) is None:
        return {}
    found = pipeline.ledger.get(url)
    new = found[0] if found else None
    if new is None or new.state != DONE or not new.archived_to:
        return {"kept": "the new outcome is not recorded as processed"}
    archived = key_in(pipeline.archive, new.archived_to)
    copy = pipeline.archive.info(archived) if archived else None
    digest = _sha256(pipeline.quarantine, quarantined)
    if copy is None or archived is None or new.sha256 != digest or _sha256(pipeline.archive, archived) != digest:
        return {"kept": f"its archived copy {new.archived_to} is missing or holds other bytes"}
    target = pipeline.quarantine_prefix + HISTORY_PREFIX + quarantined[len(pipeline.quarantine_prefix) :]
    target = pipeline.quarantine.fit_key(f"{target}~attempt-{old.attempts}", suffix=REPORT_SUFFIX)
    target = target.removesuffix(REPORT_SUFFIX)  # a key that fits with and without the suffix
    moved = {"original": _move(pipeline.quarantine, quarantined, target, digest)}
    if pipeline.quarantine.info(quarantined + REPORT_SUFFIX) is not None:
        report = quarantined + REPORT_SUFFIX
        digest = _sha256(pipeline.quarantine, report)
        moved["report"] = _move(pipeline.quarantine, report, target + REPORT_SUFFIX, digest)
    _note_retired(pipeline.ledger, url, old.attempts, moved)
    return {"retired": moved}


def _sha256(store: ObjectStore, key: str) -> str:
    with store.open(key) as stream:
        return sha256_of(stream)


def _move(store: ObjectStore, key: str, target: str, digest: str) -> str:
    """Copy, verify the copy's SHA-256, then delete the source: never the other way round."""
    store.copy_to(key, store, target)
    if _sha256(store, target) != digest:
        raise RuntimeError(f"{store.url_of(target)}: the copy's SHA-256 differs from {store.url_of(key)}")
    store.delete(key)
    return store.url_of(target)


def _note_retired(ledger: Ledger, url: str, attempt: int, moved: dict[str, str]) -> None:
    """Name on the old attempt's history entry where its quarantine copy went (a view: the
    copies are at their history place whether or not this write lands)."""

    def change(current: lease.Current | None) -> tuple[bytes | None, None]:
        if current is None:
            return None, None
        record = LedgerRecord.from_json(current.data)
        entry = next((h for h in reversed(record.history) if h.get("attempts") == attempt), None)
        if entry is None or entry.get("retired_to") == moved:
            return None, None
        entry["retired_to"] = moved
        return record.to_json(), None

    try:
        lease.swap(ledger.store, ledger.key_for(url), change)
    except Exception:
        log.warning("could not note on %s's ledger record where its quarantine copy went", url, exc_info=True)


__all__ = ["HISTORY_PREFIX", "META_REPROCESS_OF", "WAIT_SECONDS", "key_in", "reprocess_one", "retire"]
