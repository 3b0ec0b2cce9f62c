"""Pull one remote file into an object store, verified, retried on a dropped connection.

``pull_file`` puts the jobs together, each owned by its own module:

- ``landing``: where and how the bytes land (small / copy through a temporary key / direct),
  and the ``Destination`` they land at;
- ``handoff``: the reader's thread and the bounded queue between it and the upload;
- ``verify``: the checks of the landed copy, and the only code that makes a ``Landed``;
- ``retry``: reconnecting and starting again from byte zero after a dropped connection.

``stages`` runs the same landing as separate steps for the Airflow tasks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from bankgate.banks import VERIFY_MODES, Landing, Verify
from bankgate.sftp.connection import SftpSession
from bankgate.sftp.landing import Destination, land, resolve_landing
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.retry import DEFAULT_RETRY, RetryPolicy, retrying
from bankgate.sftp.verify import Landed
from bankgate.sftp.verify import landed as landed_of
from bankgate.store.base import ObjectStore

log = logging.getLogger(__name__)


def pull_file(
    session: SftpSession,
    remote: RemoteFile,
    store: ObjectStore,
    key: str,
    *,
    metadata: Mapping[str, str] | None = None,
    verify: Verify = "checksum",
    landing: Landing = "auto",
    retry: RetryPolicy = DEFAULT_RETRY,
) -> Landed:
    """Pull ``remote`` into ``store`` at ``key`` (or ``key~<sha>`` if another file holds it).

    Raises RemoteChanged (the file is not stable: leave it for the next run),
    VerificationFailed (the store did not keep what was sent), HostKeyError/AuthError on
    reconnect, or the last connection error once ``retry``'s retries are used up.
    """
    if verify not in VERIFY_MODES:
        raise ValueError(f"verify must be one of {', '.join(VERIFY_MODES)}, not {verify!r}")
    how = resolve_landing(landing, store)
    to = Destination.of(store, key, remote, metadata, retry.partial_prefix)

    def attempt() -> Landed:
        started = time.monotonic()
        verified = land(session, remote, to, verify, how)
        return landed_of(store, verified, remote, time.monotonic() - started)

    landed = retrying(session, remote, attempt, retry)
    mib_s = landed.size / (1 << 20) / max(landed.seconds, 1e-9)
    log.info(
        "pulled %s -> %s (%d bytes, %.1f MiB/s, sha256 %s%s)",
        remote.text,
        landed.url,
        landed.size,
        mib_s,
        landed.sha256[:16],
        ", already landed" if landed.reused else "",
    )
    return landed


__all__ = ["pull_file"]
