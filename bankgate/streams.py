"""Small stream adapters that let bytes flow through the pipeline without being held whole."""

from __future__ import annotations

import hashlib
import io
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, cast

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


#: Read-ahead and write-behind: what a big file's processing overlaps with its parsing. The
#: parser and the JSON Lines writer hold the GIL for every record; reading (a disk, or an S3 or
#: GCS body), inflating a gzip, hashing, and writing outputs (a disk and its fsync, or uploads of
#: multipart parts) release it. Run in threads of their own, they take the second core instead
#: of stopping the parse while they wait. Each queue is bounded, so memory is too: at most
#: ``AHEAD_CHUNKS`` chunks read ahead, ``BEHIND_WRITES`` writes (a block of records each) queued.
#: Objects smaller than ``OVERLAP_BYTES`` are read and written in the caller's thread: for a
#: file of a few blocks two threads cost more than they save.
AHEAD_CHUNK = 1 << 20
AHEAD_CHUNKS = 8
BEHIND_WRITES = 4
OVERLAP_BYTES = 8 << 20
_END = object()


@contextmanager
def read_ahead(stream: IO[bytes] | io.RawIOBase, enabled: bool = True) -> Iterator[IO[bytes] | io.RawIOBase]:
    """``stream`` read through a ``ReadAhead`` (or as it is, when not ``enabled``)."""
    if not enabled:
        yield stream
        return
    with ReadAhead(stream) as ahead:
        yield ahead


@contextmanager
def write_behind(out: IO[bytes], enabled: bool = True) -> Iterator[IO[bytes]]:
    """``out`` written through a ``WriteBehind``, every write done when the block exits cleanly."""
    if not enabled:
        yield out
        return
    with WriteBehind(out) as behind:
        yield cast(IO[bytes], behind)
        behind.finish()


class ReadAhead(io.RawIOBase):
    """Reads ``stream`` in a thread of its own, up to ``depth`` chunks ahead of the consumer.

    An exception the thread meets is raised by the consumer's next read, as if the read had
    raised it there. ``close`` (or leaving the ``with`` block) stops the thread before
    returning, so the stream underneath is the caller's again (to drain it, or move on)."""

    def __init__(self, stream: IO[bytes] | io.RawIOBase, chunk: int = AHEAD_CHUNK, depth: int = AHEAD_CHUNKS) -> None:
        self.stream = stream
        self.chunk = chunk
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._current = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._run, name="bankgate-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self.stream.read(self.chunk)
                self._put(data or _END)
                if not data:
                    return
        except BaseException as exc:  # handed to the consumer, who raises it
            self._put(exc)

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._current:
            if self._done:
                return 0
            item = self._queue.get()
            if item is _END:
                self._done = True
                return 0
            if isinstance(item, BaseException):
                self._done = True
                raise item
            self._current = memoryview(item)
        n = min(len(buffer), len(self._current))
        buffer[:n] = self._current[:n]
        self._current = self._current[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            self._thread.join()
        super().close()


class WriteBehind(io.RawIOBase):
    """Writes to ``out`` in a thread of its own, up to ``depth`` writes behind the producer.

    Each write is copied (a producer may reuse its buffer). ``finish`` waits for every write to
    be done and raises the first error the thread met (a later ``write`` raises it too, so a
    failed upload stops the producer early); ``close`` without ``finish`` (an error upstream)
    discards what is queued. ``out`` is written by that one thread only, in order."""

    def __init__(self, out: IO[bytes], depth: int = BEHIND_WRITES) -> None:
        self.out = out
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bankgate-write-behind", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not _END:
            if self._error is None:
                try:
                    self.out.write(data)
                except BaseException as exc:
                    self._error = exc

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._error is not None:
            raise self._error
        chunk = bytes(data)
        self._queue.put(chunk)
        return len(chunk)

    def finish(self) -> None:
        """Every write done, or the first error raised."""
        if self._thread.is_alive():
            self._queue.put(_END)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        if not self.closed and self._thread.is_alive():
            self._error = self._error or RuntimeError("closed before finish: the writes were discarded")
            self._queue.put(_END)
            self._thread.join()
        super().close()
