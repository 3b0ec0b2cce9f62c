"""The README's first command: the whole product on one machine, nothing to set up.

1. Three invented banks, each an SFTP server on loopback (``sftp_server``) holding sample files.
2. A local AWS (moto over HTTP): staging, archive and processed buckets; the staging bucket
   sends object-created events to an SQS queue, as deployed.
3. Airflow 3 runs each bank's ``bank_pull__<bank>`` DAG (``dag.test()``): host keys pinned,
   unfinished files left alone, streamed, verified, then the post-pull action.
4. The queued S3 events are delivered to the processing Lambda's handler, which detects,
   unpacks, parses, validates and routes each file, archiving or quarantining the original.
5. A summary of what landed where and what was quarantined and why; the buckets are copied
   under ``<out>/s3/`` for browsing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bankgate.demo import airflow_runs, fresh_out
from bankgate.demo.banks import BANKS, banks_toml, populate
from bankgate.demo.local_aws import local_aws

STAGING, ARCHIVE, PROCESSED = "bankgate-staging", "bankgate-archive", "bankgate-processed"
ROUTES = {"nacha": "nacha", "bai2": "bai2", "fixed:*": "fixed", "insurance-pdf": "insurance", "*": "other"}
#: A second run of this bank shows that files already pulled are not pulled again.
RERUN = "harborline_insurance"


def _pipeline_env() -> dict[str, str]:
    routes = {kind: {"destination": f"s3://{PROCESSED}/{folder}/"} for kind, folder in ROUTES.items()}
    return {
        "BANKGATE_STAGING": f"s3://{STAGING}",
        "BANKGATE_ARCHIVE": f"s3://{ARCHIVE}/originals/",
        "BANKGATE_QUARANTINE": f"s3://{ARCHIVE}/quarantine/",
        "BANKGATE_LEDGER": f"s3://{ARCHIVE}/ledger/",
        "BANKGATE_ROUTES": json.dumps(routes),
    }


def _say(text: str = "") -> None:
    print(text, flush=True)


def _output_line(output: dict[str, Any]) -> str:
    counts = (output.get("records") or {}).get("records") or {}
    return f"{output.get('type', '?')}: {sum(counts.values()):,} records -> {output.get('url', '?')}"


def _processing_lines(records: list[Any], pushed: str = "") -> tuple[list[str], dict[str, int]]:
    """One block per staged file from the processing ledger: outputs, or why it was quarantined;
    the counts are the pulled files' (the pushed one is summed up on its own)."""
    counts: dict[str, int] = {}
    lines = []
    for record in sorted(records, key=lambda r: r.source):
        state = "processed" if record.state == "done" else record.state
        if record.source != pushed:
            counts[state] = counts.get(state, 0) + 1
        source = record.source.removeprefix(f"s3://{STAGING}/")
        lines.append(f"{state.upper():12} {source}")
        if state == "processed":
            lines += [f"{'':15}{_output_line(output)}" for output in record.outputs]
        else:
            lines.append(f"{'':15}why: {record.reason}")
        if record.archived_to:
            lines.append(f"{'':15}original -> {record.archived_to}")
    return lines, counts


def _push_sample(moto_url: str, samples: Path, out: Path) -> Any:
    """The client path: a grant from the presign API on loopback, then ``bankgate push``'s
    client uploads a sample into staging; its event is queued like a pulled file's."""
    from bankgate.push import records
    from bankgate.push.client import Client
    from bankgate.push.local import start_local

    server, url, auth, grants = start_local(moto_url=moto_url, staging=STAGING, archive=ARCHIVE, create=False)
    try:
        client = Client(f"{url}/api", auth.token("acme"), state_dir=out / "push-cache")
        grant = client.push(samples / "nacha" / "payroll-ppd-ccd.ach")
    finally:
        server.shutdown()
        server.server_close()
    return records.get(grants.ledger, grants.ledger_prefix, "acme", grant["upload_id"])


def _push_state(pushed: Any) -> str:
    from bankgate.push import records
    from bankgate.store import open_url

    store, prefix = open_url(f"s3://{ARCHIVE}/ledger/")
    now = records.get(store, prefix, pushed.client, pushed.upload_id)
    return f"{now.state}{f' ({now.reason})' if now.reason else ''}" if now else "no record"


NEEDS = ("paramiko", "moto", "airflow", "boto3", "aws_lambda_powertools")


def missing_modules() -> list[str]:
    return [name for name in NEEDS if importlib.util.find_spec(name) is None]


def run_full_demo(samples: Path, out: Path) -> int:
    """Pull from local banks into local S3 with Airflow, then process; prints a summary."""
    missing = missing_modules()
    if missing:
        print(
            f"bankgate demo needs {', '.join(missing)}: run it as ./dev demo (installs the 'dev' extra), "
            "or use 'bankgate demo --pipeline-only'"
        )
        return 2
    from bankgate.demo.sftp_server import DemoSftpServer

    out = out.resolve()
    fresh_out(out)
    started = time.monotonic()
    day = datetime.now(UTC).date().isoformat()
    log = out / "demo.log"
    config = out / "banks.toml"
    # The pulls write their links and index entries under the pipeline's ledger root, and keep
    # their pull records beside staging (a bank's own ``ledger`` URL), where they always were.
    config.write_text(banks_toml(f"s3://{STAGING}/inbound/", ledger=f"s3://{STAGING}/bankgate-ledger/sftp/"))
    airflow_runs.configure(out / "airflow", config)
    os.environ["BANKGATE_LEDGER"] = _pipeline_env()["BANKGATE_LEDGER"]

    with ExitStack() as stack:
        _say("1. Banks: an SFTP server per bank on loopback, sample files on each")
        for bank in BANKS:
            root = out / "sftp" / bank.name
            placed = populate(bank, root, samples, day)
            server = stack.enter_context(DemoSftpServer(root))
            airflow_runs.set_sftp_connection(
                bank.conn_id, server.host, server.port, server.user, server.client_key, server.known_hosts
            )
            _say(f"   {bank.name:22} sftp://{server.host}:{server.port}  {len(placed)} files  (served from {root})")

        aws = stack.enter_context(local_aws())
        aws.create_buckets(STAGING, ARCHIVE, PROCESSED)
        aws.notify_queue(STAGING, "inbound/")
        _say(f"\n2. Local AWS (moto) at {aws.url}: buckets {STAGING}, {ARCHIVE}, {PROCESSED};")
        _say(f"   {STAGING} sends object-created events under inbound/ to SQS")

        _say("\n3. Airflow 3 pulls each bank (dag.test() of bank_pull__<bank>)")
        with airflow_runs.output_to(log):
            airflow_runs.init_db()
        runs = [(bank.name, "") for bank in BANKS] + [(RERUN, " (second run)")]
        failed = 0
        for name, note in runs:
            with airflow_runs.output_to(log):
                result = airflow_runs.run_dag(f"bank_pull__{name}")
            failed += result["state"] != "success"
            _say(f"   bank_pull__{name}{note}: {result['state']}")
            for line in airflow_runs.report_lines(result["report"]):
                _say(f"      {line}")

        _say("\n3b. A client pushes a file: presign API + scripted client (the page: bankgate serve)")
        pushed = _push_sample(aws.url, samples, out)
        _say(f"   acme pushed {pushed.name} -> s3://{STAGING}/{pushed.key} (upload {pushed.upload_id})")

        _say("\n4. Processing: S3 events from SQS -> lambdas.process.handler")
        os.environ.update(_pipeline_env())
        import lambdas.process
        from bankgate.config import PipelineConfig
        from bankgate.pipeline import Pipeline

        with airflow_runs.output_to(log):
            aws.drain(lambdas.process.handler)
        records = Pipeline(PipelineConfig.from_env()).ledger.records()
        lines, counts = _processing_lines(records, pushed=pushed.staged_url)
        _say(f"   {aws.delivered} event message(s) delivered")
        push_state = _push_state(pushed)
        _say(f"   upload {pushed.upload_id} of acme ({pushed.name}): {push_state}")
        for line in lines:
            _say(f"   {line}")

        exported = out / "s3"
        for bucket in (STAGING, ARCHIVE, PROCESSED):
            aws.export(bucket, exported / bucket)

    seconds = time.monotonic() - started
    _say(
        f"\n{counts.get('processed', 0)} processed, {counts.get('quarantined', 0)} quarantined "
        f"of the pulled files, and the pushed one {push_state}, in {seconds:.0f} s. "
        f"The buckets are copied under {exported}/: outputs in {PROCESSED}/, "
        f"originals in {ARCHIVE}/originals/, rejects with an .error.json reason in {ARCHIVE}/quarantine/, "
        f"one ledger record per file in {ARCHIVE}/ledger/ and per pull in {STAGING}/bankgate-ledger/. "
        f"The banks' servers after the pulls: {out}/sftp/. Airflow and Lambda logs: {log}."
    )
    return 1 if failed else 0
