"""A small SFTP server for the demo: one directory served over SSH on loopback, no root needed.

The demo needs "a bank" to pull from on a fresh machine where OpenSSH's sshd cannot be started
(it wants root for privilege separation). paramiko's server side does the job: a fresh Ed25519
host key per server (so the client must pin it, as with a real bank), public-key login for one
user, and the SFTP operations a pull uses (list, stat, read, rename, remove). It is a demo
stand-in, not a product: the tests and the benchmark run against OpenSSH.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import posixpath
import socket
import threading
from pathlib import Path
from typing import Any

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)


def new_ed25519() -> tuple[paramiko.PKey, str]:
    """A fresh Ed25519 key as a paramiko key and as OpenSSH private key text."""
    text = (
        Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
        .decode()
    )
    return paramiko.Ed25519Key.from_private_key(io.StringIO(text)), text


def _errno_status(exc: OSError) -> int:
    return paramiko.SFTPServer.convert_errno(exc.errno or errno.EIO)


class _Handle(paramiko.SFTPHandle):
    def stat(self) -> Any:
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return _errno_status(exc)

    def chattr(self, attr: Any) -> int:
        return paramiko.sftp.SFTP_OP_UNSUPPORTED


class _Root(paramiko.SFTPServerInterface):
    """SFTP operations confined to one local directory (the server's ``/``)."""

    def __init__(self, server: Any, *args: Any, root: Path, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.root = root

    def _local(self, path: str) -> str:
        clean = posixpath.normpath("/" + path).lstrip("/")  # never above the root
        return str(self.root / clean)

    def canonicalize(self, path: str) -> str:
        return posixpath.normpath("/" + path)

    def list_folder(self, path: str) -> Any:
        local = self._local(path)
        try:
            out = []
            for name in sorted(os.listdir(local)):
                attr = paramiko.SFTPAttributes.from_stat(os.lstat(os.path.join(local, name)))
                attr.filename = name
                out.append(attr)
            return out
        except OSError as exc:
            return _errno_status(exc)

    def stat(self, path: str) -> Any:
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self._local(path)))
        except OSError as exc:
            return _errno_status(exc)

    lstat = stat

    def open(self, path: str, flags: int, attr: Any) -> Any:
        local = self._local(path)
        try:
            fd = os.open(local, flags | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            return _errno_status(exc)
        writing = flags & (os.O_WRONLY | os.O_RDWR)
        mode = ("ab" if flags & os.O_APPEND else "r+b" if flags & os.O_RDWR else "wb") if writing else "rb"
        handle = _Handle(flags)
        stream = os.fdopen(fd, mode)
        handle.readfile = stream
        if writing:
            handle.writefile = stream
        return handle

    def remove(self, path: str) -> int:
        try:
            os.remove(self._local(path))
        except OSError as exc:
            return _errno_status(exc)
        return paramiko.sftp.SFTP_OK

    def rename(self, oldpath: str, newpath: str) -> int:
        target = self._local(newpath)
        if os.path.exists(target):  # SFTP v3 rename never replaces (OpenSSH behaves the same)
            return paramiko.sftp.SFTP_FAILURE
        try:
            os.rename(self._local(oldpath), target)
        except OSError as exc:
            return _errno_status(exc)
        return paramiko.sftp.SFTP_OK

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        try:
            os.replace(self._local(oldpath), self._local(newpath))
        except OSError as exc:
            return _errno_status(exc)
        return paramiko.sftp.SFTP_OK

    def mkdir(self, path: str, attr: Any) -> int:
        try:
            os.mkdir(self._local(path))
        except OSError as exc:
            return _errno_status(exc)
        return paramiko.sftp.SFTP_OK

    def rmdir(self, path: str) -> int:
        try:
            os.rmdir(self._local(path))
        except OSError as exc:
            return _errno_status(exc)
        return paramiko.sftp.SFTP_OK

    def chattr(self, path: str, attr: Any) -> int:
        return paramiko.sftp.SFTP_OP_UNSUPPORTED


class _Auth(paramiko.ServerInterface):
    def __init__(self, user: str, client_key: paramiko.PKey) -> None:
        self.user = user
        self.client_key = client_key

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if username == self.user and key == self.client_key:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class DemoSftpServer:
    """Serves ``root`` as ``/`` on ``127.0.0.1:<free port>`` to ``user`` with a generated key.

    ``known_hosts`` is the line a client pins; ``client_key`` the private key text it logs in
    with. Use as a context manager; each connection gets its own paramiko transport thread.
    ``interface`` serves the SFTP operations (a test swaps in a server that misbehaves).
    """

    interface: type[paramiko.SFTPServerInterface] = _Root

    def __init__(self, root: Path, user: str = "bank") -> None:
        self.root = Path(root)
        self.user = user
        self.host_key, _ = new_ed25519()
        self._client_key, self.client_key = new_ed25519()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self._transports: list[paramiko.Transport] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"demo-sftp-{self.port}", daemon=True)

    @property
    def known_hosts(self) -> str:
        return f"[{self.host}]:{self.port} {self.host_key.get_name()} {self.host_key.get_base64()}"

    def __enter__(self) -> DemoSftpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, self.interface, root=self.root)
            try:
                transport.start_server(server=_Auth(self.user, self._client_key))
            except (paramiko.SSHException, OSError, EOFError) as exc:
                log.info("demo sftp: handshake failed: %s", exc)
                transport.close()
                continue
            self._transports = [t for t in self._transports if t.is_active()] + [transport]

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        for transport in self._transports:
            transport.close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
