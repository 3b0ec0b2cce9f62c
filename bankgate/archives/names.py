"""Member names that cannot escape the scratch dir or confuse the routing.

A name is refused, never repaired: a bank archive holding ``../x`` or ``C:\\x`` was built by
a broken or hostile tool, and the person handling the quarantine needs to know.
"""

from __future__ import annotations

import re

from bankgate.archives.errors import UnsafeMember, label

#: Longer names are not bank files; they are what path-length attacks use.
MAX_NAME_CHARS = 1024

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_name(name: str, parent: tuple[str, ...]) -> str:
    """``name`` normalised (``/`` separators, no ``.`` or empty parts), or ``UnsafeMember``.

    Backslashes count as separators (Windows tools write them), so ``..\\x`` is caught too.
    Control characters are refused as well as NUL: they have no place in a file name and
    would forge lines in logs and quarantine reports.
    """
    where = (*parent, repr(name))
    if not name:
        raise UnsafeMember(f"{label(where)}: empty member name", member=where)
    if _CONTROL.search(name):
        raise UnsafeMember(f"{label(where)}: member name contains NUL or a control character", member=where)
    if len(name) > MAX_NAME_CHARS:
        raise UnsafeMember(
            f"{label(parent)}: member name of {len(name)} characters (at most {MAX_NAME_CHARS})", member=where
        )
    if name.startswith(("/", "\\")):
        raise UnsafeMember(f"{label(where)}: absolute member path", member=where)
    if _DRIVE.match(name):
        raise UnsafeMember(f"{label(where)}: member path with a drive letter", member=where)
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeMember(f"{label(where)}: member path climbs out with '..'", member=where)
    if not parts:
        raise UnsafeMember(f"{label(where)}: member name is only separators", member=where)
    return "/".join(parts)
