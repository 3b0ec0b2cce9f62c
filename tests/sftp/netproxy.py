"""A threaded TCP proxy on loopback: adds latency (netem is not available here) or cuts
connections after a number of bytes, to test and benchmark the SFTP pulls over bad networks."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time

CHUNK = 256 * 1024


class TcpProxy:
    """Listens on 127.0.0.1:<port> and forwards each connection to ``target``.

    ``delay``: seconds added to each direction (so the round trip grows by twice that); data
    is held back, not throttled, so bandwidth is kept. ``cut_after``: the first ``cuts``
    connections are closed abruptly once that many bytes went from server to client.
    """

    def __init__(
        self, target: tuple[str, int], *, delay: float = 0.0, cut_after: int | None = None, cuts: int = 1
    ) -> None:
        self.target = target
        self.delay = delay
        self.cut_after = cut_after
        self.cuts_left = cuts if cut_after is not None else 0
        self.connections = 0
        self.cut_connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.target)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
                cut = None
                if self.cuts_left > 0:
                    self.cuts_left -= 1
                    cut = self.cut_after
                self._sockets += [client, server]
            state = {"down": 0}
            for source, sink, counted in ((client, server, False), (server, client, True)):
                limit = cut if counted else None
                threading.Thread(
                    target=self._pump, args=(source, sink, client, server, limit, state), daemon=True
                ).start()

    def _kill(self, *sockets: socket.socket) -> None:
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        client: socket.socket,
        server: socket.socket,
        limit: int | None,
        state: dict[str, int],
    ) -> None:
        if self.delay:
            self._pump_delayed(source, sink, client, server)
            return
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                if limit is not None:
                    state["down"] += len(data)
                    if state["down"] >= limit:
                        with self._lock:
                            self.cut_connections += 1
                        self._kill(client, server)
                        return
                sink.sendall(data)
        except OSError:
            pass
        self._kill(client, server)

    def _pump_delayed(
        self, source: socket.socket, sink: socket.socket, client: socket.socket, server: socket.socket
    ) -> None:
        """A reader and a writer thread with a bounded queue of (due time, bytes) between them."""
        held: queue.Queue[tuple[float, bytes] | None] = queue.Queue(maxsize=1024)

        def write() -> None:
            try:
                while (item := held.get()) is not None:
                    due, data = item
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    sink.sendall(data)
            except OSError:
                pass
            self._kill(client, server)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                held.put((time.monotonic() + self.delay, data))
        except OSError:
            pass
        held.put(None)
        writer.join()
