"""The field reports' failures, as tests: scratch that leaks, descriptors that leak, module
globals that carry one request's data into the next, and failures that lose files.

These run the real handler on local (``file://``) stores, so tens of thousands of
invocations fit in a test run; the S3 path is covered by test_lambda_s3.py.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import bankgate.lambdas.process
from demo.local_aws import LambdaContext

ROOT = Path(__file__).resolve().parents[2]
PAYROLL = (ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes()
BAI2 = (ROOT / "samples/bai2/daily-balances.bai").read_bytes()


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    """A memory file system when there is one: 20,000 invocations touch ~300,000 files, and
    what is measured here is the handler, not the disk."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(dir=shm, prefix="bankgate-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def local(fast_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    names = ("staging", "archive", "quarantine", "ledger", "processed", "scratch")
    dirs = {name: fast_tmp / name for name in names}
    for path in dirs.values():
        path.mkdir()
    monkeypatch.delenv("BANKGATE_CONFIG", raising=False)
    monkeypatch.setenv("BANKGATE_STAGING", f"file://{dirs['staging']}")
    monkeypatch.setenv("BANKGATE_ARCHIVE", f"file://{dirs['archive']}")
    monkeypatch.setenv("BANKGATE_QUARANTINE", f"file://{dirs['quarantine']}")
    monkeypatch.setenv("BANKGATE_LEDGER", f"file://{dirs['ledger']}")
    monkeypatch.setenv("BANKGATE_SCRATCH_ROOT", str(dirs["scratch"]))
    monkeypatch.setenv("BANKGATE_ROUTES", json.dumps({"*": {"destination": f"file://{dirs['processed']}"}}))
    monkeypatch.setattr(bankgate.lambdas.process, "_pipeline", None)
    return dirs


def stage(dirs: dict[str, Path], key: str, data: bytes) -> dict:
    path = dirs["staging"] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    body = {
        "Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": str(dirs["staging"])}, "object": {"key": key}}}
        ]
    }
    return {
        "Records": [
            {
                "messageId": uuid.uuid4().hex,
                "receiptHandle": "r",
                "body": json.dumps(body),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
                "awsRegion": "us-east-1",
            }
        ]
    }


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
def test_twenty_thousand_invocations_leave_fds_scratch_and_memory_flat(local) -> None:
    context = LambdaContext()
    marks: dict[int, tuple[int, int]] = {}
    total = 20_000
    # The structured log lines would pile up in pytest's output capture and read as a leak.
    bankgate.lambdas.process.logger.setLevel("WARNING")
    try:
        for i in range(total):
            event = stage(local, f"inbound/acme/{i % 100}/{i}.ach", PAYROLL)
            assert bankgate.lambdas.process.handler(event, context) == {"batchItemFailures": []}
            assert not any(local["scratch"].iterdir()), f"scratch left behind after invocation {i}"
            if i in (1999, total - 1):
                marks[i] = (open_fds(), rss_bytes())
    finally:
        bankgate.lambdas.process.logger.setLevel("INFO")
    (fds_early, rss_early), (fds_late, rss_late) = marks[1999], marks[total - 1]
    assert fds_late <= fds_early, f"file descriptors grew from {fds_early} to {fds_late}"
    assert rss_late - rss_early < 8 << 20, f"RSS grew by {(rss_late - rss_early) >> 20} MiB over {total} invocations"
    assert sum(1 for _ in local["processed"].rglob("*.jsonl")) == total
    assert not any(p.is_file() for p in local["staging"].rglob("*"))


def test_interleaved_invocations_share_nothing(local) -> None:
    """Two invocations at once, same file name, different content: each gets its own."""
    events = [stage(local, "inbound/a/d/same.ach", PAYROLL), stage(local, "inbound/b/d/same.bai", BAI2)]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(i: int) -> None:
        barrier.wait()
        results[i] = bankgate.lambdas.process.handler(events[i], LambdaContext())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [{"batchItemFailures": []}] * 2
    nacha = (local["processed"] / "a/d/same.ach.jsonl").read_text().splitlines()
    bai2 = (local["processed"] / "b/d/same.bai.jsonl").read_text().splitlines()
    assert {json.loads(x)["record"] for x in nacha} >= {"file_header", "entry_detail"}
    assert {json.loads(x)["record"] for x in bai2} >= {"group_header", "transaction_detail"}
    # Nothing about either request is left in module state: only config and clients.
    pipeline = bankgate.lambdas.process._pipeline
    state = repr(vars(pipeline)) + repr(
        {k: v for k, v in vars(bankgate.lambdas.process).items() if not k.startswith("__")}
    )
    assert "same.ach" not in state and "same.bai" not in state


def test_failure_midway_leaves_no_scratch_and_loses_no_file(local, monkeypatch: pytest.MonkeyPatch) -> None:
    import bankgate.pipeline

    def explode(*args, **kwargs):
        raise OSError("disk vanished while writing outputs")

    monkeypatch.setattr(bankgate.pipeline, "write_records", explode)
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    event = stage(local, "inbound/acme/d/payroll.ach", PAYROLL)
    with pytest.raises(BatchProcessingError):  # every record of the batch failed: Lambda retries it
        bankgate.lambdas.process.handler(event, LambdaContext())
    assert not any(local["scratch"].iterdir())
    assert (local["staging"] / "inbound/acme/d/payroll.ach").read_bytes() == PAYROLL  # not lost
    assert not any(p.is_file() for p in local["processed"].rglob("*"))  # no partial output
    monkeypatch.undo()
    monkeypatch.setattr(bankgate.lambdas.process, "_pipeline", None)
    for name in ("staging", "archive", "quarantine", "ledger", "processed"):
        monkeypatch.setenv(f"BANKGATE_{name.upper()}", f"file://{local[name]}")
    monkeypatch.setenv("BANKGATE_SCRATCH_ROOT", str(local["scratch"]))
    monkeypatch.setenv("BANKGATE_ROUTES", json.dumps({"*": {"destination": f"file://{local['processed']}"}}))
    assert bankgate.lambdas.process.handler(event, LambdaContext()) == {"batchItemFailures": []}  # the retry
    assert (local["archive"] / "acme/d/payroll.ach").read_bytes() == PAYROLL
    assert not any(local["scratch"].iterdir())


def test_local_store_lock_files_do_not_accumulate(local) -> None:
    """A lock file per object ever replaced would grow without bound (one per ledger record):
    each is removed once the write it guarded is done."""
    broken = (ROOT / "samples/nacha/payroll-amount-edited-after-controls.ach").read_bytes()
    events = [stage(local, f"inbound/acme/d/{i}.ach", PAYROLL) for i in range(20)]
    events.append(stage(local, "inbound/acme/d/edited.ach", broken))
    for event in events + events[:3]:  # the last three are duplicate deliveries
        assert bankgate.lambdas.process.handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert len(list(local["ledger"].rglob("*.json"))) == 21
    locks = [p for d in local.values() for p in d.rglob("*") if ".locks" in p.parts and p.is_file()]
    assert locks == [], f"{len(locks)} lock files left behind"


def _bankgate_leftovers(local: dict[str, Path]) -> tuple[list[Path], list[Path]]:
    from bankgate.scratch import OURS
    from bankgate.store.local import PARTIAL

    scratch = [p for p in local["scratch"].iterdir() if OURS.match(p.name)]
    partials = [p for d in local.values() for p in d.rglob(".*") if PARTIAL.match(p.name)]
    return scratch, partials


@pytest.mark.slow
def test_a_sigkilled_worker_leaves_nothing_once_its_lease_expires(local, tmp_path: Path, monkeypatch) -> None:
    """A real child process is SIGKILLed mid-file (a Lambda timeout runs no ``finally``): its
    scratch dir (holding a spilled zip) and the hidden partial output stay behind. Within the
    lease they are left alone and the object is busy; once the lease has passed, the
    redelivered event takes the claim over, sweeps exactly what bankgate left, and processes."""
    import gzip
    import io
    import signal
    import subprocess
    import sys
    import time
    import zipfile

    from tests.parsers.nacha_helpers import concentration_ach

    lease = 3
    monkeypatch.setenv("BANKGATE_LEASE_SECONDS", str(lease))
    big = concentration_ach(200_000)  # ~19 MB: seconds of parsing, long enough to be killed in
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("conc.ach", big)
    event = stage(local, "inbound/acme/d/conc.zip.gz", gzip.compress(packed.getvalue()))  # the zip is spilled
    (tmp_path / "event.json").write_text(json.dumps(event))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, sys, bankgate.lambdas.process as p; from demo.local_aws import LambdaContext; "
            "p.handler(json.load(open(sys.argv[1])), LambdaContext())",
            str(tmp_path / "event.json"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not all(_bankgate_leftovers(local)):
            assert child.poll() is None, "the worker finished before it could be killed"
            assert time.monotonic() < deadline, "the worker never started writing"
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    killed_at = time.time()
    scratch, partials = _bankgate_leftovers(local)
    assert [p.suffix for p in scratch[0].iterdir()] == [".spill"]
    [partial] = partials
    assert partial.name.startswith(".conc.ach.jsonl.") and local["processed"] in partial.parents
    # What is not bankgate's own stays, however old: a shared /tmp, a user's hidden file.
    foreign = [local["scratch"] / "bankgate-cache", local["scratch"] / "0123456789abcdef0123456789abcdef"]
    for path in foreign:
        path.mkdir()
    foreign.append(local["processed"] / ".notes.partial")
    foreign[-1].write_text("mine")

    # Within the lease: another object processes, the leftovers stay, the killed object is busy.
    assert bankgate.lambdas.process.handler(stage(local, "inbound/acme/d/small.ach", PAYROLL), LambdaContext()) == {
        "batchItemFailures": []
    }
    assert _bankgate_leftovers(local) == (scratch, partials)
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    with pytest.raises(BatchProcessingError, match="being processed by another worker"):
        bankgate.lambdas.process.handler(event, LambdaContext())  # the message returns to the queue

    # After the lease: the redelivery sweeps and processes.
    time.sleep(max(0.0, killed_at + lease + 0.5 - time.time()))
    assert bankgate.lambdas.process.handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert _bankgate_leftovers(local) == ([], [])
    assert all(path.exists() for path in foreign)
    [output] = local["processed"].rglob("conc.ach.jsonl")
    assert output.parent == partial.parent
    assert sum(1 for _ in output.open("rb")) > 200_000  # the whole file, written once
    [record] = [
        r for r in (json.loads(p.read_text()) for p in local["ledger"].rglob("*.json")) if "conc" in r["source"]
    ]
    assert record["state"] == "done" and record["failures"] == 1 and "lease" in record["last_failure"]
    assert not any(p.is_file() for p in (local["staging"] / "inbound").rglob("*"))
