"""Field tables for fixed-width records.

One declaration of a record's fields (name, position, kind) drives reading, validating and
writing, so the three can never drift apart. NACHA records and the user-written bank layouts
(``bankgate.parsers.fixed``) are both built from it.

Decoding has two paths with the same results: ``Layout.decode`` handles one line in plain
Python and is the single source of every problem message; ``Layout.decode_rows`` decodes a
block of same-layout lines at once with numpy (the hot path for entry records) and hands any
line with a problem back to ``decode`` so messages come from one place.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from itertools import repeat
from typing import Any

import numpy as np

from bankgate.parsers.problems import ProblemLog
from bankgate.parsers.rows import gc_paused


class Kind(StrEnum):
    TEXT = "text"  # alphanumeric, trailing spaces dropped
    DIGITS = "digits"  # numeric identifier kept as text: routing, trace, leading zeros matter
    NUMBER = "number"  # integer (unsigned unless the field has a ``sign``)
    AMOUNT = "amount"  # integer in minor units (cents): never a float; signed if ``sign`` is set
    DATE = "date"  # date in ``pattern`` (strftime codes), decoded to datetime.date
    TIME = "time"  # HHMM, decoded to "HH:MM"
    CONST = "const"  # a literal the record must hold (record type code, format code); not emitted
    FILLER = "filler"  # reserved positions; not emitted, written as spaces


#: Kinds whose values end up in the record.
EMITTED = frozenset({Kind.TEXT, Kind.DIGITS, Kind.NUMBER, Kind.AMOUNT, Kind.DATE, Kind.TIME})
#: Kinds the numpy path decodes (all of them: dates and times are decoded once per distinct
#: value in a block, through the one-line code, so both paths agree by construction).
VECTOR_KINDS = frozenset(
    {Kind.TEXT, Kind.DIGITS, Kind.NUMBER, Kind.AMOUNT, Kind.DATE, Kind.TIME, Kind.CONST, Kind.FILLER}
)
NUMERIC = frozenset({Kind.DIGITS, Kind.NUMBER, Kind.AMOUNT})

#: How a signed NUMBER/AMOUNT field carries its sign. "leading"/"trailing": a separate sign
#: character ('+' or '-'; a space reads as '+') in the first/last position, digits in the rest.
#: "overpunch": zoned decimal, the last character is a digit with the sign punched over it
#: ('{', 'A'-'I' = +0..+9; '}', 'J'-'R' = -0..-9; a plain digit is positive) as an EBCDIC
#: zoned field reads once translated with cp037.
SIGNS = frozenset({"", "leading", "trailing", "overpunch"})
_OVERPUNCH = {
    **{ord(str(d)): (d, False) for d in range(10)},
    **{ord(c): (d, False) for d, c in enumerate("{ABCDEFGHI")},
    **{ord(c): (d, True) for d, c in enumerate("}JKLMNOPQR")},
}
#: 256-entry tables for the numpy path: digit of an overpunched last byte (255: not valid), and its sign.
_OVERPUNCH_DIGIT = np.full(256, 255, dtype=np.uint8)
_OVERPUNCH_NEGATIVE = np.zeros(256, dtype=bool)
for _byte, (_digit, _negative) in _OVERPUNCH.items():
    _OVERPUNCH_DIGIT[_byte] = _digit
    _OVERPUNCH_NEGATIVE[_byte] = _negative
del _byte, _digit, _negative


@dataclass(frozen=True, slots=True)
class Field:
    """One field: ``start`` is 1-based as in every bank spec, so tables read like the spec."""

    name: str
    start: int
    length: int
    kind: Kind = Kind.TEXT
    required: bool = False  # text: not blank; numbers: not blank and not all zeros
    blank_ok: bool = False  # numbers/dates: all spaces is allowed and decodes to None
    value: str | None = None  # CONST: the literal expected
    pattern: str = "%y%m%d"  # DATE: strftime pattern
    right_justified: bool = False  # TEXT: padded on the left (e.g. NACHA " 231380104")
    sign: str = ""  # NUMBER/AMOUNT: "", "leading", "trailing" or "overpunch" (see SIGNS)
    decimals: int = 2  # AMOUNT: implied decimal places; the value stays an integer in those units
    choices: tuple[str, ...] = ()  # TEXT/DIGITS: the allowed values (after trailing spaces are dropped)
    #: The rule code an invalid value (DATE/TIME) of this field reports under, when the field has
    #: a rule of its own (NACHA's effective entry date is only a warning); else ``<ns>.field.date``.
    rule: str = ""

    @property
    def stop(self) -> int:
        return self.start - 1 + self.length

    @property
    def positions(self) -> str:
        return f"positions {self.start}-{self.stop}" if self.length > 1 else f"position {self.start}"


def _record_class_name(kind: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", kind) if part) or "Record"


class Layout:
    """The fields of one record type, and the record class (a NamedTuple) it decodes into.

    Records are NamedTuples, not dataclasses: they are immutable, typed by field name, and
    cheap enough to build a million of per second. ``KIND`` names the record type in output.
    Each record starts with ``line`` (physical line number), then the caller's ``context``
    fields (e.g. the batch number), then this layout's emitted fields.
    """

    def __init__(
        self,
        kind: str,
        fields: Sequence[Field],
        *,
        title: str | None = None,
        length: int | None = None,
        context: Sequence[str] = (),
    ) -> None:
        self.kind = kind
        self.title = title or kind.replace("_", " ")
        self.fields = tuple(fields)
        self.length = length if length is not None else max(f.stop for f in self.fields)
        self._check_table()
        self.emitted = tuple(f for f in self.fields if f.kind in EMITTED)
        self.context = tuple(context)
        names = ("line", *self.context, *(f.name for f in self.emitted))
        cls = namedtuple(_record_class_name(kind), names)  # type: ignore[misc]
        cls.KIND = kind  # type: ignore[attr-defined]
        self.record_class: type[Any] = cls
        # Which positions must hold a digit, printable ASCII or a constant's byte (``columns``).
        self._digit_positions = np.zeros(self.length, dtype=bool)
        self._text_positions = np.zeros(self.length, dtype=bool)
        for lo, hi in _spans(f for f in self.fields if f.kind in NUMERIC):
            self._digit_positions[lo:hi] = True
        for lo, hi in _spans(f for f in self.fields if f.kind is Kind.TEXT):
            self._text_positions[lo:hi] = True
        self._const_positions = np.zeros(self.length, dtype=bool)
        self._const_bytes = np.zeros(self.length, dtype=np.uint8)
        for f in self.fields:
            if f.kind is Kind.CONST:
                self._const_positions[f.start - 1 : f.stop] = True
                self._const_bytes[f.start - 1 : f.stop] = np.frombuffer((f.value or "").encode("latin-1"), np.uint8)
        self.vectorizable = all(f.kind in VECTOR_KINDS for f in self.fields) and all(
            f.length <= 18 for f in self.fields if f.kind in (Kind.NUMBER, Kind.AMOUNT)
        )

    def _check_table(self) -> None:
        """A table with a gap or an overlap is a bug in the table, caught at import time."""
        position = 1
        for f in sorted(self.fields, key=lambda f: f.start):
            if f.start != position:
                raise ValueError(f"layout {self.kind}: field {f.name} starts at {f.start}, expected {position}")
            position = f.stop + 1
            if f.sign not in SIGNS:
                raise ValueError(f"layout {self.kind}: field {f.name} has unknown sign {f.sign!r}")
            if f.sign and (f.kind not in (Kind.NUMBER, Kind.AMOUNT) or f.length < 2):
                raise ValueError(f"layout {self.kind}: field {f.name} cannot be signed")
            if f.choices and f.kind not in (Kind.TEXT, Kind.DIGITS):
                raise ValueError(f"layout {self.kind}: field {f.name} cannot have choices")
        if position - 1 != self.length:
            raise ValueError(f"layout {self.kind}: fields cover {position - 1} positions, record is {self.length}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return self.record_class._fields

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layout {self.kind} has no field {name}")

    def has_field(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    # -- reading one line -------------------------------------------------------------

    def decode(self, line: bytes, lineno: int, log: ProblemLog, context: tuple = ()) -> Any:
        """Decode one line; every problem goes to ``log`` and the record is still returned."""
        values: list[Any] = [lineno, *context]
        for f in self.fields:
            raw = line[f.start - 1 : f.stop]
            if f.kind in EMITTED:
                values.append(self._decode_field(f, raw, lineno, log))
            elif f.kind is Kind.CONST and raw.decode("latin-1") != f.value:
                got = raw.decode("latin-1")
                log.add(lineno, self.title, f.name, f"must be '{f.value}', got '{got}'", code=_code(log, "constant"))
        return self.record_class._make(values)

    def _decode_field(self, f: Field, raw: bytes, lineno: int, log: ProblemLog) -> Any:
        text = raw.decode("latin-1")
        title = self.title
        if f.kind is Kind.TEXT:
            if not all(32 <= b <= 126 for b in raw):
                message = f"contains characters outside printable ASCII: {text!r}"
                log.add(lineno, title, f.name, message, code=_code(log, "not_ascii"))
            value = text.strip() if f.right_justified else text.rstrip()
            if f.required and not value.strip():
                log.add(lineno, title, f.name, "is required but blank", code=_code(log, "required"))
            elif f.choices and value not in f.choices:
                message = f"must be one of {_choice_list(f)}, got '{value}'"
                log.add(lineno, title, f.name, message, code=_code(log, "choice"))
            return value
        if not text.strip():
            if f.blank_ok and not f.required:
                return None
            log.add(lineno, title, f.name, f"is required but blank ({f.positions})", code=_code(log, "required"))
            return None
        if f.sign:
            return self._decode_signed(f, raw, lineno, log)
        if f.kind in NUMERIC:
            if not raw.isdigit():
                message = f"must be digits ({f.positions}), got '{text}'"
                log.add(lineno, title, f.name, message, code=_code(log, "not_numeric"))
                return text.strip() if f.kind is Kind.DIGITS else None
            if f.required and raw.count(b"0") == len(raw):
                log.add(lineno, title, f.name, "must not be all zeros", code=_code(log, "all_zeros"))
            if f.choices and text not in f.choices:
                message = f"must be one of {_choice_list(f)}, got '{text}'"
                log.add(lineno, title, f.name, message, code=_code(log, "choice"))
            return text if f.kind is Kind.DIGITS else int(raw)
        return self._decode_when(f, raw, text, lineno, log)

    def _decode_when(self, f: Field, raw: bytes, text: str, lineno: int, log: ProblemLog) -> Any:
        """A DATE or TIME field that is not blank (the numpy path decodes each distinct value once)."""
        if f.kind is Kind.DATE:
            if f.blank_ok and raw.count(b"0") == len(raw):
                return None
            try:
                if b" " in raw and " " not in f.pattern:  # strptime reads '2601 1' as 2026-01-01
                    raise ValueError("a space inside a date")
                return datetime.strptime(text, f.pattern).date()
            except ValueError:
                message = f"is not a valid date ({f.pattern}): '{text}'"
                log.add(lineno, self.title, f.name, message, code=f.rule or _code(log, "date"))
                return None
        # Kind.TIME
        if not (raw.isdigit() and int(raw[:2]) < 24 and int(raw[2:4]) < 60):
            message = f"is not a valid time (HHMM): '{text}'"
            log.add(lineno, self.title, f.name, message, code=f.rule or _code(log, "time"))
            return None
        return f"{text[:2]}:{text[2:4]}"

    def _decode_signed(self, f: Field, raw: bytes, lineno: int, log: ProblemLog) -> int | None:
        negative, digits = _split_sign(f, raw)
        if digits is None or not digits.isdigit():
            how = "digits with an overpunched sign" if f.sign == "overpunch" else f"digits with a {f.sign} sign"
            message = f"must be {how} ({f.positions}), got '{raw.decode('latin-1')}'"
            log.add(lineno, self.title, f.name, message, code=_code(log, "signed_number"))
            return None
        if f.required and digits.count(b"0") == len(digits):
            log.add(lineno, self.title, f.name, "must not be all zeros", code=_code(log, "all_zeros"))
        return -int(digits) if negative else int(digits)

    # -- reading many lines at once ---------------------------------------------------

    def decode_rows(
        self,
        rows: np.ndarray,
        linenos: Sequence[int],
        log: ProblemLog,
        context: tuple = (),
        arrays: dict[str, np.ndarray] | None = None,
    ) -> list:
        """Decode an (n, length) uint8 array of lines of this layout, in order.

        Lines that pass every field check are decoded column-wise; the others go through
        ``decode`` so their problems are reported exactly as on the one-line path.

        ``arrays``, when given, receives what a caller's own vectorised rules can reuse:
        ``"bad"`` (lines with a field problem) and each integer field as an int64 array,
        whose values are meaningful only where ``bad`` is False.
        """
        n = rows.shape[0]
        if not self.vectorizable or n < 16:
            return self._decode_each(rows, linenos, log, context, arrays)
        with gc_paused():
            return self.columns(rows).records(slice(0, n), linenos, log, context, arrays)

    def _decode_each(
        self,
        rows: np.ndarray,
        linenos: Sequence[int],
        log: ProblemLog,
        context: tuple,
        arrays: dict[str, np.ndarray] | None,
    ) -> list:
        """The one-line path for a few lines; fills ``arrays`` just as the numpy path does."""
        records, bad = [], []
        for i in range(rows.shape[0]):
            before = log.total
            records.append(self.decode(bytes(rows[i]), linenos[i], log, context))
            bad.append(log.total > before)
        if arrays is not None:
            arrays["bad"] = np.array(bad, dtype=bool)
            for f in self.emitted:
                if f.kind in (Kind.NUMBER, Kind.AMOUNT):
                    values = [getattr(r, f.name) for r in records]
                    arrays[f.name] = np.array([v if isinstance(v, int) else 0 for v in values], dtype=np.int64)
        return records

    def columns(self, rows: np.ndarray) -> Columns:
        """Decode an (n, length) uint8 array column-wise, logging nothing (see ``Columns``).

        Every check is row by row, so the rows may be a whole block of mixed records of which
        only some runs are of this layout: a reader of many small batches decodes each block
        once and builds each batch's records from it, instead of paying numpy's per-call cost
        once per batch. Only ``vectorizable`` layouts can be decoded this way.
        """
        digits = rows - 48  # uint8 wraps: anything that is not '0'..'9' becomes > 9
        # Every position's check at once, then one reduction per line: a reduction per field
        # pays numpy's overhead per line and per field, which a file of small batches feels.
        wrong = (digits > 9) & self._digit_positions
        wrong |= ((rows - 32) > 94) & self._text_positions  # outside printable ASCII 32..126
        wrong |= (rows != self._const_bytes) & self._const_positions
        bad = np.asarray(wrong.any(axis=1))
        by_value: dict[str, tuple[list, np.ndarray]] = {}  # DATE/TIME: distinct values, each row's index
        for f in self.fields:
            if f.kind in (Kind.DATE, Kind.TIME):
                by_value[f.name] = self._decode_by_value(f, rows, bad)
            else:
                _mark_bad(f, rows, bad)
        # Bad lines are decoded again one by one (``Columns.records``); overwrite them here so that the
        # column-wise conversion never sees bytes it cannot convert (non-ASCII text).
        clean = rows
        if bad.any():
            clean = rows.copy()
            clean[bad] = 48
            digits = clean - 48
        integers: dict[str, np.ndarray] = {}
        for f in self.emitted:
            if f.kind in (Kind.NUMBER, Kind.AMOUNT):
                integers[f.name] = _integer_column(f, clean, digits)
        return Columns(self, rows, bad, clean, integers, by_value)

    def _decode_by_value(self, f: Field, rows: np.ndarray, bad: np.ndarray) -> tuple[list, np.ndarray]:
        """A DATE/TIME column: each distinct cell goes once through the one-line decoder.

        A bank file holds few distinct dates, so this costs little; a cell the one-line
        decoder has a problem with marks its lines ``bad`` (updated in place). Returns the
        distinct values and each line's index into them.
        """
        cells = np.ascontiguousarray(rows[:, f.start - 1 : f.stop]).view(f"S{f.length}").ravel()
        distinct, inverse = np.unique(cells, return_inverse=True)
        scratch = ProblemLog()
        values: list[Any] = []
        invalid = np.zeros(len(distinct), dtype=bool)
        for k, cell in enumerate(distinct.tolist()):
            before = scratch.total
            # numpy drops trailing NUL bytes: such a cell is never valid, and decode reports it.
            values.append(self._decode_field(f, cell, 0, scratch) if len(cell) == f.length else None)
            invalid[k] = len(cell) != f.length or scratch.total != before
        inverse = inverse.ravel()
        bad |= invalid[inverse]
        return values, inverse

    # -- writing ------------------------------------------------------------------------

    def encode(self, values: Mapping[str, Any]) -> bytes:
        """Write one record from field values (a mapping or a record's ``_asdict()``)."""
        parts: list[str] = []
        for f in self.fields:
            value = values.get(f.name)
            parts.append(_encode_field(f, value))
        line = "".join(parts)
        if len(line) != self.length:
            raise ValueError(f"{self.kind}: encoded {len(line)} characters, expected {self.length}")
        return line.encode("ascii")


class Columns:
    """Lines of one layout decoded column-wise (``Layout.columns``), not yet made records.

    ``bad`` marks lines with a field problem; ``clean`` is the lines with the bad ones
    overwritten (so every cell converts); ``integers`` holds each integer field as an int64
    array and ``by_value`` each date/time field as (distinct values, each line's index), all
    meaningful only where ``bad`` is False. Python values per cell (``columns``) are made only
    when records are asked for: a consumer that works on columns (``bankgate.parsers.columnar``)
    never pays for them. ``records`` builds the records of any run of the lines, in order,
    and reports the bad ones' problems through the one-line decoder, exactly as
    ``Layout.decode_rows`` does for those lines alone.
    """

    __slots__ = ("_columns", "bad", "by_value", "clean", "integers", "layout", "rows")

    def __init__(
        self,
        layout: Layout,
        rows: np.ndarray,
        bad: np.ndarray,
        clean: np.ndarray,
        integers: dict[str, np.ndarray],
        by_value: dict[str, tuple[list, np.ndarray]],
    ) -> None:
        self.layout, self.rows, self.bad, self.clean = layout, rows, bad, clean
        self.integers, self.by_value = integers, by_value
        self._columns: list[list] | None = None

    @property
    def columns(self) -> list[list]:
        """Each emitted field's Python values, one per line (made on first use)."""
        if self._columns is None:
            self._columns = self._python_columns()
        return self._columns

    def _python_columns(self) -> list[list]:
        rows, clean, bad, n = self.rows, self.clean, self.bad, len(self.bad)
        columns: list[list] = []
        for f in self.layout.emitted:
            if f.kind in (Kind.NUMBER, Kind.AMOUNT):
                columns.append(self.integers[f.name].tolist())
            elif f.kind in (Kind.DATE, Kind.TIME):
                values, inverse = self.by_value[f.name]
                column = np.empty(len(values), dtype=object)
                column[:] = values
                columns.append(column[inverse].tolist())
            elif f.kind is Kind.TEXT and ((rows[:, f.start - 1 : f.stop] == 32).all(axis=1) | bad).all():
                # An unused field (often discretionary data): no per-cell work. Bad lines (in a
                # whole block: its headers and controls) are decoded again, so they do not count.
                columns.append([""] * n)
            else:
                # bytes.decode per cell beats numpy's S-to-U cast by half; all bytes are ASCII here.
                columns.append(list(map(bytes.decode, _cells(clean, f).tolist())))
        return columns

    def records(
        self,
        index: slice | np.ndarray,
        linenos: Sequence[int],
        log: ProblemLog,
        context: tuple = (),
        arrays: dict[str, np.ndarray] | None = None,
    ) -> list:
        """The records of the lines at ``index`` (a slice, or ascending positions), whose line
        numbers are ``linenos``; ``arrays`` receives ``"bad"`` and the integer fields for them."""
        layout = self.layout
        bad = self.bad[index]
        if isinstance(index, slice):
            columns = [c[index] for c in self.columns]
        else:
            positions = index.tolist()
            columns = [list(map(c.__getitem__, positions)) for c in self.columns]
        n = len(bad)
        # tuple.__new__ straight from C: a NamedTuple's own __new__/_make are Python-level calls.
        rows_of_values = zip(linenos, *(repeat(c, n) for c in context), *columns)
        records = list(map(tuple.__new__, repeat(layout.record_class, n), rows_of_values))
        if bad.any():
            rows = self.rows[index]
            for i in np.flatnonzero(bad).tolist():
                records[i] = layout.decode(bytes(rows[i]), linenos[i], log, context)
        if arrays is not None:
            arrays["bad"] = bad
            for name, values in self.integers.items():
                arrays[name] = values[index]
        return records

    def record(self, k: int, lineno: int, log: ProblemLog, context: tuple = ()) -> Any:
        """The record of line ``k`` alone, as ``records`` would give it."""
        layout = self.layout
        if self.bad[k]:
            return layout.decode(bytes(self.rows[k]), lineno, log, context)
        return tuple.__new__(layout.record_class, (lineno, *context, *(c[k] for c in self.columns)))


def _code(log: ProblemLog, check: str) -> str:
    """The code of a shared field check in the log's format: ``nacha.field.required``."""
    return f"{log.namespace}.field.{check}"


def _mark_bad(f: Field, rows: np.ndarray, bad: np.ndarray) -> None:
    """Set ``bad`` (in place) on the lines where a NUMERIC or TEXT field breaks a rule the
    position checks cannot see: its sign, a required value, its choices."""
    lo, hi = f.start - 1, f.stop
    if f.kind in NUMERIC:
        if f.sign == "overpunch":
            bad |= _OVERPUNCH_DIGIT[rows[:, hi - 1]] == 255
        elif f.sign:
            sign = rows[:, lo if f.sign == "leading" else hi - 1]
            bad |= (sign != 43) & (sign != 45) & (sign != 32)  # '+', '-', ' '
        if f.required:
            dlo, dhi = _digit_span(f)
            zero = (rows[:, dlo:dhi] == 48).all(axis=1)
            if f.sign == "overpunch":
                zero &= _OVERPUNCH_DIGIT[rows[:, hi - 1]] == 0
            bad |= zero
    elif f.kind is Kind.TEXT and f.required:
        bad |= (rows[:, lo:hi] == 32).all(axis=1)
    if f.choices and (f.kind in NUMERIC or f.kind is Kind.TEXT):
        bad |= ~np.isin(_cells(rows, f), [c.encode("latin-1") for c in f.choices])


def _cells(rows: np.ndarray, f: Field) -> np.ndarray:
    """A field's column as numpy bytes; text with its padding spaces dropped, as ``decode`` does."""
    cells = np.ascontiguousarray(rows[:, f.start - 1 : f.stop]).view(f"S{f.length}").ravel()
    if f.kind is Kind.TEXT:
        cells = (np.strings.strip if f.right_justified else np.strings.rstrip)(cells, b" ")
    return cells


def _choice_list(f: Field) -> str:
    return ", ".join(f"'{c}'" for c in f.choices)


def _digit_span(f: Field) -> tuple[int, int]:
    """0-based slice of the plain digits of a numeric field (a separate sign or an overpunched
    last digit excluded)."""
    lo, hi = f.start - 1, f.stop
    if f.sign == "leading":
        return lo + 1, hi
    if f.sign:  # trailing, overpunch
        return lo, hi - 1
    return lo, hi


def _split_sign(f: Field, raw: bytes) -> tuple[bool, bytes | None]:
    """(negative, digits) of a signed field; digits is None when the sign is not valid."""
    if f.sign == "leading":
        sign, digits = raw[:1], raw[1:]
    elif f.sign == "trailing":
        sign, digits = raw[-1:], raw[:-1]
    else:  # overpunch
        last = _OVERPUNCH.get(raw[-1]) if raw else None
        if last is None:
            return False, None
        return last[1], raw[:-1] + str(last[0]).encode()
    if sign not in (b"+", b"-", b" "):
        return False, None
    return sign == b"-", digits


def _integer_column(f: Field, rows: np.ndarray, digits: np.ndarray) -> np.ndarray:
    dlo, dhi = _digit_span(f)
    weights = 10 ** np.arange(dhi - dlo - 1, -1, -1, dtype=np.int64)
    values = digits[:, dlo:dhi].astype(np.int64) @ weights
    if not f.sign:
        return values
    if f.sign == "overpunch":
        last = rows[:, f.stop - 1]
        values = values * 10 + _OVERPUNCH_DIGIT[last].astype(np.int64)
        negative = _OVERPUNCH_NEGATIVE[last]
    else:
        negative = rows[:, f.start - 1 if f.sign == "leading" else f.stop - 1] == 45
    return np.where(negative, -values, values)


def _encode_signed(f: Field, value: Any) -> str:
    number = int(value)
    width = f.length if f.sign == "overpunch" else f.length - 1
    text = str(abs(number))
    if len(text) > width:
        raise ValueError(f"field {f.name}: {value!r} does not fit {width} digits")
    text = text.rjust(width, "0")
    if f.sign == "overpunch":
        return text[:-1] + ("}JKLMNOPQR" if number < 0 else "{ABCDEFGHI")[int(text[-1])]
    sign = "-" if number < 0 else "+"
    return sign + text if f.sign == "leading" else text + sign


def _spans(fields: Iterable[Field]) -> list[tuple[int, int]]:
    """Adjacent fields merged into 0-based [lo, hi) column ranges, to check them in one pass."""
    spans: list[tuple[int, int]] = []
    for f in sorted(fields, key=lambda f: f.start):
        lo, hi = _digit_span(f)  # a sign position is checked on its own
        if spans and spans[-1][1] == lo:
            spans[-1] = (spans[-1][0], hi)
        else:
            spans.append((lo, hi))
    return spans


def _encode_field(f: Field, value: Any) -> str:
    if f.kind is Kind.CONST:
        return f.value or ""
    if f.kind is Kind.FILLER or value is None:
        return " " * f.length
    if f.choices and str(value) not in f.choices:
        raise ValueError(f"field {f.name}: {value!r} is not one of {_choice_list(f)}")
    if f.kind is Kind.TEXT:
        text = str(value)
        if len(text) > f.length:
            raise ValueError(f"field {f.name}: {text!r} is longer than {f.length}")
        return text.rjust(f.length) if f.right_justified else text.ljust(f.length)
    if f.sign:
        return _encode_signed(f, value)
    if f.kind in NUMERIC:
        text = str(value)
        if not (text.isascii() and text.isdigit()) or len(text) > f.length:
            raise ValueError(f"field {f.name}: {value!r} does not fit {f.length} digits")
        return text.rjust(f.length, "0")
    if f.kind is Kind.DATE:
        if isinstance(value, str):
            value = date.fromisoformat(value)
        return value.strftime(f.pattern)
    # Kind.TIME: accepts "HH:MM" or "HHMM"
    return str(value).replace(":", "").rjust(f.length, "0")
