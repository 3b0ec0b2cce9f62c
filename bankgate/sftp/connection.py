"""SSH/SFTP connections to a bank: pinned host keys, key or password auth, tuned for throughput.

Host keys are checked against the connection's own known_hosts text only (never the
machine's ``~/.ssh/known_hosts``), with paramiko's ``RejectPolicy`` semantics: an unknown key
or a changed one raises :class:`HostKeyError` naming the offered key's fingerprint, before any
authentication or file operation happens. Secrets live in fields excluded from ``repr`` and
are never put into a log line or an exception message.

Throughput settings (why): paramiko's defaults (2 MiB window, 32 KiB packets, AES-CTR with a
separate HMAC) cap a pull at roughly half of what OpenSSH's ``sftp`` reaches; a 16 MiB window
keeps the pipelined reader's requests in flight even at 20 ms RTT, packets of up to 256 KiB are
allowed (OpenSSH's server still sends most data in 32 KiB packets: ~30,000 per GiB, each
handled in Python by paramiko's transport thread, the main cost of a pull besides SHA-256),
and AES-GCM (one AEAD call per packet, AES-NI: ~0.07 s per GiB) is preferred when the server
offers it. Compression is off unless configured: bank files are often already
compressed or encrypted, and zlib in the transport thread would cap throughput. The SFTP
channel's receive buffer is replaced by ``reader.GulpPipe`` (no copies in and out of an
array, one wake-up per SFTP response rather than per SSH packet): on a 2-core machine, reading,
hashing and writing 1 GiB over loopback went from ~270 to ~380 MiB/s (~2.6 to ~2.0 CPU-seconds
per GiB in this process), a whole default pull ~10% faster; ``gulp_pipe=False`` keeps
paramiko's own.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import paramiko

from bankgate.sftp.errors import AuthError, HostKeyError
from bankgate.sftp.reader import GulpPipe

log = logging.getLogger(__name__)

MiB = 1 << 20
#: Preferred first when the server offers them; paramiko's other ciphers follow.
FAST_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr")


@dataclass(frozen=True)
class SftpSettings:
    """How to reach one bank's SFTP server. ``known_hosts`` is OpenSSH known_hosts text (plain
    ``host``, ``[host]:port`` or hashed ``|1|...`` names; ``@revoked`` honoured); it must pin
    the server's key, there is no trust-on-first-use."""

    host: str
    username: str
    known_hosts: str
    port: int = 22
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)  # key text: OpenSSH or PEM
    private_key_path: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    timeout: float = 30.0  # connect, banner, auth, and any read that stalls this long
    compress: bool = False
    window_size: int = 16 * MiB  # >= read_depth x read length in flight (64 x 255 KiB on OpenSSH)
    max_packet_size: int = 256 * 1024
    ciphers: tuple[str, ...] = FAST_CIPHERS
    read_depth: int = 64  # outstanding READ requests per file
    read_block: int | None = None  # None: the server's limit (limits@openssh.com), else 32 KiB
    keepalive: int = 30
    gulp_pipe: bool = True  # the reader's channel buffer: fewer copies and wake-ups (reader.GulpPipe)

    def __post_init__(self) -> None:
        if not self.host or not self.username:
            raise ValueError("SftpSettings needs a host and a username")
        if not 0 < self.port < 65536:
            raise ValueError(f"invalid SFTP port {self.port}")
        if self.password is None and self.private_key is None and self.private_key_path is None:
            raise ValueError("SftpSettings needs a password, a private key or a private key path")

    @property
    def endpoint(self) -> str:
        """The host as known_hosts names it: ``host`` on port 22, else ``[host]:port``."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SftpSettings:
        """Build from a flat mapping such as an Airflow SFTP connection's fields and extras
        (``login`` for ``username``, ``key_file`` for ``private_key_path``,
        ``private_key_passphrase`` for ``passphrase``, ``host_key`` as a single pinned key).
        ``no_host_key_check`` is refused: host keys are always checked."""
        data = dict(values)
        if str(data.pop("no_host_key_check", "false")).lower() in ("true", "1", "yes"):
            raise ValueError("no_host_key_check is not supported: pin the server's host key in known_hosts")
        aliases = {"login": "username", "key_file": "private_key_path", "private_key_passphrase": "passphrase"}
        for alias, name in aliases.items():
            if alias in data:
                data.setdefault(name, data.pop(alias))
        host_key = data.pop("host_key", None)
        known = data.get("known_hosts") or ""
        if host_key:
            port = int(data.get("port") or 22)
            host = data["host"]
            name = host if port == 22 else f"[{host}]:{port}"
            parts = str(host_key).split()
            line = f"{name} {parts[0]} {parts[1]}" if len(parts) >= 2 else f"{name} ssh-rsa {parts[0]}"
            known = f"{known}\n{line}\n" if known else f"{line}\n"
        data["known_hosts"] = known
        for name, kind in (("port", int), ("timeout", float), ("keepalive", int), ("read_depth", int)):
            if data.get(name) is not None:
                data[name] = kind(data[name])
        for flag in ("compress", "gulp_pipe"):
            if flag in data:
                data[flag] = str(data[flag]).lower() in ("true", "1", "yes", "on")
        if "ciphers" in data and isinstance(data["ciphers"], str):
            data["ciphers"] = tuple(c.strip() for c in data["ciphers"].split(",") if c.strip())
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"unknown SFTP settings: {', '.join(unknown)}")
        return cls(**data)

    def with_endpoint(self, host: str, port: int) -> SftpSettings:
        return replace(self, host=host, port=port)


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's ``SHA256:...`` form, as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class PinnedKeys:
    """The parsed known_hosts text: paramiko host keys plus revoked keys."""

    host_keys: paramiko.HostKeys
    revoked: tuple[paramiko.PKey, ...]
    names: tuple[str, ...]


def parse_known_hosts(text: str) -> PinnedKeys:
    host_keys = paramiko.HostKeys()
    revoked: list[paramiko.PKey] = []
    names: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        marker = ""
        if line.startswith("@"):
            marker, _, line = line.partition(" ")
            line = line.strip()
            if marker != "@revoked":
                raise ValueError(f"known_hosts line {number}: {marker} entries are not supported")
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno=number)
        except paramiko.hostkeys.InvalidHostKey as error:
            raise ValueError(f"known_hosts line {number}: invalid key ({error.exc})") from None
        if entry is None:
            raise ValueError(f"known_hosts line {number}: not 'HOSTS KEYTYPE BASE64' or an unsupported key type")
        if marker:
            revoked.append(entry.key)
            continue
        for name in entry.hostnames:
            host_keys.add(name, entry.key.get_name(), entry.key)
            names.append(name)
    return PinnedKeys(host_keys, tuple(revoked), tuple(names))


class _RejectUnknown(paramiko.RejectPolicy):
    """RejectPolicy that says which key was offered and what to do about it."""

    def __init__(self, settings: SftpSettings, pinned: PinnedKeys) -> None:
        self.settings = settings
        self.pinned = pinned

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        hint = ""
        if self.settings.port != 22 and self.settings.host in self.pinned.names:
            hint = (
                f" known_hosts has an entry for {self.settings.host!r}, but a server on port"
                f" {self.settings.port} must be written [{self.settings.host}]:{self.settings.port}."
            )
        raise HostKeyError(
            f"SFTP host key not pinned for {self.settings.host} port {self.settings.port}: the server offered"
            f" {key.get_name()} key {fingerprint(key)}, and the connection's known_hosts has no"
            f" key for {self.settings.endpoint}.{hint} Confirm this fingerprint with the bank out of band, then add"
            f" '{self.settings.endpoint} {key.get_name()} <base64 key>' to the connection's known_hosts. Nothing"
            " was transferred."
        )


def _changed_key_error(settings: SftpSettings, offered: paramiko.PKey, expected: paramiko.PKey | None) -> HostKeyError:
    pinned = f"{expected.get_name()} {fingerprint(expected)}" if expected is not None else "another key"
    return HostKeyError(
        f"SFTP host key CHANGED for {settings.host} port {settings.port}: the server offered {offered.get_name()}"
        f" key {fingerprint(offered)}, but known_hosts pins {pinned}. This may be a key rotation"
        " or a man-in-the-middle: confirm the new fingerprint with the bank out of band before replacing the"
        " pinned key in the connection's known_hosts. Nothing was transferred."
    )


def _load_private_key(settings: SftpSettings) -> paramiko.PKey | None:
    if settings.private_key is None and settings.private_key_path is None:
        return None
    try:
        if settings.private_key_path is not None:
            return paramiko.PKey.from_path(Path(settings.private_key_path), settings.passphrase)
        assert settings.private_key is not None
        text = settings.private_key.strip() + "\n"
        last: Exception | None = None
        for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
            try:
                return kind.from_private_key(io.StringIO(text), password=settings.passphrase)
            except (paramiko.SSHException, ValueError, TypeError) as error:
                last = error
        raise AuthError(f"the private key for {settings.username}@{settings.endpoint} could not be loaded ({last})")
    except (paramiko.SSHException, ValueError, TypeError, OSError) as error:
        # Messages from key loaders name the problem ("bad passphrase"), never the key or passphrase.
        raise AuthError(
            f"the private key for {settings.username}@{settings.endpoint} could not be loaded ({type(error).__name__})"
        ) from None


@dataclass
class ServerLimits:
    """What the server said it accepts (OpenSSH's ``limits@openssh.com``), or safe defaults."""

    read_length: int = 32 * 1024
    from_server: bool = False


class SftpSession:
    """One SSH connection with one SFTP channel. Not thread-safe: one worker, one session.

    A context manager; ``reconnect()`` replaces a dropped connection with a fresh one (the
    retry loop uses it) after checking the host key again.
    """

    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings
        self.client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self.limits = ServerLimits()
        self._open()

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise ConnectionError("SFTP session is closed")
        return self._sftp

    @property
    def alive(self) -> bool:
        transport = self.client.get_transport() if self.client is not None else None
        return bool(transport is not None and transport.is_active() and self._sftp is not None)

    def _transport_factory(self, sock: socket.socket, **kwargs: Any) -> paramiko.Transport:
        s = self.settings
        transport = paramiko.Transport(
            sock, default_window_size=s.window_size, default_max_packet_size=s.max_packet_size, **kwargs
        )
        options = transport.get_security_options()
        available = tuple(options.ciphers)
        preferred = tuple(c for c in s.ciphers if c in available)
        options.ciphers = preferred + tuple(c for c in available if c not in preferred)
        return transport

    def _open(self) -> None:
        """Connect with only the pinned host keys, refuse a revoked one, open the SFTP channel."""
        s = self.settings
        pinned = parse_known_hosts(s.known_hosts)
        client = self._client(pinned)
        transport = client.get_transport()
        assert transport is not None
        offered = transport.get_remote_server_key()
        if any(offered == key for key in pinned.revoked):
            client.close()
            raise HostKeyError(
                f"SFTP host key for {s.host} port {s.port} ({offered.get_name()} {fingerprint(offered)}) is marked"
                " @revoked in the connection's known_hosts. Nothing was transferred."
            )
        if s.keepalive:
            transport.set_keepalive(s.keepalive)
        try:
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(s.timeout)  # a stalled read raises instead of hanging
        except BaseException:
            client.close()
            raise
        self.client, self._sftp = client, sftp
        self.limits = _query_limits(sftp)
        if s.gulp_pipe:  # the channel is idle now: nothing in flight to lose in the swap
            GulpPipe.install(sftp.get_channel())
        log.debug(
            "connected to %s@%s (cipher %s, read length %d)",
            s.username,
            s.endpoint,
            transport.remote_cipher,
            self.limits.read_length,
        )

    def _client(self, pinned: PinnedKeys) -> paramiko.SSHClient:
        """An SSH client connected and authenticated, trusting only the connection's own pinned
        keys (never system files); a changed key or refused credentials raise our errors."""
        s = self.settings
        pkey = _load_private_key(s)
        client = paramiko.SSHClient()
        for name in pinned.names:
            for key in pinned.host_keys.lookup(name).values():
                client.get_host_keys().add(name, key.get_name(), key)
        client.set_missing_host_key_policy(_RejectUnknown(s, pinned))
        try:
            client.connect(
                s.host,
                port=s.port,
                username=s.username,
                password=s.password,
                pkey=pkey,
                allow_agent=False,
                look_for_keys=False,
                timeout=s.timeout,
                banner_timeout=s.timeout,
                auth_timeout=s.timeout,
                channel_timeout=s.timeout,
                compress=s.compress,
                transport_factory=self._transport_factory,
            )
        except paramiko.BadHostKeyException as error:
            client.close()
            raise _changed_key_error(s, error.key, error.expected_key) from None
        except paramiko.AuthenticationException as error:
            client.close()
            raise AuthError(
                f"SFTP authentication failed for {s.username}@{s.endpoint} ({type(error).__name__}): check the"
                " connection's password or key"
            ) from None
        except BaseException:
            client.close()
            raise
        return client

    def reconnect(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        sftp, client = self._sftp, self.client
        self._sftp = self.client = None
        if sftp is not None:
            try:
                sftp.close()
            except Exception:  # a dead connection cannot be closed politely
                log.debug("closing a dead SFTP channel", exc_info=True)
        if client is not None:
            client.close()

    def __enter__(self) -> SftpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(settings: SftpSettings) -> SftpSession:
    """Open a session (``with connect(settings) as session: ...``); HostKeyError/AuthError on refusal."""
    return SftpSession(settings)


_EXTENDED, _EXTENDED_REPLY = 200, 201


def _query_limits(sftp: paramiko.SFTPClient) -> ServerLimits:
    """Ask for ``limits@openssh.com`` (OpenSSH >= 8.7): the largest READ the server answers in
    full. Other servers reply "unsupported" and keep the 32 KiB every server must accept."""
    try:
        kind, message = sftp._request(_EXTENDED, "limits@openssh.com")  # paramiko has no public call for it
    except (OSError, EOFError, paramiko.SSHException):
        return ServerLimits()
    if kind != _EXTENDED_REPLY:
        return ServerLimits()
    _packet, read_length = struct.unpack(">QQ", message.get_bytes(16))
    if read_length <= 0:
        return ServerLimits()
    return ServerLimits(read_length=min(int(read_length), 4 * MiB), from_server=True)
