"""Ledger benchmark: list a bank's day of files from moto S3 (over HTTP on loopback) and from a
local directory, by its day index against a plain scan of every record, in one run.

    ./dev bench ledger [--files 10000,50000] [--scan all|none]

For each size and store, a day of processed files is written: one processing record per file
under the ledger root, and the day's index as its updates leave it (``index.layout``: sharded
once a shard passes ``index.SPLIT_AT`` entries; a 10,000-file day has 16 shards, a 50,000-file
day 256). Then:

- index: ``bankgate.ledger.index.read`` of the bank's day (what ``bankgate ledger list`` and
  the Files view do): a GET of the day, a LIST of its shards, a GET of each (in parallel);
- scan: LIST the records and GET every one (what listing a day costs without the index);
- one more update of a file's entry (the price of the index: a GET per split level, then the
  file's shard, GET + conditional PUT of that shard only).

Requests are counted on the wire by botocore's event hooks (S3; a LIST is a GET); seconds are
wall clock. Goal (issue 14): at least 10x fewer requests than the scan, and under 2 s for a day
of 10,000 files. ``--scan none`` skips the scan (at 50,000 files it takes many minutes on moto;
its requests are one LIST page per 1,000 records plus one GET per record).
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bankgate.ledger import DONE, Ledger, LedgerRecord, Root, index  # noqa: E402
from bankgate.store.base import ObjectStore  # noqa: E402

DAY, BANK = "2026-11-23", "acme"


def _url(n: int) -> str:
    return f"s3://staging/inbound/{BANK}/{DAY}/file-{n:05}.ach"


def _day(store: ObjectStore, files: int, scan: bool) -> Root:
    root = Root(store, "ledger/")
    ledger = Ledger(store, "ledger/")
    now = time.time()
    entries, records = {}, []
    for n in range(files):
        url, name = _url(n), f"file-{n:05}.ach"
        if scan:
            origin = {"kind": "pull", "owner": BANK, "record": "", "name": name, "day": DAY}
            record = LedgerRecord(url, f"{n:016X}", DONE, claimed_at=now, finished_at=now, size=1000 + n, origin=origin)
            record.file_type, record.counts, record.totals = "nacha", {"entry_detail": 5}, {"total_credit": 1578137}
            records.append((ledger.key_for(url), record.to_json()))
        entry = index.Entry(url, name, "pull", "done", now, "nacha", 1000 + n, records=5)
        entry.counts, entry.totals = {"entry_detail": 5}, {"total_credit": 1578137}
        entries[url] = {k: v for k, v in entry.to_dict().items() if k != "url"}
    shards = [
        (root.key(key), json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
        for key, doc in index.layout(BANK, DAY, entries).items()
    ]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: store.put_bytes(kv[0], kv[1], content_type="application/json"), records + shards))
    return root


def _measure(name: str, store: ObjectStore, files: int, wire: Counter[str] | None, scan: bool) -> dict[str, float]:
    root = _day(store, files, scan)
    ledger = Ledger(store, "ledger/")
    figures: dict[str, float] = {}

    def run(what: str, label: str, work: Callable[[], int]) -> None:
        if wire is not None:
            wire.clear()
        started = time.perf_counter()
        found = work()
        seconds = time.perf_counter() - started
        sent = ""
        if wire is not None:
            figures[f"{what} requests"] = sum(wire.values())
            sent = f"{sum(wire.values()):>6} requests ({', '.join(f'{k} {v}' for k, v in sorted(wire.items()))})"
        figures[f"{what} seconds"] = seconds
        print(f"  {name:5} {label:40} {found:>6} files {seconds:8.2f} s  {sent}", flush=True)

    run("index", "index: the day's shards", lambda: len(index.read(root, BANK, DAY)))
    if scan:
        run("scan", "scan: LIST + GET every record", lambda: len(ledger.records()))
    run(
        "update",
        "one update of a file's entry",
        lambda: int(index.update(root, BANK, DAY, _url(0), "done", time.time())),
    )
    base = root.key(f"index/{BANK}/{DAY}/")
    sizes = [i.size for i in store.list(base)] or [store.info(root.key(index.key(BANK, DAY))).size]  # type: ignore[union-attr]
    print(f"  {name:5} the day's index: {len(sizes)} shard objects, largest {max(sizes):,} bytes")
    if "scan seconds" in figures:
        ratio = f"{figures['scan requests'] / figures['index requests']:.0f}x fewer requests, " if wire else ""
        print(f"  {name:5} index vs scan: {ratio}{figures['scan seconds'] / figures['index seconds']:.0f}x faster")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", default="10000,50000", help="day sizes, comma-separated")
    parser.add_argument("--scan", choices=("all", "none"), default="all", help="also time the plain scan")
    args = parser.parse_args()
    sizes = [int(n) for n in args.files.split(",")]

    import boto3
    from moto.server import ThreadedMotoServer

    from bankgate.store.local import LocalStore
    from bankgate.store.s3 import S3Store

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    missed = []
    try:
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            region_name="us-east-1",
            config=Config(max_pool_connections=index.READERS),
        )
        wire: Counter[str] = Counter()
        client.meta.events.register("before-send.s3", lambda request, **_: wire.update([request.method]))
        for files in sizes:
            bucket = f"bench-ledger-{files}"
            client.create_bucket(Bucket=bucket)
            print(f"A day of {files:,} files for bank {BANK}:")
            s3 = _measure("s3", S3Store(bucket, client=client), files, wire, args.scan == "all")
            with tempfile.TemporaryDirectory() as tmp:
                _measure("local", LocalStore(tmp), files, None, args.scan == "all")
            slow = files <= 10_000 and s3["index seconds"] >= 2  # the goal's day: 10,000 files
            if slow or ("scan requests" in s3 and s3["scan requests"] < 10 * s3["index requests"]):
                missed.append(files)
    finally:
        server.stop()
    if missed:
        print(f"goal missed for {', '.join(map(str, missed))} files: >= 10x fewer requests (and < 2 s at 10,000)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
