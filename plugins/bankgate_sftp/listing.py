"""What is on the server: regular files in the bank's directories, filtered by glob patterns.

Only regular files are returned: directories (unless recursing), symlinks, devices and sockets
are skipped, so a link can never make the gateway pull something outside the bank's folder.

Names are read as the bytes the server sent (:func:`entries`), never decoded strictly: one
name that is not UTF-8 must not make a whole directory unreadable (see ``names``).
"""

from __future__ import annotations

import fnmatch
import posixpath
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError

from plugins.bankgate_sftp import names


@dataclass(frozen=True, order=True)
class RemoteFile:
    """A regular file as listed: absolute path, size in bytes, mtime in whole seconds (SFTP v3).

    ``path`` keeps bytes that are not UTF-8 as surrogates (``names``): use ``raw`` to ask the
    server for it, ``text`` to show or store it, ``to_json`` to send it to another task."""

    path: str
    size: int
    mtime: int

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def raw(self) -> bytes:
        return names.encode(self.path)

    @property
    def text(self) -> str:
        return names.text(self.path)

    def to_json(self) -> dict[str, Any]:
        return {**names.to_fields(self.path), "size": self.size, "mtime": self.mtime}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RemoteFile:
        return cls(names.from_fields(raw), int(raw["size"]), int(raw["mtime"]))


def entries(sftp: paramiko.SFTPClient, directory: str) -> list[tuple[str, paramiko.SFTPAttributes]]:
    """(name, attributes) of each entry of ``directory`` but ``.`` and ``..``, the name as the
    server's bytes (``names.decode``). paramiko's ``listdir_attr`` decodes names as strict
    UTF-8, so one Latin-1 name raises for the whole directory; this reads them as bytes."""
    kind, msg = sftp._request(CMD_OPENDIR, names.encode(directory))
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    handle = msg.get_binary()
    found: list[tuple[str, paramiko.SFTPAttributes]] = []
    try:
        while True:
            try:
                kind, msg = sftp._request(CMD_READDIR, handle)
            except EOFError:  # the end of the directory
                break
            if kind != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                name = names.decode(msg.get_string())
                msg.get_string()  # the "longname" (ls -l line): not used
                attrs = paramiko.SFTPAttributes._from_msg(msg, names.text(name))
                if name not in (".", ".."):
                    found.append((name, attrs))
    finally:
        sftp._request(CMD_CLOSE, handle)
    return found


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
        for name, attrs in entries(sftp, current):
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
            attrs = sftp.lstat(f.raw)
        except FileNotFoundError:
            now[f.path] = None
            continue
        regular = stat.S_ISREG(attrs.st_mode or 0)
        now[f.path] = RemoteFile(f.path, int(attrs.st_size or 0), int(attrs.st_mtime or 0)) if regular else None
    return now
