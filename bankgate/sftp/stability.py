"""When is a remote file finished? Rules that leave files still being written alone.

``unchanged(seconds)``: a file is stable when two observations at least ``seconds`` apart show
the same size and mtime. A scheduled pull must not sleep for minutes waiting for that, so
observations are kept between runs (a small JSON object per bank in the ledger's store):

- a file seen before, with the same size and mtime, first seen at least ``seconds`` ago, is
  stable at once;
- a file whose mtime is already older than ``now - seconds`` is stable if a second listing
  ``settle`` seconds later (one short sleep per run, not per file) shows it unchanged: the
  mtime says nobody wrote to it lately, the second look guards against a server clock that
  runs behind ours or a client that sets an old mtime before it finishes writing;
- anything else (new and recent, or changed since the last run) is recorded and waits for the
  next run.

So with a 15-minute schedule and ``unchanged(60)``, a file that lands between runs is pulled
by the next run if the bank finished writing it a minute before, and otherwise the run after.

``marker(suffix)``: ``x.ach`` is pulled only once ``x.ach.done`` exists; the marker itself is
never pulled, and the post-pull action (delete/move) is applied to it too. Rules combine: all
must agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bankgate.banks import Marker, StabilityRule, Unchanged
from bankgate.sftp.listing import RemoteFile

_sleep = time.sleep  # module-level so a test can observe the settle delay


@dataclass(frozen=True)
class Observation:
    size: int
    mtime: int
    seen_at: float  # when this size/mtime was first seen


@dataclass
class Stability:
    """The outcome for one listing: what may be pulled, what waits (and why), the marker of each
    ready file, and the observations to keep for the next run."""

    ready: list[RemoteFile] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)
    markers: dict[str, RemoteFile] = field(default_factory=dict)
    observations: dict[str, Observation] = field(default_factory=dict)


def split_markers(
    files: Sequence[RemoteFile], rules: Sequence[StabilityRule]
) -> tuple[list[RemoteFile], list[RemoteFile]]:
    """(data files, marker files): markers are never pulled as data."""
    suffixes = tuple(r.suffix for r in rules if isinstance(r, Marker))
    if not suffixes:
        return list(files), []
    markers = [f for f in files if f.path.endswith(suffixes)]
    names = {f.path for f in markers}
    return [f for f in files if f.path not in names], markers


def check(
    files: Sequence[RemoteFile],
    rules: Sequence[StabilityRule],
    *,
    markers: Sequence[RemoteFile] = (),
    previous: Mapping[str, Observation],
    now: float,
    relist: Callable[[], Sequence[RemoteFile]],
) -> Stability:
    """Apply ``rules`` to the data ``files``; ``relist`` lists the directories again (for the
    confirming second look at already-old files)."""
    result = Stability()
    candidates = _with_markers(files, rules, markers, result)
    windows = [r for r in rules if isinstance(r, Unchanged)]
    if not windows:
        result.ready = candidates
        return result
    seconds = max(r.seconds for r in windows)
    confirm = _observe(candidates, seconds, previous, now, result)
    if confirm:
        _confirm(confirm, max(r.settle for r in windows), relist, now, result)
    result.ready.sort()
    return result


def _with_markers(
    files: Sequence[RemoteFile], rules: Sequence[StabilityRule], markers: Sequence[RemoteFile], result: Stability
) -> list[RemoteFile]:
    """The files whose every marker rule is met (their markers noted in ``result``); the others wait."""
    marker_paths = {m.path: m for m in markers}
    candidates: list[RemoteFile] = []
    for f in files:
        reason = ""
        for rule in rules:
            if isinstance(rule, Marker):
                found = marker_paths.get(f.path + rule.suffix)
                if found is None:
                    reason = f"waiting for its {rule.suffix} marker"
                    break
                result.markers[f.path] = found
        if reason:
            result.waiting[f.path] = reason
        else:
            candidates.append(f)
    return candidates


def _observe(
    candidates: Sequence[RemoteFile],
    seconds: float,
    previous: Mapping[str, Observation],
    now: float,
    result: Stability,
) -> list[RemoteFile]:
    """Compare with the last run's observations: ready (unchanged long enough), waiting (with
    why), or returned for a second look now (already old by its mtime)."""
    confirm: list[RemoteFile] = []
    for f in candidates:
        before = previous.get(f.path)
        same = before is not None and (before.size, before.mtime) == (f.size, f.mtime)
        seen_at = before.seen_at if same and before is not None else now
        result.observations[f.path] = Observation(f.size, f.mtime, seen_at)
        if same and now - seen_at >= seconds:
            result.ready.append(f)
        elif now - f.mtime >= seconds:
            confirm.append(f)
        else:
            result.waiting[f.path] = _why_waiting(f, before, now - seen_at, seconds)
    return confirm


def _why_waiting(f: RemoteFile, before: Observation | None, unchanged_for: float, seconds: float) -> str:
    if before is None:
        return f"first seen now; pulled once unchanged for {seconds:g}s"
    if (before.size, before.mtime) != (f.size, f.mtime):
        return f"still changing (size {before.size} -> {f.size}, mtime {before.mtime} -> {f.mtime})"
    return f"unchanged for {unchanged_for:.0f}s of {seconds:g}s"


def _confirm(
    confirm: Sequence[RemoteFile],
    settle: float,
    relist: Callable[[], Sequence[RemoteFile]],
    now: float,
    result: Stability,
) -> None:
    """The second look, ``settle`` seconds later: ready if unchanged, else waiting."""
    if settle:
        _sleep(settle)
    again = {f.path: f for f in relist()}
    for f in confirm:
        later = again.get(f.path)
        if later == f:
            result.ready.append(f)
        elif later is None:
            result.waiting[f.path] = "disappeared while being checked"
            result.observations.pop(f.path, None)
        else:
            result.waiting[f.path] = f"changed while being checked (size {f.size} -> {later.size})"
            result.observations[f.path] = Observation(later.size, later.mtime, now)
