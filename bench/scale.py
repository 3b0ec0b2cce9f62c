"""Scale-out benchmark: N processing workers against one moto, and parallel pulls from 4 sshds.

    ./dev bench scale [--files 2000] [--workers 1,2,4,8] [--banks 20] [--duplicates 0.1]
                      [--pull-banks 4] [--pull-files 200] [--only process|pull]
                      [--pulls direct|airflow|both]

**Processing.** moto (S3 and SQS, a server in its own process) is reset for each N. The
``--files`` small bank files (NACHA from the project's writer, each with its own entries;
the BAI2 sample; and one in 25 the NACHA sample whose amount was edited after its controls,
which must be quarantined) are staged under ``inbound/<bank>/<day>/`` of ``--banks`` banks,
each with the link and "staged" index entry a pull leaves (so processing updates the banks'
day indexes as in production). The staging bucket's own S3 notifications (moto's, to an SQS
queue) are collected, and the event stream is built from them as SQS delivers at least
once: ``--duplicates`` of the events sent twice (half right behind the original, where two
workers race for it, half anywhere later) and one in ten swapped with a neighbour. That
stream goes to the work queue. Then N worker processes (as N Lambda containers) each import
``bankgate.lambdas.process``, build its pipeline (a warm container: timed from after), and loop:
receive up to 10 messages, call the real ``handler`` with the event Lambda's SQS event source
builds, delete what it did not report failed; a failed (``busy``) message becomes visible again
after ``--redeliver-after`` seconds (the visibility timeout, scaled down). A worker stops when
the queue has no message left, visible or in flight.

Printed per N: files/s (unique files over the wall clock from the go signal to the last
worker's last message) and the speed-up on N=1 of the same run; the ledger's conditional-write
conflicts (``bankgate.lease.TALLY``: 412/409 answers to a conditional PUT, each a round of
``lease.swap`` lost to another writer) and swaps given up; botocore's retries (HTTP sends minus
API calls); SQS redeliveries; S3 requests per file. Then the proof, from the buckets and the
ledger, not from the workers' word: every file has exactly one final ledger record of the right
state, exactly one ``processed``/``quarantined`` outcome in all the workers' logs (Powertools'
"object handled" lines), its original archived (or quarantined) once and gone from staging, and
every object in the processed bucket is an output named by exactly one ledger record, and each
record's outputs exist: lost and duplicated are both counted, and must be 0. The banks' day
indexes are checked too (every file's entry final).

**Pulls.** ``--pull-banks`` real OpenSSH sshds (``tests/sftp/sshd.py``: chrooted
internal-sftp, loopback), ``--pull-files`` small files each, pulled into moto S3 (reset
between the two ways), ``--pulls`` ways in one run, both with the banks' rules from one bank
config (``BANKGATE_BANKS``): ``direct``, one ``pull_bank`` process per bank all at once (the
core of the pull DAG's tasks, with the bank's default ``concurrency`` of 4 transfers; files/s
from after their imports); and ``airflow``, the banks' ``bank_pull__<bank>``
DAG runs triggered at once on a real Airflow 3 (``tests/ui/airflow_server.py``: api-server,
scheduler, dag-processor, SQLite) with the LocalExecutor and ``parallelism`` = the bank count,
every task in a process of its own (files/s from the triggers to the last run's end, and from
the first task's start to the last's end). Printed: files/s, the ledger conflicts (direct: each
process's ``lease.TALLY``; Airflow: the runs' reports, ``ledger_conflicts``), checked against
the wire: moto counts the conditional PUTs it answers and refuses (412/409) by kind of ledger
object, whichever process sent them (:func:`moto_server`); failures, what landed in staging
(read from S3), and the Airflow / direct ratio.

moto is one Python process: on a 2-core machine shared with other jobs the workers and moto
compete for the same cores, so the curve says where this machine flattens, not S3; see
docs/scaling.md for what it predicts on S3.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = "2026-11-23"
STAGING, ARCHIVE, PROCESSED = "scale-staging", "scale-archive", "scale-processed"
NOTIFY_QUEUE, WORK_QUEUE = "s3-events", "work"
BAD_EVERY = 25  # one file in 25 is broken (controls edited): quarantined
BAI2_EVERY = 7  # one in 7 (of the rest) is the BAI2 sample
ROUTES = {
    "nacha": {"destination": f"s3://{PROCESSED}/nacha/"},
    "bai2": {"destination": f"s3://{PROCESSED}/bai2/"},
    "*": {"destination": f"s3://{PROCESSED}/other/"},
}


def pipeline_env(moto_url: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_url,
        "BANKGATE_STAGING": f"s3://{STAGING}",
        "BANKGATE_ARCHIVE": f"s3://{ARCHIVE}/originals/",
        "BANKGATE_QUARANTINE": f"s3://{ARCHIVE}/quarantine/",
        "BANKGATE_LEDGER": f"s3://{ARCHIVE}/ledger/",
        "BANKGATE_ROUTES": json.dumps(ROUTES),
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


# -- the files ----------------------------------------------------------------------------------------


def nacha_file(n: int) -> bytes:
    """A small valid NACHA file of its own: 2 to 12 entries, amounts and names from ``n``."""
    import io

    from bankgate.parsers.nacha.writer import NachaWriter

    out = io.BytesIO()
    w = NachaWriter(out, immediate_destination="231380104", immediate_origin="1121042882")
    with w.batch(
        company_name="SCALE CORP",
        company_identification="1121042882",
        standard_entry_class_code="PPD",
        company_entry_description="PAYROLL",
        effective_entry_date=date(2026, 11, 23),
        odfi_identification="12104288",
    ) as b:
        for i in range(2 + n % 11):
            b.entry(
                transaction_code=22 if (n + i) % 4 else 27,
                rdfi_routing=("231380104", "031300012", "121042882")[(n + i) % 3],
                dfi_account_number=f"{100000000 + n * 13 + i}",
                amount=1000 + (n * 7919 + i) % 99991,
                identification_number=f"EMP{n}-{i}",
                receiver_name=f"RECEIVER {n} {i}",
            )
    w.close()
    return out.getvalue()


@dataclass(frozen=True)
class Staged:
    key: str
    bank: str
    body: bytes
    bad: bool


def bank_files(count: int, banks: int) -> list[Staged]:
    bai2 = (ROOT / "samples/bai2/daily-balances.bai").read_bytes()
    broken = (ROOT / "samples/nacha/payroll-amount-edited-after-controls.ach").read_bytes()
    files = []
    for n in range(count):
        bank = f"bank{n % banks:03}"
        if n % BAD_EVERY == BAD_EVERY - 1:
            files.append(Staged(f"inbound/{bank}/{DAY}/broken-{n:05}.ach", bank, broken, True))
        elif n % BAI2_EVERY == 3:
            files.append(Staged(f"inbound/{bank}/{DAY}/balances-{n:05}.bai", bank, bai2, False))
        else:
            files.append(Staged(f"inbound/{bank}/{DAY}/payments-{n:05}.ach", bank, nacha_file(n), False))
    return files


def event_stream(bodies: list[str], duplicates: float, rng: random.Random) -> list[str]:
    """At-least-once, out of order: some events twice (half right behind the original, half
    anywhere later), one in ten swapped with its neighbour."""
    stream = list(bodies)
    for body in rng.sample(bodies, int(len(bodies) * duplicates)):
        at = stream.index(body)
        near = rng.random() < 0.5
        stream.insert(at + 1 if near else rng.randrange(at + 1, len(stream) + 1), body)
    for i in range(0, len(stream) - 1, 10):
        j = i + rng.randrange(10)
        if j + 1 < len(stream):
            stream[j], stream[j + 1] = stream[j + 1], stream[j]
    return stream


# -- moto ---------------------------------------------------------------------------------------------


class Moto:
    """A moto server (S3, SQS) in its own process, so its CPU is not the parent's; it counts the
    conditional PUTs it answers (:func:`moto_server`), whichever process sent them."""

    def __init__(self) -> None:
        from tests.fixtures.clouds import free_port

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--moto", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        os.environ.update({k: v for k, v in pipeline_env(self.url).items() if k.startswith("AWS_")})
        os.environ.pop("AWS_PROFILE", None)
        for _ in range(400):
            try:
                self.client("s3").list_buckets()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("moto server did not start")

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service)

    def reset(self) -> None:
        """moto's state and its count of conditional PUTs, both emptied."""
        import requests

        requests.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()

    def conditional_puts(self) -> Counter[str]:
        """Since the last reset: conditional PUTs by ``"<kind> <HTTP status>"`` (:func:`moto_server`)."""
        import requests

        answer = requests.get(f"{self.url}{CONDITIONAL_PUTS}", timeout=30)
        answer.raise_for_status()
        return Counter(answer.json())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


CONDITIONAL_PUTS = "/_bench/conditional-puts"
_LEDGER_KINDS = ("index", "links", "claims", "pulled", "content", "observations")


def put_kind(path: str) -> str:
    """What a PUT's path (``/<bucket>/<key>``) writes: a ledger object's kind, or ``data``."""
    words = path.split("/")[2:]
    if words[:1] != ["ledger"]:
        return "data"
    return next((w for w in words[1:-1] if w in _LEDGER_KINDS), "record")


def moto_server(port: int) -> int:
    """moto's own server, with every conditional PUT (``If-Match``/``If-None-Match``) counted by
    kind and answer: the ledger's conflicts on the wire (412 ``PreconditionFailed``, 409
    ``ConditionalRequestConflict``), from all the processes that write, Airflow's tasks too.
    ``GET /_bench/conditional-puts`` returns the counts; moto's reset empties them."""
    import threading

    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    app = DomainDispatcherApplication(create_backend_app)
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == CONDITIONAL_PUTS:
            with lock:
                body = json.dumps(counts).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/moto-api/reset":
            with lock:
                counts.clear()
        conditional = environ["REQUEST_METHOD"] == "PUT" and bool(
            {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH"} & environ.keys()
        )
        if not conditional:
            return app(environ, start_response)

        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            with lock:
                counts[f"{put_kind(path)} {status.split()[0]}"] += 1
            return start_response(status, headers, exc_info)

        return app(environ, start)

    run_simple("127.0.0.1", port, counting, threaded=True, request_handler=MotoRequestHandler)
    return 0


def wire_line(puts: Counter[str]) -> str:
    """The conditional PUTs moto answered, and those it refused by kind of ledger object."""
    refused = Counter[str]()
    for name, n in puts.items():
        kind, status = name.rsplit(" ", 1)
        if status in ("409", "412"):
            refused[f"{kind} {status}"] += n
    by_kind = ", ".join(f"{k} {n}" for k, n in sorted(refused.items())) or "none"
    return f"  on the wire (moto): {puts.total()} conditional PUTs, {refused.total()} refused: {by_kind}"


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def queue_depth(sqs: Any, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    got = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(got[n]) for n in names)


# -- one N: stage, feed, run, verify --------------------------------------------------------------------


def stage(moto: Moto, files: list[Staged], duplicates: float, seed: int) -> tuple[str, int]:
    """Fresh buckets and queues, the files staged with their links, the work queue filled with
    the event stream; returns the work queue's URL and the number of events in it."""
    from bankgate.ledger import Root, index, links
    from bankgate.store.s3 import S3Store

    moto.reset()
    s3, sqs = moto.client("s3"), moto.client("sqs")
    for bucket in (STAGING, ARCHIVE, PROCESSED):
        s3.create_bucket(Bucket=bucket)
    notify = sqs.create_queue(QueueName=NOTIFY_QUEUE)["QueueUrl"]
    work = sqs.create_queue(QueueName=WORK_QUEUE, Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=notify, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "inbound/"}]}}
    config = {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": rule}]}
    s3.put_bucket_notification_configuration(Bucket=STAGING, NotificationConfiguration=config)
    root = Root(S3Store(ARCHIVE, client=s3), "ledger/")
    now = time.time()
    days: dict[str, dict[str, Any]] = {}
    for f in files:  # each bank's day index as the pulls leave it: every file "staged" (one PUT a bank)
        entry = {"name": f.key.rsplit("/", 1)[-1], "kind": "pull", "size": len(f.body), "staged_at": now}
        days.setdefault(f.bank, {})[f"s3://{STAGING}/{f.key}"] = {**entry, "state": "staged", "at": now}
    for bank, entries in days.items():
        doc = json.dumps({"owner": bank, "day": DAY, "files": entries}, sort_keys=True, separators=(",", ":"))
        s3.put_object(Bucket=ARCHIVE, Key=root.key(index.key(bank, DAY)), Body=doc.encode())

    def one_file(f: Staged) -> None:  # as a pull leaves each file: its link, then the object
        url = f"s3://{STAGING}/{f.key}"
        link = links.Link("pull", f.bank, f"sftp/{f.bank}/pulled/{DAY}/{uuid.uuid4().hex}.json", f.key, DAY)
        links.write(root, url, link)
        s3.put_object(Bucket=STAGING, Key=f.key, Body=f.body)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one_file, files))
    bodies = drain_bodies(sqs, notify, len(files))
    if len(bodies) != len(files):
        raise RuntimeError(f"moto sent {len(bodies)} notifications for {len(files)} objects")
    stream = event_stream(sorted(bodies), duplicates, random.Random(seed))
    for i in range(0, len(stream), 10):
        batch = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(stream[i : i + 10])]
        sqs.send_message_batch(QueueUrl=work, Entries=batch)
    return work, len(stream)


def drain_bodies(sqs: Any, queue_url: str, expected: int) -> list[str]:
    """Receive and delete until ``expected`` bodies came (moto's long poll is slow with a full
    queue, so short polls, up to a minute without a new message)."""
    bodies: list[str] = []
    idle_until = time.monotonic() + 60
    while len(bodies) < expected and time.monotonic() < idle_until:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            time.sleep(0.2)
            continue
        idle_until = time.monotonic() + 60
        bodies += [m["Body"] for m in got if "s3:TestEvent" not in m["Body"]]  # sent on configuration
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    return bodies


@dataclass
class Run:
    workers: int
    files: int
    events: int
    seconds: float = 0.0
    moto_cpu: float = 0.0  # CPU seconds moto spent while the workers ran
    stats: list[dict[str, Any]] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    proof: dict[str, int] = field(default_factory=dict)

    def total(self, name: str) -> int:
        return sum(int(s.get(name, 0)) for s in self.stats)


def run_workers(moto: Moto, work: str, n: int, redeliver_after: int, logs: Path) -> tuple[float, list[dict[str, Any]]]:
    """N worker processes; all warm (imports and clients built) before the clock starts."""
    env = {**os.environ, **pipeline_env(moto.url), "SCALE_QUEUE": work, "SCALE_REDELIVER": str(redeliver_after)}
    children = []
    for i in range(n):
        log = logs / f"worker-{n}-{i}.log"
        command = [sys.executable, __file__, "--worker", str(log)]
        children.append(
            subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        )
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a worker did not start")
    started = time.time()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()
    stats = []
    for child in children:
        assert child.stdout is not None
        out = child.stdout.read()
        if child.wait() != 0:
            raise RuntimeError(f"a worker failed (exit {child.returncode}); see {logs}")
        stats.append(json.loads(out.strip().splitlines()[-1]))
    return max(s["last"] for s in stats) - started, stats


HANDLED = re.compile(r'"object handled"')


def outcomes_in(logs: Path, n: int) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Every "object handled" line the workers' Powertools logger wrote: (status) and (source, status)."""
    statuses: Counter[str] = Counter()
    per_file: Counter[tuple[str, str]] = Counter()
    for path in logs.glob(f"worker-{n}-*.log"):
        for line in path.read_text().splitlines():
            if not HANDLED.search(line):
                continue
            entry = json.loads(line)
            statuses[entry["status"]] += 1
            per_file[(entry["source"], entry["status"])] += 1
    return statuses, per_file


def verify(moto: Moto, files: list[Staged], per_file: Counter[tuple[str, str]]) -> dict[str, int]:
    """Lost and duplicated, counted from the buckets, the ledger and the logs."""
    from bankgate.ledger import DONE, QUARANTINED, Ledger, Root, index
    from bankgate.store.s3 import S3Store

    s3 = moto.client("s3")
    store = S3Store(ARCHIVE, client=s3)
    records = {r.source: r for r in Ledger(store, "ledger/").records()}
    expected = {f"s3://{STAGING}/{f.key}": f for f in files}
    wrong_state = sum(
        1 for url, f in expected.items() if url in records and records[url].state != (QUARANTINED if f.bad else DONE)
    )
    finals = Counter(src for (src, status), count in per_file.items() for _ in range(count) if status in FINAL)
    named: Counter[str] = Counter(o["url"] for r in records.values() for o in r.outputs)
    present = {f"s3://{PROCESSED}/{k}" for k in keys(s3, PROCESSED)}
    archived = keys(s3, ARCHIVE, "originals/")
    quarantined = [k for k in keys(s3, ARCHIVE, "quarantine/") if not k.endswith(".error.json")]
    final_in_index = sum(
        1
        for bank in {f.bank for f in files}
        for entry in index.read(Root(store, "ledger/"), bank, DAY).values()
        if entry.state in (DONE, QUARANTINED)
    )
    return {
        "lost: no final record": sum(
            1 for url in expected if url not in records or records[url].state not in FINAL_STATES
        ),
        "wrong state": wrong_state,
        "lost: no final outcome": sum(1 for url in expected if finals[url] == 0),
        "duplicated: 2+ final outcomes": sum(1 for url in expected if finals[url] > 1),
        "lost: output missing": len(set(named) - present),
        "duplicated: output named twice": sum(1 for count in named.values() if count > 1),
        "duplicated: output no record names": len(present - set(named)),
        "originals archived": len(archived),
        "originals quarantined": len(quarantined),
        "left in staging": len(keys(s3, STAGING, "inbound/")),
        "outputs": len(present),
        "index entries final": final_in_index,
    }


FINAL = ("processed", "quarantined")
FINAL_STATES = ("done", "quarantined")
PROOF_ZERO = (
    "lost: no final record",
    "wrong state",
    "lost: no final outcome",
    "duplicated: 2+ final outcomes",
    "lost: output missing",
    "duplicated: output named twice",
    "duplicated: output no record names",
    "left in staging",
)


def processing(args: argparse.Namespace) -> list[Run]:
    files = bank_files(args.files, args.banks)
    bad = sum(f.bad for f in files)
    print(
        f"Processing: {len(files):,} files ({bad} broken) of {args.banks} banks, "
        f"{args.duplicates:.0%} of the events duplicated"
    )
    moto = Moto()
    runs: list[Run] = []
    logs = Path(tempfile.mkdtemp(prefix="bankgate-scale-"))
    try:
        for n in args.workers:
            work, events = stage(moto, files, args.duplicates, seed=n)
            run = Run(n, len(files), events)
            moto_cpu = _cpu_seconds(moto.process.pid)
            run.seconds, run.stats = run_workers(moto, work, n, args.redeliver_after, logs)
            run.moto_cpu = _cpu_seconds(moto.process.pid) - moto_cpu
            run.outcomes, per_file = outcomes_in(logs, n)
            run.proof = verify(moto, files, per_file)
            report_run(run, runs[0] if runs else None, bad)
            runs.append(run)
    finally:
        moto.stop()
        if not args.keep_logs:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            print(f"  worker logs: {logs}")
    return runs


def report_run(run: Run, first: Run | None, bad: int) -> None:
    rate = run.files / run.seconds
    speedup = f"x{rate / (first.files / first.seconds):.2f}" if first else "x1.00"
    calls = Counter[str]()
    for s in run.stats:
        calls.update(s["calls"])
    s3_calls = sum(v for k, v in calls.items() if k.startswith("s3."))
    ledger_calls = sum(v for k, v in calls.items() if k.startswith("s3.") and not k.endswith(" data"))
    sqs_calls = sum(v for k, v in calls.items() if k.startswith("sqs."))
    extra = run.total("received") - run.events - run.total("redelivered")
    p = run.proof
    failures = [name for name in PROOF_ZERO if p[name]]
    archived_ok = p["originals archived"] == run.files - bad and p["originals quarantined"] == bad
    index_ok = p["index entries final"] == run.files
    print(
        f"  N={run.workers}: {rate:6.1f} files/s ({speedup}) {run.seconds:6.1f} s | {run.events} events "
        f"{dict(sorted(run.outcomes.items()))} | lease conflicts {run.total('conflicts')}, "
        f"given up {run.total('contended')} | botocore retries {run.total('retries')} | "
        f"SQS redeliveries {run.total('redelivered')} (+{extra} delivered twice by SQS) | S3 "
        f"{s3_calls / run.files:.1f} req/file ({ledger_calls / run.files:.1f} of them the ledger's), "
        f"SQS {sqs_calls / run.files:.1f} req/file"
    )
    verdict = "0 lost, 0 duplicated" if not failures and archived_ok else f"FAILED: {failures}"
    print(
        f"        proof: {verdict}; {p['outputs']} outputs, {p['originals archived']} archived, "
        f"{p['originals quarantined']} quarantined, index {p['index entries final']}/{run.files} final"
        f"{'' if index_ok else ' (INDEX INCOMPLETE)'}"
    )
    worker_ms, moto_ms = 1000 * sum(s["cpu"] for s in run.stats) / run.files, 1000 * run.moto_cpu / run.files
    print(
        f"        CPU per file: workers {worker_ms:.0f} ms, moto {moto_ms:.0f} ms: at most "
        f"{2000 / (worker_ms + moto_ms):.0f} files/s on 2 idle cores"
    )
    top = ", ".join(f"{k} {v / run.files:.2f}" for k, v in sorted(calls.items()))
    print(f"        requests per file: {top}")


def summary(runs: list[Run]) -> None:
    """The runs as one Markdown table (docs/scaling.md quotes it)."""
    base = next((r for r in runs if r.workers == 1), runs[0])
    head = "N", "files/s", "vs N=1", "CPU ms/file", "lease conflicts", "given up", "retries", "redelivered", "lost"
    print("\n| " + " | ".join((*head, "duplicated")) + " |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        lost = sum(v for k, v in r.proof.items() if k.startswith("lost") or k == "left in staging")
        dup = sum(v for k, v in r.proof.items() if k.startswith("duplicated"))
        cpu = 1000 * (sum(s["cpu"] for s in r.stats) + r.moto_cpu) / r.files
        print(
            f"| {r.workers} | {r.files / r.seconds:.1f} | x{(r.files / r.seconds) / (base.files / base.seconds):.2f} "
            f"| {cpu:.0f} | {r.total('conflicts')} | {r.total('contended')} | {r.total('retries')} "
            f"| {r.total('redelivered')} | {lost} | {dup} |"
        )


# -- a worker (a child process: one Lambda container) ----------------------------------------------------


def _cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (or of ``pid``, from /proc): what a file costs
    whatever else the machine runs, unlike the wall clock."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_requests() -> tuple[Counter[str], Counter[str]]:
    """Count this process's AWS API calls (by operation and part) and HTTP sends from now on:
    handlers on boto3's default session, which every client made after this copies."""
    import boto3

    calls: Counter[str] = Counter()
    sends: Counter[str] = Counter()

    def on_call(model: Any, params: Any, **kwargs: Any) -> None:
        calls[f"{model.service_model.endpoint_prefix}.{model.name}{_part(params.get('Key', ''))}"] += 1

    session = boto3._get_default_session()
    session.events.register("before-parameter-build", on_call)
    session.events.register("before-send", lambda **kwargs: sends.update(["all"]))
    return calls, sends


def _part(key: str) -> str:
    """Which part of the deployment an S3 key belongs to, to count the ledger's requests apart."""
    for prefix, part in (("ledger/index/", " index"), ("ledger/links/", " link"), ("ledger/", " record")):
        if key.startswith(prefix):
            return part
    return " data" if key else ""


def worker(log_path: str) -> int:
    """Receive, handle, delete until the queue is empty; the last stdout line is its stats."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = open(log_path, "w", buffering=1 << 16)  # noqa: SIM115  # Powertools logs here
    import boto3

    calls, sends = count_requests()
    import bankgate.lambdas.process
    from bankgate import lease
    from demo.local_aws import LambdaContext, sqs_event

    bankgate.lambdas.process.pipeline()  # a warm container: config and clients built
    sqs = boto3.client("sqs")
    queue = os.environ["SCALE_QUEUE"]
    redeliver = int(os.environ["SCALE_REDELIVER"])
    protocol.write("ready\n")
    sys.stdin.readline()
    cpu = _cpu_seconds()
    redelivered, received, last = 0, 0, time.time()
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            if queue_depth(sqs, queue) == 0:
                break
            time.sleep(0.2)
            continue
        received += len(got)
        response = bankgate.lambdas.process.handler(sqs_event(got), LambdaContext())
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        done = [m for m in got if m["MessageId"] not in failed]
        for m in got:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=redeliver
                )
        if done:
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)]
            sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
        redelivered += len(failed)
        last = time.time()
    sys.stdout.flush()
    stats = {
        "conflicts": lease.TALLY.conflicts,
        "contended": lease.TALLY.contended,
        "retries": sends["all"] - sum(calls.values()),
        "redelivered": redelivered,
        "received": received,
        "last": last,
        "cpu": _cpu_seconds() - cpu,
        "calls": dict(calls),
    }
    protocol.write(json.dumps(stats) + "\n")
    return 0


# -- pulls ----------------------------------------------------------------------------------------------


def pulls(args: argparse.Namespace) -> None:
    """The pull load (``--pull-banks`` sshds, ``--pull-files`` each), run ``--pulls`` ways, each
    against a fresh moto: ``direct`` (one ``pull_bank`` process per bank) and ``airflow`` (the
    banks' pull DAGs on a real Airflow 3 with the LocalExecutor, parallelism = the bank count)."""
    from tests.sftp.sshd import start_sshd

    print(
        f"Pulls: {args.pull_banks} banks x {args.pull_files} files, one real OpenSSH sshd each, "
        f"{args.pull_banks} at once; ways: {args.pulls}"
    )
    moto = Moto()
    servers = []
    home = Path(tempfile.mkdtemp(prefix="bankgate-scale-pulls-"))
    banks_toml = home / "banks.toml"  # both ways pull with the same rules
    banks_toml.write_text("\n".join(_bank_toml(b) for b in range(args.pull_banks)))
    try:
        old = time.time() - 3600
        for b in range(args.pull_banks):
            server = start_sshd()
            servers.append(server)
            for n in range(args.pull_files):
                server.put(f"/outbound/payments-{n:04}.ach", nacha_file(b * 10_000 + n), mtime=old)
        rates = {}
        for way in ("direct", "airflow") if args.pulls == "both" else (args.pulls,):
            moto.reset()
            s3 = moto.client("s3")
            for bucket in (STAGING, ARCHIVE):  # staging, and the ledger root (BANKGATE_LEDGER) all banks share
                s3.create_bucket(Bucket=bucket)
            rates[way] = (direct_pulls if way == "direct" else airflow_pulls)(args, servers, moto, banks_toml)
            print(wire_line(moto.conditional_puts()))
        if len(rates) == 2:
            print(f"  Airflow / direct, files/s: {rates['airflow'] / rates['direct']:.2f}x (the same load, this run)")
    finally:
        for server in servers:
            server.stop()
        moto.stop()
        shutil.rmtree(home, ignore_errors=True)


def _landed_line(s3: Any, expected: int, pulled: int, conflicts: int, failed: int, extra: str = "") -> str:
    landed = len(keys(s3, STAGING, "inbound/"))
    ok = "" if landed == expected == pulled else " (MISMATCH)"
    return f"  lease conflicts {conflicts}{extra} | failed {failed} | landed in staging {landed}/{expected}{ok}"


def direct_pulls(args: argparse.Namespace, servers: list[Any], moto: Moto, banks_toml: Path) -> float:
    """One ``pull_bank`` process per bank, all at once: what each pull task runs, without Airflow,
    with the bank's rules from the DAGs' config (``banks_toml``)."""
    print(f"  direct: {len(servers)} pull_bank processes at once")
    specs = [
        {
            "bank": f"bank{b}",
            "host": s.host,
            "port": s.port,
            "user": s.user,
            "password": s.password,
            "known_hosts": s.known_hosts,
            "banks": str(banks_toml),
        }
        for b, s in enumerate(servers)
    ]
    env = {**os.environ, **pipeline_env(moto.url)}
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--puller", json.dumps(spec)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for spec in specs
    ]
    stats = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode:
            raise RuntimeError(f"a pull failed (exit {child.returncode})")
        stats.append(json.loads(out.strip().splitlines()[-1]))
    seconds = max(s["finished"] for s in stats) - min(s["started"] for s in stats)  # from after imports
    pulled = sum(s["pulled"] for s in stats)
    print(
        f"  {pulled} pulled in {seconds:.1f} s: {pulled / seconds:.1f} files/s | each bank: "
        + ", ".join(f"{s['bank']} {s['pulled']} in {s['seconds']:.1f} s" for s in stats)
    )
    contended = sum(s["contended"] for s in stats)
    retries = sum(s["retries"] for s in stats)
    conflicts, failed = sum(s["conflicts"] for s in stats), sum(s["failed"] for s in stats)
    extra = f", given up {contended} | botocore retries {retries}"
    print(_landed_line(moto.client("s3"), len(servers) * args.pull_files, pulled, conflicts, failed, extra))
    calls = Counter[str]()
    for s in stats:
        calls.update(s["calls"])
    per_file = ", ".join(f"{k} {v / max(pulled, 1):.2f}" for k, v in sorted(calls.items()))
    print(f"  S3 requests per file {sum(calls.values()) / max(pulled, 1):.1f}: {per_file}")
    return pulled / seconds


def _bank_toml(b: int) -> str:
    return f"""\
[banks.bank{b}]
conn_id = "sftp_bank{b}"
remote_dirs = ["/outbound"]
include = ["*.ach"]
cron = "0 6 * * *"
timezone = "UTC"
destination = "s3://{STAGING}/inbound/bank{b}/"
stability = {{ unchanged_for = "3 s" }}
post_pull = "keep"
"""


def _when(text: str | None) -> float:
    from datetime import datetime

    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp() if text else 0.0


def airflow_pulls(args: argparse.Namespace, servers: list[Any], moto: Moto, banks_toml: Path) -> float:
    """Each bank's ``bank_pull__<bank>`` DAG, triggered at once on a real Airflow 3 (api-server,
    scheduler, dag-processor; LocalExecutor with ``parallelism`` = the bank count; SQLite), each
    task in a process of its own as in production. Conflicts come from each run's report (the
    ledger's lost compare-and-swap rounds its tasks counted: ``ledger_conflicts``)."""
    from tests.ui.airflow_server import Airflow

    banks = len(servers)
    home = Path(tempfile.mkdtemp(prefix="bankgate-scale-airflow-"))
    env = {**pipeline_env(moto.url), "BANKGATE_BANKS": str(banks_toml)}
    env["AIRFLOW__CORE__PARALLELISM"] = str(banks)
    for b, server in enumerate(servers):
        conn = {
            "conn_type": "sftp",
            "host": server.host,
            "port": server.port,
            "login": server.user,
            "extra": {"private_key": server.client_key.read_text(), "known_hosts": server.known_hosts},
        }
        env[f"AIRFLOW_CONN_SFTP_BANK{b}"] = json.dumps(conn)
    airflow = Airflow(home / "airflow", env)
    began = time.monotonic()
    try:
        airflow.start()
        dags = [f"bank_pull__bank{b}" for b in range(banks)]
        for dag in dags:
            airflow.wait_for_dag(dag, timeout=180)
            airflow.api("PATCH", f"dags/{dag}", json={"is_paused": False}).raise_for_status()
        startup = time.monotonic() - began
        print(f"  airflow: {banks} pull DAG runs at once, LocalExecutor parallelism {banks} (start-up {startup:.0f} s)")
        triggered = time.time()
        runs = {}
        for dag in dags:
            answer = airflow.api("POST", f"dags/{dag}/dagRuns", json={"logical_date": None})
            answer.raise_for_status()
            runs[dag] = answer.json()["dag_run_id"]
        ended = {dag: airflow.wait_for_run(dag, run, timeout=1800) for dag, run in runs.items()}
        finished = max(_when(run.get("end_date")) for run in ended.values()) or time.time()  # not the poll's
        tis = {
            dag: airflow.api("GET", f"dags/{dag}/dagRuns/{run}/taskInstances", params={"limit": 1000}).json()[
                "task_instances"
            ]
            for dag, run in runs.items()
        }
        reports = {}
        for dag, run in runs.items():
            entry = airflow.api(
                "GET",
                f"dags/{dag}/dagRuns/{run}/taskInstances/record/xcomEntries/return_value",
                params={"deserialize": "true"},
            ).json()
            value = entry.get("value")
            reports[dag] = json.loads(value) if isinstance(value, str) else value
    finally:
        airflow.stop()
        shutil.rmtree(home, ignore_errors=True)
    first = min(_when(ti.get("start_date")) for all_tis in tis.values() for ti in all_tis if ti.get("start_date"))
    last = max(_when(ti.get("end_date")) for all_tis in tis.values() for ti in all_tis if ti.get("end_date"))
    pulled = sum(len(r.get("pulled") or []) for r in reports.values())
    failed = sum(len(r.get("failed") or {}) for r in reports.values())
    conflicts = sum(int(r.get("ledger_conflicts", 0)) for r in reports.values())
    wall = finished - triggered
    tasks = sum(len(t) for t in tis.values())
    states = Counter(run["state"] for run in ended.values())
    print(
        f"  {pulled} pulled: {pulled / wall:.1f} files/s from the triggers to the last run's end ({wall:.1f} s), "
        f"{pulled / (last - first):.1f} from the first task's start to the last's end ({last - first:.1f} s) | "
        f"{tasks} task instances | runs {dict(states)}"
    )

    def span(dag: str) -> float:
        started = [_when(t.get("start_date")) for t in tis[dag] if t.get("start_date")]
        return max(_when(t.get("end_date")) for t in tis[dag]) - min(started)

    each = ", ".join(
        f"{dag.rsplit('__', 1)[1]} {len(reports[dag].get('pulled') or [])} in {span(dag):.1f} s" for dag in runs
    )
    print(f"  each bank (first task start to last end): {each}")
    print(_steps_line([ti for all_tis in tis.values() for ti in all_tis]))
    print(_landed_line(moto.client("s3"), banks * args.pull_files, pulled, conflicts, failed))
    return pulled / wall


def _steps_line(tis: list[dict[str, Any]]) -> str:
    """Where the task processes' time went: seconds by step (summed over runs and map indexes),
    the median task, and the time from queued to running (a free slot of ``parallelism``, then
    the task process's start: the supervisor, the DAG file parsed again)."""
    import statistics

    by_step: Counter[str] = Counter()
    for ti in tis:
        by_step[ti["task_id"]] += float(ti.get("duration") or 0)
    durations = [float(ti.get("duration") or 0) for ti in tis]
    queued = [
        _when(ti["start_date"]) - _when(ti["queued_when"])
        for ti in tis
        if ti.get("queued_when") and ti.get("start_date")
    ]
    steps = ", ".join(f"{step} {seconds:.0f}" for step, seconds in by_step.items())
    return (
        f"  task seconds by step: {steps} | median task {statistics.median(durations):.1f} s | "
        f"queued to running: {sum(queued):.0f} s in all, median {statistics.median(queued or [0]):.1f} s"
    )


def puller(spec_json: str) -> int:
    """One pull task: ``pull_bank`` for one bank into moto S3; the last stdout line its stats."""
    calls, sends = count_requests()
    from bankgate import lease
    from bankgate.banks import load_banks
    from bankgate.sftp import SftpSettings, pull_bank

    spec = json.loads(spec_json)
    settings = SftpSettings(
        host=spec["host"],
        port=spec["port"],
        username=spec["user"],
        password=spec["password"],
        known_hosts=spec["known_hosts"],
    )
    rules = load_banks(spec["banks"])[spec["bank"]]
    started = time.time()
    report = pull_bank(settings, rules, rules.destination)  # each file under its mtime's date
    stats = {
        "bank": spec["bank"],
        "pulled": len(report.pulled),
        "failed": len(report.failed),
        "seconds": time.time() - started,
        "finished": time.time(),
        "conflicts": lease.TALLY.conflicts,
        "contended": lease.TALLY.contended,
        "retries": sends["all"] - sum(calls.values()),
        "started": started,
        "calls": dict(calls),
    }
    print(json.dumps(stats))
    return 0


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each N as it ends
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        return worker(sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == "--puller":
        return puller(sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == "--moto":
        return moto_server(int(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workers", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2, 4, 8])
    parser.add_argument("--banks", type=int, default=20)
    parser.add_argument("--duplicates", type=float, default=0.10)
    parser.add_argument("--redeliver-after", type=int, default=1, help="seconds a failed message stays invisible")
    parser.add_argument("--pull-banks", type=int, default=4)
    parser.add_argument("--pull-files", type=int, default=200)
    parser.add_argument("--only", choices=("process", "pull"))
    parser.add_argument("--pulls", choices=("direct", "airflow", "both"), default="both", help="how the pulls run")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    if args.only != "pull":
        runs = processing(args)
        summary(runs)
        if any(run.proof[name] for run in runs for name in PROOF_ZERO):
            print("FAILED: lost or duplicated files (above)")
            return 1
    if args.only != "process":
        pulls(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
