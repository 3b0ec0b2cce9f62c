"""The README's first command, run as a user runs it: ``./dev demo`` (``python -m demo``) in a fresh process.

It starts its own SFTP servers, moto and Airflow (SQLite), so it runs in a child process: this
test process's Airflow is configured by ``tests/dags/conftest.py`` for the DAG tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bankgate.sftp import AuthError, HostKeyError, connect
from bankgate.sftp.connection import SftpSettings
from demo.sftp_server import DemoSftpServer, new_ed25519

pytestmark = pytest.mark.integration  # the demo's own servers: paramiko SFTP, moto, Airflow

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("demo") / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_", "BANKGATE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, out


def test_demo_pulls_with_airflow_processes_and_reports(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, _out = demo
    assert result.returncode == 0, result.stdout + result.stderr
    stdout = result.stdout
    assert "8 processed, 1 quarantined" in stdout
    for dag in ("first_harbor", "prairie_trust", "harborline_insurance"):
        assert f"bank_pull__{dag}: success" in stdout
    assert "bank_pull__harborline_insurance (second run): success" in stdout
    assert "2 file(s) already pulled by an earlier run" in stdout
    assert "waiting  /outbound/ach/late-returns.ach" in stdout  # still being written
    assert "waiting  /to_client/transaction-detail.txt: waiting for its .done marker" in stdout
    assert "line 7: batch control (8) field 'total_credit'" in stdout  # the quarantine reason, actionable
    assert stdout.count("\n") < 120, "a summary, not a log"


def test_demo_lands_every_byte_where_it_says(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, out = demo
    assert result.returncode == 0
    s3, servers = out / "s3", out / "sftp"
    day = next((s3 / "bankgate-archive/originals/first_harbor").iterdir()).name
    # The originals in the archive are the samples, byte for byte.
    for bank, sample in [
        ("first_harbor", SAMPLES / "nacha/payroll-ppd-ccd.ach"),
        ("first_harbor", SAMPLES / "bai2/daily-balances.bai"),
        ("prairie_trust", SAMPLES / "fixed/positive-pay.txt"),
        ("harborline_insurance", SAMPLES / "insurance/acord25-certificate.pdf"),
    ]:
        assert _sha(s3 / f"bankgate-archive/originals/{bank}/{day}/{sample.name}") == _sha(sample)
    broken = SAMPLES / "nacha/payroll-amount-edited-after-controls.ach"
    quarantined = s3 / f"bankgate-archive/quarantine/first_harbor/{day}/{broken.name}"
    assert _sha(quarantined) == _sha(broken)
    report = json.loads(quarantined.with_name(broken.name + ".error.json").read_text())
    assert [(p["line"], p["field"]) for p in report["problems"]] == [(7, "total_credit"), (12, "total_credit")]
    # Outputs, by type; the zip's members each routed by their own type.
    processed = s3 / "bankgate-processed"
    rows = (processed / f"nacha/first_harbor/{day}/payroll-ppd-ccd.ach.jsonl").read_text().splitlines()
    assert len(rows) == 12 and json.loads(rows[0])
    # The bundle is named after the demo's day, its folder after its mtime's UTC date: the two
    # differ when the demo runs just after midnight UTC.
    (bundle,) = [p.name for p in (s3 / f"bankgate-archive/originals/first_harbor/{day}").glob("month-end-*.zip")]
    assert (processed / f"bai2/first_harbor/{day}/{bundle}/daily-balances.bai.jsonl").stat().st_size
    assert (processed / f"nacha/first_harbor/{day}/{bundle}/returns-and-nocs.ach.jsonl").stat().st_size
    assert (processed / f"insurance/harborline_insurance/{day}/harborline-declarations.pdf.jsonl").stat().st_size
    # Staging is emptied by processing; the pull ledger stays beside it.
    staged = [p for p in (s3 / "bankgate-staging").rglob("*") if p.is_file()]
    assert staged and all("bankgate-ledger" in p.parts for p in staged)
    # Post-pull actions on the servers: moved, deleted, kept; unfinished files untouched.
    fh = servers / "first_harbor/outbound"
    assert sorted(p.name for p in (fh / "ach").iterdir()) == ["late-returns.ach"]
    assert (fh / "archive/payroll-ppd-ccd.ach").is_file() and (fh / "archive/daily-balances.bai").is_file()
    assert sorted(p.name for p in (servers / "prairie_trust/to_client").iterdir()) == ["transaction-detail.txt"]
    assert sorted(p.name for p in (servers / "harborline_insurance/outbound").iterdir()) == [
        "acord25-certificate.pdf",
        "harborline-declarations.pdf",
    ]


def test_the_demo_server_is_refused_under_a_different_pinned_key(tmp_path: Path) -> None:
    (tmp_path / "outbound").mkdir()
    other = DemoSftpServer(tmp_path)
    other.stop()
    with DemoSftpServer(tmp_path) as server:
        wrong = f"[{server.host}]:{server.port} {other.host_key.get_name()} {other.host_key.get_base64()}"
        settings = SftpSettings(
            host=server.host, port=server.port, username=server.user, known_hosts=wrong, private_key=server.client_key
        )
        with pytest.raises(HostKeyError, match="CHANGED"):
            connect(settings)
        right = SftpSettings(
            host=server.host,
            port=server.port,
            username=server.user,
            known_hosts=server.known_hosts,
            private_key=server.client_key,
        )
        with connect(right) as session:
            assert session.sftp.listdir("/") == ["outbound"]
            with pytest.raises(IOError):
                session.sftp.stat("/../../etc/passwd")  # confined to its root
        _key, stranger = new_ed25519()
        with pytest.raises(AuthError):
            connect(replace(right, private_key=stranger))
