"""Named waivers in processing: a bank's ``allow`` list (bank config), a route's, a source's.

A sender that breaks one rule for years is processed, the waived rule recorded as a warning
with its code in the ledger; the same file from a source without the waiver is quarantined
with that code; a waiver naming an unknown rule fails the config load, listing valid codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bankgate.config import ConfigError, PipelineConfig
from bankgate.parsers.nacha import layouts as L
from bankgate.pipeline import Pipeline, StagedObject
from tests.parsers.nacha_helpers import clean_file, put_field

RULE = "nacha.file.immediate_origin"


def _non_routing_origin() -> bytes:
    """A real-world variant: an immediate origin that is neither a routing number nor '1'+EIN."""
    return put_field(clean_file(), 1, L.FILE_HEADER, "immediate_origin", " 123456789")


def _config(tmp_path: Path, **extra: str) -> str:
    lines = [
        "[pipeline]",
        f'staging = "file://{tmp_path}/staging"',
        f'archive = "file://{tmp_path}/archive"',
        f'quarantine = "file://{tmp_path}/quarantine"',
        f'ledger = "file://{tmp_path}/ledger"',
        *(f"{key} = {value}" for key, value in extra.items() if key != "routes"),
        "[pipeline.routes]",
        extra.get("routes", f'nacha = {{ destination = "file://{tmp_path}/processed/nacha" }}'),
        f'"*" = {{ destination = "file://{tmp_path}/processed/other" }}',
    ]
    return "\n".join(lines) + "\n"


def _load(tmp_path: Path, **extra: str) -> PipelineConfig:
    path = tmp_path / "bankgate.toml"
    path.write_text(_config(tmp_path, **extra))
    return PipelineConfig.from_toml(path)


def _stage(tmp_path: Path, key: str, data: bytes) -> StagedObject:
    target = tmp_path / "staging" / key
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return StagedObject(key)


def _banks(tmp_path: Path, allow: str) -> Path:
    path = tmp_path / "banks.toml"
    path.write_text(
        f"""[banks.acme]
conn_id = "sftp_acme"
remote_dirs = ["/outbound"]
cron = "0 6 * * *"
destination = "file://{tmp_path}/staging/inbound/acme/"
allow = {allow}
"""
    )
    return path


def test_a_banks_waiver_processes_its_files_and_records_the_waived_rule(tmp_path: Path) -> None:
    banks = _banks(tmp_path, f'["{RULE}"]')
    pipeline = Pipeline(_load(tmp_path, banks=f'"{banks}"'))
    data = _non_routing_origin()
    waived = _stage(tmp_path, "inbound/acme/2026-11-23/payroll.ach", data)
    other = _stage(tmp_path, "inbound/other/2026-11-23/payroll.ach", data)

    assert pipeline.process(waived).status == "processed"
    outcome = pipeline.process(other)

    assert outcome.status == "quarantined"
    report = json.loads((tmp_path / "quarantine/other/2026-11-23/payroll.ach.error.json").read_text())
    assert [p["code"] for p in report["problems"]] == [RULE]
    found = pipeline.ledger.get(pipeline.staging.url_of(waived.key))
    assert found is not None
    record, _etag = found
    assert record.state == "done"
    assert [(p["code"], p["severity"], p["waived"]) for p in record.problems] == [(RULE, "warning", True)]


def test_a_routes_and_a_sources_waivers_apply_to_their_files(tmp_path: Path) -> None:
    route = f'nacha = {{ destination = "file://{tmp_path}/processed/nacha", allow = ["{RULE}"] }}'
    by_route = Pipeline(_load(tmp_path, routes=route))
    assert by_route.process(_stage(tmp_path, "inbound/a/d/x.ach", _non_routing_origin())).status == "processed"

    source = f'{{ "file://{tmp_path}/staging/inbound/b" = ["{RULE}"] }}'  # a folder, with or without its '/'
    by_source = Pipeline(_load(tmp_path, waivers=source))
    assert by_source.process(_stage(tmp_path, "inbound/b/d/x.ach", _non_routing_origin())).status == "processed"
    assert by_source.process(_stage(tmp_path, "inbound/c/d/x.ach", _non_routing_origin())).status == "quarantined"
    # a folder whose name only starts the same is another source
    assert by_source.process(_stage(tmp_path, "inbound/bx/d/x.ach", _non_routing_origin())).status == "quarantined"


@pytest.mark.parametrize("where", ["bank", "route", "source"])
def test_a_waiver_naming_an_unknown_rule_fails_the_load_with_the_valid_codes(tmp_path: Path, where: str) -> None:
    if where == "bank":
        banks = _banks(tmp_path, '["nacha.file.imediate_origin"]')
        extra = {"banks": f'"{banks}"'}
    elif where == "route":
        extra = {"routes": 'nacha = { destination = "file:///p", allow = ["nacha.file.imediate_origin"] }'}
    else:
        extra = {"waivers": '{ "file:///s/inbound/b/" = ["nacha.file.imediate_origin"] }'}
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, **extra)
    message = str(info.value)
    assert "nacha.file.imediate_origin" in message and RULE in message  # the typo and the valid codes


def test_a_file_without_its_file_header_is_read_as_nacha_and_waivable(tmp_path: Path) -> None:
    """A sender that leaves the file header out (moov-io/ach's AllowMissingFileHeader): the file
    is still recognised as NACHA by its batch header, so a bank's waiver processes it, and
    without one it is quarantined for that rule, not as unrecognised content."""
    banks = _banks(tmp_path, '["nacha.file.header_missing"]')
    pipeline = Pipeline(_load(tmp_path, banks=f'"{banks}"'))
    headerless = clean_file().split(b"\n", 1)[1]
    assert pipeline.process(_stage(tmp_path, "inbound/acme/2026-11-23/payroll.ach", headerless)).status == "processed"
    outcome = pipeline.process(_stage(tmp_path, "inbound/other/2026-11-23/payroll.ach", headerless))
    assert outcome.status == "quarantined"
    report = json.loads((tmp_path / "quarantine/other/2026-11-23/payroll.ach.error.json").read_text())
    assert "nacha.file.header_missing" in [p["code"] for p in report["problems"]]


def test_unrecognised_content_is_quarantined_with_the_clis_code(tmp_path: Path) -> None:
    """A file no parser recognises carries a rule code in its ``.error.json`` too, the one
    ``bankgate parse --errors json`` gives it (``input.not_a_bank_file``): a program can act on
    every rejection by code."""
    from bankgate.parsers.detect import NOT_A_BANK_FILE

    pipeline = Pipeline(_load(tmp_path))
    outcome = pipeline.process(_stage(tmp_path, "inbound/acme/2026-11-23/notes.txt", b"minutes of the meeting\n" * 20))
    assert outcome.status == "quarantined"
    report = json.loads((tmp_path / "quarantine/acme/2026-11-23/notes.txt.error.json").read_text())
    assert [(p["code"], p["member"]) for p in report["problems"]] == [(NOT_A_BANK_FILE, "acme/2026-11-23/notes.txt")]
