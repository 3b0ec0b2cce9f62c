"""Real parts for the SFTP pull tests: OpenSSH sshd (chrooted internal-sftp user) on loopback,
moto S3 over HTTP (the pipeline tests' server fixture) and the GCS emulator."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from bankgate.sftp import SftpSettings
from tests.parts import unavailable
from tests.pipeline.conftest import gcs_emulator, moto_url, point_aws_at  # noqa: F401 - shared fixtures
from tests.sftp.sshd import Sshd, SshdUnavailable, start_sshd


@pytest.fixture(scope="session")
def sshd() -> Iterator[Sshd]:
    try:
        server = start_sshd()
    except SshdUnavailable as error:
        unavailable("sshd", str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(sshd: Sshd) -> Iterator[Sshd]:
    """The session's sshd with an empty ``/outbound``."""
    sshd.clear()
    yield sshd
    sshd.clear()


def settings_for(server: Sshd, *, port: int | None = None, **overrides) -> SftpSettings:
    port = port or server.port
    values = {
        "host": server.host,
        "port": port,
        "username": server.user,
        "password": server.password,
        "known_hosts": f"[{server.host}]:{port} {server.host_key}\n",
        "timeout": 10.0,
        **overrides,
    }
    return SftpSettings(**values)


@pytest.fixture
def settings(server: Sshd) -> SftpSettings:
    return settings_for(server)


@pytest.fixture
def s3_url(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811 - the imported fixture
    point_aws_at(moto_url, monkeypatch)
    bucket = f"staging-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/inbound/acme/"


@pytest.fixture
def gcs_url(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811 - the imported fixture
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    from bankgate.store.gcs import default_client

    bucket = f"staging-{uuid.uuid4().hex[:8]}"
    default_client().create_bucket(bucket)
    return f"gs://{bucket}/inbound/acme/"


@pytest.fixture
def local_url(tmp_path: Path) -> str:
    return f"file://{tmp_path / 'staging'}"


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, paramiko's included, for the no-secrets-in-logs checks."""
    caplog.set_level(logging.DEBUG)
    return caplog
