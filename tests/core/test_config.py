"""Pipeline configuration is checked on load, with messages that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bankgate.config import ConfigError, PipelineConfig, Route

BASE = {
    "staging": "s3://staging",
    "archive": "s3://archive/originals/",
    "quarantine": "s3://archive/quarantine/",
    "ledger": "s3://archive/ledger/",
}


def test_routes_by_type_family_and_default() -> None:
    config = PipelineConfig(
        **BASE,
        routes={
            "nacha": Route("s3://out/nacha/"),
            "fixed:*": Route("s3://out/fixed/", "csv"),
            "*": Route("s3://out/other/"),
        },
    )
    assert config.route_for("nacha").destination == "s3://out/nacha/"
    assert config.route_for("fixed:positive-pay").format == "csv"
    assert config.route_for("bai2").destination == "s3://out/other/"


def test_outputs_inside_the_watched_prefix_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"routes\.nacha: .*inside the watched prefix .*trigger itself"):
        PipelineConfig(**BASE, routes={"nacha": Route("s3://staging/inbound/parsed/"), "*": Route("s3://out/")})
    with pytest.raises(ConfigError, match="archive"):
        PipelineConfig(**{**BASE, "archive": "s3://staging/inbound/archive/"}, routes={"*": Route("s3://out/")})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"routes": {}}, "default route"),
        ({"routes": {"*": {"destination": "s3://out/", "format": "xml"}}}, "format 'xml'"),
        ({"staging": "ftp://bank"}, "setting 'staging'"),
        ({"colour": "blue"}, "unknown settings colour"),
        ({"verify": "trust-me"}, "verify"),
    ],
)
def test_bad_settings_name_the_setting(change: dict, message: str) -> None:
    raw = {**BASE, "routes": {"*": {"destination": "s3://out/"}}, **change}
    with pytest.raises(ConfigError, match=message):
        PipelineConfig.from_mapping(raw)


def test_from_toml_and_env(tmp_path: Path) -> None:
    path = tmp_path / "bankgate.toml"
    path.write_text(
        '[pipeline]\nstaging = "s3://staging"\narchive = "s3://a/o/"\nquarantine = "s3://a/q/"\nledger = "s3://a/l/"\n'
        '[pipeline.routes]\n"*" = { destination = "s3://out/", format = "parquet" }\n'
    )
    assert PipelineConfig.from_toml(path).route_for("x").format == "parquet"
    env = {"BANKGATE_CONFIG": str(path)}
    assert PipelineConfig.from_env(env).staging == "s3://staging"
    env = {f"BANKGATE_{k.upper()}": v for k, v in BASE.items()} | {"BANKGATE_ROUTES": '{"*": "s3://out/"}'}
    assert PipelineConfig.from_env(env).route_for("nacha").destination == "s3://out/"
    with pytest.raises(ConfigError, match="not JSON"):
        PipelineConfig.from_env({**env, "BANKGATE_ROUTES": "{"})


def test_lease_and_poison_threshold_settings() -> None:
    env = {f"BANKGATE_{k.upper()}": v for k, v in BASE.items()} | {"BANKGATE_ROUTES": '{"*": "s3://out/"}'}
    default = PipelineConfig.from_env(env)
    assert (default.lease_seconds, default.max_failures) == (16 * 60, 3)
    tuned = PipelineConfig.from_env({**env, "BANKGATE_LEASE_SECONDS": "1200", "BANKGATE_MAX_FAILURES": "5"})
    assert (tuned.lease_seconds, tuned.max_failures) == (1200, 5)
    for name, value in (("BANKGATE_LEASE_SECONDS", "0"), ("BANKGATE_MAX_FAILURES", "0")):
        with pytest.raises(ConfigError, match=name.removeprefix("BANKGATE_").lower()):
            PipelineConfig.from_env({**env, name: value})
    with pytest.raises(ConfigError, match="BANKGATE_LEASE_SECONDS"):
        PipelineConfig.from_env({**env, "BANKGATE_LEASE_SECONDS": "16m"})
