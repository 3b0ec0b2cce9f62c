"""Checking a whole zip before a byte of any member is inflated.

The central directory is what an attacker controls most cheaply, so nothing in it is taken
on trust: the entry count is verified by walking the directory before ``zipfile`` builds an
object per entry, every name and type is checked, and the byte range of every entry (its
local header, name, extra field and compressed data) must lie apart from every other one.
That last check is what defeats the overlapping-entry bomb ("a better zip bomb"), where
thousands of directory entries point at one highly compressed block.
"""

from __future__ import annotations

import stat
import struct
import zipfile
from dataclasses import dataclass
from typing import IO

from bankgate.archives.errors import (
    ArchiveBomb,
    ArchiveError,
    CorruptArchive,
    EncryptedMember,
    UnsafeMember,
    UnsupportedMember,
    label,
)
from bankgate.archives.limits import Budget, UnpackLimits
from bankgate.archives.names import safe_name

_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # local file header, 30 bytes
_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL_SIZE = 46
_CENTRAL_SIG = b"PK\x01\x02"
_ZIP64_TRAILER = 56 + 20  # zip64 end-of-central-directory record + locator
# Indices into zipfile's end-of-central-directory record.
_ECD_SIGNATURE, _ECD_ENTRIES_TOTAL, _ECD_SIZE, _ECD_LOCATION = 0, 4, 5, 9
_AES = 99  # WinZip AES: the method id marks an encrypted member
_METHODS = {9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstandard", 95: "xz", 98: "ppmd"}
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """A checked entry: normalised ``name`` and where its compressed data starts."""

    name: str
    info: zipfile.ZipInfo
    data_start: int

    @property
    def is_dir(self) -> bool:
        return self.info.orig_filename.endswith(("/", "\\"))


def scan_zip(fp: IO[bytes], path: tuple[str, ...], budget: Budget) -> list[ZipEntry]:
    """All entries of the zip in ``fp`` (seekable), in directory order, after every check.

    Raises an ``ArchiveError`` for the first problem found; nothing is inflated.
    """
    _count_central_directory(fp, path, budget)
    try:
        with zipfile.ZipFile(fp) as zf:  # closing it leaves fp open: fp was passed in
            infos = zf.infolist()
            start_dir = zf.start_dir
    except NotImplementedError as error:  # e.g. "zip file version 6.4": a newer format than zipfile reads
        raise UnsupportedMember(f"{label(path)}: {error}", member=path) from error
    budget.count_entries(len(infos), path)
    limits = budget.limits
    seen: dict[str, str] = {}
    names = []
    declared_total = 0
    for info in infos:
        name = _check_entry(info, path, limits)
        names.append(name)
        if name in seen:
            where = (*path, info.orig_filename)
            raise UnsafeMember(
                f"{label(where)}: duplicate member name (same as {seen[name]!r}); which copy wins is ambiguous",
                member=where,
            )
        seen[name] = info.orig_filename
        declared_total += info.file_size
    if declared_total > limits.max_total_bytes:
        raise ArchiveBomb(
            f"{label(path)}: members declare {declared_total:,} bytes in total (at most {limits.max_total_bytes:,})",
            member=path,
            limit="max_total_bytes",
            actual=declared_total,
            allowed=limits.max_total_bytes,
        )
    starts = _check_layout(fp, infos, start_dir, path)
    return [ZipEntry(name, info, starts[id(info)]) for name, info in zip(names, infos)]


def _count_central_directory(fp: IO[bytes], path: tuple[str, ...], budget: Budget) -> None:
    """Refuse too many entries before ``zipfile`` allocates an object for each.

    Both the declared count and the records actually present are checked: ``zipfile``
    reads as many records as fit in the directory's declared size, whatever the count says.
    """
    start_of_zip = fp.tell()
    head = fp.read(len(_LOCAL_SIG))
    # The stdlib's own end-record (and zip64 locator) parser: private, so not in its type stubs.
    endrec = zipfile._EndRecData(fp)  # type: ignore[attr-defined]
    if endrec is None:
        if head == _LOCAL_SIG:  # it starts like a zip: the end was lost, most likely in transfer
            size = fp.seek(0, 2) - start_of_zip
            raise CorruptArchive(
                f"{label(path)}: truncated: the zip ends after {size:,} bytes without its central directory "
                "(cut short in transfer?); ask for it to be sent again",
                member=path,
            )
        raise CorruptArchive(f"{label(path)}: not a zip file (no end of central directory record)", member=path)
    budget.check_entries(endrec[_ECD_ENTRIES_TOTAL], path, "as the end record declares")
    size = endrec[_ECD_SIZE]
    start = endrec[_ECD_LOCATION] - size
    if endrec[_ECD_SIGNATURE] == zipfile.stringEndArchive64:  # type: ignore[attr-defined]  # private too
        start -= _ZIP64_TRAILER
    if start < 0 or size < 0:
        raise CorruptArchive(f"{label(path)}: central directory offset or size is out of range", member=path)
    fp.seek(start)
    walked = count = 0
    while walked < size:
        record = fp.read(_CENTRAL_SIZE)
        if len(record) < _CENTRAL_SIZE or record[:4] != _CENTRAL_SIG:
            return  # damaged: zipfile reports it with its own message
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", record, 28)
        variable = name_len + extra_len + comment_len
        fp.seek(variable, 1)
        walked += _CENTRAL_SIZE + variable
        count += 1
        budget.check_entries(count, path, "as listed in the central directory")


def _check_entry(info: zipfile.ZipInfo, parent: tuple[str, ...], limits: UnpackLimits) -> str:
    """The entry's safe name, after its name, type, encryption, method and declared sizes pass."""
    where = (*parent, info.orig_filename)
    name = safe_name(info.orig_filename, parent)
    if info.flag_bits & _FLAG_ENCRYPTED or info.compress_type == _AES:
        raise EncryptedMember(
            f"{label(where)}: member is encrypted (password-protected zip); send it unencrypted or PGP-encrypted",
            member=where,
        )
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        raise UnsafeMember(f"{label(where)}: member is a symbolic link", member=where)
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeMember(f"{label(where)}: member is a special file (mode {file_type:#o})", member=where)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        method = _METHODS.get(info.compress_type, "unknown")
        raise UnsupportedMember(
            f"{label(where)}: compression method {info.compress_type} ({method}) is not supported; "
            "only stored and deflate are",
            member=where,
        )
    if info.orig_filename.endswith(("/", "\\")) and (info.file_size or info.compress_size):
        raise CorruptArchive(f"{label(where)}: directory entry carries data", member=where)
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise CorruptArchive(
            f"{label(where)}: stored member declares {info.file_size:,} bytes in {info.compress_size:,}", member=where
        )
    _check_declared_size(info, where, limits)
    return name


def _check_declared_size(info: zipfile.ZipInfo, where: tuple[str, ...], limits: UnpackLimits) -> None:
    """Fail early on what the header admits to; the real bytes are metered again anyway."""
    size = info.file_size
    if size > limits.max_member_bytes:
        raise ArchiveBomb(
            f"{label(where)}: declares {size:,} bytes (at most {limits.max_member_bytes:,} per member)",
            member=where,
            limit="max_member_bytes",
            actual=size,
            allowed=limits.max_member_bytes,
        )
    packed = max(info.compress_size, 1)
    if size > limits.ratio_floor_bytes and size > limits.max_ratio * packed:
        raise ArchiveBomb(
            f"{label(where)}: declares {size:,} bytes from {packed:,} compressed, {size / packed:,.0f}:1 "
            f"(at most {limits.max_ratio:,.0f}:1)",
            member=where,
            limit="max_ratio",
            actual=round(size / packed, 1),
            allowed=limits.max_ratio,
        )


def _check_layout(fp: IO[bytes], infos: list[zipfile.ZipInfo], start_dir: int, path: tuple[str, ...]) -> dict[int, int]:
    """Where each entry's data starts, after proving no two entries share a byte.

    Each entry spans its local header, name, extra field and compressed data; the spans,
    taken in offset order, must not overlap one another nor reach into the central
    directory. The local header must also agree with the directory on name, method and
    encryption, so the data read is the data that was checked. A disagreement is reported
    only once every span has been checked: entries sharing one local header disagree with it
    by construction, and whichever of them comes first must not turn a bomb into "corrupt".
    """
    starts: dict[int, int] = {}
    disagreement: ArchiveError | None = None  # the first local header that contradicts its entry
    previous: tuple[str, int] | None = None  # name and end of the previous span
    for info in sorted(infos, key=lambda i: i.header_offset):
        where = (*path, info.orig_filename)
        offset = info.header_offset
        if previous is not None and offset < previous[1]:
            raise ArchiveBomb(
                f"{label(where)}: entry at offset {offset:,} overlaps {previous[0]!r} (which runs to "
                f"{previous[1]:,}); entries sharing compressed data are an overlapping-entry zip bomb",
                member=where,
                limit="overlapping_entries",
            )
        if offset < 0 or offset + _LOCAL.size > start_dir:
            raise CorruptArchive(f"{label(where)}: local header offset {offset:,} is out of range", member=where)
        fp.seek(offset)
        header = fp.read(_LOCAL.size)
        if len(header) != _LOCAL.size or header[:4] != _LOCAL_SIG:
            raise CorruptArchive(f"{label(where)}: no local header at offset {offset:,}", member=where)
        _, _, flags, method, *_, name_len, extra_len = _LOCAL.unpack(header)
        disagreement = disagreement or _disagreement(info, flags, method, fp.read(name_len), where)
        data_start = offset + _LOCAL.size + name_len + extra_len
        end = data_start + info.compress_size
        if end > start_dir:
            raise CorruptArchive(
                f"{label(where)}: data runs to {end:,}, into the central directory at {start_dir:,}", member=where
            )
        starts[id(info)] = data_start
        previous = (info.orig_filename, end)
    if disagreement is not None:
        raise disagreement
    return starts


def _disagreement(
    info: zipfile.ZipInfo, flags: int, method: int, name: bytes, where: tuple[str, ...]
) -> ArchiveError | None:
    """Why the local header read for ``info`` contradicts the central directory, if it does."""
    if flags & _FLAG_ENCRYPTED:
        return EncryptedMember(f"{label(where)}: member is encrypted (local header)", member=where)
    if method != info.compress_type:
        return CorruptArchive(
            f"{label(where)}: local header says method {method}, the directory {info.compress_type}", member=where
        )
    encoding = "utf-8" if info.flag_bits & _FLAG_UTF8 else "cp437"
    if name != info.orig_filename.encode(encoding):
        return CorruptArchive(f"{label(where)}: local header names a different file", member=where)
    return None
