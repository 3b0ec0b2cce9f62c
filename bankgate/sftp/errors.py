"""What can go wrong in a pull, as types the orchestration (and Airflow) can act on.

Only :class:`ConnectionLost` and genuine network errors are worth retrying; a host-key or
authentication failure must stop the run at once, and a file that changes under us is left
for the next run.
"""

from __future__ import annotations

import socket

import paramiko


class SftpPullError(Exception):
    """Base class for the errors this package raises on purpose."""


class HostKeyError(SftpPullError):
    """The server's host key is not pinned, or differs from the pinned one. Never retried."""


class AuthError(SftpPullError):
    """The server refused our credentials. Never retried, and never names the secret."""


class ConnectionLost(SftpPullError):
    """The SSH connection dropped or stalled mid-operation: reconnect and retry the file."""


class RemoteChanged(SftpPullError):
    """The remote file changed size or mtime, shrank or vanished while it was being pulled."""


class VerificationFailed(SftpPullError):
    """The landed object is not the bytes that were read: it is removed, the remote is kept."""


class SftpStatusError(SftpPullError):
    """The SFTP server answered a request with an error status."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"SFTP status {code}: {message}")
        self.code = code


_NETWORK = (ConnectionLost, EOFError, ConnectionError, TimeoutError, socket.timeout)
_FATAL = (HostKeyError, AuthError, paramiko.AuthenticationException, paramiko.BadHostKeyException)


def is_retryable(error: BaseException, *, transport_alive: bool = True) -> bool:
    """A dropped or stalled connection (socket errors, EOF, SSH protocol errors) is retryable;
    credentials, host keys and SFTP answers such as "no such file" are not. An ``OSError``
    raised while the transport is already dead is a connection loss too (paramiko raises a
    bare ``OSError("Socket is closed")`` when writing to a closed channel)."""
    if isinstance(error, _FATAL):
        return False
    if isinstance(error, (*_NETWORK, paramiko.SSHException)):
        return True
    return isinstance(error, OSError) and not transport_alive
