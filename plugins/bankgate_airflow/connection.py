"""An Airflow connection (type ``sftp``) turned into the transfer core's ``SftpSettings``.

The connection holds host, port, login, and a password or ``extra.private_key`` (key text;
``extra.private_key_passphrase`` if it is encrypted), plus ``extra.known_hosts``: the pinned
server key(s) in OpenSSH known_hosts format (``extra.host_key``, a single key, is accepted as
well). Pinning is required: a connection without it fails here, before any network access,
and ``no_host_key_check`` or ``allow_host_key_change`` are refused rather than ignored. Errors
name the connection and the field, never a secret's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bankgate.config import ConfigError

if TYPE_CHECKING:
    from bankgate.sftp.connection import SftpSettings

SFTP_TYPES = ("sftp", "ssh")
#: Extras passed on to SftpSettings; anything else is a typo or an option bankgate does not honour.
EXTRAS = frozenset(
    {
        "known_hosts",
        "host_key",
        "private_key",
        "private_key_passphrase",
        "key_file",
        "timeout",
        "compress",
        "ciphers",
        "keepalive",
        "no_host_key_check",
    }
)
_TRUE = ("true", "1", "yes", "on")


def settings_from_connection(conn: Any) -> SftpSettings:
    """Check an Airflow ``Connection`` and build ``SftpSettings``; ConfigError says what is wrong."""
    from bankgate.sftp.connection import SftpSettings

    where = f"connection {conn.conn_id!r}"
    if (conn.conn_type or "sftp") not in SFTP_TYPES:
        raise ConfigError(f"{where}: type is {conn.conn_type!r}; bank pulls need an 'sftp' connection")
    extra: Mapping[str, Any] = conn.extra_dejson or {}
    for flag in ("no_host_key_check", "allow_host_key_change"):
        if str(extra.get(flag, "")).lower() in _TRUE:
            raise ConfigError(f"{where}: extra.{flag} is set; bankgate always checks the pinned host key")
    if not conn.host:
        raise ConfigError(f"{where}: host is empty")
    if not conn.login:
        raise ConfigError(f"{where}: login is empty")
    if not str(extra.get("known_hosts") or extra.get("host_key") or "").strip():
        raise ConfigError(
            f"{where}: extra.known_hosts is missing; pin the server's host key with a known_hosts line such as "
            "'[sftp.bank.example]:2222 ssh-ed25519 AAAA...' whose fingerprint the bank confirmed out of band"
        )
    if not (conn.password or extra.get("private_key") or extra.get("key_file")):
        raise ConfigError(f"{where}: neither a password nor extra.private_key is set")
    given = {k: v for k, v in extra.items() if v not in (None, "", False) and k != "allow_host_key_change"}
    unknown = sorted(set(given) - EXTRAS)
    if unknown:
        known = ", ".join(sorted(EXTRAS))
        raise ConfigError(f"{where}: unsupported extra field(s) {', '.join(unknown)} (known: {known})")
    values = {"host": conn.host, "port": conn.port or 22, "login": conn.login, **given}
    if conn.password:
        values["password"] = conn.password
    try:
        return SftpSettings.from_mapping(values)
    except (ValueError, TypeError) as exc:  # messages name fields, never values of secrets
        raise ConfigError(f"{where}: {exc}") from None


def get_settings(conn_id: str) -> SftpSettings:
    """Look the connection up through Airflow (secrets backend, ``AIRFLOW_CONN_*``, database).
    Only ever called inside a task, never while a DAG file is parsed."""
    from airflow.sdk import Connection

    return settings_from_connection(Connection.get(conn_id))
