"""Bank layouts: a fixed-width format described by a TOML file instead of by code.

A layout names the record length, the encoding, how to tell record types apart (the
*discriminator*: a few positions holding a code such as "6"), each record type's field table,
the order record types may come in, and the control totals a trailer or batch total carries.
Everything is checked when the file is loaded, so a mistake in a layout is reported once, with
the layout file, record and field it is in, instead of as odd problems in every bank file.

The schema in brief (see ``layouts/*.toml`` for complete, commented examples)::

    name = "positive-pay"                 # [a-z0-9][a-z0-9_.-]*; the parser format is "fixed:<name>"
    description = "..."
    record_length = 100
    record_length_mode = "pad"            # or "exact", "at_least", ["pad", "at_least"] (below)
    encoding = "ascii"                    # or "ebcdic" (code page 037); default ascii
    discriminator = { start = 1, length = 1 }    # where the record type code is (default: 1, code length)
    signature = { pattern = '^H\\d{9}' }         # regex the first record must match (detection);
                                          # a layout without one is never detected, only named
    structure = { first = ["header"], last = ["trailer"] }   # optional

    [records.detail]                      # record type name (also the record's KIND)
    code = "D"                            # or a list of codes
    title = "check detail record"         # used in problem messages (default "detail record")
    after = ["header", "detail"]          # record types this one may follow (default: any)
    detail = true                         # its amount fields are totalled in the summary
    fields = [                            # must tile the record: no gap, no overlap
      { name = "record_type", start = 1, length = 1, type = "const" },   # value defaults to code
      { name = "amount", start = 32, length = 12, type = "amount", required = true },
      { start = 95, length = 6, type = "filler" },                        # name optional
    ]

    [[checks]]
    kind = "sum"                          # count | sum | match | sequence
    of = "detail.amount"                  # count: record type(s) or "*"; sum/match/sequence: type.field
    against = "trailer.total_amount"      # the control field (match: the reference field)
    since = "batch_header"                # optional (count/sum): the tally restarts at each such
                                          # record; naming the `against` type itself makes it run
                                          # from one control record to the next
    where = { void_indicator = "" }       # optional (count/sum): only records with these values
    absolute = false                      # optional (sum): add absolute values
    name = "..."                          # optional; default the `against` (match, sequence: `of`) reference

    [[checks]]
    kind = "sequence"                     # numbers that run in order, e.g. batch numbers
    of = "batch_header.batch_number"      # one integer field (no `against`)
    since = "service_header"              # optional: the numbering restarts at each such record
    start = [0, 1]                        # the first number: an integer, a list of them, or "any"
                                          # (default "any")
    step = "consecutive"                  # each one more than the one before (default), or
                                          # "increasing": each larger than the one before

Field types: text, digits, integer (or number), amount, date (needs ``pattern``, strftime
codes such as "%Y%m%d" or "%m%d%y"), time (HHMM), const (``value``), filler. Field options:
required, blank_ok, value, pattern, sign ("leading", "trailing", "overpunch"), decimals
(amount, default 2; values stay integers in those units), choices (text/digits), description,
and ``end`` (inclusive) instead of ``length``. A count/sum tally is compared at every record
of the ``against`` type; a match compares each ``of`` record with the latest ``against`` one.

``record_length_mode`` says how strictly a line must be ``record_length`` long: "pad" (the
default) pads a shorter line with spaces (trailing spaces stripped in transit) and lets a longer
one carry trailing spaces; "at_least" ignores whatever a longer line holds past the record
length (data a bank appends; such a line is never split into several records), and a shorter
line is an error; ``["pad", "at_least"]`` allows both; "exact" makes every other length an
error. Length errors are ``fixed.file.record_length``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bankgate.parsers.fields import EMITTED, Field, Kind, Layout
from bankgate.parsers.lines import PAD, LengthMode
from bankgate.parsers.schema import Problems, SchemaError

ENCODINGS = ("ascii", "ebcdic")
LENGTH_MODES = ("exact", "pad", "at_least")

FIELD_TYPES = {
    "text": Kind.TEXT,
    "digits": Kind.DIGITS,
    "integer": Kind.NUMBER,
    "number": Kind.NUMBER,
    "amount": Kind.AMOUNT,
    "date": Kind.DATE,
    "time": Kind.TIME,
    "const": Kind.CONST,
    "filler": Kind.FILLER,
}
SIGNS = ("leading", "trailing", "overpunch")
CHECK_KINDS = ("count", "sum", "match", "sequence")
SEQUENCE_STEPS = ("consecutive", "increasing")

_LAYOUT_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*\Z")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_TOP_KEYS = {
    "name",
    "description",
    "record_length",
    "record_length_mode",
    "encoding",
    "discriminator",
    "signature",
    "structure",
    "records",
    "checks",
}
_RECORD_KEYS = {"code", "title", "description", "after", "detail", "fields"}
_FIELD_KEYS = {
    "name",
    "start",
    "length",
    "end",
    "type",
    "required",
    "blank_ok",
    "value",
    "pattern",
    "sign",
    "decimals",
    "choices",
    "description",
}
_CHECK_KEYS = {"kind", "name", "of", "against", "since", "where", "absolute", "start", "step", "description"}
#: A record field may not be named like the columns every record or output row already has.
_RESERVED = {"line", "record"}
_MISSING = object()


class LayoutError(SchemaError):
    """A layout file is not valid. The message names the file, record and field at fault, one
    line per problem (``problems``): every independent part of the file is checked."""


def ebcdic_table() -> bytes:
    """256-byte table translating EBCDIC (code page 037) to latin-1, for ``bytes.translate``.

    cp037 maps every byte to a distinct latin-1 character, so nothing is lost. EBCDIC's own
    new-line character (NL, 0x15) is mapped to LF so mainframe files with line breaks split
    into lines like ASCII ones.
    """
    table = bytearray(bytes(range(256)).decode("cp037").encode("latin-1"))
    table[0x15] = 0x0A
    return bytes(table)


EBCDIC = ebcdic_table()


@dataclass(frozen=True, slots=True)
class RecordType:
    """One record type of a layout: its codes, its field table and where it may appear."""

    name: str
    index: int
    codes: tuple[str, ...]
    layout: Layout
    after: tuple[str, ...] | None  # record types it may follow; None: any
    detail: bool
    description: str = ""

    @property
    def title(self) -> str:
        return self.layout.title

    @property
    def record_class(self) -> type[Any]:
        return self.layout.record_class

    def field(self, name: str) -> Field:
        for f in self.layout.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class Check:
    """A control total or cross-record rule, checked while the file is read.

    count/sum: the records (or field values) of ``of`` since the last ``since`` record (or
    since the start of the file) must equal field ``against`` of each ``against`` record.
    match: field ``of`` of each ``of`` record must equal field ``against`` of the latest
    ``against`` record (e.g. the batch number of a detail and of its batch header).
    sequence: field ``of`` numbers its records in order (``against`` is the same field),
    starting at one of ``start`` (after each ``since`` record) and going up by ``step``.
    """

    kind: str
    name: str
    of: tuple[tuple[str, str | None], ...]  # (record type, field); field None for count
    against: tuple[str, str]
    since: str | None = None
    where: tuple[tuple[str, frozenset[str]], ...] = ()
    absolute: bool = False
    description: str = ""
    start: frozenset[int] | None = None  # sequence: the allowed first numbers; None: any
    step: str = "consecutive"  # sequence: one of SEQUENCE_STEPS


class FixedLayout:
    """A loaded, validated layout: everything ``FixedWidthParser`` needs to read a file."""

    def __init__(
        self,
        *,
        name: str,
        description: str,
        length: int,
        encoding: str,
        discriminator: tuple[int, int],
        records: Sequence[RecordType],
        first: frozenset[str] | None,
        last: frozenset[str] | None,
        checks: Sequence[Check],
        signature: re.Pattern[str] | None,
        source: str,
        length_mode: LengthMode = PAD,
    ) -> None:
        self.name = name
        self.description = description
        self.length = length
        self.length_mode = length_mode
        self.encoding = encoding
        self.discriminator = discriminator
        self.records = tuple(records)
        self.by_name = {rt.name: rt for rt in self.records}
        self.first = first
        self.last = last
        self.checks = tuple(checks)
        self.signature = signature
        self.source = source
        self.by_code = {code: rt for rt in self.records for code in rt.codes}
        # Discriminator lookup for numpy: each code as an integer key (its bytes, big-endian).
        size = discriminator[1]
        self._weights = (256 ** np.arange(size - 1, -1, -1, dtype=np.uint64)).astype(np.uint64)
        keys = sorted((_code_key(code), rt.index) for code, rt in self.by_code.items())
        self._keys = np.array([k for k, _ in keys], dtype=np.uint64)
        self._key_types = np.array([t for _, t in keys], dtype=np.int16)

    def __repr__(self) -> str:
        return f"FixedLayout({self.name!r}, record_length={self.length}, source={self.source!r})"

    @property
    def format(self) -> str:
        return f"fixed:{self.name}"

    @property
    def record_classes(self) -> tuple[type[Any], ...]:
        return tuple(rt.record_class for rt in self.records)

    def translate(self, encoding: str | None = None) -> bytes | None:
        """The byte table that turns this layout's (or ``encoding``'s) bytes into latin-1."""
        return EBCDIC if (encoding or self.encoding) == "ebcdic" else None

    # -- record types -------------------------------------------------------------------

    def types_of(self, rows: np.ndarray) -> np.ndarray:
        """Record type index of each row of an (n, length) uint8 array; -1 for an unknown code."""
        start, size = self.discriminator
        cells = rows[:, start - 1 : start - 1 + size].astype(np.uint64)
        keys = cells @ self._weights if size > 1 else cells[:, 0]
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, len(self._keys) - 1)
        found = self._keys[pos] == keys
        return np.where(found, self._key_types[pos], np.int16(-1)).astype(np.int16)

    def code_of(self, row: bytes | np.ndarray) -> str:
        start, size = self.discriminator
        return bytes(row[start - 1 : start - 1 + size]).decode("latin-1")

    # -- detection ----------------------------------------------------------------------

    def matches(self, head: bytes) -> bool:
        """Whether ``head`` (the first bytes of a file) looks like a file of this layout.

        The first record must have this layout's length (a line may be shorter or longer as
        the layout's ``record_length_mode`` allows), start with a record type the file may start
        with, and match the signature pattern; without line breaks, the second record's code
        must be known too. A layout without a signature never matches.
        """
        if self.signature is None or not head:
            return False
        table = self.translate()
        data = head.translate(table) if table else head
        size = self.length
        breaks = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
        if breaks:
            first = data[: min(breaks)]
            mode = self.length_mode
            if len(first) > size:
                if not mode.at_least and (first[size:].strip(b" ") or not mode.pad):
                    return False
                first = first[:size]
            elif len(first) < size and not mode.pad:
                return False
            first = first.ljust(size)
        else:
            if len(data) < size:
                return False
            first = data[:size]
            second = data[size : 2 * size]
            if len(second) == size and self.code_of(second) not in self.by_code:
                return False
        rt = self.by_code.get(self.code_of(first))
        if rt is None or (self.first is not None and rt.name not in self.first):
            return False
        return self.signature.match(first.decode("latin-1")) is not None

    # -- writing ------------------------------------------------------------------------

    def encode(self, record_type: str, values: Mapping[str, Any]) -> bytes:
        """One record of ``record_type`` from field values (const fields fill themselves)."""
        return self.by_name[record_type].layout.encode(values)


def _code_key(code: str) -> int:
    return int.from_bytes(code.encode("latin-1"), "big")


# -- loading ------------------------------------------------------------------------------


def read_layout(path: str | Path) -> FixedLayout:
    """Read and validate one layout file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LayoutError(f"layout file {path}: cannot be read: {exc.strerror or exc}") from None
    return parse_layout(data, str(path))


def parse_layout(data: bytes | str | Mapping[str, Any], source: str = "<layout>") -> FixedLayout:
    """Validate a layout given as TOML text (or already parsed) and build it."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"layout file {source}: is not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise LayoutError(message) from None
    if isinstance(data, str):
        try:
            data = tomllib.loads(data)
        except tomllib.TOMLDecodeError as exc:
            raise LayoutError(f"layout file {source}: is not valid TOML: {exc}") from None
    return _Loader(source).layout(data)


class _Loader:
    """Validation of one layout file; every error names the file, record and field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, message: str, record: str | None = None, field: str | None = None) -> LayoutError:
        where = f"layout file {self.source}"
        if record is not None:
            where += f": record '{record}'"
        if field is not None:
            where += f" field '{field}'"
        return LayoutError(f"{where}: {message}")

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        default: Any = _MISSING,
        record: str | None = None,
        field: str | None = None,
        prefix: str = "",
    ) -> Any:
        if key not in table:
            if default is _MISSING:
                raise self.error(f"'{prefix}{key}' is missing", record, field)
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(_TOML_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise self.error(f"'{prefix}{key}' must be {names}, got {value!r}", record, field)
        return value

    def no_unknown_keys(
        self,
        table: Mapping[str, Any],
        allowed: set[str],
        what: str,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            keys = ", ".join(map(repr, unknown))
            raise self.error(f"unknown {what} key(s) {keys}; allowed: {', '.join(sorted(allowed))}", record, field)

    def names(self, value: Any, key: str, record: str | None = None) -> list[str]:
        """A record-type list given as one name or a list of names."""
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise self.error(f"'{key}' must be a record type name or a list of them, got {value!r}", record)
        return items

    # -- the file -----------------------------------------------------------------------

    def layout(self, data: Mapping[str, Any]) -> FixedLayout:
        """Every independent part is checked (``parsers/schema.py``), so one load reports each
        mistake; a part that depends on a broken one (a record's fields on its codes, the checks
        on the records) is checked once that one is right."""
        if not isinstance(data, Mapping):
            raise self.error("must be a TOML table")
        problems = Problems("", LayoutError, f"layout file {self.source}")
        check = problems.check
        check(None, lambda: self.no_unknown_keys(data, _TOP_KEYS, "top-level"))
        name = check(None, lambda: self.name(data))
        description = check(None, lambda: self.get(data, "description", str, ""))
        length = check(None, lambda: self.record_length(data))
        length_mode = check(None, lambda: self.length_mode(data))
        encoding = check(None, lambda: self.encoding(data))
        records_table = check(None, lambda: self.records_table(data)) or {}
        codes = {
            rname: check(None, lambda r=rname, t=rtable: self.codes(t, r)) for rname, rtable in records_table.items()
        }
        valid_codes = {rname: c for rname, c in codes.items() if c is not None}
        discriminator = None
        if valid_codes and length is not None:
            discriminator = check(None, lambda: self.discriminator(data, valid_codes, length))
        seen: dict[str, str] = {}
        for rname, rcodes in valid_codes.items():
            for code in rcodes:
                if code in seen:
                    problems.lines.append(
                        str(self.error(f"code {code!r} is also the code of record '{seen[code]}'", rname))
                    )
                seen[code] = rname

        records = []
        if discriminator is not None and length is not None:
            for index, (rname, rtable) in enumerate(records_table.items()):
                if codes[rname] is not None:
                    rt = check(
                        None, lambda r=rname, t=rtable, i=index: self.record(r, t, i, codes[r], discriminator, length)
                    )
                    if rt is not None:
                        records.append(rt)
        by_name = {rt.name: rt for rt in records}
        complete = len(records) == len(records_table)  # the checks below name record types
        for rt in records if complete else ():
            for other in rt.after or ():
                if other not in by_name:
                    problems.lines.append(str(self.error(f"'after' names unknown record type {other!r}", rt.name)))

        first = last = None
        structure = check(None, lambda: self.get(data, "structure", dict, {})) or {}
        check(None, lambda: self.no_unknown_keys(structure, {"first", "last"}, "structure"))
        if complete and "first" in structure:
            first = check(None, lambda: frozenset(self.record_names(structure["first"], "structure.first", by_name)))
        if complete and "last" in structure:
            last = check(None, lambda: frozenset(self.record_names(structure["last"], "structure.last", by_name)))

        checks = []
        for i, table in enumerate(check(None, lambda: self.get(data, "checks", list, [])) or ()):
            if complete:
                found = check(None, lambda i=i, table=table: self.check(i, table, by_name))
                if found is not None:
                    checks.append(found)
        check_names = [c.name for c in checks]
        for name_ in dict.fromkeys(n for n in check_names if check_names.count(n) > 1):
            problems.lines.append(str(self.error(f"two checks are named {name_!r}; give one a 'name'")))

        signature = check(None, lambda: self.signature(data)) if "signature" in data else None
        problems.raise_if_any()
        return FixedLayout(
            name=name,
            description=description,
            length=length,
            encoding=encoding,
            discriminator=discriminator,
            records=records,
            first=first,
            last=last,
            checks=checks,
            signature=signature,
            source=self.source,
            length_mode=length_mode,
        )

    def name(self, data: Mapping[str, Any]) -> str:
        name = self.get(data, "name", str)
        if not _LAYOUT_NAME.match(name):
            raise self.error(f"name {name!r} must be lower case letters, digits, '-', '_' or '.'")
        return name

    def record_length(self, data: Mapping[str, Any]) -> int:
        length = self.get(data, "record_length", int)
        if not 1 <= length <= 32760:
            raise self.error(f"record_length must be between 1 and 32760, got {length}")
        return length

    def encoding(self, data: Mapping[str, Any]) -> str:
        encoding = self.get(data, "encoding", str, "ascii").lower()
        if encoding not in ENCODINGS:
            raise self.error(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
        return encoding

    def records_table(self, data: Mapping[str, Any]) -> Mapping[str, Any]:
        records_table = self.get(data, "records", dict)
        if not records_table:
            raise self.error("defines no record types ([records.<name>] tables)")
        return records_table

    def signature(self, data: Mapping[str, Any]) -> re.Pattern[str]:
        sig = self.get(data, "signature", dict)
        self.no_unknown_keys(sig, {"pattern", "description"}, "signature")
        pattern = self.get(sig, "pattern", str, prefix="signature.")
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise self.error(f"signature.pattern is not a valid regular expression: {exc}") from None

    def length_mode(self, data: Mapping[str, Any]) -> LengthMode:
        """``record_length_mode``: one of ``LENGTH_MODES``, or a list of "pad" and "at_least"."""
        value = self.get(data, "record_length_mode", (str, list), "pad")
        modes = [value] if isinstance(value, str) else value
        allowed = ("pad", "at_least") if isinstance(value, list) else LENGTH_MODES
        if not modes or not all(isinstance(m, str) and m in allowed for m in modes):
            raise self.error(
                f"record_length_mode must be one of {', '.join(map(repr, LENGTH_MODES))} "
                f"or a list of 'pad' and 'at_least', got {value!r}"
            )
        return LengthMode(pad="pad" in modes, at_least="at_least" in modes)

    def record_names(self, value: Any, key: str, by_name: Mapping[str, RecordType]) -> list[str]:
        names = self.names(value, key)
        for n in names:
            if n not in by_name:
                raise self.error(f"'{key}' names unknown record type {n!r}")
        return names

    def codes(self, rtable: Any, rname: str) -> tuple[str, ...]:
        if not _IDENTIFIER.match(rname):
            raise self.error("record type names are letters, digits and '_', starting with a letter", rname)
        if not isinstance(rtable, dict):
            raise self.error("must be a table ([records.<name>])", rname)
        code = self.get(rtable, "code", (str, list), record=rname)
        items = [code] if isinstance(code, str) else code
        if not items or not all(isinstance(c, str) and c for c in items):
            raise self.error(f"'code' must be a non-empty string or list of strings, got {code!r}", rname)
        for c in items:
            if not all(32 < ord(ch) < 127 for ch in c):
                raise self.error(f"code {c!r} must be printable ASCII without spaces", rname)
        return tuple(items)

    def discriminator(
        self, data: Mapping[str, Any], codes: Mapping[str, tuple[str, ...]], length: int
    ) -> tuple[int, int]:
        lengths = {len(c) for rcodes in codes.values() for c in rcodes}
        table = self.get(data, "discriminator", dict, {})
        self.no_unknown_keys(table, {"start", "length", "description"}, "discriminator")
        start = self.get(table, "start", int, 1, prefix="discriminator.")
        size = self.get(table, "length", int, max(lengths), prefix="discriminator.")
        if not 1 <= size <= 8:
            raise self.error(f"discriminator.length must be between 1 and 8, got {size}")
        if start < 1 or start - 1 + size > length:
            raise self.error(f"discriminator (start {start}, length {size}) does not fit in {length} positions")
        for rname, rcodes in codes.items():
            for c in rcodes:
                if len(c) != size:
                    raise self.error(f"code {c!r} is {len(c)} characters long, the discriminator {size}", rname)
        return start, size

    # -- records and fields -------------------------------------------------------------

    def record(
        self,
        rname: str,
        rtable: Mapping[str, Any],
        index: int,
        codes: tuple[str, ...],
        discriminator: tuple[int, int],
        length: int,
    ) -> RecordType:
        self.no_unknown_keys(rtable, _RECORD_KEYS, "record", rname)
        title = self.get(rtable, "title", str, rname.replace("_", " ") + " record", record=rname)
        after = None
        if "after" in rtable:
            after = tuple(self.names(rtable["after"], "after", rname))
        detail = self.get(rtable, "detail", bool, False, record=rname)
        description = self.get(rtable, "description", str, "", record=rname)
        field_tables = self.get(rtable, "fields", list, record=rname)
        if not field_tables:
            raise self.error("has no fields", rname)
        problems = Problems("", LayoutError, f"layout file {self.source}")
        found = [
            problems.check(None, lambda i=i, ft=ft: self.field(rname, i, ft, length))
            for i, ft in enumerate(field_tables)
        ]
        problems.raise_if_any()  # every field's problem; the tiling needs them all right
        fields = [f for f in found if f is not None]
        fields = self.discriminator_field(rname, fields, codes, discriminator)
        self.tiling(rname, fields, length)
        emitted = [f.name for f in fields if f.kind in EMITTED]
        for fname in emitted:
            if emitted.count(fname) > 1:
                raise self.error("is defined twice", rname, fname)
        try:
            layout = Layout(rname, fields, title=title, length=length)
        except ValueError as exc:  # Layout's own checks; the ones above should have caught it
            raise self.error(str(exc), rname) from None
        return RecordType(rname, index, codes, layout, after, detail, description)

    def field(self, rname: str, index: int, table: Any, length: int) -> Field:
        if not isinstance(table, dict):
            raise self.error(f"fields[{index}] must be a table like {{ name = ..., start = ... }}", rname)
        ftype = table.get("type")
        fname = table.get("name", "filler" if ftype == "filler" else _MISSING)
        if fname is _MISSING:
            raise self.error(f"fields[{index}] has no 'name'", rname)
        if not isinstance(fname, str) or not _IDENTIFIER.match(fname) or fname in _RESERVED:
            raise self.error(
                f"fields[{index}] name {fname!r} must be letters, digits and '_', start with a letter, "
                f"and not be one of {', '.join(sorted(_RESERVED))}",
                rname,
            )
        self.no_unknown_keys(table, _FIELD_KEYS, "field", rname, fname)

        def get(key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
            return self.get(table, key, kind, default, rname, fname)

        type_name = get("type", str)
        if type_name not in FIELD_TYPES:
            raise self.error(f"type must be one of {', '.join(FIELD_TYPES)}, got {type_name!r}", rname, fname)
        kind = FIELD_TYPES[type_name]
        start = get("start", int)
        if "length" in table:
            size = get("length", int)
            if "end" in table and get("end", int) != start + size - 1:
                message = f"end {table['end']} does not agree with start {start} and length {size}"
                raise self.error(message, rname, fname)
        elif "end" in table:
            size = get("end", int) - start + 1
        else:
            raise self.error("needs 'length' (or 'end')", rname, fname)
        if start < 1 or size < 1:
            raise self.error(f"start and length must be at least 1, got {start} and {size}", rname, fname)
        if start + size - 1 > length:
            raise self.error(f"positions {start}-{start + size - 1} run past the record length {length}", rname, fname)

        def only(keys: set[str], types: str) -> None:
            for key in sorted(keys & set(table)):
                raise self.error(f"'{key}' applies only to {types} fields, not {type_name}", rname, fname)

        options: dict[str, Any] = {}
        if kind is not Kind.CONST:
            only({"value"}, "const")
        if kind is not Kind.DATE:
            only({"pattern"}, "date")
        if kind not in (Kind.NUMBER, Kind.AMOUNT):
            only({"sign"}, "integer and amount")
        if kind is not Kind.AMOUNT:
            only({"decimals"}, "amount")
        if kind not in (Kind.TEXT, Kind.DIGITS):
            only({"choices"}, "text and digits")
        if kind in (Kind.CONST, Kind.FILLER):
            only({"required", "blank_ok"}, "data")
        else:
            options["required"] = get("required", bool, False)
            options["blank_ok"] = get("blank_ok", bool, False)
            if options["required"] and options["blank_ok"]:
                raise self.error("cannot be both required and blank_ok", rname, fname)
            if kind is Kind.TEXT and options["blank_ok"]:
                raise self.error("blank_ok applies to numbers and dates (text may be blank)", rname, fname)

        if kind is Kind.CONST and "value" in table:
            value = get("value", str)
            if len(value) != size:
                message = f"value {value!r} is {len(value)} characters long, the field is {size}"
                raise self.error(message, rname, fname)
            options["value"] = value
        elif kind is Kind.DATE:
            options["pattern"] = self.date_pattern(get("pattern", str), size, rname, fname)
        elif kind is Kind.TIME and size != 4:
            raise self.error(f"time fields are HHMM, 4 characters long, not {size}", rname, fname)
        if "sign" in table:
            sign = get("sign", str)
            if sign not in SIGNS:
                raise self.error(f"sign must be one of {', '.join(SIGNS)}, got {sign!r}", rname, fname)
            if size < 2:
                raise self.error("a signed field needs at least 2 positions", rname, fname)
            options["sign"] = sign
        if kind in (Kind.NUMBER, Kind.AMOUNT):
            digits = size - (1 if options.get("sign") in ("leading", "trailing") else 0)
            if digits > 36:
                raise self.error(f"{digits} digits are more than any amount needs (at most 36)", rname, fname)
        if "decimals" in table:
            decimals = get("decimals", int)
            if not 0 <= decimals <= 9:
                raise self.error(f"decimals must be between 0 and 9, got {decimals}", rname, fname)
            options["decimals"] = decimals
        if "choices" in table:
            choices = get("choices", list)
            if not choices or not all(isinstance(c, str) for c in choices):
                raise self.error(f"choices must be a list of strings, got {choices!r}", rname, fname)
            for c in choices:
                bad = (
                    len(c) > size
                    or c != c.rstrip()
                    or not all(32 <= ord(ch) < 127 for ch in c)
                    or (kind is Kind.DIGITS and (len(c) != size or not c.isdigit()))
                )
                if bad:
                    what = f"{size} digits" if kind is Kind.DIGITS else f"at most {size} printable ASCII characters"
                    raise self.error(f"choice {c!r} must be {what} without trailing spaces", rname, fname)
            options["choices"] = tuple(choices)
        return Field(fname, start, size, kind, **options)

    def date_pattern(self, pattern: str, size: int, rname: str, fname: str) -> str:
        sample = date(2024, 12, 31)
        try:
            text = sample.strftime(pattern)
            ok = datetime.strptime(text, pattern).date() == sample
        except ValueError as exc:
            raise self.error(f"pattern {pattern!r} is not a date pattern: {exc}", rname, fname) from None
        if not ok:
            raise self.error(f"pattern {pattern!r} must hold a full date (year, month and day)", rname, fname)
        if len(text) != size:
            raise self.error(
                f"pattern {pattern!r} writes {len(text)} characters ({text}), the field has {size}",
                rname,
                fname,
            )
        return pattern

    def discriminator_field(
        self, rname: str, fields: list[Field], codes: tuple[str, ...], discriminator: tuple[int, int]
    ) -> list[Field]:
        """The field at the discriminator holds the code: a const there defaults to it."""
        start, size = discriminator
        for i, f in enumerate(fields):
            if f.start <= start + size - 1 and start <= f.stop:
                if (f.start, f.length) != (start, size):
                    raise self.error(
                        f"{f.positions} overlap the record type code (positions {start}-{start + size - 1}) "
                        "without matching it exactly",
                        rname,
                        f.name,
                    )
                if f.kind is Kind.CONST:
                    if f.value is None:
                        if len(codes) > 1:
                            raise self.error("a const cannot hold several codes; make it a text field", rname, f.name)
                        fields[i] = Field(f.name, f.start, f.length, Kind.CONST, value=codes[0])
                    elif (f.value,) != codes:
                        message = f"value {f.value!r} differs from the record's code {codes[0]!r}"
                        raise self.error(message, rname, f.name)
                elif f.kind is Kind.FILLER:
                    raise self.error("the record type code cannot be a filler", rname, f.name)
                return fields
        raise self.error(f"no field holds the record type code (positions {start}-{start + size - 1})", rname)

    def tiling(self, rname: str, fields: list[Field], length: int) -> None:
        for f in fields:
            if f.kind is Kind.CONST and f.value is None:
                raise self.error("a const field needs a 'value'", rname, f.name)
        ordered = sorted(fields, key=lambda f: (f.start, f.stop))
        position = 1
        previous: Field | None = None
        for f in ordered:
            if f.start > position:
                raise self.error(
                    f"positions {position}-{f.start - 1} are not covered by any field (add a filler)", rname
                )
            if f.start < position and previous is not None:
                raise self.error(f"{f.positions} overlap field '{previous.name}' ({previous.positions})", rname, f.name)
            position = f.stop + 1
            previous = f
        if position - 1 < length:
            raise self.error(f"positions {position}-{length} are not covered by any field (add a filler)", rname)

    # -- checks -------------------------------------------------------------------------

    def check(self, index: int, table: Any, by_name: Mapping[str, RecordType]) -> Check:
        label = f"checks[{index}]"
        if not isinstance(table, dict):
            raise self.error(f"{label} must be a table ([[checks]])")
        if isinstance(table.get("name"), str):
            label += f" ({table['name']})"
        self.no_unknown_keys(table, _CHECK_KEYS, f"{label}")

        def get(key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
            return self.get(table, key, kind, default, prefix=f"{label}.")

        def fail(message: str) -> LayoutError:
            return self.error(f"{label}: {message}")

        def ref(value: str, key: str, numeric: bool = False) -> tuple[str, str]:
            rname, dot, fname = value.partition(".")
            if not dot:
                raise fail(f"'{key}' must be 'record_type.field', got {value!r}")
            if rname not in by_name:
                raise fail(f"'{key}' names unknown record type {rname!r}")
            try:
                f = by_name[rname].field(fname)
            except KeyError:
                raise fail(f"'{key}': record '{rname}' has no field {fname!r}") from None
            if f.kind not in EMITTED:
                raise fail(f"'{key}': field {value!r} is a {f.kind.value} field, which has no value")
            if numeric and f.kind not in (Kind.NUMBER, Kind.AMOUNT):
                raise fail(f"'{key}': field {value!r} must be an integer or amount field, not {f.kind.value}")
            return rname, fname

        kind = get("kind", str)
        if kind not in CHECK_KINDS:
            raise fail(f"kind must be one of {', '.join(CHECK_KINDS)}, got {kind!r}")
        if kind == "sequence":
            return self.sequence(table, label, get, fail, ref, by_name)
        for key in ("start", "step"):
            if key in table:
                raise fail(f"'{key}' applies only to a sequence check")
        against = ref(get("against", str), "against", numeric=kind != "match")
        of_value = get("of", (str, list))
        of: tuple[tuple[str, str | None], ...]  # (record type, field); no field: count records
        if kind == "count":
            if of_value == "*":
                of = tuple((rt.name, None) for rt in by_name.values())
            else:
                names = self.names(of_value, f"{label}.of")
                for n in names:
                    if n not in by_name:
                        raise fail(f"'of' names unknown record type {n!r}")
                of = tuple((n, None) for n in names)
        else:
            items = [of_value] if isinstance(of_value, str) else of_value
            if not items or not all(isinstance(v, str) for v in items):
                raise fail(f"'of' must be 'record_type.field' or a list of them, got {of_value!r}")
            if kind == "match" and len(items) != 1:
                raise fail("a match check compares one field: 'of' must be one 'record_type.field'")
            of = tuple(ref(v, "of", numeric=kind == "sum") for v in items)
        types = [t for t, _ in of]
        if len(set(types)) != len(types):
            raise fail("'of' names a record type twice")

        since = None
        where: tuple[tuple[str, frozenset[str]], ...] = ()
        absolute = False
        if kind == "match":
            for key in ("since", "where", "absolute"):
                if key in table:
                    raise fail(f"'{key}' does not apply to a match check")
            if of[0][0] == against[0]:
                raise fail("a match check compares two different record types")
        else:
            if "since" in table:
                since = get("since", str)
                if since not in by_name:
                    raise fail(f"'since' names unknown record type {since!r}")
            if "where" in table:
                where = self.where(get("where", dict), types, by_name, fail)
            if "absolute" in table:
                if kind != "sum":
                    raise fail("'absolute' applies only to sum checks")
                absolute = get("absolute", bool)
        name = get("name", str, f"{of[0][0]}.{of[0][1]}" if kind == "match" else ".".join(against))
        description = get("description", str, "")
        return Check(kind, name, of, against, since, where, absolute, description)

    def sequence(self, table: Mapping[str, Any], label: str, get: Any, fail: Any, ref: Any, by_name: Any) -> Check:
        """A ``kind = "sequence"`` check: one integer field, its first numbers and its step."""
        for key in ("against", "where", "absolute"):
            if key in table:
                raise fail(f"'{key}' does not apply to a sequence check")
        of_value = get("of", str)
        rname, fname = ref(of_value, "of")
        if by_name[rname].field(fname).kind is not Kind.NUMBER:
            raise fail(f"'of': field {of_value!r} must be an integer field")
        since = None
        if "since" in table:
            since = get("since", str)
            if since not in by_name:
                raise fail(f"'since' names unknown record type {since!r}")
            if since == rname:
                raise fail("'since' must be another record type than the numbered one")
        value = get("start", (int, list, str), "any")
        starts = [value] if isinstance(value, int) else value
        if value == "any":
            start = None
        elif isinstance(starts, list) and starts and all(type(s) is int and s >= 0 for s in starts):
            start = frozenset(starts)
        else:
            raise fail(f"'start' must be a number (0 or more), a list of numbers, or \"any\", got {value!r}")
        step = get("step", str, "consecutive")
        if step not in SEQUENCE_STEPS:
            raise fail(f"'step' must be one of {', '.join(SEQUENCE_STEPS)}, got {step!r}")
        name = get("name", str, of_value)
        description = get("description", str, "")
        return Check("sequence", name, ((rname, fname),), (rname, fname), since, (), False, description, start, step)

    def where(
        self, table: Mapping[str, Any], types: list[str], by_name: Mapping[str, RecordType], fail: Any
    ) -> tuple[tuple[str, frozenset[str]], ...]:
        if not table:
            raise fail("'where' is empty")
        conditions = []
        for fname, wanted in table.items():
            values = [wanted] if isinstance(wanted, str) else wanted
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise fail(f"'where.{fname}' must be a string or a list of strings, got {wanted!r}")
            for t in types:
                try:
                    f = by_name[t].field(fname)
                except KeyError:
                    raise fail(f"'where': record '{t}' has no field {fname!r}") from None
                if f.kind not in (Kind.TEXT, Kind.DIGITS):
                    raise fail(f"'where': field '{t}.{fname}' must be a text or digits field")
            conditions.append((fname, frozenset(values)))
        return tuple(conditions)


_TOML_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}
