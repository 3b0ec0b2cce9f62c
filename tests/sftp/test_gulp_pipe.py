"""``GulpPipe``, the reader's replacement for paramiko's channel receive buffer: same contract
as ``BufferedPipe`` (read, timeouts, events, close), plus ``want``: no wake-up before that many
bytes are buffered (or the timeout passes), so the reader gets whole SFTP responses."""

from __future__ import annotations

import threading
import time

import pytest
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

from bankgate.sftp.reader import GulpPipe


class Channel:
    in_buffer: object


def installed() -> tuple[GulpPipe, BufferedPipe]:
    channel = Channel()
    old = BufferedPipe()
    old.feed(b"abc")
    channel.in_buffer = old
    pipe = GulpPipe.install(channel)
    assert pipe is not None and channel.in_buffer is pipe
    return pipe, old


def test_install_keeps_buffered_bytes_and_later_feeds_to_the_old_buffer() -> None:
    pipe, old = installed()
    assert len(pipe) == 3
    old.feed(b"def")  # paramiko's transport may still hold the old object: forwarded
    assert pipe.read(2) == b"ab" and pipe.read(10) == b"cdef" and len(pipe) == 0
    channel = Channel()
    channel.in_buffer = object()
    assert GulpPipe.install(channel) is None  # not a BufferedPipe: left alone


def test_reads_time_out_like_paramikos_pipe() -> None:
    pipe, _old = installed()
    pipe.read(3)
    for timeout in (0.05, 0.0):
        with pytest.raises(PipeTimeout):
            pipe.read(5, timeout)


def test_want_holds_the_reader_until_that_much_arrived() -> None:
    pipe, _old = installed()
    pipe.read(3)
    pipe.want = 10

    def feed() -> None:
        for part in (b"12345", b"678", b"90XYZ"):
            time.sleep(0.05)
            pipe.feed(part)

    threading.Thread(target=feed).start()
    started = time.monotonic()
    assert pipe.read(100, 5) == b"1234567890XYZ"
    assert time.monotonic() - started > 0.12  # not woken by the first two parts
    pipe.want = 100
    pipe.feed(b"zz")
    assert pipe.read(100, 0.05) == b"zz"  # the timeout returns what there is


def test_chunks_events_and_close() -> None:
    pipe, _old = installed()
    pipe.read(3)
    for part in (b"aa", b"bb", b"cc"):
        pipe.feed(part)
    assert pipe.read(3) == b"aab" and pipe.read(1) == b"b" and pipe.read(9) == b"cc"
    event = threading.Event()
    pipe.set_event(event)
    assert not event.is_set()
    pipe.feed(b"q")
    assert event.is_set()
    pipe.read(1)
    assert not event.is_set()
    pipe.feed(b"r")
    assert pipe.empty() == b"r" and not event.is_set()
    threading.Timer(0.05, pipe.close).start()
    assert pipe.read(10, 5) == b""
    assert event.is_set()
