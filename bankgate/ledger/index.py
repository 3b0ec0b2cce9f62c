"""The per-owner, per-day index: ``<root>index/<bank or client>/<YYYY-MM-DD>.json``.

Listing a bank's day reads this one object instead of every record. It holds, per staged URL,
what a listing shows: name, origin kind, state, type, size, SHA-256, record counts, control
totals, reason and rule codes. Each stage change rewrites it with a compare-and-swap
(``lease.swap``), so two workers finishing files of the same day never lose each other's
update: the loser of a round re-reads and applies its change to the winner's version.

Cost, in requests per file (measured in ``tests/core/test_ledger_index.py``): each update is
one GET (its body and etag together) and one conditional PUT (the day's first a GET answered
404 and a create; more only under contention); a pulled file is updated three times (staged,
processing, its outcome), and its link costs a PUT to write and a GET to read: 8 requests per
pulled file, 5 of them in processing, whose claim and outcome cost 8 in all (2 without the
link and the index). A listing is one GET per day. Each update rewrites the whole
object, which grows with the day (some 300 bytes per file): fine for days of hundreds or a few
thousand files per owner; beyond that, shard the day (``<day>/<n>.json``).

Which update wins: the pull's ``staged`` only fills in an entry no later stage has touched
(processing may start before the pull's own bookkeeping ends); the processing stages apply in
the order of their times (``at``), so a late write of an older stage never hides a newer one.
The index is a view: when an update cannot be made (the store is down, endless contention) it
is logged and the file's processing goes on; its records still hold the truth.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bankgate import lease
from bankgate.ledger.links import Link
from bankgate.ledger.root import Root

log = logging.getLogger(__name__)

State = Literal["staged", "processing", "done", "quarantined", "failed", "handed_off"]
_OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Rounds of ``lease.swap`` (each of ``lease.ATTEMPTS`` tries) before an update is given up,
#: with a random pause between rounds so that racing writers spread out.
ROUNDS = 6


@dataclass(slots=True)
class Entry:
    url: str
    name: str = ""
    kind: str = ""  # "pull", "push", or "" when unlinked
    state: State = "staged"
    at: float = 0.0  # when the entry's state was reached
    type: str = ""
    size: int = 0
    sha256: str = ""
    records: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    reason: str = ""
    codes: list[str] = field(default_factory=list)
    path: str = ""  # a pulled file's remote path (text form)
    mtime: int = 0  # and its remote modification time
    staged_at: float = 0.0
    archived_to: str = ""  # where the original went: the archive, or the quarantine

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Entry:
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def key(owner: str, day: str) -> str:
    if not _OWNER.match(owner):
        raise ValueError(f"owner {owner!r} must be letters, digits, '.', '_' or '-'")
    if not _DAY.match(day):
        raise ValueError(f"day {day!r} is not YYYY-MM-DD")
    return f"index/{owner}/{day}.json"


def read(root: Root, owner: str, day: str) -> dict[str, Entry]:
    """The day's entries by staged URL: one GET."""
    try:
        raw = json.loads(root.store.read_bytes(root.key(key(owner, day))))
    except KeyError:
        return {}
    return {url: Entry.from_dict({**entry, "url": url}) for url, entry in raw.get("files", {}).items()}


def days(root: Root, owner: str) -> list[str]:
    """The days the owner has an index for (one LIST)."""
    prefix = root.key(f"index/{owner}/")
    return sorted(i.key[len(prefix) : -len(".json")] for i in root.store.list(prefix) if i.key.endswith(".json"))


def owners(root: Root) -> list[str]:
    prefix = root.key("index/")
    return sorted({i.key[len(prefix) :].split("/", 1)[0] for i in root.store.list(prefix)})


def update(root: Root, owner: str, day: str, url: str, state: State, at: float, **fields: Any) -> bool:
    """Apply one stage change to the day's index; False (logged) when it could not be written."""
    try:
        target = root.key(key(owner, day))
    except ValueError as exc:
        log.warning("not indexed: %s: %s", url, exc)
        return False

    def change(current: lease.Current | None) -> tuple[bytes | None, None]:
        doc: dict[str, Any] = json.loads(current.data) if current is not None else {"owner": owner, "day": day}
        files: dict[str, Any] = doc.setdefault("files", {})
        before = files.get(url, {})
        entry = dict(before)
        if _advances(before, state, at):
            entry.update(state=state, at=at)
        entry.update({k: v for k, v in fields.items() if v is not None})
        if entry == before:
            return None, None
        files[url] = entry
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode(), None

    for round_ in range(ROUNDS):
        try:
            lease.swap(root.store, target, change)
            return True
        except lease.Contended:
            time.sleep(random.uniform(0, 0.02 * 2**round_))
        except Exception:
            log.warning("could not update the ledger index %s for %s", root.store.url_of(target), url, exc_info=True)
            return False
    log.warning("gave up updating the ledger index %s for %s: it kept changing", root.store.url_of(target), url)
    return False


def staged(
    root: Root, url: str, link: Link, at: float, *, size: int, sha256: str = "", path: str = "", mtime: int = 0
) -> bool:
    """Its origin's object reached staging (a pull verified it, a push's upload completed): the
    one call both origins make, with the link they wrote."""
    fields = {"name": link.name, "kind": link.kind, "size": size, "sha256": sha256 or None, "staged_at": at}
    fields |= {"path": path or None, "mtime": mtime or None}
    return update(root, link.owner, link.day, url, "staged", at, **fields)


def _advances(before: dict[str, Any], state: State, at: float) -> bool:
    """Whether a change to ``state`` at ``at`` replaces the entry's state (see the module doc)."""
    if not before or before.get("state") == "staged":
        return True
    return state != "staged" and at >= float(before.get("at", 0))


__all__ = ["ROUNDS", "Entry", "State", "days", "key", "owners", "read", "staged", "update"]
