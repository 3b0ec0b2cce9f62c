"""The per-file steps of a bank pull, each returning a typed result, with the per-file error
policy written once: ``pull_bank``'s thread pool and the Airflow batch tasks both call these.

The policy (:func:`claimed`): a host key or credential refusal is no file's problem and is
raised, as is anything that is not a transfer error (a bug, a store outage: the runner decides,
``pull_bank`` fails that file, a DAG task fails and is retried); a file that changed while it
was read is :class:`Skipped` for the next run; a transfer error (a dropped connection, an SFTP
or OS error, a failed verification) is :class:`Failed`. Either way the file's claim in the
ledger is released. A post-pull error (:func:`act`) is recorded as the outcome, never raised:
the file is landed and recorded by then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bankgate.banks import BankConfig
from bankgate.sftp import post_pull
from bankgate.sftp.connection import SftpSession
from bankgate.sftp.errors import RemoteChanged, VerificationFailed, is_retryable
from bankgate.sftp.ledger import Claim, PullLedger, bank_day
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.stages import Staged, discard, landed_from_record, promote
from bankgate.sftp.transfer import Landed
from bankgate.store.base import ObjectStore

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Skipped:
    """Not pulled this time, for a reason that is no fault (claimed elsewhere, changed)."""

    remote: RemoteFile
    reason: str


@dataclass(frozen=True)
class Failed:
    """Not pulled because something went wrong; ``retryable`` when a later try may succeed."""

    remote: RemoteFile
    error: str
    retryable: bool


@dataclass(frozen=True)
class Claimed(Generic[T]):
    """A step's value for a file this run holds the ledger's claim on."""

    value: T
    claim: Claim


@dataclass(frozen=True)
class Verified:
    """A file verified on its final key and recorded in the ledger."""

    remote: RemoteFile
    key: str
    url: str
    size: int
    sha256: str
    duplicate_of: dict[str, Any] | None = None


def claimed(
    ledger: PullLedger,
    bank: BankConfig,
    remote: RemoteFile,
    work: Callable[[], T],
    *,
    staged_url: str,
    force: bool = False,
) -> Claimed[T] | Skipped | Failed:
    """Claim ``remote`` in the ledger, link ``staged_url`` (where ``work``, its transfer, lands
    it) to its pull record, and run ``work`` under the module's error policy."""
    result = ledger.claim(bank.name, remote, force=force)
    if result.claim is None:
        log.info("%s: %s not pulled: %s", bank.name, remote.text, result.reason)
        return Skipped(remote, result.reason)
    try:
        ledger.link(bank.name, remote, staged_url, bank_day(remote, bank.tz))
        return Claimed(work(), result.claim)
    except BaseException as error:
        ledger.release(result.claim)
        outcome = _file_error(bank, remote, error)
        if outcome is None:
            raise
        return outcome


def _file_error(bank: BankConfig, remote: RemoteFile, error: BaseException) -> Skipped | Failed | None:
    """What ``error`` makes of the file, or None when it is not the file's (see the module doc)."""
    if isinstance(error, RemoteChanged):
        log.warning("%s: %s changed while pulled; left for the next run (%s)", bank.name, remote.text, error)
        return Skipped(remote, f"changed while being pulled: {error}")
    if isinstance(error, (VerificationFailed, OSError)) or is_retryable(error):
        why = f"{type(error).__name__}: {error}"
        log.error("%s: pulling %s failed: %s", bank.name, remote.text, why)
        return Failed(remote, why, is_retryable(error))
    return None


def verify_staged(
    store: ObjectStore, ledger: PullLedger, bank: BankConfig, staged: Staged, claim: Claim, *, force: bool = False
) -> Verified | Skipped | Failed:
    """Verify a staged copy, put it on its final key and record the pull. A copy already gone
    with its pull recorded was finished by an earlier try of the same step."""
    remote = staged.remote
    if store.info(staged.temp_key) is None:
        done = ledger.get(bank.name, remote)
        if done is not None and done.sha256 == staged.sha256:
            log.info("%s: %s was verified and recorded by an earlier try", bank.name, remote.text)
            return Verified(remote, done.key, done.url, done.size, done.sha256, done.duplicate_of)
    try:
        landed = promote(store, staged, verify=bank.verify)
    except RemoteChanged as exc:  # the staged copy is gone: the next run pulls the file again
        ledger.release(claim)
        return Skipped(remote, str(exc))
    except VerificationFailed as exc:
        ledger.release(claim)
        discard(store, staged)
        log.error("%s: %s: %s", bank.name, remote.text, exc)
        return Failed(remote, f"{exc}; nothing was done on the server, the next run pulls it again", False)
    record = ledger.record(
        claim,
        sha256=landed.sha256,
        key=landed.key,
        url=landed.url,
        post_pull="pending",
        forced=force,
        day=bank_day(remote, bank.tz),
    )
    log.info("%s: %s verified and landed at %s", bank.name, remote.text, landed.url)
    return Verified(remote, landed.key, landed.url, landed.size, landed.sha256, record.duplicate_of)


def act(session: SftpSession, bank: BankConfig, landed: Landed, marker: RemoteFile | None) -> str:
    """Apply the bank's post-pull action to a verified landing; returns the outcome for the
    ledger, ``error: ...`` when the action failed."""
    try:
        return post_pull.apply(session, landed, bank.post_pull, markers=[marker] if marker else [])
    except Exception as exc:
        log.error("%s: post-pull action on %s failed: %s", bank.name, landed.remote.text, exc)
        return f"error: {type(exc).__name__}: {exc}"


def act_on_record(
    session: SftpSession,
    bank: BankConfig,
    ledger: PullLedger,
    remote: RemoteFile,
    sha256: str,
    marker: RemoteFile | None,
) -> str | Failed:
    """:func:`act` in a later step, with the ``Landed`` rebuilt from the ledger's record of the
    verified pull (none, or another content: nothing is done on the server)."""
    record = ledger.get(bank.name, remote)
    if record is None or record.sha256 != sha256:
        why = f"no verified pull of {remote.text} in the ledger; nothing done on the server"
        log.error("%s: %s", bank.name, why)
        return Failed(remote, why, False)
    outcome = act(session, bank, landed_from_record(record), marker)
    ledger.set_post_pull(bank.name, remote, outcome)
    return outcome


__all__ = ["Claimed", "Failed", "Skipped", "Verified", "act", "act_on_record", "claimed", "verify_staged"]
