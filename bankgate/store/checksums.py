"""The whole-object checksums the cloud stores compute themselves, computed here too.

S3 (with a full-object CRC-32 requested at upload) and GCS (CRC-32C, always) compute a checksum
of every object from the bytes they received and report it with the object's metadata. A
writer that computes the same checksum over the bytes it sent can confirm the upload by
comparing the two: the store's copy is checked by the store's own code, on the far side of
the network, without reading the object back. Both are CRCs (cheap: ~6 GiB/s for CRC-32 with
zlib, more for CRC-32C), so this costs a fraction of the SHA-256 a pull computes anyway.

Values are lowercase hex of the big-endian 32-bit value (S3 and GCS send base64 of those four
bytes), so they read the same in logs and error messages from either store.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Protocol


class Checksum(Protocol):
    name: str

    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def hexdigest(self) -> str: ...


class Crc32:
    """CRC-32 (the zlib polynomial), S3's ``ChecksumCRC32``."""

    name = "crc32"

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._value = zlib.crc32(data, self._value)  # releases the GIL for large buffers

    def hexdigest(self) -> str:
        return f"{self._value:08x}"


class Crc32c:
    """CRC-32C (Castagnoli), GCS's ``crc32c``, with google-crc32c's hardware implementation."""

    name = "crc32c"

    def __init__(self) -> None:
        import google_crc32c

        self._checksum = google_crc32c.Checksum()

    def update(self, data: bytes | bytearray | memoryview) -> None:
        # Its C extension takes only bytes (not a memoryview): one copy, at ~18 GiB/s.
        self._checksum.update(data if isinstance(data, bytes) else bytes(data))

    def hexdigest(self) -> str:
        return self._checksum.digest().hex()


ALGORITHMS: dict[str, type[Crc32] | type[Crc32c]] = {"crc32": Crc32, "crc32c": Crc32c}


def new_checksum(algorithm: str | None) -> Checksum | None:
    """A running checksum of the named algorithm; None for None (a store that computes none)
    and for CRC-32C without google-crc32c's C extension (its pure-Python fallback runs at a few
    MB/s: better no checksum, and a read-back, than a pull at that speed)."""
    if algorithm is None:
        return None
    if algorithm == "crc32c":
        import google_crc32c

        if google_crc32c.implementation != "c":
            return None
    return ALGORITHMS[algorithm]()


def from_base64(value: str | None) -> str:
    """A store's base64 checksum as hex; "" for a missing or malformed one, or a composite
    S3 checksum (``...-<parts>``), which is a checksum of part checksums, not of the bytes."""
    if not value or "-" in value:
        return ""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return raw.hex() if len(raw) == 4 else ""
