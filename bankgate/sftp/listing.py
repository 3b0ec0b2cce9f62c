"""What is on the server: regular files in the bank's directories and, to a depth, below.

Only regular files are returned: directories, symlinks, devices and sockets are skipped, so a
link can never make the gateway pull something outside the bank's folder.

Names are read as the bytes the server sent (:func:`entries`), never decoded strictly: one
name that is not UTF-8 must not make a whole directory unreadable (see ``names``).
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError

from bankgate.sftp import names


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


def walk(sftp: paramiko.SFTPClient, directory: str, *, subfolders: int = 0) -> tuple[list[RemoteFile], dict[str, str]]:
    """Regular files in ``directory`` and up to ``subfolders`` levels of folders below it, by
    path, and the entries refused (text path -> why). A name must be one path component: a
    server that sends ``/`` or NUL in a name is broken or hostile, and what it names is not
    touched. Symlinks (to files or folders), devices, sockets and fifos are skipped."""
    found: list[RemoteFile] = []
    refused: dict[str, str] = {}
    root = directory.rstrip("/") or "/"
    pending = [(root, 0)]
    while pending:
        current, level = pending.pop()
        for name, attrs in entries(sftp, current):
            path = posixpath.join(current, name)
            if not name or "/" in name or "\0" in name:
                refused[names.text(current.rstrip("/") + "/" + name)] = (
                    f"the server sent the name {names.text(name)!r}: a name is one path component, without '/' or NUL"
                )
                continue
            mode = attrs.st_mode or 0
            if stat.S_ISDIR(mode):
                if level < subfolders:
                    pending.append((path, level + 1))
                continue
            if stat.S_ISREG(mode):
                found.append(RemoteFile(path, int(attrs.st_size or 0), int(attrs.st_mtime or 0)))
    return sorted(found), refused


def list_files(sftp: paramiko.SFTPClient, directory: str, *, subfolders: int = 0) -> list[RemoteFile]:
    """The regular files :func:`walk` finds, by path (what a bank pull considers is
    ``selection.select_remote``'s to say)."""
    return walk(sftp, directory, subfolders=subfolders)[0]
