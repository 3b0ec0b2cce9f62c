"""Which remote files a bank pull considers: one selection, for the core's ``pull_bank`` and the
Airflow tasks alike (they used to filter names two ways, and disagreed).

A bank's remote directories are listed, with ``subfolders`` levels of folders below each (0:
the directory only; e.g. 1 for dated folders such as ``/outbound/2026-03-04/``). Done markers
are set aside; every other file is matched against the bank's patterns by :func:`matches`;
a matching file whose name cannot make a safe staging key (``names.destination_key``: no
``..``, no absolute path or drive, no control character, the key within 1,024 bytes) is
refused with the reason, never pulled, and reported by the run. The run's window, the ledger
and stability come after, in ``choice``.
"""

from __future__ import annotations

import fnmatch
import logging
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field

import paramiko

from bankgate.banks import BankConfig
from bankgate.sftp import names, stability
from bankgate.sftp.listing import RemoteFile, walk

log = logging.getLogger(__name__)


@dataclass
class Selection:
    """The outcome of one listing of a bank."""

    files: list[RemoteFile] = field(default_factory=list)  # data files matching the patterns, by path
    markers: list[RemoteFile] = field(default_factory=list)  # done markers: never pulled as data
    directory_of: dict[str, str] = field(default_factory=dict)  # path -> the remote directory it is below
    refused: dict[str, str] = field(default_factory=dict)  # text path -> why it is not pulled


def matches(relative: str, include: Sequence[str] = ("*",), exclude: Sequence[str] = ()) -> bool:
    """Whether a path below the listed directory is selected. A pattern without ``/`` matches
    the file name (at any depth); one with ``/`` matches the whole relative path, folder by
    folder (``2026-*/*.ach``: ``*`` never matches a ``/``). Case-sensitive, as the server's
    names are."""

    def hit(pattern: str) -> bool:
        if "/" not in pattern:
            return fnmatch.fnmatchcase(posixpath.basename(relative), pattern)
        parts, wanted = relative.split("/"), pattern.split("/")
        return len(parts) == len(wanted) and all(map(fnmatch.fnmatchcase, parts, wanted))

    return any(hit(p) for p in include) and not any(hit(p) for p in exclude)


def select_remote(sftp: paramiko.SFTPClient, bank: BankConfig, *, key_prefix: str = "") -> Selection:
    """List ``bank.remote_dirs`` and select what the bank pulls (see the module doc).
    ``key_prefix`` is the staging prefix the keys will have (it counts toward their length)."""
    chosen = Selection()
    listed: list[RemoteFile] = []
    for directory in bank.remote_dirs:
        files, refused = walk(sftp, directory, subfolders=bank.subfolders)
        chosen.refused.update(refused)
        for f in files:
            if f.path not in chosen.directory_of:  # a directory listed twice (or nested): the first
                chosen.directory_of[f.path] = directory
                listed.append(f)
    data, chosen.markers = stability.split_markers(sorted(listed), bank.stability)
    for f in data:
        directory = chosen.directory_of[f.path]
        if not matches(posixpath.relpath(f.path, directory.rstrip("/") or "/"), bank.include, bank.exclude):
            continue
        try:
            names.destination_key(key_prefix, f, directory)
        except names.UnsafeName as exc:
            chosen.refused[f.text] = f"unsafe name, not pulled: {exc}"
            continue
        chosen.files.append(f)
    for path, why in sorted(chosen.refused.items()):
        log.warning("%s: %r: %s", bank.name, path, why)
    return chosen


__all__ = ["Selection", "matches", "select_remote"]
