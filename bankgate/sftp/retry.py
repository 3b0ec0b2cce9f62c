"""Retrying a pull after a dropped connection.

A dropped or stalled connection (socket errors, EOF, SSH errors, a read timeout:
``errors.is_retryable``) is retried with exponential backoff and jitter, from byte zero on a
fresh connection: SFTP servers do not all support resuming, and a restarted upload is the only
way the final object is provably the remote file. A file that changes while it is read is not
retried here: it is not stable, and the next run will see it again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from bankgate.sftp.connection import SftpSession
from bankgate.sftp.errors import is_retryable
from bankgate.sftp.listing import RemoteFile

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BACKOFF = 60.0


def retrying(
    session: SftpSession,
    remote: RemoteFile,
    attempt: Callable[[], T],
    *,
    retries: int,
    backoff: float,
    on_retry: Callable[[int, BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``attempt`` (which reads ``remote`` from byte zero), reconnecting and retrying with
    exponential backoff and jitter while the error is a dropped connection."""
    tries = 0
    while True:
        try:
            if not session.alive:
                session.reconnect()
            return attempt()
        except BaseException as error:
            if tries >= retries or not is_retryable(error, transport_alive=session.alive):
                raise
            tries += 1
            delay = min(MAX_BACKOFF, backoff * 2 ** (tries - 1)) * random.uniform(0.5, 1.0)
            log.warning(
                "pulling %s: connection lost (%s: %s); retry %d of %d in %.1fs",
                remote.text,
                type(error).__name__,
                error,
                tries,
                retries,
                delay,
            )
            if on_retry is not None:
                on_retry(tries, error)
            session.close()
            sleep(delay)


__all__ = ["MAX_BACKOFF", "retrying"]
