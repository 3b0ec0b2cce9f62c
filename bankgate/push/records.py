"""The ledger records of a client push: the one schema, and the only writes to them.

One upload is one record from the moment it is granted, at
``<ledger root>uploads/<client>/<upload_id>.json``. Its ``state`` moves forward only::

    granted -> uploaded -> processed | quarantined
    granted -> expired              (never used before its link expired)

Beside it, at grant time, its link (``bankgate.ledger.links``) says whose the staged object is,
so the processing pipeline finds the upload from nothing but the object's URL. A per-client,
per-day counter (``quota/<client>/<day>.json``) holds the quota. Every write goes through
``bankgate.lease.swap``: a record is created only if absent (two grants never share an id)
and changed only on the version read (two racing settlements cannot both win).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

import orjson

from bankgate.lease import Current, swap
from bankgate.ledger import links
from bankgate.ledger.root import Root
from bankgate.store import ObjectStore

State = Literal["granted", "uploaded", "processed", "quarantined", "expired"]
STATES: tuple[State, ...] = get_args(State)
#: Which states each state may move to; a final state moves nowhere.
NEXT: dict[State, frozenset[State]] = {
    "granted": frozenset({"uploaded", "processed", "quarantined", "expired"}),
    "uploaded": frozenset({"processed", "quarantined"}),
    "processed": frozenset(),
    "quarantined": frozenset(),
    "expired": frozenset(),
}
Method = Literal["put", "post", "multipart", "s3-multipart", "credentials"]


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """One granted upload. ``sha256`` is what the client declared (hex, "" when none)."""

    upload_id: str
    client: str
    name: str  # the client's name for the file, as normalised
    key: str  # the staging key it is allowed to write
    staged_url: str
    size: int
    content_type: str
    sha256: str
    method: Method
    day: str
    granted_at: float
    expires_at: float
    state: State = "granted"
    multipart_id: str = ""
    reason: str = ""  # why it was quarantined or expired
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    kind = "push"

    def to_json(self) -> bytes:
        return orjson.dumps({"kind": self.kind, **asdict(self)}, option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, data: bytes) -> UploadRecord:
        raw = orjson.loads(data)
        raw.pop("kind", None)
        raw["history"] = tuple(raw.get("history", ()))
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


def relative_key(client: str, upload_id: str) -> str:
    """The record's key below the ledger root (what its link names)."""
    return f"uploads/{client}/{upload_id}.json"


def record_key(prefix: str, client: str, upload_id: str) -> str:
    return prefix + relative_key(client, upload_id)


def quota_key(prefix: str, client: str, day: str) -> str:
    return f"{prefix}quota/{client}/{day}.json"


class QuotaExceeded(Exception):
    """The client has used every upload of the day."""


def take_quota(store: ObjectStore, prefix: str, client: str, day: str, limit: int) -> int:
    """Count one more upload of ``client`` on ``day``; the count, or ``QuotaExceeded``. Counted
    at grant time: a link is a use whether or not a file follows, or a script could mint links."""

    def change(current: Current | None) -> tuple[bytes | None, int]:
        used = orjson.loads(current.data)["count"] if current else 0
        if used >= limit:
            return None, -1
        return orjson.dumps({"client": client, "day": day, "count": used + 1}), used + 1

    _, count = swap(store, quota_key(prefix, client, day), change)
    if count < 0:
        raise QuotaExceeded(client)
    return count


def grant(store: ObjectStore, prefix: str, record: UploadRecord) -> bool:
    """Write a new upload record and its link; False if the id is taken (draw another)."""
    created = store.create(record_key(prefix, record.client, record.upload_id), record.to_json())
    if created is None:
        return False
    link = links.Link("push", record.client, relative_key(record.client, record.upload_id), record.name, record.day)
    links.write(Root(store, prefix), record.staged_url, link)
    return True


def get(store: ObjectStore, prefix: str, client: str, upload_id: str) -> UploadRecord | None:
    try:
        return UploadRecord.from_json(store.read_bytes(record_key(prefix, client, upload_id)))
    except KeyError:
        return None


def advance(
    store: ObjectStore, prefix: str, client: str, upload_id: str, state: State, *, reason: str = "", **fields: Any
) -> UploadRecord | None:
    """Move the record to ``state`` (with ``fields`` changed); the record as it is afterwards,
    or None when there is none. A move the state machine does not allow leaves it as it is: a
    duplicate event must not turn ``processed`` back into ``uploaded``."""

    def change(current: Current | None) -> tuple[bytes | None, UploadRecord | None]:
        if current is None:
            return None, None
        record = UploadRecord.from_json(current.data)
        if state == record.state or state not in NEXT[record.state]:
            return None, record
        entry = {"state": state, "at": time.time(), **({"reason": reason} if reason else {})}
        moved = replace(record, state=state, reason=reason or record.reason, history=(*record.history, entry), **fields)
        return moved.to_json(), moved

    _, record = swap(store, record_key(prefix, client, upload_id), change)
    return record


def for_origin(store: ObjectStore, prefix: str, origin: Mapping[str, Any]) -> UploadRecord | None:
    """The upload record of a staged object whose link (``origin``, as the processing claim read
    it) names a push; None, with no request, for a pulled or unlinked object."""
    if origin.get("kind") != "push" or not origin.get("record"):
        return None
    try:
        return UploadRecord.from_json(store.read_bytes(Root(store, prefix).key(str(origin["record"]))))
    except KeyError:
        return None


def checksum_mismatch(record: UploadRecord | None, sha256: str, size: int = -1) -> str:
    """Why a staged object is not what its client declared (``record``), or "" (not pushed, or
    the same size and bytes). The pipeline quarantines with this reason."""
    if record is None:
        return ""
    if size >= 0 and size != record.size:
        return (
            f"pushed file {record.name!r} (upload {record.upload_id} of {record.client}): {size} bytes "
            f"arrived, but the client declared {record.size}"
        )
    if not record.sha256 or record.sha256 == sha256:
        return ""
    return (
        f"pushed file {record.name!r} (upload {record.upload_id} of {record.client}): its SHA-256 is "
        f"{sha256}, but the client declared {record.sha256}"
    )


def settle(store: ObjectStore, prefix: str, record: UploadRecord | None, state: State, reason: str = "") -> None:
    """The pipeline's outcome for a pushed object, recorded on its upload record (None for a
    pulled object: nothing happens)."""
    if record is not None:
        advance(store, prefix, record.client, record.upload_id, state, reason=reason)
