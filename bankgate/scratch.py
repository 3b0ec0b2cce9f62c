"""Per-invocation scratch directories (lesson 1: shared, reused /tmp).

Warm Lambda containers reuse ``/tmp``: files of concurrent or earlier invocations collided,
"vanished or multiplied", and the disk filled up. Each unit of work gets its own ``uuid4``
directory, checked against free space and a budget before anything is written, and removed
in a ``finally`` whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class OutOfScratch(RuntimeError):
    """Not enough free disk for the configured scratch budget."""


@contextmanager
def scratch_dir(root: Path | None = None, budget_bytes: int = 0) -> Iterator[Path]:
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(base).free
    if budget_bytes and free < budget_bytes:
        raise OutOfScratch(f"{base}: {free} bytes free, the scratch budget needs {budget_bytes}")
    path = base / f"bankgate-{uuid.uuid4().hex}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def usage_bytes(path: Path) -> int:
    """Bytes currently stored under ``path`` (for budgets, tests and benchmarks)."""
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            with contextlib.suppress(FileNotFoundError):  # removed while we walk
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total
