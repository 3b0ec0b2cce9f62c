"""Names that cannot escape a directory or confuse the routing: archive members and the file
names an SFTP server sends, by one rule.

A name is refused, never repaired: a bank archive holding ``../x`` or ``C:\\x``, or a server
listing such a name, was built by a broken or hostile tool, and the person handling the
quarantine or the pull report needs to know.
"""

from __future__ import annotations

import re

from bankgate.archives.errors import UnsafeMember, label

#: Longer names are not bank files; they are what path-length attacks use.
MAX_NAME_CHARS = 1024

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsafeName(ValueError):
    """A name :func:`normalise` refuses; the message says why, without the name."""


def normalise(name: str) -> str:
    """``name`` normalised (``/`` separators, no ``.`` or empty parts), or ``UnsafeName``.

    Backslashes count as separators (Windows tools write them), so ``..\\x`` is caught too.
    Control characters are refused as well as NUL: they have no place in a file name and
    would forge lines in logs and quarantine reports.
    """
    if not name:
        raise UnsafeName("name is empty")
    if _CONTROL.search(name):
        raise UnsafeName("name contains NUL or a control character")
    if len(name) > MAX_NAME_CHARS:
        raise UnsafeName(f"name of {len(name)} characters (at most {MAX_NAME_CHARS})")
    if name.startswith(("/", "\\")):
        raise UnsafeName("path is absolute")
    if _DRIVE.match(name):
        raise UnsafeName("path starts with a drive letter")
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeName("path climbs out with '..'")
    if not parts:
        raise UnsafeName("name is only separators")
    return "/".join(parts)


def safe_name(name: str, parent: tuple[str, ...]) -> str:
    """An archive member's name, :func:`normalise`\\d, or ``UnsafeMember`` naming its lineage."""
    try:
        return normalise(name)
    except UnsafeName as exc:
        where = (*parent, repr(name))
        shown = where if len(name) <= MAX_NAME_CHARS else parent  # a huge name would swamp the reason
        raise UnsafeMember(f"{label(shown)}: member {exc}", member=where) from None
