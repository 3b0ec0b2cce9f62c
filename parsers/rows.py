"""Record-to-row helpers shared by the parsers and the writers; deliberately free of numpy
so that importing the output side (as a Lambda does at cold start) stays light."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Build a block of records without the cyclic GC scanning them as they are made.

    Records are tuples of ints and strings: they can never form a cycle, yet every few
    hundred allocations the collector walks them all. Pausing it for one block's worth of
    records makes decoding about 30% faster; it runs again as soon as the block is done.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def handed_over(frozen: bool) -> Iterator[None]:
    """While a consumer holds a block of new records, keep the collector from walking them.

    A pause (``gc_paused``) only defers the work: the first allocation after it starts a young
    collection that walks every tuple of the block (a tenth of the parse time on a file of many
    small batches). ``freeze_new_objects``, called at the end of the pause, moves every tracked
    object to the permanent generation in O(1); this undoes it once the consumer is done, so the
    records join the oldest generation, which only a full collection (rare) walks, and any
    garbage cycle of the consumer's is still collected then.
    """
    try:
        yield
    finally:
        if frozen:
            gc.unfreeze()


def freeze_new_objects() -> bool:
    """``gc.freeze()`` for ``handed_over``, only when nothing is frozen yet: a freeze the program
    made before the parse (a pre-fork server's) is never undone; one it makes while holding a
    block would be, by the unfreeze that ends the block's turn. Returns whether it froze."""
    if gc.get_freeze_count():
        return False
    gc.freeze()
    return True


def union_columns(record_classes: Iterable[type]) -> list[str]:
    """The columns of a table that holds every given record type (CSV, Parquet)."""
    columns = ["record"]
    for cls in record_classes:
        for name in cls._fields:
            if name not in columns:
                columns.append(name)
    return columns
