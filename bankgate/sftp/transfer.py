"""Stream one remote file into an object store, verified, with retries on a dropped connection.

The path of the bytes: the pipelined reader, which also hashes each chunk (SHA-256), on its own
thread -> a bounded queue -> this thread, which writes each chunk into ``store.writer`` (an S3
multipart upload, a GCS resumable upload, a local temp file, preallocated to the file's size).
Nothing is buffered beyond the queue, the SSH window and one upload part, whatever the file
size; reading goes on while a part is sent, up to the queue's ~8 MiB.

Files up to ``SMALL_FILE`` (8 MiB) are simpler: read into memory and hashed first, they go
straight to their final key with full metadata in one atomic request, and are verified there
(removed again if that fails, and the remote file is kept).

Why land a large file in a temporary key first: object metadata can only be set when an upload starts, and
the SHA-256 is known only at its end. So the file is uploaded to ``<partial_prefix><uuid>-<name>``
(outside the staging prefix the pipeline watches), verified there (see Verification), and only
then copied, server-side on S3 and GCS, to its final key with the
full metadata (bank, remote path and mtime, size, SHA-256). The final key therefore only ever
holds complete, verified bytes, and its one object-created event is the only one the pipeline
sees. A failed attempt leaves nothing: the upload is aborted, the temporary object deleted.

``landing="direct"`` skips the temporary key for large files: they stream straight into the
final key (still never partial) and are verified there, removed again if that fails. It saves
the copy, at the price of the SHA-256 missing from a large object's metadata (the ledger has
it) and of the object being visible for the moment verification takes. ``landing="auto"``
(the default) copies where the store copies without moving the bytes through this process
(S3 and GCS server-side, a local directory by hard link) and lands directly elsewhere.

Verification (``verify``): the size always, against the bytes read and the remote stat before
and after; then, with ``"checksum"`` (the default), the store's own whole-object checksum of
what it received (S3's full-object CRC-32, GCS's CRC-32C), compared with the same checksum
computed here over the bytes read. The store computes it on its side of the network, so this
proves the landed object without reading it back (a read-back of 1 GiB from S3 is a second
transfer). A local directory computes none: its bytes went from the buffers hashed here
through ``write()`` into the page cache, and reading them back would read that same page
cache, so ``"checksum"`` checks the size there. ``"sha256"`` reads the object back and hashes
it everywhere (the paranoid setting, and the fallback where a store reports no checksum for
an object, or computes none and is not a local directory: ``ObjectStore.size_proves_a_write``);
``"size"`` checks the size only.

A dropped or stalled connection (socket errors, EOF, SSH errors, a read timeout) is retried
with exponential backoff and jitter, from byte zero on a fresh connection: SFTP servers do not
all support resuming, and a restarted upload is the only way the final object is provably the
remote file. A file that changes while it is read is not retried here: it is not stable, and
the next run will see it again.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, TypeVar

from bankgate.banks import VERIFY_MODES, Landing, Verify
from bankgate.sftp import names
from bankgate.sftp.connection import SftpSession
from bankgate.sftp.errors import RemoteChanged, VerificationFailed, is_retryable
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.reader import RemoteReader, read_whole
from bankgate.store.base import ObjectStore
from bankgate.store.checksums import new_checksum

log = logging.getLogger(__name__)

T = TypeVar("T")
_SEAL = object()
_QUEUE_CHUNKS = 32  # x ~255 KiB chunks: ~8 MiB between the reader and the uploader
_VERIFY_READ = 8 << 20
_VERIFY_BUFFER = 1 << 20  # readinto buffer for the read-back: fits in a core's L2 cache
#: Files up to this size are read into memory and uploaded in one request (see _attempt_small).
SMALL_FILE = 8 << 20
MAX_BACKOFF = 60.0

META_BANK = "bankgate-bank"
META_PATH = "bankgate-remote-path"
META_MTIME = "bankgate-remote-mtime"
META_SIZE = "bankgate-size"
META_SHA256 = "bankgate-sha256"


@dataclass(frozen=True)
class Landed:
    """A remote file landed in the store and verified. Only ``pull_file`` makes these, and only
    after verification, so anything that takes a ``Landed`` (the post-pull delete/move) cannot
    run on an unverified copy."""

    key: str
    url: str
    size: int
    sha256: str
    etag: str
    remote: RemoteFile
    seconds: float = 0.0
    reused: bool = False  # the final key already held these exact bytes
    _seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._seal is not _SEAL:
            raise TypeError("Landed is made only by pull_file, after the landed copy is verified")


def remote_metadata(remote: RemoteFile) -> dict[str, str]:
    """Metadata known before the transfer. The path is its exact bytes, percent-encoded
    (``names.quoted``): S3 metadata is ASCII, and a name may not be UTF-8."""
    mtime = datetime.fromtimestamp(remote.mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {META_PATH: names.quoted(remote.path), META_MTIME: mtime}


@dataclass(frozen=True)
class Digest:
    """What was read of a remote file: the byte count, its SHA-256 (its identity in the ledger
    and the object metadata) and, where the store computes one, the store's own checksum of
    the same bytes (``ObjectStore.checksum_algorithm``), "" otherwise."""

    size: int
    sha256: str
    checksum: str = ""


class _Digester:
    """SHA-256 and the store's checksum, updated together over each chunk."""

    def __init__(self, store: ObjectStore) -> None:
        self.sha256 = hashlib.sha256()
        self.checksum = new_checksum(store.checksum_algorithm)
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self.sha256.update(chunk)
        if self.checksum is not None:
            self.checksum.update(chunk)
        self.size += len(chunk)

    def digest(self) -> Digest:
        checksum = self.checksum.hexdigest() if self.checksum is not None else ""
        return Digest(self.size, self.sha256.hexdigest(), checksum)


def digest_of(store: ObjectStore, data: bytes) -> Digest:
    digester = _Digester(store)
    digester.update(data)
    return digester.digest()


class _Done:
    pass


@dataclass(frozen=True)
class _Outcome:
    key: str
    size: int
    sha256: str
    etag: str
    reused: bool


@dataclass
class _Failed:
    error: BaseException


def _in_thread(items: Iterator[Any], name: str) -> Generator[Any, None, None]:
    """Iterate ``items`` on a thread of its own, ``_QUEUE_CHUNKS`` ahead of the consumer; its
    errors are raised in the consumer, and closing this generator stops and joins the thread."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_CHUNKS)
    stop = threading.Event()

    def put(item: Any) -> bool:
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


def _hashed(chunks: Iterator[Any], hasher: _Digester) -> Iterator[Any]:
    try:
        for chunk in chunks:
            hasher.update(chunk)
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _pump(chunks: Iterator[Any], out: IO[bytes], hasher: _Digester) -> None:
    """Move chunks from the reader to ``out``, hashing (and counting) on the way.

    The reader and the hash run on a thread of their own, writing on this one: hashing and
    writing both release the GIL, so on two cores they overlap with paramiko's transport
    thread. (Hashing on a third thread of its own measured no faster on two cores.)"""
    stages = _in_thread(_hashed(chunks, hasher), "bankgate-sftp-read")
    try:
        for chunk in stages:
            out.write(chunk)
    finally:
        stages.close()


def _same(remote: RemoteFile, attrs: Any) -> bool:
    return int(attrs.st_size or 0) == remote.size and int(attrs.st_mtime or 0) == remote.mtime


def _upload(session: SftpSession, remote: RemoteFile, store: ObjectStore, temp: str, meta: Mapping[str, str]) -> Digest:
    hasher = _Digester(store)
    with RemoteReader(session, remote.path) as reader:
        assert reader.attributes is not None
        if not _same(remote, reader.attributes):
            raise RemoteChanged(f"{remote.text} changed since it was listed")
        with store.writer(temp, metadata=meta, size=remote.size) as out:
            _pump(reader.chunks(remote.size), out, hasher)
            count = hasher.size
            after = reader.fstat()
            if count != remote.size or not _same(remote, after):
                raise RemoteChanged(
                    f"{remote.text} changed while it was read ({count} bytes read, {after.st_size} now)"
                )  # raised inside the writer: the upload is discarded
    return hasher.digest()


def _verify(store: ObjectStore, key: str, read: Digest, verify: Verify) -> str:
    """Check the object against what was read (see Verification above); returns its etag."""
    info = store.info(key, checksum=verify == "checksum")
    url = store.url_of(key)
    if info is None:
        raise VerificationFailed(f"{url} is missing after its upload completed")
    if info.size != read.size:
        raise VerificationFailed(f"{url} has {info.size} bytes, {read.size} were read")
    if verify == "checksum":
        if info.checksum and read.checksum:
            _same_checksum(store, url, info.checksum, read)
            return info.etag
        if store.checksum_algorithm or not store.size_proves_a_write:
            verify = "sha256"  # no checksum of the store's for this object: read it back
    if verify == "sha256":
        with store.open(key) as stream:
            digest = _sha256_of(stream)
        if digest != read.sha256:
            raise VerificationFailed(f"{url} does not hash to the SHA-256 of the bytes read")
    return info.etag


def _same_checksum(store: ObjectStore, url: str, stored: str, read: Digest) -> None:
    if stored != read.checksum:
        raise VerificationFailed(
            f"{url}: the store's {store.checksum_algorithm} of the object is {stored}, the bytes read give"
            f" {read.checksum}"
        )


def _sha256_of(stream: IO[bytes]) -> str:
    """SHA-256 of a stream read to its end. Read into one reused buffer that stays in the CPU
    cache (a fresh 8 MiB ``bytes`` per read costs page faults, and is out of cache before it is
    hashed) when the stream can; a read-back is hashing-bound, so this is most of its cost."""
    hasher = hashlib.sha256()
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        while chunk := stream.read(_VERIFY_READ):
            hasher.update(chunk)
        return hasher.hexdigest()
    buffer = bytearray(_VERIFY_BUFFER)
    view = memoryview(buffer)
    while size := readinto(buffer):
        hasher.update(view[:size])
    return hasher.hexdigest()


def _free_key(store: ObjectStore, key: str, read: Digest) -> tuple[str, bool]:
    """The final key to use and whether it already holds these bytes. A different file already
    there (the same name delivered twice on one day) is not overwritten: the new one lands as
    ``name~<sha256 prefix>.ext``."""
    size, sha256 = read.size, read.sha256
    existing = store.info(key)
    if existing is None:
        return key, False
    if existing.size == size and existing.metadata.get(META_SHA256) == sha256:
        return key, True
    directory, name = posixpath.split(key)
    stem, dot, ext = name.partition(".")
    alternative = posixpath.join(directory, f"{stem}~{sha256[:12]}{dot}{ext}")
    existing = store.info(alternative)
    if existing is not None and existing.size == size and existing.metadata.get(META_SHA256) == sha256:
        return alternative, True
    return alternative, False


def _read_small(session: SftpSession, remote: RemoteFile) -> bytes:
    data, size, mtime = read_whole(session, remote.path, remote.size)
    if len(data) != remote.size or (size, mtime) != (remote.size, remote.mtime):
        raise RemoteChanged(f"{remote.text} changed since it was listed ({len(data)} bytes read, {size} now)")
    return data


def _attempt_small(
    session: SftpSession, remote: RemoteFile, store: ObjectStore, key: str, meta: dict[str, str], verify: Verify
) -> _Outcome:
    """A file that fits in memory is hashed before it is sent, so it goes straight to its final
    key, with full metadata, in one atomic request: no temporary copy to make and remove."""
    data = _read_small(session, remote)
    read = digest_of(store, data)
    final, reused = _free_key(store, key, read)
    if not reused:
        store.put_bytes(final, data, metadata={**meta, META_SIZE: str(read.size), META_SHA256: read.sha256})
    try:
        etag = _verify(store, final, read, verify)
    except VerificationFailed:
        if not reused:
            store.delete(final)
        raise
    return _Outcome(final, read.size, read.sha256, etag, reused)


def _attempt_large(
    session: SftpSession,
    remote: RemoteFile,
    store: ObjectStore,
    key: str,
    meta: dict[str, str],
    verify: Verify,
    partial_prefix: str,
) -> _Outcome:
    temp, read = upload_temp(session, remote, store, key, meta, partial_prefix)
    return promote_temp(store, temp, key, read, meta, verify)


def upload_temp(
    session: SftpSession, remote: RemoteFile, store: ObjectStore, key: str, meta: Mapping[str, str], partial: str
) -> tuple[str, Digest]:
    """Stream ``remote`` into a fresh temporary key for ``key`` under ``partial`` (outside the
    watched prefix); returns (temporary key, what was read). Nothing is left on failure."""
    temp = f"{partial}{uuid.uuid4().hex}-{posixpath.basename(key) or 'file'}"
    try:
        read = _upload(session, remote, store, temp, meta)
    except BaseException:
        store.delete(temp)
        raise
    return temp, read


def promote_temp(
    store: ObjectStore, temp: str, key: str, read: Digest, meta: Mapping[str, str], verify: Verify
) -> _Outcome:
    """Verify the temporary object against what was read, then copy it to its final key with
    the full metadata (or find the final key already holds these bytes); the temporary object
    is deleted either way. Raises VerificationFailed, leaving the final key untouched."""
    size, sha256 = read.size, read.sha256
    try:
        _verify(store, temp, read, verify)
        final, reused = _free_key(store, key, read)
        if reused:
            etag = _verify(store, final, read, verify)
        else:
            full = {**meta, META_SIZE: str(size), META_SHA256: sha256}
            info = store.copy_to(temp, store, final, metadata=full)
            try:
                if info.size != size or info.metadata.get(META_SHA256, sha256) != sha256:
                    raise VerificationFailed(f"{store.url_of(final)} does not match its verified temporary copy")
                if verify == "checksum" and info.checksum and read.checksum:  # the copy, checked by the store
                    _same_checksum(store, store.url_of(final), info.checksum, read)
            except VerificationFailed:
                store.delete(final)
                raise
            etag = info.etag
    finally:
        store.delete(temp)
    return _Outcome(final, size, sha256, etag, reused)


def server_side_copy(store: ObjectStore) -> bool:
    """Whether the store copies objects without streaming them through us (S3 and GCS
    server-side, a local directory by hard link) rather than with the base implementation."""
    return type(store).copy_to is not ObjectStore.copy_to


def _attempt_direct(
    session: SftpSession, remote: RemoteFile, store: ObjectStore, key: str, meta: dict[str, str], verify: Verify
) -> _Outcome:
    """``landing="direct"``: stream into the final key (complete or absent, never partial) with
    the metadata known up front, then verify it there; removed again if that fails."""
    read = _upload(session, remote, store, key, {**meta, META_SIZE: str(remote.size)})
    try:
        etag = _verify(store, key, read, verify)
    except VerificationFailed:
        store.delete(key)
        raise
    return _Outcome(key, read.size, read.sha256, etag, False)


def _attempt(
    session: SftpSession,
    remote: RemoteFile,
    store: ObjectStore,
    key: str,
    meta: dict[str, str],
    verify: Verify,
    partial_prefix: str,
    landing: Landing,
) -> Landed:
    started = time.monotonic()
    if remote.size <= SMALL_FILE:
        done = _attempt_small(session, remote, store, key, meta, verify)
    elif landing == "direct" and store.info(key) is None:
        done = _attempt_direct(session, remote, store, key, meta, verify)
    else:  # also a direct landing whose key is taken: only the checksum can tell if it is the same file
        done = _attempt_large(session, remote, store, key, meta, verify, partial_prefix)
    seconds = time.monotonic() - started
    url = store.url_of(done.key)
    return Landed(done.key, url, done.size, done.sha256, done.etag, remote, seconds, done.reused, _SEAL)


def pull_file(
    session: SftpSession,
    remote: RemoteFile,
    store: ObjectStore,
    key: str,
    *,
    metadata: Mapping[str, str] | None = None,
    retries: int = 3,
    backoff: float = 2.0,
    verify: Verify = "checksum",
    partial_prefix: str = "bankgate-partial/",
    landing: Landing = "auto",
    on_retry: Callable[[int, BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Landed:
    """Pull ``remote`` into ``store`` at ``key`` (or ``key~<sha>`` if another file holds it).

    Raises RemoteChanged (the file is not stable: leave it for the next run),
    VerificationFailed (the store did not keep what was sent), HostKeyError/AuthError on
    reconnect, or the last connection error once ``retries`` are used up.
    """
    if verify not in VERIFY_MODES:
        raise ValueError(f"verify must be one of {', '.join(VERIFY_MODES)}, not {verify!r}")
    if landing not in ("auto", "copy", "direct"):
        raise ValueError(f"landing must be 'auto', 'copy' or 'direct', not {landing!r}")
    if landing == "auto":
        landing = "copy" if server_side_copy(store) else "direct"
    partial = partial_prefix if partial_prefix.endswith("/") else partial_prefix + "/"
    meta = {**(metadata or {}), **remote_metadata(remote)}
    landed = retrying(
        session,
        remote,
        lambda: _attempt(session, remote, store, key, meta, verify, partial, landing),
        retries=retries,
        backoff=backoff,
        on_retry=on_retry,
        sleep=sleep,
    )
    mib_s = landed.size / (1 << 20) / max(landed.seconds, 1e-9)
    log.info(
        "pulled %s -> %s (%d bytes, %.1f MiB/s, sha256 %s%s)",
        remote.text,
        landed.url,
        landed.size,
        mib_s,
        landed.sha256[:16],
        ", already landed" if landed.reused else "",
    )
    return landed


def retrying(
    session: SftpSession,
    remote: RemoteFile,
    attempt: Callable[[], T],
    *,
    retries: int,
    backoff: float,
    on_retry: Callable[[int, BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``attempt`` (which reads ``remote`` from byte zero), reconnecting and retrying with
    exponential backoff and jitter while the error is a dropped connection."""
    tries = 0
    while True:
        try:
            if not session.alive:
                session.reconnect()
            return attempt()
        except BaseException as error:
            if tries >= retries or not is_retryable(error, transport_alive=session.alive):
                raise
            tries += 1
            delay = min(MAX_BACKOFF, backoff * 2 ** (tries - 1)) * random.uniform(0.5, 1.0)
            log.warning(
                "pulling %s: connection lost (%s: %s); retry %d of %d in %.1fs",
                remote.text,
                type(error).__name__,
                error,
                tries,
                retries,
                delay,
            )
            if on_retry is not None:
                on_retry(tries, error)
            session.close()
            sleep(delay)
