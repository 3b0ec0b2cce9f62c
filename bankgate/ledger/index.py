"""The per-owner, per-day index: ``<root>index/<bank or client>/<YYYY-MM-DD>.json``, sharded
as the day grows.

Listing a bank's day reads this index instead of every record. It holds, per staged URL, what
a listing shows: name, origin kind, state, type, size, SHA-256, record counts, control totals,
reason and rule codes. Each stage change rewrites the shard holding the file with a
compare-and-swap (``lease.swap``), so two workers finishing files of the same day never lose
each other's update: the loser of a round re-reads and applies its change to the winner's version.

Shards. A day starts as the one object ``<day>.json`` (what every earlier release wrote: an
old day reads as it always did, with no migration). When a shard passes ``SPLIT_AT`` entries
(some 300 KB) it splits into ``FANOUT`` children named by the next hex digit of the file's URL
digest (``url_digest``): ``<day>.json`` into ``<day>/0.json`` .. ``<day>/f.json``, ``<day>/a.json``
into ``<day>/a0.json`` .. ``<day>/af.json``, and so on (extendible hashing). Splitting never
loses an update: the writer whose change passes the limit marks the shard ``split`` in the same
conditional write, which freezes it (no one writes a split shard again); the children are then
created, each only if absent, from the frozen entries of its digit, and the parent is emptied
once all exist. A writer that follows a split to a child not yet created creates it from the
same frozen entries plus its change, and a reader takes a missing child's entries from its
frozen parent; so a splitter that dies half-way leaves a consistent day. Each shard is written
by a sixteenth of its parent's writers, so contention falls as the day grows.

Cost, in requests (measured in ``tests/core/test_ledger_index.py`` and ``bench/ledger.py``):
an update of an unsplit day is one GET (its body and etag together) and one conditional PUT
(the day's first: a GET answered 404 and a create; more only under contention), plus one GET
per split level above the file's shard (a 10,000-file day has one: 3 requests). A split costs
``FANOUT`` creates, a GET and a PUT, once. A pulled file is updated three times (staged,
processing, its outcome), and its link costs a PUT to write and a GET to read: 8 requests per
pulled file on an unsplit day, 5 of them in processing, whose claim and outcome cost 8 in all
(2 without the link and the index). A listing is one GET of an unsplit day; a split day's is
that GET, one LIST of ``<day>/`` and one GET per shard in use, read in parallel (a day of
10,000 files: 16 shards, 18 requests; of 50,000: 256 shards, 258 requests).

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
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

from bankgate import lease
from bankgate.ledger.links import Link
from bankgate.ledger.root import Root, url_digest

log = logging.getLogger(__name__)

State = Literal["staged", "processing", "done", "quarantined", "failed", "handed_off"]
_OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Rounds of ``lease.swap`` (each of ``lease.ATTEMPTS`` tries) before an update is given up,
#: with a random pause between rounds so that racing writers spread out.
ROUNDS = 6
#: A shard with more entries than this splits (some 300 bytes each; see the module doc).
SPLIT_AT = 1000
#: Children per split: one hex digit of the URL digest.
FANOUT = 16
_DIGITS = "0123456789abcdef"
#: Shards a listing reads at once.
READERS = 16


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
        try:
            return cls(**raw)  # the usual case, and the fast one: a listing makes thousands
        except TypeError:  # a field this release does not know
            return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def key(owner: str, day: str) -> str:
    """The day's first shard (the whole day until it splits)."""
    if not _OWNER.match(owner):
        raise ValueError(f"owner {owner!r} must be letters, digits, '.', '_' or '-'")
    if not _DAY.match(day):
        raise ValueError(f"day {day!r} is not YYYY-MM-DD")
    return f"index/{owner}/{day}.json"


def shard_key(owner: str, day: str, shard: str) -> str:
    """The shard ``shard`` (hex digits of the URL digest, "" for the day's first) of a day."""
    return key(owner, day) if not shard else f"index/{owner}/{day}/{shard}.json"


def read(root: Root, owner: str, day: str) -> dict[str, Entry]:
    """The day's entries by staged URL: one GET, or for a split day a GET, a LIST and the shards."""
    top = _get(root, key(owner, day))
    if top is None:
        return {}
    files = top.get("files", {}) if not top.get("split") else _read_split(root, owner, day, top)
    return {url: Entry.from_dict({**entry, "url": url}) for url, entry in files.items()}


def _read_split(root: Root, owner: str, day: str, top: dict[str, Any]) -> dict[str, Any]:
    """A split day's files: the shards the LIST shows, each read once, except parents whose
    children all exist (emptied, or about to be); a missing child's from its frozen parent."""
    base = root.key(f"index/{owner}/{day}/")
    present = {i.key[len(base) : -len(".json")] for i in root.store.list(base) if i.key.endswith(".json")}
    wanted = [s for s in sorted(present) if not all(s + d in present for d in _DIGITS)]
    with ThreadPoolExecutor(min(READERS, len(wanted) or 1)) as pool:
        docs = dict(zip(wanted, pool.map(lambda s: _get(root, shard_key(owner, day, s)), wanted), strict=True))

    def collect(shard: str, doc: dict[str, Any]) -> dict[str, Any]:
        if not doc.get("split"):
            return dict(doc.get("files", {}))
        found: dict[str, Any] = {}
        frozen = _buckets(doc.get("files", {}), len(shard))
        for digit in _DIGITS:
            child = shard + digit
            if child not in present:
                found |= frozen.get(digit, {})
            else:
                found |= collect(child, docs.get(child) or {"split": FANOUT})
        return found

    return collect("", top)


def _get(root: Root, key_: str) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(root.store.read_bytes(root.key(key_)))
    except KeyError:
        return None
    return doc if isinstance(doc, dict) else None


def _buckets(files: Mapping[str, Any], level: int) -> dict[str, dict[str, Any]]:
    """Entries by the URL digest's hex digit at ``level`` (the child of a shard they belong to)."""
    out: dict[str, dict[str, Any]] = {}
    for url, entry in files.items():
        out.setdefault(url_digest(url)[level], {})[url] = entry
    return out


def layout(owner: str, day: str, files: Mapping[str, Any], shard: str = "") -> dict[str, dict[str, Any]]:
    """The shard documents by key (below the root) that a day holding ``files`` (entries by URL)
    has once every split is done: a shard is split exactly when it would hold more than
    ``SPLIT_AT``, whatever order its files came in. What a rebuild of an index from the records
    writes, and how the benchmark lays out a big day without updating it file by file."""
    if len(files) <= SPLIT_AT:
        return {shard_key(owner, day, shard): {"owner": owner, "day": day, "files": dict(files)}}
    docs = {shard_key(owner, day, shard): {"owner": owner, "day": day, "split": FANOUT, "files": {}}}
    buckets = _buckets(files, len(shard))
    for digit in _DIGITS:
        docs |= layout(owner, day, buckets.get(digit, {}), shard + digit)
    return docs


def days(root: Root, owner: str) -> list[str]:
    """The days the owner has an index for (one LIST)."""
    prefix = root.key(f"index/{owner}/")
    listed = (i.key[len(prefix) :] for i in root.store.list(prefix) if i.key.endswith(".json"))
    return sorted({name.split("/", 1)[0].removesuffix(".json") for name in listed})


def owners(root: Root) -> list[str]:
    prefix = root.key("index/")
    return sorted({i.key[len(prefix) :].split("/", 1)[0] for i in root.store.list(prefix)})


def update(root: Root, owner: str, day: str, url: str, state: State, at: float, **fields: Any) -> bool:
    """Apply one stage change to the day's index; False (logged) when it could not be written."""
    try:
        key(owner, day)
    except ValueError as exc:
        log.warning("not indexed: %s: %s", url, exc)
        return False
    digest, shard = url_digest(url), ""
    seed: dict[str, Any] = {}
    try:
        while True:  # down the splits to the file's shard: one level per round
            followed = _update_shard(root, owner, day, shard, url, seed, state, at, fields)
            if followed is None:
                return True
            seed = _buckets(followed.get("files", {}), len(shard)).get(digest[len(shard)], {})
            shard = digest[: len(shard) + 1]
    except _GaveUp:
        target = root.store.url_of(root.key(shard_key(owner, day, shard)))
        log.warning("gave up updating the ledger index %s for %s: it kept changing", target, url)
    except Exception:
        target = root.store.url_of(root.key(shard_key(owner, day, shard)))
        log.warning("could not update the ledger index %s for %s", target, url, exc_info=True)
    return False


class _GaveUp(Exception):
    pass


def _update_shard(
    root: Root,
    owner: str,
    day: str,
    shard: str,
    url: str,
    seed: dict[str, Any],
    state: State,
    at: float,
    fields: dict[str, Any],
) -> dict[str, Any] | None:
    """Apply the change to one shard; the shard's document when it is split (follow it to the
    child), else None. ``seed``: a child's entries in its frozen parent, if it must be created."""
    target = root.key(shard_key(owner, day, shard))

    def change(current: lease.Current | None) -> tuple[bytes | None, tuple[str, dict[str, Any]]]:
        doc: dict[str, Any] = (
            json.loads(current.data) if current is not None else {"owner": owner, "day": day, "files": dict(seed)}
        )
        if doc.get("split"):
            return None, ("split", doc)
        files: dict[str, Any] = doc.setdefault("files", {})
        before = files.get(url, {})
        entry = dict(before)
        if _advances(before, state, at):
            entry.update(state=state, at=at)
        entry.update({k: v for k, v in fields.items() if v is not None})
        if entry == before:
            return None, ("same", doc)
        files[url] = entry
        if len(files) > SPLIT_AT:
            doc["split"] = FANOUT  # frozen from this write on; its children take over
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode(), ("written", doc)

    for round_ in range(ROUNDS):
        try:
            written, (what, doc) = lease.swap(root.store, target, change)
        except lease.Contended:
            time.sleep(random.uniform(0, 0.02 * 2**round_))
            continue
        if what == "split" and written is None:
            return doc
        if doc.get("split"):
            _split(root, owner, day, shard, doc)
        return None
    raise _GaveUp


def _split(root: Root, owner: str, day: str, shard: str, frozen: dict[str, Any]) -> None:
    """Create the frozen shard's children (each only if absent), then empty it."""
    buckets = _buckets(frozen.get("files", {}), len(shard))
    for digit in _DIGITS:
        doc = {"owner": owner, "day": day, "files": buckets.get(digit, {})}
        body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        root.store.create(root.key(shard_key(owner, day, shard + digit)), body)  # None: already there

    def empty(current: lease.Current | None) -> tuple[bytes | None, None]:
        doc = json.loads(current.data) if current is not None else {}
        if not doc.get("split") or not doc.get("files"):
            return None, None
        emptied = {"owner": owner, "day": day, "split": FANOUT, "files": {}}
        return json.dumps(emptied, sort_keys=True, separators=(",", ":")).encode(), None

    lease.swap(root.store, root.key(shard_key(owner, day, shard)), empty)


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


__all__ = [
    "FANOUT",
    "ROUNDS",
    "SPLIT_AT",
    "Entry",
    "State",
    "days",
    "key",
    "layout",
    "owners",
    "read",
    "shard_key",
    "staged",
    "update",
]
