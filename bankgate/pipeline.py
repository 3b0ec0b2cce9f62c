"""Processing one staged object, exactly once: claim, unpack, detect, parse, route, archive.

Whatever happens, the object ends processed (outputs written, original archived, ledger
``done``) or quarantined (original copied to quarantine with a ``.error.json`` saying why,
ledger ``quarantined``). A file problem (bad records, a zip bomb, a wrong key) quarantines;
an infrastructure problem (the store is down) releases the claim and re-raises so the event
is retried. The original leaves staging only after its copy is verified.

All work happens in a fresh ``uuid4`` scratch directory that is removed on every path, and
no request data is kept anywhere else: one ``Pipeline`` serves any number of objects.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal, get_args

import orjson

from bankgate import settings
from bankgate.config import PipelineConfig
from bankgate.ledger import DONE, FAILED, HANDED_OFF, QUARANTINED, REPORT_SUFFIX, Claim, Ledger, LedgerRecord
from bankgate.parsers.detect import CONTAINERS, HEAD_BYTES, NOT_A_BANK_FILE, PGP, UNKNOWN, ZIP, detect
from bankgate.parsers.output import output_format, write_records
from bankgate.parsers.problems import ParseError, Problem
from bankgate.push import records as push_records
from bankgate.scratch import scratch_dir, sweep_scratch
from bankgate.store import LocalFiles, ObjectInfo, ObjectStore, SweepsPartials, Versioned, open_url
from bankgate.streams import OVERLAP_BYTES, HashingReader, peekable, read_ahead, sha256_of, write_behind

log = logging.getLogger(__name__)

MAX_PGP_LAYERS = 2
#: Output metadata naming what an output is the output of: a digest of the staged object's URL
#: and the member's lineage, the same for every version of that source.
OUTPUT_OF = "bankgate-output-of"


@dataclass(frozen=True, slots=True)
class StagedObject:
    """One object an event points at. ``etag``/``version``/``sequencer`` come from the event;
    a manual run has none of them."""

    key: str
    etag: str = ""
    version: str | None = None
    sequencer: str = ""


#: What can become of an object an event names ("busy" is retried, so never a final answer;
#: "handed_off": a batch job has it, see ``bankgate.batch``).
Status = Literal["processed", "quarantined", "duplicate", "stale", "busy", "missing", "handed_off"]
STATUSES: tuple[Status, ...] = get_args(Status)


@dataclass(slots=True)
class Outcome:
    source: str
    status: Status
    file_type: str = ""
    outputs: list[str] = field(default_factory=list)
    reason: str = ""
    records: int = 0


class Rejected(Exception):
    """The file itself is unacceptable: it goes to quarantine with this reason.

    ``detail`` adds fields to the ``.error.json`` (an archive error's member and limit)."""

    def __init__(
        self, reason: str, problems: list[dict[str, Any]] | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems = problems or []
        self.detail = detail or {}


class TooBigHere(Exception):
    """The scratch budget refused the file, and a batch runner with a disk of its own may take it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VerificationFailed(RuntimeError):
    """A copy did not match its original; the original stays where it is."""


@dataclass(slots=True)
class _Work:
    """What one processing attempt produced; lives only for that attempt."""

    source: str  # the staged object's URL
    written: list[tuple[ObjectStore, str]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)  # waived rules among them
    file_type: str = ""
    overlap: bool = False  # a big object: reads and writes in threads of their own (bankgate.streams)


class Pipeline:
    def __init__(
        self, config: PipelineConfig, *, s3_client: Any = None, gcs_client: Any = None, handoff: Any = None
    ) -> None:
        """``handoff``: a ``bankgate.batch.HandOff`` for files too big for this worker, or None
        (this worker processes everything; the batch job's own pipeline has none)."""
        self.config = config
        self.handoff = handoff
        self._clients = {"s3_client": s3_client, "gcs_client": gcs_client}
        self.staging, _ = open_url(config.staging, **self._clients)
        self.archive, self.archive_prefix = open_url(config.archive, **self._clients)
        self.quarantine, self.quarantine_prefix = open_url(config.quarantine, **self._clients)
        ledger_store, ledger_prefix = open_url(config.ledger, **self._clients)
        self.ledger = Ledger(ledger_store, ledger_prefix, lease_seconds=config.lease_seconds)
        self._stores: dict[str, tuple[ObjectStore, str]] = {}
        self._keys: Any = None
        self._pgp_verify: Any = None
        self._next_sweep = 0.0  # monotonic time of the next sweep for what dead workers left

    def _store(self, url: str) -> tuple[ObjectStore, str]:
        if url not in self._stores:  # clients and stores are reusable; no request data here
            self._stores[url] = open_url(url, **self._clients)
        return self._stores[url]

    def relative_key(self, key: str) -> str:
        prefix = self.config.watched_prefix
        return key[len(prefix) :] if prefix and key.startswith(prefix) else key

    # -- one object ----------------------------------------------------------------------------

    def process(self, obj: StagedObject, *, force: bool = False, over: str | None = None, job_id: str = "") -> Outcome:
        """``job_id``: this worker is the batch job ``obj`` was handed off to (``bankgate.batch``).
        ``force``/``over``: a reprocess, of the ledger record whose etag is ``over`` (``Ledger.claim``)."""
        self._sweep_if_due()
        source = self.staging.url_of(obj.key)
        info = self.staging.info(obj.key, version=obj.version)
        if info is None:
            return self._gone(obj, source)
        if obj.etag and obj.version is None and info.etag != obj.etag:
            return Outcome(source, "stale", reason="the object was replaced after this event; its own event follows")
        # From here on every step reads, copies and deletes this one version (where the store
        # keeps versions), never whatever is current by then.
        obj = dataclasses.replace(obj, version=obj.version or info.version)
        claim, stuck = self._claim(obj, info, source, force=force, over=over, job_id=job_id)
        if not claim.granted:
            return self._refused(obj, info, claim)
        older = (
            self.staging.older_versions(obj.key, obj.version)
            if obj.version and isinstance(self.staging, Versioned)
            else []
        )
        work = _Work(source, overlap=info.size >= OVERLAP_BYTES)
        upload: push_records.UploadRecord | None = None
        try:
            # push: the upload this object fulfils, found through the link the claim read
            upload = push_records.for_origin(self.ledger.store, self.ledger.prefix, claim.record.origin)
            done = self._content(obj, info, claim, work, upload, stuck)
        except TooBigHere as exc:  # raised only where a hand-off is configured
            self._discard(work)
            return self._hand_off(obj, claim, f"the scratch budget refused it: {exc.reason}")
        except Rejected as rejected:
            return self._rejected(obj, info, claim, rejected, work, older, upload)
        except BaseException as exc:
            self._discard(work)
            self._release(claim, exc)
            raise
        if isinstance(done, Outcome):  # handed off
            return done
        return self._processed(obj, info, claim, work, done, older, upload)

    def _content(
        self,
        obj: StagedObject,
        info: ObjectInfo,
        claim: Claim,
        work: _Work,
        upload: push_records.UploadRecord | None,
        stuck: str,
    ) -> Outcome | tuple[str, int]:
        """The claimed object's content processed into ``work``: (SHA-256, size); or its outcome
        when handed off to a batch job (``stuck``: the job it is resubmitted for, see ``_claim``).
        Raises Rejected for a file to quarantine."""
        if claim.record.failures >= self.config.max_failures:
            raise self._poisoned(obj, claim.record)
        if self.handoff is not None and (stuck or self.handoff.wants(info.size)):
            why = f"resubmitted: {claim.record.last_failure}" if stuck else ""
            return self._hand_off(obj, claim, why or f"{info.size:,} bytes, above the batch threshold", stuck)
        digest, size = self._process_content(obj, info, work)
        # push: a pushed file is the bytes its client declared, or quarantined (bankgate.push)
        if mismatch := push_records.checksum_mismatch(upload, digest, size):
            raise Rejected(mismatch, detail={"error": "ChecksumMismatch"})
        return digest, size

    def _rejected(
        self,
        obj: StagedObject,
        info: ObjectInfo,
        claim: Claim,
        rejected: Rejected,
        work: _Work,
        older: list[ObjectInfo],
        upload: push_records.UploadRecord | None,
    ) -> Outcome:
        """Quarantine a rejected file (its claim released if that fails), older versions set aside."""
        self._discard(work)
        try:
            outcome = self._quarantine(obj, info, claim, rejected, work, upload=upload)
        except BaseException as exc:
            self._release(claim, exc)
            raise
        self._set_aside_all(obj, older)
        return self._settle_push(outcome, upload)

    def _processed(
        self,
        obj: StagedObject,
        info: ObjectInfo,
        claim: Claim,
        work: _Work,
        content: tuple[str, int],
        older: list[ObjectInfo],
        upload: push_records.UploadRecord | None,
    ) -> Outcome:
        """Archive the original (a verified copy, then delete) and record it done."""
        digest, size = content
        try:
            target_key = self.archive.fit_key(self.archive_prefix + self.relative_key(obj.key))
            archived = self._move(obj, info, self.archive, target_key, digest)
        except BaseException as exc:
            self._release(claim, exc)
            raise
        self.ledger.finish(
            claim,
            state=DONE,
            file_type=work.file_type,
            sha256=digest,
            declared_sha256=upload.sha256 if upload else "",
            size=size,
            outputs=work.outputs,
            counts=work.counts,
            totals=work.totals,
            problems=work.warnings[:100],  # a processed file's warnings, waived rules included
            archived_to=archived,
        )
        self._set_aside_all(obj, older)
        records = sum(work.counts.values())
        outcome = Outcome(work.source, "processed", work.file_type, [o["url"] for o in work.outputs], records=records)
        return self._settle_push(outcome, upload)

    def _claim(
        self, obj: StagedObject, info: ObjectInfo, source: str, *, force: bool, over: str | None, job_id: str
    ) -> tuple[Claim, str]:
        """The ledger's claim of the object, and the id of the job it is retaken from ("" if
        none): a hand-off whose job has not started in time (``HandOff.stuck``) is retaken to
        be submitted again (``Ledger.retake``: once, however many deliveries race for it)."""
        claim = self.ledger.claim(
            source,
            obj.sequencer,
            etag=info.etag,
            version=obj.version,
            modified_ns=info.modified_ns,
            force=force,
            over=over,
            job_id=job_id,
        )
        why = self.handoff.stuck(claim.record) if claim.status == "handed_off" and self.handoff is not None else ""
        if not why:
            return claim, ""
        stuck = claim.record.job_id
        retaken = self.ledger.retake(source, stuck, why)
        return retaken, stuck if retaken.granted else ""

    def resubmit_stuck(self) -> list[Outcome]:
        """The scheduled sweep: each staged object handed to a job longer ago than the hand-off's
        start time is delivered again, which resubmits it if its job never started. Staging
        holds only unfinished objects: one LIST, one ledger read per object, and a job-state
        request per old hand-off."""
        if self.handoff is None:
            return []
        outcomes = []
        for info in self.staging.list(self.config.watched_prefix):
            found = self.ledger.get(self.staging.url_of(info.key))
            if found is None or found[0].state != HANDED_OFF:
                continue
            if time.time() - found[0].finished_at >= self.handoff.start_seconds:
                outcomes.append(self.process(StagedObject(info.key, version=found[0].version)))
        return outcomes

    def oldest_staged_seconds(self, now: float | None = None) -> float:
        """How long the oldest object in the watched prefix has waited (0 when staging is
        empty): what the stack alarms on, since a file whose event was lost or dropped waits
        there with no message in any queue to age."""
        oldest = min((info.modified_ns for info in self.staging.list(self.config.watched_prefix)), default=0)
        return max(0.0, (now or time.time()) - oldest / 1e9) if oldest else 0.0

    def _refused(self, obj: StagedObject, info: ObjectInfo, claim: Claim) -> Outcome:
        """The ledger did not grant the claim: a stale version is set aside, the rest reported."""
        if claim.status == "stale" and obj.version:
            return self._set_aside(obj, info, claim.record.version or "")
        refused = claim.status
        assert refused != "claimed"  # a refusal is never "claimed"
        return Outcome(claim.record.source, refused, claim.record.file_type)

    def _gone(self, obj: StagedObject, source: str) -> Outcome:
        """The event's object is no longer in staging: processed already, set aside, or missing."""
        known = self.ledger.get(source)
        done = known is not None and known[0].state in (DONE, QUARANTINED)
        if done and known is not None and obj.version and known[0].version != obj.version:
            return Outcome(source, "stale", reason="an older version, set aside when a newer one was processed")
        return Outcome(source, "duplicate" if done else "missing", reason="" if done else "not in staging")

    def _settle_push(self, outcome: Outcome, upload: push_records.UploadRecord | None) -> Outcome:
        """push: a pushed object's upload record takes the outcome (``bankgate.push.records``);
        the outcome stands if that write fails, since this ledger's record already holds it."""
        if upload is None or outcome.status not in ("processed", "quarantined"):
            return outcome  # a duplicate, stale or busy event settles nothing
        try:
            state: push_records.State = "processed" if outcome.status == "processed" else "quarantined"
            push_records.settle(self.ledger.store, self.ledger.prefix, upload, state, outcome.reason)
        except Exception:
            log.warning("recording the outcome of pushed %s on its upload record failed", outcome.source, exc_info=True)
        return outcome

    def _hand_off(self, obj: StagedObject, claim: Claim, why: str, replaces: str = "") -> Outcome:
        """Submit the object to the batch runner and record the hand-off: the job's id, and a
        lease long enough for it to start and finish, which the job takes over when it claims.
        ``replaces``: the stuck job this one is resubmitted for, cancelled once this is recorded."""
        try:
            job_id = self.handoff.submit(claim.record.source, obj.version)
            until = time.time() + self.handoff.lease_seconds
            self.ledger.finish(claim, state=HANDED_OFF, job_id=job_id, expires_at=until, reason=why)
        except BaseException as exc:
            self._release(claim, exc)
            raise
        if replaces:
            self.handoff.cancel(replaces, f"not started in time; the object was resubmitted as batch job {job_id}")
        return Outcome(claim.record.source, "handed_off", reason=f"{why}; batch job {job_id}")

    def _sweep_if_due(self) -> None:
        """At most twice per lease, remove what killed workers left: their scratch directories
        and hidden partial outputs, once older than the lease (no live worker is that old)."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.config.lease_seconds / 2
        self.sweep()

    def sweep(self) -> int:
        """Remove dead workers' leftovers now; how many. Housekeeping must not fail the file at
        hand, so an error is logged and the next sweep tries again."""
        lease = self.config.lease_seconds
        stores = {self.archive.url: self.archive, self.quarantine.url: self.quarantine}
        stores[self.ledger.store.url] = self.ledger.store
        for route in self.config.routes.values():
            store, _ = self._store(route.destination)
            stores.setdefault(store.url, store)
        removed = _housekeeping("scratch", lambda: sweep_scratch(self._scratch_root(), lease))
        for url, store in stores.items():
            if isinstance(store, SweepsPartials):
                removed += _housekeeping(url, partial(store.sweep_partials, lease))
        return removed

    def _release(self, claim: Claim, exc: BaseException) -> None:
        """An infrastructure failure: mark the claim failed so a retry may take it at once."""
        # The original error matters more than a failed release; the lease expires anyway.
        with contextlib.suppress(Exception):
            self.ledger.finish(claim, state=FAILED, reason=f"{type(exc).__name__}: {exc}"[:500])

    def _poisoned(self, obj: StagedObject, record: LedgerRecord) -> Rejected:
        """A version whose every attempt failed for reasons outside the file: stop retrying, so
        it does not circle until its message is parked in a DLQ while the file waits in staging."""
        n, allowed = record.failures, self.config.max_failures
        reason = (
            f"{self.relative_key(obj.key)}: gave up after {n} failed "
            f"attempts (max_failures {allowed}), each for a reason outside the file; the last: {record.last_failure}. "
            "Move it back to staging to retry once the cause is fixed"
        )
        detail = {"error": "TooManyFailures", "limit": "max_failures", "actual": n, "allowed": allowed}
        return Rejected(reason[:2000], detail=detail)

    # -- content -------------------------------------------------------------------------------

    def _process_content(self, obj: StagedObject, info: ObjectInfo, work: _Work) -> tuple[str, int]:
        lineage = (self.relative_key(obj.key),)
        with scratch_dir(self._scratch_root(), self.config.scratch_budget_bytes) as scratch:
            with self.staging.open(obj.key, version=obj.version) as raw:
                hashing = HashingReader(raw)
                # Reading and hashing overlap the parse (bankgate.streams); the read-ahead stops
                # before the digest takes the rest, so it covers every byte, in order.
                with read_ahead(hashing, work.overlap) as ahead:
                    stream = peekable(ahead)
                    kind = detect(stream.peek(HEAD_BYTES)[:HEAD_BYTES], settings.layout_dirs())
                    local = self.staging if isinstance(self.staging, LocalFiles) else None
                    seekable = local.open_seekable(obj.key, version=obj.version) if kind == ZIP and local else None
                    if seekable is None:
                        self._handle(stream, lineage, scratch, work, depth=0, kind=kind)
                if seekable is not None:
                    # A zip read in place: no copy in scratch. The digest takes its own pass.
                    hashing.drain()
                    with seekable:
                        self._unpack(seekable, lineage, scratch, work)
                else:
                    hashing.drain()
            return hashing.hexdigest, hashing.size

    def _scratch_root(self) -> Path | None:
        return Path(self.config.scratch_root) if self.config.scratch_root else None

    def _handle(
        self, stream: Any, lineage: tuple[str, ...], scratch: Path, work: _Work, depth: int, kind: str = ""
    ) -> None:
        kind = kind or detect(stream.peek(HEAD_BYTES)[:HEAD_BYTES], settings.layout_dirs())
        if kind == PGP:
            self._decrypt(stream, lineage, scratch, work, depth)
        elif kind in CONTAINERS:
            self._unpack(stream, lineage, scratch, work)
        else:
            self._parse(stream, kind, lineage, work)

    def _unpack(self, stream: Any, lineage: tuple[str, ...], scratch: Path, work: _Work) -> None:
        """Each member is a file of its own, named by its lineage (archive/member/...)."""
        from bankgate.archives import ArchiveError, OutOfScratch, UnpackLimits, iter_members

        limits = UnpackLimits(scratch_budget_bytes=self.config.scratch_budget_bytes)
        try:
            for member in iter_members(
                stream, name=lineage[-1], scratch=scratch, limits=limits, layout_dirs=settings.layout_dirs()
            ):
                member_lineage = (*lineage[:-1], *member.path)
                # The member inflates in the read-ahead's thread; an archive error it meets
                # there is raised by the parser's read, as without it.
                with read_ahead(member.stream, work.overlap) as ahead:
                    inner = peekable(ahead)
                    if member.kind == PGP:
                        self._decrypt(inner, member_lineage, scratch, work, 0)
                    else:
                        self._parse(inner, member.kind, member_lineage, work)
        except OutOfScratch as exc:
            if self.handoff is None:  # nowhere bigger to go: as any other archive error
                raise Rejected(exc.reason, detail=exc.to_dict()) from None
            raise TooBigHere(exc.reason) from None
        except ArchiveError as exc:
            raise Rejected(exc.reason, detail=exc.to_dict()) from None  # member, limit, actual, allowed

    def _decrypt(self, stream: Any, lineage: tuple[str, ...], scratch: Path, work: _Work, depth: int) -> None:
        """Decrypt into scratch, then detect again: a PGP file usually wraps a bank file or a zip."""
        from bankgate import pgp

        shown = "/".join(lineage)
        keys = self._pgp_keys()
        if keys is None:
            raise Rejected(f"{shown}: PGP-encrypted, and no decryption key is configured (BANKGATE_PGP_KEYS)")
        if depth >= MAX_PGP_LAYERS:
            raise Rejected(f"{shown}: more than {MAX_PGP_LAYERS} layers of PGP encryption")
        plain = scratch / f"decrypted-{depth}"
        try:
            pgp.decrypt(stream, keys=keys, out=plain, verify_with=self._pgp_verify, scratch_dir=scratch)
        except pgp.PgpError as exc:
            raise Rejected(f"{shown}: {exc.reason}") from None
        inner = (*lineage, _without_pgp_suffix(lineage[-1].rsplit("/", 1)[-1]))  # x.ach.pgp/x.ach
        try:
            with open(plain, "rb") as decrypted:
                self._handle(peekable(decrypted), inner, scratch, work, depth + 1)
        finally:
            plain.unlink(missing_ok=True)

    def _pgp_keys(self) -> Any:
        """The decryption key ring, loaded once per pipeline (a secret, like a client: config)."""
        if self._keys is None and self.config.pgp_keys:
            from bankgate import pgp
            from bankgate.secrets import resolve_secret

            passphrase = self.config.pgp_passphrase
            self._keys = pgp.KeyRing.from_armored(
                resolve_secret(self.config.pgp_keys), resolve_secret(passphrase) if passphrase else None
            )
            verify = self.config.pgp_verify_keys
            self._pgp_verify = pgp.PublicKeys.from_armored(resolve_secret(verify)) if verify else None
        return self._keys

    def _parse(self, stream: IO[bytes], kind: str, lineage: tuple[str, ...], work: _Work) -> None:
        from bankgate.parsers.registry import format_for_detected, open_parser

        shown = "/".join(lineage)
        kind = format_for_detected(kind)
        if kind == UNKNOWN or kind in CONTAINERS:
            what = "unrecognised content" if kind == UNKNOWN else kind + " file"
            problem = Problem(0, "file", None, f"{what}: no parser for it", code=NOT_A_BANK_FILE)
            raise Rejected(f"{shown}: {what}: no parser for it", [{"member": shown, **problem.as_dict()}])
        work.file_type = work.file_type or kind  # known from here on, so a rejected file has its type too
        allow = self.config.waived(kind, work.source)
        options = settings.parser_options()
        parser = open_parser(kind, stream, name=shown, lenient=self.config.lenient, allow=allow, **options)
        route = self.config.route_for(kind)
        store, prefix = self._store(route.destination)
        fmt = output_format(route.format)
        key, owner = self._output_key(store, prefix, lineage, "." + fmt.extension, work)
        metadata = {"bankgate-source": shown, "bankgate-type": kind, OUTPUT_OF: owner}
        try:
            # A big object's output is written in a thread of its own, overlapping the parse.
            with (
                store.writer(key, metadata=metadata, content_type=fmt.content_type) as out,
                write_behind(out, work.overlap) as behind,
            ):
                write_records(fmt.name, parser.iter_chunks(), behind, parser.record_classes)
        except ParseError as exc:
            problems = [p.as_dict() for p in exc.problems]
            first = exc.problems[0] if exc.problems else None
            detail = f"line {first.line}: {first}" if first else "invalid"
            more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            raise Rejected(f"{shown}: {detail}{more}", problems) from None
        work.written.append((store, key))
        work.warnings += [{"member": shown, **p.as_dict()} for p in parser.problems if p.severity != "error"]
        summary = parser.summary
        work.outputs.append({"url": store.url_of(key), "type": kind, "member": shown, "records": summary.as_dict()})
        for record_kind, n in summary.records.items():
            work.counts[record_kind] = work.counts.get(record_kind, 0) + n
        for total, value in summary.totals.items():
            work.totals[total] = work.totals.get(total, 0) + value

    def _output_key(
        self, store: ObjectStore, prefix: str, lineage: tuple[str, ...], extension: str, work: _Work
    ) -> tuple[str, str]:
        """Where one file's records go, and the id of what they are the output of.

        Outputs mirror the staging key, members under their archive's name and a decrypted
        file under its ``.pgp`` (``x.ach.pgp/x.ach.jsonl``, as a gzip's content), so distinct
        staged files get distinct names and a re-run writes the very same objects. Only a
        staging key that spells another's member path (``a.zip/x.ach`` beside ``a.zip``) can
        meet another source's name: the output there says whose it is (``OUTPUT_OF``), and the
        second source to come writes beside it, its id in the name. Never over it."""
        owner = hashlib.sha256("\0".join((work.source, *lineage)).encode()).hexdigest()[:32]
        key = store.fit_key(prefix + "/".join(lineage), suffix=extension)
        existing = store.info(key) if (store, key) not in work.written else None
        if (store, key) in work.written or (existing is not None and existing.metadata.get(OUTPUT_OF, owner) != owner):
            key = store.fit_key(f"{prefix}{'/'.join(lineage)}~{owner[:16]}", suffix=extension)
        return key, owner

    def _discard(self, work: _Work) -> None:
        for store, key in work.written:
            store.delete(key)
        work.written.clear()

    # -- moving originals -------------------------------------------------------------------------

    def _move(self, obj: StagedObject, info: ObjectInfo, target: ObjectStore, target_key: str, digest: str) -> str:
        """Copy, verify, then delete from staging: never the other way round (the product brief's lesson 6)."""
        metadata = {**info.metadata, "bankgate-sha256": digest, "bankgate-source": self.staging.url_of(obj.key)}
        copied = self.staging.copy_to(obj.key, target, target_key, metadata=metadata, version=obj.version)
        if copied.size != info.size:
            raise VerificationFailed(f"{target.url_of(target_key)}: {copied.size} bytes, original has {info.size}")
        if self.config.verify == "sha256" and _sha256_of(target, target_key) != digest:
            raise VerificationFailed(f"{target.url_of(target_key)}: SHA-256 differs from the processed original")
        if obj.version:
            self.staging.delete(obj.key, version=obj.version)  # exactly the version copied
        else:
            current = self.staging.info(obj.key)
            if current is not None and current.etag == info.etag:
                self.staging.delete(obj.key)
        return target.url_of(target_key)

    def _set_aside_all(self, obj: StagedObject, older: list[ObjectInfo]) -> None:
        """Versions older than the one just processed leave staging too: deleting a version
        makes the previous one current, and it must not sit there looking unprocessed."""
        for version in older:
            self._set_aside(dataclasses.replace(obj, version=version.version), version, obj.version or "")

    def _set_aside(self, obj: StagedObject, info: ObjectInfo, newer: str) -> Outcome:
        """An older version superseded by a newer one already claimed: not processed (its outputs
        and archive copy would replace the newer one's), but moved to quarantine under its own
        version's name, its bytes kept and the reason beside them."""
        source = self.staging.url_of(obj.key)
        target_key = self._quarantine_key(f"{self.relative_key(obj.key)}~{obj.version}")
        reason = (
            f"superseded: version {newer or '(unknown)'} of this key was claimed first; "
            f"this older version {obj.version} was not processed (reprocess it by hand if it should be)"
        )
        digest = _sha256_of(self.staging, obj.key, obj.version)
        report = {"source": source, "version": obj.version, "reason": reason, "sha256": digest}
        self._write_report(target_key, report)
        self._move(obj, info, self.quarantine, target_key, digest)
        return Outcome(source, "stale", reason=reason)

    def _quarantine_key(self, name: str) -> str:
        """Where a file goes in quarantine: both it and its ``.error.json`` fit the store."""
        return self.quarantine.fit_key(self.quarantine_prefix + name, suffix=REPORT_SUFFIX).removesuffix(REPORT_SUFFIX)

    def _write_report(self, target_key: str, report: dict[str, Any]) -> None:
        """``<quarantined file>.error.json``: why it is there, written before the file is moved."""
        self.quarantine.put_bytes(
            target_key + REPORT_SUFFIX,
            orjson.dumps(report, option=orjson.OPT_INDENT_2),
            content_type="application/json",
        )

    def _quarantine(
        self,
        obj: StagedObject,
        info: ObjectInfo,
        claim: Claim,
        rejected: Rejected,
        work: _Work,
        *,
        upload: push_records.UploadRecord | None = None,
    ) -> Outcome:
        """Report, move and record a rejected file (``upload``: a pushed file's grant)."""
        source = self.staging.url_of(obj.key)
        target_key = self._quarantine_key(self.relative_key(obj.key))
        digest = _sha256_of(self.staging, obj.key, obj.version)
        rejected = _declared_first(rejected, upload, digest, info.size)
        report = {
            "source": source,
            **rejected.detail,
            "reason": rejected.reason,
            "problems": rejected.problems[:1000],
            "sha256": digest,
        }
        self._write_report(target_key, report)
        moved = self._move(obj, info, self.quarantine, target_key, digest)
        self.ledger.finish(
            claim,
            state=QUARANTINED,
            file_type=work.file_type,
            sha256=digest,
            declared_sha256=upload.sha256 if upload else "",
            size=info.size,
            reason=rejected.reason,
            problems=rejected.problems[:100],
            archived_to=moved,
        )
        return Outcome(source, "quarantined", work.file_type, reason=rejected.reason)


def _declared_first(rejected: Rejected, upload: push_records.UploadRecord | None, digest: str, size: int) -> Rejected:
    """push: bytes other than the ones its client declared are why a pushed file is quarantined,
    whatever else they fail (altered bytes mostly fail the content checks first, which run
    before the whole file's digest is known)."""
    mismatch = push_records.checksum_mismatch(upload, digest, size)
    if not mismatch or rejected.detail.get("error") == "ChecksumMismatch":
        return rejected
    detail = {**rejected.detail, "error": "ChecksumMismatch"}
    return Rejected(f"{mismatch}; its content fails too: {rejected.reason}", rejected.problems, detail)


def _housekeeping(what: str, sweep: Callable[[], int]) -> int:
    try:
        return sweep()
    except Exception:
        log.warning("sweeping %s for leftovers of dead workers failed", what, exc_info=True)
        return 0


def _sha256_of(store: ObjectStore, key: str, version: str | None = None) -> str:
    with store.open(key, version=version) as stream:
        return sha256_of(stream)


def _without_pgp_suffix(name: str) -> str:
    for suffix in (".pgp", ".gpg", ".asc"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name
