"""Connections to a real OpenSSH sshd: pinned host keys, password and key auth, no secrets leaked."""

from __future__ import annotations

import subprocess

import pytest

from bankgate.sftp import AuthError, HostKeyError, SftpSettings, connect, list_files
from bankgate.sftp.reader import RemoteReader
from tests.fixtures.sftp import settings_for
from tests.sftp.sshd import KEY_PASSPHRASE, Sshd

OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOmJdkFh7pC0bXGBzJb2v0Qn6nDDYmZ3G6K4lqW6mQ2x"


def server_fingerprint(server: Sshd) -> str:
    """What ``ssh-keygen -l`` says about the server's key: the operator's reference."""
    key = server.root / "etc" / "ssh_host_ed25519_key.pub"
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(key)], capture_output=True, text=True, check=True).stdout
    return out.split()[1]


def test_password_auth_and_listing(server: Sshd, settings: SftpSettings) -> None:
    server.put("/outbound/a.ach", b"aaa")
    server.put("/outbound/sub/b.ach", b"bb")
    (server.outbound / "link.ach").symlink_to("a.ach")
    with connect(settings) as session:
        assert [f.path for f in list_files(session.sftp, "/outbound")] == ["/outbound/a.ach"]
        nested = list_files(session.sftp, "/outbound", subfolders=1)
        assert [(f.path, f.size) for f in nested] == [("/outbound/a.ach", 3), ("/outbound/sub/b.ach", 2)]
        assert session.limits.from_server and session.limits.read_length >= 32 * 1024


@pytest.mark.parametrize(
    "auth",
    ["key path", "key text", "encrypted key text", "rsa pem key text"],
)
def test_key_auth(server: Sshd, auth: str) -> None:
    server.put("/outbound/a.ach", b"aaa")
    key = {
        "key path": {"private_key_path": str(server.client_key)},
        "key text": {"private_key": server.client_key.read_text()},
        "encrypted key text": {"private_key": server.client_key_encrypted.read_text(), "passphrase": KEY_PASSPHRASE},
        "rsa pem key text": {"private_key": server.client_key_rsa.read_text()},
    }[auth]
    with connect(settings_for(server, password=None, **key)) as session:
        assert [f.name for f in list_files(session.sftp, "/outbound")] == ["a.ach"]


def test_unknown_host_key_is_refused_with_its_fingerprint(server: Sshd) -> None:
    settings = settings_for(server, known_hosts=f"[sftp.other.example]:2222 {OTHER_KEY}\n")
    with pytest.raises(HostKeyError) as caught:
        connect(settings)
    message = str(caught.value)
    assert "not pinned" in message
    assert f"{server.host} port {server.port}" in message
    assert "ssh-ed25519" in message
    assert server_fingerprint(server) in message  # the same SHA256:... ssh-keygen prints
    assert "known_hosts" in message and "out of band" in message


def test_changed_host_key_is_refused(server: Sshd) -> None:
    settings = settings_for(server, known_hosts=f"[{server.host}]:{server.port} {OTHER_KEY}\n")
    with pytest.raises(HostKeyError) as caught:
        connect(settings)
    message = str(caught.value)
    assert "CHANGED" in message and server_fingerprint(server) in message
    assert f"{server.host} port {server.port}" in message


def test_host_entry_without_port_gets_a_hint(server: Sshd) -> None:
    settings = settings_for(server, known_hosts=f"{server.host} {server.host_key}\n")
    with pytest.raises(HostKeyError, match=r"must be written \[127\.0\.0\.1\]:"):
        connect(settings)


def test_revoked_key_is_refused(server: Sshd) -> None:
    pinned = f"[{server.host}]:{server.port} {server.host_key}\n@revoked * {server.host_key}\n"
    with pytest.raises(HostKeyError, match="@revoked"):
        connect(settings_for(server, known_hosts=pinned))


def test_hashed_known_hosts_entry(server: Sshd) -> None:
    line = f"[{server.host}]:{server.port} {server.host_key}\n"
    path = server.root / "hashed_known_hosts"
    path.write_text(line)
    subprocess.run(["ssh-keygen", "-H", "-f", str(path)], capture_output=True, check=True)
    hashed = path.read_text()
    assert hashed.startswith("|1|")
    with connect(settings_for(server, known_hosts=hashed)) as session:
        assert session.alive


def test_from_mapping_refuses_disabled_host_key_checks(server: Sshd) -> None:
    base = {"host": server.host, "port": str(server.port), "login": server.user, "password": server.password}
    with pytest.raises(ValueError, match="no_host_key_check"):
        SftpSettings.from_mapping({**base, "no_host_key_check": "true"})
    settings = SftpSettings.from_mapping({**base, "host_key": server.host_key, "timeout": "5", "compress": "false"})
    assert settings.known_hosts.strip() == f"[{server.host}]:{server.port} {server.host_key}"
    with connect(settings) as session:
        assert session.alive


def test_no_secret_in_logs_reprs_or_errors(server: Sshd, all_logs: pytest.LogCaptureFixture) -> None:
    server.put("/outbound/a.ach", b"payload")
    key_text = server.client_key_encrypted.read_text()
    secrets = [server.password, KEY_PASSPHRASE, *key_text.splitlines()[1:-1]]
    with_password = settings_for(server)
    with_key = settings_for(server, password=None, private_key=key_text, passphrase=KEY_PASSPHRASE)
    for settings in (with_password, with_key):
        with connect(settings) as session, RemoteReader(session, "/outbound/a.ach") as reader:
            assert b"".join(bytes(c) for c in reader.chunks(7)) == b"payload"
    errors = []
    for wrong in (
        settings_for(server, password=server.password + "-wrong"),
        settings_for(server, password=None, private_key=key_text, passphrase="wrong-" + KEY_PASSPHRASE),
    ):
        with pytest.raises(AuthError) as caught:
            connect(wrong)
        errors.append(f"{caught.value!s} {caught.value!r}")
    texts = [all_logs.text, repr(with_password), repr(with_key), str(with_key), *errors]
    for text in texts:
        for secret in secrets:
            assert secret not in text
