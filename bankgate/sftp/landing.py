"""How a remote file lands in its store: three strategies, all leaving the final key either
absent or holding complete, verified bytes (verification is ``verify``'s).

- **small** (up to ``SMALL_FILE``, 8 MiB): read into memory and hashed first, so it goes
  straight to its final key with full metadata in one atomic request, and is verified there
  (removed again if that fails);
- **copy** (``landing="copy"``): object metadata can only be set when an upload starts, and the
  SHA-256 is known only at its end. So the file streams to ``<partial_prefix><uuid>-<name>``
  (outside the staging prefix the pipeline watches), is verified there, and only then copied,
  server-side on S3 and GCS, to its final key with the full metadata (bank, remote path and
  mtime, size, SHA-256). The final key's one object-created event is the only one the pipeline
  sees. A failed attempt leaves nothing: the upload is aborted, the temporary object deleted;
- **direct** (``landing="direct"``): streams straight into the final key (still never partial)
  and is verified there, removed again if that fails. It saves the copy, at the price of the
  SHA-256 missing from a large object's metadata (the ledger has it) and of the object being
  visible for the moment verification takes.

``landing="auto"`` (the default) copies where the store copies without moving the bytes through
this process (``abilities.ServerSideCopy``: S3, GCS, a local directory by hard link) and lands
directly elsewhere.

The path of a streamed file's bytes: the pipelined reader, hashing each chunk (``Digester``), on
its own thread (``handoff``) -> a bounded queue -> this thread, which writes each chunk into
``store.writer`` (an S3 multipart upload, a GCS resumable upload, a local temp file,
preallocated to the file's size). Nothing is buffered beyond the queue, the SSH window and one
upload part, whatever the file size.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from bankgate.banks import Landing, Verify
from bankgate.sftp import verify
from bankgate.sftp.connection import SftpSession
from bankgate.sftp.errors import RemoteChanged, VerificationFailed
from bankgate.sftp.handoff import in_thread
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.reader import RemoteReader, read_whole
from bankgate.sftp.verify import Digest, Digester, Verified
from bankgate.store.abilities import ServerSideCopy
from bankgate.store.base import ObjectStore

#: Files up to this size are read into memory and uploaded in one request (``land_small``).
SMALL_FILE = 8 << 20
LANDINGS: tuple[Landing, ...] = ("auto", "copy", "direct")

META_BANK = "bankgate-bank"
META_PATH = "bankgate-remote-path"
META_MTIME = "bankgate-remote-mtime"
META_SIZE = "bankgate-size"
META_SHA256 = "bankgate-sha256"


def remote_metadata(remote: RemoteFile) -> dict[str, str]:
    """Metadata known before the transfer. The path is the exact one (a name may not be UTF-8):
    the store percent-encodes it once and reads it back as ``names.text`` (``store.encoding``)."""
    mtime = datetime.fromtimestamp(remote.mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {META_PATH: remote.path, META_MTIME: mtime}


@dataclass(frozen=True)
class Destination:
    """Where one remote file lands: the store, the final key (``key~<sha>`` instead when another
    file holds it), the metadata known before the transfer (the caller's and the remote file's),
    and the prefix of temporary keys (outside the watched staging prefix, ending in '/')."""

    store: ObjectStore
    key: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    partial_prefix: str = "bankgate-partial/"

    @classmethod
    def of(
        cls,
        store: ObjectStore,
        key: str,
        remote: RemoteFile,
        metadata: Mapping[str, str] | None,
        partial_prefix: str = "bankgate-partial/",
    ) -> Destination:
        partial = partial_prefix if partial_prefix.endswith("/") else partial_prefix + "/"
        return cls(store, key, {**(metadata or {}), **remote_metadata(remote)}, partial)

    def full_metadata(self, read: Digest) -> dict[str, str]:
        """The metadata of a final object whose bytes are known."""
        return {**self.metadata, META_SIZE: str(read.size), META_SHA256: read.sha256}

    def temp_key(self) -> str:
        """A fresh temporary key under the partial prefix, ending in the final name."""
        return f"{self.partial_prefix}{uuid.uuid4().hex}-{posixpath.basename(self.key) or 'file'}"


def resolve_landing(landing: Landing, store: ObjectStore) -> Landing:
    """``"auto"`` made concrete for ``store`` (see the module doc); the others as they are."""
    if landing not in LANDINGS:
        raise ValueError(f"landing must be 'auto', 'copy' or 'direct', not {landing!r}")
    if landing == "auto":
        return "copy" if isinstance(store, ServerSideCopy) else "direct"
    return landing


def land(session: SftpSession, remote: RemoteFile, to: Destination, verify_mode: Verify, landing: Landing) -> Verified:
    """One attempt at landing ``remote`` (``landing`` resolved), by the strategy that fits."""
    if remote.size <= SMALL_FILE:
        return land_small(session, remote, to, verify_mode)
    if landing == "direct" and to.store.info(to.key) is None:
        return land_direct(session, remote, to, verify_mode)
    # also a direct landing whose key is taken: only the checksum can tell if it is the same file
    temp, read = upload_temp(session, remote, to)
    return promote_temp(to, temp, read, verify_mode)


def land_small(session: SftpSession, remote: RemoteFile, to: Destination, verify_mode: Verify) -> Verified:
    """A file that fits in memory is hashed before it is sent, so it goes straight to its final
    key, with full metadata, in one atomic request: no temporary copy to make and remove."""
    data, size, mtime = read_whole(session, remote.path, remote.size)
    if len(data) != remote.size or (size, mtime) != (remote.size, remote.mtime):
        raise RemoteChanged(f"{remote.text} changed since it was listed ({len(data)} bytes read, {size} now)")
    read = verify.digest_of(to.store, data)
    final, reused = free_key(to, read)
    if not reused:
        to.store.put_bytes(final, data, metadata=to.full_metadata(read))
    try:
        return verify.check(to.store, final, read, verify_mode, reused=reused)
    except VerificationFailed:
        if not reused:
            to.store.delete(final)
        raise


def land_direct(session: SftpSession, remote: RemoteFile, to: Destination, verify_mode: Verify) -> Verified:
    """Stream into the final key (complete or absent, never partial) with the metadata known up
    front, then verify it there; removed again if that fails."""
    read = _upload(session, remote, to.store, to.key, {**to.metadata, META_SIZE: str(remote.size)})
    try:
        return verify.check(to.store, to.key, read, verify_mode)
    except VerificationFailed:
        to.store.delete(to.key)
        raise


def upload_temp(session: SftpSession, remote: RemoteFile, to: Destination) -> tuple[str, Digest]:
    """Stream ``remote`` into a fresh temporary key under the partial prefix; returns
    (temporary key, what was read). Nothing is left on failure."""
    temp = to.temp_key()
    try:
        read = _upload(session, remote, to.store, temp, to.metadata)
    except BaseException:
        to.store.delete(temp)
        raise
    return temp, read


def promote_temp(to: Destination, temp: str, read: Digest, verify_mode: Verify) -> Verified:
    """Verify the temporary object against what was read, then copy it to its final key with
    the full metadata (or find the final key already holds these bytes); the temporary object
    is deleted either way. Raises VerificationFailed, leaving the final key untouched."""
    store = to.store
    try:
        verify.check(store, temp, read, verify_mode)
        final, reused = free_key(to, read)
        if reused:
            return verify.check(store, final, read, verify_mode, reused=True)
        copied = store.copy_to(temp, store, final, metadata=to.full_metadata(read))
        try:
            return verify.check_copy(store, copied, read, verify_mode, META_SHA256)
        except VerificationFailed:
            store.delete(final)
            raise
    finally:
        store.delete(temp)


def free_key(to: Destination, read: Digest) -> tuple[str, bool]:
    """The final key to use and whether it already holds these bytes. A different file already
    there (the same name delivered twice on one day) is not overwritten: the new one lands as
    ``name~<sha256 prefix>.ext``."""
    store, key = to.store, to.key
    existing = store.info(key)
    if existing is None:
        return key, False
    if existing.size == read.size and existing.metadata.get(META_SHA256) == read.sha256:
        return key, True
    directory, name = posixpath.split(key)
    stem, dot, ext = name.partition(".")
    alternative = posixpath.join(directory, f"{stem}~{read.sha256[:12]}{dot}{ext}")
    existing = store.info(alternative)
    if existing is not None and existing.size == read.size and existing.metadata.get(META_SHA256) == read.sha256:
        return alternative, True
    return alternative, False


def _same(remote: RemoteFile, attrs: Any) -> bool:
    return int(attrs.st_size or 0) == remote.size and int(attrs.st_mtime or 0) == remote.mtime


def _upload(session: SftpSession, remote: RemoteFile, store: ObjectStore, key: str, meta: Mapping[str, str]) -> Digest:
    """Stream ``remote`` into ``key``, checked against its listing before and after the read."""
    digester = Digester(store)
    with RemoteReader(session, remote.path) as reader:
        assert reader.attributes is not None
        if not _same(remote, reader.attributes):
            raise RemoteChanged(f"{remote.text} changed since it was listed")
        with store.writer(key, metadata=meta, size=remote.size) as out:
            _pump(reader.chunks(remote.size), out, digester)
            count = digester.size
            after = reader.fstat()
            if count != remote.size or not _same(remote, after):
                raise RemoteChanged(
                    f"{remote.text} changed while it was read ({count} bytes read, {after.st_size} now)"
                )  # raised inside the writer: the upload is discarded
    return digester.digest()


def _hashed(chunks: Iterator[Any], digester: Digester) -> Iterator[Any]:
    try:
        for chunk in chunks:
            digester.update(chunk)
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _pump(chunks: Iterator[Any], out: IO[bytes], digester: Digester) -> None:
    """Move chunks from the reader to ``out``, hashing (and counting) on the reader's thread.
    (Hashing on a third thread of its own measured no faster on two cores.)"""
    stages = in_thread(_hashed(chunks, digester), "bankgate-sftp-read")
    try:
        for chunk in stages:
            out.write(chunk)
    finally:
        stages.close()


__all__ = [
    "LANDINGS",
    "META_BANK",
    "META_MTIME",
    "META_PATH",
    "META_SHA256",
    "META_SIZE",
    "SMALL_FILE",
    "Destination",
    "free_key",
    "land",
    "promote_temp",
    "remote_metadata",
    "resolve_landing",
    "upload_temp",
]
