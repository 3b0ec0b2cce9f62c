"""The scripted client: push one file through the presign API, for clients without a browser.

It asks the API for a grant (declaring the file's SHA-256), then uploads by the method the API
chose: one PUT, or a multipart upload whose parts go up ``workers`` at a time, each read with
``os.pread`` straight from the file, so memory stays at ``workers`` parts whatever the size.
A failed part is retried; a run that dies is resumed by the next one: the upload id is kept in
a small state file (``~/.cache/bankgate/push/`` by default) keyed by the file's path, size and
mtime, and the parts S3 already holds (``GET /uploads/{id}/parts``) are not sent again.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import requests

MiB = 1 << 20
DEFAULT_PART = 8 * MiB
DEFAULT_WORKERS = 8
RETRIES = 4


class PushFailed(RuntimeError):
    """The API refused, or an upload failed after its retries; the message says which."""


def default_state_dir() -> Path:
    """Where unfinished uploads are remembered: the user's cache directory."""
    return Path.home() / ".cache" / "bankgate" / "push"


class Client:
    """One API at ``api`` (e.g. ``http://127.0.0.1:8765/api``) with a bearer ``token``."""

    def __init__(
        self,
        api: str,
        token: str,
        *,
        workers: int = DEFAULT_WORKERS,
        part_size: int = DEFAULT_PART,
        state_dir: Path | None = None,
    ) -> None:
        self.api, self.token = api.rstrip("/"), token
        self.workers, self.part_size = workers, part_size
        self.state_dir = state_dir or default_state_dir()
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """One connection pool per thread: requests' sessions are not thread-safe."""
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.session.request(
            method, self.api + path, json=body, headers={"authorization": f"Bearer {self.token}"}, timeout=60
        )
        try:
            payload = answer.json()
        except ValueError:
            raise PushFailed(f"{method} {path}: HTTP {answer.status_code} without a JSON answer") from None
        if answer.status_code >= 400:
            raise PushFailed(f"{payload.get('error', answer.status_code)}: {payload.get('message', '')}")
        return payload

    def push(
        self,
        path: str | Path,
        *,
        content_type: str = "",
        name: str = "",
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Upload ``path``; the API's grant (``upload_id``, ``key``, ...). ``progress(done, total)``
        is called as bytes land."""
        path = Path(path)
        stat = path.stat()
        content_type = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        state_file = self.state_dir / (
            hashlib.sha256(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{self.api}".encode()).hexdigest()
            + ".json"
        )
        grant = self._resumable(state_file)
        if grant is None:
            with path.open("rb") as f:
                sha256 = hashlib.file_digest(f, "sha256").hexdigest()
            body = {"name": name or path.name, "size": stat.st_size, "content_type": content_type, "sha256": sha256}
            grant = self.call("POST", "/uploads", body)
            if grant["method"] == "multipart":
                state_file.parent.mkdir(parents=True, exist_ok=True)
                state_file.write_text(json.dumps(grant))
        if grant["method"] == "put":
            self._put(path, grant, stat.st_size, progress)
        else:
            self._multipart(path, grant, stat.st_size, progress)
            state_file.unlink(missing_ok=True)
        return grant

    def _resumable(self, state_file: Path) -> dict[str, Any] | None:
        """The grant a previous run left unfinished, if the API still has it open."""
        try:
            grant = json.loads(state_file.read_text())
            self.call("GET", f"/uploads/{grant['uploadId']}/parts")
        except (OSError, ValueError, KeyError, PushFailed):
            state_file.unlink(missing_ok=True)
            return None
        return grant

    def _put(self, path: Path, grant: dict[str, Any], size: int, progress: Callable[[int, int], None] | None) -> None:
        with path.open("rb") as f:
            answer = self.session.put(grant["url"], data=f, headers=grant["headers"], timeout=600)
        if answer.status_code != 200:
            raise PushFailed(f"S3 refused the upload: HTTP {answer.status_code}")
        if progress:
            progress(size, size)

    def _multipart(
        self, path: Path, grant: dict[str, Any], size: int, progress: Callable[[int, int], None] | None
    ) -> None:
        upload = grant["uploadId"]
        part = max(grant["part_size"], self.part_size, -(-size // 10_000))
        held = {p["PartNumber"]: p["Size"] for p in self.call("GET", f"/uploads/{upload}/parts")}
        numbers = range(1, -(-size // part) + 1)
        todo = [n for n in numbers if held.get(n) != min(part, size - (n - 1) * part)]
        done = [size - sum(min(part, size - (n - 1) * part) for n in todo)]
        lock, failed = threading.Lock(), threading.Event()
        if progress:
            progress(done[0], size)
        fd = os.open(path, os.O_RDONLY)
        try:

            def send(n: int) -> None:
                if failed.is_set():  # another part failed: leave the rest to the next run
                    return
                try:
                    _send(n)
                except BaseException:
                    failed.set()
                    raise

            def _send(n: int) -> None:
                length = min(part, size - (n - 1) * part)
                data = os.pread(fd, length, (n - 1) * part)
                for attempt in range(RETRIES):
                    try:
                        signed = self.call("GET", f"/uploads/{upload}/parts/{n}")
                        answer = self.session.put(signed["url"], data=data, headers=signed["headers"], timeout=300)
                        if answer.status_code == 200:
                            break
                        problem = f"HTTP {answer.status_code}"
                    except requests.RequestException as exc:
                        problem = type(exc).__name__
                    time.sleep(0.5 * 2**attempt)
                else:
                    raise PushFailed(f"part {n} failed {RETRIES} times ({problem}); run again to resume")
                with lock:
                    done[0] += length
                    if progress:
                        progress(done[0], size)

            pool = ThreadPoolExecutor(self.workers)
            try:
                for future in as_completed([pool.submit(send, n) for n in todo]):
                    future.result()
            finally:  # on a failure, no part not yet started is sent: the next run resumes
                pool.shutdown(cancel_futures=True)
        finally:
            os.close(fd)
        self.call("POST", f"/uploads/{upload}/complete", {"parts": [{"PartNumber": n} for n in numbers]})


def progress_bar(stream: Any) -> Callable[[int, int], None]:
    """A one-line progress bar with bytes and speed, redrawn in place (for a terminal)."""
    started = time.monotonic()

    def draw(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        rate = done / MiB / max(time.monotonic() - started, 1e-6)
        stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done / MiB:,.1f}/{total / MiB:,.1f} MiB {rate:,.1f} MiB/s"
        )
        if done >= total:
            stream.write("\n")
        stream.flush()

    return draw
