"""Where a bank's files go in the object stores: the staging prefix, the pull ledger (at
``<ledger root>sftp/``, or in the bank's own ``ledger`` URL), and the partial uploads outside the
staging prefix, with their sweep. One layout for ``pull_bank`` and the DAG tasks.

The ledger root is the one the processing pipeline uses (``BANKGATE_LEDGER``, see
``bankgate.ledger``), so a pull's links and index entries meet the processing records; without
it, the root is ``bankgate-ledger/`` beside the staged files, where pull records always were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bankgate.banks import BankConfig
from bankgate.config import ledger_root_url
from bankgate.ledger.root import DEFAULT_PREFIX, Root
from bankgate.sftp.ledger import PullLedger
from bankgate.store import open_url, split_url
from bankgate.store.base import ObjectStore

log = logging.getLogger(__name__)

StoreOpener = Callable[[str], tuple[ObjectStore, str]]
PARTIALS_STALE_AFTER = 24 * 3600


def with_slash(prefix: str) -> str:
    """A key prefix as a folder: ``a/b`` -> ``a/b/`` (empty stays empty)."""
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def open_stores(
    bank: BankConfig, store_url: str, open_store: StoreOpener = open_url, *, ledger_root: str | None = None
) -> tuple[ObjectStore, str, PullLedger]:
    """(destination store, key prefix ending in ``/``, the bank's pull ledger). The ledger root
    is ``ledger_root``, else the configured one (``config.ledger_root_url``), else
    ``bankgate-ledger/`` in the destination's store; the pull records are in the bank's
    ``ledger`` URL when it has one, else ``<root>sftp/``."""
    store, prefix = open_store(store_url)
    root_url = ledger_root_url(ledger_root)
    root = Root(*open_store(root_url)) if root_url else Root(store, DEFAULT_PREFIX)
    if not bank.ledger:
        return store, with_slash(prefix), PullLedger(root.store, root.key("sftp/"), root=root)
    ledger_store, ledger_prefix = open_store(bank.ledger)
    return store, with_slash(prefix), PullLedger(ledger_store, with_slash(ledger_prefix), root=root)


def partials_of(bank: BankConfig) -> str:
    """The prefix of the bank's temporary uploads: below ``partial_prefix``, outside the staging
    prefix the pipeline watches (see ``landing``)."""
    return f"{with_slash(bank.partial_prefix)}{bank.name}/"


def sweep_partials(store: ObjectStore, prefix: str, now: float, *, older_than: float = PARTIALS_STALE_AFTER) -> int:
    """Remove the temporary uploads under ``prefix`` older than ``older_than`` seconds: what a
    run that died between its transfer and its verify left behind (its claim on the file has
    long expired and a later run pulled the file again). A day is far longer than any transfer
    or verify takes, so nothing in use is touched; a staged copy swept before its verify ran
    only means the file is pulled again. Returns how many were removed; never raises (a pull
    does not fail over housekeeping; a bucket lifecycle rule on the prefix is the backstop)."""
    removed = 0
    try:
        for info in store.list(prefix):
            if info.modified_ns and now - info.modified_ns / 1e9 > older_than:
                store.delete(info.key)
                removed += 1
    except Exception:
        log.warning("could not sweep stale partial uploads under %s", prefix, exc_info=True)
    if removed:
        log.info("removed %d stale partial upload(s) under %s", removed, store.url_of(prefix))
    return removed


def staging_prefix(url: str) -> str:
    """The key prefix of a destination URL, without opening its store (a name's safety check
    counts it toward the key's length)."""
    return with_slash(split_url(url)[2])


__all__ = [
    "PARTIALS_STALE_AFTER",
    "StoreOpener",
    "open_stores",
    "partials_of",
    "staging_prefix",
    "sweep_partials",
    "with_slash",
]
