"""The ledger's day index: what a file costs in requests, no lost update under contention, and
stages that never go backwards. On moto S3 over HTTP (requests counted on the wire by botocore's
own event hooks) and on a local directory: the stores whose conditional writes are real."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from bankgate.ledger import DONE, QUARANTINED, Ledger, Root, index, links
from bankgate.ledger.root import url_digest
from bankgate.store.base import ObjectStore
from bankgate.store.local import LocalStore
from bankgate.store.s3 import S3Store
from tests.fixtures.clouds import point_aws_at

DAY = "2026-11-23"


class Wire:
    """HTTP requests an S3 client sends, by method, counted as botocore sends them."""

    def __init__(self, client) -> None:
        self.sent: Counter[str] = Counter()
        client.meta.events.register("before-send.s3", self._count)

    def _count(self, request, **_kwargs) -> None:
        self.sent[request.method] += 1

    def __call__(self) -> dict[str, int]:
        counted, self.sent = dict(self.sent), Counter()
        return counted


@pytest.fixture
def s3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[S3Store, Wire]:
    point_aws_at(moto_url, monkeypatch)
    client = boto3.client("s3")
    bucket = f"ledger-{time.time_ns()}"
    client.create_bucket(Bucket=bucket)
    return S3Store(bucket, client=client), Wire(client)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    yield LocalStore(tmp_path / "ledger") if request.param == "local" else request.getfixturevalue("s3")[0]


def staged(n: int) -> str:
    return f"s3://staging/inbound/acme/{DAY}/file-{n:03}.ach"


def link(root: Root, url: str) -> None:
    links.write(root, url, links.Link("pull", "acme", f"sftp/acme/pulled/{DAY}/x.json", url.rsplit("/", 1)[-1], DAY))


def test_requests_per_file_and_a_day_listed_in_one_get(s3: tuple[S3Store, Wire]) -> None:
    """The cost the index module states: each update a GET and a PUT; a link one PUT to write,
    one GET to read; the processing claim + outcome of a linked file 8 requests, of which 5 are
    the link and the index; a listing one GET, however many files the day has."""
    store, wire = s3
    root = Root(store, "ledger/")
    ledger = Ledger(store, "ledger/")
    url = staged(0)

    link(root, url)
    assert wire() == {"PUT": 1}
    assert index.update(root, "acme", DAY, url, "staged", time.time(), name="file-000.ach", size=10)
    assert wire() == {"GET": 1, "PUT": 1}  # the first update of a day: a GET answered 404, a create
    assert index.update(root, "acme", DAY, url, "staged", time.time(), size=11)
    assert wire() == {"GET": 1, "PUT": 1}

    claim = ledger.claim(url, "0001")
    claimed = wire()
    ledger.finish(claim, state=DONE, file_type="nacha", size=11, counts={"entry_detail": 5})
    finished = wire()
    # claim: the link (GET), the record (GET answered 404, PUT), the index (GET, PUT);
    # finish: the record (PUT), the index (GET, PUT).
    assert claimed == {"GET": 3, "PUT": 2}
    assert finished == {"GET": 1, "PUT": 2}

    for n in range(1, 50):
        index.update(root, "acme", DAY, staged(n), "staged", time.time(), name=f"file-{n:03}.ach")
    wire()
    listed = index.read(root, "acme", DAY)
    assert wire() == {"GET": 1}
    assert len(listed) == 50 and listed[url].state == "done" and listed[url].records == 5


def test_two_lambdas_finishing_files_of_one_day_lose_no_update(s3: tuple[S3Store, Wire]) -> None:
    """Eight workers each claim and finish five files of the same bank day at once: every file's
    outcome is in the day's one index object (a plain read-modify-write would drop some)."""
    store, _wire = s3
    root = Root(store, "ledger/")
    urls = [staged(n) for n in range(40)]
    for url in urls:
        link(root, url)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(mine: list[str]) -> None:
        ledger = Ledger(store, "ledger/")
        barrier.wait()
        try:
            for n, url in enumerate(mine):
                claim = ledger.claim(url, "0001")
                state = QUARANTINED if n % 2 else DONE
                ledger.finish(claim, state=state, size=100 + n, reason="bad" if n % 2 else "")
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(urls[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries = index.read(root, "acme", DAY)
    assert sorted(entries) == sorted(urls)
    assert {e.state for e in entries.values()} == {"done", "quarantined"}
    assert all(e.size >= 100 for e in entries.values())


def test_stages_never_go_backwards(store: ObjectStore) -> None:
    """The pull's 'staged' may be written after processing began; an older stage written late
    never hides a newer one."""
    root = Root(store, "ledger/")
    url = staged(1)
    index.update(root, "acme", DAY, url, "processing", 100.0)
    index.update(root, "acme", DAY, url, "staged", 101.0, name="file-001.ach", sha256="ab")
    entry = index.read(root, "acme", DAY)[url]
    assert (entry.state, entry.name, entry.sha256) == ("processing", "file-001.ach", "ab")
    index.update(root, "acme", DAY, url, "done", 105.0, records=3)
    index.update(root, "acme", DAY, url, "processing", 103.0)  # a late write of the earlier stage
    assert index.read(root, "acme", DAY)[url].state == "done"
    index.update(root, "acme", DAY, url, "processing", 110.0)  # a forced reprocess, later
    assert index.read(root, "acme", DAY)[url].state == "processing"


def test_a_claim_records_its_origin_and_an_unlinked_object_is_not_indexed(store: ObjectStore) -> None:
    root = Root(store, "ledger/")
    ledger = Ledger(store, "ledger/")
    link(root, staged(1))
    linked = ledger.claim(staged(1), "0001")
    unlinked = ledger.claim(staged(2), "0001")
    assert linked.record.origin == {
        "kind": "pull",
        "owner": "acme",
        "record": f"sftp/acme/pulled/{DAY}/x.json",
        "name": "file-001.ach",
        "day": DAY,
    }
    assert unlinked.record.origin == {}
    assert set(index.read(root, "acme", DAY)) == {staged(1)}
    assert index.owners(root) == ["acme"]
    assert [r.source for r in ledger.records()] == sorted([staged(1), staged(2)], key=ledger.key_for)


def test_a_record_written_before_origins_reads_back() -> None:
    from bankgate.ledger import LedgerRecord

    old = b'{"source": "s3://s/inbound/a.ach", "sequencer": "01", "state": "done", "attempts": 1}'
    assert LedgerRecord.from_json(old).origin == {}


# -- shards: a day far above a few thousand files (``index`` module doc) --------------------------


def _shards(store: ObjectStore) -> set[str]:
    base = f"ledger/index/acme/{DAY}/"
    return {i.key[len(base) : -len(".json")] for i in store.list(base)}


def test_a_growing_day_splits_into_shards_and_is_listed_whole_in_few_requests(
    s3: tuple[S3Store, Wire], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a shard limit of 8, 120 files split the day twice over (16 shards, then some of them
    16 more): every file is listed with its latest stage, in one GET of the day, one LIST and
    one GET per shard in use (read in parallel); an update costs a GET per level above its shard."""
    monkeypatch.setattr(index, "SPLIT_AT", 8)
    store, wire = s3
    root = Root(store, "ledger/")
    urls = [staged(n) for n in range(120)]
    for n, url in enumerate(urls):
        assert index.update(root, "acme", DAY, url, "staged", 100.0 + n, name=f"file-{n:03}.ach", size=n)
    for url in urls[::4]:
        assert index.update(root, "acme", DAY, url, "done", 1000.0, records=7)
    shards = _shards(store)
    assert {s for s in shards if len(s) == 1} == set("0123456789abcdef") and any(len(s) == 2 for s in shards)
    top = json.loads(store.read_bytes(f"ledger/{index.key('acme', DAY)}"))
    assert top["split"] == index.FANOUT and top["files"] == {}  # emptied once its children existed
    in_use = {s for s in shards if not all(s + d in shards for d in "0123456789abcdef")}
    laid_out = set(index.layout("acme", DAY, {url: {} for url in urls}))  # what a rebuild writes
    assert laid_out == {index.key("acme", DAY)} | {index.shard_key("acme", DAY, s) for s in shards}
    wire()

    entries = index.read(root, "acme", DAY)

    assert wire() == {"GET": 2 + len(in_use)}  # the day's first shard, the LIST, the shards in use
    assert sorted(entries) == urls
    assert [e.state for e in entries.values()].count("done") == len(urls[::4])
    assert all(entries[u].records == 7 for u in urls[::4]) and entries[urls[1]].name == "file-001.ach"
    assert max(len(json.loads(store.read_bytes(f"ledger/index/acme/{DAY}/{s}.json"))["files"]) for s in in_use) <= 8
    (home,) = [s for s in in_use if url_digest(urls[5]).startswith(s)]  # the shard holding it
    wire()
    assert index.update(root, "acme", DAY, urls[5], "done", 2000.0)
    assert wire() == {"GET": len(home) + 1, "PUT": 1}  # each level down to its shard, then its shard
    assert index.days(root, "acme") == [DAY]


def test_writers_racing_across_splits_lose_no_update(store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight workers write 96 files of one day at once while it splits under them."""
    monkeypatch.setattr(index, "SPLIT_AT", 8)
    root = Root(store, "ledger/")
    urls = [staged(n) for n in range(96)]
    barrier = threading.Barrier(8)
    failed: list[str] = []

    def worker(mine: list[str]) -> None:
        barrier.wait()
        for url in mine:
            for state, at in (("processing", 10.0), ("done", 20.0)):
                if not index.update(root, "acme", DAY, url, state, at, name=url.rsplit("/", 1)[-1]):
                    failed.append(url)

    threads = [threading.Thread(target=worker, args=(urls[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    entries = index.read(root, "acme", DAY)
    assert sorted(entries) == urls and {e.state for e in entries.values()} == {"done"}


def test_an_unsharded_day_of_an_earlier_release_reads_as_before_and_splits_when_it_grows(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Root(store, "ledger/")
    old = {staged(n): {"name": f"file-{n:03}.ach", "state": "done", "at": 5.0, "records": n} for n in range(30)}
    store.put_bytes(
        f"ledger/{index.key('acme', DAY)}", json.dumps({"owner": "acme", "day": DAY, "files": old}).encode()
    )
    assert {u: e.records for u, e in index.read(root, "acme", DAY).items()} == {u: e["records"] for u, e in old.items()}
    assert _shards(store) == set()

    monkeypatch.setattr(index, "SPLIT_AT", 20)
    assert index.update(root, "acme", DAY, staged(30), "staged", 6.0, name="file-030.ach")

    entries = index.read(root, "acme", DAY)
    assert len(_shards(store)) == 16 and len(entries) == 31
    assert all(entries[u].records == e["records"] and entries[u].state == "done" for u, e in old.items())


def test_a_split_that_stopped_half_way_loses_nothing(store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The splitter died after freezing the day and creating 5 of its 16 children: a listing
    takes the others' files from the frozen day, and a writer creates a missing child from them."""
    monkeypatch.setattr(index, "SPLIT_AT", 1000)
    root = Root(store, "ledger/")
    for n in range(64):
        index.update(root, "acme", DAY, staged(n), "staged", 1.0, name=f"file-{n:03}.ach")
    top = f"ledger/{index.key('acme', DAY)}"
    frozen = json.loads(store.read_bytes(top))
    store.put_bytes(top, json.dumps({**frozen, "split": 16}).encode())
    for digit in "01234":
        files = {u: e for u, e in frozen["files"].items() if url_digest(u)[0] == digit}
        store.put_bytes(f"ledger/index/acme/{DAY}/{digit}.json", json.dumps({"files": files}).encode())

    assert sorted(index.read(root, "acme", DAY)) == sorted(frozen["files"])
    missing = next(u for u in frozen["files"] if url_digest(u)[0] == "f")
    assert index.update(root, "acme", DAY, missing, "done", 2.0)
    assert "f" in _shards(store)
    entries = index.read(root, "acme", DAY)
    assert sorted(entries) == sorted(frozen["files"]) and entries[missing].state == "done"
    assert sum(e.state == "staged" for e in entries.values()) == 63
