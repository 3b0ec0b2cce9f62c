"""Remote file names: the server's exact bytes, and the safe text and staging key made of them.

SFTP v3 names are bytes, and OpenSSH sends whatever its file system holds: a bank whose
server writes Latin-1 sends ``caf\\xe9.ach``, which is not UTF-8 (paramiko's ``listdir_attr``
decodes every name as UTF-8 and raises for the whole directory). So:

- in memory a remote path is a ``str`` in which each byte that is not part of valid UTF-8 is
  kept as a lone surrogate (Python's ``surrogateescape``, as ``os.fsdecode`` does): lossless,
  and a UTF-8 name is just its text. :func:`encode` gives the exact bytes back; every request
  to the server (open, stat, rename, remove) is made with them;
- wherever a name leaves the process as text (staging key, report, XCom, logs, ledger) it is
  :func:`text`: a UTF-8 name unchanged; in a name that is not UTF-8, each undecodable byte and
  each ``%`` written ``%XX``, so ``urllib.parse.unquote_to_bytes`` gives the exact bytes back
  (``caf\\xe9.ach`` -> ``caf%E9.ach``). Lone surrogates cannot be encoded as UTF-8, so they
  must never reach JSON, msgpack (Airflow's XCom) or S3;
- the object metadata ``bankgate-remote-path`` is the exact path, which every store writes
  percent-encoded once as its bytes and reads back as :func:`text` (``bankgate.store.encoding``);
- a JSON record (XCom pointer, pull ledger) carries ``path`` (the text) and, for a name that
  is not UTF-8 only, ``raw_path`` (the quoted bytes) from which the exact path is rebuilt
  (:func:`to_fields`, :func:`from_fields`).

Names a server sends are untrusted: the staging key is built only from a path below the listed
directory that passes the archive members' rule (``bankgate.archives.names.normalise``: no
``..``, no absolute path or drive, no control character, bounded length), and the whole key
must fit S3's 1,024 bytes (:func:`destination_key`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_to_bytes

from bankgate.archives.names import UnsafeName, normalise
from bankgate.store.encoding import as_text, is_utf8

if TYPE_CHECKING:
    from bankgate.sftp.listing import RemoteFile

__all__ = [
    "MAX_KEY_BYTES",
    "UnsafeName",
    "decode",
    "destination_key",
    "encode",
    "from_fields",
    "quoted",
    "staging_name",
    "text",
    "to_fields",
]

#: S3's limit on an object key, in UTF-8 bytes (GCS allows as much): no staging key is longer.
MAX_KEY_BYTES = 1024


def decode(raw: bytes) -> str:
    """A name or path as the server sent it, as a lossless ``str``."""
    return raw.decode("utf-8", "surrogateescape")


def encode(path: str) -> bytes:
    """The exact bytes of a remote path, for a request to the server."""
    return path.encode("utf-8", "surrogateescape")


def text(path: str) -> str:
    """``path`` as text safe to store, send and log (see the module doc): unchanged if UTF-8
    (``encoding.as_text``: the stores read metadata back the same way)."""
    return as_text(path)


def quoted(path: str) -> str:
    """The percent-encoded bytes of ``path`` (``/`` kept): a record's ``raw_path``."""
    return quote(encode(path), safe="/")


def to_fields(path: str) -> dict[str, str]:
    """``{"path": text}``, plus ``"raw_path"`` (the quoted bytes) when the name is not UTF-8."""
    return {"path": text(path)} if is_utf8(path) else {"path": text(path), "raw_path": quoted(path)}


def from_fields(fields: Mapping[str, object]) -> str:
    """The exact path :func:`to_fields` wrote."""
    raw = fields.get("raw_path")
    return decode(unquote_to_bytes(str(raw))) if raw else str(fields["path"])


def staging_name(relative: str) -> str:
    """The staging key's part for a path below the listed directory: :func:`text`, checked by
    the archive members' rule. Raises UnsafeName."""
    return normalise(text(relative))


def destination_key(prefix: str, remote: RemoteFile, directory: str, day: date | None = None) -> str:
    """``<prefix><YYYY-MM-DD>/<staging name of the path below the listed directory>``; the day
    defaults to the remote mtime's UTC date. Raises UnsafeName for an unsafe name or a key
    longer than ``MAX_KEY_BYTES``."""
    root = directory.rstrip("/") or "/"
    if not remote.path.startswith(root.rstrip("/") + "/"):
        raise UnsafeName(f"path is not below the listed directory {root}")
    name = staging_name(posixpath.relpath(remote.path, root))
    when = day or datetime.fromtimestamp(remote.mtime, UTC).date()
    key = f"{prefix}{when.isoformat()}/{name}"
    if len(key.encode()) > MAX_KEY_BYTES:
        raise UnsafeName(f"its staging key would be {len(key.encode())} bytes (at most {MAX_KEY_BYTES})")
    return key
