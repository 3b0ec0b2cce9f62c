"""One scheduled pull for one bank: list -> stable and not yet pulled -> transfer -> verify ->
post-pull action -> record. What the CLI and the tests call; no Airflow in here (the DAG tasks
run the same selection, ``choice`` and ``steps`` as separate tasks).

The run stops (raises) only when the server cannot be trusted or entered: an unknown or
changed host key, refused credentials. Anything that goes wrong with one file is reported for
that file, and the others go on (the policy is ``steps``'s); a file that failed, or a name that
was refused (``selection``), makes the report not ``ok``, with :meth:`PullReport.problems`
naming each, once the rest is pulled.

Files are transferred by a thread pool (``concurrency`` workers), each with its own SSH
connection, so thousands of small files overlap their round trips while a big file keeps one
connection's pipeline full.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bankgate.banks import BankConfig
from bankgate.sftp.choice import Readiness, ready, screen
from bankgate.sftp.connection import SftpSession, SftpSettings, connect
from bankgate.sftp.errors import AuthError, HostKeyError
from bankgate.sftp.landing import META_BANK
from bankgate.sftp.layout import StoreOpener, open_stores, partials_of, sweep_partials
from bankgate.sftp.ledger import PullLedger, bank_day
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.names import destination_key
from bankgate.sftp.retry import RetryPolicy
from bankgate.sftp.selection import Selection, select_remote
from bankgate.sftp.steps import Claimed, Failed, Skipped, act, claimed
from bankgate.sftp.transfer import pull_file
from bankgate.sftp.verify import Landed
from bankgate.store import open_url
from bankgate.store.base import ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pulled:
    remote: RemoteFile
    key: str
    url: str
    size: int
    sha256: str
    seconds: float
    post_pull: str
    duplicate_of: dict[str, Any] | None = None


@dataclass
class PullReport:
    bank: str
    started: float
    finished: float = 0.0
    pulled: list[Pulled] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    #: Names not pulled because they cannot be used safely: text path -> why (see selection).
    refused: dict[str, str] = field(default_factory=dict)
    #: Over the bank's ``max_file_size``: not pulled (the DAG alerts on them too).
    too_large: list[RemoteFile] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems()

    @property
    def bytes(self) -> int:
        return sum(p.size for p in self.pulled)

    def add(self, outcome: Pulled | Skipped | Failed) -> None:
        if isinstance(outcome, Pulled):
            self.pulled.append(outcome)
        elif isinstance(outcome, Skipped):
            self.skipped.append(outcome)
        else:
            self.failed.append(outcome)

    def problems(self) -> list[str]:
        """What makes the run a failure, one line per file: failed, or its name refused."""
        failed = [f"{f.remote.text}: not pulled: {f.error}" for f in self.failed]
        return failed + [f"{path}: refused: {why}" for path, why in sorted(self.refused.items())]

    def summary(self) -> str:
        duplicates = sum(1 for p in self.pulled if p.duplicate_of)
        return (
            f"{self.bank}: {len(self.pulled)} pulled ({self.bytes} bytes, {duplicates} duplicate content),"
            f" {len(self.skipped)} skipped, {len(self.too_large)} too large, {len(self.refused)} refused,"
            f" {len(self.failed)} failed in {self.finished - self.started:.1f}s"
        )


def _as_epoch(value: float | datetime | None) -> float:
    if value is None:
        return time.time()
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def pull_bank(
    settings: SftpSettings,
    bank: BankConfig,
    store_url: str,
    *,
    force: bool = False,
    now: float | datetime | None = None,
    open_store: StoreOpener = open_url,
    on_retry: Callable[[int, BaseException], None] | None = None,
    select: Callable[[RemoteFile], bool] | None = None,
) -> PullReport:
    """Pull what is new and stable from one bank into ``store_url`` (``s3://``, ``gs://``,
    ``file://``), each file under its mtime's date, as the DAG lands it (``names.destination_key``).
    ``force`` pulls again what the ledger says was already pulled; ``select`` narrows the
    candidates (e.g. to a window of mtimes). Raises HostKeyError / AuthError."""
    report = PullReport(bank.name, time.time())
    store, prefix, ledger = open_stores(bank, store_url, open_store)
    with connect(settings) as session:  # a bad host key raises here, before anything is touched
        chosen, verdict = _choose(session, bank, prefix, ledger, report, force=force, now=_as_epoch(now), select=select)
    if verdict.ready:
        sweep_partials(store, partials_of(bank), report.started)
        run = _Transfers(settings, bank, store, prefix, ledger, chosen, verdict, force, RetryPolicy.of(bank, on_retry))
        _transfer_all(run, verdict.ready, report)
    report.finished = time.time()
    log.info("%s", report.summary())
    for problem in report.problems():
        log.error("%s: %s", bank.name, problem)
    return report


def _choose(
    session: SftpSession,
    bank: BankConfig,
    prefix: str,
    ledger: PullLedger,
    report: PullReport,
    *,
    force: bool,
    now: float,
    select: Callable[[RemoteFile], bool] | None,
) -> tuple[Selection, Readiness]:
    """The DAG's ``list_files`` and ``select_files`` in one: select, screen (the caller's
    predicate, the bank's size limit), set aside what was pulled, check stability."""
    chosen = select_remote(session.sftp, bank, key_prefix=prefix)
    report.refused.update(chosen.refused)
    screened = screen(bank, chosen.files, select=select)
    report.skipped += [Skipped(f, "not selected for this run") for f in screened.not_selected]
    report.too_large += screened.too_large

    def relist() -> list[RemoteFile]:
        return select_remote(session.sftp, bank, key_prefix=prefix).files

    verdict = ready(ledger, bank, screened.files, chosen.markers, force=force, now=now, relist=relist)
    report.skipped += [Skipped(f, "already pulled") for f in verdict.already_pulled]
    by_path = {f.path: f for f in screened.files}
    report.skipped += [Skipped(by_path[path], reason) for path, reason in verdict.waiting.items()]
    return chosen, verdict


@dataclass
class _Transfers:
    """What the worker threads of one run share: the bank, its stores and ledger, what was
    chosen, and one SSH session per thread (reconnected when it dropped, closed at the end)."""

    settings: SftpSettings
    bank: BankConfig
    store: ObjectStore
    prefix: str
    ledger: PullLedger
    chosen: Selection
    verdict: Readiness
    force: bool
    retry: RetryPolicy
    abort: threading.Event = field(default_factory=threading.Event)
    _local: threading.local = field(default_factory=threading.local)
    _sessions: list[SftpSession] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def session(self) -> SftpSession:
        current: SftpSession | None = getattr(self._local, "session", None)
        if current is None:
            current = connect(self.settings)
            with self._lock:
                self._sessions.append(current)
            self._local.session = current
        elif not current.alive:
            current.reconnect()
        return current

    def close(self) -> None:
        for session in self._sessions:
            session.close()

    def one(self, remote: RemoteFile) -> Pulled | Skipped | Failed:
        """Claim, land and verify, act on the server, record: one file, under ``steps``'s policy."""
        if self.abort.is_set():
            return Skipped(remote, "run aborted")
        key = destination_key(self.prefix, remote, self.chosen.directory_of[remote.path])
        try:
            held = claimed(
                self.ledger,
                self.bank,
                remote,
                lambda: self._land(remote, key),
                staged_url=self.store.url_of(key),
                force=self.force,
            )
        except (HostKeyError, AuthError):
            self.abort.set()
            raise
        return self._finish(held) if isinstance(held, Claimed) else held

    def _land(self, remote: RemoteFile, key: str) -> tuple[SftpSession, Landed]:
        worker = self.session()
        bank = self.bank
        metadata = {META_BANK: bank.name}
        return worker, pull_file(
            worker,
            remote,
            self.store,
            key,
            metadata=metadata,
            verify=bank.verify,
            landing=bank.landing,
            retry=self.retry,
        )

    def _finish(self, held: Claimed[tuple[SftpSession, Landed]]) -> Pulled:
        """Only a verified ``Landed`` reaches here; the action re-checks the file is unchanged."""
        worker, landed = held.value
        remote, bank = landed.remote, self.bank
        outcome = act(worker, bank, landed, self.verdict.markers.get(remote.path))
        record = self.ledger.record(
            held.claim,
            sha256=landed.sha256,
            key=landed.key,
            url=landed.url,
            post_pull=outcome,
            forced=self.force,
            day=bank_day(remote, bank.tz),
        )
        if record.duplicate_of:
            log.warning(
                "%s: %s has the same content as %s (pulled from %s)",
                bank.name,
                remote.text,
                record.duplicate_of.get("url"),
                record.duplicate_of.get("path"),
            )
        return Pulled(
            remote, landed.key, landed.url, landed.size, landed.sha256, landed.seconds, outcome, record.duplicate_of
        )


def _transfer_all(run: _Transfers, todo: Sequence[RemoteFile], report: PullReport) -> None:
    """Every file of ``todo`` on the thread pool; a host key or credential refusal stops the
    rest and is raised once every worker is done."""
    fatal: BaseException | None = None
    try:
        workers = min(run.bank.concurrency, len(todo))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"pull-{run.bank.name}") as pool:
            futures = [pool.submit(run.one, f) for f in todo]
            for remote, future in zip(todo, futures):
                try:
                    report.add(_outcome(run.bank, remote, future))
                except (HostKeyError, AuthError) as error:
                    fatal = fatal or error
    finally:
        run.close()
    if fatal is not None:
        raise fatal


def _outcome(
    bank: BankConfig, remote: RemoteFile, future: Future[Pulled | Skipped | Failed]
) -> Pulled | Skipped | Failed:
    """A worker's result; an error the per-file policy raised (the ledger's store failed, say)
    fails this file only."""
    try:
        return future.result()
    except (HostKeyError, AuthError):
        raise
    except Exception as error:
        log.error("%s: %s failed: %s", bank.name, remote.text, error)
        return Failed(remote, f"{type(error).__name__}: {error}", False)


__all__ = ["PullReport", "Pulled", "destination_key", "pull_bank"]
