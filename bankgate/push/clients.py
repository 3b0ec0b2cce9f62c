"""Which clients may push, and what: ``[clients.<id>]`` tables beside ``[banks.<name>]``.

Clients push files into the same staging bucket banks' files are pulled into, so they are
configured in the same file (``BANKGATE_BANKS`` / ``BANKGATE_CLIENTS``), checked the same way:
every problem at once, each naming the file, the client and the key. A ``[client_defaults]``
table supplies any key a client leaves out.

```toml
[clients.acme]
extensions = [".ach", ".csv"]           # compared case-insensitively; the last suffix(es) of the name
content_types = ["text/plain", "text/csv", "application/octet-stream"]
max_size = "2 GiB"
uploads_per_day = 200
link_expiry = "15 min"
prefix = "inbound/{client}/{date}/"     # the default
multipart_threshold = "64 MiB"          # above this: multipart; below it a single PUT
```
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bankgate.banks import parse_duration, parse_size
from bankgate.config import ConfigError

CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_PREFIX = "inbound/{client}/{date}/"
#: S3's limits: a single PUT takes 5 GiB, a multipart upload 10,000 parts of at most 5 GiB.
MAX_SINGLE_PUT = 5 << 30
MAX_OBJECT = 5 << 40
#: How long a presigned link or scoped credential may live: STS's role-chaining limit (1 h)
#: bounds credentials, and a link that outlives a working day is a leaked link.
MIN_EXPIRY, MAX_EXPIRY = 60, 12 * 3600


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """What one client may push. ``prefix`` is a template of ``{client}`` and ``{date}``."""

    client: str
    extensions: frozenset[str]
    content_types: frozenset[str]
    max_size: int = 256 << 20
    uploads_per_day: int = 100
    link_expiry: int = 900
    prefix: str = DEFAULT_PREFIX
    multipart_threshold: int = 64 << 20

    def staging_prefix(self, day: str) -> str:
        """``inbound/acme/2026-12-02/``: where this client's uploads of ``day`` land."""
        return self.prefix.format(client=self.client, date=day)

    def allows_extension(self, name: str) -> bool:
        lowered = name.lower()
        return any(lowered.endswith(ext) for ext in self.extensions)


KEYS = {"extensions", "content_types", "max_size", "uploads_per_day", "link_expiry", "prefix", "multipart_threshold"}


def parse_clients(raw: Mapping[str, Any], source: str = "clients config") -> dict[str, ClientConfig]:
    """The ``clients`` (and ``client_defaults``) tables of a parsed TOML document; every problem
    in one ConfigError. A document without clients has none (no client may push)."""
    problems: list[str] = []
    defaults = raw.get("client_defaults", {})
    tables = raw.get("clients", {})
    if not isinstance(defaults, Mapping) or not isinstance(tables, Mapping):
        raise ConfigError(f"{source}: [clients.<id>] and [client_defaults] must be tables")
    clients: dict[str, ClientConfig] = {}
    for client, table in tables.items():
        where = f"{source}: client {client!r}"
        if not CLIENT_ID.match(client):
            problems.append(f"{where}: an id of lowercase letters, digits, '-' and '_' (at most 63)")
            continue
        if not isinstance(table, Mapping):
            problems.append(f"{where}: must be a table ([clients.<id>])")
            continue
        merged = {**defaults, **table}
        for key in sorted(set(merged) - KEYS):
            problems.append(f"{where}: {key}: unknown key (expected one of {', '.join(sorted(KEYS))})")
        try:
            clients[client] = _client(client, merged)
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise ConfigError("\n".join(problems))
    return clients


def load_clients(path: str | Path) -> dict[str, ClientConfig]:
    try:
        raw = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the clients config: {exc}") from None
    return parse_clients(raw, str(path))


def _client(client: str, table: Mapping[str, Any]) -> ClientConfig:
    def strings(key: str, check: re.Pattern[str]) -> frozenset[str]:
        values = table.get(key)
        if isinstance(values, str) or not isinstance(values, list) or not values:
            raise ValueError(f"{key}: a non-empty list of strings")
        for value in values:
            if not isinstance(value, str) or not check.match(value):
                raise ValueError(f"{key}: {value!r} is not of the form {check.pattern}")
        return frozenset(value.lower() for value in values)

    def number(key: str, parse: Any, low: int, high: int, default: int) -> int:
        try:
            value = parse(table.get(key, default))
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
        if not low <= value <= high:
            raise ValueError(f"{key}: must be from {low} to {high}, not {value}")
        return value

    prefix = table.get("prefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or not prefix.endswith("/") or prefix.startswith("/") or ".." in prefix:
        raise ValueError(f"prefix: a relative key prefix ending in '/', not {prefix!r}")
    try:
        prefix.format(client=client, date="2026-01-01")
    except (KeyError, IndexError, ValueError):
        raise ValueError(f"prefix: only {{client}} and {{date}} may be filled in, not in {prefix!r}") from None

    def count(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"a whole number, not {value!r}")
        return value

    return ClientConfig(
        client=client,
        extensions=strings("extensions", re.compile(r"^\.[A-Za-z0-9._-]{1,32}$")),
        content_types=strings("content_types", re.compile(r"^[a-zA-Z0-9.+-]+/[a-zA-Z0-9.+-]+$")),
        max_size=number("max_size", parse_size, 1, MAX_OBJECT, 256 << 20),
        uploads_per_day=number("uploads_per_day", count, 1, 1_000_000, 100),
        link_expiry=number("link_expiry", parse_duration, MIN_EXPIRY, MAX_EXPIRY, 900),
        prefix=prefix,
        multipart_threshold=number("multipart_threshold", parse_size, 5 << 20, MAX_SINGLE_PUT, 64 << 20),
    )
