"""Verification of a landed copy, and the only code that makes a ``Landed``.

What is checked (``verify``, per bank): the size always, against the bytes read (the remote
stat before and after the read is ``landing``'s); then, with ``"checksum"`` (the default), the
store's own whole-object checksum of what it received (``abilities.ChecksumOnWrite``: S3's
full-object CRC-32, GCS's CRC-32C), compared with the same checksum computed here over the
bytes read. The store computes it on its side of the network, so this proves the landed object
without reading it back (a read-back of 1 GiB from S3 is a second transfer). A store of local
files (``abilities.LocalFiles``) computes none, and reading its bytes back would read the page
cache they were just written to, so ``"checksum"`` checks the size there. ``"sha256"`` reads the
object back and hashes it everywhere (the paranoid setting, and the fallback where a store
reports no checksum for an object, or computes none and is not local files); ``"size"`` checks
the size only.

Why a seal: anything that takes a ``Landed`` (the post-pull delete or move of the bank's copy)
must not run on an unverified copy. ``Landed`` can only be made here: from a ``Verified``, which
only the checks below return, or from a pull-ledger record, which exists only once a landing
was verified.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bankgate.banks import Verify
from bankgate.sftp.errors import VerificationFailed
from bankgate.sftp.ledger import PullRecord
from bankgate.sftp.listing import RemoteFile
from bankgate.store.abilities import ChecksumOnWrite, LocalFiles
from bankgate.store.base import ObjectInfo, ObjectStore
from bankgate.store.checksums import new_checksum
from bankgate.streams import sha256_of

_SEAL = object()


def _sealed(seal: object, what: str) -> None:
    if seal is not _SEAL:
        raise TypeError(f"{what} is made only by bankgate.sftp.verify, after the landed copy is verified")


@dataclass(frozen=True)
class Digest:
    """What was read of a remote file: the byte count, its SHA-256 (its identity in the ledger
    and the object metadata) and, where the store computes one (``ChecksumOnWrite``), the
    store's own checksum of the same bytes, "" otherwise."""

    size: int
    sha256: str
    checksum: str = ""


class Digester:
    """SHA-256 and the store's checksum, updated together over each chunk as it is read."""

    def __init__(self, store: ObjectStore) -> None:
        self.sha256 = hashlib.sha256()
        self.checksum = new_checksum(store.checksum_algorithm) if isinstance(store, ChecksumOnWrite) else None
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
    digester = Digester(store)
    digester.update(data)
    return digester.digest()


@dataclass(frozen=True)
class Verified:
    """An object at ``key`` checked against what was read. ``reused``: the key already held
    these exact bytes. Made only by ``check`` and ``check_copy``."""

    key: str
    size: int
    sha256: str
    etag: str
    reused: bool = False
    _seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _sealed(self._seal, "Verified")


@dataclass(frozen=True)
class Landed:
    """A remote file landed in the store and verified (see the module doc)."""

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
        _sealed(self._seal, "Landed")


def landed(store: ObjectStore, verified: Verified, remote: RemoteFile, seconds: float) -> Landed:
    """The ``Landed`` of a verified object."""
    _sealed(verified._seal, "Verified")
    url = store.url_of(verified.key)
    return Landed(
        verified.key, url, verified.size, verified.sha256, verified.etag, remote, seconds, verified.reused, _SEAL
    )


def landed_from_record(record: PullRecord) -> Landed:
    """The verified landing a pull-ledger record stands for. The ledger records a pull only
    after it was verified, so this is as good as the ``Landed`` the pull returned. The record
    must describe a complete landing (size, SHA-256, key)."""
    if not (record.sha256 and record.key and record.size >= 0):
        raise VerificationFailed(f"the pull record of {record.path} does not describe a verified landing")
    remote = RemoteFile(record.remote_path, record.size, record.mtime)
    return Landed(record.key, record.url, record.size, record.sha256, "", remote, 0.0, False, _SEAL)


def check(store: ObjectStore, key: str, read: Digest, verify: Verify, *, reused: bool = False) -> Verified:
    """Check the object at ``key`` against what was read (see the module doc)."""
    info = store.info(key, checksum=verify == "checksum")
    url = store.url_of(key)
    if info is None:
        raise VerificationFailed(f"{url} is missing after its upload completed")
    if info.size != read.size:
        raise VerificationFailed(f"{url} has {info.size} bytes, {read.size} were read")
    if verify == "checksum":
        if info.checksum and read.checksum:
            _same_checksum(store, url, info.checksum, read)
            return Verified(key, read.size, read.sha256, info.etag, reused, _SEAL)
        if not isinstance(store, LocalFiles) or isinstance(store, ChecksumOnWrite):
            verify = "sha256"  # no checksum of the store's for this object: read it back
    if verify == "sha256":
        with store.open(key) as stream:
            digest = sha256_of(stream)
        if digest != read.sha256:
            raise VerificationFailed(f"{url} does not hash to the SHA-256 of the bytes read")
    return Verified(key, read.size, read.sha256, info.etag, reused, _SEAL)


def check_copy(store: ObjectStore, copied: ObjectInfo, read: Digest, verify: Verify, sha256_key: str) -> Verified:
    """Check a copy of an object already verified (``copied``, as ``copy_to`` returned it):
    its size and recorded SHA-256 (metadata ``sha256_key``), and with ``"checksum"`` the
    store's own checksum of the copy where it reports one."""
    url = store.url_of(copied.key)
    if copied.size != read.size or copied.metadata.get(sha256_key, read.sha256) != read.sha256:
        raise VerificationFailed(f"{url} does not match its verified temporary copy")
    if verify == "checksum" and copied.checksum and read.checksum:  # the copy, checked by the store
        _same_checksum(store, url, copied.checksum, read)
    return Verified(copied.key, read.size, read.sha256, copied.etag, False, _SEAL)


def _same_checksum(store: ObjectStore, url: str, stored: str, read: Digest) -> None:
    if stored != read.checksum:
        algorithm = store.checksum_algorithm if isinstance(store, ChecksumOnWrite) else "checksum"
        raise VerificationFailed(
            f"{url}: the store's {algorithm} of the object is {stored}, the bytes read give {read.checksum}"
        )


__all__ = [
    "Digest",
    "Digester",
    "Landed",
    "Verified",
    "check",
    "check_copy",
    "digest_of",
    "landed",
    "landed_from_record",
]
