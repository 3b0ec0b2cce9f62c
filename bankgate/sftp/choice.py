"""Which of a bank's selected files a run pulls now: the one choice for ``pull_bank`` and the
Airflow tasks (they used to write it twice). It follows :func:`selection.select_remote` in two
halves, so the DAG can run them as two tasks (``list_files``, ``select_files``):

1. :func:`screen` (no I/O): the run's window of mtimes, or a caller's predicate, and the bank's
   size limit (``max_file_size``, applied by both paths alike) give the :class:`Candidates`;
2. :func:`ready` (ledger and server): candidates already pulled are set aside (unless forced),
   the rest go through the bank's stability rules, whose observations are kept in the ledger
   between runs; the :class:`Readiness` says which are ready and why the others wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bankgate.banks import BankConfig
from bankgate.sftp import stability
from bankgate.sftp.ledger import PullLedger
from bankgate.sftp.listing import RemoteFile

log = logging.getLogger(__name__)


@dataclass
class Candidates:
    """Selected files sorted by the run's window and the bank's size limit."""

    files: list[RemoteFile] = field(default_factory=list)  # in the window and small enough: go on to `ready`
    older: list[RemoteFile] = field(default_factory=list)  # modified before the window: a re-pull's
    newer: list[RemoteFile] = field(default_factory=list)  # modified after the window: a later run's
    not_selected: list[RemoteFile] = field(default_factory=list)  # refused by the caller's predicate
    too_large: list[RemoteFile] = field(default_factory=list)  # over the bank's limit: reported, alerted


@dataclass
class Readiness:
    """Candidates after the ledger and the stability rules."""

    ready: list[RemoteFile] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)  # path -> why it is not stable yet
    already_pulled: list[RemoteFile] = field(default_factory=list)
    markers: dict[str, RemoteFile] = field(default_factory=dict)  # data path -> its done marker


def screen(
    bank: BankConfig,
    files: Sequence[RemoteFile],
    *,
    since: float | None = None,
    end: float | None = None,
    select: Callable[[RemoteFile], bool] | None = None,
) -> Candidates:
    """Sort ``files`` by the window ``[since, end)`` and the predicate ``select`` (each only
    when given), then by the bank's ``max_file_size``, in that order."""
    max_size = bank.max_file_size
    out = Candidates()
    for f in files:
        if since is not None and f.mtime < since:
            out.older.append(f)
        elif end is not None and f.mtime >= end:
            out.newer.append(f)
        elif select is not None and not select(f):
            out.not_selected.append(f)
        elif f.size > max_size:
            out.too_large.append(f)
        else:
            out.files.append(f)
    return out


def ready(
    ledger: PullLedger,
    bank: BankConfig,
    candidates: Sequence[RemoteFile],
    markers: Sequence[RemoteFile],
    *,
    force: bool,
    now: float,
    relist: Callable[[], list[RemoteFile]],
) -> Readiness:
    """Set aside what the ledger holds as pulled (nothing when ``force``), check the rest for
    stability (``relist`` lists the bank again for a rule that watches a file between two
    looks), and save the observations for the next run (a concurrent run's save wins)."""
    done = set() if force else ledger.pulled(bank.name, candidates)
    fresh = [f for f in candidates if f not in done]
    previous, etag = ledger.observations(bank.name)
    verdict = stability.check(fresh, bank.stability, markers=list(markers), previous=previous, now=now, relist=relist)
    if not ledger.save_observations(bank.name, verdict.observations, etag):
        log.info("%s: stability observations were updated by a concurrent run; kept theirs", bank.name)
    return Readiness(verdict.ready, dict(sorted(verdict.waiting.items())), sorted(done), verdict.markers)


__all__ = ["Candidates", "Readiness", "ready", "screen"]
