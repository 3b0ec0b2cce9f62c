"""Reconciliation: for one bank (or client) and a range of its days, every byte pulled or pushed
is accounted for as archived, quarantined or still pending, and every gap is named.

What is read: the owner's day indexes (one GET per day), its pull records (one LIST per UTC
date the days touch and one GET per record: they are filed by mtime date), each file's
processing record (one GET) and a HEAD for each object a record says exists. With the staging
URL of the owner's files, staging is listed too (it holds only files not yet processed, so it
stays small) and each object's link read. Gaps:

- ``unrecorded``: a staged object no origin linked and no processing record knows;
- ``unindexed``: a pulled file, or a linked staged object, missing from its day's index;
- ``vanished``: a record whose object is gone (a pending file no longer in staging, an
  archived or quarantined copy, or an output, that is not where the record says);
- ``orphan-outputs``: a processed file's outputs whose original is no longer in the archive.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from bankgate.ledger import index, links
from bankgate.ledger.processing import DONE, QUARANTINED, Ledger
from bankgate.ledger.root import Root, open_root
from bankgate.store import open_url, split_url
from bankgate.store.base import ObjectStore
from bankgate.store.local import LocalStore

GapKind = Literal["unrecorded", "unindexed", "vanished", "orphan-outputs"]
Account = Literal["archived", "quarantined", "pending"]
ACCOUNTS: tuple[Account, ...] = ("archived", "quarantined", "pending")
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Gap:
    kind: GapKind
    url: str
    detail: str


@dataclass(slots=True)
class Reconciliation:
    owner: str
    first: date
    last: date
    files: dict[Account, int] = field(default_factory=lambda: dict.fromkeys(ACCOUNTS, 0))
    bytes: dict[Account, int] = field(default_factory=lambda: dict.fromkeys(ACCOUNTS, 0))
    gaps: list[Gap] = field(default_factory=list)
    staging_checked: bool = False

    @property
    def ok(self) -> bool:
        return not self.gaps

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "files": self.files,
            "bytes": self.bytes,
            "gaps": [{"kind": g.kind, "url": g.url, "detail": g.detail} for g in self.gaps],
            "staging_checked": self.staging_checked,
            "ok": self.ok,
        }


def reconcile(
    root: Root,
    owner: str,
    first: date,
    last: date,
    *,
    staging: str | None = None,
    pulls: str | None = None,
    stores: Iterable[ObjectStore] = (),
    progress: Progress | None = None,
) -> Reconciliation:
    """Account for the owner's files of ``first``..``last`` (see the module doc). ``staging``
    is the URL prefix its files are staged under; ``pulls`` the pull ledger's URL when the bank
    keeps it outside the root (its own ``ledger`` setting); ``stores`` are stores to resolve
    ``file://`` URLs of archived copies and outputs in (others are opened from their URL)."""
    days = [(first + timedelta(n)).isoformat() for n in range((last - first).days + 1)]
    result = Reconciliation(owner, first, last)
    ledger = Ledger(root.store, root.prefix)
    locate = _Locator([root.store, *stores])
    indexed: dict[str, index.Entry] = {}
    for day in days:
        indexed.update(index.read(root, owner, day))
    sizes = {url: entry.size for url, entry in indexed.items()}
    pull_root = open_root(pulls) if pulls else Root(root.store, root.key("sftp/"))
    for url, size in _pulled(pull_root, owner, first, last, set(days)).items():
        sizes.setdefault(url, size)
        if url not in indexed:
            result.gaps.append(Gap("unindexed", url, "pulled, but missing from its day's index"))
    if staging is not None:
        result.staging_checked = True
        store, prefix = open_url(staging)
        locate.known.append(store)
        for info in store.list(prefix):
            url = store.url_of(info.key)
            link = links.read(root, url)
            if link is None:
                if ledger.get(url) is None:
                    result.gaps.append(Gap("unrecorded", url, f"in staging ({info.size} bytes), in no ledger record"))
            elif link.owner == owner and link.day in days and url not in sizes:
                result.gaps.append(Gap("unindexed", url, f"staged ({info.size} bytes), missing from its day's index"))
                sizes[url] = info.size
    for n, (url, size) in enumerate(sorted(sizes.items()), 1):
        _account(result, ledger, locate, url, size)
        if progress:
            progress(n, len(sizes))
    return result


def _account(result: Reconciliation, ledger: Ledger, locate: _Locator, url: str, size: int) -> None:
    found = ledger.get(url)
    record = found[0] if found else None
    size = (record.size if record and record.size else 0) or size
    if record is not None and record.state == DONE:
        account: Account = "archived"
        if not locate.exists(record.archived_to):
            kind: GapKind = "orphan-outputs" if record.outputs else "vanished"
            result.gaps.append(Gap(kind, url, f"processed, but its original {record.archived_to or '?'} is gone"))
        for output in record.outputs:
            if not locate.exists(str(output.get("url", ""))):
                result.gaps.append(Gap("vanished", url, f"its output {output.get('url')} is gone"))
    elif record is not None and record.state == QUARANTINED:
        account = "quarantined"
        if not locate.exists(record.archived_to):
            result.gaps.append(Gap("vanished", url, f"quarantined, but {record.archived_to or '?'} is gone"))
    else:
        account = "pending"
        if not locate.exists(url):
            state = record.state if record else "not yet processed"
            result.gaps.append(Gap("vanished", url, f"{state}, but no longer in staging"))
    result.files[account] += 1
    result.bytes[account] += size


def _pulled(root: Root, owner: str, first: date, last: date, days: set[str]) -> dict[str, int]:
    """Staged URL -> size of the owner's pull records (under the pull ledger ``root``) on
    ``days`` (the bank's days; a record from before they were kept counts by its mtime's UTC
    date)."""
    found: dict[str, int] = {}
    utc = first - timedelta(1)
    while utc <= last + timedelta(1):  # a bank's day spans at most the UTC dates either side
        for info in root.store.list(root.key(f"{owner}/pulled/{utc.isoformat()}/")):
            try:
                record = json.loads(root.store.read_bytes(info.key))
            except (KeyError, ValueError):
                continue
            if record.get("day", utc.isoformat()) in days and record.get("url"):
                found[record["url"]] = int(record.get("size", 0))
        utc += timedelta(1)
    return found


class _Locator:
    """Whether the object at a URL exists: one HEAD, in a known store where one holds it."""

    def __init__(self, known: list[ObjectStore]) -> None:
        self.known = known
        self._opened: dict[str, ObjectStore] = {}

    def exists(self, url: str) -> bool:
        if not url:
            return False
        for store in self.known:
            if url.startswith(store.url + "/"):
                return store.info(url[len(store.url) + 1 :]) is not None
        scheme, where, key = split_url(url)
        if scheme == "file":
            return LocalStore(posixpath.dirname(where)).info(posixpath.basename(where)) is not None
        bucket = f"{scheme}://{where}"
        if bucket not in self._opened:
            self._opened[bucket] = open_url(bucket)[0]
        return self._opened[bucket].info(key) is not None


__all__ = ["ACCOUNTS", "Account", "Gap", "GapKind", "Reconciliation", "reconcile"]
