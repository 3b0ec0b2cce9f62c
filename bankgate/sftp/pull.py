"""One scheduled pull for one bank: list -> stable and not yet pulled -> transfer -> verify ->
post-pull action -> record. What an Airflow task (or the CLI) calls; no Airflow in here.

The run fails as a whole (raises) only when the server cannot be trusted or entered: an
unknown or changed host key, refused credentials. Anything that goes wrong with one file is
reported for that file, and the others go on (the policy is ``steps``'s).

Files are transferred by a thread pool (``concurrency`` workers), each with its own SSH
connection, so thousands of small files overlap their round trips while a big file keeps one
connection's pipeline full.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bankgate.banks import BankConfig
from bankgate.sftp.choice import ready, screen
from bankgate.sftp.connection import SftpSession, SftpSettings, connect
from bankgate.sftp.errors import AuthError, HostKeyError
from bankgate.sftp.layout import StoreOpener, open_stores, partials_of, sweep_partials
from bankgate.sftp.ledger import PullLedger, bank_day
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.names import destination_key
from bankgate.sftp.selection import select_remote
from bankgate.sftp.steps import Claimed, Failed, Skipped, act, claimed
from bankgate.sftp.transfer import META_BANK, Landed, pull_file
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

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def bytes(self) -> int:
        return sum(p.size for p in self.pulled)

    def summary(self) -> str:
        duplicates = sum(1 for p in self.pulled if p.duplicate_of)
        return (
            f"{self.bank}: {len(self.pulled)} pulled ({self.bytes} bytes, {duplicates} duplicate content),"
            f" {len(self.skipped)} skipped, {len(self.refused)} refused, {len(self.failed)} failed"
            f" in {self.finished - self.started:.1f}s"
        )


def _as_date(value: date | datetime | str | None) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    return date.fromisoformat(value[:10])


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
    day: date | datetime | str | None = None,
    open_store: StoreOpener = open_url,
    on_retry: Callable[[int, BaseException], None] | None = None,
    select: Callable[[RemoteFile], bool] | None = None,
) -> PullReport:
    """Pull what is new and stable from one bank into ``store_url`` (``s3://``, ``gs://``,
    ``file://``). ``day`` (the Airflow run's data interval) names the date folder; ``force``
    pulls again what the ledger says was already pulled; ``select`` narrows the candidates
    (e.g. to the run's window of mtimes). Raises HostKeyError / AuthError."""
    started = time.time()
    moment = _as_epoch(now)
    folder_day = _as_date(day)
    report = PullReport(bank.name, started)
    store, prefix, ledger = open_stores(bank, store_url, open_store)
    partials = partials_of(bank)

    with connect(settings) as session:  # a bad host key raises here, before anything is touched
        chosen = select_remote(session.sftp, bank, key_prefix=prefix)
        report.refused.update(chosen.refused)
        for path, why in sorted(chosen.refused.items()):
            log.warning("%s: %r: %s", bank.name, path, why)
        screened = screen(chosen.files, select=select)
        report.skipped += [Skipped(f, "not selected for this run") for f in screened.not_selected]

        def relist() -> list[RemoteFile]:
            return select_remote(session.sftp, bank, key_prefix=prefix).files

        verdict = ready(ledger, bank, screened.files, chosen.markers, force=force, now=moment, relist=relist)
        report.skipped += [Skipped(f, "already pulled") for f in verdict.already_pulled]
        by_path = {f.path: f for f in screened.files}
        report.skipped += [Skipped(by_path[path], reason) for path, reason in verdict.waiting.items()]

    todo = verdict.ready
    if todo:
        sweep_partials(store, partials, started)
        _transfer_all(
            settings,
            bank,
            store,
            prefix,
            ledger,
            todo,
            verdict.markers,
            chosen.directory_of,
            report,
            force=force,
            day=folder_day,
            partials=partials,
            on_retry=on_retry,
        )
    report.finished = time.time()
    log.info("%s", report.summary())
    return report


def _transfer_all(
    settings: SftpSettings,
    bank: BankConfig,
    store: ObjectStore,
    prefix: str,
    ledger: PullLedger,
    todo: Sequence[RemoteFile],
    markers: dict[str, RemoteFile],
    directory_of: dict[str, str],
    report: PullReport,
    *,
    force: bool,
    day: date | None,
    partials: str,
    on_retry: Callable[[int, BaseException], None] | None,
) -> None:
    local = threading.local()
    sessions: list[SftpSession] = []
    sessions_lock = threading.Lock()
    abort = threading.Event()

    def session() -> SftpSession:
        current = getattr(local, "session", None)
        if current is None:
            current = connect(settings)
            with sessions_lock:
                sessions.append(current)
            local.session = current
        elif not current.alive:
            current.reconnect()
        return current

    def one(remote: RemoteFile) -> Pulled | Skipped | Failed:
        if abort.is_set():
            return Skipped(remote, "run aborted")

        key = destination_key(prefix, remote, directory_of[remote.path], day)

        def land() -> tuple[SftpSession, Landed]:
            worker = session()
            return worker, pull_file(
                worker,
                remote,
                store,
                key,
                metadata={META_BANK: bank.name},
                retries=bank.retries,
                backoff=bank.backoff,
                verify=bank.verify,
                partial_prefix=partials,
                landing=bank.landing,
                on_retry=on_retry,
            )

        try:
            held = claimed(ledger, bank, remote, land, staged_url=store.url_of(key), force=force)
        except (HostKeyError, AuthError):
            abort.set()
            raise
        if not isinstance(held, Claimed):
            return held
        worker, landed = held.value
        # Only a verified Landed reaches here; the action re-checks the file is unchanged.
        outcome = act(worker, bank, landed, markers.get(remote.path))
        record = ledger.record(
            held.claim,
            sha256=landed.sha256,
            key=landed.key,
            url=landed.url,
            post_pull=outcome,
            forced=force,
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

    workers = min(bank.concurrency, len(todo))
    fatal: BaseException | None = None
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"pull-{bank.name}") as pool:
            futures = [pool.submit(one, f) for f in todo]
            for remote, future in zip(todo, futures):
                try:
                    outcome = future.result()
                except (HostKeyError, AuthError) as error:
                    fatal = fatal or error
                    continue
                except Exception as error:  # the ledger's store failed, say: this file only
                    log.error("%s: %s failed: %s", bank.name, remote.text, error)
                    outcome = Failed(remote, f"{type(error).__name__}: {error}", False)
                if isinstance(outcome, Pulled):
                    report.pulled.append(outcome)
                elif isinstance(outcome, Skipped):
                    report.skipped.append(outcome)
                else:
                    report.failed.append(outcome)
    finally:
        for s in sessions:
            s.close()
    if fatal is not None:
        raise fatal
