"""Pipeline configuration: where files are staged, archived, quarantined and routed.

Routing is configuration, not code: a table from file type (``nacha``, ``bai2``,
``fixed:<layout>``, ``fixed:*``, ``insurance-pdf``, ``*``) to a destination URL prefix and an
output format. Loaded from a TOML file (``BANKGATE_CONFIG``) or, for a Lambda, from
environment variables; checked on load so a route into the watched prefix (which would make
the function trigger itself) is refused before any event is handled.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bankgate.ledger import LEASE_SECONDS, MAX_FAILURES
from bankgate.store import split_url
from parsers.output import OUTPUT_FORMATS

DEFAULT_SCRATCH_BUDGET = 512 << 20


class ConfigError(ValueError):
    """The configuration is unusable; the message says which setting and why."""


@dataclass(frozen=True, slots=True)
class Route:
    destination: str  # URL prefix, e.g. s3://processed/nacha/
    format: str = "jsonl"
    #: Rule codes waived for every file of this type (``bankgate rules`` lists them): reported
    #: as warnings, recorded in the ledger, never a rejection.
    allow: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    staging: str  # URL of the staging bucket/directory, e.g. s3://acme-staging
    archive: str  # URL prefix for verified originals
    quarantine: str  # URL prefix for rejected originals and their .error.json
    ledger: str  # URL prefix for ledger records
    routes: Mapping[str, Route] = field(default_factory=dict)
    watched_prefix: str = "inbound/"
    scratch_root: str | None = None
    scratch_budget_bytes: int = DEFAULT_SCRATCH_BUDGET
    lenient: bool = False
    verify: str = "sha256"  # how an archived copy is checked before the original is deleted
    lease_seconds: int = LEASE_SECONDS  # a claim older than this belongs to a dead worker
    max_failures: int = MAX_FAILURES  # failed attempts of one version before it is quarantined
    #: Rule codes waived per source: staged-object URL prefix -> codes. A bank's ``allow`` list
    #: (bank config, ``banks = <path>``) lands here under the bank's ``destination``.
    waivers: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("staging", "archive", "quarantine", "ledger"):
            try:
                split_url(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"setting '{name}': {exc}") from None
        if "*" not in self.routes:
            raise ConfigError("routes: a default route '*' is required (where files of any other type go)")
        for file_type, route in self.routes.items():
            if route.format not in OUTPUT_FORMATS:
                raise ConfigError(
                    f"routes.{file_type}: format {route.format!r} is not one of {', '.join(OUTPUT_FORMATS)}"
                )
            self._refuse_watched(f"routes.{file_type}", route.destination)
        for name in ("archive", "quarantine", "ledger"):
            self._refuse_watched(name, getattr(self, name))
        if self.verify not in ("sha256", "size"):
            raise ConfigError("verify: use 'sha256' (re-read and hash the copy) or 'size'")
        for name in ("lease_seconds", "max_failures"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}: a whole number of at least 1, got {value!r}")

    def _refuse_watched(self, name: str, url: str) -> None:
        """Outputs inside the watched prefix would trigger the processor on its own outputs."""
        staging = self.staging.rstrip("/") + "/" + self.watched_prefix
        if url.rstrip("/") + "/" == staging or url.startswith(staging):
            raise ConfigError(f"{name}: {url} is inside the watched prefix {staging}; it would trigger itself")

    def waived(self, file_type: str, source_url: str) -> frozenset[str]:
        """The rules waived for one file: its route's and its source's."""
        by_source = (codes for prefix, codes in self.waivers.items() if source_url.startswith(prefix))
        return self.route_for(file_type).allow.union(*by_source)

    def route_for(self, file_type: str) -> Route:
        if file_type in self.routes:
            return self.routes[file_type]
        family = file_type.split(":", 1)[0] + ":*"
        return self.routes.get(family, self.routes["*"])

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], source: str = "config") -> PipelineConfig:
        raw = dict(raw)
        routes_raw = raw.pop("routes", {})
        try:
            routes = {
                name: Route(**{**value, "allow": _waivers(value.get("allow", ()), f"{source}: routes.{name}.allow")})
                if isinstance(value, Mapping)
                else Route(str(value))
                for name, value in routes_raw.items()
            }
        except TypeError as exc:
            raise ConfigError(f"{source}: routes: {exc}") from None
        waivers = {
            prefix: _waivers(codes, f"{source}: waivers.{prefix}") for prefix, codes in raw.pop("waivers", {}).items()
        }
        banks_path = raw.pop("banks", None)
        if banks_path:
            from bankgate.banks import load_banks

            for bank in load_banks(banks_path).values():
                if bank.allow and bank.destination:
                    waivers[bank.destination] = waivers.get(bank.destination, frozenset()) | bank.allow
        raw["waivers"] = waivers
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"{source}: unknown settings {', '.join(sorted(unknown))}")
        missing = [n for n in ("staging", "archive", "quarantine", "ledger") if n not in raw]
        if missing:
            raise ConfigError(f"{source}: missing settings {', '.join(missing)}")
        return cls(routes=routes, **raw)

    @classmethod
    def from_toml(cls, path: str | Path) -> PipelineConfig:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        return cls.from_mapping(raw.get("pipeline", raw), str(path))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PipelineConfig:
        """``BANKGATE_CONFIG`` (a TOML file), else ``BANKGATE_STAGING`` / ``_ARCHIVE`` /
        ``_QUARANTINE`` / ``_LEDGER`` / ``_ROUTES`` (JSON) / ``_SCRATCH_ROOT`` / ``_SCRATCH_BUDGET`` /
        ``_LEASE_SECONDS`` / ``_MAX_FAILURES`` / ``_WAIVERS`` (JSON) / ``_BANKS`` (the bank config,
        for each bank's ``allow`` list)."""
        env = os.environ if env is None else env
        if env.get("BANKGATE_CONFIG"):
            return cls.from_toml(env["BANKGATE_CONFIG"])
        raw: dict[str, Any] = {}
        for name in ("staging", "archive", "quarantine", "ledger", "watched_prefix", "scratch_root"):
            value = env.get(f"BANKGATE_{name.upper()}")
            if value:
                raw[name] = value
        for variable, name in (
            ("BANKGATE_SCRATCH_BUDGET", "scratch_budget_bytes"),
            ("BANKGATE_LEASE_SECONDS", "lease_seconds"),
            ("BANKGATE_MAX_FAILURES", "max_failures"),
        ):
            if env.get(variable):
                try:
                    raw[name] = int(env[variable])
                except ValueError:
                    raise ConfigError(f"{variable}: not a whole number: {env[variable]!r}") from None
        if env.get("BANKGATE_LENIENT"):
            raw["lenient"] = env["BANKGATE_LENIENT"].lower() in ("1", "true", "yes")
        for variable, name in (("BANKGATE_ROUTES", "routes"), ("BANKGATE_WAIVERS", "waivers")):
            try:
                raw[name] = json.loads(env.get(variable, "{}"))
            except ValueError as exc:
                raise ConfigError(f"{variable} is not JSON: {exc}") from None
        if env.get("BANKGATE_BANKS"):
            raw["banks"] = env["BANKGATE_BANKS"]
        return cls.from_mapping(raw, "environment")


def _waivers(codes: Any, where: str) -> frozenset[str]:
    """Rule codes, checked against every parser's registry: a typo fails the load, not silently."""
    from parsers.registry import validate_waivers

    if isinstance(codes, str) or not all(isinstance(code, str) for code in codes):
        raise ConfigError(f"{where}: a list of rule codes, not {codes!r}")
    try:
        return validate_waivers(codes)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
