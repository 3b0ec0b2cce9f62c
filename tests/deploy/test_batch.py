"""Big files: the process Lambda hands them to AWS Batch (moto's Batch API over HTTP), once, and
the runner's entry point, ``bankgate process URL`` in a subprocess, takes the hand-off over."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from bankgate.batch import AwsBatch, HandOff
from bankgate.config import PipelineConfig
from bankgate.ledger import DONE, HANDED_OFF
from bankgate.pipeline import Pipeline, StagedObject
from demo.local_aws import LambdaContext
from tests.deploy.conftest import ROOT
from tests.fixtures.clouds import point_aws_at

PAYROLL = ROOT / "samples" / "nacha" / "payroll-ppd-ccd.ach"


@pytest.fixture(scope="module")
def batch(moto_server: str) -> Iterator[dict[str, Any]]:
    """A Fargate job queue and the runner's job definition in moto."""
    monkeypatch = pytest.MonkeyPatch()
    point_aws_at(moto_server, monkeypatch)
    ec2, iam, client = boto3.client("ec2"), boto3.client("iam"), boto3.client("batch")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="batch", Description="jobs", VpcId=vpc)["GroupId"]
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    environment = client.create_compute_environment(
        computeEnvironmentName="bankgate",
        type="MANAGED",
        serviceRole=role,
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [group]},
    )["computeEnvironmentArn"]
    queue = client.create_job_queue(
        jobQueueName="bankgate-process",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )["jobQueueArn"]
    definition = client.register_job_definition(
        jobDefinitionName="bankgate-process",
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "bankgate-batch:local",
            "command": ["--help"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        },
    )["jobDefinitionArn"]
    yield {"client": client, "queue": queue, "definition": definition}
    monkeypatch.undo()


def jobs(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """Every job submitted to the queue, whatever moto's runner made of it (it has no Docker)."""
    client = batch["client"]
    statuses = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
    ids = {
        j["jobId"] for s in statuses for j in client.list_jobs(jobQueue=batch["queue"], jobStatus=s)["jobSummaryList"]
    }
    return client.describe_jobs(jobs=sorted(ids))["jobs"] if ids else []


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_lambda_hands_a_big_file_off_exactly_once(
    batch: dict[str, Any], moto_server: str, monkeypatch, versioned: bool
) -> None:
    """The job gets the object's URL, and on a versioned staging bucket (the stack's) the
    version the event named, so it processes those bytes even if the key is written again."""
    point_aws_at(moto_server, monkeypatch)
    s3 = boto3.client("s3")
    run = uuid.uuid4().hex[:6]
    staging, archive, processed = (f"hand-{kind}-{run}" for kind in ("staging", "archive", "processed"))
    for bucket in (staging, archive, processed):
        s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=staging, VersioningConfiguration={"Status": "Enabled"})
    settings = {
        "BANKGATE_STAGING": f"s3://{staging}",
        "BANKGATE_ARCHIVE": f"s3://{archive}/originals/",
        "BANKGATE_QUARANTINE": f"s3://{archive}/quarantine/",
        "BANKGATE_LEDGER": f"s3://{archive}/ledger/",
        "BANKGATE_ROUTES": json.dumps({"*": {"destination": f"s3://{processed}/other/"}}),
        "BANKGATE_BATCH_JOB_QUEUE": batch["queue"],
        "BANKGATE_BATCH_JOB_DEFINITION": batch["definition"],
        "BANKGATE_BATCH_THRESHOLD": "1000",  # the sample payroll file is 3 KB: "big" here
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    import bankgate.lambdas.process

    monkeypatch.setattr(bankgate.lambdas.process, "_pipeline", None)
    key = "inbound/acme/2026-03-04/payroll.ach"
    put = s3.put_object(Bucket=staging, Key=key, Body=PAYROLL.read_bytes())
    obj = {"key": key, "eTag": put["ETag"].strip('"'), "sequencer": "0A1B"}
    if versioned:
        obj["versionId"] = put["VersionId"]
    record = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": staging}, "object": obj}}
    message = {"body": json.dumps({"Records": [record]}), "eventSource": "aws:sqs", "attributes": {}}
    duplicates = {"Records": [{**message, "messageId": "m1"}, {**message, "messageId": "m2"}]}
    assert bankgate.lambdas.process.handler(duplicates, LambdaContext()) == {"batchItemFailures": []}
    redelivered = {"Records": [{**message, "messageId": "m3"}]}  # a later redelivery, same event
    assert bankgate.lambdas.process.handler(redelivered, LambdaContext()) == {"batchItemFailures": []}

    url = f"s3://{staging}/{key}"
    (job,) = [j for j in jobs(batch) if j["container"]["command"][0] == url]  # the queue outlives one case
    assert job["jobDefinition"] == batch["definition"]
    assert job["container"]["command"] == ([url, "--version-id", put["VersionId"]] if versioned else [url])
    found = bankgate.lambdas.process.pipeline().ledger.get(url)
    assert found is not None
    ledger_record, _ = found
    assert (ledger_record.state, ledger_record.job_id) == (HANDED_OFF, job["jobId"])
    assert "above the batch threshold" in ledger_record.reason
    assert s3.list_objects_v2(Bucket=staging)["KeyCount"] == 1  # the job reads it from staging
    assert not s3.list_objects_v2(Bucket=processed).get("Contents")


def _generate_nacha(path: Path, entries: int) -> None:
    """A valid NACHA file of ``entries`` entries, by bench/nacha.py's generator (the project's writer)."""
    spec = importlib.util.spec_from_file_location("bench_nacha", ROOT / "bench" / "nacha.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.generate(path, entries, 10_000)


def _run_job(env: dict[str, str], url: str, tmp: Path) -> tuple[int, dict[str, Any], int]:
    """``bankgate process URL`` as the batch image runs it: exit code, its JSON line and its own
    peak RSS in KiB (``wait4``: this child's, not the largest of every child so far)."""
    command = [sys.executable, "-m", "bankgate.cli", "process", url]
    with open(tmp / "out", "w+b") as out, open(tmp / "err", "w+b") as err:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = out.read().decode().strip().splitlines()
        assert lines, err.read().decode()
    return child.returncode, json.loads(lines[-1]), usage.ru_maxrss


def _runner_stores(tmp_path: Path, *, scratch_budget: int) -> tuple[dict[str, Path], dict[str, str]]:
    """A folder for each store, and the runner's settings pointing at them."""
    dirs = {name: tmp_path / name for name in ("staging", "archive", "quarantine", "ledger", "processed")}
    for path in dirs.values():
        path.mkdir()
    settings = {
        "BANKGATE_STAGING": f"file://{dirs['staging']}",
        "BANKGATE_ARCHIVE": f"file://{dirs['archive']}/",
        "BANKGATE_QUARANTINE": f"file://{dirs['quarantine']}/",
        "BANKGATE_LEDGER": f"file://{dirs['ledger']}/",
        "BANKGATE_ROUTES": json.dumps({"*": {"destination": f"file://{dirs['processed']}/"}}),
        "BANKGATE_SCRATCH_BUDGET": str(scratch_budget),
    }
    return dirs, settings


def test_runner_takes_the_hand_off_over_with_flat_memory(batch: dict[str, Any], tmp_path: Path) -> None:
    """Scale: 30,000 and 120,000 entries (2.9 and 11.4 MB) with a 4 MiB scratch budget, written by
    the project's NACHA writer (about 1.2 MB/s: the slow part of this test); the big file, a gzip
    member of 300 MiB (or the issue's 3 GiB), is the next test's."""
    dirs, settings = _runner_stores(tmp_path, scratch_budget=4 << 20)
    config = PipelineConfig.from_env(settings)
    lambda_side = Pipeline(
        config, handoff=HandOff(AwsBatch(batch["queue"], batch["definition"], batch["client"]), 1 << 20)
    )
    peaks = {}
    for entries in (30_000, 120_000):
        name = f"bank/2026-03-04/big-{entries}.ach"
        target = dirs["staging"] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        _generate_nacha(target, entries)
        handed = lambda_side.process(StagedObject(name))
        assert handed.status == "handed_off", handed
        record, _ = lambda_side.ledger.get(handed.source)
        env = {**os.environ, **settings, "AWS_BATCH_JOB_ID": record.job_id}
        code, result, peak = _run_job(env, handed.source, tmp_path)
        assert (code, result["status"]) == (0, "processed"), result
        peaks[entries] = peak
        again_code, again, _ = _run_job(env, handed.source, tmp_path)  # the job started twice: a no-op
        assert (again_code, again["status"]) == (0, "duplicate"), again
        record, _ = lambda_side.ledger.get(handed.source)
        assert (record.state, record.job_id) == (DONE, env["AWS_BATCH_JOB_ID"])
        assert record.counts["entry_detail"] == entries
    files = [p.relative_to(dirs["processed"]).as_posix() for p in dirs["processed"].rglob("*") if p.is_file()]
    outputs = sorted(f for f in files if not f.startswith(".meta/"))  # the local store's metadata sidecars
    assert outputs == [f"bank/2026-03-04/big-{n}.ach.jsonl" for n in (120_000, 30_000)]  # one set, no partials
    archived = sorted(p.name for p in dirs["archive"].rglob("*.ach"))
    assert archived == ["big-120000.ach", "big-30000.ach"]
    assert not [p for p in dirs["staging"].rglob("*.ach")]
    growth_mib = (peaks[120_000] - peaks[30_000]) / 1024
    print(f"runner peak RSS: {peaks[30_000] / 1024:.0f} MiB at 2.9 MB, {peaks[120_000] / 1024:.0f} MiB at 11.4 MB")
    assert growth_mib < 24  # four times the file, flat memory


MiB = 1 << 20
#: Set to run the issue's 3 GiB size too (87 CPU seconds and a minute of generating: over the
#: suite's budget; the suite keeps the 300 MiB one). Not a bankgate setting: only this test reads it.
RUN_3GIB = os.environ.get("RUN_3GIB", "") not in ("", "0")


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every process below it (the runner may start workers)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next((int(line.split()[1]) << 10 for line in status if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended between two reads
    return total


def _run_sampled(
    env: dict[str, str], url: str, tmp: Path
) -> tuple[int, dict[str, Any], list[tuple[float, int]], float]:
    """``bankgate process URL`` with its process tree's RSS sampled every 0.1 s: exit code,
    its JSON line, the (seconds, bytes) samples and its CPU seconds (user + system: on a shared
    machine the figure to compare between runs)."""
    command = [sys.executable, "-m", "bankgate.cli", "process", url]
    samples: list[tuple[float, int]] = []
    with open(tmp / "out", "w+b") as out, open(tmp / "err", "w+b") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=ROOT)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            samples.append((time.perf_counter() - started, _tree_rss(child.pid) if not pid else 0))
            if pid:
                break
            time.sleep(0.1)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = out.read().decode().strip().splitlines()
        err.seek(0)
        assert lines, err.read().decode()
    return child.returncode, json.loads(lines[-1]), samples, usage.ru_utime + usage.ru_stime


@pytest.mark.parametrize(
    "member_bytes",
    [
        pytest.param(300 * MiB, id="300MiB"),
        pytest.param(
            3 << 30,
            id="3GiB",
            marks=[pytest.mark.slow, pytest.mark.skipif(not RUN_3GIB, reason="3 GiB: set RUN_3GIB=1 (about 90 CPU s)")],
        ),
    ],
)
def test_runner_streams_a_big_gzip_member_within_a_small_scratch_budget(
    batch: dict[str, Any], tmp_path: Path, member_bytes: int
) -> None:
    """A gzip whose member is many times the 512 MiB scratch budget (and the machine's spare
    memory) is handed off, then processed by the runner in a subprocess: it finishes, its RSS
    stays flat, and exactly one set of outputs is produced."""
    from tests.fixtures.bigfiles import RECORD, write_positive_pay_gz

    dirs, settings = _runner_stores(tmp_path, scratch_budget=512 * MiB)
    name = "bank/2026-03-04/checks.txt.gz"
    (dirs["staging"] / name).parent.mkdir(parents=True)
    generating = time.perf_counter()
    written = write_positive_pay_gz(dirs["staging"] / name, member_bytes // RECORD - 2)
    generated = time.perf_counter() - generating
    packed = (dirs["staging"] / name).stat().st_size

    config = PipelineConfig.from_env(settings)
    lambda_side = Pipeline(
        config, handoff=HandOff(AwsBatch(batch["queue"], batch["definition"], batch["client"]), 1 << 20)
    )
    handed = lambda_side.process(StagedObject(name))
    assert handed.status == "handed_off", handed
    record, _ = lambda_side.ledger.get(handed.source)
    env = {**os.environ, **settings, "AWS_BATCH_JOB_ID": record.job_id}
    code, result, samples, cpu = _run_sampled(env, handed.source, tmp_path)
    seconds = samples[-1][0]
    assert (code, result["status"]) == (0, "processed"), result

    peak = max(rss for _, rss in samples)
    half = seconds / 2
    early = max((rss for t, rss in samples if seconds * 0.1 < t <= half), default=0)
    late = max((rss for t, rss in samples if t > half), default=0)
    report = (
        f"{written.bytes / MiB:,.0f} MiB member ({packed / MiB:,.0f} MiB gzip), generated in {generated:.1f} s; "
        f"runner: {seconds:.1f} s, {written.bytes / 1e6 / seconds:.1f} MB/s ({cpu:.1f} CPU s, "
        f"{written.bytes / 1e6 / cpu:.1f} MB/s per CPU second), peak RSS {peak / MiB:.0f} MiB "
        f"(first half {early / MiB:.0f}, second half {late / MiB:.0f})"
    )
    print(report)
    assert peak < 256 * MiB, report  # bounded by design: a block of records at a time
    assert late < early + 32 * MiB, report  # flat: the second half of the file costs no more

    record, _ = lambda_side.ledger.get(handed.source)
    assert (record.state, record.job_id) == (DONE, env["AWS_BATCH_JOB_ID"])
    assert record.counts == {"header": 1, "detail": written.checks, "trailer": 1}
    assert record.totals["detail.amount"] == written.total_cents
    files = [p.relative_to(dirs["processed"]).as_posix() for p in dirs["processed"].rglob("*") if p.is_file()]
    outputs = [f for f in files if not f.startswith(".meta/")]
    assert outputs == ["bank/2026-03-04/checks.txt.gz/checks.txt.jsonl"]  # one set, no partials
    output = dirs["processed"] / outputs[0]
    with open(output, "rb") as stream:
        stream.seek(-4096, os.SEEK_END)
        last = json.loads(stream.read().splitlines()[-1])
    assert (last["record"], last["record_count"], last["total_amount"]) == (
        "trailer",
        written.checks,
        written.total_cents,
    )
    assert [p.name for p in dirs["archive"].rglob("*.gz")] == ["checks.txt.gz"]
    assert not [p for p in dirs["staging"].rglob("*") if p.is_file()]
    assert not [p for p in dirs["quarantine"].rglob("*") if p.is_file()]


def test_the_ledger_hands_off_to_one_job_until_its_lease_expires(tmp_path: Path) -> None:
    from bankgate.ledger import Ledger
    from bankgate.store import open_url

    store, prefix = open_url(f"file://{tmp_path}/ledger/")
    ledger = Ledger(store, prefix, lease_seconds=900)
    source = "s3://staging/inbound/big.ach"
    claim = ledger.claim(source, "0A", etag="e1")
    ledger.finish(claim, state=HANDED_OFF, job_id="job-1", expires_at=time.time() + 3600)
    assert ledger.claim(source, "0A", etag="e1").status == "handed_off"  # a duplicate event: no-op
    assert ledger.claim(source, "", etag="e1", job_id="job-2").status == "handed_off"  # not its job
    assert ledger.claim(source, "0B", etag="e2").status == "busy"  # a newer version waits for the job
    taken = ledger.claim(source, "", etag="e1", job_id="job-1")
    assert taken.granted and taken.record.failures == 0 and taken.record.sequencer == "0A"
    retry = ledger.claim(source, "", etag="e1", job_id="job-1")  # a new attempt of the same job
    assert retry.granted and retry.record.failures == 1
    ledger.finish(retry, state=HANDED_OFF, job_id="job-1", expires_at=time.time() - 1)  # a job that died
    again = ledger.claim(source, "0A", etag="e1")  # the next delivery takes it over, and resubmits
    assert again.granted and again.record.failures == 2
    assert "batch job job-1" in again.record.last_failure


def test_a_zip_the_scratch_budget_refuses_is_handed_off_not_quarantined(
    batch: dict[str, Any], moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import zipfile

    point_aws_at(moto_server, monkeypatch)
    s3 = boto3.client("s3")
    for bucket in ("spill-staging", "spill-archive", "spill-processed"):
        s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:  # read from S3, a zip is spilled to scratch
        zf.writestr("payroll.ach", PAYROLL.read_bytes())
    s3.put_object(Bucket="spill-staging", Key="inbound/acme/2026-03-04/bundle.zip", Body=buffer.getvalue())
    config = PipelineConfig.from_mapping(
        {
            "staging": "s3://spill-staging",
            "archive": "s3://spill-archive/originals/",
            "quarantine": "s3://spill-archive/quarantine/",
            "ledger": "s3://spill-archive/ledger/",
            "routes": {"*": {"destination": "s3://spill-processed/other/"}},
            "scratch_budget_bytes": 1024,  # smaller than the zip
        }
    )
    handoff = HandOff(AwsBatch(batch["queue"], batch["definition"], batch["client"]), threshold_bytes=1 << 30)
    before = {j["jobId"] for j in jobs(batch)}
    outcome = Pipeline(config, s3_client=s3, handoff=handoff).process(
        StagedObject("inbound/acme/2026-03-04/bundle.zip")
    )
    assert outcome.status == "handed_off", outcome
    assert "scratch budget refused" in outcome.reason
    (job,) = [j for j in jobs(batch) if j["jobId"] not in before]
    assert job["container"]["command"] == ["s3://spill-staging/inbound/acme/2026-03-04/bundle.zip"]
    assert not s3.list_objects_v2(Bucket="spill-archive", Prefix="quarantine/").get("Contents")
    assert not s3.list_objects_v2(Bucket="spill-processed").get("Contents")


# -- a job that never starts: resubmitted once ---------------------------------------------------


@pytest.fixture
def jobs_never_start(moto_server: str) -> Iterator[None]:
    """moto's Batch jobs stay SUBMITTED (its state manager: a transition after 10^9 status
    reads), as in a queue whose compute environment cannot place them; moto's default after."""
    url = f"{moto_server}/moto-api/state-manager"
    held = {"model_name": "batch::job", "transition": {"progression": "manual", "times": 10**9}}
    requests.post(f"{url}/set-transition", json=held, timeout=10).raise_for_status()
    try:
        yield
    finally:
        requests.post(f"{url}/unset-transition", json={"model_name": "batch::job"}, timeout=10).raise_for_status()


def _local_stores(tmp_path: Path) -> PipelineConfig:
    dirs = {name: tmp_path / name for name in ("staging", "archive", "quarantine", "ledger", "processed")}
    return PipelineConfig.from_mapping(
        {
            "staging": f"file://{dirs['staging']}",
            "archive": f"file://{dirs['archive']}/",
            "quarantine": f"file://{dirs['quarantine']}/",
            "ledger": f"file://{dirs['ledger']}/",
            "routes": {"*": {"destination": f"file://{dirs['processed']}/"}},
        }
    )


def _stage(config: PipelineConfig, name: str) -> None:
    target = Path(config.staging.removeprefix("file://")) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(PAYROLL.read_bytes())


def _status(batch: dict[str, Any], job_id: str) -> dict[str, Any]:
    (job,) = batch["client"].describe_jobs(jobs=[job_id])["jobs"]
    return job


def test_a_job_still_submitted_after_the_start_time_is_resubmitted_once_under_concurrent_sweeps(
    batch: dict[str, Any], tmp_path: Path, jobs_never_start: None
) -> None:
    import threading

    config = _local_stores(tmp_path)
    name = "inbound/bank/2026-03-04/payroll.ach"
    _stage(config, name)
    submitter = AwsBatch(batch["queue"], batch["definition"], batch["client"])
    patient = Pipeline(config, handoff=HandOff(submitter, threshold_bytes=1000, start_seconds=3600))
    handed = patient.process(StagedObject(name))
    assert handed.status == "handed_off", handed
    first = patient.ledger.get(handed.source)[0].job_id
    assert _status(batch, first)["status"] == "SUBMITTED"

    # Within the start time a redelivery, and the sweep, leave the job alone.
    assert patient.process(StagedObject(name)).status == "handed_off"
    assert patient.resubmit_stuck() == []
    assert patient.ledger.get(handed.source)[0].job_id == first
    assert [j["jobId"] for j in jobs(batch) if j["jobName"] == _status(batch, first)["jobName"]] == [first]

    # Past it (1 s here), four sweeps at once: exactly one resubmits.
    time.sleep(1.1)
    before = {j["jobId"] for j in jobs(batch)}
    sweeps = [Pipeline(config, handoff=HandOff(submitter, threshold_bytes=1000, start_seconds=1)) for _ in range(4)]
    start = threading.Barrier(len(sweeps))
    results: list[list[Any]] = []

    def sweep(pipeline: Pipeline) -> None:
        start.wait()
        results.append(pipeline.resubmit_stuck())

    threads = [threading.Thread(target=sweep, args=(p,)) for p in sweeps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    outcomes = [o for found in results for o in found]
    # (a sweep that reads the record while the winner holds it sees it busy)
    assert len(results) == 4 and {o.status for o in outcomes} <= {"handed_off", "busy"}
    resubmitted = [o for o in outcomes if o.reason.startswith("resubmitted")]
    assert len(resubmitted) == 1, outcomes
    (new,) = [j for j in jobs(batch) if j["jobId"] not in before]
    record = patient.ledger.get(handed.source)[0]
    assert (record.state, record.job_id, record.failures) == (HANDED_OFF, new["jobId"], 1)
    assert f"batch job {first} was waiting" in record.last_failure
    assert new["container"]["command"] == [handed.source]
    cancelled = _status(batch, first)
    assert "resubmitted as batch job " + new["jobId"] in cancelled["statusReason"]

    # The stuck job, should it start after all, finds another job's hand-off: a no-op; the new
    # job takes it over and processes the file.
    runner = Pipeline(config)
    assert runner.process(StagedObject(name), job_id=first).status == "handed_off"
    done = runner.process(StagedObject(name), job_id=new["jobId"])
    assert done.status == "processed", done
    assert runner.ledger.get(handed.source)[0].state == DONE


def _emitted_metric(logged: str, name: str) -> float:
    """The value of metric ``name`` in the embedded-metric-format lines a handler printed."""
    for line in logged.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            if name in document:
                return float(document[name][0] if isinstance(document[name], list) else document[name])
    raise AssertionError(f"no {name} metric in:\n{logged[-2000:]}")


def test_a_job_that_failed_without_claiming_is_resubmitted_by_the_scheduled_sweep(
    batch: dict[str, Any],
    moto_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """moto runs no container (no Docker engine here): its jobs fail before the runner could
    claim anything, as a job whose image cannot be pulled does. The process Lambda's schedule
    (an EventBridge "Scheduled Event") resubmits; a job that claimed and then failed is left to
    its lease."""
    point_aws_at(moto_server, monkeypatch)
    config = _local_stores(tmp_path)
    name = "inbound/bank/2026-03-04/payroll.ach"
    _stage(config, name)
    env = {
        "BANKGATE_STAGING": config.staging,
        "BANKGATE_ARCHIVE": config.archive,
        "BANKGATE_QUARANTINE": config.quarantine,
        "BANKGATE_LEDGER": config.ledger,
        "BANKGATE_ROUTES": json.dumps({"*": {"destination": config.routes["*"].destination}}),
        "BANKGATE_BATCH_JOB_QUEUE": batch["queue"],
        "BANKGATE_BATCH_JOB_DEFINITION": batch["definition"],
        "BANKGATE_BATCH_THRESHOLD": "1000",
        "BANKGATE_BATCH_START_SECONDS": "0",
    }
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    import bankgate.lambdas.process

    monkeypatch.setattr(bankgate.lambdas.process, "_pipeline", None)
    handed = bankgate.lambdas.process.pipeline().process(StagedObject(name))
    assert handed.status == "handed_off", handed
    first = bankgate.lambdas.process.pipeline().ledger.get(handed.source)[0].job_id
    deadline = time.monotonic() + 30
    while _status(batch, first)["status"] != "FAILED":
        assert time.monotonic() < deadline, _status(batch, first)
        time.sleep(0.2)

    scheduled = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    swept = bankgate.lambdas.process.handler(scheduled, LambdaContext())
    assert (swept["swept"], swept["resubmitted"]) == (1, [handed.source])
    assert 0 < swept["oldest_staged_seconds"] < 600  # the handed-off file waits in staging
    metric = _emitted_metric(capsys.readouterr().out, bankgate.lambdas.process.OLDEST_STAGED)
    assert metric == swept["oldest_staged_seconds"]
    record = bankgate.lambdas.process.pipeline().ledger.get(handed.source)[0]
    assert record.state == HANDED_OFF and record.job_id not in ("", first)
    assert f"batch job {first} was failed" in record.last_failure

    # A job that took the claim and then died is not "never started": its lease decides.
    ledger = Pipeline(config).ledger
    claimed = ledger.claim(handed.source, "", etag=record.etag, modified_ns=record.modified_ns, job_id=record.job_id)
    assert claimed.granted
    again = bankgate.lambdas.process.handler(scheduled, LambdaContext())
    assert (again["swept"], again["resubmitted"]) == (0, [])
