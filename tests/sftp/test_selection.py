"""The one selection of remote files (``bankgate.sftp.selection``): patterns, subfolders,
markers, and names a server sends that cannot be used safely. Against a real OpenSSH sshd, and
a paramiko SFTP server that lists names no honest server sends."""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import paramiko
import pytest

from bankgate.banks import BankConfig, marker, unchanged
from bankgate.sftp import SftpSettings, connect, pull_bank
from bankgate.sftp.selection import matches, select_remote
from bankgate.store.local import LocalStore
from demo.sftp_server import DemoSftpServer, _Root
from tests.sftp.sshd import Sshd

OLD = datetime(2026, 3, 6, 12, tzinfo=UTC).timestamp()  # a past day: a pull files keys under the mtime's date
QUICK = (unchanged(60, settle=0),)


def rules(**overrides: Any) -> BankConfig:
    return BankConfig("acme", **{"stability": QUICK, "backoff": 0.05, **overrides})


def landed(root: Path) -> list[str]:
    """Keys of the pulled files in a local staging store (not the ledger)."""
    return sorted(i.key for i in LocalStore(root).list() if not i.key.startswith("bankgate-"))


# -- patterns ----------------------------------------------------------------------------------------


def test_a_pattern_without_a_slash_matches_the_name_and_one_with_slashes_the_path_folder_by_folder() -> None:
    assert matches("payroll.ach", ("*.ach",)) and matches("2026-03-04/payroll.ach", ("*.ach",))
    assert matches("2026-03-04/payroll.ach", ("2026-*/*.ach",))
    assert not matches("payroll.ach", ("2026-*/*.ach",))  # not in a dated folder
    assert not matches("2026-03-04/late/payroll.ach", ("2026-*/*.ach",))  # '*' never spans a '/'
    assert not matches("2026-03-04/payroll.tmp.ach", ("*.ach",), ("*.tmp.*",))
    assert not matches("2026-03-04/tmp/x.ach", ("*.ach",), ("*/tmp/*",))
    assert not matches("Payroll.ACH", ("*.ach",))  # case-sensitive, as the server's names are


# -- one selection, on a real server -------------------------------------------------------------------


def test_subfolders_to_a_depth_markers_apart_and_links_not_followed(server: Sshd, settings: SftpSettings) -> None:
    for path in ("/outbound/top.ach", "/outbound/2026-03-04/a.ach", "/outbound/2026-03-04/a.ach.done"):
        server.put(path, b"x", mtime=OLD)
    server.put("/outbound/2026-03-04/deeper/b.ach", b"x", mtime=OLD)  # two levels down
    server.put("/outbound/2026-03-04/notes.csv", b"x", mtime=OLD)
    (server.outbound / "linked").symlink_to(server.outbound / "2026-03-04")  # a folder link: not followed

    with connect(settings) as session:
        flat = select_remote(session.sftp, rules(include=("*.ach",), stability=(marker(".done"),)))
        one = select_remote(session.sftp, rules(include=("*.ach",), subfolders=1, stability=(marker(".done"),)))
        two = select_remote(session.sftp, rules(include=("2026-*/*/*.ach",), subfolders=2))

    assert [f.path for f in flat.files] == ["/outbound/top.ach"]
    assert [f.path for f in one.files] == ["/outbound/2026-03-04/a.ach", "/outbound/top.ach"]
    assert [m.path for m in one.markers] == ["/outbound/2026-03-04/a.ach.done"]
    assert one.directory_of["/outbound/2026-03-04/a.ach"] == "/outbound"
    assert [f.path for f in two.files] == ["/outbound/2026-03-04/deeper/b.ach"]
    assert flat.refused == one.refused == two.refused == {}


def test_pull_bank_pulls_dated_folders_to_the_depth_into_the_same_relative_keys(
    server: Sshd, settings: SftpSettings, local_url: str
) -> None:
    server.put("/outbound/2026-03-04/a.ach", b"a", mtime=OLD)
    server.put("/outbound/2026-03-05/a.ach", b"same name, next day", mtime=OLD)
    server.put("/outbound/2026-03-05/x/too-deep.ach", b"x", mtime=OLD)
    server.put("/outbound/notes.txt", b"n", mtime=OLD)

    report = pull_bank(settings, rules(include=("20??-??-??/*.ach",), subfolders=1), local_url)

    assert report.ok and report.refused == {}
    assert sorted(p.key for p in report.pulled) == ["2026-03-06/2026-03-04/a.ach", "2026-03-06/2026-03-05/a.ach"]
    assert landed(Path(local_url.removeprefix("file://"))) == [p.key for p in report.pulled]


def test_names_with_control_characters_or_too_long_a_key_are_refused_and_the_rest_pulled(
    server: Sshd, settings: SftpSettings, s3_url: str
) -> None:
    server.put("/outbound/ok.ach", b"ok", mtime=OLD)
    server.put("/outbound/forged\nINFO pulled everything.ach", b"x", mtime=OLD)  # would forge a log line
    server.put("/outbound/" + "n" * 200 + ".ach", b"x", mtime=OLD)
    deep = s3_url + "p" * 820  # inbound/acme/ppp.../2026-03-06/nnn....ach: 1,049 bytes, over S3's 1,024

    report = pull_bank(settings, rules(), deep)

    assert [p.remote.path for p in report.pulled] == ["/outbound/ok.ach"]
    assert report.refused == {
        "/outbound/forged\nINFO pulled everything.ach": (
            "unsafe name, not pulled: name contains NUL or a control character"
        ),
        "/outbound/" + "n" * 200 + ".ach": (
            "unsafe name, not pulled: its staging key would be 1049 bytes (at most 1024)"
        ),
    }
    assert "2 refused" in report.summary()
    assert (server.outbound / "forged\nINFO pulled everything.ach").exists()  # left alone on the server


# -- a server that lists names no honest server sends -----------------------------------------------------

HOSTILE = ("../escaped.ach", "/etc/passwd.ach", "sub/../../up.ach", "..\\up.ach", "C:evil.ach")


class _Hostile(_Root):
    """Lists, besides the real files, names that climb out of the folder (as the server in
    Airflow's SFTP path-traversal CVE did), and records every path a client opens."""

    opened: ClassVar[list[str]] = []

    def list_folder(self, path: str) -> Any:
        found = super().list_folder(path)
        if isinstance(found, int) or posixpath.normpath(path) != "/outbound":
            return found
        for name in HOSTILE:
            attrs = paramiko.SFTPAttributes()
            attrs.filename, attrs.st_mode, attrs.st_size = name, stat.S_IFREG | 0o644, 6
            attrs.st_mtime = attrs.st_atime = int(OLD)
            found.append(attrs)
        return found

    def open(self, path: str, flags: int, attr: Any) -> Any:
        self.opened.append(path)
        return super().open(path, flags, attr)


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[DemoSftpServer]:
    root = tmp_path / "bank"
    (root / "outbound").mkdir(parents=True)
    (root / "outbound" / "ok.ach").write_bytes(b"honest")
    os.utime(root / "outbound" / "ok.ach", (OLD, OLD))
    for target in ("escaped.ach", "etc/passwd.ach", "up.ach"):
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        (root / target).write_bytes(b"secret")  # what a traversal would read
        os.utime(root / target, (OLD, OLD))
    _Hostile.opened = []
    server = DemoSftpServer(root)
    server.interface = _Hostile
    with server:
        yield server


def test_names_a_server_sends_that_climb_out_are_refused_never_opened_or_staged(
    hostile: DemoSftpServer, tmp_path: Path
) -> None:
    settings = SftpSettings(
        host=hostile.host,
        port=hostile.port,
        username=hostile.user,
        private_key=hostile.client_key,
        known_hosts=hostile.known_hosts + "\n",
        timeout=10.0,
    )
    staging = tmp_path / "staging"

    report = pull_bank(settings, rules(), f"file://{staging}")

    assert [p.key for p in report.pulled] == ["2026-03-06/ok.ach"]
    assert landed(staging) == ["2026-03-06/ok.ach"]
    assert _Hostile.opened == ["/outbound/ok.ach"]  # nothing else was even asked for
    assert set(report.refused) == {
        "/outbound/../escaped.ach",
        "/outbound//etc/passwd.ach",
        "/outbound/sub/../../up.ach",
        "/outbound/..\\up.ach",
        "/outbound/C:evil.ach",
    }
    assert report.refused["/outbound/../escaped.ach"].startswith("the server sent the name '../escaped.ach'")
    assert report.refused["/outbound/..\\up.ach"] == "unsafe name, not pulled: path climbs out with '..'"
    assert report.refused["/outbound/C:evil.ach"] == "unsafe name, not pulled: path starts with a drive letter"
