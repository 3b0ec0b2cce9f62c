"""The scripted client through ``bankgate serve``'s HTTP API (loopback) into moto."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bankgate.push.client import Client, PushFailed
from bankgate.push.server import LocalAuth, serve_in_thread
from tests.push.conftest import Push

MiB = 1 << 20


@pytest.fixture
def api(push: Push, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, LocalAuth]]:
    monkeypatch.setenv("HOME", str(tmp_path))  # the client's state: ~/.cache/bankgate/push
    auth = LocalAuth()
    server, url = serve_in_thread(push.grants, auth)
    yield f"{url}/api", auth
    server.shutdown()
    server.server_close()


def test_a_small_file_goes_up_in_one_put(push: Push, api: tuple[str, LocalAuth], tmp_path: Path) -> None:
    url, auth = api
    path = tmp_path / "payroll.csv"
    path.write_bytes(b"a,b\n1,2\n")
    grant = Client(url, auth.token("acme")).push(path)
    assert grant["method"] == "put"
    assert push.s3.get_object(Bucket=push.staging, Key=grant["key"])["Body"].read() == b"a,b\n1,2\n"


def test_a_large_file_goes_up_in_parts_and_a_dead_run_is_resumed(
    push: Push, api: tuple[str, LocalAuth], tmp_path: Path
) -> None:
    url, auth = api
    path = tmp_path / "big.csv"
    data = os.urandom(21 * MiB)
    path.write_bytes(data)
    client = Client(url, auth.token("acme"), workers=1, part_size=5 * MiB)

    def die_after_two_parts(done: int, total: int) -> None:
        if done >= 10 * MiB:
            raise ConnectionResetError("the network went away")

    with pytest.raises(ConnectionResetError):
        client.push(path, progress=die_after_two_parts)
    reports: list[int] = []
    grant = client.push(path, progress=lambda done, total: reports.append(done))
    assert reports[0] == 10 * MiB and reports[-1] == 21 * MiB  # the two parts S3 held were not sent again
    assert push.s3.get_object(Bucket=push.staging, Key=grant["key"])["Body"].read() == data
    assert not list((tmp_path / ".cache").rglob("*.json"))


def test_tokens_the_server_did_not_sign_or_that_expired_are_401(
    push: Push, api: tuple[str, LocalAuth], tmp_path: Path
) -> None:
    url, auth = api
    path = tmp_path / "x.csv"
    path.write_bytes(b"x")
    for token in (LocalAuth().token("acme"), auth.token("acme", ttl=-10), "not-a-token"):
        with pytest.raises(PushFailed, match=r"^unauthenticated: "):
            Client(url, token).push(path)
    with pytest.raises(PushFailed, match=r"^type_not_allowed: "):
        Client(url, auth.token("globex")).push(path)
    assert requests.get(f"{url}/uploads/x/parts", timeout=10).status_code == 401


def test_the_cli_shows_a_progress_bar_on_a_terminal_and_prints_the_grant(
    api: tuple[str, LocalAuth], tmp_path: Path
) -> None:
    import pty
    import subprocess
    import sys

    url, auth = api
    path = tmp_path / "bar.csv"
    path.write_bytes(os.urandom(MiB))
    primary, secondary = pty.openpty()
    command = [sys.executable, "-m", "bankgate.cli", "push", str(path), "--api", url, "--token", auth.token("acme")]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=secondary, timeout=60, env=os.environ.copy())
    os.close(secondary)
    shown = os.read(primary, 65536).decode()
    os.close(primary)
    assert done.returncode == 0
    assert json.loads(done.stdout)["name"] == "bar.csv"
    assert "1.0/1.0 MiB" in shown and "MiB/s" in shown
    refused = subprocess.run([*command[:4], str(path), "--api", url, "--token", "x"], capture_output=True, text=True)
    assert refused.returncode == 1 and "unauthenticated" in refused.stderr and "Traceback" not in refused.stderr
    assert "[" not in refused.stderr  # no progress bar when stderr is not a terminal
