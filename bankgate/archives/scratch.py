"""Per-invocation scratch space: a fresh ``uuid4`` directory, removed on every path out.

Warm Lambda containers reuse ``/tmp``: concurrent and successive invocations that shared a
directory saw files vanish or multiply, and leftovers filled the disk. Each unpack gets its
own directory, checked against a budget and the free space before anything is written.
"""

from __future__ import annotations

import errno
import logging
import shutil
import uuid
from pathlib import Path

from bankgate.archives.errors import OutOfScratch, label
from bankgate.archives.limits import Budget
from bankgate.archives.streams import CHUNK, MemberStream
from bankgate.scratch import scratch_dir, scratch_usage

__all__ = ["release", "scratch_dir", "scratch_usage", "spill"]

log = logging.getLogger(__name__)

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def spill(stream: MemberStream, scratch: Path, budget: Budget, size_hint: int | None) -> Path:
    """Copy ``stream`` (read from its start) into a new file in ``scratch``; the caller deletes it.

    The budget and the free space are checked before writing (against ``size_hint``, the
    declared size, if known) and again as bytes are written, so a lying header cannot fill
    the disk. On any failure the partial file is removed.
    """
    path_of = stream.meter.path
    in_use = scratch_usage(scratch)
    room = budget.check_scratch(size_hint or 0, in_use, shutil.disk_usage(scratch).free, path_of)
    target = scratch / f"{uuid.uuid4().hex}.spill"
    written = 0
    try:
        with open(target, "xb") as out:
            budget.stats.spills += 1
            while chunk := stream.read(CHUNK):
                if written + len(chunk) > room:
                    raise OutOfScratch(
                        f"{label(path_of)}: spill passed the {room:,} bytes of scratch available "
                        f"(budget {budget.limits.scratch_budget_bytes:,}, in use {in_use:,})",
                        member=path_of,
                        limit="scratch_budget_bytes",
                        actual=written + len(chunk),
                        allowed=room,
                    )
                out.write(chunk)
                written += len(chunk)
                budget.scratch_delta(len(chunk))
    except OSError as error:
        _discard(target, budget, written)
        if error.errno in _NO_SPACE:
            reason = f"{label(path_of)}: scratch disk full after {written:,} bytes"
            raise OutOfScratch(reason, member=path_of) from error
        raise
    except BaseException:
        _discard(target, budget, written)
        raise
    return target


def release(target: Path, budget: Budget) -> None:
    """Delete a spill and give its bytes back to the budget."""
    size = target.stat().st_size if target.exists() else 0
    _discard(target, budget, size)


def _discard(target: Path, budget: Budget, size: int) -> None:
    target.unlink(missing_ok=True)
    budget.scratch_delta(-min(size, budget.stats.scratch_bytes))
