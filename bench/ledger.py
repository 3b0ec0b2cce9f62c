"""Ledger benchmark: list a bank's day of files from moto S3 (over HTTP on loopback) and from a
local directory, by its day index against a plain scan of every record, in one run.

    ./dev bench ledger [--files 10000]

For each store, a day of ``--files`` processed files is written: one processing record per
file under the ledger root and the day's index as the stage updates leave it. Then:

- index: ``bankgate.ledger.index.read`` of the bank's day (what ``bankgate ledger list`` does);
- scan: LIST the records and GET every one (what listing a day costs without the index);
- one more update of the full day's index (the price of the index: each stage change
  rewrites the day's object, GET + conditional PUT of all of it).

Requests are counted on the wire by botocore's event hooks (S3); seconds are wall clock.
Goal (issue 14): at least 10x fewer requests than the scan and under 2 s for the day.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bankgate.ledger import DONE, Ledger, LedgerRecord, Root, index  # noqa: E402
from bankgate.store.base import ObjectStore  # noqa: E402

DAY, BANK = "2026-11-23", "acme"


def _day(store: ObjectStore, files: int) -> Root:
    root = Root(store, "ledger/")
    ledger = Ledger(store, "ledger/")
    now = time.time()
    entries = {}
    records = []
    for n in range(files):
        url = f"s3://staging/inbound/{BANK}/{DAY}/file-{n:05}.ach"
        origin = {"kind": "pull", "owner": BANK, "record": "", "name": f"file-{n:05}.ach", "day": DAY}
        record = LedgerRecord(url, f"{n:016X}", DONE, claimed_at=now, finished_at=now, size=1000 + n, origin=origin)
        record.file_type, record.counts, record.totals = "nacha", {"entry_detail": 5}, {"total_credit": 1578137}
        records.append((ledger.key_for(url), record.to_json()))
        entries[url] = index.Entry(url, f"file-{n:05}.ach", "pull", "done", now, "nacha", 1000 + n).to_dict()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: store.put_bytes(kv[0], kv[1], content_type="application/json"), records))
    doc = {"owner": BANK, "day": DAY, "files": entries}
    store.put_bytes(root.key(index.key(BANK, DAY)), json.dumps(doc, separators=(",", ":")).encode())
    return root


def _measure(name: str, store: ObjectStore, files: int, wire: Counter[str] | None) -> None:
    root = _day(store, files)
    ledger = Ledger(store, "ledger/")

    def run(what: str, work) -> None:
        if wire is not None:
            wire.clear()
        started = time.perf_counter()
        found = work()
        seconds = time.perf_counter() - started
        sent = ""
        if wire is not None:
            sent = f"{sum(wire.values()):>6} requests ({', '.join(f'{k} {v}' for k, v in sorted(wire.items()))})"
        print(f"  {name:5} {what:36} {found:>6} files {seconds:8.2f} s  {sent}")

    run("index: one GET of the day", lambda: len(index.read(root, BANK, DAY)))
    run("scan: LIST + GET every record", lambda: len(ledger.records()))
    url = f"s3://staging/inbound/{BANK}/{DAY}/file-00000.ach"
    run("one update of the full day's index", lambda: int(index.update(root, BANK, DAY, url, "done", time.time())))
    size = store.info(root.key(index.key(BANK, DAY)))
    print(f"  {name:5} the day's index object: {size.size if size else 0:,} bytes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()

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
    try:
        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket="bench-ledger")
        wire: Counter[str] = Counter()
        client.meta.events.register("before-send.s3", lambda request, **_: wire.update([request.method]))
        print(f"A day of {args.files:,} files for bank {BANK}:")
        _measure("s3", S3Store("bench-ledger", client=client), args.files, wire)
        with tempfile.TemporaryDirectory() as tmp:
            _measure("local", LocalStore(tmp), args.files, None)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
