"""What happens to the remote file after a pull: keep it, delete it, or move it to a folder.

Every action takes a :class:`~bankgate.sftp.verify.Landed`, which only exists once
the landed copy has been verified, so nothing here can run on an unverified pull. Before
touching the file, its size and mtime are checked again: a file the bank replaced after our
pull is left alone (the next run pulls the new one). A done-marker goes the same way as its
file, after it.
"""

from __future__ import annotations

import logging
import posixpath
import stat
import time
from collections.abc import Sequence

import paramiko

from bankgate.banks import Delete, Keep, MoveTo, PostPull
from bankgate.sftp import names
from bankgate.sftp.connection import SftpSession
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.verify import Landed

log = logging.getLogger(__name__)


def _makedirs(sftp: paramiko.SFTPClient, folder: str) -> None:
    missing = []
    current = folder
    while current not in ("", "/"):
        try:
            if stat.S_ISDIR(sftp.stat(current).st_mode or 0):
                break
            raise NotADirectoryError(current)
        except FileNotFoundError:
            missing.append(current)
            current = posixpath.dirname(current)
    for path in reversed(missing):
        try:
            sftp.mkdir(path)
        except OSError:
            if not stat.S_ISDIR(sftp.stat(path).st_mode or 0):  # made by a concurrent worker: fine
                raise


def _move(sftp: paramiko.SFTPClient, path: str, folder: str) -> str:
    """Rename ``path`` into ``folder`` under its exact name (bytes); returns the new path."""
    target = posixpath.join(folder, posixpath.basename(path))
    try:
        sftp.stat(names.encode(target))
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = f"{target}.{stamp}"  # never overwrite an earlier file in the archive folder
    except FileNotFoundError:
        pass
    sftp.rename(names.encode(path), names.encode(target))
    return target


def _companion(sftp: paramiko.SFTPClient, action: PostPull, marker: RemoteFile) -> None:
    try:
        if isinstance(action, Delete):
            sftp.remove(marker.raw)
        elif isinstance(action, MoveTo):
            _move(sftp, marker.path, action.folder)
    except FileNotFoundError:
        pass


def apply(session: SftpSession, landed: Landed, action: PostPull, *, markers: Sequence[RemoteFile] = ()) -> str:
    """Carry out ``action`` on the file behind ``landed``; returns what was done, for the ledger."""
    if not isinstance(landed, Landed):
        raise TypeError("post-pull actions need the Landed that pull_file returned after verification")
    if isinstance(action, Keep):
        return "kept"
    remote = landed.remote
    sftp = session.sftp
    try:
        now = sftp.lstat(remote.raw)
    except FileNotFoundError:
        return "already gone"
    if not stat.S_ISREG(now.st_mode or 0) or (int(now.st_size or 0), int(now.st_mtime or 0)) != (
        remote.size,
        remote.mtime,
    ):
        log.warning("%s changed after it was pulled; left in place", remote.text)
        return "left in place: changed after the pull"
    if isinstance(action, Delete):
        sftp.remove(remote.raw)
        done = "deleted"
    elif isinstance(action, MoveTo):
        _makedirs(sftp, action.folder)
        done = f"moved to {names.text(_move(sftp, remote.path, action.folder))}"
    else:
        raise TypeError(f"unknown post-pull action {action!r}")
    for marker in markers:
        _companion(sftp, action, marker)
    log.info("%s: %s", remote.text, done)
    return done
