"""``bankgate process URL``: the pipeline on one object, for local runs and reprocessing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bankgate.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAYROLL = ROOT / "samples/nacha/payroll-ppd-ccd.ach"
BROKEN = ROOT / "samples/nacha/payroll-amount-edited-after-controls.ach"


def config(tmp_path: Path, fmt: str = "jsonl") -> Path:
    path = tmp_path / "bankgate.toml"
    path.write_text(
        f"""[pipeline]
staging = "file://{tmp_path}/staging"
archive = "file://{tmp_path}/archive"
quarantine = "file://{tmp_path}/quarantine"
ledger = "file://{tmp_path}/ledger"

[pipeline.routes]
nacha = {{ destination = "file://{tmp_path}/processed/nacha", format = "{fmt}" }}
"*" = {{ destination = "file://{tmp_path}/processed/other" }}
"""
    )
    return path


def stage(tmp_path: Path, source: Path, key: str) -> str:
    target = tmp_path / "staging" / key
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return f"file://{target}"


def test_process_then_duplicate(tmp_path: Path, capsys) -> None:
    url = stage(tmp_path, PAYROLL, "inbound/acme/2026-11-23/payroll.ach")
    assert main(["process", url, "--config", str(config(tmp_path, "csv"))]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "processed" and result["records"] == 12
    assert (tmp_path / "processed/nacha/acme/2026-11-23/payroll.ach.csv").is_file()
    assert (tmp_path / "archive/acme/2026-11-23/payroll.ach").read_bytes() == PAYROLL.read_bytes()
    assert main(["process", url, "--config", str(config(tmp_path))]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "duplicate"


def test_invalid_file_exits_1_and_is_quarantined(tmp_path: Path, capsys) -> None:
    url = stage(tmp_path, BROKEN, "inbound/acme/2026-11-23/edited.ach")
    assert main(["process", url, "--config", str(config(tmp_path))]) == 1
    captured = capsys.readouterr()
    assert "total_credit" in captured.err
    report = json.loads((tmp_path / "quarantine/acme/2026-11-23/edited.ach.error.json").read_text())
    assert {p["field"] for p in report["problems"]} == {"total_credit"}


def test_url_outside_staging_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert main(["process", f"file://{PAYROLL}", "--config", str(config(tmp_path))]) == 2
    assert "not under the staging directory" in capsys.readouterr().err
