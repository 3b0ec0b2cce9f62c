"""BAI2 records: one NamedTuple per record type, and the field tables that decode them.

A BAI2 record is a list of comma-separated fields, so a record's table is just its fields in
order (name, kind, required). One generic decoder reads every table; only the two records
with variable parts (03 summaries, 16 funds type details and free text) add a few lines of
their own on top of the same field decoder, so every problem message comes from one place.

Values: amounts are integers in cents (BAI2 amounts have two implied decimals), dates are
``datetime.date``, times are "HH:MM", or "HH:MM:SS" when the file gives seconds (2400 and
9999 mean end of day and read "24:00"), type codes stay 3-digit strings. A defaulted (empty)
field is ``None``, or "" for text. Nested values (``summaries``, ``funds``) hold plain JSON
types only (dates as ISO strings) so any output writer can serialize them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, NamedTuple

from bankgate.parsers.problems import ProblemLog

# -- records ----------------------------------------------------------------------------
# ``line`` is the physical line where the record starts; ``group`` (sequence number of the
# group in the file) and ``account`` (customer account number) let rows of different record
# types be joined once they are flattened into one table.
# (Why each record is two classes, ``_Name`` and ``Name``: ``bankgate.parsers.base.FileParser.record_classes``.)


class _FileHeader(NamedTuple):
    line: int
    sender: str
    receiver: str
    creation_date: date | None
    creation_time: str | None
    file_id: str
    record_length: int | None
    block_size: int | None
    version: int | None


class FileHeader(_FileHeader):
    """01: who sent the file to whom, when, and how its physical records are laid out."""

    __slots__ = ()
    KIND = "file_header"


class _GroupHeader(NamedTuple):
    line: int
    group: int
    ultimate_receiver: str
    originator: str
    group_status: int | None
    as_of_date: date | None
    as_of_time: str | None
    currency: str | None
    as_of_date_modifier: int | None


class GroupHeader(_GroupHeader):
    """02: one originator's accounts as of one date and time."""

    __slots__ = ()
    KIND = "group_header"


class _AccountIdentifier(NamedTuple):
    line: int
    group: int | None
    account: str
    currency: str | None
    summaries: list[dict[str, Any]]


class AccountIdentifier(_AccountIdentifier):
    """03: the account, and its status and summary amounts (``summaries``: list of dicts)."""

    __slots__ = ()
    KIND = "account_identifier"


class _TransactionDetail(NamedTuple):
    line: int
    group: int | None
    account: str | None
    type_code: str | None
    direction: str | None
    amount: int | None
    funds_type: str | None
    funds: dict[str, Any] | None
    bank_reference: str
    customer_reference: str
    text: str


class TransactionDetail(_TransactionDetail):
    """16: one transaction; ``funds`` holds the availability details of funds types S, V, D."""

    __slots__ = ()
    KIND = "transaction_detail"


class _AccountTrailer(NamedTuple):
    line: int
    group: int | None
    account: str | None
    control_total: int | None
    record_count: int | None


class AccountTrailer(_AccountTrailer):
    """49: control total and record count of one account."""

    __slots__ = ()
    KIND = "account_trailer"


class _GroupTrailer(NamedTuple):
    line: int
    group: int | None
    control_total: int | None
    account_count: int | None
    record_count: int | None


class GroupTrailer(_GroupTrailer):
    """98: control total, account count and record count of one group."""

    __slots__ = ()
    KIND = "group_trailer"


class _FileTrailer(NamedTuple):
    line: int
    control_total: int | None
    group_count: int | None
    record_count: int | None


class FileTrailer(_FileTrailer):
    """99: control total, group count and record count of the whole file."""

    __slots__ = ()
    KIND = "file_trailer"


RECORD_CLASSES: tuple[type, ...] = (
    FileHeader,
    GroupHeader,
    AccountIdentifier,
    TransactionDetail,
    AccountTrailer,
    GroupTrailer,
    FileTrailer,
)

# -- fields -----------------------------------------------------------------------------


class Kind(Enum):
    TEXT = "text"  # alphanumeric, surrounding spaces dropped
    NUMBER = "number"  # unsigned integer: counts, lengths, status codes
    AMOUNT = "amount"  # unsigned integer in cents
    SIGNED = "signed amount"  # integer in cents with an optional + or -
    DATE = "date"  # YYMMDD
    TIME = "time"  # HHMM (also HHMMSS, HH:MM[:SS], H:MM, HMM), 2400 or 9999 (end of day)
    TYPE_CODE = "type code"  # three digits, kept as text
    CURRENCY = "currency"  # ISO 4217 letters


_REQUIRED = "bai2.field.required"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False
    allowed: tuple[int, ...] = ()  # NUMBER: the only values the spec defines
    #: The rule a blank required field breaks. Trailer totals and counts use a warning rule:
    #: banks leave them blank, and a blank one is read as absent (not checked), never as 0.
    blank: str = _REQUIRED


_TRAILER_BLANK = "bai2.trailer.blank"


#: Up to 18 digits fit in an int64 downstream; longer is a broken file, not a big amount.
_DIGITS = re.compile(r"[0-9]{1,18}")
_SIGNED = re.compile(r"[+-]?[0-9]{1,18}")
_TYPE_CODE = re.compile(r"[0-9]{3}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"[0-9]{6}")
#: The spellings of a time of day found in real files: HHMM (the spec), HHMMSS, HMM (a
#: leading zero lost to a numeric export), and H:MM, HH:MM, HH:MM:SS.
_TIME = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})?|([0-9])([0-9]{2})|([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
END_OF_DAY = "24:00"


class Where:
    """The line and record a problem is reported against (fields name themselves)."""

    __slots__ = ("line", "log", "title")

    def __init__(self, log: ProblemLog, line: int, title: str) -> None:
        self.log = log
        self.line = line
        self.title = title

    def problem(self, field: str | None, message: str, code: str) -> None:
        self.log.add(self.line, self.title, field, message, code=code)


def parse_date(raw: str) -> date | None:
    """YYMMDD with the POSIX century rule (69-99 are 19xx), as ``strptime('%y')`` does."""
    if not _DATE.fullmatch(raw):
        return None
    yy, mm, dd = int(raw[:2]), int(raw[2:4]), int(raw[4:])
    try:
        return date(2000 + yy if yy < 69 else 1900 + yy, mm, dd)
    except ValueError:
        return None


def parse_time(raw: str) -> str | None:
    """A time of day (see ``_TIME``) as "HH:MM" or "HH:MM:SS"; None when it is not one.

    2400 and 9999 both mean end of day in BAI2, so both (and 24:00:00) read "24:00".
    """
    if raw == "9999":
        return END_OF_DAY
    match = _TIME.fullmatch(raw)
    if match is None:
        return None
    hours, minutes, *rest = (int(part) for part in match.groups() if part is not None)
    seconds = rest[0] if rest else None
    if hours == 24 and minutes == 0 and not seconds:
        return END_OF_DAY
    if hours > 23 or minutes > 59 or (seconds or 0) > 59:
        return None
    return f"{hours:02}:{minutes:02}" if seconds is None else f"{hours:02}:{minutes:02}:{seconds:02}"


def decode_field(f: Field, raw: str | None, where: Where, name: str | None = None) -> Any:
    """One field's value; a bad value is reported and decodes to None (text: kept as is)."""
    name = name or f.name
    value = raw.strip() if raw else ""
    if not value:
        if f.required:
            message = "is required but missing" if f.blank == _REQUIRED else "is blank: read as absent, not checked"
            where.problem(name, message, f.blank)
        return "" if f.kind is Kind.TEXT else None
    kind = f.kind
    if kind is Kind.TEXT:
        return value
    if kind is Kind.AMOUNT:
        if _DIGITS.fullmatch(value):
            return int(value)
        if _SIGNED.fullmatch(value):
            where.problem(name, f"must not be signed here, got '{value}'", "bai2.field.amount")
        else:
            where.problem(name, f"must be an amount in cents (up to 18 digits), got '{value}'", "bai2.field.amount")
        return None
    if kind is Kind.SIGNED:
        if _SIGNED.fullmatch(value):
            return int(value)
        message = f"must be an amount in cents (optional sign, up to 18 digits), got '{value}'"
        where.problem(name, message, "bai2.field.amount")
        return None
    if kind is Kind.NUMBER:
        if not _DIGITS.fullmatch(value):
            where.problem(name, f"must be a number (up to 18 digits), got '{value}'", "bai2.field.number")
            return None
        number = int(value)
        if f.allowed and number not in f.allowed:
            choices = ", ".join(str(a) for a in f.allowed)
            where.problem(name, f"must be one of {choices}, got '{value}'", "bai2.field.choice")
        return number
    if kind is Kind.DATE:
        day = parse_date(value)
        if day is None:
            where.problem(name, f"is not a valid date (YYMMDD), got '{value}'", "bai2.field.date")
        return day
    if kind is Kind.TIME:
        time = parse_time(value)
        if time is None:
            message = f"is not a valid time (HHMM or HH:MM, seconds optional; 2400 or 9999), got '{value}'"
            where.problem(name, message, "bai2.field.time")
        return time
    if kind is Kind.TYPE_CODE:
        if not _TYPE_CODE.fullmatch(value):
            where.problem(name, f"must be a 3-digit type code, got '{value}'", "bai2.field.type_code")
            return None
        return value
    # Kind.CURRENCY
    if not _CURRENCY.fullmatch(value):
        where.problem(name, f"must be a 3-letter currency code, got '{value}'", "bai2.field.currency")
        return None
    return value


class Fields:
    """The fields of one logical record, taken in order; running out means "defaulted".

    Continuations are joined with a line feed where a physical record ended (see
    ``physical.join_segments``): it separates fields like a comma, but in the free text of a
    16 record it reads as a space, so text continued on an 88 record keeps its word break.
    """

    __slots__ = ("_delimiters", "_next", "_values")

    def __init__(self, text: str) -> None:
        if "\n" in text:
            parts = _FIELD_BREAK.split(text)
            self._values = parts[0::2]
            self._delimiters: list[str] | None = parts[1::2]
        else:
            self._values = text.split(",")
            self._delimiters = None
        self._next = 0

    def take(self) -> str | None:
        if self._next >= len(self._values):
            return None
        self._next += 1
        return self._values[self._next - 1]

    def left(self) -> int:
        return len(self._values) - self._next

    def rest(self) -> str:
        """Everything not yet taken, delimiters included (the 16 record's text field)."""
        i = self._next
        self._next = len(self._values)
        if i >= len(self._values):
            return ""
        if self._delimiters is None:
            return ",".join(self._values[i:])
        out = [self._values[i]]
        for delimiter, value in zip(self._delimiters[i:], self._values[i + 1 :], strict=False):
            out.append(" " if delimiter == "\n" else delimiter)
            out.append(value)
        return "".join(out)


_FIELD_BREAK = re.compile(r"([,\n])")

# -- type codes and funds types ---------------------------------------------------------


def category(type_code: str | None) -> str | None:
    """What a type code reports, from the BAI2 ranges (Appendix A).

    Status 001-099 and 900-919 (account balances); credit 100-399 and 920-959; debit
    400-699 and 960-999; loan 700-799. The 9xx ranges are the spec's "customized" codes.
    """
    if type_code is None:
        return None
    n = int(type_code)
    if 1 <= n <= 99 or 900 <= n <= 919:
        return "status"
    if 100 <= n <= 399 or 920 <= n <= 959:
        return "credit"
    if 400 <= n <= 699 or 960 <= n <= 999:
        return "debit"
    if 700 <= n <= 799:
        return "loan"
    return None


def direction(type_code: str | None) -> str | None:
    """The way money moves for a type code: "credit", "debit", or None (status, loan, other)."""
    kind = category(type_code)
    return kind if kind in ("credit", "debit") else None


FUNDS_TYPES = {
    "0": "immediate availability",
    "1": "one-day availability",
    "2": "two-or-more-day availability",
    "S": "distributed availability (immediate, one-day, two-or-more-day amounts)",
    "V": "value dated (date and time)",
    "D": "distributed availability (number of distributions, then days and amount each)",
    "Z": "unknown availability (default)",
}

_AMOUNT = Field("amount", Kind.SIGNED)
_DAYS = Field("days", Kind.NUMBER, required=True)
_COUNT = Field("distributions", Kind.NUMBER, required=True)
_VALUE_DATE = Field("value_date", Kind.DATE, required=True)
_VALUE_TIME = Field("value_time", Kind.TIME)


def decode_funds(fields: Fields, where: Where, prefix: str = "") -> tuple[str | None, dict[str, Any] | None]:
    """A funds type and, for S, V and D, the fields that follow it (as a dict)."""
    name = f"{prefix}funds_type"
    code = (fields.take() or "").strip()
    if not code:
        return None, None
    if code not in FUNDS_TYPES:
        where.problem(name, f"must be one of 0, 1, 2, S, V, D or Z, got '{code}'", "bai2.field.funds_type")
        return code, None
    if code == "S":
        keys = ("immediate", "one_day", "two_or_more_days")
        return code, {k: decode_field(_AMOUNT, fields.take(), where, f"{prefix}funds.{k}") for k in keys}
    if code == "V":
        day = decode_field(_VALUE_DATE, fields.take(), where, f"{prefix}funds.value_date")
        time = decode_field(_VALUE_TIME, fields.take(), where, f"{prefix}funds.value_time")
        return code, {"value_date": day.isoformat() if day else None, "value_time": time}
    if code == "D":
        count = decode_field(_COUNT, fields.take(), where, f"{prefix}funds.distributions") or 0
        if 2 * count > fields.left():
            # A count larger than the record can hold: read what is there, never allocate by it.
            where.problem(
                f"{prefix}funds.distributions",
                f"declares {count} distributions but the record has room for at most {fields.left() // 2}",
                "bai2.field.distributions",
            )
            count = fields.left() // 2
        distributions = []
        for i in range(count):
            at = f"{prefix}funds.distributions[{i}]"
            days = decode_field(_DAYS, fields.take(), where, f"{at}.days")
            amount = decode_field(_AMOUNT, fields.take(), where, f"{at}.amount")
            distributions.append({"days": days, "amount": amount})
        return code, {"distributions": distributions}
    return code, None


# -- record tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class RecordSpec:
    """A record type: its code, class, title for messages, context columns and field table.

    ``fields`` is the whole record for the fixed-shape records; for 03 and 16 it is the part
    before the variable fields, which ``decode`` reads on its own.
    """

    code: str
    cls: type
    title: str
    context: tuple[str, ...]
    fields: tuple[Field, ...]
    decode: Callable[[RecordSpec, str, Where, tuple], Any]


def _decode_fixed(spec: RecordSpec, text: str, where: Where, context: tuple) -> Any:
    fields = Fields(text)
    values = [decode_field(f, fields.take(), where) for f in spec.fields]
    _check_extra(fields, where)
    return spec.cls(where.line, *context, *values)


def _check_extra(fields: Fields, where: Where) -> None:
    extra = [value for value in iter(fields.take, None) if value.strip()]
    if extra:
        message = f"has {len(extra)} fields beyond those BAI2 defines, ignored: {extra[:3]}"
        where.problem(None, message, "bai2.record.extra_fields")


_SUMMARY = (Field("type_code", Kind.TYPE_CODE), Field("amount", Kind.SIGNED), Field("item_count", Kind.NUMBER))


def _decode_account(spec: RecordSpec, text: str, where: Where, context: tuple) -> Any:
    """03: account, currency, then repeated (type code, amount, item count, funds type...)."""
    fields = Fields(text)
    account, currency = (decode_field(f, fields.take(), where) for f in spec.fields)
    summaries: list[dict[str, Any]] = []
    while fields.left():
        prefix = f"summaries[{len(summaries)}]."
        raw = [fields.take() for _ in _SUMMARY]
        type_code, amount, item_count = (
            decode_field(f, value, where, prefix + f.name) for f, value in zip(_SUMMARY, raw, strict=True)
        )
        funds_type, funds = decode_funds(fields, where, prefix)
        if type_code is None and amount is None and item_count is None and funds_type is None:
            continue  # a wholly defaulted summary ("03,123,,,,,/"): nothing reported
        if not (raw[0] or "").strip():
            message = "is required when a summary has an amount, count or funds type"
            where.problem(prefix + "type_code", message, "bai2.account.summary_type_code")
        summaries.append(
            {
                "type_code": type_code,
                "category": category(type_code),
                "amount": amount,
                "item_count": item_count,
                "funds_type": funds_type,
                "funds": funds,
            }
        )
    return spec.cls(where.line, *context, account, currency, summaries)


_PLAIN_FUNDS = frozenset(("", "0", "1", "2", "Z"))


def _free_text(raw: str) -> str:
    """The 16 record's text without surrounding spaces or trailing empty fields.

    Many banks end every record with ",/", and some pad with empty fields (",,,/"): a comma
    ending the text is read as an empty field after it, not as part of the text.
    """
    return raw.rstrip(" ,").strip()


def _decode_detail(spec: RecordSpec, text: str, where: Where, context: tuple) -> Any:
    """16: type code, amount, funds type (+details), two references, then free text.

    The text is the last field and is not comma-delimited: it runs to the end of the
    record, commas included (``Fields.rest``). Most details are one physical record with a
    plain funds type and valid values: those take a shortcut with the same result.
    """
    if "\n" not in text:
        parts = text.split(",", 5)
        if len(parts) == 6:
            type_code, amount, plain_funds, bank_reference, customer_reference, rest = parts
            if plain_funds in _PLAIN_FUNDS and _TYPE_CODE.fullmatch(type_code) and _DIGITS.fullmatch(amount):
                return spec.cls(
                    where.line,
                    *context,
                    type_code,
                    direction(type_code),
                    int(amount),
                    plain_funds or None,
                    None,
                    bank_reference.strip(),
                    customer_reference.strip(),
                    _free_text(rest),
                )
    fields = Fields(text)
    type_code, amount = (decode_field(f, fields.take(), where) for f in spec.fields)
    funds_type, funds = decode_funds(fields, where)
    bank_reference = (fields.take() or "").strip()
    customer_reference = (fields.take() or "").strip()
    text_field = _free_text(fields.rest())
    return spec.cls(
        where.line,
        *context,
        type_code,
        direction(type_code),
        amount,
        funds_type,
        funds,
        bank_reference,
        customer_reference,
        text_field,
    )


SPECS: dict[str, RecordSpec] = {
    spec.code: spec
    for spec in (
        RecordSpec(
            "01",
            FileHeader,
            "file header (01)",
            (),
            (
                Field("sender", Kind.TEXT, required=True),
                Field("receiver", Kind.TEXT, required=True),
                Field("creation_date", Kind.DATE, required=True),
                Field("creation_time", Kind.TIME, required=True),
                Field("file_id", Kind.TEXT, required=True),
                Field("record_length", Kind.NUMBER),
                Field("block_size", Kind.NUMBER),
                Field("version", Kind.NUMBER, required=True, allowed=(2,)),
            ),
            _decode_fixed,
        ),
        RecordSpec(
            "02",
            GroupHeader,
            "group header (02)",
            ("group",),
            (
                Field("ultimate_receiver", Kind.TEXT),
                Field("originator", Kind.TEXT, required=True),
                Field("group_status", Kind.NUMBER, required=True, allowed=(1, 2, 3, 4)),
                Field("as_of_date", Kind.DATE, required=True),
                Field("as_of_time", Kind.TIME),
                Field("currency", Kind.CURRENCY),
                Field("as_of_date_modifier", Kind.NUMBER, allowed=(1, 2, 3, 4)),
            ),
            _decode_fixed,
        ),
        RecordSpec(
            "03",
            AccountIdentifier,
            "account identifier (03)",
            ("group",),
            (Field("account", Kind.TEXT, required=True), Field("currency", Kind.CURRENCY)),
            _decode_account,
        ),
        RecordSpec(
            "16",
            TransactionDetail,
            "transaction detail (16)",
            ("group", "account"),
            (Field("type_code", Kind.TYPE_CODE, required=True), Field("amount", Kind.AMOUNT)),
            _decode_detail,
        ),
        RecordSpec(
            "49",
            AccountTrailer,
            "account trailer (49)",
            ("group", "account"),
            (
                Field("control_total", Kind.SIGNED, required=True, blank=_TRAILER_BLANK),
                Field("record_count", Kind.NUMBER, required=True, blank=_TRAILER_BLANK),
            ),
            _decode_fixed,
        ),
        RecordSpec(
            "98",
            GroupTrailer,
            "group trailer (98)",
            ("group",),
            (
                Field("control_total", Kind.SIGNED, required=True, blank=_TRAILER_BLANK),
                Field("account_count", Kind.NUMBER, required=True, blank=_TRAILER_BLANK),
                Field("record_count", Kind.NUMBER, required=True, blank=_TRAILER_BLANK),
            ),
            _decode_fixed,
        ),
        RecordSpec(
            "99",
            FileTrailer,
            "file trailer (99)",
            (),
            (
                Field("control_total", Kind.SIGNED, required=True, blank=_TRAILER_BLANK),
                Field("group_count", Kind.NUMBER, required=True, blank=_TRAILER_BLANK),
                Field("record_count", Kind.NUMBER, required=True, blank=_TRAILER_BLANK),
            ),
            _decode_fixed,
        ),
    )
}

CONTINUATION_TITLE = "continuation (88)"
TITLES = {spec.cls.KIND: spec.title for spec in SPECS.values()}  # type: ignore[attr-defined]


def title(code: str) -> str:
    """The record's name in messages: "account trailer (49)", or "record 'XY'" if unknown."""
    spec = SPECS.get(code)
    if spec is not None:
        return spec.title
    if code == "88":
        return CONTINUATION_TITLE
    return f"record '{code}'" if code else "record"


def _check_tables() -> None:
    """A table that disagrees with its record class is a bug, caught at import time."""
    for spec in SPECS.values():
        names: tuple[str, ...] = spec.cls._fields  # type: ignore[attr-defined]
        context = ("line", *spec.context)
        table = tuple(f.name for f in spec.fields)
        rest = names[len(context) :]
        if names[: len(context)] != context or [n for n in rest if n in table] != list(table):
            raise ValueError(f"record {spec.code}: table {table} does not match class fields {names}")


_check_tables()
