"""Decoded byte streams: chunk sources (stored, deflate, gzip, any readable) and the member stream.

Every source hands out chunks of up to ``CHUNK`` bytes. Big chunks are what makes Python
competitive with ``unzip``: the per-call overhead is paid once per MiB, and zlib runs in C
on large buffers. The input side reads ``INPUT_CHUNK`` bytes at a time and feeds zlib with
an output bound (``max_length``), so a bomb never materialises more than one chunk.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Protocol

from bankgate.archives.errors import ArchiveError, CorruptArchive, label
from bankgate.archives.limits import Meter

CHUNK = 1 << 20
INPUT_CHUNK = 1 << 18

#: What the standard library raises for malformed archives; always turned into CorruptArchive.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    gzip.BadGzipFile,
    zlib.error,
    EOFError,
    struct.error,
    UnicodeDecodeError,
)


class Chunks(Protocol):
    def read_chunk(self) -> bytes:
        """The next chunk of decoded bytes; ``b""`` at the end."""
        ...


class FileChunks:
    """Chunks of any readable binary object (a tar member, a plain file, a raw stream)."""

    __slots__ = ("_read", "consumed")

    def __init__(self, fileobj: IO[bytes]) -> None:
        self._read: Callable[[int], bytes] = fileobj.read
        self.consumed = 0

    def read_chunk(self) -> bytes:
        data = self._read(CHUNK)
        self.consumed += len(data)
        return data


class _ZipChunks:
    """A zip entry's data at a known offset, verified against its central directory entry.

    Reads seek first, so entries of one archive file can be read in any order. The output
    may not exceed the declared size (a lie is caught on the first chunk past it), and at the
    end size and CRC-32 must match: a bank file comes out intact or not at all.
    """

    __slots__ = ("_crc", "_expected_crc", "_expected_size", "_fp", "_left", "_pos", "consumed", "out", "path")

    def __init__(self, fp: IO[bytes], start: int, packed_size: int, size: int, crc: int, path: tuple[str, ...]):
        self._fp = fp
        self._pos = start
        self._left = packed_size
        self._expected_size = size
        self._expected_crc = crc
        self._crc = 0
        self.consumed = 0
        self.out = 0
        self.path = path

    def _read_raw(self, n: int) -> bytes:
        n = min(n, self._left)
        if n <= 0:
            return b""
        self._fp.seek(self._pos)
        data = self._fp.read(n)
        if len(data) != n:
            raise CorruptArchive(f"{label(self.path)}: archive ends inside this member's data", member=self.path)
        self._pos += n
        self._left -= n
        return data

    def _verify(self, data: bytes) -> bytes:
        self.out += len(data)
        if data:
            if self.out > self._expected_size:
                raise CorruptArchive(
                    f"{label(self.path)}: inflates past its declared size of {self._expected_size:,} bytes",
                    member=self.path,
                )
            self._crc = zlib.crc32(data, self._crc)
            return data
        if self.out != self._expected_size:
            raise CorruptArchive(
                f"{label(self.path)}: {self.out:,} bytes, but the archive declares {self._expected_size:,}",
                member=self.path,
            )
        if self._crc != self._expected_crc:
            raise CorruptArchive(
                f"{label(self.path)}: CRC-32 {self._crc:08x} does not match the declared {self._expected_crc:08x}",
                member=self.path,
            )
        return data


class StoredChunks(_ZipChunks):
    """A stored (uncompressed) zip entry."""

    __slots__ = ()

    def read_chunk(self) -> bytes:
        data = self._read_raw(CHUNK)
        self.consumed += len(data)
        return self._verify(data)


class DeflateChunks(_ZipChunks):
    """A deflated zip entry, inflated ``CHUNK`` bytes at a time (``max_length`` bounds each call)."""

    __slots__ = ("_d", "_tail")

    def __init__(self, fp: IO[bytes], start: int, packed_size: int, size: int, crc: int, path: tuple[str, ...]):
        super().__init__(fp, start, packed_size, size, crc, path)
        self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        self._tail = b""

    def read_chunk(self) -> bytes:
        d = self._d
        while not d.eof:
            data = self._tail or self._read_raw(INPUT_CHUNK)
            if not data:
                raise CorruptArchive(f"{label(self.path)}: deflate data ends early (truncated)", member=self.path)
            out = d.decompress(data, CHUNK)
            self._tail = d.unconsumed_tail
            self.consumed += len(data) - len(self._tail) - len(d.unused_data)
            if out:
                return self._verify(out)
        return self._verify(b"")


class GzipChunks:
    """The payload of a gzip stream read from ``raw`` (never seeks), members concatenated.

    zlib parses the gzip header and checks each member's CRC-32 and length trailer. NUL
    padding after the last member is accepted (tape-era tools write it), anything else is not.
    """

    __slots__ = ("_d", "_done", "_read", "_tail", "consumed", "path")

    def __init__(self, raw: IO[bytes], path: tuple[str, ...]) -> None:
        self._read: Callable[[int], bytes] = raw.read
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._tail = b""
        self._done = False
        self.consumed = 0
        self.path = path

    def read_chunk(self) -> bytes:
        while not self._done:
            d = self._d
            if d.eof:
                self._next_member(d.unused_data)
                continue
            data = self._tail or self._read(INPUT_CHUNK)
            if not data:
                raise CorruptArchive(f"{label(self.path)}: gzip stream ends early (truncated)", member=self.path)
            out = d.decompress(data, CHUNK)
            self._tail = d.unconsumed_tail
            self.consumed += len(data) - len(self._tail) - len(d.unused_data)
            if out:
                return out
        return b""

    def _next_member(self, rest: bytes) -> None:
        """After a gzip member ends: start the next one, or finish at the end (NULs skipped)."""
        rest = rest.lstrip(b"\0")
        while len(rest) < 2:
            more = self._read(INPUT_CHUNK)
            if not more:
                break
            rest = (rest + more).lstrip(b"\0")
        if not rest:
            self._done = True
            return
        if not rest.startswith(b"\x1f\x8b"):
            raise CorruptArchive(f"{label(self.path)}: data after the end of the gzip stream", member=self.path)
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._tail = rest


class MemberStream(io.BufferedIOBase):
    """A readable binary stream over a chunk source, metered, with a re-readable head.

    ``read(n)`` returns ``n`` bytes unless the end is reached (like a file), handing chunks
    through without copying when the sizes line up. Decoding errors surface as
    ``CorruptArchive`` and crossed limits as their ``ArchiveError``, raised from ``read``
    itself because the caller is the one reading.
    """

    def __init__(self, chunks: Chunks, meter: Meter) -> None:
        super().__init__()
        self._chunks = chunks
        self.meter = meter
        self._buf = b""
        self._pos = 0
        self._eof = False

    # -- io protocol -------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        self._check_open()
        if size is None or size < 0:
            return self._read_all()
        avail = len(self._buf) - self._pos
        if avail >= size:
            return self._take(size)
        parts = [self._take(avail)] if avail else []
        need = size - avail
        while need > 0:
            chunk = self._next()
            if not chunk:
                break
            if len(chunk) > need:
                self._buf, self._pos = chunk, need
                chunk = chunk[:need]
            parts.append(chunk)
            need -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        self._check_open()
        if self._pos >= len(self._buf):
            self._buf, self._pos = self._next(), 0
        if size is None or size < 0:
            size = len(self._buf) - self._pos
        return self._take(min(size, len(self._buf) - self._pos))

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        memoryview(b).cast("B")[: len(data)] = data
        return len(data)

    def readinto1(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read1(len(b))
        memoryview(b).cast("B")[: len(data)] = data
        return len(data)

    # -- for the unpacker ----------------------------------------------------------------------

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes (fewer at the end), left in place to be read again."""
        while len(self._buf) - self._pos < n:
            chunk = self._next()
            if not chunk:
                break
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0
        return self._buf[self._pos : self._pos + n]

    def drain(self) -> None:
        """Read (and count) what the consumer left, e.g. to reach the next tar header."""
        self._buf, self._pos = b"", 0
        while self._next():
            pass

    # -- internals -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed member stream (it is valid until the next member)")

    def _take(self, n: int) -> bytes:
        buf, pos = self._buf, self._pos
        if pos == 0 and n == len(buf):
            self._buf = b""
            return buf
        self._pos = pos + n
        return buf[pos : pos + n]

    def _read_all(self) -> bytes:
        parts = [self._take(len(self._buf) - self._pos)]
        while chunk := self._next():
            parts.append(chunk)
        return b"".join(parts)

    def _next(self) -> bytes:
        if self._eof:
            return b""
        try:
            chunk = self._chunks.read_chunk()
        except ArchiveError:
            raise
        except DECODE_ERRORS as error:
            path = self.meter.path
            raise CorruptArchive(f"{label(path)}: {describe(error)}", member=path) from error
        if chunk:
            self.meter.add(len(chunk))
        else:
            self._eof = True
        return chunk


def describe(error: BaseException) -> str:
    """A decoding error in words, e.g. ``invalid compressed data (zlib: invalid distance too far back)``."""
    text = str(error) or type(error).__name__
    if isinstance(error, zlib.error):
        return f"invalid compressed data ({text})"
    if isinstance(error, EOFError):
        return f"archive ends early ({text})"
    return text
