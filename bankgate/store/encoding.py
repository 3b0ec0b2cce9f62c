"""What bankgate writes into a store made to fit what the store takes: metadata and key names.

Metadata. S3 takes only ASCII in user metadata (and at most 2 KB of it, keys and values
counted together); a key with ``é`` in it would otherwise make every copy that records its
name fail. So every store, not only S3, holds each value percent-encoded, once, as its bytes
(RFC 3986, as ``urllib.parse.quote``): printable ASCII stays as it is, except ``%`` itself
(``%25``); anything else becomes ``%XX`` escapes (``é`` -> ``%C3%A9``, a space stays a space).
A value may hold bytes that are not UTF-8, kept as lone surrogates (``surrogateescape``, as a
remote file name is: ``bankgate.sftp.names``); they are written as those exact bytes
(``caf\udce9`` -> ``caf%E9``). The stores decode on reading, so callers see what they wrote,
except that a value whose bytes are not UTF-8 is read back as its text (:func:`as_text`:
``caf%E9``), which ``urllib.parse.unquote_to_bytes`` turns into the exact bytes and which JSON
and logs can carry. A value too long for the store's budget is cut at a character boundary and
ends in ``…`` (``%E2%80%A6``); the ledger keeps the whole one.

Key names. S3 and GCS keys are at most 1,024 bytes of UTF-8; a local file name is at most
255 bytes. A key bankgate derives (archive, quarantine, output) from a staging key that is
already at the limit would be refused, and the file would be retried forever. ``fit_key``
leaves a key that fits as it is, and otherwise cuts it, ending the name in ``~`` and 16 hex
digits of the whole key's SHA-256 (then its own extension): deterministic, and two long keys
that share their beginning still get different names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import quote, unquote

#: Printable ASCII but '%': what a metadata value keeps unescaped.
_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")
_ELLIPSIS = quote("…")
_DIGEST_HEX = 16
_MAX_EXTENSION = 10
_LOW, _HIGH = 0xDC80, 0xDCFF  # the surrogates ``surrogateescape`` decodes bytes 0x80-0xFF to


def is_utf8(value: str) -> bool:
    """Whether ``value``'s bytes were valid UTF-8 (no byte kept as a lone surrogate)."""
    return not any(_LOW <= ord(c) <= _HIGH for c in value)


def as_text(value: str) -> str:
    """``value`` as text that encodes as UTF-8: unchanged if its bytes were UTF-8, else each
    byte kept as a surrogate and each ``%`` written ``%XX`` (``unquote_to_bytes`` inverts it)."""
    if is_utf8(value):
        return value
    return "".join(f"%{ord(c) - 0xDC00:02X}" if _LOW <= ord(c) <= _HIGH else "%25" if c == "%" else c for c in value)


def encode_value(value: str) -> str:
    return quote(value, safe=_SAFE, errors="surrogateescape")


def decode_value(stored: str) -> str:
    return as_text(unquote(stored, errors="surrogateescape"))


def encode_metadata(metadata: Mapping[str, str], max_bytes: int | None = None) -> dict[str, str]:
    """Metadata as stored: every value encoded; the longest cut, if need be, so that keys and
    values together stay within ``max_bytes``."""
    values = {name: str(value) for name, value in metadata.items()}
    encoded = {name: encode_value(value) for name, value in values.items()}
    excess = 0 if max_bytes is None else sum(len(k) + len(v) for k, v in encoded.items()) - max_bytes
    while excess > 0:
        name = max(encoded, key=lambda k: len(encoded[k]))
        cut = _shortened(values[name], len(encoded[name]) - excess)
        if len(cut) >= len(encoded[name]):
            raise ValueError(f"metadata {sorted(metadata)} does not fit in {max_bytes} bytes")
        excess -= len(encoded[name]) - len(cut)
        encoded[name], values[name] = cut, unquote(cut)
    return encoded


def _shortened(value: str, max_len: int) -> str:
    """The longest beginning of ``value`` whose encoding, with the ellipsis, is at most
    ``max_len`` long: whole characters only, never half an escape."""
    kept, used = [], len(_ELLIPSIS)
    for char in value:
        escaped = encode_value(char)
        if used + len(escaped) > max_len:
            break
        kept.append(escaped)
        used += len(escaped)
    return "".join(kept) + _ELLIPSIS


def decode_metadata(stored: Mapping[str, str]) -> dict[str, str]:
    """Metadata as written: the inverse of ``encode_metadata`` (bytes that are not UTF-8 as
    their text, see the module doc)."""
    return {name: decode_value(value) for name, value in stored.items()}


def fit_key(key: str, *, suffix: str = "", max_key_bytes: int, max_name_bytes: int | None = None) -> str:
    """``key + suffix`` if the store takes it, else ``key`` cut to fit (see the module doc),
    ``suffix`` kept whole."""
    whole = key + suffix
    names = whole.split("/")
    if len(whole.encode()) <= max_key_bytes and (
        max_name_bytes is None or all(len(n.encode()) <= max_name_bytes for n in names)
    ):
        return whole
    folders, name = key.rsplit("/", 1) if "/" in key else ("", key)
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode()) > _MAX_EXTENSION:
        stem, extension = name, ""
    tail = "~" + hashlib.sha256(key.encode()).hexdigest()[:_DIGEST_HEX] + ("." + extension if extension else "")
    tail += suffix
    parts = [_cut(f, max_name_bytes) for f in folders.split("/")] if folders else []
    room = max_key_bytes - len("/".join(parts).encode()) - (1 if parts else 0) - len(tail.encode())
    if max_name_bytes is not None:
        room = min(room, max_name_bytes - len(tail.encode()))
    while room < _DIGEST_HEX and parts:  # the folders alone are too long: shorten the longest
        longest = max(range(len(parts)), key=lambda i: len(parts[i].encode()))
        parts[longest] = _cut(parts[longest], max(len(parts[longest].encode()) - (_DIGEST_HEX - room), 1))
        room = max_key_bytes - len("/".join(parts).encode()) - 1 - len(tail.encode())
        if max_name_bytes is not None:
            room = min(room, max_name_bytes - len(tail.encode()))
    if room < 0:
        raise ValueError(f"no key of at most {max_key_bytes} bytes can be made from {key!r}")
    return "/".join([*parts, _cut(stem, room) + tail])


def _cut(text: str, max_bytes: int | None) -> str:
    """``text`` cut to at most ``max_bytes`` bytes of UTF-8, at a character boundary."""
    if max_bytes is None:
        return text
    return text.encode()[:max_bytes].decode("utf-8", errors="ignore")
