"""Per-invocation scratch directories (the product brief's lesson 1: shared, reused /tmp).

Warm Lambda containers reuse ``/tmp``: files of concurrent or earlier invocations collided,
"vanished or multiplied", and the disk filled up. Each unit of work gets its own ``uuid4``
directory, checked against free space and a budget before anything is written, and removed
in a ``finally`` whatever happens.

A worker killed mid-flight (SIGKILL, a Lambda timeout) runs no ``finally``: ``sweep_scratch``
lets a later invocation remove such a directory, once it is older than any live worker can be.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 256 << 20  # half of Lambda's default 512 MB /tmp
PREFIX = "bankgate-"
#: Only what ``scratch_dir`` creates: the root may be a ``/tmp`` shared with other programs.
OURS = re.compile(rf"^{PREFIX}[0-9a-f]{{32}}$")


class OutOfScratch(RuntimeError):
    """Not enough free disk for the scratch budget: the machine's problem, not the file's."""


@contextmanager
def scratch_dir(root: Path | str | None = None, budget_bytes: int = DEFAULT_BUDGET) -> Iterator[Path]:
    """A new ``root/bankgate-<uuid4 hex>`` directory (mode 0700), deleted when the block exits.

    Raises ``OutOfScratch`` up front if ``root`` has less than ``budget_bytes`` free.
    ``root`` defaults to ``tempfile.gettempdir()``.
    """
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    free = shutil.disk_usage(base).free
    if free < budget_bytes:
        raise OutOfScratch(f"{base}: {free:,} bytes free, the scratch budget is {budget_bytes:,}")
    path = base / f"{PREFIX}{uuid.uuid4().hex}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():  # pragma: no cover - only if something outside us holds it
            log.warning("scratch dir %s could not be removed", path)


def scratch_usage(path: Path) -> int:
    """Bytes of the regular files under ``path`` (0 if it is gone); links are not followed."""
    total = 0
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            total += scratch_usage(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            total += entry.stat(follow_symlinks=False).st_size
    return total


def age_seconds(st: os.stat_result, now: float) -> float:
    """Time since a file was last written or linked: ``ctime`` moves when a hard link is made,
    so a file linked into place just now is young even if its bytes are old."""
    return now - max(st.st_mtime, st.st_ctime)


def sweep_scratch(root: Path | str | None, older_than: float) -> int:
    """Remove scratch directories a dead worker left in ``root``; how many were removed.

    Only ``scratch_dir``'s own, and only those untouched for ``older_than`` seconds (the claim
    lease, which no live worker outlasts). ``root`` as for ``scratch_dir``.
    """
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    now, removed = time.time(), 0
    try:
        entries = list(os.scandir(base))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not OURS.match(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if age_seconds(entry.stat(follow_symlinks=False), now) < older_than:
                continue
        except FileNotFoundError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
        log.warning("removed scratch dir %s left by a worker that did not finish", entry.path)
    return removed
