"""Object stores: the small surface the pipeline needs from S3, GCS or a local directory.

Every backend offers the same operations with the same guarantees, so the pipeline and the
ledger are written once:

- ``put`` streams an upload and the object appears whole or not at all (S3 multipart and
  GCS resumable uploads complete atomically; the local store writes a temp file and renames);
- ``create`` writes only if the key does not exist, and ``replace`` only if the object is
  still the one read (its ``etag``): the conditional writes the ledger's claims rest on.

What only some stores can do is declared in ``abilities``, one ``Protocol`` per ability.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, ClassVar

from bankgate.store import encoding
from bankgate.store.abilities import NotServerSide, ServerSideCopy


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a store knows of one object. ``etag`` identifies the content version for
    conditional writes; ``version`` is the store's version id or generation, if any;
    ``checksum`` the store's own whole-object checksum (``abilities.ChecksumOnWrite``, hex;
    see ``checksums``) when asked for (``info(key, checksum=True)``), "" where it has none for
    this object or was not asked (S3 ``list`` never has it)."""

    key: str
    size: int
    etag: str
    version: str | None = None
    modified_ns: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict)
    checksum: str = ""


class ObjectStore(ABC):
    """A bucket (or directory). Keys are '/'-separated and never start with '/'."""

    #: URL prefix of this store, e.g. ``s3://bucket`` or ``file:///srv/data``.
    url: str
    #: The longest key the store takes, in bytes of UTF-8 (S3 and GCS: 1,024).
    max_key_bytes: ClassVar[int] = 1024
    #: The longest name between two '/' it takes (a file name), or None for no limit of its own.
    max_name_bytes: ClassVar[int | None] = None
    #: How many bytes of user metadata (names and values) an object may carry, or None.
    max_metadata_bytes: ClassVar[int | None] = None

    def fit_key(self, key: str, suffix: str = "") -> str:
        """``key + suffix``, cut to what this store takes where it is too long (see ``encoding``)."""
        return encoding.fit_key(
            key, suffix=suffix, max_key_bytes=self.max_key_bytes, max_name_bytes=self.max_name_bytes
        )

    def _stored_metadata(self, metadata: Mapping[str, str] | None) -> dict[str, str]:
        """Metadata as this store holds it: encoded the same way on every store (``encoding``)."""
        return encoding.encode_metadata(metadata or {}, self.max_metadata_bytes)

    @abstractmethod
    def info(self, key: str, *, checksum: bool = False, version: str | None = None) -> ObjectInfo | None:
        """The object's metadata (of that version, when given), or None if it does not exist;
        with ``checksum``, also the store's own checksum of it (on S3 a HEAD with checksum
        mode, which SSE-KMS objects answer only to a caller allowed to decrypt)."""

    @abstractmethod
    def open(self, key: str, *, version: str | None = None) -> IO[bytes]:
        """A streaming reader of the object (of that version, when given). Raise KeyError if missing."""

    @abstractmethod
    def put(
        self, key: str, source: IO[bytes], *, metadata: Mapping[str, str] | None = None, content_type: str = ""
    ) -> ObjectInfo:
        """Stream ``source`` into ``key``; the object is visible only once complete."""

    @abstractmethod
    def writer(
        self, key: str, *, metadata: Mapping[str, str] | None = None, content_type: str = "", size: int | None = None
    ) -> AbstractContextManager[IO[bytes]]:
        """A writable stream into ``key``: committed when the block exits normally, discarded
        (multipart aborted, temp file removed) when it raises. Memory stays at one part.
        ``size``, when known, is how many bytes will be written (a hint: a local file is
        preallocated; the count written is what lands)."""

    @abstractmethod
    def create(self, key: str, data: bytes, *, content_type: str = "application/json") -> ObjectInfo | None:
        """Write ``data`` only if ``key`` does not exist; None when it already does."""

    @abstractmethod
    def replace(self, key: str, data: bytes, *, etag: str, content_type: str = "application/json") -> ObjectInfo | None:
        """Overwrite ``key`` only if its current etag is ``etag``; None when it changed."""

    @abstractmethod
    def delete(self, key: str, *, version: str | None = None) -> None:
        """Remove the object; no error if it is already gone."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects under ``prefix``, in key order."""

    def put_bytes(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None, content_type: str = ""
    ) -> ObjectInfo:
        return self.put(key, io.BytesIO(data), metadata=metadata, content_type=content_type)

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def read_with_info(self, key: str) -> tuple[bytes, ObjectInfo] | None:
        """A small object's bytes and its info (the etag a ``replace`` of it names), or None if
        it does not exist: what a compare-and-swap reads (``bankgate.lease``).

        The etag is never newer than the bytes, so a replace naming it cannot overwrite a
        change the caller did not see. Here it is read first (two requests: the bytes are that
        version or newer); the stores override it with one read that returns both (S3
        GetObject's ETag, GCS's generation header, ``fstat`` of the opened file)."""
        info = self.info(key)
        if info is None:
            return None
        try:
            with self.open(key) as stream:
                return stream.read(), info
        except KeyError:  # deleted between the two reads
            return None

    def url_of(self, key: str) -> str:
        return f"{self.url}/{key}"

    def copy_to(
        self,
        key: str,
        target: ObjectStore,
        target_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
        version: str | None = None,
    ) -> ObjectInfo:
        """Copy an object (that version, when given) to another store or key, with ``metadata``
        (the source's when None): server-side where the store can (``ServerSideCopy``), else
        streamed through this process."""
        if isinstance(self, ServerSideCopy):
            try:
                return self.server_copy(key, target, target_key, metadata=metadata, version=version)
            except NotServerSide:
                pass
        source_info = self.info(key, version=version)
        if source_info is None:
            raise KeyError(key)
        with self.open(key, version=version) as stream:
            return target.put(target_key, stream, metadata=dict(metadata or source_info.metadata))
