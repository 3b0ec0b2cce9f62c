"""One pull as separate steps, for a scheduler that runs (and retries) each as its own task:

1. :func:`stage_file` streams the remote file into a temporary key under the partial prefix
   (outside the staging prefix the pipeline watches), counting and hashing on the way;
2. :func:`promote` verifies that temporary object against what was read (size, and the
   store's own checksum or a SHA-256 read-back: ``transfer``'s Verification) and only then
   copies it to its final key with the full metadata: the final key never holds unverified
   bytes, which matters because the processing pipeline takes an object away from staging as
   soon as it appears there;
3. the caller records the verified pull in the :class:`~bankgate.sftp.ledger.PullLedger`;
4. :func:`landed_from_record` turns that ledger record back into the ``Landed`` the post-pull
   action requires: a record exists only once step 2 succeeded, so a remote delete or move in a
   later task still cannot follow an unverified copy, even after the staged object was moved on.

``pull_file`` does steps 1-2 in one call (and lands small files without a temporary key); the
Airflow DAG uses the steps so the UI shows transfer, verify and post-pull apart. What crosses
between steps is :class:`Staged` as a small dict (``to_xcom``), never bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bankgate.sftp.connection import SftpSession
from bankgate.sftp.errors import RemoteChanged, VerificationFailed
from bankgate.sftp.ledger import PullRecord
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.transfer import (
    _SEAL,
    Digest,
    Landed,
    Verify,
    promote_temp,
    remote_metadata,
    retrying,
    upload_temp,
)
from bankgate.store.base import ObjectStore


@dataclass(frozen=True)
class Staged:
    """A remote file streamed into ``temp_key``: ``size`` bytes read, hashing to ``sha256``
    (and to ``checksum`` with the store's own algorithm, if it has one). Not verified yet;
    ``key`` is where :func:`promote` puts it."""

    temp_key: str
    key: str
    size: int
    sha256: str
    remote: RemoteFile
    metadata: dict[str, str]
    seconds: float = 0.0
    checksum: str = ""

    @property
    def read(self) -> Digest:
        return Digest(self.size, self.sha256, self.checksum)

    def to_xcom(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["remote"] = self.remote.to_json()
        return raw

    @classmethod
    def from_xcom(cls, raw: Mapping[str, Any]) -> Staged:
        remote = RemoteFile.from_json(raw["remote"])
        return cls(
            raw["temp_key"],
            raw["key"],
            int(raw["size"]),
            raw["sha256"],
            remote,
            dict(raw["metadata"]),
            float(raw.get("seconds", 0.0)),
            str(raw.get("checksum", "")),
        )


def stage_file(
    session: SftpSession,
    remote: RemoteFile,
    store: ObjectStore,
    key: str,
    *,
    metadata: Mapping[str, str] | None = None,
    retries: int = 3,
    backoff: float = 2.0,
    partial_prefix: str = "bankgate-partial/",
    on_retry: Callable[[int, BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Staged:
    """Stream ``remote`` into a fresh temporary key, retried from byte zero on a dropped
    connection. Raises RemoteChanged if the file changes while it is read (nothing is left)."""
    partial = partial_prefix if partial_prefix.endswith("/") else partial_prefix + "/"
    meta = {**(metadata or {}), **remote_metadata(remote)}

    def attempt() -> Staged:
        started = time.monotonic()
        temp, read = upload_temp(session, remote, store, key, meta, partial)
        return Staged(temp, key, read.size, read.sha256, remote, meta, time.monotonic() - started, read.checksum)

    return retrying(session, remote, attempt, retries=retries, backoff=backoff, on_retry=on_retry, sleep=sleep)


def promote(store: ObjectStore, staged: Staged, *, verify: Verify = "checksum") -> Landed:
    """Verify the staged object and copy it to its final key (or ``key~<sha>`` when another file
    holds the name); the temporary object is removed either way. Raises VerificationFailed (the
    final key is untouched; the file must be pulled again) or RemoteChanged if the staged object
    is gone (a retry of an already finished promote, or a cleanup): pull it again."""
    if store.info(staged.temp_key) is None:
        raise RemoteChanged(f"{store.url_of(staged.temp_key)} is gone; the file must be pulled again")
    started = time.monotonic()
    done = promote_temp(store, staged.temp_key, staged.key, staged.read, staged.metadata, verify)
    seconds = staged.seconds + time.monotonic() - started
    return Landed(
        done.key, store.url_of(done.key), done.size, done.sha256, done.etag, staged.remote, seconds, done.reused, _SEAL
    )


def discard(store: ObjectStore, staged: Staged) -> None:
    """Remove a staged object that will not be promoted."""
    store.delete(staged.temp_key)


def landed_from_record(record: PullRecord) -> Landed:
    """The verified landing a pull-ledger record stands for. The ledger records a pull only
    after :func:`promote` (or ``pull_file``) verified it, so this is as good as the ``Landed``
    those returned. The record must describe a complete landing (size, SHA-256, key)."""
    if not (record.sha256 and record.key and record.size >= 0):
        raise VerificationFailed(f"the pull record of {record.path} does not describe a verified landing")
    remote = RemoteFile(record.remote_path, record.size, record.mtime)
    return Landed(record.key, record.url, record.size, record.sha256, "", remote, 0.0, False, _SEAL)


__all__ = ["Staged", "discard", "landed_from_record", "promote", "stage_file"]
