"""Safe, streaming unpacking: every attack refused with a reason, honest bank files let through.

Every fixture is built here, most by hand at the byte level (zip bombs, overlapping entries,
forged headers), so nothing binary is committed and each test shows exactly what is wrong
with its input. Each unpack runs inside ``unpack_all``, which also proves the scratch dir is
empty afterwards and that nothing was written anywhere else, on success and on failure.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import random
import shutil
import struct
import subprocess
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bankgate.archives import (
    ArchiveBomb,
    ArchiveError,
    CorruptArchive,
    EncryptedMember,
    OutOfScratch,
    TooDeep,
    TooManyMembers,
    UnpackLimits,
    UnpackStats,
    UnsafeMember,
    UnsupportedMember,
    iter_members,
    scratch_dir,
    scratch_usage,
)
from bankgate.scratch import OutOfScratch as MachineOutOfScratch
from tests.parsers.nacha_helpers import concentration_ach

MiB = 1 << 20
GiB = 1 << 30
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ACH = (SAMPLES / "nacha/payroll-ppd-ccd.ach").read_bytes()


# -- the harness -------------------------------------------------------------------------------


@dataclass
class Result:
    members: list[tuple[tuple[str, ...], str, bytes]]  # path, kind, bytes
    stats: UnpackStats


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A scratch root plus a private temp dir, both checked to be empty when the test ends."""
    root = tmp_path / "scratch-root"
    root.mkdir()
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    before = sorted(os.listdir(tmp_path))
    yield root
    assert sorted(os.listdir(tmp_path)) == before, "files created outside the scratch dir"
    assert os.listdir(root) == [], "scratch dir left behind"
    assert os.listdir(private_tmp) == [], "temporary files created"


def unpack_all(
    source: bytes | io.IOBase | Path,
    root: Path,
    name: str = "upload.zip",
    limits: UnpackLimits | None = None,
) -> Result:
    """Unpack everything, reading each member fully; scratch must be empty after, whatever happens."""
    stats = UnpackStats()
    limits = limits or UnpackLimits()
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    members = []
    try:
        with scratch_dir(root, limits.scratch_budget_bytes) as scratch:
            try:
                for member in iter_members(stream, name=name, scratch=scratch, limits=limits, stats=stats):
                    members.append((member.path, member.kind, member.stream.read()))
            finally:
                assert scratch_usage(scratch) == 0, "a spill outlived the unpack"
                assert stats.scratch_bytes == 0
    finally:
        assert os.listdir(root) == [], "scratch dir not removed"
    return Result(members, stats)


def refused(
    error: type[ArchiveError], source: bytes | io.IOBase, root: Path, *, name: str = "upload.zip", **limits: int
) -> ArchiveError:
    with pytest.raises(error) as caught:
        unpack_all(source, root, name, UnpackLimits(**limits) if limits else None)
    assert caught.value.reason and str(caught.value) == caught.value.reason
    return caught.value


# -- building archives -------------------------------------------------------------------------


def make_zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, (2026, 1, 2, 0, 0, 0)), data, compress_type=method)
    return out.getvalue()


def make_tar(members: list[tarfile.TarInfo | tuple[str, bytes]], compress: str = "") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=f"w:{compress}", format=tarfile.PAX_FORMAT) as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tf.addfile(info, io.BytesIO(member[1]))
    return out.getvalue()


def tar_link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@dataclass
class RawEntry:
    """A zip entry written byte by byte, so headers can say whatever a test needs."""

    name: bytes
    data: bytes  # exactly what is stored (compressed, or not)
    size: int  # declared uncompressed size
    crc: int = 0
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    local_flags: int | None = None
    external_attr: int = 0o100644 << 16
    offset: int | None = None  # central directory's header offset, if not where it was written
    packed_size: int | None = None  # central directory's compressed size, if not len(data)
    local_name: bytes | None = None  # the local header's name, if not the directory's


def raw_zip(entries: list[RawEntry], declared_entries: int | None = None) -> bytes:
    out = bytearray()
    offsets = []
    for e in entries:
        offsets.append(len(out))
        out += _local_header(e) + (e.name if e.local_name is None else e.local_name) + e.data
    directory = bytearray()
    for e, offset in zip(entries, offsets):
        packed = len(e.data) if e.packed_size is None else e.packed_size
        size, extra = e.size, b""
        if size >= 0xFFFFFFFF:  # zip64: the real size goes in the extra field
            size, extra = 0xFFFFFFFF, struct.pack("<HHQ", 1, 8, e.size)
        directory += struct.pack(
            "<4s4B4HL2L5H2L",
            b"PK\x01\x02",
            45,
            3,
            20,
            0,
            e.flags,
            e.method,
            0,
            0x5C21,
            e.crc,
            packed,
            size,
            len(e.name),
            len(extra),
            0,
            0,
            0,
            e.external_attr,
            offset if e.offset is None else e.offset,
        )
        directory += e.name + extra
    count = len(entries) if declared_entries is None else declared_entries
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(out), 0)
    return bytes(out + directory + end)


def _local_header(e: RawEntry) -> bytes:
    flags = e.flags if e.local_flags is None else e.local_flags
    size = min(e.size, 0xFFFFFFFF)
    name = e.name if e.local_name is None else e.local_name
    return struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, flags, e.method, 0, 0x5C21, e.crc, len(e.data), size, len(name), 0
    )


def deflate_zeros(total: int, wbits: int = -15) -> bytes:
    """A deflate stream of ``total`` zero bytes (a multiple of 1 MiB), built without ever
    holding them: one fully flushed 1 MiB segment is byte-aligned and self-contained, so
    it can simply be repeated, followed by an empty final block."""
    segment = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = segment.compress(bytes(MiB)) + segment.flush(zlib.Z_FULL_FLUSH)
    body = block * (total // MiB) + b"\x03\x00"  # final, fixed-Huffman, empty block
    if wbits == -15:
        return body
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + body + struct.pack("<LL", 0, total & 0xFFFFFFFF)  # CRC left wrong: never reached


def nest_zips(payload: bytes, name: str, levels: int) -> bytes:
    data = payload
    for level in range(levels):
        data = make_zip({name if level == 0 else f"level{level}.zip": data})
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- honest archives ---------------------------------------------------------------------------


def test_gzip_of_a_nacha_file(sandbox: Path) -> None:
    result = unpack_all(gzip.compress(ACH), sandbox, name="payroll.ach.gz")
    assert result.members == [(("payroll.ach.gz", "payroll.ach"), "nacha", ACH)]
    assert result.stats.deepest == 1 and result.stats.spills == 0


def test_tar_gz_with_several_members_streams_in_order(sandbox: Path) -> None:
    bai2 = (SAMPLES / "bai2/daily-balances.bai").read_bytes()
    fixed = (SAMPLES / "fixed/positive-pay.txt").read_bytes()
    directory = tarfile.TarInfo("2026-01-02")
    directory.type = tarfile.DIRTYPE
    data = make_tar(
        [directory, ("2026-01-02/payroll.ach", ACH), ("2026-01-02/balances.bai", bai2), ("positive-pay.txt", fixed)],
        "gz",
    )
    result = unpack_all(data, sandbox, name="daily.tgz")
    assert [(path, kind) for path, kind, _ in result.members] == [
        (("daily.tgz", "2026-01-02/payroll.ach"), "nacha"),
        (("daily.tgz", "2026-01-02/balances.bai"), "bai2"),
        (("daily.tgz", "positive-pay.txt"), "fixed:positive-pay"),
    ]
    assert [body for *_, body in result.members] == [ACH, bai2, fixed]
    assert result.stats.spills == 0  # a tar.gz streams: no scratch at all
    assert result.stats.entries == 4


def test_zip_in_zip_keeps_lineage_and_deletes_the_spill(sandbox: Path) -> None:
    inner = make_zip({"payroll.ach": ACH})
    outer = make_zip({"readme.txt": b"daily files", "inner.zip": inner, "after.txt": b"last"})
    seen_scratch = []
    with scratch_dir(sandbox) as scratch:
        for member in iter_members(io.BytesIO(outer), name="outer.zip", scratch=scratch):
            seen_scratch.append((member.path, scratch_usage(scratch)))
            assert member.stream.read() in (ACH, b"daily files", b"last")
    assert seen_scratch == [
        (("outer.zip", "readme.txt"), 0),
        (("outer.zip", "inner.zip", "payroll.ach"), len(inner)),  # spilled while its members stream
        (("outer.zip", "after.txt"), 0),  # and deleted right after
    ]


def test_nested_kinds_each_count_as_one_level(sandbox: Path) -> None:
    tgz = make_tar([("a.ach", ACH)], "gz")
    data = make_zip({"batch/x.tgz": tgz, "y.ach.gz": gzip.compress(ACH)})
    result = unpack_all(data, sandbox, name="upload.zip")
    assert [path for path, *_ in result.members] == [
        ("upload.zip", "batch/x.tgz", "a.ach"),
        ("upload.zip", "y.ach.gz", "y.ach"),
    ]
    assert result.stats.deepest == 2


def test_a_file_that_is_not_an_archive_is_one_member(sandbox: Path) -> None:
    result = unpack_all(ACH, sandbox, name="ACH_0001.txt")
    assert result.members == [(("ACH_0001.txt",), "nacha", ACH)]


def test_non_seekable_sources(sandbox: Path) -> None:
    """A tar.gz streams straight from a pipe; a zip is spilled once (it needs random access)."""
    tgz = make_tar([("a.ach", ACH)], "gz")
    zipped = make_zip({"a.ach": ACH})
    for data, name, spills in ((tgz, "x.tgz", 0), (zipped, "x.zip", 1)):
        pipe = io.BufferedReader(_Pipe(data))
        result = unpack_all(pipe, sandbox, name=name)
        assert result.members == [((name, "a.ach"), "nacha", ACH)]
        assert result.stats.spills == spills


class _Pipe(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


def test_path_source_and_stream_semantics(sandbox: Path, tmp_path: Path) -> None:
    archive = tmp_path / "tmp" / "in.zip"
    archive.write_bytes(make_zip({"a.ach": ACH, "b.ach": ACH}))
    try:
        with scratch_dir(sandbox) as scratch:
            members = iter_members(archive, name="in.zip", scratch=scratch)
            first = next(members)
            assert first.stream.read(10) == ACH[:10]
            assert first.stream.read(5000) == ACH[10:]  # reads are whole, like a file's
            assert first.stream.read(1) == b""
            second = next(members)
            with pytest.raises(ValueError):
                first.stream.read(1)  # valid until the next member only
            buffer = bytearray(100)
            assert second.stream.readinto(buffer) == 100 and bytes(buffer) == ACH[:100]
            members.close()
    finally:
        archive.unlink()


def test_consumer_may_leave_tar_members_unread(sandbox: Path) -> None:
    data = make_tar([("a.ach", ACH), ("b.ach", ACH)], "gz")
    with scratch_dir(sandbox) as scratch:
        paths = [m.path for m in iter_members(io.BytesIO(data), name="x.tgz", scratch=scratch)]
    assert paths == [("x.tgz", "a.ach"), ("x.tgz", "b.ach")]


def test_closing_early_removes_spills(sandbox: Path) -> None:
    outer = make_zip({"inner.zip": make_zip({"a.ach": ACH, "b.ach": ACH})})
    with scratch_dir(sandbox) as scratch:
        members = iter_members(io.BytesIO(outer), name="outer.zip", scratch=scratch)
        next(members)
        assert scratch_usage(scratch) > 0
        members.close()
        assert scratch_usage(scratch) == 0


def test_no_descriptor_or_scratch_leaks_over_many_unpacks(sandbox: Path) -> None:
    """Warm Lambdas run thousands of invocations: success, early exit and refusal alike must
    leave open files and scratch where they were (a leaked fd per call killed one at ~12k)."""
    nested = make_zip({"a.ach": ACH, "in.zip": make_zip({"b.ach": ACH}), "c.tgz": make_tar([("d", ACH)], "gz")})
    slip = make_zip({"ok.ach": ACH, "../evil": b"x"})
    fds = len(os.listdir("/proc/self/fd"))
    for round_ in range(300):
        with scratch_dir(sandbox) as scratch:
            members = iter_members(io.BytesIO(nested), name="n.zip", scratch=scratch)
            for number, member in enumerate(members):
                member.stream.read(100)
                if round_ % 3 == 1 and number == 1:
                    break  # abandoned in the middle of the nested zip
            with pytest.raises(UnsafeMember):
                list(iter_members(io.BytesIO(slip), name="s.zip", scratch=scratch))
    assert len(os.listdir("/proc/self/fd")) == fds


@pytest.mark.slow
def test_honest_ach_at_30_to_1_passes_and_streams_intact(sandbox: Path) -> None:
    ach = concentration_ach(200_000)
    ratio = len(ach) / len(zlib.compress(ach, 6))
    assert ratio >= 30, f"the honest file should be very compressible, deflates {ratio:.1f}:1"
    data = make_zip({"concentration.ach": ach})
    # default limits, and with the ratio check engaged from the first MiB on
    for limits in (None, UnpackLimits(ratio_floor_bytes=MiB)):
        digests = []
        with scratch_dir(sandbox) as scratch:
            for member in iter_members(io.BytesIO(data), name="conc.zip", scratch=scratch, limits=limits):
                assert member.kind == "nacha"
                digest = hashlib.sha256()
                while chunk := member.stream.read(4 * MiB):  # the parsers' read size
                    digest.update(chunk)
                digests.append(digest.hexdigest())
        assert digests == [sha256(ach)]


def test_very_repetitive_honest_file_past_the_floor_passes(sandbox: Path) -> None:
    """A 700-byte-record fixed-width file, mostly blank columns: ~135:1 and over 64 MiB."""
    payees = (b"GREENLEAF OFFICE SUPPLY CO", b"CITY OF SPRINGFIELD WATER DEPT", b"HARBOR FREIGHT SYSTEMS LLC")
    lines = [b"H021000021000123456789202403131742ACME WIDGET MANUFACTURING CORP     PP20240313".ljust(700)]
    lines += [
        (b"D000123456789%010d20240312%012d " % (1_000_000 + i, 125_000) + payees[i // 1000 % 3]).ljust(700)
        for i in range(100_000)
    ]
    text = b"\n".join(lines) + b"\n"
    data = make_zip({"checks.txt": text})
    ratio = len(text) / len(data)
    assert len(text) > UnpackLimits().ratio_floor_bytes and ratio > 120, ratio
    result = unpack_all(data, sandbox, name="checks.zip")
    assert sha256(result.members[0][2]) == sha256(text)


# -- unsafe names and entry types --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../evil", "a/../../evil", "..\\evil", "/etc/x", "\\windows\\x", "C:\\x", "c:/x", "a/\x1b[2Jx"],
)
def test_zip_names_that_escape_are_refused(sandbox: Path, name: str) -> None:
    error = refused(UnsafeMember, make_zip({"ok.ach": ACH, name: b"x"}), sandbox)
    assert error.member[-1] == repr(name)


@pytest.mark.parametrize("name", ["../evil", "/etc/x", "C:\\x"])
def test_tar_names_that_escape_are_refused(sandbox: Path, name: str) -> None:
    refused(UnsafeMember, make_tar([(name, b"x")], "gz"), sandbox, name="x.tgz")


def test_nul_in_a_zip_name(sandbox: Path) -> None:
    data = make_zip({"evilXtxt": b"x"}).replace(b"evilXtxt", b"evil\0txt")
    error = refused(UnsafeMember, data, sandbox)
    assert "NUL" in error.reason


@pytest.mark.parametrize(
    ("member", "words"),
    [
        (tar_link("innocent.ach", "/etc/passwd", tarfile.SYMTYPE), "symbolic link to '/etc/passwd'"),
        (tar_link("up.ach", "../../outside", tarfile.SYMTYPE), "symbolic link"),
        (tar_link("hard.ach", "/etc/shadow", tarfile.LNKTYPE), "hard link to '/etc/shadow'"),
        (tar_link("dev", "", tarfile.CHRTYPE), "special file"),
        (tar_link("fifo", "", tarfile.FIFOTYPE), "special file"),
    ],
)
def test_tar_links_and_devices_are_refused(sandbox: Path, member: tarfile.TarInfo, words: str) -> None:
    for compress, name in (("", "x.tar"), ("gz", "x.tar.gz")):
        data = make_tar([("first.ach", ACH), member], compress)
        error = refused(UnsafeMember, data, sandbox, name=name)
        assert words in error.reason and error.member == (name, member.name)


def test_zip_symlink_entry_is_refused(sandbox: Path) -> None:
    entry = RawEntry(b"link.ach", b"/etc/passwd", 11, zlib.crc32(b"/etc/passwd"), zipfile.ZIP_STORED)
    entry.external_attr = 0o120777 << 16
    error = refused(UnsafeMember, raw_zip([entry]), sandbox)
    assert "symbolic link" in error.reason


def test_duplicate_names_are_refused(sandbox: Path) -> None:
    zipped = raw_zip([RawEntry(n, ACH, len(ACH), zlib.crc32(ACH), zipfile.ZIP_STORED) for n in (b"a.ach", b"./a.ach")])
    assert "duplicate" in refused(UnsafeMember, zipped, sandbox).reason
    tarred = make_tar([("a.ach", ACH), ("a.ach", b"replacement")], "gz")
    assert "duplicate" in refused(UnsafeMember, tarred, sandbox, name="x.tgz").reason


# -- bombs -------------------------------------------------------------------------------------


def test_ratio_bomb_declaring_its_size_is_refused_before_inflating(sandbox: Path) -> None:
    """10 MiB of deflate that inflates to 10 GiB of zeros (built without writing 10 GiB)."""
    bomb = deflate_zeros(10 * GiB)
    assert len(bomb) < 11 * MiB
    data = raw_zip([RawEntry(b"statement.ach", bomb, 10 * GiB)])
    with pytest.raises(ArchiveBomb) as caught, scratch_dir(sandbox) as scratch:
        stats = UnpackStats()
        list(iter_members(io.BytesIO(data), name="bomb.zip", scratch=scratch, stats=stats))
    assert caught.value.limit == "max_member_bytes" and stats.bytes_out == 0


def test_ratio_bomb_with_a_lying_header_is_stopped_by_the_meter(sandbox: Path) -> None:
    """The header claims 400:1 (under the limit); the bytes say ~1,000:1, caught past the floor."""
    bomb = deflate_zeros(10 * GiB)
    data = raw_zip([RawEntry(b"statement.ach", bomb, 400 * len(bomb))])
    stats = UnpackStats()
    with pytest.raises(ArchiveBomb) as caught, scratch_dir(sandbox) as scratch:
        for member in iter_members(io.BytesIO(data), name="bomb.zip", scratch=scratch, stats=stats):
            while member.stream.read(MiB):
                pass
    assert caught.value.limit == "max_ratio" and caught.value.actual > 900
    assert stats.bytes_out < 2 * UnpackLimits().ratio_floor_bytes  # stopped soon after the floor
    assert "bomb.zip > statement.ach" in caught.value.reason


def test_header_understating_the_size_is_corrupt(sandbox: Path) -> None:
    data = raw_zip([RawEntry(b"statement.ach", deflate_zeros(64 * MiB), 1000)])
    assert "declared size" in refused(CorruptArchive, data, sandbox).reason


def test_gzip_bomb_is_stopped_by_the_meter(sandbox: Path) -> None:
    error = refused(ArchiveBomb, deflate_zeros(10 * GiB, wbits=31), sandbox, name="x.ach.gz")
    assert error.limit == "max_ratio"


def test_overlapping_entries_bomb_same_offset(sandbox: Path) -> None:
    """Many central directory entries pointing at one compressed block (a better zip bomb)."""
    kernel = deflate_zeros(32 * MiB)
    entries = [RawEntry(b"a0", kernel, 32 * MiB)]
    entries += [RawEntry(f"a{i}".encode(), b"", 32 * MiB, offset=0, packed_size=len(kernel)) for i in range(1, 200)]
    data = raw_zip(entries)
    stats = UnpackStats()
    with pytest.raises(ArchiveBomb) as caught, scratch_dir(sandbox) as scratch:
        list(iter_members(io.BytesIO(data), name="overlap.zip", scratch=scratch, stats=stats))
    assert caught.value.limit == "overlapping_entries" and stats.bytes_out == 0


def test_overlapping_entries_bomb_whatever_the_local_header_names(sandbox: Path) -> None:
    """Fifield's full overlap: every directory entry points at one shared local header, whose
    name can match at most one of them. Which entry comes first must not decide the verdict:
    it is a bomb (not merely "corrupt") even when the first entry's name differs from the header's."""
    kernel = deflate_zeros(32 * MiB)
    entries = [RawEntry(b"a0", kernel, 32 * MiB, local_name=b"kernel")]
    entries += [RawEntry(f"a{i}".encode(), b"", 32 * MiB, offset=0, packed_size=len(kernel)) for i in range(1, 200)]
    error = refused(ArchiveBomb, raw_zip(entries), sandbox, name="overlap.zip")
    assert error.limit == "overlapping_entries" and "overlap" in error.reason
    # A lone entry whose local header names another file is still corrupt, not a bomb.
    lone = RawEntry(b"a.ach", ACH, len(ACH), zlib.crc32(ACH), zipfile.ZIP_STORED, local_name=b"b.ach")
    assert "different file" in refused(CorruptArchive, raw_zip([lone]), sandbox).reason


def test_overlapping_entries_bomb_quoted_headers(sandbox: Path) -> None:
    """Fifield's layout: each entry's data runs over the following entries' local headers
    and ends in the one shared kernel, so every entry inflates the whole kernel."""
    kernel = deflate_zeros(16 * MiB)
    count = 50
    entries = [RawEntry(f"f{i:03d}".encode(), b"", 16 * MiB) for i in range(count)]
    entries[-1].data = kernel
    header = 30 + 4  # local header + a 4-byte name
    for i, entry in enumerate(entries):
        entry.packed_size = (count - 1 - i) * header + len(kernel)
    refused(ArchiveBomb, raw_zip(entries), sandbox, name="overlap.zip")


def test_nested_bomb_whose_every_layer_looks_moderate(sandbox: Path) -> None:
    """64 copies of a small zip in one tar.gz: each member ~30:1, the gzip compresses the copies
    into each other; only the overall ratio (output against the archive's size) sees it."""
    inner = make_zip({"conc.ach": concentration_ach(3_000)})
    assert len(inner) < 16_000
    data = make_tar([(f"copy{i}.zip", inner) for i in range(64)], "gz")
    error = refused(ArchiveBomb, data, sandbox, name="x.tgz", max_ratio=50, ratio_floor_bytes=MiB)
    assert "overall" in error.reason and error.limit == "max_ratio"


def test_member_and_total_size_limits(sandbox: Path) -> None:
    data = make_zip({"a.ach": ACH, "b.ach": ACH})
    assert refused(ArchiveBomb, data, sandbox, max_member_bytes=1000).limit == "max_member_bytes"
    assert refused(ArchiveBomb, data, sandbox, max_total_bytes=3000).limit == "max_total_bytes"
    tarred = make_tar([("a.ach", ACH)], "gz")
    assert refused(ArchiveBomb, tarred, sandbox, name="x.tgz", max_member_bytes=1000).limit == "max_member_bytes"


def test_tar_pax_header_flood_is_refused(sandbox: Path) -> None:
    info = tarfile.TarInfo("a.ach")
    info.size = len(ACH)
    info.pax_headers = {"comment": "x" * (9 * MiB)}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        tf.addfile(info, io.BytesIO(ACH))
    assert "tar headers" in refused(UnsafeMember, out.getvalue(), sandbox, name="x.tgz").reason


# -- depth, counts, scratch --------------------------------------------------------------------


def test_nesting_up_to_the_limit_passes_and_past_it_is_refused(sandbox: Path) -> None:
    ok = unpack_all(nest_zips(ACH, "deep.ach", 3), sandbox, name="top.zip")
    assert ok.members == [(("top.zip", "level2.zip", "level1.zip", "deep.ach"), "nacha", ACH)]
    error = refused(TooDeep, nest_zips(ACH, "deep.ach", 4), sandbox, name="top.zip")
    assert error.actual == 4 and error.allowed == 3
    gz4 = gzip.compress(gzip.compress(gzip.compress(gzip.compress(ACH))))
    refused(TooDeep, gz4, sandbox, name="x.gz")


def test_too_many_members(sandbox: Path) -> None:
    files = {f"f{i}.ach": ACH for i in range(11)}
    error = refused(TooManyMembers, make_zip(files), sandbox, max_members=10)
    assert error.actual == 11 and error.allowed == 10
    refused(TooManyMembers, make_tar(list(files.items()), "gz"), sandbox, name="x.tgz", max_members=10)
    # nested levels add up
    refused(TooManyMembers, make_zip({"in.zip": make_zip(dict(list(files.items())[:9]))}), sandbox, max_members=9)


def test_entry_count_is_walked_not_taken_from_the_end_record(sandbox: Path) -> None:
    entries = [RawEntry(f"f{i}".encode(), b"x", 1, zlib.crc32(b"x"), zipfile.ZIP_STORED) for i in range(50)]
    error = refused(TooManyMembers, raw_zip(entries, declared_entries=1), sandbox, max_members=10)
    assert error.actual == 11


def test_scratch_budget_is_checked_before_and_during_a_spill(sandbox: Path) -> None:
    inner = make_zip({"a.bin": os.urandom(300_000)}, zipfile.ZIP_STORED)
    outer = make_zip({"inner.zip": inner})
    error = refused(OutOfScratch, outer, sandbox, scratch_budget_bytes=100_000)
    assert error.limit == "scratch_budget_bytes" and error.actual == len(inner)  # refused up front
    # a gzipped zip declares no size: the budget is enforced as the spill is written
    error = refused(OutOfScratch, gzip.compress(inner), sandbox, name="inner.zip.gz", scratch_budget_bytes=100_000)
    assert error.actual > 100_000
    # not enough free disk at all is the machine's problem (retried), not the archive's
    with pytest.raises(MachineOutOfScratch), scratch_dir(sandbox, budget_bytes=1 << 62):
        pass


# -- encrypted, unsupported, corrupt -----------------------------------------------------------


def test_encrypted_member_flag_is_refused_with_its_name(sandbox: Path) -> None:
    entry = RawEntry(b"secret.ach", b"\x00" * 40, 28, flags=0x1)
    error = refused(EncryptedMember, raw_zip([RawEntry(b"a.ach", b"x", 1, zlib.crc32(b"x"), 0), entry]), sandbox)
    assert error.member == ("upload.zip", "secret.ach") and "encrypted" in error.reason
    only_local = RawEntry(b"secret.ach", ACH, len(ACH), zlib.crc32(ACH), zipfile.ZIP_STORED, local_flags=0x1)
    refused(EncryptedMember, raw_zip([only_local]), sandbox)


@pytest.mark.skipif(shutil.which("zip") is None, reason="Debian's zip is not installed")
def test_real_zipcrypto_archive_is_refused(sandbox: Path, tmp_path: Path) -> None:
    work = tmp_path / "tmp"
    (work / "payroll.ach").write_bytes(ACH)
    subprocess.run(["zip", "-q", "-e", "-P", "hunter2", "enc.zip", "payroll.ach"], cwd=work, check=True)
    data = (work / "enc.zip").read_bytes()
    for leftover in work.iterdir():
        leftover.unlink()
    error = refused(EncryptedMember, data, sandbox, name="enc.zip")
    assert error.member == ("enc.zip", "payroll.ach")


def test_unsupported_compression_method(sandbox: Path) -> None:
    error = refused(UnsupportedMember, make_zip({"a.ach": ACH}, zipfile.ZIP_BZIP2), sandbox)
    assert "bzip2" in error.reason


def test_truncated_and_corrupt_archives(sandbox: Path) -> None:
    zipped = make_zip({"a.ach": ACH * 20, "b.ach": ACH})
    tgz = make_tar([("a.ach", ACH * 20)], "gz")
    plain_tar = make_tar([("a.ach", ACH), ("b.ach", ACH)])
    cases = {
        "zip cut short": zipped[: len(zipped) // 2],
        "zip without its end record": zipped[:-22],
        "gzip cut short": gzip.compress(ACH * 20)[:-30],
        "gzip with a bad CRC": gzip.compress(ACH)[:-8] + b"\0\0\0\0" + gzip.compress(ACH)[-4:],
        "gzip with trailing garbage": gzip.compress(ACH) + b"garbage!",
        "tar.gz cut short": tgz[: len(tgz) // 2],
        "tar with a smashed second header": plain_tar[:2560] + b"\xff" * 512 + plain_tar[3072:],
        "zip with a flipped data byte": _flip(zipped, 200),
        "zip with a bad stored CRC": raw_zip([RawEntry(b"a.ach", ACH, len(ACH), 1234, zipfile.ZIP_STORED)]),
    }
    names = {"zip": "x.zip", "gzi": "x.ach.gz", "tar": "x.tgz"}
    for what, data in cases.items():
        try:
            unpack_all(data, sandbox, name=names[what[:3]])
        except CorruptArchive as error:
            assert error.reason, what
        else:
            raise AssertionError(f"{what}: accepted")


def test_a_truncated_zip_is_called_truncated(sandbox: Path) -> None:
    """A zip cut short in transfer starts like a zip and has lost its end record: say so,
    so the sender knows to resend, instead of "not a zip file"."""
    zipped = make_zip({"a.ach": ACH * 20, "b.ach": ACH})
    for cut in (40, len(zipped) // 2, len(zipped) - 60, len(zipped) - 10):
        error = refused(CorruptArchive, zipped[:cut], sandbox, name="x.zip")
        assert "truncated" in error.reason and "not a zip" not in error.reason, (cut, error.reason)
        assert f"{cut:,} bytes" in error.reason
    # Something that is not a zip at all keeps saying so (detected as a zip by its first bytes only).
    error = refused(CorruptArchive, b"PK\x05\x06" + bytes(10), sandbox, name="x.zip")
    assert "truncated" not in error.reason


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def test_random_damage_never_escapes_as_anything_but_archive_error(sandbox: Path) -> None:
    """Seeded mutation of each format: malformed input raises ArchiveError or nothing."""
    rng = random.Random(20260102)
    seeds = {
        "x.zip": make_zip({"a.ach": ACH, "d/b.txt": b"x" * 3000, "in.zip": make_zip({"c.ach": ACH})}),
        "x.tgz": make_tar([("a.ach", ACH), ("in.ach.gz", gzip.compress(ACH))], "gz"),
        "x.tar": make_tar([("a.ach", ACH), ("b.ach", ACH)]),
        "x.gz": gzip.compress(ACH),
    }
    for name, seed in seeds.items():
        for _ in range(150):
            data = bytearray(seed)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if rng.random() < 0.3:
                data = data[: rng.randrange(len(data))]
            with contextlib.suppress(ArchiveError):
                unpack_all(bytes(data), sandbox, name=name)


def test_error_carries_what_the_quarantine_needs(sandbox: Path) -> None:
    error = refused(TooManyMembers, make_zip({"a": b"1", "b": b"2"}), sandbox, max_members=1)
    assert error.to_dict() == {
        "error": "TooManyMembers",
        "reason": error.reason,
        "member": ["upload.zip"],
        "limit": "max_members",
        "actual": 2,
        "allowed": 1,
    }


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        UnpackLimits(max_members=0)
