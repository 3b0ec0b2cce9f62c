"""Retrying a pull after a dropped connection.

A dropped or stalled connection (socket errors, EOF, SSH errors, a read timeout:
``errors.is_retryable``) is retried with exponential backoff and jitter, from byte zero on a
fresh connection: SFTP servers do not all support resuming, and a restarted upload is the only
way the final object is provably the remote file. A file that changes while it is read is not
retried here: it is not stable, and the next run will see it again. How often, how long to wait
and where each attempt's temporary upload goes is one value, :class:`RetryPolicy`, which
``pull_file``, ``stage_file`` and their callers pass whole.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from bankgate.banks import BankConfig
from bankgate.sftp.connection import SftpSession
from bankgate.sftp.errors import is_retryable
from bankgate.sftp.layout import partials_of
from bankgate.sftp.listing import RemoteFile

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BACKOFF = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """How one file's transfer starts over after a dropped connection: at most ``retries``
    more attempts, the first after about ``backoff`` seconds, doubling (``sleep`` waits;
    ``on_retry`` is told of each), each into a fresh temporary key under ``partial_prefix``
    (outside the watched staging prefix, see ``landing``)."""

    retries: int = 3
    backoff: float = 2.0
    partial_prefix: str = "bankgate-partial/"
    on_retry: Callable[[int, BaseException], None] | None = None
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def of(cls, bank: BankConfig, on_retry: Callable[[int, BaseException], None] | None = None) -> RetryPolicy:
        """The bank's policy: its ``retries``, ``backoff`` and partial prefix (``layout.partials_of``)."""
        return cls(bank.retries, bank.backoff, partials_of(bank), on_retry)


#: The defaults, for a caller that has no bank (a test, a one-off pull).
DEFAULT_RETRY = RetryPolicy()


def retrying(session: SftpSession, remote: RemoteFile, attempt: Callable[[], T], policy: RetryPolicy) -> T:
    """Run ``attempt`` (which reads ``remote`` from byte zero), reconnecting and retrying with
    exponential backoff and jitter while the error is a dropped connection."""
    retries, backoff = policy.retries, policy.backoff
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
            if policy.on_retry is not None:
                policy.on_retry(tries, error)
            session.close()
            policy.sleep(delay)


__all__ = ["DEFAULT_RETRY", "MAX_BACKOFF", "RetryPolicy", "retrying"]
