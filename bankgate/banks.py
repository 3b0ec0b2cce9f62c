"""Bank pull configuration: which SFTP server, which files, when, and where they land.

One TOML file describes every bank as a ``[banks.<name>]`` table; an optional ``[defaults]``
table supplies any key a bank leaves out. ``load_banks`` checks the whole file before a DAG
is built and reports every problem at once, each naming the file, the bank and the key, so a
typo cannot silently turn into a bank that is never pulled. Nothing here imports Airflow:
the CLI and the tests check a config without it. See ``samples/banks.toml`` for every key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bankgate.calendar import DAYS, Calendar, Expectation, calendar, due_on
from bankgate.config import ConfigError
from bankgate.cron import Cron
from bankgate.parsers.schema import Problems
from bankgate.store import split_url

__all__ = [
    "DELETE",
    "KEEP",
    "ArrivalSla",
    "BankConfig",
    "ConfigError",
    "Delete",
    "Expectation",
    "Keep",
    "Landing",
    "Marker",
    "MoveTo",
    "PostPull",
    "StabilityRule",
    "Unchanged",
    "Verify",
    "load_banks",
    "marker",
    "move_to",
    "parse_banks",
    "parse_duration",
    "parse_size",
    "unchanged",
]

BANK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
CONN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
MAX_CONCURRENCY = 32
#: Levels of folders below a remote directory a bank may opt in to pulling.
MAX_SUBFOLDERS = 8
VERIFY_MODES = {
    "checksum": "the store's own checksum of what it received",
    "sha256": "read the landed copy back and hash it",
    "size": "the size only",
}
DEFAULT_LOOKBACK = 7 * 86400
#: How long a file may wait for its done marker before a pull run fails and alerts about it.
DEFAULT_MARKER_OVERDUE = 6 * 3600

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1} | {
    f"{prefix}{infix}b": base**power
    for power, prefix in enumerate("kmgt", 1)
    for infix, base in (("", 1000), ("i", 1024))
}
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]+)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
}
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_size(value: int | str) -> int:
    """``"2 GiB"`` -> 2147483648; ``"500 MB"`` -> 500000000; an int is bytes."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a size (use e.g. 2147483648, '500 MB' or '2 GiB')")
    if isinstance(value, int):
        number, unit = float(value), "b"
    else:
        match = _SIZE.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a size (use e.g. '500 MB' or '2 GiB')")
        number, unit = float(match[1]), (match[2] or "b").lower()
    size = int(number * _SIZE_UNITS[unit])
    if size <= 0:
        raise ValueError(f"{value!r} must be more than 0 bytes")
    return size


def parse_duration(value: int | str) -> int:
    """Seconds from ``"90 s"``, ``"2 min"``, ``"1 h"``, ``"3 days"`` or an int of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a duration (use e.g. 60, '90 s', '2 min', '1 h' or '3 days')")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(value)
        unit = (match[2] or "s").lower() if match else ""
        if not match or unit not in _DURATION_UNITS:
            raise ValueError(f"{value!r} is not a duration (use e.g. '90 s', '2 min', '1 h' or '3 days')")
        seconds = int(match[1]) * _DURATION_UNITS[unit]
    if seconds < 0:
        raise ValueError(f"{value!r} is negative")
    return seconds


# -- the rules a pull follows (the transfer core's vocabulary, built by the loader) ------------


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Stable once its size and mtime stay the same for ``seconds`` (see the core's
    ``stability`` module for how observations are kept between runs)."""

    seconds: float
    settle: float = 1.0  # delay before the confirming second listing of already-old files


@dataclass(frozen=True, slots=True)
class Marker:
    """Stable once a marker beside it exists: ``x.ach`` once ``x.ach`` + ``suffix``."""

    suffix: str = ".done"


StabilityRule = Unchanged | Marker


def unchanged(seconds: float, *, settle: float = 1.0) -> Unchanged:
    if seconds < 0 or settle < 0:
        raise ValueError("unchanged(): seconds and settle must be >= 0")
    return Unchanged(float(seconds), float(settle))


def marker(suffix: str = ".done") -> Marker:
    if not suffix:
        raise ValueError("marker(): the suffix must not be empty")
    return Marker(suffix)


@dataclass(frozen=True, slots=True)
class Keep:
    """Leave the remote file where it is."""


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete the remote file (and its marker) once the landed copy is verified."""


@dataclass(frozen=True, slots=True)
class MoveTo:
    """Move the remote file (and its marker) into ``folder`` once the landed copy is verified."""

    folder: str  # absolute remote folder, created if missing


PostPull = Keep | Delete | MoveTo
KEEP, DELETE = Keep(), Delete()


def move_to(folder: str) -> MoveTo:
    if not folder.startswith("/"):
        raise ValueError(f"move_to() needs an absolute remote folder, not {folder!r}")
    return MoveTo(folder.rstrip("/") or "/")


Verify = Literal["checksum", "sha256", "size"]  # described in VERIFY_MODES
Landing = Literal["auto", "copy", "direct"]


@dataclass(frozen=True, slots=True)
class ArrivalSla:
    """At least ``min_files`` files must have arrived by ``latest`` (bank-local time) on each
    day the schedule fires (less the calendar's holidays); otherwise the notifier raises an
    alert. The short form of one ``Expectation`` of any file (``BankConfig.expectations``)."""

    latest: time
    min_files: int = 1


@dataclass(frozen=True, slots=True)
class BankConfig:
    """One bank: the one model the loader builds and the transfer core, the DAGs and the CLI
    use. Only ``name`` is needed to build one in code; ``load_banks`` requires ``conn_id``,
    ``remote_dirs``, ``destination`` and ``cron`` of a configured bank."""

    name: str
    conn_id: str = ""  # Airflow connection (type sftp) with host, login, key or password, known_hosts
    remote_dirs: tuple[str, ...] = ("/outbound",)
    destination: str = ""  # staging prefix: s3://bucket/inbound/<bank>/, gs://..., or file:///dir for local runs
    cron: str = ""
    ledger: str = ""  # pull ledger URL prefix; "" = <ledger root>sftp/ (bankgate.sftp.layout)
    timezone: str = "UTC"
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    #: Levels of folders below each remote directory pulled too (0: the directory only); the
    #: patterns then match the path below the directory (bankgate/sftp/selection.py).
    subfolders: int = 0
    #: When a remote file is finished; all rules must agree, none: at once.
    stability: tuple[StabilityRule, ...] = (Unchanged(60.0),)
    post_pull: PostPull = KEEP
    arrival_sla: ArrivalSla | None = None
    #: The holiday calendar of the bank's business days ("FED", "NYSE", "US"; "": none); see
    #: bankgate/calendar.py for the names, the due days and the weekend rule.
    calendar: str = ""
    #: Expected files by pattern, each with its cut-off time, zone and due days.
    expect: tuple[Expectation, ...] = ()
    max_file_size: int = 2 << 30
    concurrency: int = 4
    #: How a landed copy is proven before any post-pull action: "checksum" (the store's own
    #: checksum of what it received; the size on a local directory), "sha256" (read it back),
    #: or "size". See bankgate/sftp/verify.py.
    verify: Verify = "checksum"
    #: "copy": large files land in a temporary key, verified, then copied to the final key with
    #: full metadata; "direct": streamed into the final key, verified there; "auto": copy where
    #: the store copies server-side (S3, GCS), direct elsewhere (see bankgate/sftp/landing.py).
    landing: Landing = "auto"
    retries: int = 3  # attempts per file after a dropped connection
    backoff: float = 2.0  # seconds before the first retry, doubling
    #: Temporary upload keys, relative to the destination store (outside the watched prefix).
    partial_prefix: str = "bankgate-partial/"
    lookback_seconds: int = DEFAULT_LOOKBACK
    #: A file seen waiting for its done marker longer than this (by its mtime) fails the pull
    #: run and alerts (``marker_overdue``), instead of waiting unseen run after run.
    marker_overdue_seconds: int = DEFAULT_MARKER_OVERDUE
    #: Rule codes waived when this bank's files are processed (``bankgate rules`` lists them);
    #: the processing config picks them up with ``banks = <this file>``.
    allow: frozenset[str] = frozenset()
    description: str = ""
    owner: str = "bankgate"
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.subfolders < 0:
            raise ValueError("subfolders must be 0 or more")
        if any(not d.startswith("/") for d in self.remote_dirs):
            raise ValueError("remote directories must be absolute paths")

    @property
    def done_marker(self) -> str:
        """The marker suffix when a ``Marker`` rule applies, else ""."""
        return next((rule.suffix for rule in self.stability if isinstance(rule, Marker)), "")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def schedule(self) -> Cron:
        return Cron.parse(self.cron)

    @property
    def business_days(self) -> Calendar:
        return Calendar(self.calendar)

    @property
    def expectations(self) -> tuple[Expectation, ...]:
        """Everything the arrival SLA checks: ``arrival_sla`` (any file, on schedule days) and
        the ``expect`` tables."""
        short = self.arrival_sla
        legacy = (Expectation(short.latest, self.timezone, "*", "schedule", short.min_files),) if short else ()
        return legacy + self.expect

    @property
    def sla_timezone(self) -> str:
        """The zone of the SLA's deadlines (one per bank, checked on load): its DAG's schedule."""
        return self.expect[0].tz if self.expect else self.timezone

    def interval_ending(self, end: datetime) -> tuple[datetime, datetime]:
        """The run's data interval: from the schedule's previous fire time to ``end``.

        Airflow 3's ``CronTriggerTimetable`` gives a run a zero-length interval at its fire
        time (logical date == data interval start == end), so the interval a run covers is
        rebuilt here from the cron: a pure function of the logical date, which is what makes a
        re-run or a backfill of a past day select that day's files again.
        """
        return self.schedule.previous(end, self.tz), end

    def selection_window(self, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        """Modification times a scheduled run considers: its interval widened back by the
        lookback, so a file skipped earlier (still growing, marker not there yet) is pulled by
        a later run; the pull ledger keeps it from being pulled twice."""
        return start - timedelta(seconds=self.lookback_seconds), end

    def sla_deadline(self, day: date) -> datetime | None:
        """When ``arrival_sla``'s files for ``day`` (a bank-local date) are due, if the schedule
        fires that day and it is no holiday."""
        if self.arrival_sla is None:
            return None
        found = due_on(self.expectations[0], self.business_days, day, self.schedule.fires_on)
        return None if isinstance(found, str) else found.deadline


# -- loading ----------------------------------------------------------------------------------

BANK_KEYS = frozenset(
    {
        "conn_id",
        "remote_dirs",
        "destination",
        "ledger",
        "cron",
        "timezone",
        "include",
        "exclude",
        "subfolders",
        "stability",
        "post_pull",
        "arrival_sla",
        "calendar",
        "expect",
        "max_file_size",
        "concurrency",
        "verify",
        "lookback",
        "marker_overdue",
        "allow",
        "description",
        "owner",
        "tags",
    }
)
REQUIRED_KEYS = ("conn_id", "remote_dirs", "destination", "cron")


def _string(value: Any, what: str = "a string") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be {what}, not {value!r}")
    return value.strip()


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list of {what}, not {value!r}")
    return tuple(_string(item, what) for item in value)


def _remote_dir(value: Any) -> str:
    path = _string(value, "an absolute remote path")
    if not path.startswith("/") or ".." in PurePosixPath(path).parts or any(c in path for c in "*?["):
        raise ValueError(f"{path!r} must be an absolute remote directory without '..' or wildcards")
    return path.rstrip("/") or "/"


def _pattern(value: Any) -> str:
    """A glob: without ``/`` it matches the file name, with ``/`` the path below the remote
    directory, folder by folder (``2026-*/*.ach``), so it must be a relative path."""
    pattern = _string(value, "a file name pattern")
    parts = pattern.split("/")
    if "/" in pattern and (pattern.startswith("/") or any(part in ("", ".", "..") for part in parts)):
        raise ValueError(
            f"{pattern!r}: a pattern with '/' matches the path below the remote directory, so it is relative,"
            " without empty, '.' or '..' parts (e.g. '2026-*/*.ach')"
        )
    return pattern


def _destination(value: Any) -> str:
    url = _string(value, "a URL")
    scheme, where, _prefix = split_url(url)  # ValueError names the URL and the allowed schemes
    if not where or (scheme == "file" and not where.startswith("/")):
        raise ValueError(f"{url!r} names no bucket (or, for file://, no absolute directory)")
    return url if url.endswith("/") else url + "/"


def _cron(value: Any) -> str:
    expression = _string(value, "a cron expression")
    Cron.parse(expression)
    return expression


def _timezone(value: Any) -> str:
    name = _string(value, "a time zone name")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known time zone (use an IANA name such as 'America/New_York')") from None
    return name


def _int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"must be a whole number from {low} to {high}, not {value!r}")
    return value


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a time of day (use 'HH:MM', e.g. '09:00')")
    return time(int(match[1]), int(match[2]))


def _table(value: Any, allowed: set[str], where: str, problems: Problems) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        problems.add(where, f"must be a table, not {value!r}")
        return None
    for key in sorted(set(value) - allowed):
        problems.add(f"{where}.{key}", f"unknown key (expected one of {', '.join(sorted(allowed))})")
    return dict(value)


def _stability(value: Any, where: str, problems: Problems) -> tuple[StabilityRule, ...] | None:
    table = _table(value, {"unchanged_for", "done_marker"}, where, problems)
    if table is None:
        return None
    if not table.keys() & {"unchanged_for", "done_marker"}:
        problems.add(where, "set unchanged_for (e.g. '2 min'), done_marker (e.g. '.done') or both")
        return None
    suffix: str | None = ""  # None: the marker did not parse (reported)
    if "done_marker" in table:
        suffix = problems.check(f"{where}.done_marker", lambda: _marker(table["done_marker"]))
    seconds: int | None = 0  # None: the duration did not parse (reported)
    if "unchanged_for" in table:
        seconds = problems.check(f"{where}.unchanged_for", lambda: parse_duration(table["unchanged_for"]))
    if suffix is None or seconds is None:
        return None
    return (*([unchanged(seconds)] if seconds else []), *([marker(suffix)] if suffix else []))


def _marker(value: Any) -> str:
    suffix = _string(value, "a suffix such as '.done'")
    if "/" in suffix or any(c in suffix for c in "*?["):
        raise ValueError(f"{suffix!r} must be a plain suffix added to the file name, such as '.done'")
    return suffix


def _post_pull(value: Any, where: str, problems: Problems) -> PostPull | None:
    if value in ("keep", "delete"):
        return KEEP if value == "keep" else DELETE
    if isinstance(value, str):
        problems.add(where, f"{value!r} is not an action: use 'keep', 'delete' or {{ action = 'move', to = '/dir' }}")
        return None
    table = _table(value, {"action", "to"}, where, problems)
    if table is None:
        return None
    action = table.get("action")
    if action not in ("keep", "delete", "move"):
        problems.add(f"{where}.action", f"{action!r} is not one of keep, delete, move")
        return None
    if action != "move":
        if "to" in table:
            problems.add(f"{where}.to", f"only a 'move' has a destination, not {action!r}")
        return KEEP if action == "keep" else DELETE
    if "to" not in table:
        problems.add(f"{where}.to", "a 'move' needs the remote directory to move files to")
        return None
    target = problems.check(f"{where}.to", lambda: _remote_dir(table["to"]))
    return None if target is None else move_to(target)


def _arrival_sla(value: Any, where: str, problems: Problems) -> ArrivalSla | None:
    if isinstance(value, str | time):
        latest = problems.check(where, lambda: _clock(value))
        return None if latest is None else ArrivalSla(latest)
    table = _table(value, {"latest", "min_files"}, where, problems)
    if table is None:
        return None
    if "latest" not in table:
        problems.add(f"{where}.latest", "missing: the latest expected arrival time, e.g. '09:00'")
        return None
    latest = problems.check(f"{where}.latest", lambda: _clock(table["latest"]))
    min_files = problems.check(f"{where}.min_files", lambda: _int(table.get("min_files", 1), 1, 10_000))
    return None if latest is None or min_files is None else ArrivalSla(latest, min_files)


EXPECT_KEYS = {"pattern", "by", "tz", "days", "min_files", "label"}


def _expect(value: Any, where: str, problems: Problems) -> tuple[Expectation, ...] | None:
    """``[[banks.<name>.expect]]`` tables; a missing ``tz`` is filled with the bank's zone later."""
    if not isinstance(value, list) or not value:
        problems.add(where, "must be one or more [[banks.<name>.expect]] tables")
        return None
    found: list[Expectation] = []
    for number, item in enumerate(value, 1):
        here = f"{where}[{number}]"
        table = _table(item, EXPECT_KEYS, here, problems)
        if table is None:
            continue
        for key in ("pattern", "by"):
            if key not in table:
                problems.add(f"{here}.{key}", f"missing ({'a file pattern' if key == 'pattern' else 'a cut-off time'})")
        checks: dict[str, Callable[[Any], Any]] = {
            "pattern": _pattern,
            "by": _clock,
            "tz": _timezone,
            "days": lambda v: _one_of(_string(v), DAYS),
            "min_files": lambda v: _int(v, 1, 10_000),
            "label": _string,
        }
        parsed: dict[str, Any] = {
            k: problems.check(f"{here}.{k}", partial(checks[k], v)) for k, v in table.items() if k in checks
        }
        if None in parsed.values() or not {"pattern", "by"} <= set(parsed):
            continue
        found.append(Expectation(**{"tz": "", **parsed}))
    return tuple(found) if len(found) == len(value) else None


_SIMPLE: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "conn_id": ("conn_id", lambda v: _match(CONN_ID, _string(v), "letters, digits, '_', '.' or '-'")),
    "remote_dirs": ("remote_dirs", lambda v: tuple(_remote_dir(d) for d in _strings(v, "remote directories"))),
    "destination": ("destination", _destination),
    "ledger": ("ledger", _destination),
    "cron": ("cron", _cron),
    "timezone": ("timezone", _timezone),
    "include": ("include", lambda v: _patterns(v)),
    "exclude": ("exclude", lambda v: () if v == [] else _patterns(v)),
    "subfolders": ("subfolders", lambda v: _int(v, 0, MAX_SUBFOLDERS)),
    "max_file_size": ("max_file_size", parse_size),
    "concurrency": ("concurrency", lambda v: _int(v, 1, MAX_CONCURRENCY)),
    "verify": ("verify", lambda v: _one_of(_string(v), VERIFY_MODES)),
    "lookback": ("lookback_seconds", parse_duration),
    "calendar": ("calendar", lambda v: calendar(_string(v, "a holiday calendar name")).name),
    "marker_overdue": ("marker_overdue_seconds", parse_duration),
    "allow": ("allow", lambda v: _waivers(_strings(v, "rule codes"))),
    "description": ("description", lambda v: v.strip() if isinstance(v, str) else _string(v)),
    "owner": ("owner", _string),
    "tags": ("tags", lambda v: () if v == [] else _strings(v, "tags")),
}
_TABLES = {"stability": _stability, "post_pull": _post_pull, "arrival_sla": _arrival_sla, "expect": _expect}


def _waivers(codes: tuple[str, ...]) -> frozenset[str]:
    from bankgate.parsers.registry import validate_waivers  # light: the registries, no parser

    return validate_waivers(codes)


def _one_of(value: str, allowed: Mapping[str, str]) -> str:
    if value not in allowed:
        choices = "; ".join(f"{name!r} ({meaning})" for name, meaning in allowed.items())
        raise ValueError(f"{value!r} is not one of: {choices}")
    return value


def _match(pattern: re.Pattern[str], value: str, allowed: str) -> str:
    if not pattern.match(value):
        raise ValueError(f"{value!r} may contain only {allowed}")
    return value


def _patterns(value: Any) -> tuple[str, ...]:
    return tuple(_pattern(p) for p in _strings(value, "file name patterns"))


def _bank(name: str, raw: Mapping[str, Any], problems: Problems) -> BankConfig | None:
    where = f"bank {name!r}"
    before = len(problems.lines)
    if not BANK_NAME.match(name):
        problems.add(where, "a bank name is lower-case letters, digits and '_', starting with a letter (it names DAGs)")
    for key in sorted(set(raw) - BANK_KEYS):
        problems.add(f"{where}: {key}", f"unknown key (expected one of {', '.join(sorted(BANK_KEYS))})")
    for key in REQUIRED_KEYS:
        if key not in raw:
            problems.add(f"{where}: {key}", "missing (required)")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SIMPLE:
            field_name, parse = _SIMPLE[key]
            values[field_name] = problems.check(f"{where}: {key}", partial(parse, value))
        elif key in _TABLES:
            values[key] = _TABLES[key](value, f"{where}: {key}", problems)
    values["expect"] = _expect_zones(values, where, problems)
    _check_folders(values, where, problems)
    if len(problems.lines) > before:
        return None
    return BankConfig(name=name, **values)


def _check_folders(values: Mapping[str, Any], where: str, problems: Problems) -> None:
    """Settings that are right alone but not together: a post-pull folder that is pulled, and
    patterns (to pull, or expected) deeper than ``subfolders`` reaches."""
    post_pull, dirs = values.get("post_pull"), values.get("remote_dirs") or ()
    depth = values.get("subfolders") or 0
    if isinstance(post_pull, MoveTo) and any(_pulled(post_pull.folder, d, depth) for d in dirs):
        pulled = "a pulled directory" if post_pull.folder in dirs else f"within subfolders = {depth} of one"
        problems.add(f"{where}: post_pull.to", f"{post_pull.folder!r} is {pulled}; files would be re-pulled")
    patterns = [(key, p) for key in ("include", "exclude") for p in values.get(key) or ()]
    patterns += [(f"expect[{n}].pattern", e.pattern) for n, e in enumerate(values.get("expect") or (), 1)]
    for key, pattern in patterns:
        if pattern.count("/") > depth:
            problems.add(
                f"{where}: {key}",
                f"{pattern!r} matches files {pattern.count('/')} folder(s) below the remote directory,"
                f" but subfolders = {depth} (set subfolders to pull below the remote directories)",
            )


def _expect_zones(values: dict[str, Any], where: str, problems: Problems) -> tuple[Expectation, ...]:
    """The expectations with the bank's zone where they name none; one zone per bank, since one
    SLA DAG is scheduled at the cut-offs (an Airflow timetable has one zone)."""
    bank_zone = values.get("timezone") or "UTC"
    expect = tuple(replace(e, tz=e.tz or bank_zone) for e in values.get("expect") or ())
    zones = {e.tz for e in expect} | ({bank_zone} if values.get("arrival_sla") and expect else set())
    if len(zones) > 1:
        problems.add(
            f"{where}: expect",
            f"the cut-offs use more than one time zone ({', '.join(sorted(zones))}); a bank's SLA has one"
            " (arrival_sla uses the bank's timezone): give each expectation the same tz",
        )
    return expect


def _pulled(folder: str, directory: str, depth: int) -> bool:
    """Whether ``folder`` is ``directory`` or a folder at most ``depth`` levels below it."""
    path = PurePosixPath(folder)
    return path.is_relative_to(directory) and len(path.relative_to(directory).parts) <= depth


def parse_banks(raw: Mapping[str, Any], source: str = "banks config") -> dict[str, BankConfig]:
    """Banks from an already-parsed TOML document; every problem reported in one ConfigError."""
    problems = Problems(source, ConfigError, "the bank config")
    # push: [clients.<id>] / [client_defaults] share this file, checked by bankgate.push.clients
    for key in sorted(set(raw) - {"banks", "defaults", "clients", "client_defaults"}):
        problems.add(key, "unknown top-level key (expected [banks.<name>] tables and an optional [defaults])")
    defaults = raw.get("defaults", {})
    banks_raw = raw.get("banks")
    if not isinstance(defaults, Mapping):
        problems.add("defaults", "must be a table")
        defaults = {}
    for key in sorted(set(defaults) - BANK_KEYS):
        problems.add(f"defaults: {key}", f"unknown key (expected one of {', '.join(sorted(BANK_KEYS))})")
    defaults = {key: value for key, value in defaults.items() if key in BANK_KEYS}
    if not isinstance(banks_raw, Mapping) or not banks_raw:
        problems.add("banks", "no banks configured: add a [banks.<name>] table")
        banks_raw = {}
    banks: dict[str, BankConfig] = {}
    for name, bank_raw in banks_raw.items():
        if not isinstance(bank_raw, Mapping):
            problems.add(f"bank {name!r}", "must be a table ([banks.<name>])")
            continue
        bank = _bank(name, {**defaults, **bank_raw}, problems)
        if bank is not None:
            banks[name] = bank
    problems.raise_if_any()
    return banks


def load_banks(path: str | Path) -> dict[str, BankConfig]:
    """Every bank in a TOML file, checked; a ConfigError lists each problem on its own line."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the bank config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_banks(raw, str(path))
