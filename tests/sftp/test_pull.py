"""Pulls from a real OpenSSH sshd into a local directory, moto S3 and the GCS emulator."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
import os
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO
from urllib.parse import unquote, unquote_to_bytes

import pytest

from bankgate.banks import DELETE, BankConfig, marker, move_to, unchanged
from bankgate.sftp import (
    HostKeyError,
    PullLedger,
    SftpSettings,
    connect,
    list_files,
    names,
    pull_bank,
    pull_file,
    stability,
)
from bankgate.sftp.landing import SMALL_FILE
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.reader import RemoteReader, read_whole
from bankgate.sftp.retry import RetryPolicy
from bankgate.store import open_url
from bankgate.store.base import ObjectInfo, ObjectStore
from bankgate.store.local import LocalStore
from tests.fixtures.clouds import raw_metadata
from tests.fixtures.sftp import settings_for
from tests.sftp.netproxy import TcpProxy
from tests.sftp.sshd import Sshd

OLD = time.time() - 3600  # an mtime well past any stability window


def on_day(day: str) -> float:
    """Noon UTC of a past day: a pull files the file under that date (its mtime's)."""
    return datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp()


QUICK = (unchanged(60, settle=0),)


def rules(**overrides) -> BankConfig:
    return BankConfig("acme", **{"stability": QUICK, "backoff": 0.05, **overrides})


def objects(store_url: str, prefix: str = "") -> dict[str, bytes]:
    store, base = open_url(store_url)
    return {i.key: store.read_bytes(i.key) for i in store.list(base + prefix)}


def landed(store_url: str) -> dict[str, bytes]:
    """The pulled files only: not the ledger, not temporary uploads."""
    store, base = open_url(store_url)
    return {
        i.key[len(base) :]: store.read_bytes(i.key)
        for i in store.list(base)
        if not i.key.startswith(("bankgate-ledger/", "bankgate-partial/"))
    }


# -- the three stores -------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
def test_pull_lands_bytes_and_metadata_then_nothing_twice(
    request: pytest.FixtureRequest, server: Sshd, settings: SftpSettings, where: str
) -> None:
    url = request.getfixturevalue(where)
    big = os.urandom(3 * 1024 * 1024 + 17)  # several pipelined reads, not a multiple of the block
    server.put("/outbound/payroll.ach", big, mtime=OLD)
    server.put("/outbound/empty.txt", b"", mtime=OLD)
    server.put("/outbound/ünïcode name.ach", b"x" * 100, mtime=OLD)

    report = pull_bank(settings, rules(), url)

    assert report.ok and len(report.pulled) == 3, report
    day = time.strftime("%Y-%m-%d", time.gmtime(OLD))
    assert landed(url) == {
        f"{day}/payroll.ach": big,
        f"{day}/empty.txt": b"",
        f"{day}/ünïcode name.ach": b"x" * 100,
    }
    store, base = open_url(url)
    info = store.info(f"{base}{day}/payroll.ach")
    assert info is not None
    meta = info.metadata
    assert meta["bankgate-bank"] == "acme"
    if where != "gcs_url":
        # The final key is a server-side copy of the verified upload with the metadata that
        # includes the checksum; gcp-storage-emulator's rewrite keeps the source's metadata
        # instead of the request's (real GCS applies it), so only the upload-time part shows.
        assert meta["bankgate-sha256"] == hashlib.sha256(big).hexdigest()
        assert meta["bankgate-size"] == str(len(big))
    assert meta["bankgate-remote-path"] == "/outbound/payroll.ach"
    assert meta["bankgate-remote-mtime"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(OLD)))
    unicode_meta = store.info(f"{base}{day}/ünïcode name.ach").metadata  # type: ignore[union-attr]
    assert unquote(unicode_meta["bankgate-remote-path"]) == "/outbound/ünïcode name.ach"
    assert [o for o in objects(url) if "bankgate-partial" in o] == []  # no temporary upload left

    again = pull_bank(settings, rules(), url)
    assert again.pulled == [] and again.failed == []
    assert {s.reason for s in again.skipped} == {"already pulled"}
    assert (server.outbound / "payroll.ach").exists()  # default post-pull action: keep


@pytest.mark.parametrize("landing", ["copy", "direct"])
def test_large_file_to_s3_is_a_multipart_upload(
    server: Sshd, settings: SftpSettings, s3_url: str, landing: str
) -> None:
    data = os.urandom(40 * 1024 * 1024 + 5)  # three 16 MiB parts
    server.put("/outbound/big.bin", data, mtime=on_day("2026-01-02"))
    report = pull_bank(settings, rules(landing=landing), s3_url)
    assert report.ok
    assert landed(s3_url) == {"2026-01-02/big.bin": data}
    store, base = open_url(s3_url)
    meta = store.info(f"{base}2026-01-02/big.bin").metadata  # type: ignore[union-attr]
    assert meta["bankgate-size"] == str(len(data))
    if landing == "copy":  # a direct landing's checksum is only known once the upload has started
        assert meta["bankgate-sha256"] == hashlib.sha256(data).hexdigest()


# -- stability ----------------------------------------------------------------------------------------


def test_growing_file_is_left_alone_until_it_stops_changing(
    server: Sshd, settings: SftpSettings, local_url: str
) -> None:
    now = time.time()
    path = server.put("/outbound/growing.ach", b"line 1\n", mtime=now)
    window = rules(stability=(unchanged(30, settle=0),))

    first = pull_bank(settings, window, local_url, now=now)
    assert first.pulled == [] and "first seen" in first.skipped[0].reason

    with open(path, "ab") as out:  # the bank is still writing
        out.write(b"line 2\n")
    os.utime(path, (now + 10, now + 10))
    second = pull_bank(settings, window, local_url, now=now + 20)
    assert second.pulled == [] and "still changing" in second.skipped[0].reason

    third = pull_bank(settings, window, local_url, now=now + 35)  # unchanged, but only for 15 s
    assert third.pulled == [] and "unchanged for 15s of 30s" in third.skipped[0].reason

    fourth = pull_bank(settings, window, local_url, now=now + 52)  # seen unchanged 32 s apart
    assert [p.remote.path for p in fourth.pulled] == ["/outbound/growing.ach"]
    assert list(landed(local_url).values()) == [b"line 1\nline 2\n"]


def test_old_file_is_confirmed_by_a_second_listing(
    server: Sshd, settings: SftpSettings, local_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = server.put("/outbound/late.ach", b"abc", mtime=OLD)

    def append_during_settle(seconds: float) -> None:
        with open(path, "ab") as out:
            out.write(b"def")
        os.utime(path, (OLD, OLD))  # same old mtime: a client that sets timestamps before writing

    monkeypatch.setattr(stability, "_sleep", append_during_settle)
    report = pull_bank(settings, rules(stability=(unchanged(60, settle=0.01),)), local_url)
    assert report.pulled == [] and "changed while being checked (size 3 -> 6)" in report.skipped[0].reason
    monkeypatch.undo()
    assert [p.size for p in pull_bank(settings, rules(), local_url).pulled] == [6]


def test_marker_rule_pulls_only_marked_files_and_handles_the_marker(
    server: Sshd, settings: SftpSettings, local_url: str
) -> None:
    server.put("/outbound/a.ach", b"aaa", mtime=OLD)
    server.put("/outbound/a.ach.done", b"", mtime=OLD)
    server.put("/outbound/b.ach", b"bbb", mtime=OLD)  # no marker yet
    marked = rules(stability=(marker(".done"),), post_pull=DELETE)

    report = pull_bank(settings, marked, local_url)
    assert [p.remote.path for p in report.pulled] == ["/outbound/a.ach"]
    assert {s.remote.path: s.reason for s in report.skipped} == {"/outbound/b.ach": "waiting for its .done marker"}
    assert sorted(p.name for p in server.outbound.iterdir()) == ["b.ach"]  # a.ach and its marker deleted
    assert list(landed(local_url)) == [f"{time.strftime('%Y-%m-%d', time.gmtime(OLD))}/a.ach"]


# -- host keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("pin", ["changed", "unknown"])
def test_bad_host_key_fails_the_run_and_touches_nothing(server: Sshd, local_url: str, pin: str) -> None:
    server.put("/outbound/a.ach", b"aaa", mtime=OLD)
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOmJdkFh7pC0bXGBzJb2v0Qn6nDDYmZ3G6K4lqW6mQ2x"
    host = f"[{server.host}]:{server.port}" if pin == "changed" else "[bank.example]:22"
    settings = settings_for(server, known_hosts=f"{host} {other}\n")
    with pytest.raises(HostKeyError, match="SHA256:"):
        pull_bank(settings, rules(post_pull=DELETE), local_url)
    assert not Path(local_url.removeprefix("file://")).exists()  # not even the ledger
    assert (server.outbound / "a.ach").read_bytes() == b"aaa"


# -- post-pull actions ----------------------------------------------------------------------------------


def one_byte_changed(data: bytes | bytearray | memoryview) -> bytes:
    """``data`` with its middle byte changed (nothing to change in no bytes): what a store that
    did not keep what it was sent would hold, same size, so only a checksum can tell."""
    changed = bytearray(data)
    if changed:
        changed[len(changed) // 2] ^= 0x01
    return bytes(changed)


class CorruptingStore(LocalStore):
    """Changes a byte of every object it lands: the store did not keep what it was sent."""

    def _corrupt(self, key: str) -> None:
        path = self._path(key)
        path.write_bytes(one_byte_changed(path.read_bytes()))

    @contextmanager
    def writer(self, key: str, **kwargs) -> Iterator[IO[bytes]]:  # LocalStore.put writes through it too
        with super().writer(key, **kwargs) as out:
            yield out
        self._corrupt(key)


@pytest.mark.parametrize(
    ("size", "landing"),
    [(100_000, "copy"), (9 * 1024 * 1024, "copy"), (9 * 1024 * 1024, "direct")],
    ids=["small", "streamed", "streamed-direct"],
)
def test_remote_is_deleted_only_after_verification(
    server: Sshd, settings: SftpSettings, tmp_path: Path, size: int, landing: str
) -> None:
    """A directory computes no checksum of its own, so catching a flipped byte there takes the
    read-back (``verify="sha256"``); the cloud stores' own checksums are tested below."""
    data = os.urandom(size)
    server.put("/outbound/a.ach", data, mtime=OLD)
    root = tmp_path / "staging"

    def corrupting(url: str) -> tuple[ObjectStore, str]:
        return CorruptingStore(root), ""

    strict = rules(post_pull=DELETE, landing=landing, verify="sha256")
    report = pull_bank(settings, strict, f"file://{root}", open_store=corrupting)
    assert report.pulled == [] and len(report.failed) == 1
    assert "VerificationFailed" in report.failed[0].error
    assert (server.outbound / "a.ach").read_bytes() == data  # still on the server
    assert landed(f"file://{root}") == {}  # nothing under the final key, no temporary copy left

    report = pull_bank(settings, rules(post_pull=DELETE), f"file://{root}")  # a store that works
    assert report.ok and report.pulled[0].post_pull == "deleted"
    assert not (server.outbound / "a.ach").exists()
    assert list(landed(f"file://{root}").values()) == [data]


class _FlipOnce(io.RawIOBase):
    """A writer that changes one byte of the first chunk it is given, then passes all on."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.flipped = out, False

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        if not self.flipped and len(data):
            data, self.flipped = one_byte_changed(data), True
        return self.out.write(data)


def cloud_store(url: str, *, flip: bool, report_checksums: bool = True, flip_copies: bool = False) -> ObjectStore:
    """The S3 or GCS store of ``url`` that notes the pulled objects it reads (``opened``: not
    the ledger's records) and, with ``flip``, changes one byte of everything it is given to
    store (the store did not keep what was read: the bytes it holds, and checksums itself,
    differ from the bytes read from the bank); without ``report_checksums`` its ``info`` says
    nothing of the store's checksum; with ``flip_copies`` a copy lands with one byte changed."""
    store, _ = open_url(url)
    base = type(store)

    class Watched(base):  # type: ignore[valid-type, misc]
        opened = 0

        def open(self, key: str, **kwargs):  # type: ignore[override]
            if "bankgate-ledger/" not in key:
                type(self).opened += 1
            return super().open(key, **kwargs)

        def info(self, key: str, **kwargs) -> ObjectInfo | None:
            info = super().info(key, **kwargs)
            return info if info is None or report_checksums else dataclasses.replace(info, checksum="")

        flipped_in_put = False

        @contextmanager
        def writer(self, key: str, **kwargs) -> Iterator[IO[bytes]]:
            with super().writer(key, **kwargs) as out:
                yield _FlipOnce(out) if flip and not self.flipped_in_put else out

        def copy_to(self, key: str, target: ObjectStore, target_key: str, **kwargs) -> ObjectInfo:
            info = super().copy_to(key, target, target_key, **kwargs)
            if not flip_copies or self.flipped_in_put or "bankgate-partial/" in target_key:
                return info  # only the copy to the final key (GCS's own writer copies too)
            changed = one_byte_changed(super().read_bytes(target_key))
            self.flipped_in_put = True
            try:
                base.put(self, target_key, io.BytesIO(changed), metadata=info.metadata)
            finally:
                self.flipped_in_put = False
            return self.info(target_key, checksum=True)

        def put(self, key: str, source: IO[bytes], **kwargs) -> ObjectInfo:
            data = source.read()
            if flip:
                data = one_byte_changed(data)
            self.flipped_in_put = True  # GCS's put goes through its writer: flip once, not twice
            try:
                return super().put(key, io.BytesIO(data), **kwargs)
            finally:
                self.flipped_in_put = False

    watched = Watched.__new__(Watched)
    watched.__dict__.update(store.__dict__)
    return watched


@pytest.mark.parametrize("where", ["s3_url", "gcs_url"])
@pytest.mark.parametrize("size", [100_000, 9 * 1024 * 1024], ids=["small", "streamed"])
def test_the_stores_own_checksum_catches_a_changed_byte_without_a_read_back(
    request: pytest.FixtureRequest, server: Sshd, settings: SftpSettings, where: str, size: int
) -> None:
    """S3 (full-object CRC-32) and GCS (CRC-32C) checksum what they received; the default
    verification compares that with the same checksum of the bytes read from the bank, and
    never downloads the object again."""
    url = request.getfixturevalue(where)
    data = os.urandom(size)
    server.put("/outbound/a.ach", data, mtime=OLD)
    flipping = cloud_store(url, flip=True)
    report = pull_bank(settings, rules(post_pull=DELETE), url, open_store=lambda u: (flipping, open_url(u)[1]))
    assert report.pulled == [] and len(report.failed) == 1
    error = report.failed[0].error
    assert "VerificationFailed" in error and ("crc32c" if where == "gcs_url" else "crc32") in error, error
    assert (server.outbound / "a.ach").read_bytes() == data  # still on the server
    assert landed(url) == {}
    assert type(flipping).opened == 0  # decided by the store's checksum, not by reading it back

    honest = cloud_store(url, flip=False)
    report = pull_bank(settings, rules(post_pull=DELETE), url, open_store=lambda u: (honest, open_url(u)[1]))
    assert report.ok and report.pulled[0].post_pull == "deleted"
    assert list(landed(url).values()) == [data]
    assert type(honest).opened == 0


@pytest.mark.parametrize("size", [SMALL_FILE - 1, SMALL_FILE, SMALL_FILE + 1, 16 * 1024 * 1024 + 1])
def test_files_around_the_small_file_and_part_sizes_are_verified_by_s3s_checksum(
    server: Sshd, settings: SftpSettings, s3_url: str, size: int
) -> None:
    """Every size lands with a full-object CRC-32 (never a composite one, which would force a
    read-back or, where a store mislabels it, a false mismatch)."""
    data = os.urandom(size)
    server.put("/outbound/a.ach", data, mtime=OLD)
    watched = cloud_store(s3_url, flip=False)
    report = pull_bank(settings, rules(post_pull=DELETE), s3_url, open_store=lambda u: (watched, open_url(u)[1]))
    assert report.ok and report.pulled[0].post_pull == "deleted", report.failed
    assert list(landed(s3_url).values()) == [data]
    assert type(watched).opened == 0
    store, base = open_url(s3_url)
    [key] = [k for k in landed(s3_url)]
    assert store.info(f"{base}{key}", checksum=True).checksum == f"{zlib.crc32(data):08x}"


@pytest.mark.parametrize("where", ["s3_url", "gcs_url"])
def test_a_copy_to_the_final_key_that_differs_is_removed_and_the_remote_kept(
    request: pytest.FixtureRequest, server: Sshd, settings: SftpSettings, where: str
) -> None:
    url = request.getfixturevalue(where)
    data = os.urandom(9 * 1024 * 1024)
    server.put("/outbound/a.ach", data, mtime=OLD)
    bad_copies = cloud_store(url, flip=False, flip_copies=True)
    report = pull_bank(settings, rules(post_pull=DELETE), url, open_store=lambda u: (bad_copies, open_url(u)[1]))
    assert len(report.failed) == 1 and "VerificationFailed" in report.failed[0].error, report
    assert landed(url) == {}
    assert (server.outbound / "a.ach").read_bytes() == data


def test_a_store_without_checksums_that_is_not_a_local_directory_is_read_back(
    server: Sshd, settings: SftpSettings, tmp_path: Path
) -> None:
    """Size alone is trusted only where a read-back could prove nothing more (a directory)."""

    class RemoteShare(CorruptingStore):
        open_seekable = None  # not LocalFiles: a read-back is not served from our page cache

    data = os.urandom(100_000)
    server.put("/outbound/a.ach", data, mtime=OLD)
    root = tmp_path / "share"
    share = RemoteShare(root)
    report = pull_bank(settings, rules(post_pull=DELETE), f"file://{root}", open_store=lambda u: (share, ""))
    assert len(report.failed) == 1 and "SHA-256" in report.failed[0].error
    assert (server.outbound / "a.ach").read_bytes() == data


def test_an_object_without_the_stores_checksum_is_read_back(server: Sshd, settings: SftpSettings, s3_url: str) -> None:
    """Where the store reports no whole-object checksum (a composite S3 checksum, an older
    object), ``verify="checksum"`` falls back to reading the object back and hashing it."""
    data = os.urandom(9 * 1024 * 1024)
    server.put("/outbound/a.ach", data, mtime=OLD)
    silent = cloud_store(s3_url, flip=True, report_checksums=False)
    report = pull_bank(settings, rules(post_pull=DELETE), s3_url, open_store=lambda u: (silent, open_url(u)[1]))
    assert len(report.failed) == 1 and "SHA-256" in report.failed[0].error
    assert type(silent).opened >= 1
    assert (server.outbound / "a.ach").read_bytes() == data


def test_move_to_archive_folder(server: Sshd, settings: SftpSettings, local_url: str) -> None:
    server.put("/outbound/a.ach", b"aaa", mtime=OLD)
    server.put("/outbound/archive/a.ach", b"older", mtime=OLD)  # a name already archived
    report = pull_bank(settings, rules(post_pull=move_to("/outbound/archive/2026")), local_url)
    assert report.pulled[0].post_pull == "moved to /outbound/archive/2026/a.ach"
    assert (server.outbound / "archive/2026/a.ach").read_bytes() == b"aaa"
    assert not (server.outbound / "a.ach").exists()


def test_file_replaced_after_the_pull_is_not_deleted(server: Sshd, settings: SftpSettings, local_url: str) -> None:
    path = server.put("/outbound/a.ach", b"aaa", mtime=OLD)
    with connect(settings) as session:
        remote = RemoteFile("/outbound/a.ach", 3, int(OLD))
        landed_file = pull_file(session, remote, open_url(local_url)[0], "a.ach")
        path.write_bytes(b"a new delivery")
        from bankgate.sftp import post_pull

        assert post_pull.apply(session, landed_file, DELETE) == "left in place: changed after the pull"
    assert path.read_bytes() == b"a new delivery"


def test_post_pull_cannot_run_without_a_verified_landing() -> None:
    from bankgate.sftp import Landed

    with pytest.raises(TypeError, match="after the landed copy is verified"):
        Landed("k", "file:///k", 1, "0" * 64, "e", RemoteFile("/outbound/a", 1, 0))


# -- failures on the wire -------------------------------------------------------------------------------


@pytest.mark.parametrize("landing", ["copy", "direct"])
def test_dropped_connection_is_retried_and_no_partial_object_is_ever_visible(
    server: Sshd, tmp_path: Path, landing: str
) -> None:
    data = os.urandom(12 * 1024 * 1024 + 3)  # streamed, not read into memory
    server.put("/outbound/big.ach", data, mtime=OLD)
    store = LocalStore(tmp_path / "staging")
    seen_during_retry: list[dict[str, int]] = []

    def on_retry(attempt: int, error: BaseException) -> None:
        seen_during_retry.append({i.key: i.size for i in store.list("")})

    with TcpProxy((server.host, server.port), cut_after=2 * 1024 * 1024) as proxy:
        settings = settings_for(server, port=proxy.port)
        with connect(settings) as session:
            remote = RemoteFile("/outbound/big.ach", len(data), int(OLD))
            retry = RetryPolicy(retries=3, backoff=0.05, on_retry=on_retry)
            result = pull_file(session, remote, store, "inbound/big.ach", landing=landing, retry=retry)
        assert proxy.cut_connections == 1 and proxy.connections == 2
    assert seen_during_retry == [{}]  # after the failed attempt: no object at all, partial or final
    assert store.read_bytes("inbound/big.ach") == data
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size == len(data)
    assert [i.key for i in store.list("")] == ["inbound/big.ach"]


def test_retries_are_bounded(server: Sshd, tmp_path: Path) -> None:
    server.put("/outbound/big.ach", os.urandom(4 * 1024 * 1024), mtime=OLD)
    with TcpProxy((server.host, server.port), cut_after=1024 * 1024, cuts=10) as proxy:
        settings = settings_for(server, port=proxy.port)
        report = pull_bank(settings, rules(retries=2), f"file://{tmp_path / 'staging'}")
        assert proxy.cut_connections == 3  # the first attempt and two retries
    assert report.pulled == [] and report.failed[0].retryable
    assert (server.outbound / "big.ach").exists()
    assert landed(f"file://{tmp_path / 'staging'}") == {}


def test_short_reads_are_completed_in_order(server: Sshd, settings: SftpSettings) -> None:
    data = os.urandom(5 * 1024 * 1024 + 1)
    server.put("/outbound/a.bin", data)
    with connect(settings) as session, RemoteReader(session, "/outbound/a.bin", block=1024 * 1024, depth=8) as r:
        got = b"".join(bytes(c) for c in r.chunks(len(data)))
        assert r.block < 1024 * 1024  # learned the server's limit from its short answers
    assert got == data
    with connect(settings) as session:  # the two-round-trip small-file read falls back the same way
        whole, size, _mtime = read_whole(session, "/outbound/a.bin", len(data), block=1024 * 1024)
        assert whole == data and size == len(data)
        assert list_files(session.sftp, "/outbound")  # the channel is clean for the next request


# -- dedup --------------------------------------------------------------------------------------------


def test_same_content_under_a_new_name_is_flagged(server: Sshd, settings: SftpSettings, local_url: str) -> None:
    server.put("/outbound/monday.ach", b"same bytes", mtime=OLD)
    first = pull_bank(settings, rules(), local_url)
    assert first.pulled[0].duplicate_of is None
    server.put("/outbound/monday-resent.ach", b"same bytes", mtime=OLD)
    second = pull_bank(settings, rules(), local_url)
    assert [p.remote.path for p in second.pulled] == ["/outbound/monday-resent.ach"]
    duplicate = second.pulled[0].duplicate_of
    assert duplicate is not None and duplicate["path"] == "/outbound/monday.ach"
    record = PullLedger(open_url(local_url)[0]).get("acme", second.pulled[0].remote)
    assert record is not None and record.duplicate_of == duplicate


def test_force_pulls_again_and_a_changed_file_is_a_new_delivery(
    server: Sshd, settings: SftpSettings, local_url: str
) -> None:
    path = server.put("/outbound/a.ach", b"v1", mtime=OLD)
    assert len(pull_bank(settings, rules(), local_url).pulled) == 1
    assert pull_bank(settings, rules(), local_url).pulled == []
    assert len(pull_bank(settings, rules(), local_url, force=True).pulled) == 1  # same bytes: same key
    path.write_bytes(b"v2, corrected")
    os.utime(path, (OLD + 1, OLD + 1))
    report = pull_bank(settings, rules(), local_url)
    assert len(report.pulled) == 1
    keys = sorted(landed(local_url))
    assert len(keys) == 2 and keys[1].endswith(f"a~{hashlib.sha256(b'v2, corrected').hexdigest()[:12]}.ach")


def test_concurrent_runs_pull_each_file_once(server: Sshd, settings: SftpSettings, local_url: str) -> None:
    for i in range(12):
        server.put(f"/outbound/f{i:02}.ach", os.urandom(50_000), mtime=OLD)
    reports = []

    def run() -> None:
        reports.append(pull_bank(settings, rules(concurrency=3), local_url))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pulled = [p.remote.path for r in reports for p in r.pulled]
    assert sorted(pulled) == [f"/outbound/f{i:02}.ach" for i in range(12)]  # each once, by some run
    assert all(r.ok for r in reports)
    assert len(landed(local_url)) == 12


def test_patterns_day_folder_and_non_regular_files(server: Sshd, settings: SftpSettings, local_url: str) -> None:
    march_4 = on_day("2026-03-04")
    server.put("/outbound/a.ach", b"a", mtime=march_4)
    server.put("/outbound/notes.txt", b"n", mtime=march_4)
    server.put("/outbound/in/b.ach", b"b", mtime=march_4)
    os.mkfifo(server.outbound / "pipe.ach")
    (server.outbound / "link.ach").symlink_to("/etc/passwd")
    report = pull_bank(settings, rules(include=("*.ach",), exclude=("a.*",), subfolders=1), local_url)
    assert [p.key for p in report.pulled] == ["2026-03-04/in/b.ach"]


def test_select_narrows_the_run(server: Sshd, settings: SftpSettings, local_url: str) -> None:
    server.put("/outbound/old.ach", b"old", mtime=OLD - 86400)
    server.put("/outbound/new.ach", b"new", mtime=OLD)
    report = pull_bank(settings, rules(), local_url, select=lambda f: f.mtime >= OLD - 3600)
    assert [p.remote.path for p in report.pulled] == ["/outbound/new.ach"]
    assert [(s.remote.path, s.reason) for s in report.skipped] == [("/outbound/old.ach", "not selected for this run")]


# -- remote names: bytes that are not UTF-8 ----------------------------------------------------------

LATIN1 = b"/outbound/caf\xe9 r\xe9sum\xe9 50%.ach"  # Latin-1 "café résumé 50%.ach": not UTF-8


@pytest.mark.parametrize("where", ["local_url", "s3_url"])
def test_a_latin1_name_is_pulled_under_a_percent_encoded_key_and_its_folder_still_pulls(
    request: pytest.FixtureRequest, server: Sshd, settings: SftpSettings, where: str
) -> None:
    url = request.getfixturevalue(where)
    server.put(os.fsdecode(LATIN1), b"latin-1 named", mtime=OLD)  # the bytes on the server's disk
    server.put("/outbound/good.ach", b"good", mtime=OLD)
    server.put("/outbound/ünï.ach", b"utf-8 named", mtime=OLD)

    report = pull_bank(settings, rules(post_pull=DELETE), url)

    assert report.ok and len(report.pulled) == 3, report
    day = time.strftime("%Y-%m-%d", time.gmtime(OLD))
    assert landed(url) == {
        f"{day}/caf%E9 r%E9sum%E9 50%25.ach": b"latin-1 named",  # each undecodable byte and '%' as %XX
        f"{day}/good.ach": b"good",
        f"{day}/ünï.ach": b"utf-8 named",  # UTF-8 names are used as they are
    }
    store, base = open_url(url)
    meta = store.info(f"{base}{day}/caf%E9 r%E9sum%E9 50%25.ach").metadata  # type: ignore[union-attr]
    assert unquote_to_bytes(meta["bankgate-remote-path"]) == LATIN1  # the exact bytes, losslessly
    assert not os.path.lexists(os.fsencode(server.chroot) + LATIN1)  # deleted by its exact bytes
    assert list(server.outbound.iterdir()) == []

    server.put(os.fsdecode(LATIN1), b"latin-1 named", mtime=OLD)  # the same delivery again
    os.utime(os.fsencode(server.chroot) + LATIN1, (OLD, OLD))
    again = pull_bank(settings, rules(), url)
    assert again.pulled == [] and [s.reason for s in again.skipped] == ["already pulled"]


@pytest.mark.parametrize("where", ["local_url", "s3_url"])
def test_the_remote_path_metadata_is_percent_encoded_once_and_read_back_as_the_names_text(
    request: pytest.FixtureRequest, server: Sshd, settings: SftpSettings, where: str
) -> None:
    """It was encoded twice: the pull quoted the name's bytes, then the store quoted that
    (``caf%25E9``). Now the store encodes the exact name once and decodes it on reading."""
    url = request.getfixturevalue(where)
    server.put(os.fsdecode(LATIN1), b"latin-1 named", mtime=OLD)
    server.put("/outbound/ünï.ach", b"utf-8 named", mtime=OLD)

    assert pull_bank(settings, rules(), url).ok
    store, base = open_url(url)
    day = time.strftime("%Y-%m-%d", time.gmtime(OLD))
    latin1, utf8 = f"{base}{day}/caf%E9 r%E9sum%E9 50%25.ach", f"{base}{day}/ünï.ach"
    assert raw_metadata(store, latin1)["bankgate-remote-path"] == "/outbound/caf%E9 r%E9sum%E9 50%25.ach"
    assert raw_metadata(store, utf8)["bankgate-remote-path"] == "/outbound/%C3%BCn%C3%AF.ach"
    assert store.info(utf8).metadata["bankgate-remote-path"] == "/outbound/ünï.ach"  # type: ignore[union-attr]
    # a name that is not UTF-8 reads back as its text, the same as the report's and the ledger's
    text = store.info(latin1).metadata["bankgate-remote-path"]  # type: ignore[union-attr]
    assert text == names.text(os.fsdecode(LATIN1)) == "/outbound/caf%E9 r%E9sum%E9 50%25.ach"


# -- the core's pull and the DAG's agree -------------------------------------------------------------


def test_pull_bank_sets_aside_files_over_the_banks_size_limit_as_the_dag_does(
    server: Sshd, settings: SftpSettings, local_url: str
) -> None:
    """``max_file_size`` was honoured by the DAG's list_files only: pull_bank pulled any size."""
    server.put("/outbound/small.ach", b"s" * 100, mtime=OLD)
    big = server.put("/outbound/big.ach", b"b" * 101, mtime=OLD)

    report = pull_bank(settings, rules(max_file_size=100), local_url)

    assert [p.remote.path for p in report.pulled] == ["/outbound/small.ach"]
    assert [f.path for f in report.too_large] == ["/outbound/big.ach"]
    assert "1 too large" in report.summary() and report.ok  # reported, not a failure (as in the DAG)
    day = time.strftime("%Y-%m-%d", time.gmtime(OLD))
    assert landed(local_url) == {f"{day}/small.ach": b"s" * 100}
    assert big.exists()


def test_pull_bank_files_each_file_under_its_mtimes_date_as_the_dag_does(
    server: Sshd, settings: SftpSettings, local_url: str
) -> None:
    """pull_bank took a ``day`` that put every file under that date, where the DAG (and the
    README) file it under its mtime's date: the same file landed on two different keys."""
    server.put("/outbound/monday.ach", b"m", mtime=on_day("2026-03-02"))
    server.put("/outbound/tuesday.ach", b"t", mtime=on_day("2026-03-03"))

    report = pull_bank(settings, rules(), local_url)

    assert sorted(p.key for p in report.pulled) == ["2026-03-02/monday.ach", "2026-03-03/tuesday.ach"]
    assert "day" not in inspect.signature(pull_bank).parameters  # no second way to name the folder


def test_a_refused_name_fails_the_run_naming_it_after_the_rest_is_pulled(
    server: Sshd, settings: SftpSettings, local_url: str
) -> None:
    """A refused name used to be reported while the run counted as ok."""
    server.put("/outbound/good.ach", b"good", mtime=OLD)
    server.put("/outbound/bell\a.ach", b"x", mtime=OLD)

    report = pull_bank(settings, rules(), local_url)

    assert [p.remote.path for p in report.pulled] == ["/outbound/good.ach"]  # the rest is pulled
    assert not report.ok
    assert report.problems() == [
        "/outbound/bell\a.ach: refused: unsafe name, not pulled: name contains NUL or a control character"
    ]
