"""Pipeline configuration: where files are staged, archived, quarantined and routed.

Routing is configuration, not code: a table from file type (``nacha``, ``bai2``,
``fixed:<layout>``, ``fixed:*``, ``insurance-pdf``, ``*``) to a destination URL prefix and an
output format. Loaded from a TOML file (``BANKGATE_CONFIG``) or, for a Lambda, from
environment variables (``bankgate/settings.py`` lists them); checked on load, every problem
reported at once (``parsers/schema.py``), so a route into the watched prefix (which would make
the function trigger itself) is refused before any event is handled.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from bankgate import settings
from bankgate.ledger import LEASE_SECONDS, MAX_FAILURES
from bankgate.parsers.output import OUTPUT_FORMATS
from bankgate.parsers.schema import Problems
from bankgate.settings import DEFAULT_SCRATCH_BUDGET, ConfigError
from bankgate.store import split_url

__all__ = ["DEFAULT_SCRATCH_BUDGET", "ConfigError", "PipelineConfig", "Route"]
#: The secret references of PGP decryption: ``bankgate.secrets`` resolves them.
PGP_SETTINGS = ("pgp_keys", "pgp_passphrase", "pgp_verify_keys")


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
    #: PGP decryption: secret references (``bankgate/secrets.py``), resolved when first needed.
    pgp_keys: str | None = None
    pgp_passphrase: str | None = None
    pgp_verify_keys: str | None = None

    def __post_init__(self) -> None:
        problems = Problems("", ConfigError, "the pipeline config")
        for name in ("staging", "archive", "quarantine", "ledger"):
            problems.check(f"setting '{name}'", partial(split_url, getattr(self, name)))
        if "*" not in self.routes:
            problems.add("routes", "a default route '*' is required (where files of any other type go)")
        for file_type, route in self.routes.items():
            if route.format not in OUTPUT_FORMATS:
                problems.add(
                    f"routes.{file_type}", f"format {route.format!r} is not one of {', '.join(OUTPUT_FORMATS)}"
                )
            self._refuse_watched(f"routes.{file_type}", route.destination, problems)
        for name in ("archive", "quarantine", "ledger"):
            self._refuse_watched(name, getattr(self, name), problems)
        if self.verify not in ("sha256", "size"):
            problems.add("verify", "use 'sha256' (re-read and hash the copy) or 'size'")
        for name in ("lease_seconds", "max_failures"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.add(name, f"a whole number of at least 1, got {value!r}")
        problems.raise_if_any()

    def _refuse_watched(self, name: str, url: str, problems: Problems) -> None:
        """Outputs inside the watched prefix would trigger the processor on its own outputs."""
        staging = self.staging.rstrip("/") + "/" + self.watched_prefix
        if url.rstrip("/") + "/" == staging or url.startswith(staging):
            problems.add(name, f"{url} is inside the watched prefix {staging}; it would trigger itself")

    def waived(self, file_type: str, source_url: str) -> frozenset[str]:
        """The rules waived for one file: its route's and its source's. A source is a folder
        (``…/inbound/b`` and ``…/inbound/b/`` alike: never ``…/inbound/bx/``) or one object's URL."""
        by_source = (codes for prefix, codes in self.waivers.items() if _within(source_url, prefix))
        return self.route_for(file_type).allow.union(*by_source)

    def route_for(self, file_type: str) -> Route:
        if file_type in self.routes:
            return self.routes[file_type]
        family = file_type.split(":", 1)[0] + ":*"
        return self.routes.get(family, self.routes["*"])

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], source: str = "config") -> PipelineConfig:
        """A config from a TOML table or the environment's values; every problem in one ConfigError."""
        problems = Problems(source, ConfigError, f"the pipeline config ({source})")
        raw = dict(raw)
        routes: dict[str, Route] = {}
        for name, value in _table(raw.pop("routes", {}), "routes", problems).items():
            route = problems.check(f"routes.{name}", partial(_route, name, value, source))
            if route is not None:
                routes[name] = route
        waivers: dict[str, frozenset[str]] = {}
        for prefix, codes in _table(raw.pop("waivers", {}), "waivers", problems).items():
            waived = problems.check(None, partial(_waivers, codes, f"{source}: waivers.{prefix}"))
            if waived is not None:
                waivers[prefix] = waived
        banks_path = raw.pop("banks", None)
        if banks_path:
            from bankgate.banks import load_banks

            for bank in problems.check(None, lambda: load_banks(banks_path).values(), ()):
                if bank.allow and bank.destination:
                    waivers[bank.destination] = waivers.get(bank.destination, frozenset()) | bank.allow
        raw["waivers"] = waivers
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            problems.add("", f"unknown settings {', '.join(sorted(unknown))}")
        missing = [n for n in ("staging", "archive", "quarantine", "ledger") if n not in raw]
        if missing:
            problems.add("", f"missing settings {', '.join(missing)}")
        config = None
        if not missing:  # the rest is checked by the dataclass, whatever was found above
            known = {k: v for k, v in raw.items() if k not in unknown}
            try:
                config = cls(routes=routes, **known)
            except ConfigError as exc:
                problems.lines.extend(f"{source}: {line}" for line in exc.problems)
        problems.raise_if_any()
        assert config is not None
        return config

    @classmethod
    def from_toml(cls, path: str | Path) -> PipelineConfig:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        return cls.from_mapping(raw.get("pipeline", raw), str(path))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PipelineConfig:
        """``BANKGATE_CONFIG`` (a TOML file), else the pipeline's variables (``bankgate/settings.py``
        names the key each sets; ``BANKGATE_BANKS`` adds each bank's ``allow`` list). The PGP
        variables fill in what the TOML file leaves out."""
        path = settings.config_file(env)
        if path is not None:
            config = cls.from_toml(path)
            pgp = settings.config_values(env, [k for k in PGP_SETTINGS if getattr(config, k) is None])
            return replace(config, **pgp)
        return cls.from_mapping(settings.config_values(env), "environment")


def ledger_root_url(explicit: str | None = None) -> str:
    """The ledger root every writer and reader shares (pulls, processing, pushes, the CLI, the
    Files view): ``explicit``, else ``BANKGATE_LEDGER``, else the ``BANKGATE_CONFIG`` file's
    ``ledger``; "" when none is configured."""
    url = settings.ledger_root(explicit)
    if url:
        return url
    path = settings.config_file()
    return PipelineConfig.from_toml(path).ledger if path is not None else ""


def _table(value: Any, name: str, problems: Problems) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    problems.add(name, f"must be a table (TOML) or an object (JSON), not {value!r}")
    return {}


def _route(name: str, value: Any, source: str) -> Route:
    if not isinstance(value, Mapping):
        return Route(str(value))
    allow = _waivers(value.get("allow", ()), f"{source}: routes.{name}.allow")
    return Route(**{**value, "allow": allow})


def _waivers(codes: Any, where: str) -> frozenset[str]:
    """Rule codes, checked against every parser's registry: a typo fails the load, not silently."""
    from bankgate.parsers.registry import validate_waivers

    if isinstance(codes, str) or not all(isinstance(code, str) for code in codes):
        raise ConfigError(f"{where}: a list of rule codes, not {codes!r}")
    try:
        return validate_waivers(codes)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _within(url: str, prefix: str) -> bool:
    """``url`` is the object ``prefix`` names, or lies in the folder it names."""
    return url == prefix or url.startswith(prefix if prefix.endswith("/") else prefix + "/")
