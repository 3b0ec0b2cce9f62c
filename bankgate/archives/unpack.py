"""Streaming archive members one at a time, nested archives included, never extracting to disk.

Members are decoded straight from the archive into a stream the caller reads: nothing is
written for them, so scratch holds only what cannot be streamed (a zip nested in another
archive, or a zip read from a non-seekable source, needs random access and is spilled,
then deleted as soon as its members are done).
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from bankgate.archives.errors import (
    ArchiveBomb,
    ArchiveError,
    CorruptArchive,
    TooDeep,
    UnsafeMember,
    label,
)
from bankgate.archives.limits import Budget, Meter, MiB, UnpackLimits, UnpackStats
from bankgate.archives.names import safe_name
from bankgate.archives.scratch import release, spill
from bankgate.archives.streams import (
    CHUNK,
    DECODE_ERRORS,
    DeflateChunks,
    FileChunks,
    GzipChunks,
    MemberStream,
    StoredChunks,
    describe,
)
from bankgate.archives.zipscan import scan_zip
from bankgate.parsers.detect import GZIP, HEAD_BYTES, TAR, ZIP, detect

ARCHIVES = frozenset({ZIP, GZIP, TAR})

#: Bytes tarfile may read between two members (headers, long names, pax records and its
#: own read-ahead of one CHUNK). More means a giant pax header built to exhaust memory.
TAR_HEADER_BYTES = 8 * MiB


def _io(stream: MemberStream) -> IO[bytes]:
    """A member stream as the binary file it is: the type stubs give ``io.BufferedIOBase``
    no relation to ``typing.IO``, though it has every method a reader of ``IO[bytes]`` calls."""
    return cast(IO[bytes], stream)


@dataclass(frozen=True)
class Member:
    """One file from an archive, to be processed as a file of its own.

    ``path`` is its lineage: the archive's name, then member names down the nested levels.
    ``stream`` yields its decompressed bytes and is valid until the iteration moves on.
    ``size_hint`` is the size the archive declares (``None`` if unknown); it is only a hint,
    the stream itself enforces the limits. ``kind`` is ``bankgate.parsers.detect.detect`` of its head.
    """

    path: tuple[str, ...]
    stream: IO[bytes]
    size_hint: int | None
    kind: str

    @property
    def name(self) -> str:
        return self.path[-1]


def iter_members(
    source: IO[bytes] | Path,
    *,
    name: str,
    scratch: Path,
    limits: UnpackLimits | None = None,
    stats: UnpackStats | None = None,
    layout_dirs: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[Member]:
    """Yield the files inside ``source`` in archive order, recursing into nested archives.

    ``source`` is a path or a binary stream (seekable or not); ``name`` is its original
    name, the root of every member's lineage. Archives are recognised by content (zip,
    gzip, tar, tar.gz at any level up to ``limits.max_depth``); anything else, including a
    source that is not an archive at all, comes out as a member as it is. ``scratch`` is a
    directory of this invocation (see ``scratch_dir``) used only for spills.

    Every problem raises an ``ArchiveError`` whose ``reason`` names the member and the
    limit: the caller quarantines the whole archive and discards what earlier members
    produced, so outputs should be committed only once the iteration has finished. Close
    the generator (or exhaust it) to release spills early; ``stats``, if given, is filled in.
    ``layout_dirs`` are the user layout directories detection looks in (``bankgate.parsers.detect``).
    """
    stats = stats if stats is not None else UnpackStats()
    unpacker = _Unpacker(limits or UnpackLimits(), scratch, stats, tuple(layout_dirs))
    return unpacker.run(source, name)


class _Unpacker:
    """One unpack: the walk over nested levels, sharing one budget."""

    def __init__(
        self, limits: UnpackLimits, scratch: Path, stats: UnpackStats, layout_dirs: tuple[str | os.PathLike[str], ...]
    ) -> None:
        self.limits = limits
        self.layout_dirs = layout_dirs
        self.scratch = scratch
        self.stats = stats
        self.budget = Budget(limits, stats, lambda: 0)  # replaced once the source's size is known

    def run(self, source: IO[bytes] | Path, name: str) -> Iterator[Member]:
        path = (name,)
        with ExitStack() as stack:
            fp = stack.enter_context(open(source, "rb")) if isinstance(source, Path) else source
            start, size = _extent(fp)
            raw = MemberStream(FileChunks(fp), Meter(path, self.limits, cap=None))
            self.budget = Budget(self.limits, self.stats, _archive_bytes(size, raw))
            try:
                with _decoding(path):
                    kind = detect(raw.head(HEAD_BYTES), self.layout_dirs)
                if kind == ZIP and start is not None:
                    fp.seek(start)
                    self._enter(path, 1)
                    yield from self._zip(fp, path, 1)
                elif kind in ARCHIVES:
                    yield from self._archive(raw, kind, path, 1, size)
                else:
                    self.budget.count_entries(1, path)
                    self.stats.files += 1
                    yield Member(path, _io(raw), size, kind)
            finally:
                self.stats.archive_bytes = size if size is not None else raw.meter.bytes
                raw.close()

    # -- dispatch ------------------------------------------------------------------------------

    def _enter(self, path: tuple[str, ...], layer: int) -> None:
        if layer > self.limits.max_depth:
            raise TooDeep(
                f"{label(path)}: archive nested {layer} levels deep (at most {self.limits.max_depth})",
                member=path,
                limit="max_depth",
                actual=layer,
                allowed=self.limits.max_depth,
            )
        self.stats.deepest = max(self.stats.deepest, layer)

    def _archive(
        self, stream: MemberStream, kind: str, path: tuple[str, ...], layer: int, size_hint: int | None
    ) -> Iterator[Member]:
        self._enter(path, layer)
        if kind == ZIP:
            yield from self._spilled_zip(stream, path, layer, size_hint)
        elif kind == GZIP:
            yield from self._gzip(stream, path, layer)
        else:
            yield from self._tar(stream, path, layer)

    def _member(
        self, stream: MemberStream, path: tuple[str, ...], layer: int, size_hint: int | None
    ) -> Iterator[Member]:
        """A member: recursed into if it is an archive, else handed to the caller; closed after."""
        try:
            kind = detect(stream.head(HEAD_BYTES), self.layout_dirs)
            if kind in ARCHIVES:
                yield from self._archive(stream, kind, path, layer + 1, size_hint)
            else:
                self.stats.files += 1
                yield Member(path, _io(stream), size_hint, kind)
        finally:
            stream.close()

    # -- zip -----------------------------------------------------------------------------------

    def _spilled_zip(
        self, stream: MemberStream, path: tuple[str, ...], layer: int, size_hint: int | None
    ) -> Iterator[Member]:
        """A zip needs random access: copy it to scratch, unpack it, delete it right after."""
        target = spill(stream, self.scratch, self.budget, size_hint)
        try:
            with open(target, "rb") as fp:
                yield from self._zip(fp, path, layer)
        finally:
            release(target, self.budget)

    def _zip(self, fp: IO[bytes], path: tuple[str, ...], layer: int) -> Iterator[Member]:
        with _decoding(path):
            entries = scan_zip(fp, path, self.budget)
        for entry in entries:
            if entry.is_dir:
                continue
            info = entry.info
            member_path = (*path, entry.name)
            kind = DeflateChunks if info.compress_type == zipfile.ZIP_DEFLATED else StoredChunks
            chunks = kind(fp, entry.data_start, info.compress_size, info.file_size, info.CRC, member_path)
            meter = self._member_meter(member_path, packed=_consumed(chunks))
            yield from self._member(MemberStream(chunks, meter), member_path, layer, info.file_size)

    # -- gzip ----------------------------------------------------------------------------------

    def _gzip(self, stream: MemberStream, path: tuple[str, ...], layer: int) -> Iterator[Member]:
        """A gzip's payload: a tar (a .tar.gz, the same level) or a single file."""
        chunks = GzipChunks(_io(stream), path)
        meter = Meter(
            path, self.limits, cap=self.limits.max_total_bytes, cap_name="max_total_bytes", packed=_consumed(chunks)
        )
        payload = MemberStream(chunks, meter)
        try:
            if detect(payload.head(HEAD_BYTES)) == TAR:
                yield from self._tar(payload, path, layer)
                return
            inner = (*path, _gunzipped_name(path[-1]))
            self.budget.count_entries(1, inner)
            meter.path = inner
            meter.count_as_member(self.budget)
            yield from self._member(payload, inner, layer, None)
        finally:
            payload.close()

    # -- tar -----------------------------------------------------------------------------------

    def _tar(self, stream: MemberStream, path: tuple[str, ...], layer: int) -> Iterator[Member]:
        """Tar members in stream mode (no seeking, so it works on a gzip payload as it inflates)."""
        feed = _TarFeed(stream, path)
        seen: dict[str, str] = {}
        with _decoding(path), feed.headers():
            archive = tarfile.open(fileobj=feed, mode="r|", bufsize=CHUNK)  # type: ignore[call-overload]  # noqa: SIM115
        with archive:
            while True:
                with _decoding(path), feed.headers():
                    info = archive.next()
                if info is None:
                    break
                name = self._check_tar_member(info, path, seen)
                if info.isdir():
                    continue
                member_path = (*path, name)
                with _decoding(member_path):
                    data = archive.extractfile(info)
                assert data is not None  # a regular file, checked above
                member = MemberStream(FileChunks(data), self._member_meter(member_path, packed=None))
                yield from self._member(member, member_path, layer, info.size)
                member.drain()  # tarfile skips what the consumer left; reading it keeps the count honest
            feed.check_end(archive.offset)
        stream.drain()  # the end blocks and, for a .tar.gz, the gzip trailer with its CRC

    def _check_tar_member(self, info: tarfile.TarInfo, path: tuple[str, ...], seen: dict[str, str]) -> str:
        where = (*path, info.name)
        self.budget.count_entries(1, where)
        name = safe_name(info.name, path)
        if name in seen:
            raise UnsafeMember(
                f"{label(where)}: duplicate member name (same as {seen[name]!r}); which copy wins is ambiguous",
                member=where,
            )
        seen[name] = info.name
        if info.issym() or info.islnk():
            what = "symbolic" if info.issym() else "hard"
            reason = f"{label(where)}: {what} link to {info.linkname!r}; links are never followed"
            raise UnsafeMember(reason, member=where)
        if info.isdir():
            return name
        if info.issparse():
            raise UnsafeMember(f"{label(where)}: sparse file (its holes inflate without limit)", member=where)
        if not info.isreg():
            reason = f"{label(where)}: special file (device, FIFO or unknown type {info.type!r})"
            raise UnsafeMember(reason, member=where)
        if info.size > self.limits.max_member_bytes:
            raise ArchiveBomb(
                f"{label(where)}: declares {info.size:,} bytes (at most {self.limits.max_member_bytes:,} per member)",
                member=where,
                limit="max_member_bytes",
                actual=info.size,
                allowed=self.limits.max_member_bytes,
            )
        return name

    # -- helpers -------------------------------------------------------------------------------

    def _member_meter(self, path: tuple[str, ...], packed: Callable[[], int] | None) -> Meter:
        return Meter(path, self.limits, cap=self.limits.max_member_bytes, packed=packed, budget=self.budget)


class _TarFeed:
    """What tarfile reads: the tar stream, with a cap on bytes read while it parses headers,
    and a window of recent bytes to check what follows its end-of-archive marker.

    tarfile silently stops at a damaged header in the middle of an archive; for bank files
    that would drop every member after it, so the bytes after its stopping point must be
    the NUL padding of a real end of archive.
    """

    def __init__(self, stream: MemberStream, path: tuple[str, ...]) -> None:
        self._stream = stream
        self._path = path
        self._allowance: int | None = None
        self._recent: deque[tuple[int, bytes]] = deque(maxlen=4)
        self.position = 0

    def read(self, size: int) -> bytes:
        data = self._stream.read(size)
        if self._allowance is not None:
            self._allowance -= len(data)
            if self._allowance < 0:
                raise UnsafeMember(
                    f"{label(self._path)}: over {TAR_HEADER_BYTES:,} bytes of tar headers before one member",
                    member=self._path,
                )
        self._recent.append((self.position, data))
        self.position += len(data)
        return data

    @contextmanager
    def headers(self) -> Iterator[None]:
        self._allowance = TAR_HEADER_BYTES
        try:
            yield
        finally:
            self._allowance = None

    def check_end(self, offset: int) -> None:
        """Everything from ``offset`` (where tarfile stopped) to the end must be NUL."""
        seen = b"".join(data[max(offset - start, 0) :] for start, data in self._recent if start + len(data) > offset)
        rest = seen.strip(b"\0")
        while not rest:
            more = self._stream.read(CHUNK)
            if not more:
                return
            rest = more.strip(b"\0")
        raise CorruptArchive(
            f"{label(self._path)}: unreadable tar header at offset {offset:,}; members after it would be lost",
            member=self._path,
        )


def _extent(fp: IO[bytes]) -> tuple[int | None, int | None]:
    """Start position and remaining size of a seekable source; ``(None, None)`` for a pipe."""
    try:
        if not fp.seekable():
            return None, None
        start = fp.tell()
        end = fp.seek(0, io.SEEK_END)
        fp.seek(start)
    except (OSError, AttributeError):
        return None, None
    return start, end - start


def _archive_bytes(size: int | None, raw: MemberStream) -> Callable[[], int]:
    """The overall ratio's denominator: the archive's size, or what has been read of a stream."""
    if size is not None:
        return lambda: size
    return lambda: raw.meter.bytes


def _consumed(chunks: DeflateChunks | StoredChunks | GzipChunks) -> Callable[[], int]:
    return lambda: chunks.consumed


def _gunzipped_name(name: str) -> str:
    """The name of a gzip's payload: ``x.ach.gz`` -> ``x.ach``, ``x.tgz`` -> ``x.tar``; of the
    name's last segment, so ``in/x.ach.gz`` holds ``x.ach``, not ``in/x.ach`` (an output path
    repeating the folders)."""
    name = name.rsplit("/", 1)[-1]
    lower = name.lower()
    for suffix, replacement in ((".tgz", ".tar"), (".gz", ""), (".gzip", ""), ("-gz", ""), (".z", "")):
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)] + replacement
    return name


@contextmanager
def _decoding(path: tuple[str, ...]) -> Iterator[None]:
    """Turn the standard library's errors for malformed data into ``CorruptArchive``."""
    try:
        yield
    except ArchiveError:
        raise
    except DECODE_ERRORS as error:
        raise CorruptArchive(f"{label(path)}: {describe(error)}", member=path) from error
