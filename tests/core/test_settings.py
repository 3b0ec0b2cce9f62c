"""The settings module: one table of every BANKGATE_* variable, one parse, explicit beats env."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bankgate import settings
from bankgate.config import ConfigError, PipelineConfig
from bankgate.notify import Notifier
from bankgate.parsers.insurance import Limits

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "BANKGATE_STAGING": "s3://staging",
    "BANKGATE_ARCHIVE": "s3://a/o/",
    "BANKGATE_QUARANTINE": "s3://a/q/",
    "BANKGATE_LEDGER": "s3://a/l/",
    "BANKGATE_ROUTES": '{"*": "s3://out/"}',
}


def test_every_setting_has_a_name_type_and_meaning() -> None:
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names)) and all(n.startswith("BANKGATE_") for n in names)
    assert all(s.doc and s.kind and s.group for s in settings.SETTINGS)
    keys = [s.key for s in settings.SETTINGS if s.key]
    assert set(keys) <= {*PipelineConfig.__dataclass_fields__, "banks"} and len(keys) == len(set(keys))


def test_the_readme_table_is_generated_from_the_settings() -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n", text.index("<!-- settings:begin")) + 1
    end = text.index("<!-- settings:end -->")
    assert text[start:end] == settings.markdown_table(), "run: bankgate settings --format markdown"


def test_booleans_are_parsed_once() -> None:
    for word, expected in (("1", True), ("Yes", True), ("on", True), ("0", False), ("off", False), ("NO", False)):
        env = {**BASE, "BANKGATE_LENIENT": word}
        assert PipelineConfig.from_env(env).lenient is expected, word
    with pytest.raises(ConfigError, match="BANKGATE_LENIENT: not a boolean"):
        PipelineConfig.from_env({**BASE, "BANKGATE_LENIENT": "maybe"})
    # OCR's "off" takes the same false words
    for word in ("off", "no", "false", "0", "none"):
        assert settings.tesseract({"BANKGATE_TESSERACT": word}) is None
    assert settings.tesseract({}) == "tesseract"
    assert settings.tesseract({"BANKGATE_TESSERACT": "/opt/tess"}) == "/opt/tess"


def test_an_explicit_argument_beats_the_environment(tmp_path: Path) -> None:
    env = {"BANKGATE_LAYOUTS": f"{tmp_path}/a", "BANKGATE_BANKS": "/etc/banks.toml", "BANKGATE_PDF_MAX_PAGES": "9"}
    assert settings.layout_dirs(env=env) == (tmp_path / "a",)
    assert settings.layout_dirs([tmp_path / "b"], env) == (tmp_path / "b",)
    assert settings.banks_path(env=env) == Path("/etc/banks.toml")
    assert settings.banks_path(tmp_path / "mine.toml", env) == tmp_path / "mine.toml"
    assert settings.pdf_limits(env).max_pages == 9
    assert settings.pdf_limits(env, max_pages=3).max_pages == 3
    assert settings.pdf_limits({}) == Limits()
    blank = {"BANKGATE_LAYOUTS": "  ", "BANKGATE_PDF_MAX_PAGES": ""}  # blank is unset
    assert settings.layout_dirs(env=blank) == () and settings.pdf_limits(blank) == Limits()


def test_the_pull_dags_bank_config_is_required() -> None:
    with pytest.raises(ConfigError, match="BANKGATE_BANKS is not set"):
        settings.banks_path(env={})


def test_alert_channels_come_from_the_settings() -> None:
    notifier = Notifier.from_env({"BANKGATE_ALERT_WEBHOOK": "http://127.0.0.1:9/x", "BANKGATE_ALERT_SNS_TOPIC": "arn"})
    assert (notifier.webhook_url, notifier.sns_topic_arn) == ("http://127.0.0.1:9/x", "arn")


def test_pgp_settings_go_through_the_pipeline_config(tmp_path: Path) -> None:
    env = {**BASE, "BANKGATE_PGP_KEYS": "file:/k.asc", "BANKGATE_PGP_PASSPHRASE": "env:PASS"}
    config = PipelineConfig.from_env(env)
    assert (config.pgp_keys, config.pgp_passphrase, config.pgp_verify_keys) == ("file:/k.asc", "env:PASS", None)
    toml = tmp_path / "bankgate.toml"
    toml.write_text(
        '[pipeline]\nstaging = "s3://staging"\narchive = "s3://a/o/"\nquarantine = "s3://a/q/"\nledger = "s3://a/l/"\n'
        'pgp_keys = "secretsmanager:bank-keys"\n[pipeline.routes]\n"*" = "s3://out/"\n'
    )
    # the file's key beats the variable; the variables fill in what the file leaves out
    config = PipelineConfig.from_env({**env, "BANKGATE_CONFIG": str(toml)})
    assert (config.pgp_keys, config.pgp_passphrase) == ("secretsmanager:bank-keys", "env:PASS")


def test_bad_values_in_the_environment_are_all_reported() -> None:
    env = {**BASE, "BANKGATE_LEASE_SECONDS": "16m", "BANKGATE_LENIENT": "perhaps", "BANKGATE_WAIVERS": "{"}
    with pytest.raises(ConfigError) as err:
        PipelineConfig.from_env(env)
    lines = str(err.value).splitlines()
    assert lines[0] == "3 problems in the environment's settings:"
    assert lines[1].startswith("BANKGATE_WAIVERS is not JSON")
    assert lines[2].startswith("BANKGATE_LENIENT: not a boolean")
    assert lines[3] == "BANKGATE_LEASE_SECONDS: not a whole number: '16m'"


def _cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bankgate.cli", "settings", *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_the_cli_lists_every_setting() -> None:
    listed = json.loads(_cli("--format", "json"))
    assert [s["name"] for s in listed] == [s.name for s in settings.SETTINGS]
    assert {"name": "BANKGATE_MAX_FAILURES", "type": "int", "default": "3", "key": "max_failures"}.items() <= listed[
        [s["name"] for s in listed].index("BANKGATE_MAX_FAILURES")
    ].items()
    env = _cli("--format", "env")
    assert "BANKGATE_PDF_MAX_PAGES=2000\n" in env and "# BANKGATE_BANKS=\n" in env
    table = _cli()
    assert all(s.name in table for s in settings.SETTINGS)


def test_the_pipeline_finds_user_layouts_through_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parsers no longer read BANKGATE_LAYOUTS: the core hands it to detection (a plain file
    and a zip member) and to the parser."""
    import io
    import zipfile

    from bankgate.pipeline import Pipeline, StagedObject

    layouts = tmp_path / "layouts"
    layouts.mkdir()
    shipped = (ROOT / "parsers" / "fixed" / "layouts" / "positive-pay.toml").read_text()
    (layouts / "mine.toml").write_text(shipped.replace('name = "positive-pay"', 'name = "mine"'))
    dirs = {name: tmp_path / name for name in ("staging", "archive", "quarantine", "ledger", "out")}
    for path in dirs.values():
        path.mkdir()
    sample = (ROOT / "samples" / "fixed" / "positive-pay.txt").read_bytes()
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("checks.txt", sample)
    (dirs["staging"] / "inbound").mkdir()
    (dirs["staging"] / "inbound" / "checks.txt").write_bytes(sample)
    (dirs["staging"] / "inbound" / "bundle.zip").write_bytes(bundle.getvalue())
    monkeypatch.setenv("BANKGATE_LAYOUTS", str(layouts))
    config = PipelineConfig(
        staging=f"file://{dirs['staging']}",
        archive=f"file://{dirs['archive']}/",
        quarantine=f"file://{dirs['quarantine']}/",
        ledger=f"file://{dirs['ledger']}/",
        routes=PipelineConfig.from_mapping(
            {"staging": "s3://s", "archive": "s3://a/", "quarantine": "s3://q/", "ledger": "s3://l/"}
            | {"routes": {"fixed:mine": f"file://{dirs['out']}/mine/", "*": f"file://{dirs['out']}/other/"}}
        ).routes,
    )
    pipeline = Pipeline(config)
    plain = pipeline.process(StagedObject("inbound/checks.txt"))
    assert (plain.status, plain.file_type) == ("processed", "fixed:mine"), plain
    zipped = pipeline.process(StagedObject("inbound/bundle.zip"))
    assert zipped.status == "processed" and all("/mine/" in url for url in zipped.outputs), zipped
