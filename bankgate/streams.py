"""Small stream adapters that let bytes flow through the pipeline without being held whole."""

from __future__ import annotations

import hashlib
import io
from typing import IO

PEEK_BYTES = 64 << 10


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
