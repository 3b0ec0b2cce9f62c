"""The processing record: one per staged object, claimed with conditional writes.

Events arrive at least once and out of order (the product brief's lesson 4). Before touching an object, a worker
claims it here; the claim is a conditional write, so of two workers racing on the same
object exactly one wins. Each record holds the event's ``sequencer`` (S3's per-key event
order or GCS's generation; "" for a manual run, which has none) and the object's modification
time: an event older than the one already claimed is stale and does nothing, so the newest
version wins deterministically whatever order the events come in. Only one worker holds a
key at a time: a newer version's event waits (``busy``) while an older one is processed.

A forced claim (a reprocess: ``bankgate.reprocess``) takes over only a finished record (done,
quarantined, failed) or an expired lease, never a live one, and only the version of the record
its caller read (``over``, the record's etag): the conditional write then fails if anything
claimed the object in between, such as the S3 event for the restaged copy, so the reprocess and
the event's worker never both process it. Each claim over a finished outcome keeps a summary of
that outcome in ``history``, so the record tells old attempt -> new attempt.

Why conditional writes on the object store (S3 ``If-None-Match``/``If-Match``, GCS
generation preconditions, link/lock on a local directory) rather than DynamoDB: the ledger
then needs no other service, lives beside the data it describes with the same durability,
and each record is a readable JSON file an operator can inspect with the tools they have.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from bankgate import lease
from bankgate.ledger import index, links
from bankgate.ledger.root import Root, url_digest
from bankgate.store.base import ObjectStore

State = Literal["processing", "done", "quarantined", "failed", "handed_off"]  # a ledger record's
ClaimStatus = Literal["claimed", "duplicate", "stale", "busy", "handed_off"]  # what a claim came to
PROCESSING: State = "processing"
DONE: State = "done"
QUARANTINED: State = "quarantined"
FAILED: State = "failed"
#: Given to a batch job (``bankgate.batch``) with the job's id and a lease the job takes over.
HANDED_OFF: State = "handed_off"
#: The report written beside a quarantined original (``<quarantined key>.error.json``, by the
#: pipeline): the journey and the Files view name it from the record's ``archived_to``.
REPORT_SUFFIX = ".error.json"
#: A claim older than this is taken to belong to a worker that died (Lambda's limit is 15 min).
#: Must exceed the longest a worker may run; see the README for its relation to SQS.
LEASE_SECONDS = 16 * 60
#: Failed attempts (infrastructure errors, expired leases) after which a version is quarantined
#: instead of retried: a poison object must not circle until its message lands in a DLQ.
MAX_FAILURES = 3
#: What earlier bankgate recorded for a run without an event sequencer: the modification time
#: in nanoseconds, zero-padded to 20 digits, as if it were a sequencer (read back as a time).
_LEGACY_MTIME_SEQUENCER = re.compile(r"0[1-9][0-9]{18}")
#: Earlier outcomes a record keeps (``history``), newest last.
HISTORY = 20
#: A processing record's key below the root (other schemas share the root: see the package doc).
_RECORD_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}\.json")


def compare_sequencers(a: str, b: str) -> int:
    """-1, 0 or 1 as event sequencer ``a`` is older than, the same as or newer than ``b``.

    AWS's rule for the sequencers of one key: they may differ in length, so left-pad the
    shorter with zeros, then compare (hex digits, in either case). GCS generations, decimal,
    order the same way."""
    width = max(len(a), len(b))
    a, b = a.upper().rjust(width, "0"), b.upper().rjust(width, "0")
    return (a > b) - (a < b)


@dataclass(slots=True)
class LedgerRecord:
    source: str  # the staged object's URL
    sequencer: str
    state: State
    etag: str = ""
    version: str | None = None
    modified_ns: int = 0  # the store's modification time of the object claimed
    claimed_at: float = 0.0
    expires_at: float = 0.0  # the claim's lease (bankgate.lease): another worker may take over after
    finished_at: float = 0.0
    attempts: int = 0
    failures: int = 0  # failed attempts at this sequencer so far (infrastructure errors, dead workers)
    last_failure: str = ""  # why the latest of them failed
    file_type: str = ""
    sha256: str = ""  # of the bytes received
    #: What a pushed file's client declared (``bankgate.push``); "" for a pull, or none declared.
    declared_sha256: str = ""
    size: int = 0
    outputs: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    archived_to: str = ""
    reason: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)
    #: The link its origin wrote (``links``: kind, owner, record, name, day), read at the claim;
    #: empty when none was written (an object dropped into staging by hand, or an old record).
    origin: dict[str, str] = field(default_factory=dict)
    job_id: str = ""  # the batch job a big file was handed to, or the job processing it
    forced: bool = False  # this attempt is a forced reprocess
    #: The outcomes of earlier attempts this record replaced (``attempt_summary``), oldest first.
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> bytes:
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return json.dumps(fields, sort_keys=True, default=str).encode()

    @classmethod
    def from_json(cls, data: bytes) -> LedgerRecord:
        raw = json.loads(data)
        if "modified_ns" not in raw and _LEGACY_MTIME_SEQUENCER.fullmatch(str(raw.get("sequencer", ""))):
            raw["modified_ns"], raw["sequencer"] = int(raw["sequencer"]), ""  # a time, not a sequencer
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


def attempt_summary(record: LedgerRecord) -> dict[str, Any]:
    """What ``history`` keeps of a finished attempt: enough to tell it and find its original."""
    codes = sorted({str(p["code"]) for p in record.problems if p.get("code")})
    fields = ("attempts", "state", "sequencer", "claimed_at", "finished_at", "file_type", "sha256", "forced")
    return {
        **{name: getattr(record, name) for name in fields},
        "reason": record.reason,
        "codes": codes,
        "archived_to": record.archived_to,
    }


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of a claim: ``granted`` to process, otherwise why not (``status``)."""

    granted: bool
    status: ClaimStatus
    record: LedgerRecord
    etag: str = ""


class Ledger:
    def __init__(self, store: ObjectStore, prefix: str = "ledger/", *, lease_seconds: int = LEASE_SECONDS) -> None:
        self.store = store
        self.prefix = prefix
        self.lease_seconds = lease_seconds

    @property
    def root(self) -> Root:
        return Root(self.store, self.prefix)

    def key_for(self, source: str) -> str:
        digest = url_digest(source)
        return f"{self.prefix}{digest[:2]}/{digest}.json"  # spread over 256 prefixes

    def get(self, source: str) -> tuple[LedgerRecord, str] | None:
        current = lease.read(self.store, self.key_for(source))
        return None if current is None else (LedgerRecord.from_json(current.data), current.etag)

    def claim(
        self,
        source: str,
        sequencer: str,
        *,
        etag: str = "",
        version: str | None = None,
        modified_ns: int = 0,
        force: bool = False,
        over: str | None = None,
        job_id: str = "",
    ) -> Claim:
        """Claim the object ``source`` names, at its event's ``sequencer`` ("" when there is no
        event: a manual run). Exactly one of concurrent claimants is granted. ``job_id`` is the
        batch job's own id when the claimant is the job an object was handed off to. ``force``:
        a reprocess, granted over a finished record or an expired lease; with ``over``, only while
        the record is still the version whose etag that is ("": while there is none; see the
        module doc).
        The claim copies the object's link into the record (``origin``) and marks it
        ``processing`` in the index."""
        link = links.read(self.root, source)
        origin = link.to_dict() if link is not None else {}

        def change(current: lease.Current | None) -> tuple[bytes | None, tuple[ClaimStatus, LedgerRecord]]:
            now = time.time()
            fresh = LedgerRecord(source, sequencer, PROCESSING, etag, version, modified_ns, claimed_at=now, attempts=1)
            fresh.expires_at = now + self.lease_seconds
            fresh.origin = origin
            fresh.job_id = job_id
            fresh.forced = force
            if current is None:
                return fresh.to_json(), ("claimed", fresh)
            record = LedgerRecord.from_json(current.data)
            if force:
                decision = self._decide_forced(record, now, over is not None and current.etag != over)
            else:
                decision = self._decide(record, fresh, now)
            if decision != "claimed":
                return None, (decision, record)
            self._inherit(fresh, record)
            return fresh.to_json(), ("claimed", fresh)

        try:
            written, (status, record) = lease.swap(self.store, self.key_for(source), change)
        except lease.Contended:
            current = self.get(source)
            return Claim(False, "busy", current[0] if current else LedgerRecord(source, sequencer, PROCESSING))
        if written is not None:
            self._index(record)
        return Claim(written is not None, status, record, written or "")

    def _inherit(self, fresh: LedgerRecord, record: LedgerRecord) -> None:
        """What a granted claim keeps of the record it replaces: the attempt count and history,
        the hand-off's sequencer for its own job, and a failure when the attempt before failed."""
        fresh.attempts = record.attempts + 1
        fresh.history = record.history[-HISTORY:]
        if record.state in (DONE, QUARANTINED):
            fresh.history = [*record.history, attempt_summary(record)][-HISTORY:]
        same_job = bool(fresh.job_id) and fresh.job_id == record.job_id
        if same_job:
            fresh.sequencer = record.sequencer  # the job takes over the hand-off's claim and lease
        if record.state == HANDED_OFF and same_job:
            return  # the hand-off arriving where it was sent: not a failure
        if (
            fresh.sequencer == record.sequencer
            and record.state in (FAILED, PROCESSING, HANDED_OFF)
            and not fresh.forced
        ):
            fresh.failures = record.failures + 1  # the attempt before this one failed
            fresh.last_failure = record.reason if record.state == FAILED else self._expired(record)

    def retake(self, source: str, job_id: str, reason: str) -> Claim:
        """Take back a hand-off whose job ``job_id`` never started (``bankgate.batch``), to
        submit another: granted only while the record is still handed to that job, so of
        several workers or sweeps retaking it at once exactly one wins (one compare-and-swap);
        the others see it claimed or handed to the new job. Counted as a failure (``reason``)."""

        def change(current: lease.Current | None) -> tuple[bytes | None, tuple[ClaimStatus, LedgerRecord | None]]:
            record = LedgerRecord.from_json(current.data) if current is not None else None
            if record is None or record.state != HANDED_OFF or record.job_id != job_id:
                return None, ("handed_off" if record is not None and record.state == HANDED_OFF else "busy", record)
            now = time.time()
            record.state, record.claimed_at, record.expires_at = PROCESSING, now, now + self.lease_seconds
            record.attempts, record.failures, record.last_failure = record.attempts + 1, record.failures + 1, reason
            record.job_id = ""  # the stuck job, should it start now, no longer takes the claim over
            return record.to_json(), ("claimed", record)

        try:
            written, (status, found) = lease.swap(self.store, self.key_for(source), change)
        except lease.Contended:
            written, status, found = None, "busy", None
        record = found or LedgerRecord(source, "", PROCESSING)
        if written is not None:
            self._index(record)
        return Claim(written is not None, status, record, written or "")

    def _decide_forced(self, record: LedgerRecord, now: float, changed: bool) -> ClaimStatus:
        """A forced claim: never over a live lease, nor over a record changed since it was read."""
        live = record.state in (PROCESSING, HANDED_OFF) and lease.Lease.live(self._holder(record), now)
        if live:
            return "handed_off" if record.state == HANDED_OFF else "busy"
        if changed:
            return "duplicate"  # another worker processed it since the caller read the record
        return "claimed"

    def _decide(self, record: LedgerRecord, claimant: LedgerRecord, now: float) -> ClaimStatus:
        order = _order(claimant, record)
        if order < 0:
            return "stale"  # a newer version of this key was already claimed
        same_job = bool(claimant.job_id) and claimant.job_id == record.job_id
        if order == 0 and same_job and record.state in (HANDED_OFF, PROCESSING):
            # The job the object was handed to takes over, whatever the lease says; so does a
            # new attempt of that job (Batch retries under the same id) after one that died.
            return "claimed"
        if record.state == HANDED_OFF and lease.Lease.live(self._holder(record), now):
            # A duplicate event while the job has it is a no-op (not "busy": that would circle the
            # message through its receives for as long as the job runs); a newer version waits.
            return "handed_off" if order == 0 else "busy"
        if record.state == PROCESSING and lease.Lease.live(self._holder(record), now):
            return "busy"  # another worker holds a live claim: this one retries when it is done
        same = bool(claimant.sequencer and record.sequencer) or (claimant.etag, claimant.version) == (
            record.etag,
            record.version,
        )
        if order == 0 and same and record.state in (DONE, QUARANTINED):
            return "duplicate"
        # A newer version; FAILED (an infrastructure error released it); a dead worker's (or a
        # batch job's that died or never started) expired lease; or, ordered by time, another
        # object of the same modification time.
        return "claimed"

    def _holder(self, record: LedgerRecord) -> dict[str, float]:
        """The record's lease; one written before leases were recorded runs from its claim."""
        return {"expires_at": record.expires_at or record.claimed_at + self.lease_seconds}

    def _expired(self, record: LedgerRecord) -> str:
        claimed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.claimed_at))
        if record.state == HANDED_OFF:
            return f"batch job {record.job_id}, handed the object at {claimed}, did not finish within its lease"
        return (
            f"the worker that claimed it at {claimed} did not finish within the {self.lease_seconds} s lease "
            "(killed, timed out or out of memory)"
        )

    def finish(self, claim: Claim, **updates: Any) -> LedgerRecord:
        """Record the outcome; only the holder of the claim may write it."""
        record = claim.record
        for name, value in updates.items():
            setattr(record, name, value)
        record.finished_at = time.time()
        written = self.store.replace(self.key_for(record.source), record.to_json(), etag=claim.etag)
        if written is None:  # compare-and-swap on the claim's own etag: only its holder may finish
            raise ClaimLost(f"ledger record for {record.source} changed while it was being processed")
        self._index(record)
        return record

    def records(self) -> list[LedgerRecord]:
        """Every processing record (a scan: one GET each; ``index`` lists a day in one)."""
        return [
            LedgerRecord.from_json(self.store.read_bytes(i.key))
            for i in self.store.list(self.prefix)
            if _RECORD_KEY.fullmatch(i.key[len(self.prefix) :])
        ]

    def _index(self, record: LedgerRecord) -> None:
        """Note the record's new state in its owner's day index (never fails the processing).
        An object no origin linked has no owner or day, so no index: ``show URL`` finds its
        record, and ``reconcile`` reports it while it is in staging."""
        owner, day = record.origin.get("owner"), record.origin.get("day")
        if not owner or not day:
            return
        common = {"name": record.origin.get("name") or record.source.rsplit("/", 1)[-1]}
        common["kind"] = record.origin.get("kind", "")
        if record.state == PROCESSING:
            index.update(self.root, owner, day, record.source, "processing", record.claimed_at, **common, reason="")
            return
        codes = sorted({str(p["code"]) for p in record.problems if p.get("code")})
        index.update(
            self.root,
            owner,
            day,
            record.source,
            record.state,
            record.finished_at,
            **common,
            type=record.file_type or None,
            size=record.size or None,
            sha256=record.sha256 or None,
            records=sum(record.counts.values()),
            counts=record.counts,
            totals=record.totals,
            reason=record.reason,
            codes=codes,
            archived_to=record.archived_to or None,
        )


def _order(claimant: LedgerRecord, record: LedgerRecord) -> int:
    """Where the claimant's object stands against the recorded one: by event sequencers where
    both have one; else (a manual run has none, and must never be compared with a sequencer
    as if it were one) by the store's modification times of the two objects."""
    if claimant.sequencer and record.sequencer:
        return compare_sequencers(claimant.sequencer, record.sequencer)
    return (claimant.modified_ns > record.modified_ns) - (claimant.modified_ns < record.modified_ns)


class ClaimLost(RuntimeError):
    """Another worker took over this object (our lease expired); our result is not recorded."""
