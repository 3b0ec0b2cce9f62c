"""What only some stores can do, each ability declared one way: as a ``Protocol`` a store
class implements, which generic code checks with ``isinstance`` (rclone's optional
interfaces: ``Copier``, ``Purger``, ...). A store has an ability exactly when it has the
member; the base class has none of them, so there is no default that quietly does nothing.
A subclass can give up an inherited ability by setting the method to None (how
``typing.runtime_checkable`` protocols are opted out of).

The contract tests (``tests/sftp/test_store_contract.py``) pin which store has which, and
run every ability against every store that declares it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bankgate.store.base import ObjectInfo, ObjectStore


class NotServerSide(Exception):
    """This copy cannot be made server-side (another service, another file system): the caller
    streams the bytes instead."""


@runtime_checkable
class ChecksumOnWrite(Protocol):
    """The store computes a whole-object checksum of the bytes it received and reports it in
    ``info(key, checksum=True)`` (S3's full-object CRC-32, GCS's CRC-32C; see ``checksums``):
    a writer computing the same over the bytes it sent proves the upload without reading it
    back."""

    #: The algorithm, a name in ``checksums.ALGORITHMS``.
    checksum_algorithm: str


@runtime_checkable
class LocalFiles(Protocol):
    """Objects are files on this machine's file system. So a reader can seek cheaply (a zip is
    read in place, not copied into scratch), and a read right after a write is served from the
    page cache just written: a read-back proves nothing a size check does not."""

    def open_seekable(self, key: str, *, version: str | None = None) -> IO[bytes]:
        """A seekable reader of the object. Raise KeyError if missing."""
        ...


@runtime_checkable
class ServerSideCopy(Protocol):
    """Copies without the bytes passing through this process (S3 CopyObject, a GCS rewrite, a
    hard link). ``ObjectStore.copy_to`` uses it and streams where it raises NotServerSide."""

    def server_copy(
        self,
        key: str,
        target: ObjectStore,
        target_key: str,
        *,
        metadata: Mapping[str, str] | None,
        version: str | None,
    ) -> ObjectInfo:
        """Copy ``key`` (that version) to ``target_key`` in ``target``, with ``metadata`` (the
        source's when None); NotServerSide when ``target`` is out of reach."""
        ...


@runtime_checkable
class Versioned(Protocol):
    """The store can keep older versions of a key (S3 with versioning, GCS generations), and
    ``open``/``info``/``delete`` take a ``version``."""

    def older_versions(self, key: str, version: str) -> list[ObjectInfo]:
        """The versions of ``key`` older than ``version`` still stored, newest first: what would
        become the current object once ``version`` is deleted."""
        ...


@runtime_checkable
class SweepsPartials(Protocol):
    """A killed writer can leave unfinished writes of the store's own behind (a local temp
    file; a GCS temporary object), which this removes. S3 has no such leftovers: an uncompleted
    multipart upload stays invisible and the bucket's lifecycle rule
    (AbortIncompleteMultipartUpload) removes it."""

    def sweep_partials(self, older_than: float) -> int:
        """Remove those untouched for ``older_than`` seconds; how many."""
        ...


__all__ = ["ChecksumOnWrite", "LocalFiles", "NotServerSide", "ServerSideCopy", "SweepsPartials", "Versioned"]
