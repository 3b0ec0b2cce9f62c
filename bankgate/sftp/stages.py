"""One pull as separate steps, for a scheduler that runs (and retries) each as its own task:

1. :func:`stage_file` streams the remote file into a temporary key under the partial prefix
   (outside the staging prefix the pipeline watches), counting and hashing on the way;
2. :func:`promote` verifies that temporary object against what was read (size, and the
   store's own checksum or a SHA-256 read-back: ``verify``) and only then
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
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bankgate.banks import Verify
from bankgate.sftp.connection import SftpSession
from bankgate.sftp.errors import RemoteChanged
from bankgate.sftp.landing import Destination, promote_temp, upload_temp
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.retry import DEFAULT_RETRY, RetryPolicy, retrying
from bankgate.sftp.verify import Digest, Landed, landed, landed_from_record
from bankgate.store.base import ObjectStore


@dataclass(frozen=True)
class Staged:
    """A remote file streamed into ``temp_key``: ``size`` bytes read, hashing to ``sha256``
    (and to ``checksum`` with the store's own algorithm, if it has one). Not verified yet;
    ``key`` is where :func:`promote` puts it, with the caller's ``metadata`` and the remote
    file's own (``landing.remote_metadata``, made again from ``remote``: its exact path may not
    be UTF-8, which an XCom cannot carry)."""

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
    retry: RetryPolicy = DEFAULT_RETRY,
) -> Staged:
    """Stream ``remote`` into a fresh temporary key, retried from byte zero on a dropped
    connection. Raises RemoteChanged if the file changes while it is read (nothing is left)."""
    to = Destination.of(store, key, remote, metadata, retry.partial_prefix)

    def attempt() -> Staged:
        started = time.monotonic()
        temp, read = upload_temp(session, remote, to)
        seconds = time.monotonic() - started
        return Staged(temp, key, read.size, read.sha256, remote, dict(metadata or {}), seconds, read.checksum)

    return retrying(session, remote, attempt, retry)


def promote(store: ObjectStore, staged: Staged, *, verify: Verify = "checksum") -> Landed:
    """Verify the staged object and copy it to its final key (or ``key~<sha>`` when another file
    holds the name); the temporary object is removed either way. Raises VerificationFailed (the
    final key is untouched; the file must be pulled again) or RemoteChanged if the staged object
    is gone (a retry of an already finished promote, or a cleanup): pull it again."""
    if store.info(staged.temp_key) is None:
        raise RemoteChanged(f"{store.url_of(staged.temp_key)} is gone; the file must be pulled again")
    started = time.monotonic()
    to = Destination.of(store, staged.key, staged.remote, staged.metadata)
    verified = promote_temp(to, staged.temp_key, staged.read, verify)
    return landed(store, verified, staged.remote, staged.seconds + time.monotonic() - started)


def discard(store: ObjectStore, staged: Staged) -> None:
    """Remove a staged object that will not be promoted."""
    store.delete(staged.temp_key)


__all__ = ["Staged", "discard", "landed_from_record", "promote", "stage_file"]
