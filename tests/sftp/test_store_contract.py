"""What the pull code relies on from every object store, checked on all three real backends."""

from __future__ import annotations

import os

import pytest

from bankgate.sftp import PullLedger, RemoteFile
from bankgate.store import open_url
from tests.fixtures.clouds import raw_metadata

pytestmark = pytest.mark.contract


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
def test_a_missing_object_is_a_key_error_and_not_pulled_yet(request: pytest.FixtureRequest, where: str) -> None:
    store, base = open_url(request.getfixturevalue(where))
    with pytest.raises(KeyError):
        store.read_bytes(f"{base}missing.json")
    with pytest.raises(KeyError):
        store.open(f"{base}missing.json")
    assert store.info(f"{base}missing.json") is None
    assert PullLedger(store).get("acme", RemoteFile("/outbound/never.ach", 1, 1)) is None
    store.put_bytes(f"{base}present.json", b"{}")
    assert store.read_bytes(f"{base}present.json") == b"{}"
    with store.open(f"{base}present.json") as stream:
        assert stream.read() == b"{}"


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
def test_a_read_with_info_names_the_version_it_read(request: pytest.FixtureRequest, where: str) -> None:
    """What a compare-and-swap reads: the bytes and an etag a replace of exactly them takes,
    and that a later writer's replace makes stale (refused where the preconditions are real:
    not on the GCS emulator, see test_conditional_writes); nothing for a missing key."""
    store, base = open_url(request.getfixturevalue(where))
    key = f"{base}cas.json"
    assert store.read_with_info(key) is None
    created = store.create(key, b"one")
    assert created is not None
    found = store.read_with_info(key)
    assert found is not None
    data, info = found
    assert (data, info.etag, info.size) == (b"one", created.etag, 3)
    assert store.replace(key, b"two", etag=info.etag) is not None
    if where != "gcs_url":
        assert store.replace(key, b"lost", etag=info.etag) is None  # the version read is gone
    again = store.read_with_info(key)
    assert again is not None and again[0] == b"two" and again[1].etag != info.etag


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
@pytest.mark.parametrize("written", [0, 1000, 5000])
def test_the_size_hint_is_only_a_hint(request: pytest.FixtureRequest, where: str, written: int) -> None:
    """What lands is what was written, whether the hint (the listed size) was right or not: a
    file that shrank or grew while read is caught by the caller, never padded or cut here."""
    store, base = open_url(request.getfixturevalue(where))
    data = bytes(range(256)) * (written // 256) + b"x" * (written % 256)
    with store.writer(f"{base}hinted.bin", size=1000) as out:
        out.write(data)
    info = store.info(f"{base}hinted.bin")
    assert info is not None and info.size == written
    assert store.read_bytes(f"{base}hinted.bin") == data


def test_a_local_file_is_preallocated_to_the_hint(tmp_path) -> None:
    """The blocks are reserved before the first write (measured: ext4 allocating while a 1 GiB
    file is written costs 0.2-2.5 s of system time, 0.15 s when reserved up front)."""
    from bankgate.store.local import preallocate

    path = tmp_path / "f.bin"
    with open(path, "wb") as out:
        if not preallocate(out.fileno(), 64 << 20):
            pytest.skip("this file system does not support fallocate")
        assert path.stat().st_blocks * 512 >= 64 << 20  # reserved
        assert path.stat().st_size == 0  # but not part of the file


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
def test_stale_partial_uploads_are_swept_and_nothing_else(request: pytest.FixtureRequest, where: str) -> None:
    """What a run that died between transfer and verify left under the bank's partial prefix
    goes once it is a day old; fresh ones (a run in progress), other banks' and everything
    outside the prefix stay."""
    import time

    from bankgate.sftp.pull import sweep_partials

    store, base = open_url(request.getfixturevalue(where))
    for key in ("bankgate-partial/acme/1-a.ach", "bankgate-partial/acme/2-b.ach", "bankgate-partial/other/3-c.ach"):
        store.put_bytes(key, b"partial")
    store.put_bytes(f"{base}2026-01-02/a.ach", b"landed")
    now = time.time()

    assert sweep_partials(store, "bankgate-partial/acme/", now) == 0  # fresh: maybe in use
    assert sweep_partials(store, "bankgate-partial/acme/", now + 2 * 86400) == 2

    assert [i.key for i in store.list("bankgate-partial/")] == ["bankgate-partial/other/3-c.ach"]
    assert store.read_bytes(f"{base}2026-01-02/a.ach") == b"landed"


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
def test_a_copy_is_independent_of_its_source(request: pytest.FixtureRequest, where: str) -> None:
    """A copy (server-side on S3 and GCS, a hard link in a directory) carries the metadata it
    is given and keeps its bytes when the source is overwritten or deleted."""
    store, base = open_url(request.getfixturevalue(where))
    store.put_bytes(f"{base}tmp/a", b"first version", metadata={"stage": "temporary"})
    info = store.copy_to(f"{base}tmp/a", store, f"{base}final/a", metadata={"stage": "final"})
    assert info.size == len(b"first version")
    if where != "gcs_url":  # gcp-storage-emulator's rewrite drops the request's metadata
        assert dict(store.info(f"{base}final/a").metadata) == {"stage": "final"}
    store.put_bytes(f"{base}tmp/a", b"second version")
    assert store.read_bytes(f"{base}final/a") == b"first version"
    store.delete(f"{base}tmp/a")
    assert store.read_bytes(f"{base}final/a") == b"first version"
    with pytest.raises(KeyError):
        store.copy_to(f"{base}tmp/a", store, f"{base}final/b")


def test_a_local_copy_is_a_hard_link(tmp_path) -> None:
    from bankgate.store.local import LocalStore

    store = LocalStore(tmp_path)
    store.put_bytes("tmp/a", b"x" * 1000)
    store.copy_to("tmp/a", store, "final/a")
    assert (tmp_path / "final/a").stat().st_ino == (tmp_path / "tmp/a").stat().st_ino


def test_a_local_object_is_on_disk_before_it_appears_under_its_key(tmp_path, monkeypatch) -> None:
    """A pull may delete the bank's copy once it landed: in a directory, landed means synced to
    disk (the file's bytes, then the directory entry), not just handed to the page cache."""
    import os

    from bankgate.store import local
    from bankgate.store.local import LocalStore

    store = LocalStore(tmp_path)
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source, target) -> None:
        events.append(("rename", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(local.os, "fsync", fsync)
    monkeypatch.setattr(local.os, "replace", replace)
    with store.writer("in/a.ach", size=5) as out:
        out.write(b"12345")

    final = str(tmp_path / "in" / "a.ach")
    kinds = [kind for kind, _ in events]
    assert kinds == ["fsync", "rename", "fsync"], events
    assert events[0][1].endswith(".partial")  # the temporary file's bytes, before the rename
    assert events[1][1] == final and events[2][1] == str(tmp_path / "in")  # then the directory


AWKWARD = "s3://staging/inbound/acme/2026-11-23/café ü 東京 a+b 100% (1)\t.ach"


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
def test_any_metadata_value_round_trips_the_same_way_on_every_store(request: pytest.FixtureRequest, where: str) -> None:
    """S3 takes only ASCII metadata: every store encodes values the same way (UTF-8,
    percent-encoded) and decodes them when reading, so what is written is what is read."""
    import io

    from bankgate.store.encoding import encode_metadata

    store, base = open_url(request.getfixturevalue(where))
    meta = {"bankgate-source": AWKWARD, "bankgate-type": "nacha"}
    store.put_bytes(f"{base}put.bin", b"x", metadata=meta)
    with store.writer(f"{base}written.bin", metadata=meta) as out:
        out.write(b"y")
    store.copy_to(f"{base}put.bin", store, f"{base}copied.bin")
    store.copy_to(f"{base}put.bin", store, f"{base}replaced.bin", metadata={**meta, "bankgate-sha256": "ab"})
    store.put(f"{base}streamed.bin", io.BytesIO(b"z"), metadata=meta)
    for name in ("put", "written", "copied", "streamed"):
        key = f"{base}{name}.bin"
        assert dict(store.info(key).metadata) == meta, name
        raw = raw_metadata(store, key)
        assert raw == encode_metadata(meta) and all(v.isascii() and v.isprintable() for v in raw.values()), name
    assert store.info(f"{base}replaced.bin").metadata["bankgate-source"] == AWKWARD


def test_a_value_whose_bytes_are_not_utf8_is_encoded_once_and_read_back_as_its_text() -> None:
    """A remote name kept as lone surrogates (``surrogateescape``) is written as its exact
    bytes, each escaped once, and read back as the text the ledger and the report show."""
    from urllib.parse import unquote_to_bytes

    from bankgate.store.encoding import decode_metadata, encode_metadata

    name = os.fsdecode(b"/outbound/caf\xe9 50%.ach")  # Latin-1: not UTF-8
    raw = encode_metadata({"bankgate-remote-path": name, "utf8": "/outbound/ünï.ach"})
    assert raw == {"bankgate-remote-path": "/outbound/caf%E9 50%25.ach", "utf8": "/outbound/%C3%BCn%C3%AF.ach"}
    back = decode_metadata(raw)
    assert back == {"bankgate-remote-path": "/outbound/caf%E9 50%25.ach", "utf8": "/outbound/ünï.ach"}
    assert unquote_to_bytes(back["bankgate-remote-path"]) == b"/outbound/caf\xe9 50%.ach"


def test_encoded_metadata_is_bounded_and_decodes_what_it_kept() -> None:
    """S3 holds at most 2 KB of user metadata (keys and values): a value too long for it is
    cut, visibly (ending in an ellipsis), and never in the middle of an encoded character."""
    from bankgate.store.encoding import decode_metadata, encode_metadata

    long = "東京" * 400  # 2,400 bytes of UTF-8, three times that encoded
    raw = encode_metadata({"bankgate-source": long, "bankgate-sha256": "f" * 64}, max_bytes=2048)
    assert sum(len(k) + len(v) for k, v in raw.items()) <= 2048
    assert raw["bankgate-sha256"] == "f" * 64  # short values are kept whole
    kept = decode_metadata(raw)["bankgate-source"]
    assert kept.endswith("…") and long.startswith(kept[:-1]) and len(kept) > 100


# -- optional abilities (bankgate.store.abilities): declared one way, each run on every store ----------

STORES = ["local_url", "s3_url", "gcs_url"]
ABILITIES = {
    "local_url": {"LocalFiles", "ServerSideCopy", "SweepsPartials"},
    "s3_url": {"ChecksumOnWrite", "ServerSideCopy", "Versioned"},
    "gcs_url": {"ChecksumOnWrite", "ServerSideCopy", "SweepsPartials", "Versioned"},
}


def _abilities(store: object) -> set[str]:
    from bankgate.store import abilities

    protocols = [getattr(abilities, name) for name in abilities.__all__ if name != "NotServerSide"]
    return {p.__name__ for p in protocols if isinstance(store, p)}


@pytest.mark.parametrize("where", STORES)
def test_each_store_declares_exactly_its_abilities(request: pytest.FixtureRequest, where: str) -> None:
    store, _ = open_url(request.getfixturevalue(where))
    assert _abilities(store) == ABILITIES[where]


def test_the_base_store_has_no_optional_ability_to_inherit() -> None:
    """No default that quietly does nothing (an empty version list, a None reader, zero swept):
    a store has an ability only by implementing it."""
    from bankgate.store.base import ObjectStore

    for member in ("checksum_algorithm", "open_seekable", "server_copy", "older_versions", "sweep_partials"):
        assert not hasattr(ObjectStore, member), member


@pytest.mark.parametrize("where", ["s3_url", "gcs_url"])
def test_checksum_on_write_is_the_checksum_of_the_bytes_written(request: pytest.FixtureRequest, where: str) -> None:
    from bankgate.store.checksums import new_checksum

    store, base = open_url(request.getfixturevalue(where))
    data = bytes(range(256)) * 1000
    expected = new_checksum(store.checksum_algorithm)
    assert expected is not None
    expected.update(data)
    with store.writer(f"{base}written.bin") as out:
        out.write(data)
    store.put_bytes(f"{base}put.bin", data)
    for key in ("written.bin", "put.bin"):
        assert store.info(f"{base}{key}", checksum=True).checksum == expected.hexdigest(), key


def test_local_files_are_seekable(local_url: str) -> None:
    store, _ = open_url(local_url)
    store.put_bytes("a.zip", b"0123456789")
    with store.open_seekable("a.zip") as stream:
        stream.seek(-3, 2)
        assert stream.read() == b"789"
    with pytest.raises(KeyError):
        store.open_seekable("missing.zip")


@pytest.mark.parametrize("source", STORES)
@pytest.mark.parametrize("target", STORES)
def test_a_copy_is_server_side_within_a_service_and_streamed_across(
    request: pytest.FixtureRequest, source: str, target: str
) -> None:
    """``copy_to`` works between any two stores: ``server_copy`` refuses a store of another kind
    (NotServerSide), and the bytes are then streamed, with their metadata."""
    from bankgate.store.abilities import NotServerSide

    src, src_base = open_url(request.getfixturevalue(source))
    dst, dst_base = (src, src_base) if source == target else open_url(request.getfixturevalue(target))
    src.put_bytes(f"{src_base}from.bin", b"payload", metadata={"stage": "source"})
    if source != target:
        with pytest.raises(NotServerSide):
            src.server_copy(f"{src_base}from.bin", dst, f"{dst_base}to.bin", metadata=None, version=None)
    info = src.copy_to(f"{src_base}from.bin", dst, f"{dst_base}to.bin")
    assert info.size == 7 and dst.read_bytes(f"{dst_base}to.bin") == b"payload"
    if "gcs_url" not in (source, target) or source != target:  # the emulator's rewrite drops metadata
        assert dict(dst.info(f"{dst_base}to.bin").metadata) == {"stage": "source"}


def test_versioned_lists_the_older_versions_newest_first(s3_url: str) -> None:
    import boto3

    store, base = open_url(s3_url)
    boto3.client("s3").put_bucket_versioning(Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"})
    written = [store.put_bytes(f"{base}a.ach", data).version for data in (b"one", b"two", b"three")]
    older = store.older_versions(f"{base}a.ach", written[-1])
    assert [v.version for v in older] == written[-2::-1]
    assert store.read_bytes(f"{base}a.ach") == b"three"
    with store.open(f"{base}a.ach", version=written[0]) as stream:
        assert stream.read() == b"one"


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
def test_conditional_writes(request: pytest.FixtureRequest, where: str) -> None:
    """``create`` only where nothing is, ``replace`` only over the version read: the ledger's
    claims rest on these (GCS: the emulator with GCS's preconditions, ``tests/fixtures/gcs_preconditions.py``)."""
    store, base = open_url(request.getfixturevalue(where))
    first = store.create(f"{base}claim.json", b"1")
    assert first is not None
    assert store.create(f"{base}claim.json", b"2") is None
    second = store.replace(f"{base}claim.json", b"3", etag=first.etag)
    assert second is not None and store.read_bytes(f"{base}claim.json") == b"3"
    assert store.replace(f"{base}claim.json", b"4", etag=first.etag) is None
    assert store.read_bytes(f"{base}claim.json") == b"3"
