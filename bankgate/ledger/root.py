"""The ledger's root: the one store and key prefix every record schema lives under."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bankgate.store import open_url
from bankgate.store.base import ObjectStore

#: The root when none is configured on the pull side: beside the staged files, where the pull
#: ledger always lived (``bankgate-ledger/sftp/``), so existing pull records stay where they are.
DEFAULT_PREFIX = "bankgate-ledger/"


def url_digest(url: str) -> str:
    """The 32 hex digits that name a staged object's records (processing record, link)."""
    return hashlib.sha256(url.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Root:
    store: ObjectStore
    prefix: str  # "" or ending in "/"

    def __post_init__(self) -> None:
        if self.prefix and not self.prefix.endswith("/"):
            object.__setattr__(self, "prefix", self.prefix + "/")

    def key(self, relative: str) -> str:
        return self.prefix + relative

    @property
    def url(self) -> str:
        return self.store.url_of(self.prefix)

    def relative(self, store: ObjectStore, key: str) -> str | None:
        """``key`` in ``store`` relative to the root, or None when it lies outside it."""
        if store.url == self.store.url and key.startswith(self.prefix):
            return key[len(self.prefix) :]
        return None


def open_root(url: str, **clients: Any) -> Root:
    store, prefix = open_url(url, **clients)
    return Root(store, prefix)
