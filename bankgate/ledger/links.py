"""The link from a staged object to its origin: ``<root>links/<sha256(staged url)[:32]>.json``.

Every origin writes it before its object can reach staging (a pull once it holds the file's
claim and knows its staging key, a push when it grants the upload), so the processing claim,
which follows the object's event, always finds it. The contract, shared with client push::

    {"kind": "pull" | "push", "owner": <bank or client>, "record": <key of the origin's record>,
     "name": <original name>, "day": "YYYY-MM-DD"}

``record`` is relative to the root; a record kept outside it (a bank's own ``ledger`` URL) is
named by its full URL. ``day`` is the owner's day the file belongs to: the bank's day (the
file's mtime in the bank's time zone, the day of the pull window that takes it) or the grant's.
A later origin of the same URL (a forced re-pull) overwrites the link: it names the newest.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from bankgate import lease
from bankgate.ledger.root import Root, url_digest

Kind = Literal["pull", "push"]


@dataclass(frozen=True, slots=True)
class Link:
    kind: Kind
    owner: str
    record: str
    name: str
    day: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Link:
        kind: Kind = "push" if raw.get("kind") == "push" else "pull"
        text = {k: str(raw.get(k, "")) for k in ("owner", "record", "name", "day")}
        return cls(kind, text["owner"], text["record"], text["name"], text["day"])


def key(staged_url: str) -> str:
    return f"links/{url_digest(staged_url)}.json"


def write(root: Root, staged_url: str, link: Link) -> None:
    """One conditional PUT for a new link; replacing one (a re-pull) reads it first."""
    body = json.dumps(link.to_dict(), sort_keys=True).encode()
    target = root.key(key(staged_url))
    if root.store.create(target, body) is None:
        lease.swap(root.store, target, lambda current: (None if current and current.data == body else body, None))


def read(root: Root, staged_url: str) -> Link | None:
    """The object's link, or None when no origin wrote one (a file dropped into staging by hand)."""
    try:
        raw = json.loads(root.store.read_bytes(root.key(key(staged_url))))
    except KeyError:
        return None
    except ValueError:
        return None  # unreadable: reported as unlinked, the processing goes on
    return Link.from_dict(raw) if isinstance(raw, dict) else None


__all__ = ["Kind", "Link", "key", "read", "write"]
