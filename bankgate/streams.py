"""Small stream adapters that let bytes flow through the pipeline without being held whole."""

from __future__ import annotations

import hashlib
import io
from typing import IO

PEEK_BYTES = 64 << 10
#: The reused read buffer of ``sha256_of``: it fits in a core's L2 cache.
HASH_BUFFER = 1 << 20


def sha256_of(stream: IO[bytes]) -> str:
    """SHA-256 (hex) of a stream read to its end: the one place bankgate hashes a whole stream.

    Read into one reused buffer that stays in the CPU cache (a fresh ``bytes`` per read costs
    page faults, and is out of cache before it is hashed) when the stream can; a read-back is
    hashing-bound, so this is most of its cost."""
    hasher = hashlib.sha256()
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        while chunk := stream.read(HASH_BUFFER):
            hasher.update(chunk)
        return hasher.hexdigest()
    buffer = bytearray(HASH_BUFFER)
    view = memoryview(buffer)
    while size := readinto(buffer):
        hasher.update(view[:size])
    return hasher.hexdigest()


class HashingReader(io.RawIOBase):
    """Reads through ``stream`` while computing SHA-256 and size of everything read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.size += n
        return n

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read what is left, so the digest covers the whole object."""
        while self.read(chunk):
            pass

    @property
    def hexdigest(self) -> str:
        return self.sha256.hexdigest()


def peekable(stream: IO[bytes] | io.RawIOBase) -> io.BufferedReader:
    """A buffered reader whose ``peek`` shows the first bytes without consuming them."""
    raw = stream if isinstance(stream, io.RawIOBase) else _RawAdapter(stream)
    return io.BufferedReader(raw, buffer_size=PEEK_BYTES)


class _RawAdapter(io.RawIOBase):
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
