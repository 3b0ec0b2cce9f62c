"""Which kind of file is this? Decided by content (magic bytes, record structure), never by name.

Bank files arrive under names like ``ACH_0001.txt`` or ``download(3)``; the only thing to
trust is the first few kilobytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import IO, Any

#: How much of a file detection looks at.
HEAD_BYTES = 8192

ZIP, GZIP, TAR, PGP, PDF, NACHA, BAI2, UNKNOWN = "zip", "gzip", "tar", "pgp", "pdf", "nacha", "bai2", "unknown"
CONTAINERS = frozenset({ZIP, GZIP, TAR, PGP})

_PGP_ARMOR = re.compile(rb"^\s*-----BEGIN PGP (MESSAGE|SIGNED MESSAGE)-----")
# OpenPGP packet tags that can start an encrypted or signed message: public-key / symmetric
# session key (1, 3), one-pass signature (4), signature (2), compressed data (8).
_PGP_TAGS = frozenset({1, 2, 3, 4, 8})
#: What the body of each such packet starts with: a version number, or for compressed data
#: the algorithm (0 uncompressed, 1 ZIP, 2 ZLIB, 3 BZip2).
_PGP_FIRST_BYTE = {1: {3, 6}, 2: {3, 4, 5, 6}, 3: {4, 5, 6}, 4: {3, 6}, 8: {0, 1, 2, 3}}


#: Codes of the failures found before any parser runs, for the CLI's ``--errors json`` and the
#: pipeline's ``.error.json`` alike (parser codes are in ``parsers/<format>/rules.py``).
UNREADABLE, NOT_A_BANK_FILE = "input.unreadable", "input.not_a_bank_file"


def read_head(stream: IO[bytes]) -> bytes:
    """The first bytes of a seekable stream, leaving its position unchanged."""
    position = stream.tell()
    head = stream.read(HEAD_BYTES)
    stream.seek(position)
    return head


def detect(head: bytes, layout_dirs: Iterable[str | os.PathLike[str]] = ()) -> str:
    """The type of a file from its first bytes: a container, a bank format, or ``unknown``.

    Layout-described fixed-width files come back as ``fixed:<layout name>``; user layouts are
    looked for in ``layout_dirs``, then the shipped ones.
    """
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return ZIP
    if head.startswith(b"\x1f\x8b"):
        return GZIP
    if len(head) > 262 and head[257:262] == b"ustar":
        return TAR
    if b"%PDF-" in head[:1024]:
        return PDF
    if _looks_like_pgp(head):
        return PGP
    if looks_like_nacha(head):
        return NACHA
    from bankgate.parsers.bai2 import looks_like_bai2

    if looks_like_bai2(head):
        return BAI2
    from bankgate.parsers.fixed import match_layout

    layout = match_layout(head, layout_dirs)
    if layout:
        return f"fixed:{layout}"
    return UNKNOWN


def classify_pdf(stream: IO[bytes], **options: Any) -> str:
    """An insurance PDF's type: ``acord25``, ``declarations`` or ``insurance-pdf-unknown``.

    Unlike ``detect`` this reads the document (its first pages, in a bounded worker process,
    with OCR for a scan), because a PDF's kind is in its text, not its first bytes. ``options``
    are ``bankgate.parsers.insurance.classify_pdf``'s (limits, template directories, tesseract).
    """
    from bankgate.parsers.insurance import classify_pdf as classify

    return classify(stream, **options)


def looks_like_nacha(head: bytes) -> bool:
    """A file header record: '101', record size '094' at 35-37, blocking factor '10', format '1'.
    Or, for a sender that leaves the file header out (a rule a bank may waive,
    ``nacha.file.header_missing``), a batch header: '5', a service class code, a SEC code at
    51-53, and an entry detail or batch control record 94 bytes on."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n ")
    first = text[:94]
    if len(first) >= 40 and first[:3] == b"101" and first[34:40] == b"094101":
        return True
    return _HEADERLESS.match(text) is not None


def _headerless_batch() -> re.Pattern[bytes]:
    from bankgate.parsers.nacha import codes

    classes = b"|".join(str(c).encode() for c in sorted(codes.SERVICE_CLASS_CODES))
    secs = b"|".join(sorted(c.encode() for c in codes.SEC_CODES))
    return re.compile(rb"5(?:" + classes + rb").{46}(?:" + secs + rb").{41}\r?\n?[68]", re.S)


_HEADERLESS = _headerless_batch()


def _looks_like_pgp(head: bytes) -> bool:
    """ASCII armor, or a binary OpenPGP packet whose header and first body byte make sense:
    a plausible tag, a length that fits, and the version or algorithm byte that packet must
    start with. A lone high first byte is not enough (plenty of binary files have one)."""
    if _PGP_ARMOR.match(head):
        return True
    if len(head) < 3 or not head[0] & 0x80:
        return False
    first = head[0]
    if first & 0x40:  # new packet format: tag in the low 6 bits, then a 1/2/5-byte length
        tag = first & 0x3F
        length_byte = head[1]
        body = 2 if length_byte < 192 else 3 if length_byte < 224 else 6 if length_byte == 255 else 2
    else:  # old format: tag in bits 2-5, length type in bits 0-1
        tag = (first >> 2) & 0x0F
        body = {0: 2, 1: 3, 2: 5, 3: 1}[first & 0x03]
    if tag not in _PGP_TAGS or body >= len(head):
        return False
    return head[body] in _PGP_FIRST_BYTE[tag]
