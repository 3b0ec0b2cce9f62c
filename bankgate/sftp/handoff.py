"""The thread hand-off between the SFTP reader and the uploader: a producer thread, a bounded
queue, errors re-raised in the consumer.

Why a thread: reading (paramiko's transport decrypting), hashing and writing (an upload part,
a file) each release the GIL, so on two cores the reader and its hashing overlap with the
write on the consumer's thread. The queue bounds the memory between them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
#: x ~255 KiB chunks: ~8 MiB between the reader and the uploader.
QUEUE_CHUNKS = 32


class _Done:
    pass


@dataclass
class _Failed:
    error: BaseException


def in_thread(items: Iterator[T], name: str, *, depth: int = QUEUE_CHUNKS) -> Generator[T, None, None]:
    """Iterate ``items`` on a thread of its own, ``depth`` items ahead of the consumer; its
    errors are raised in the consumer, and closing this generator stops and joins the thread."""
    handoff: queue.Queue[T | _Done | _Failed] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: T | _Done | _Failed) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_Done())
        except BaseException as error:  # handed to the consumer, which raises it
            put(_Failed(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


__all__ = ["QUEUE_CHUNKS", "in_thread"]
