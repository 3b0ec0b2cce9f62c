"""End to end: files pulled from a real sshd into moto S3, processed by the Lambda handler from
the queued S3 events, then read back from the one ledger: each file's journey links its pull
record to its processing record, the bank's day lists in one read, and reconcile is clean."""

from __future__ import annotations

import calendar
import json
from pathlib import Path

import pytest

from bankgate.banks import BankConfig, unchanged
from bankgate.cli import main
from bankgate.ledger import index
from bankgate.ledger.journey import journey
from bankgate.ledger.root import open_root
from bankgate.sftp import SftpSettings, pull_bank
from tests.fixtures.pipeline import Aws
from tests.sftp.sshd import Sshd

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "nacha"
#: 22:00 in New York on 23 November, 03:00 UTC on the 24th: the bank's day is the 23rd.
MTIME = calendar.timegm((2026, 11, 24, 3, 0, 0))
BANK_DAY = "2026-11-23"


def test_a_pulled_files_journey_links_its_pull_to_its_processing(
    server: Sshd,
    settings: SftpSettings,
    aws: Aws,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import bankgate.lambdas.process

    good = (SAMPLES / "payroll-ppd-ccd.ach").read_bytes()
    bad = (SAMPLES / "payroll-amount-edited-after-controls.ach").read_bytes()
    server.put("/outbound/payroll.ach", good, mtime=MTIME)
    server.put("/outbound/edited.ach", bad, mtime=MTIME)
    bank = BankConfig("acme", stability=(unchanged(60, settle=0),), backoff=0.05, timezone="America/New_York")

    report = pull_bank(settings, bank, f"s3://{aws.staging}/inbound/acme/")
    assert report.ok and len(report.pulled) == 2, report
    aws.drain(bankgate.lambdas.process.handler)

    ledger_url = f"s3://{aws.archive}/ledger/"
    root = open_root(ledger_url)
    pulled = {p.remote.path: p for p in report.pulled}
    story = journey(root, pulled["/outbound/payroll.ach"].url)
    assert story is not None and story.origin is not None
    assert [s.name for s in story.stages] == ["pulled", "staged", "processing", "processed"]
    pull, staged, processing, processed = story.stages
    assert (story.origin.kind, story.origin.owner, story.origin.name, story.origin.day) == (
        "pull",
        "acme",
        "payroll.ach",
        BANK_DAY,
    )
    assert pull.detail["bank"] == "acme" and pull.detail["path"] == "/outbound/payroll.ach"
    assert pull.detail["size"] == len(good) and pull.detail["mtime"] == "2026-11-24T03:00:00+00:00"
    assert pull.sha256 == staged.sha256 == processed.sha256 == pulled["/outbound/payroll.ach"].sha256
    assert pull.at <= processing.at <= processed.at
    assert processed.detail["type"] == "nacha" and processed.detail["counts"]["entry_detail"] > 0
    assert processed.detail["archived_to"].startswith(f"s3://{aws.archive}/originals/")
    assert processed.detail["outputs"][0]["url"].startswith(f"s3://{aws.processed}/nacha/")

    rejected = journey(root, pulled["/outbound/edited.ach"].url)
    assert rejected is not None and rejected.state == "quarantined"
    codes = {p["code"] for p in rejected.stages[-1].detail["problems"]}
    assert codes == {"nacha.batch.total_credit_mismatch", "nacha.file.total_credit_mismatch"}
    assert rejected.stages[-1].detail["report"].endswith(".error.json")

    listed = index.read(root, "acme", BANK_DAY)
    assert {e.name: e.state for e in listed.values()} == {"payroll.ach": "done", "edited.ach": "quarantined"}

    capsys.readouterr()
    listing = ["ledger", "list", "--ledger", ledger_url, "--bank", "acme", "--day", BANK_DAY]
    assert main([*listing, "--output", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted((r["name"], r["state"], r["kind"]) for r in rows) == [
        ("edited.ach", "quarantined", "pull"),
        ("payroll.ach", "done", "pull"),
    ]
    assert main(["ledger", "show", "--ledger", ledger_url, "payroll.ach", "--bank", "acme"]) == 0
    shown = capsys.readouterr().out
    assert "pulled  sha256" in shown and "processed  sha256" in shown and "/outbound/payroll.ach" in shown
    staging = f"s3://{aws.staging}/inbound/acme/"
    reconcile = ["ledger", "reconcile", "--ledger", ledger_url, "--bank", "acme", "--staging", staging]
    assert main([*reconcile, "--from", BANK_DAY, "--to", BANK_DAY]) == 0
    out = capsys.readouterr().out
    assert f"{len(good) + len(bad):,} bytes" in out and "no gaps" in out
