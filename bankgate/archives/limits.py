"""The limits of one unpack, and the meters that enforce them on the bytes actually produced.

Header fields (declared sizes, entry counts) are read only to fail early; every limit is
enforced again on real decompressed bytes, the moment it is crossed, because headers are
written by whoever built the archive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bankgate.archives.errors import ArchiveBomb, OutOfScratch, TooManyMembers, label

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class UnpackLimits:
    """What one archive may cost. The defaults are sized for bank and insurance files.

    - ``max_ratio`` 500 with ``ratio_floor_bytes`` 64 MiB: honest bank files are very
      compressible (a real 500,000-entry ACH file deflates 35:1, repetitive fixed-width
      files with blank columns reach ~150:1), so 500 leaves over 3x headroom over the most
      repetitive honest file, while zeros or any other bomb filler deflate at ~1,000:1
      (deflate's ceiling is 1,032:1) and are refused after at most 64 MiB of output, a
      fraction of a second of work. Below the floor a member may compress as well as it
      likes: a 1 MiB file of spaces is harmless. The ratio is checked per member (its
      output against the compressed bytes it consumed so far) and overall (all output
      against the archive's bytes), which catches nested bombs whose every layer looks
      moderate.
    - ``max_member_bytes`` 8 GiB and ``max_total_bytes`` 16 GiB bound the work a bomb built
      just under the ratio can cause (16 GiB inflates in well under a minute and, because
      members are streamed, costs no disk); larger honest loads belong to the batch runner.
    - ``max_members`` 10,000 entries over all nesting levels (directories included): a
      day of per-account statements fits, a million-entry central directory does not.
    - ``max_depth`` 3: a tar.gz inside a zip inside a zip is the deepest real nesting seen;
      a ``.tar.gz`` is one level, ``x.gz.gz`` two.
    - ``scratch_budget_bytes`` 256 MiB: scratch holds only spilled nested zips (or a zip
      read from a non-seekable stream); half of Lambda's default 512 MB ``/tmp``.
    """

    max_members: int = 10_000
    max_total_bytes: int = 16 * GiB
    max_member_bytes: int = 8 * GiB
    max_ratio: float = 500.0
    ratio_floor_bytes: int = 64 * MiB
    max_depth: int = 3
    scratch_budget_bytes: int = 256 * MiB

    def __post_init__(self) -> None:
        for name in (
            "max_members",
            "max_total_bytes",
            "max_member_bytes",
            "max_ratio",
            "ratio_floor_bytes",
            "max_depth",
            "scratch_budget_bytes",
        ):
            if getattr(self, name) < (0 if name in ("ratio_floor_bytes", "scratch_budget_bytes") else 1):
                raise ValueError(f"UnpackLimits.{name} must be positive, got {getattr(self, name)}")


@dataclass(slots=True)
class UnpackStats:
    """Counts of one unpack, filled as it goes (for the ledger, tests and the benchmark)."""

    entries: int = 0  # every entry at every level, directories and nested archives included
    files: int = 0  # members yielded to the caller
    bytes_out: int = 0  # decompressed bytes of all members at all levels
    archive_bytes: int = 0  # compressed bytes read from the source archive
    spills: int = 0
    peak_scratch_bytes: int = 0
    deepest: int = 0  # deepest archive level opened (the source archive is level 1)
    scratch_bytes: int = field(default=0, repr=False)  # live spills


class Budget:
    """What the whole unpack has used so far: entries, output bytes, scratch."""

    __slots__ = ("_archive_bytes", "limits", "stats")

    def __init__(self, limits: UnpackLimits, stats: UnpackStats, archive_bytes: Callable[[], int]) -> None:
        self.limits = limits
        self.stats = stats
        self._archive_bytes = archive_bytes

    def count_entries(self, n: int, path: tuple[str, ...]) -> None:
        """Add ``n`` entries met while unpacking."""
        self.check_entries(n, path)
        self.stats.entries += n

    def check_entries(self, n: int, path: tuple[str, ...], source: str = "counted") -> None:
        """Refuse if ``n`` more entries (``source``: counted, or as a header declares) cross the limit."""
        total = self.stats.entries + n
        allowed = self.limits.max_members
        if total > allowed:
            raise TooManyMembers(
                f"{label(path)}: {total:,} entries over all levels, {source} (at most {allowed:,})",
                member=path,
                limit="max_members",
                actual=total,
                allowed=allowed,
            )

    def add_output(self, n: int, path: tuple[str, ...]) -> None:
        stats, limits = self.stats, self.limits
        stats.bytes_out += n
        total = stats.bytes_out
        if total > limits.max_total_bytes:
            raise ArchiveBomb(
                f"{label(path)}: members inflate past {limits.max_total_bytes:,} bytes in total",
                member=path,
                limit="max_total_bytes",
                actual=total,
                allowed=limits.max_total_bytes,
            )
        if total > limits.ratio_floor_bytes:
            packed = max(self._archive_bytes(), 1)
            if total > limits.max_ratio * packed:
                raise ArchiveBomb(
                    f"{label(path)}: the archive inflates {total / packed:,.0f}:1 overall "
                    f"({total:,} bytes from {packed:,}; at most {limits.max_ratio:,.0f}:1)",
                    member=path,
                    limit="max_ratio",
                    actual=round(total / packed, 1),
                    allowed=limits.max_ratio,
                )

    def check_scratch(self, need: int, in_use: int, free: int, path: tuple[str, ...]) -> int:
        """Bytes a spill may still write, or ``OutOfScratch`` if ``need`` does not fit."""
        room = min(self.limits.scratch_budget_bytes - in_use, free)
        if need > room:
            raise OutOfScratch(
                f"{label(path)}: needs {need:,} bytes of scratch, {room:,} available "
                f"(budget {self.limits.scratch_budget_bytes:,}, in use {in_use:,}, disk free {free:,})",
                member=path,
                limit="scratch_budget_bytes",
                actual=need,
                allowed=room,
            )
        return room

    def scratch_delta(self, n: int) -> None:
        stats = self.stats
        stats.scratch_bytes += n
        stats.peak_scratch_bytes = max(stats.peak_scratch_bytes, stats.scratch_bytes)


class Meter:
    """Counts one decoded stream and raises as soon as one of its limits is crossed.

    ``cap`` bounds the stream itself; ``packed`` (if given) returns the compressed bytes it
    has consumed, for the ratio; ``budget`` (if given) also counts the bytes as member
    output of the whole unpack.
    """

    __slots__ = ("_packed", "budget", "bytes", "cap", "cap_name", "limits", "path")

    def __init__(
        self,
        path: tuple[str, ...],
        limits: UnpackLimits,
        *,
        cap: int | None,
        cap_name: str = "max_member_bytes",
        packed: Callable[[], int] | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.path = path
        self.limits = limits
        self.cap = cap
        self.cap_name = cap_name
        self._packed = packed
        self.budget = budget
        self.bytes = 0

    def count_as_member(self, budget: Budget) -> None:
        """From now on this stream is a member: capped per member and counted in the total."""
        self.cap = self.limits.max_member_bytes
        self.cap_name = "max_member_bytes"
        self.budget = budget
        budget.add_output(self.bytes, self.path)
        self.check()

    def add(self, n: int) -> None:
        self.bytes += n
        self.check()
        if self.budget is not None:
            self.budget.add_output(n, self.path)

    def check(self) -> None:
        out, limits = self.bytes, self.limits
        if self.cap is not None and out > self.cap:
            raise ArchiveBomb(
                f"{label(self.path)}: inflates past {self.cap:,} bytes ({self.cap_name})",
                member=self.path,
                limit=self.cap_name,
                actual=out,
                allowed=self.cap,
            )
        if self._packed is not None and out > limits.ratio_floor_bytes:
            packed = max(self._packed(), 1)
            if out > limits.max_ratio * packed:
                raise ArchiveBomb(
                    f"{label(self.path)}: inflates {out / packed:,.0f}:1 ({out:,} bytes from {packed:,} "
                    f"compressed; at most {limits.max_ratio:,.0f}:1 past {limits.ratio_floor_bytes:,} bytes)",
                    member=self.path,
                    limit="max_ratio",
                    actual=round(out / packed, 1),
                    allowed=limits.max_ratio,
                )
