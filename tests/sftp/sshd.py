"""A real OpenSSH ``sshd`` on loopback, for the SFTP tests and ``bench/pull.py``.

Debian's ``openssh-server`` is installed on first use (the tests run as root). Each server gets
its own ed25519 host key, a free port on 127.0.0.1 and a chroot under ``/srv`` (sshd refuses a
``ChrootDirectory`` with a group- or world-writable parent, so pytest's ``tmp_path`` under
``/tmp`` cannot be used) holding an ``outbound/`` directory the test user may write to. The
user ``bgtest`` is chrooted to ``internal-sftp`` and may log in by password or by key.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
SRV = Path("/srv")
USER = "bgtest"
#: Distinctive, so a test can search logs and exception text for it.
PASSWORD = "bgtest-Pw-3c9e71d0a5f4"
KEY_PASSPHRASE = "bgtest-Kp-8d24b6e1f09a"
HOST = "127.0.0.1"


class SshdUnavailable(RuntimeError):
    """This machine cannot run the test sshd (not root, no apt, install failed)."""


def _run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, input=input, capture_output=True, text=True, check=False)


def ensure_openssh_server() -> None:
    """Install Debian's ``openssh-server`` if ``/usr/sbin/sshd`` is missing."""
    if SSHD.exists():
        return
    if os.geteuid() != 0:
        raise SshdUnavailable(f"{SSHD} is missing and installing openssh-server needs root")
    if shutil.which("apt-get") is None:
        raise SshdUnavailable(f"{SSHD} is missing and there is no apt-get to install openssh-server")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "openssh-server"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not SSHD.exists():
        raise SshdUnavailable(f"apt-get install openssh-server failed: {done.stderr.strip()[-500:]}")


def ensure_user() -> pwd.struct_passwd:
    """The test user, created if absent; its password is (re)set every time."""
    if os.geteuid() != 0:
        raise SshdUnavailable("creating the test user needs root")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        made = _run("useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", USER)
        if made.returncode != 0 and "already exists" not in made.stderr:
            raise SshdUnavailable(f"useradd {USER} failed: {made.stderr.strip()}") from None
    changed = _run("chpasswd", input=f"{USER}:{PASSWORD}\n")
    if changed.returncode != 0:
        raise SshdUnavailable(f"chpasswd failed: {changed.stderr.strip()}")
    return pwd.getpwnam(USER)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _keygen(path: Path, *, passphrase: str = "", kind: str = "ed25519") -> str:
    """Write a key pair; returns the public key line ``type base64``."""
    extra = ["-b", "3072", "-m", "PEM"] if kind == "rsa" else []
    made = _run("ssh-keygen", "-q", "-t", kind, *extra, "-N", passphrase, "-C", "bankgate-test", "-f", str(path))
    if made.returncode != 0:
        raise SshdUnavailable(f"ssh-keygen failed: {made.stderr.strip()}")
    kind_name, blob = path.with_suffix(".pub").read_text().split()[:2]
    return f"{kind_name} {blob}"


@dataclass
class Sshd:
    """A running server: where it listens, how to log in, and its chroot on this machine."""

    root: Path
    port: int
    host_key: str  # "ssh-ed25519 AAAA..."
    client_key: Path  # unencrypted ed25519
    client_key_encrypted: Path  # ed25519 protected by KEY_PASSPHRASE
    client_key_rsa: Path  # RSA, PEM, unencrypted
    process: subprocess.Popen[bytes]
    host: str = HOST
    user: str = USER
    password: str = PASSWORD
    uid: int = 0
    gid: int = 0
    extra_keys: list[Path] = field(default_factory=list)

    @property
    def chroot(self) -> Path:
        return self.root / "chroot"

    @property
    def outbound(self) -> Path:
        """``/outbound`` as the SFTP user sees it."""
        return self.chroot / "outbound"

    @property
    def known_hosts(self) -> str:
        """An OpenSSH known_hosts line pinning this server's key (``[host]:port`` form)."""
        return f"[{self.host}]:{self.port} {self.host_key}\n"

    @property
    def log_path(self) -> Path:
        return self.root / "etc" / "sshd.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def local(self, remote_path: str) -> Path:
        """The file on this machine behind an absolute remote path such as ``/outbound/a.ach``."""
        return self.chroot / remote_path.lstrip("/")

    def put(self, remote_path: str, data: bytes, *, mtime: float | None = None) -> Path:
        """Create a remote file as if the bank had uploaded it (owned by the SFTP user)."""
        path = self.local(remote_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _chown_up_to(path.parent, self.outbound, self.uid, self.gid)
        path.write_bytes(data)
        os.chown(path, self.uid, self.gid)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def clear(self) -> None:
        """Empty ``outbound/`` between tests."""
        for child in self.outbound.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def _chown_up_to(path: Path, top: Path, uid: int, gid: int) -> None:
    while path != top and top in path.parents:
        os.chown(path, uid, gid)
        path = path.parent


def _check_parents(path: Path) -> None:
    for parent in [path, *path.parents]:
        st = parent.stat()
        if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise SshdUnavailable(f"{parent} is not root-owned or is group/world-writable: sshd would refuse a chroot")


def _wait_for_banner(host: str, port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SshdUnavailable(f"sshd exited with {process.returncode}: {log.read_text(errors='replace')[-800:]}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1) as sock:
            if sock.recv(64).startswith(b"SSH-2.0-"):
                return
        time.sleep(0.05)
    raise SshdUnavailable(f"sshd did not answer on {host}:{port} within {timeout}s")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """sshd gets SIGTERM if the test process dies without stopping it (Linux prctl)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _sweep_stale(older_than: float = 3600) -> None:
    """Remove chroots left by killed runs: no live sshd behind them, and older than an hour."""
    for root in SRV.glob("bankgate-test-*"):
        try:
            pid = int((root / "etc" / "sshd.pid").read_text().strip())
            os.kill(pid, 0)
            continue  # still serving someone
        except (OSError, ValueError):
            pass
        with contextlib.suppress(OSError):
            if time.time() - root.stat().st_mtime > older_than:
                shutil.rmtree(root, ignore_errors=True)


def start_sshd(*, max_startups: str = "64:30:128") -> Sshd:
    """Install if needed, configure and start an sshd; the caller must ``stop()`` it."""
    ensure_openssh_server()
    user = ensure_user()
    SRV.mkdir(mode=0o755, exist_ok=True)
    _check_parents(SRV)
    _sweep_stale()
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory

    root = SRV / f"bankgate-test-{uuid.uuid4().hex[:12]}"
    etc, chroot = root / "etc", root / "chroot"
    for directory in (root, etc, chroot, etc / "authorized_keys"):
        directory.mkdir(mode=0o755)
        os.chmod(directory, 0o755)  # whatever the umask
    outbound = chroot / "outbound"
    outbound.mkdir()
    os.chown(outbound, user.pw_uid, user.pw_gid)
    try:
        host_key = _keygen(etc / "ssh_host_ed25519_key")
        client_key = etc / "client_ed25519"
        public = _keygen(client_key)
        encrypted = etc / "client_ed25519_encrypted"
        public_encrypted = _keygen(encrypted, passphrase=KEY_PASSPHRASE)
        rsa = etc / "client_rsa"
        public_rsa = _keygen(rsa, kind="rsa")
        authorized = etc / "authorized_keys" / USER
        authorized.write_text(f"{public}\n{public_encrypted}\n{public_rsa}\n")
        os.chmod(authorized, 0o644)
        port = free_port()
        config = etc / "sshd_config"
        config.write_text(
            f"""\
ListenAddress {HOST}
Port {port}
HostKey {etc}/ssh_host_ed25519_key
PidFile {etc}/sshd.pid
AuthorizedKeysFile {etc}/authorized_keys/%u
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers {USER}
UseDNS no
StrictModes yes
MaxStartups {max_startups}
MaxSessions 32
MaxAuthTries 10
LogLevel VERBOSE
Subsystem sftp internal-sftp
Match User {USER}
    ChrootDirectory {chroot}
    ForceCommand internal-sftp
    AllowTcpForwarding no
    X11Forwarding no
"""
        )
        log_path = etc / "sshd.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=log, preexec_fn=_die_with_parent
            )
        server = Sshd(
            root=root,
            port=port,
            host_key=host_key,
            client_key=client_key,
            client_key_encrypted=encrypted,
            client_key_rsa=rsa,
            process=process,
            uid=user.pw_uid,
            gid=user.pw_gid,
        )
        try:
            _wait_for_banner(HOST, port, process, log_path)
        except BaseException:
            server.stop()
            raise
        return server
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
