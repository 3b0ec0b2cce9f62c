"""What is on the server: regular files in the bank's directories, filtered by glob patterns.

Only regular files are returned: directories (unless recursing), symlinks, devices and sockets
are skipped, so a link can never make the gateway pull something outside the bank's folder.
"""

from __future__ import annotations

import fnmatch
import posixpath
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import paramiko


@dataclass(frozen=True, order=True)
class RemoteFile:
    """A regular file as listed: absolute path, size in bytes, mtime in whole seconds (SFTP v3)."""

    path: str
    size: int
    mtime: int

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


def matches(relative: str, include: Sequence[str] = ("*",), exclude: Sequence[str] = ()) -> bool:
    """Glob patterns without a ``/`` match the file name; with one, the path below the listed
    directory. Case-sensitive, as the server's names are."""

    def hit(pattern: str) -> bool:
        subject = relative if "/" in pattern else posixpath.basename(relative)
        return fnmatch.fnmatchcase(subject, pattern)

    return any(hit(p) for p in include) and not any(hit(p) for p in exclude)


def list_files(
    sftp: paramiko.SFTPClient,
    directory: str,
    *,
    include: Sequence[str] = ("*",),
    exclude: Sequence[str] = (),
    recursive: bool = False,
) -> list[RemoteFile]:
    """Regular files in ``directory`` (and below, if ``recursive``) matching the patterns, by path."""
    found: list[RemoteFile] = []
    root = directory.rstrip("/") or "/"
    pending = [root]
    while pending:
        current = pending.pop()
        for attrs in sftp.listdir_attr(current):
            name = attrs.filename
            if name in (".", ".."):
                continue
            path = posixpath.join(current, name)
            mode = attrs.st_mode or 0
            if stat.S_ISDIR(mode):
                if recursive:
                    pending.append(path)
                continue
            if not stat.S_ISREG(mode):
                continue  # symlinks, devices, sockets, fifos
            relative = posixpath.relpath(path, root)
            if matches(relative, include, exclude):
                found.append(RemoteFile(path, int(attrs.st_size or 0), int(attrs.st_mtime or 0)))
    return sorted(found)


def restat(sftp: paramiko.SFTPClient, files: Iterable[RemoteFile]) -> dict[str, RemoteFile | None]:
    """The same files stat'ed again now (None: gone or no longer a regular file)."""
    now: dict[str, RemoteFile | None] = {}
    for f in files:
        try:
            attrs = sftp.lstat(f.path)
        except FileNotFoundError:
            now[f.path] = None
            continue
        regular = stat.S_ISREG(attrs.st_mode or 0)
        now[f.path] = RemoteFile(f.path, int(attrs.st_size or 0), int(attrs.st_mtime or 0)) if regular else None
    return now
