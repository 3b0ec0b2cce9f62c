"""Read-ahead and write-behind (``bankgate.streams``): the same bytes in the same order as
without them, errors raised where the caller reads or finishes, threads gone when closed."""

from __future__ import annotations

import io
import os
import threading

import pytest

from bankgate.streams import AHEAD_CHUNK, HashingReader, ReadAhead, WriteBehind, peekable, read_ahead, write_behind


def _threads(name: str) -> int:
    return sum(t.name == name for t in threading.enumerate())


def test_read_ahead_gives_every_byte_in_order_and_stops_its_thread() -> None:
    data = os.urandom(5 * AHEAD_CHUNK + 12345)
    with ReadAhead(io.BytesIO(data), depth=2) as ahead:
        stream = peekable(ahead)
        assert stream.peek(10)[:10] == data[:10]
        got = b"".join(iter(lambda: stream.read(70_001), b""))
    assert got == data
    assert _threads("bankgate-read-ahead") == 0


def test_read_ahead_raises_the_readers_error_at_the_consumers_read() -> None:
    class Breaks(io.RawIOBase):
        def __init__(self) -> None:
            self.served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            if self.served >= 2 * AHEAD_CHUNK:
                raise ValueError("member over its limit")
            buffer[: len(buffer)] = b"x" * len(buffer)
            self.served += len(buffer)
            return len(buffer)

    with ReadAhead(Breaks()) as ahead:
        got = b"".join(ahead.read(AHEAD_CHUNK) for _ in range(2))
        assert got == b"x" * (2 * AHEAD_CHUNK)  # what came before the error
        with pytest.raises(ValueError, match="over its limit"):
            ahead.read(1)


def test_a_digest_taken_after_an_early_close_covers_the_whole_stream() -> None:
    """The pipeline stops the read-ahead, then drains its hashing reader: chunks read ahead but
    never consumed are hashed once, in order, with the rest."""
    import hashlib

    data = os.urandom(3 * AHEAD_CHUNK + 7)
    hashing = HashingReader(io.BytesIO(data))
    with read_ahead(hashing) as ahead:
        assert ahead.read(100) == data[:100]  # a parser that stops at a bad first record
    hashing.drain()
    assert (hashing.hexdigest, hashing.size) == (hashlib.sha256(data).hexdigest(), len(data))


def test_write_behind_writes_in_order_and_finishes() -> None:
    out = io.BytesIO()
    buffer = bytearray(b"a" * 1000)
    with write_behind(out) as behind:
        for letter in b"abcdefgh":
            buffer[:] = bytes([letter]) * 1000  # a producer reusing its buffer
            behind.write(buffer)
    assert out.getvalue() == b"".join(bytes([c]) * 1000 for c in b"abcdefgh")
    assert _threads("bankgate-write-behind") == 0


def test_write_behind_raises_the_writers_error_and_stops_the_producer() -> None:
    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            raise OSError(28, "No space left on device")

    behind = WriteBehind(Full())
    behind.write(b"first block")
    with pytest.raises(OSError, match="No space left"):
        for _ in range(100):  # a later write (or finish) raises it
            behind.write(b"next block")
        behind.finish()
    behind.close()
    assert _threads("bankgate-write-behind") == 0


def test_write_behind_closed_after_an_error_upstream_discards_the_rest() -> None:
    out = io.BytesIO()
    with pytest.raises(RuntimeError, match="parse failed"), write_behind(out) as behind:
        behind.write(b"half")
        raise RuntimeError("parse failed")
    assert _threads("bankgate-write-behind") == 0
    assert out.getvalue() in (b"", b"half")  # what the store discards with the failed object


def test_small_objects_stay_in_the_callers_thread() -> None:
    source, out = io.BytesIO(b"abc"), io.BytesIO()
    with read_ahead(source, enabled=False) as ahead, write_behind(out, enabled=False) as behind:
        assert ahead is source and behind is out
