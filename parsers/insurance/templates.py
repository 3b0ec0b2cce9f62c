"""Carrier templates: how to read one carrier's declarations pages, in a TOML file, not code.

Every carrier prints its declarations its own way, so a template says how to recognise the
carrier and where each value is. Shipped templates live in ``parsers/insurance/templates``;
a user adds a carrier by dropping a ``.toml`` file into one of the user's directories
(``dirs``, searched first; the core passes the ``BANKGATE_TEMPLATES`` setting; a user
template with the name of a shipped one replaces it). Files are checked when loaded: a mistake is reported
once, naming the file and the key, instead of as odd results on every document.

The schema (see ``templates/*.toml`` for complete, commented examples)::

    name = "harborline"                   # [a-z0-9][a-z0-9_-]*, the file's stem
    carrier = "Harborline Mutual Insurance Company"
    match = ["Harborline Mutual", "POLICY DECLARATIONS"]   # regexes; all must occur on page 1-2
    dates = ["%m/%d/%Y"]                  # strftime formats tried in order (default: common US forms)
    money = { thousands = ",", decimal = "." }             # default as shown

    [fields.policy_number]                # one table per field
    anchor = "Policy Number:"             # the label; the value is the rest of its line,
                                          # up to a column gap (two or more spaces)
    value = '[A-Z]{2}-\\d+'               # optional: the value's own shape (a regex)
    # pattern = 'Policy No\\.?\\s*(?P<value>\\S+)'   # or a full regex with a `value` group
    type = "text"                         # text | date | money | integer (default text)
    required = true                       # missing -> a problem (default: true for the
                                          # standard fields, false for others)

    [coverages]                           # optional: the schedule of coverages
    start = "SCHEDULE OF COVERAGES"       # regex of the line after which rows are read
    end = "FORMS AND ENDORSEMENTS"        # optional regex of the line where they stop
    row = '^(?P<name>.+?)\\s{2,}(?P<limit>\\$[\\d,]+)\\s{2,}(?P<premium>\\$[\\d,.]+)$'

Standard fields: ``policy_number``, ``named_insured``, ``effective``, ``expiration`` (dates),
``premium`` (money). Any other field goes into the policy record's ``extra``. Row groups:
``name`` (required), ``limit`` or ``limit_<name>`` (money; several allowed), ``deductible``
and ``premium`` (money); other groups are ignored. A document holding several policies (a
print run) is split where the policy number changes from one page to the next.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bankgate.parsers.insurance.values import DEFAULT_DATE_FORMATS, MoneyFormat
from bankgate.parsers.schema import Problems, SchemaError

SHIPPED_DIR = Path(__file__).with_name("templates")
STANDARD_FIELDS = {
    "policy_number": "text",
    "named_insured": "text",
    "effective": "date",
    "expiration": "date",
    "premium": "money",
}
REQUIRED_BY_DEFAULT = frozenset({"policy_number", "named_insured", "effective", "expiration"})
FIELD_TYPES = ("text", "date", "money", "integer")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_TOP_KEYS = {"name", "carrier", "match", "dates", "money", "fields", "coverages", "description"}
_FIELD_KEYS = {"anchor", "value", "pattern", "type", "required", "description"}
_COVERAGE_KEYS = {"start", "end", "row", "description"}
#: a value after an anchor: up to a column gap (two spaces) or the end of the line
_DEFAULT_VALUE = r"\S.*?(?=\s{2,}|$)"


class TemplateError(SchemaError):
    """A template file that cannot be used; the message names the file and the key, one line
    per problem (``problems``)."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    name: str
    pattern: re.Pattern[str]
    type: str
    required: bool


@dataclass(frozen=True, slots=True)
class CoverageRule:
    start: re.Pattern[str]
    end: re.Pattern[str] | None
    row: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    carrier: str
    match: tuple[re.Pattern[str], ...]
    dates: tuple[str, ...]
    money: MoneyFormat
    fields: Mapping[str, FieldRule]
    coverages: CoverageRule | None
    path: Path

    def matches(self, text: str) -> bool:
        return all(p.search(text) for p in self.match)


def template_dirs(dirs: Iterable[str | os.PathLike[str]] = ()) -> list[Path]:
    """Directories searched, in order: the user's (``dirs``), then the shipped one."""
    return [*(Path(d).expanduser() for d in dirs), SHIPPED_DIR]


def load_templates(dirs: Iterable[str | os.PathLike[str]] = ()) -> list[Template]:
    """Every template, user directories first; a user template replaces a shipped one of that name.

    Raises ``TemplateError`` for a file that is not valid, or a directory that is not one.
    """
    found: dict[str, Template] = {}
    for directory in template_dirs(dirs):
        if not directory.is_dir():
            raise TemplateError(f"template directory {directory}: not a directory")
        for path in sorted(directory.glob("*.toml")):
            if path.stem not in found:
                found[path.stem] = load_template(path)
    return list(found.values())


def load_template(path: Path) -> Template:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"template file {path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"template file {path}: not valid TOML: {exc}") from None
    template = parse_template(data, path)
    if template.name != path.stem:
        raise TemplateError(f"template file {path}: declares name {template.name!r} but the file is {path.name!r}")
    return template


def parse_template(data: Mapping[str, Any], path: Path) -> Template:
    """A template from its TOML data; every key checked and every problem reported
    (``parsers/schema.py``), each naming ``path`` and the key."""

    def fail(where: str, message: str) -> TemplateError:
        return TemplateError(f"template file {path}: {where}: {message}")

    problems = Problems("", TemplateError, f"template file {path}")
    check = problems.check
    unknown = set(data) - _TOP_KEYS
    if unknown:
        problems.lines.append(
            str(fail(", ".join(sorted(unknown)), f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})"))
        )
    name = check(None, lambda: _top_name(data.get("name"), fail))
    carrier = check(None, lambda: _carrier(data.get("carrier"), fail))
    match = check(None, lambda: _match(data.get("match"), fail))
    dates = check(None, lambda: _dates(data.get("dates", list(DEFAULT_DATE_FORMATS)), fail))
    money = check(None, lambda: _money(data.get("money", {}), fail))
    fields_data = data.get("fields")
    fields: dict[str, FieldRule] = {}
    if not isinstance(fields_data, dict) or "policy_number" not in fields_data:
        problems.lines.append(str(fail("fields", "must be a table with at least [fields.policy_number]")))
    else:
        for key, spec in fields_data.items():
            rule = check(None, lambda key=key, spec=spec: _field(key, spec, fail))
            if rule is not None:
                fields[key] = rule
    coverages = check(None, lambda: _coverages(data["coverages"], fail)) if "coverages" in data else None
    problems.raise_if_any()
    return Template(
        name=name,
        carrier=carrier,
        match=match,
        dates=dates,
        money=money,
        fields=fields,
        coverages=coverages,
        path=path,
    )


def _top_name(name: Any, fail) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("name", "must be a string of lowercase letters, digits, '-' or '_'")
    return name


def _carrier(carrier: Any, fail) -> str:
    if not isinstance(carrier, str) or not carrier.strip():
        raise fail("carrier", "must be the carrier's name")
    return carrier.strip()


def _match(match: Any, fail) -> tuple[re.Pattern[str], ...]:
    if not isinstance(match, list) or not match or not all(isinstance(m, str) and m for m in match):
        raise fail("match", "must be a non-empty list of regexes that identify the carrier's documents")
    return tuple(_regex(m, "match", fail, re.I) for m in match)


def _dates(dates: Any, fail) -> tuple[str, ...]:
    if not isinstance(dates, list) or not dates or not all(isinstance(d, str) and "%" in d for d in dates):
        raise fail("dates", 'must be a list of strftime formats such as "%m/%d/%Y"')
    return tuple(dates)


def _money(money_data: Any, fail) -> MoneyFormat:
    if not isinstance(money_data, dict) or set(money_data) - {"thousands", "decimal"}:
        raise fail("money", "must be a table with `thousands` and `decimal`")
    try:
        return MoneyFormat(money_data.get("thousands", ","), money_data.get("decimal", "."))
    except ValueError as exc:
        raise fail("money", str(exc)) from None


def _regex(text: Any, where: str, fail, flags: int = 0) -> re.Pattern[str]:
    if not isinstance(text, str) or not text:
        raise fail(where, "must be a non-empty regex string")
    try:
        return re.compile(text, flags)
    except re.error as exc:
        raise fail(where, f"not a valid regex: {exc}") from None


def _field(key: str, spec: Any, fail) -> FieldRule:
    where = f"fields.{key}"
    if not _NAME.match(key):
        raise fail(where, "field names are lowercase letters, digits and '_'")
    if not isinstance(spec, dict):
        raise fail(where, "must be a table")
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        raise fail(where, f"unknown key {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(_FIELD_KEYS))})")
    if ("anchor" in spec) == ("pattern" in spec):
        raise fail(where, "needs exactly one of `anchor` (a label) or `pattern` (a regex with a `value` group)")
    if "anchor" in spec:
        anchor = spec["anchor"]
        if not isinstance(anchor, str) or not anchor.strip():
            raise fail(f"{where}.anchor", "must be the label text")
        value = _regex(spec.get("value", _DEFAULT_VALUE), f"{where}.value", fail).pattern
        pattern = _regex(rf"{re.escape(anchor.strip())}\s*(?P<value>{value})", f"{where}.anchor", fail)
    else:
        if "value" in spec:
            raise fail(f"{where}.value", "goes with `anchor`; a `pattern` has its own `value` group")
        pattern = _regex(spec["pattern"], f"{where}.pattern", fail)
        if "value" not in pattern.groupindex:
            raise fail(f"{where}.pattern", "must have a named group `value`: (?P<value>...)")
    kind = spec.get("type", STANDARD_FIELDS.get(key, "text"))
    if kind not in FIELD_TYPES:
        raise fail(f"{where}.type", f"must be one of {', '.join(FIELD_TYPES)}, got {kind!r}")
    if key in STANDARD_FIELDS and kind != STANDARD_FIELDS[key]:
        raise fail(f"{where}.type", f"the standard field {key} is of type {STANDARD_FIELDS[key]}")
    required = spec.get("required", key in REQUIRED_BY_DEFAULT)
    if not isinstance(required, bool):
        raise fail(f"{where}.required", "must be true or false")
    return FieldRule(key, pattern, kind, required)


def _coverages(spec: Any, fail) -> CoverageRule:
    if not isinstance(spec, dict):
        raise fail("coverages", "must be a table")
    unknown = set(spec) - _COVERAGE_KEYS
    if unknown:
        raise fail(
            "coverages", f"unknown key {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(_COVERAGE_KEYS))})"
        )
    for key in ("start", "row"):
        if key not in spec:
            raise fail(f"coverages.{key}", "is required")
    row = _regex(spec["row"], "coverages.row", fail)
    if "name" not in row.groupindex:
        raise fail("coverages.row", "must have a named group `name` for the coverage")
    return CoverageRule(
        start=_regex(spec["start"], "coverages.start", fail),
        end=_regex(spec["end"], "coverages.end", fail) if "end" in spec else None,
        row=row,
    )
