"""A pipelined SFTP file reader: up to ``depth`` READ requests of ``block`` bytes in flight.

Why not ``SFTPFile.prefetch()``: it reads in 32 KiB requests, and its only bound on outstanding
requests (``max_concurrent_requests``) is a polling loop that sleeps 10 ms whenever the bound is
reached, which caps a loopback pull at a few MiB/s; unbounded, it queues a request for every
32 KiB of the file at once. And paramiko's SFTP response parsing copies each response several
times (``bytes +=`` per fragment, then a ``Message``), and its channel buffer deletes from the
front of an array on every read, quadratic when the window is large.

So the requests and responses of the transfer are framed here, directly on the SFTP channel:
requests are sent in batches (one SSH packet carries several), responses are read from the
channel in large gulps and sliced with ``memoryview`` (a payload is copied only when it
straddles two gulps; with ``GulpPipe`` as the channel's buffer a gulp is not taken before the
rest of the response being parsed has arrived, so that is once per response at most), and
the block size is the server's own maximum (``limits@openssh.com``, 255 KiB on OpenSSH) so
a 1 GiB file is ~4,000 requests. Memory is bounded by ``depth x block`` plus the SSH window.
Responses are matched by request id, so a server that answers out of order or returns short
reads (which it may, at any size) still yields the bytes in order.

paramiko's ``SFTPClient`` is used for everything else (open, fstat, close); it must not be
used by another thread while a reader is active, which one-session-per-worker guarantees.
"""

from __future__ import annotations

import itertools
import logging
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

import paramiko
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

from bankgate.sftp import names
from bankgate.sftp.errors import ConnectionLost, RemoteChanged, SftpStatusError

if TYPE_CHECKING:
    from bankgate.sftp.connection import SftpSession

log = logging.getLogger(__name__)

_OPEN, _CLOSE, _READ, _FSTAT = 3, 4, 5, 8
_STATUS, _HANDLE, _DATA, _ATTRS = 101, 102, 103, 105
_EOF, _NO_SUCH_FILE = 1, 2
_FXF_READ = 1
_ATTR_SIZE, _ATTR_UIDGID, _ATTR_PERMISSIONS, _ATTR_ACMODTIME = 1, 2, 4, 8
_GULP = 4 << 20  # bytes asked of the channel per recv: whatever is buffered, up to this
_MAX_PACKET = 64 << 20  # an SFTP packet larger than this is garbage, not data
_ids = itertools.count(0x40000000)  # far from paramiko's own request numbers (they start at 1)


class GulpPipe(BufferedPipe):
    """A drop-in for the ``BufferedPipe`` behind a paramiko channel's ``recv``, for bulk reads.

    paramiko's pipe copies every SSH packet's data into an ``array`` (``frombytes``), out again
    (``tobytes``) and shifts the rest down on every partial read, and wakes the reading thread
    for every packet (~64 KiB from OpenSSH): at hundreds of MiB/s that is tens of thousands of
    GIL hand-offs a second on top of the copies. This one keeps the ``bytes`` objects as fed
    (a read joins them once, or returns the only one as is) and lets a reader that knows how
    much it needs (``want``: the rest of the SFTP response it is parsing) sleep until that much
    is buffered. With ``want`` at 1 (the default, and whenever ``_Frames`` is not reading) it
    behaves exactly like paramiko's: woken by any data, returning what is there, up to
    ``nbytes``. Installed once per session while the channel is idle (``install``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._event: threading.Event | None = None
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._closed = False
        self.want = 1

    @classmethod
    def install(cls, channel: paramiko.Channel) -> GulpPipe | None:
        """Swap ``channel``'s pipe for a GulpPipe, keeping anything buffered; None if this
        paramiko's channel does not have the pipe it was written against."""
        old = getattr(channel, "in_buffer", None)
        if old is None or type(old) is not BufferedPipe or not hasattr(old, "_buffer"):
            return None
        new = cls()
        with old._lock:
            data = old._buffer.tobytes()
            if data:
                new._chunks.append(data)
                new._size = len(data)
            new._closed = old._closed
            if old._event is not None:
                new.set_event(old._event)
            channel.in_buffer = new
            old.feed = new.feed  # a feed already on its way to the old pipe lands in the new one
            old.close = new.close
        return new

    def set_event(self, event: threading.Event) -> None:
        with self._lock:
            self._event = event
            if self._closed or self._size:
                event.set()
            else:
                event.clear()

    def feed(self, data: bytes) -> None:
        with self._lock:
            if data:
                self._chunks.append(bytes(data))
                self._size += len(data)
            if self._event is not None:
                self._event.set()
            if self._size >= self.want:
                self._cv.notify_all()

    def read_ready(self) -> bool:
        with self._lock:
            return self._size > 0

    def read(self, nbytes: int, timeout: float | None = None) -> bytes:
        with self._lock:
            if not self._size:
                if self._closed:
                    return b""
                if timeout == 0.0:
                    raise PipeTimeout()
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._size < min(self.want, nbytes) and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    if self._size:
                        break  # less than wanted but not nothing: the caller asks again
                    raise PipeTimeout()
                self._cv.wait(left)
            return self._take(nbytes)

    def _take(self, nbytes: int) -> bytes:
        chunks = self._chunks
        if not chunks:
            return b""
        if len(chunks[0]) >= nbytes or len(chunks) == 1:
            first = chunks.popleft()
            if len(first) > nbytes:
                chunks.appendleft(first[nbytes:])
                first = first[:nbytes]
            out = first
        else:
            parts, got = [], 0
            while chunks and got + len(chunks[0]) <= nbytes:
                got += len(chunks[0])
                parts.append(chunks.popleft())
            if chunks and got < nbytes:
                first = chunks.popleft()
                parts.append(first[: nbytes - got])
                chunks.appendleft(first[nbytes - got :])
            out = b"".join(parts)
        self._size -= len(out)
        if not self._size and self._event is not None and not self._closed:
            self._event.clear()
        return out

    def empty(self) -> bytes:
        with self._lock:
            out = b"".join(self._chunks)
            self._chunks.clear()
            self._size = 0
            if self._event is not None and not self._closed:
                self._event.clear()
            return out

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._cv.notify_all()
            if self._event is not None:
                self._event.set()

    def __len__(self) -> int:
        with self._lock:
            return self._size


class _Frames:
    """SFTP packets from the channel, as (type, request id, payload) with zero-copy slices."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self.buf: bytes = b""
        self.view = memoryview(self.buf)
        self.pos = 0
        pipe = getattr(channel, "in_buffer", None)
        self.pipe = pipe if isinstance(pipe, GulpPipe) else None
        # Never wait for more than the server may send before we read (and so re-open the
        # window): up to a tenth of the window can be consumed but not yet acknowledged.
        self.want_cap = max(1, int(getattr(channel, "in_window_size", 0) or 0) // 2)

    def _gulp(self, need: int = 1) -> bytes:
        """Whatever is buffered, up to _GULP; with a GulpPipe, not before ``need`` bytes are."""
        if self.pipe is None:
            data = self.channel.recv(_GULP)
        else:
            self.pipe.want = min(need, self.want_cap)
            try:
                data = self.channel.recv(_GULP)
            finally:
                self.pipe.want = 1
        if not data:
            raise ConnectionLost("the SFTP channel closed mid-transfer")
        return data

    def read(self, n: int) -> memoryview | bytes:
        end = self.pos + n
        if end <= len(self.buf):
            piece = self.view[self.pos : end]
            self.pos = end
            return piece
        parts: list[memoryview | bytes] = [self.view[self.pos :]]
        need = n - (len(self.buf) - self.pos)
        while True:
            data = self._gulp(need)
            if len(data) >= need:
                self.buf, self.view, self.pos = data, memoryview(data), need
                parts.append(self.view[:need])
                return b"".join(parts)
            parts.append(data)
            need -= len(data)

    def packet(self) -> tuple[int, int, memoryview]:
        (length,) = struct.unpack(">I", self.read(4))
        if not 5 <= length <= _MAX_PACKET:
            raise ConnectionLost(f"garbled SFTP packet of length {length}")
        body = memoryview(self.read(length))
        kind = body[0]
        (request_id,) = struct.unpack_from(">I", body, 1)
        return kind, request_id, body[5:]


def _status(payload: memoryview) -> tuple[int, str]:
    (code,) = struct.unpack_from(">I", payload, 0)
    message = ""
    if len(payload) >= 8:
        (size,) = struct.unpack_from(">I", payload, 4)
        message = bytes(payload[8 : 8 + size]).decode("utf-8", "replace")
    return code, message


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _request(kind: int, request_id: int, body: bytes) -> bytes:
    return struct.pack(">IBI", 5 + len(body), kind, request_id) + body


def _size_mtime(payload: memoryview) -> tuple[int, int]:
    """Size and mtime from an SFTP v3 ATTRS structure (after the request id)."""
    (flags,) = struct.unpack_from(">I", payload, 0)
    pos, size, mtime = 4, -1, -1
    if flags & _ATTR_SIZE:
        (size,) = struct.unpack_from(">Q", payload, pos)
        pos += 8
    if flags & _ATTR_UIDGID:
        pos += 8
    if flags & _ATTR_PERMISSIONS:
        pos += 4
    if flags & _ATTR_ACMODTIME:
        (_atime, mtime) = struct.unpack_from(">II", payload, pos)
    return size, mtime


def read_whole(session: SftpSession, path: str, size: int, *, block: int | None = None) -> tuple[bytes, int, int]:
    """Read a small file in two round trips, not five: OPEN, then every READ, an FSTAT and the
    CLOSE in one batch (answered in order). Returns (bytes, size now, mtime now); the caller
    compares the latter with the listing, so a file that changed is caught without a stat
    before reading. Thousands of small files are dominated by round trips, not bytes."""
    settings = session.settings
    channel = session.sftp.get_channel()
    frames = _Frames(channel)
    step = max(4096, block or settings.read_block or session.limits.read_length)
    open_id = next(_ids)
    shown = names.text(path)
    channel.sendall(_request(_OPEN, open_id, _string(names.encode(path)) + struct.pack(">II", _FXF_READ, 0)))
    kind, rid, payload = frames.packet()
    while rid != open_id:  # a late answer to someone else's request
        kind, rid, payload = frames.packet()
    if kind == _STATUS:
        code, message = _status(payload)
        if code == _NO_SUCH_FILE:
            raise RemoteChanged(f"{shown} disappeared before it could be read")
        raise SftpStatusError(code, f"opening {shown}: {message}")
    if kind != _HANDLE:
        raise ConnectionLost(f"unexpected SFTP response type {kind} to an open")
    (length,) = struct.unpack_from(">I", payload, 0)
    handle = _string(bytes(payload[4 : 4 + length]))
    reads = [(next(_ids), offset, min(step, size - offset)) for offset in range(0, size, step)]
    stat_id, close_id = next(_ids), next(_ids)
    batch = [_request(_READ, rid, handle + struct.pack(">QI", off, n)) for rid, off, n in reads]
    batch += [_request(_FSTAT, stat_id, handle), _request(_CLOSE, close_id, handle)]
    channel.sendall(b"".join(batch))
    answers: dict[int, tuple[int, memoryview]] = {}
    wanted = {rid for rid, _, _ in reads} | {stat_id, close_id}
    while wanted:
        kind, rid, payload = frames.packet()
        if rid in wanted:
            wanted.discard(rid)
            answers[rid] = (kind, payload)
    pieces: list[memoryview | bytes] = []
    for rid, offset, length in reads:
        kind, payload = answers[rid]
        if kind == _STATUS:
            code, message = _status(payload)
            if code == _EOF:
                raise RemoteChanged(f"{shown} ended at byte {offset} but was {size} bytes when listed")
            raise SftpStatusError(code, f"reading {shown} at {offset}: {message}")
        (got,) = struct.unpack_from(">I", payload, 0)
        piece = payload[4 : 4 + got]
        if got < length:  # a server with a smaller limit than it said: finish with the stream reader
            rest = read_range(session, path, offset + got, size - offset - got)
            return b"".join([*pieces, piece, rest]), *_checked_attrs(answers, stat_id, path)
        pieces.append(piece)
    return b"".join(pieces), *_checked_attrs(answers, stat_id, path)


def _checked_attrs(answers: dict[int, tuple[int, memoryview]], stat_id: int, path: str) -> tuple[int, int]:
    kind, payload = answers[stat_id]
    if kind != _ATTRS:
        code, message = _status(payload)
        raise SftpStatusError(code, f"stat of {names.text(path)}: {message}")
    return _size_mtime(payload)


def read_range(session: SftpSession, path: str, offset: int, length: int) -> bytes:
    """Bytes ``[offset, offset + length)`` through the pipelined reader (rarely needed)."""
    with RemoteReader(session, path) as reader:
        return b"".join(reader.chunks(offset + length, start=offset))


class RemoteReader:
    """``with RemoteReader(session, path) as r: for chunk in r.chunks(r.attributes.st_size): ...``

    Chunks are ``memoryview`` or ``bytes`` slices of immutable ``bytes`` received from the
    channel, never of a buffer this reader reuses: a caller may keep them after reading on
    (the transfer queues up to 32 between its reading and writing threads) and even after the
    reader is closed.
    """

    def __init__(self, session: SftpSession, path: str, *, block: int | None = None, depth: int | None = None) -> None:
        settings = session.settings
        self.session = session
        self.path = path
        self.shown = names.text(path)  # for messages: ``path`` may hold bytes that are not UTF-8
        self.block = max(4096, block or settings.read_block or session.limits.read_length)
        self.depth = max(1, depth or settings.read_depth)
        self.file: paramiko.SFTPFile | None = None
        self.attributes: paramiko.SFTPAttributes | None = None
        self._outstanding: set[int] = set()
        self._early: dict[int, tuple[int, memoryview]] = {}
        self._frames: _Frames | None = None

    def __enter__(self) -> RemoteReader:
        sftp = self.session.sftp
        try:
            self.file = sftp.open(names.encode(self.path), "rb")
        except FileNotFoundError:
            raise RemoteChanged(f"{self.shown} disappeared before it could be read") from None
        try:
            self.attributes = self.file.stat()
        except BaseException:
            self.close()
            raise
        self._frames = _Frames(sftp.get_channel())
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fstat(self) -> paramiko.SFTPAttributes:
        """The open file's attributes now (to catch a file that changed while it was read)."""
        assert self.file is not None
        return self.file.stat()

    def _send(self, requests: list[tuple[int, int, int]]) -> None:
        assert self.file is not None
        handle = self.file.handle
        head = struct.pack(">I", len(handle)) + handle
        size = 1 + 4 + len(head) + 8 + 4
        frames = [struct.pack(">IBI", size, _READ, rid) + head + struct.pack(">QI", off, n) for rid, off, n in requests]
        self.session.sftp.get_channel().sendall(b"".join(frames))
        self._outstanding.update(rid for rid, _, _ in requests)

    def _response(self, wanted: int) -> tuple[int, memoryview]:
        if wanted in self._early:
            return self._early.pop(wanted)
        assert self._frames is not None
        while True:
            kind, rid, payload = self._frames.packet()
            if rid == wanted:
                return kind, payload
            if rid in self._outstanding:
                self._early[rid] = (kind, payload)  # out of order: keep until its turn
            # else: a response to a request this reader did not make (a late close); ignore it

    def chunks(self, size: int, *, start: int = 0) -> Iterator[memoryview | bytes]:
        """Yield bytes ``[start, size)`` of the file in order (size: from fstat at open)."""
        queue: deque[tuple[int, int, int]] = deque()  # (request id, offset, length) in file order
        next_offset = start
        batch = max(1, self.depth // 8)

        def fill(force: bool = False) -> None:
            nonlocal next_offset
            free = self.depth - len(queue)
            if free <= 0 or next_offset >= size or (free < batch and not force):
                return
            new: list[tuple[int, int, int]] = []  # (request id, offset, length)
            while next_offset < size and len(queue) + len(new) < self.depth:
                length = min(self.block, size - next_offset)
                new.append((next(_ids), next_offset, length))
                next_offset += length
            self._send(new)
            queue.extend(new)

        fill(force=True)
        while queue:
            rid, offset, length = queue[0]
            kind, payload = self._response(rid)
            queue.popleft()
            self._outstanding.discard(rid)
            if kind == _DATA:
                (got,) = struct.unpack_from(">I", payload, 0)
                if got == 0 or got > length or got > len(payload) - 4:
                    raise ConnectionLost(f"malformed SFTP data response ({got} bytes for a {length}-byte read)")
                if got < length:  # short read: ask for the rest first, and ask less from now on
                    rest = (next(_ids), offset + got, length - got)
                    self._send([rest])
                    queue.appendleft(rest)
                    if got < self.block:
                        log.debug("server answers reads of at most %d bytes; adapting", got)
                        self.block = got
                yield payload[4 : 4 + got]
            elif kind == _STATUS:
                code, message = _status(payload)
                if code == _EOF:
                    raise RemoteChanged(f"{self.shown} ended at byte {offset} but was {size} bytes when opened")
                raise SftpStatusError(code, f"reading {self.shown} at {offset}: {message}")
            else:
                raise ConnectionLost(f"unexpected SFTP response type {kind} to a read")
            fill(force=not queue)

    def _drain(self) -> None:
        """Read the answers to requests still in flight, so the channel is clean for the next call."""
        assert self._frames is not None
        for rid in list(self._early):
            self._outstanding.discard(rid)
        self._early.clear()
        while self._outstanding:
            _kind, rid, _payload = self._frames.packet()
            self._outstanding.discard(rid)

    def close(self) -> None:
        file, self.file = self.file, None
        if file is None:
            return
        try:
            if self._outstanding:
                self._drain()
            file.close()
        except Exception:
            # The channel is in an unknown state (dead, or mid-response): drop the connection
            # rather than let the next request read someone else's answer.
            log.debug("closing %s failed; dropping the connection", self.shown, exc_info=True)
            self.session.close()
