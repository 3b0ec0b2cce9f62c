"""Compare-and-swap and leases over an object store: the one primitive both ledgers build on.

Every ``ObjectStore`` offers two conditional writes: create a key only if it is absent, and
replace it only if its etag is still the one read (S3 ``If-None-Match``/``If-Match``, GCS
generation preconditions, a lock and a hard link on a local directory). :func:`swap` turns
them into the one loop every change of a ledger object goes through: read the current
version, let the caller decide the new bytes (or decline), write conditionally, and start
again from the read when another writer got in between. A round costs one read and one
write: a GET and a conditional PUT (a GET answered 404 and a create when there is none). Exactly one of several racing
writers wins each round, and a decision is always made on the version it replaces.

A lease is a holder's claim with an expiry (:class:`Lease`): live until ``expires_at``,
after which another worker may take it over (the holder was killed, timed out, ran out of
memory). The processing ledger (``bankgate.ledger``) keeps its lease inside each object's
record; the pull ledger (``bankgate.sftp.ledger``) as a claim object beside the
record. Both acquire, finish and release through :func:`swap`.

:data:`TALLY` counts, per process, the conditional writes the store refused (S3's 412
``PreconditionFailed`` and 409 ``ConditionalRequestConflict``) and the swaps given up: the
price of contention, which ``bench/scale.py`` reports per worker.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from bankgate.store.base import ObjectStore

#: Rounds of read -> decide -> write before giving up on a key others keep changing.
ATTEMPTS = 8
T = TypeVar("T")


@dataclass(slots=True)
class Tally:
    """This process's contention so far (counters only: no key or data is kept)."""

    conflicts: int = 0  # rounds lost: another writer changed the key between read and write
    contended: int = 0  # swaps that raised Contended after every round was lost


TALLY = Tally()


@dataclass(frozen=True, slots=True)
class Current:
    """An object's bytes and the etag a conditional replace of it must name."""

    data: bytes
    etag: str


class Contended(RuntimeError):
    """Other writers changed the object on every attempt; the caller decides what that means."""


def read(store: ObjectStore, key: str) -> Current | None:
    """The object's current version, or None when it does not exist: one read of the bytes and
    their etag (``ObjectStore.read_with_info``), so a replace made on them never overwrites a
    change the decision did not see."""
    found = store.read_with_info(key)
    return None if found is None else Current(found[0], found[1].etag)


def swap(
    store: ObjectStore,
    key: str,
    change: Callable[[Current | None], tuple[bytes | None, T]],
    *,
    attempts: int = ATTEMPTS,
    content_type: str = "application/json",
) -> tuple[str | None, T]:
    """Replace the object at ``key`` with what ``change(current)`` returns (``current`` is None
    when there is none), conditionally on ``current`` still being what is there.

    ``change`` returns ``(new bytes, decision)``, or ``(None, decision)`` to leave the object
    as it is; ``swap`` returns ``(new etag or None, decision)`` of the round that ended it. It
    raises :class:`Contended` after ``attempts`` rounds lost to other writers. ``change`` may
    run several times, so it must not act outside itself."""
    for _ in range(attempts):
        current = read(store, key)
        body, decision = change(current)
        if body is None:
            return None, decision
        if current is None:
            written = store.create(key, body, content_type=content_type)
        else:
            written = store.replace(key, body, etag=current.etag, content_type=content_type)
        if written is not None:
            return written.etag, decision
        TALLY.conflicts += 1
    TALLY.contended += 1
    raise Contended(f"{store.url_of(key)} kept changing under {attempts} attempts to update it")


@dataclass(frozen=True, slots=True)
class Lease:
    """How long a claim holds before another worker may take it over."""

    seconds: float

    def holder(self, now: float, *, extra_seconds: float = 0.0, **fields: Any) -> dict[str, Any]:
        """A new holder's record: who (host, pid), since when, until when, plus ``fields``."""
        until = now + self.seconds + extra_seconds
        return {**fields, "claimed_at": now, "expires_at": until, "host": socket.gethostname(), "pid": os.getpid()}

    @staticmethod
    def live(holder: Mapping[str, Any], now: float) -> bool:
        """Whether the holder's lease still runs at ``now`` (a record without one has expired)."""
        return now < float(holder.get("expires_at", 0))
