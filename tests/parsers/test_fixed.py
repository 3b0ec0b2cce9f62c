"""The layout-driven fixed-width parser: shipped layouts, user layouts, control totals."""

from __future__ import annotations

import io
import re
import textwrap
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bankgate.parsers.fixed.parser as fixed_parser
from bankgate.parsers.fields import Field, Kind, Layout
from bankgate.parsers.fixed import (
    FixedWidthParser,
    LayoutError,
    available_layouts,
    load_layout,
    match_layout,
    parse_layout,
)
from bankgate.parsers.lines import iter_blocks
from bankgate.parsers.problems import ParseError, ProblemLog

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "fixed"
DATA = ROOT / "tests" / "data" / "fixed"
SHIPPED_LAYOUTS = ROOT / "parsers" / "fixed" / "layouts"
SHIPPED = ("bai-lockbox", "positive-pay", "transaction-detail")


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.txt").read_bytes()


def parse(data: bytes, layout, **kwargs) -> tuple[list, FixedWidthParser]:
    parser = FixedWidthParser(io.BytesIO(data), layout, **kwargs)
    return list(parser), parser


def problems(data: bytes, layout, **kwargs) -> list[tuple[int, str, str | None]]:
    """(line, record, field) of every problem, read leniently."""
    _, parser = parse(data, layout, lenient=True, **kwargs)
    return [(p.line, p.record, p.field) for p in parser.problems]


def by_kind(records: list, kind: str) -> list:
    return [record for record in records if kind == record.KIND]


# -- the shipped layouts and their samples --------------------------------------------------


def test_shipped_layouts_are_available():
    assert set(SHIPPED) <= set(available_layouts())
    for name in SHIPPED:
        layout = load_layout(name)
        assert layout.name == name
        assert (SAMPLES / f"{name}.txt").is_file()


def test_bai_lockbox_sample():
    records, parser = parse(sample("bai-lockbox"), "bai-lockbox")
    assert parser.format == "fixed:bai-lockbox"
    assert [r.KIND for r in records] == [
        "immediate_header",
        "service_header",
        "batch_header",
        "detail",
        "overflow",
        "overflow",
        "detail",
        "detail",
        "overflow",
        "batch_total",
        "batch_header",
        "detail",
        "detail",
        "batch_total",
        "lockbox_total",
        "trailer",
    ]
    assert [r.line for r in records] == list(range(1, 17))
    header = records[0]
    assert header.destination_id == "ACMEWIDGET"
    assert header.transmission_date == date(2024, 3, 14)
    assert header.transmission_time == "06:15"
    first = records[3]
    assert first._asdict() == {
        "line": 4,
        "batch_number": 1,
        "item_number": 1,
        "amount": 152500,
        "routing_number": "011000015",
        "account_number": "4471200193",
        "check_number": "0000004512",
        "check_date": date(2024, 3, 8),
        "remitter_name": "NORTHWIND TRADERS INC",
    }
    overflow = records[4]
    assert (overflow.item_number, overflow.invoice_number, overflow.invoice_amount) == (
        1,
        "INV-20240211",
        100000,
    )
    assert overflow.last_indicator == "0" and records[5].last_indicator == "9"
    money_order = records[12]
    assert money_order.check_number is None and money_order.check_date is None
    totals = by_kind(records, "batch_total")
    assert [(t.batch_number, t.item_count, t.batch_amount) for t in totals] == [
        (1, 3, 1484840),
        (2, 2, 360074),
    ]
    assert records[-1].record_count == 16
    assert parser.problems == []
    assert dict(parser.summary.records) == {
        "immediate_header": 1,
        "service_header": 1,
        "batch_header": 2,
        "detail": 5,
        "overflow": 3,
        "batch_total": 2,
        "lockbox_total": 1,
        "trailer": 1,
    }
    assert parser.summary.totals == {
        "batch_total.item_count": 5,
        "batch_total.batch_amount": 1844914,
        "lockbox_total.item_count": 5,
        "lockbox_total.lockbox_amount": 1844914,
        "trailer.record_count": 16,
        "detail.amount": 1844914,
    }
    assert parser.record_classes == load_layout("bai-lockbox").record_classes
    assert {cls.KIND for cls in parser.record_classes} == set(parser.summary.records)


def test_positive_pay_sample():
    records, parser = parse(sample("positive-pay"), "positive-pay")
    header, *details, trailer = records
    assert header.routing_number == "021000021"
    assert header.account_number == "000123456789"
    assert header.company_name == "ACME WIDGET MANUFACTURING CORP"
    assert (header.file_date, header.file_time) == (date(2024, 3, 13), "17:42")
    assert len(details) == 6
    assert details[0]._asdict() == {
        "line": 2,
        "account_number": "000123456789",
        "check_number": "0000100451",
        "issue_date": date(2024, 3, 12),
        "amount": 125000,
        "void_indicator": "",
        "payee_name": "GREENLEAF OFFICE SUPPLY CO",
    }
    assert [d.check_number for d in details if d.void_indicator == "V"] == ["0000100449"]
    assert details[3].payee_name == "JANE O'CONNOR"
    assert (trailer.record_count, trailer.total_amount) == (6, 2472758)
    assert parser.summary.totals == {
        "trailer.record_count": 6,
        "trailer.total_amount": 2472758,
        "detail.amount": 2472758,
    }


def test_transaction_detail_sample():
    records, parser = parse(sample("transaction-detail"), "transaction-detail")
    header, *details, trailer = records
    assert (header.account_number, header.currency, header.statement_date) == (
        "4820013377",
        "USD",
        date(2024, 3, 14),
    )
    assert header.opening_balance == 25034517
    assert [d.amount for d in details] == [1500000, 1844914, -125000, -48213, -2500000, -4500, 731250]
    assert [d.dc_code for d in details] == ["C", "C", "D", "D", "D", "D", "C"]
    assert details[4].value_date == date(2024, 3, 15)
    assert details[5].value_date is None
    assert details[1].customer_reference == ""
    assert details[0].bank_reference == "ACH24074000123"
    assert (trailer.credit_total, trailer.debit_total, trailer.net_total) == (4076164, 2677713, 1398451)
    assert trailer.closing_balance == header.opening_balance + trailer.net_total
    assert parser.summary.totals == {
        "trailer.record_count": 7,
        "trailer.credit_total": 4076164,
        "trailer.debit_total": 2677713,
        "trailer.net_total": 1398451,
        "detail.amount": 1398451,
    }


# -- what the layouts catch -------------------------------------------------------------------

CAUGHT = [
    # file, [(line, record title, field)] in order
    ("bai-lockbox-batch-item-count-wrong.txt", [(10, "batch total", "item_count")]),
    ("bai-lockbox-batch-amount-wrong.txt", [(14, "batch total", "batch_amount")]),
    (
        "bai-lockbox-check-amount-changed.txt",
        [(10, "batch total", "batch_amount"), (15, "lockbox total", "lockbox_amount")],
    ),
    ("bai-lockbox-lockbox-item-count-wrong.txt", [(15, "lockbox total", "item_count")]),
    ("bai-lockbox-record-count-wrong.txt", [(16, "destination trailer", "record_count")]),
    (
        "bai-lockbox-detail-missing.txt",
        [
            (13, "batch total", "item_count"),
            (13, "batch total", "batch_amount"),
            (14, "lockbox total", "item_count"),
            (14, "lockbox total", "lockbox_amount"),
            (15, "destination trailer", "record_count"),
        ],
    ),
    ("bai-lockbox-detail-batch-number-wrong.txt", [(12, "remittance detail", "batch_number")]),
    ("bai-lockbox-unknown-record-type.txt", [(9, "record", None)]),
    ("bai-lockbox-trailer-missing.txt", [(15, "lockbox total", None)]),
    ("positive-pay-record-count-wrong.txt", [(8, "trailer record", "record_count")]),
    ("positive-pay-total-amount-wrong.txt", [(8, "trailer record", "total_amount")]),
    ("positive-pay-detail-account-mismatch.txt", [(4, "check issue record", "account_number")]),
    ("positive-pay-bad-void-indicator.txt", [(3, "check issue record", "void_indicator")]),
    ("positive-pay-bad-issue-date.txt", [(2, "check issue record", "issue_date")]),
    (
        "positive-pay-letter-in-amount.txt",
        [(5, "check issue record", "amount"), (8, "trailer record", "total_amount")],
    ),
    ("transaction-detail-record-count-wrong.txt", [(9, "account trailer", "record_count")]),
    ("transaction-detail-credit-total-wrong.txt", [(9, "account trailer", "credit_total")]),
    ("transaction-detail-debit-total-wrong.txt", [(9, "account trailer", "debit_total")]),
    ("transaction-detail-net-total-sign-wrong.txt", [(9, "account trailer", "net_total")]),
    ("transaction-detail-trailer-account-mismatch.txt", [(9, "account trailer", "account_number")]),
    (
        "transaction-detail-bad-amount-sign.txt",
        [
            (4, "transaction record", "amount"),
            (9, "account trailer", "debit_total"),
            (9, "account trailer", "net_total"),
        ],
    ),
    (
        "transaction-detail-bad-dc-code.txt",
        [(5, "transaction record", "dc_code"), (9, "account trailer", "debit_total")],
    ),
]


def _layout_of(filename: str) -> str:
    return next(name for name in SHIPPED if filename.startswith(name + "-"))


@pytest.mark.parametrize(("filename", "expected"), CAUGHT, ids=[c[0] for c in CAUGHT])
def test_problems_are_caught_with_line_record_and_field(filename, expected):
    data = (DATA / filename).read_bytes()
    layout = _layout_of(filename)
    with pytest.raises(ParseError) as caught:
        parse(data, layout)
    assert [(p.line, p.record, p.field) for p in caught.value.problems] == expected
    # Lenient: the same problems as warnings, and the records are all there.
    records, parser = parse(data, layout, lenient=True)
    assert [(p.line, p.record, p.field) for p in parser.problems] == expected
    assert all(p.severity == "warning" for p in parser.problems)
    unknown = 1 if filename == "bai-lockbox-unknown-record-type.txt" else 0
    assert len(records) == len(data.splitlines()) - unknown


# -- real lockbox files: variants the shipped layout accepts ---------------------------------

LOCKBOX_VARIANTS = (
    "bai-lockbox-variant-batches-from-zero.txt",
    "bai-lockbox-variant-empty-lockbox.txt",
    "bai-lockbox-variant-trailing-data.txt",
)


def _variant(filename: str) -> tuple[list, FixedWidthParser]:
    """A lockbox variant read strictly: it must parse with no problem at all."""
    records, parser = parse((DATA / filename).read_bytes(), "bai-lockbox")
    assert parser.problems == []
    return records, parser


def test_lockbox_batch_numbers_may_start_at_zero():
    records, _ = _variant("bai-lockbox-variant-batches-from-zero.txt")
    assert [r.batch_number for r in by_kind(records, "batch_header")] == [0, 1]
    assert {r.batch_number for r in by_kind(records, "detail")} == {0, 1}


def test_lockbox_may_hold_an_empty_lockbox():
    records, parser = _variant("bai-lockbox-variant-empty-lockbox.txt")
    empty = by_kind(records, "lockbox_total")[-1]
    assert (empty.lockbox_number, empty.item_count, empty.lockbox_amount) == ("0052118", 0, 0)
    assert parser.summary.records["detail"] == 5


def test_lockbox_records_may_carry_trailing_data():
    expected, _ = parse(sample("bai-lockbox"), "bai-lockbox")
    records, _ = _variant("bai-lockbox-variant-trailing-data.txt")
    assert _values(records) == _values(expected)
    assert [r.line for r in records] == [r.line for r in expected]
    assert match_layout((DATA / "bai-lockbox-variant-trailing-data.txt").read_bytes()) == "bai-lockbox"


def _lockbox_with_mode(tmp_path: Path, mode: str) -> Path:
    """The shipped lockbox layout with another ``record_length_mode``."""
    text = (SHIPPED_LAYOUTS / "bai-lockbox.toml").read_text()
    old = 'record_length_mode = ["pad", "at_least"]'
    assert text.count(old) == 1
    path = tmp_path / "bai-lockbox.toml"
    path.write_text(text.replace(old, f"record_length_mode = {mode}"))
    return path


@pytest.mark.parametrize(
    ("mode", "short", "long", "spaces"),
    [
        ('"exact"', False, False, False),
        ('"pad"', True, False, True),
        ('"at_least"', False, True, True),
        ('["pad", "at_least"]', True, True, True),
    ],
)
def test_record_length_mode(tmp_path, mode, short, long, spaces):
    """Which lines of another length than the record's each mode accepts (True: no problem)."""
    layout = _lockbox_with_mode(tmp_path, mode)
    lines = sample("bai-lockbox").splitlines()
    variants = {
        "short": b"\n".join(line.rstrip() for line in lines),
        "long": (DATA / "bai-lockbox-variant-trailing-data.txt").read_bytes(),
        "spaces": b"\n".join(line + b"   " for line in lines),
    }
    for what, accepted in (("short", short), ("long", long), ("spaces", spaces)):
        _, parser = parse(variants[what], layout, lenient=True)
        codes = {p.code for p in parser.problems}
        assert (not codes) == accepted, (mode, what, codes)
        if not accepted and what != "long":  # a long first line of data reads as "no line breaks"
            assert codes == {"fixed.file.record_length"}, (mode, what)
    if not short:
        _, parser = parse(variants["short"], layout, lenient=True)
        first = parser.problems[0]
        assert (first.line, first.record, first.field) == (1, "file", None)
        expected = "at least 80" if long else "80"
        assert first.message == f"line is {len(lines[0].rstrip())} characters long, expected {expected}"


def _lockbox_with_check(tmp_path: Path, check: str) -> Path:
    """The shipped lockbox layout with one more ``[[checks]]`` table."""
    text = (SHIPPED_LAYOUTS / "bai-lockbox.toml").read_text()
    path = tmp_path / "bai-lockbox.toml"
    path.write_text(text + "\n[[checks]]\n" + textwrap.dedent(check))
    return path


def _renumbered(data: bytes, lines: range, number: bytes) -> bytes:
    """A lockbox file with the batch number of some records (1-based lines) changed."""
    out = data.splitlines()
    for i in lines:
        out[i - 1] = out[i - 1][:1] + number + out[i - 1][4:]
    return b"\n".join(out) + b"\n"


@pytest.mark.parametrize(("start", "accepted"), [("1", False), ("[0, 1]", True), ('"any"', True), ("0", True)])
def test_sequence_check_start(tmp_path, start, accepted):
    layout = _lockbox_with_check(
        tmp_path, f'kind = "sequence"\nof = "batch_header.batch_number"\nsince = "service_header"\nstart = {start}\n'
    )
    found = problems((DATA / "bai-lockbox-variant-batches-from-zero.txt").read_bytes(), layout)
    assert found == ([] if accepted else [(3, "batch header", "batch_number")])
    if not accepted:
        _, parser = parse((DATA / "bai-lockbox-variant-batches-from-zero.txt").read_bytes(), layout, lenient=True)
        (problem,) = parser.problems
        assert problem.code == "fixed.check.sequence"
        assert problem.message == "is 0, but the first batch_number after the service record at line 2 must be 1"


@pytest.mark.parametrize(
    ("step", "second", "expected"),
    [
        ("consecutive", b"002", []),
        (
            "consecutive",
            b"003",
            ["is 3, but it must be one more than the batch_number of the batch header at line 3 (1)"],
        ),
        ("increasing", b"003", []),
        ("increasing", b"001", ["is 1, but it must be more than the batch_number of the batch header at line 3 (1)"]),
    ],
)
def test_sequence_check_step(tmp_path, step, second, expected):
    layout = _lockbox_with_check(tmp_path, f'kind = "sequence"\nof = "batch_header.batch_number"\nstep = "{step}"\n')
    data = _renumbered(sample("bai-lockbox"), range(11, 16), second)
    _, parser = parse(data, layout, lenient=True)
    assert [p.message for p in parser.problems] == expected
    assert all((p.line, p.field, p.code) == (11, "batch_number", "fixed.check.sequence") for p in parser.problems)


def test_sequence_check_restarts_at_each_since_record(tmp_path):
    data = (DATA / "bai-lockbox-variant-empty-lockbox.txt").read_bytes()  # batches 1, 2, then 1
    check = 'kind = "sequence"\nof = "batch_header.batch_number"\nstart = 1\n'
    assert problems(data, _lockbox_with_check(tmp_path, check + 'since = "lockbox_total"\n')) == []
    assert problems(data, _lockbox_with_check(tmp_path, check)) == [(16, "batch header", "batch_number")]


def test_sequence_check_across_blocks(monkeypatch, tmp_path):
    """The numbering carries over from one block to the next."""
    data = (DATA / "bai-lockbox-variant-empty-lockbox.txt").read_bytes()
    check = 'kind = "sequence"\nof = "batch_header.batch_number"\nstart = 1\nsince = "lockbox_total"\n'
    layout = _lockbox_with_check(tmp_path, check)
    expected = problems(_renumbered(data, range(11, 16), b"003"), layout)
    assert expected == [(11, "batch header", "batch_number")]
    real = fixed_parser.iter_blocks
    monkeypatch.setattr(fixed_parser, "iter_blocks", lambda *a, **k: real(*a, **{**k, "block_bytes": 163}))
    assert problems(data, layout) == []
    assert problems(_renumbered(data, range(11, 16), b"003"), layout) == expected


def test_every_test_data_file_is_used():
    used = {c[0] for c in CAUGHT} | {
        "transaction-detail-short-crlf-lines.txt",
        "transaction-detail-no-line-breaks.txt",
        "bai-lockbox-detail-after-batch-total.txt",  # test_record_order
        *LOCKBOX_VARIANTS,
    }
    assert {p.name for p in DATA.iterdir()} == used


def test_messages_say_what_is_wrong():
    def messages(filename):
        _, parser = parse((DATA / filename).read_bytes(), _layout_of(filename), lenient=True)
        return [p.message for p in parser.problems]

    assert messages("bai-lockbox-batch-item-count-wrong.txt") == [
        "is 4, but since the batch header at line 3 there are 3 remittance details"
    ]
    assert messages("bai-lockbox-batch-amount-wrong.txt") == [
        "is 360075, but since the batch header at line 11 the amount fields of the remittance details add up to 360074"
    ]
    assert messages("bai-lockbox-record-count-wrong.txt") == [
        "is 15, but since the start of the file there are 16 records"
    ]
    assert messages("transaction-detail-debit-total-wrong.txt") == [
        "is 2677714, but since the start of the file the amount fields of the transaction records "
        "with dc_code 'D' add up to 2677713 (as absolute values)"
    ]
    assert messages("bai-lockbox-detail-batch-number-wrong.txt") == [
        "is 3, but batch_number of the batch header at line 11 is 2"
    ]
    assert messages("bai-lockbox-unknown-record-type.txt") == [
        "unknown record type '3' (position 1); expected one of '1', '2', '5', '6', '4', '7', '8', '9'"
    ]
    assert messages("bai-lockbox-trailer-missing.txt") == [
        "is the last record of the file; the file must end with a destination trailer"
    ]
    assert messages("positive-pay-bad-void-indicator.txt") == ["must be one of '', 'V', got 'X'"]


def test_record_order():
    data = (DATA / "bai-lockbox-detail-after-batch-total.txt").read_bytes()
    _, parser = parse(data, "bai-lockbox", lenient=True)
    order = [(p.line, p.record, p.message) for p in parser.problems if p.field is None]
    assert order == [
        (
            14,
            "remittance detail",
            "cannot follow the batch total at line 13; it comes only after a batch header, "
            "a remittance detail or an overflow record",
        ),
        (
            15,
            "lockbox total",
            "cannot follow the remittance detail at line 14; it comes only after a batch total",
        ),
    ]
    lines = sample("positive-pay").splitlines()
    assert problems(b"\n".join(lines[1:]), "positive-pay")[0] == (1, "check issue record", None)
    _, parser = parse(b"\n".join(lines[1:]), "positive-pay", lenient=True)
    assert parser.problems[0].message == "cannot be the first record; a file starts with a header record"
    assert problems(b"\n".join([*lines, lines[0]]), "positive-pay") == [
        (9, "header record", None),  # cannot follow the trailer
        (9, "header record", None),  # the file does not end with a trailer
    ]


def test_empty_file():
    with pytest.raises(ParseError, match="has no records"):
        parse(b"", "positive-pay")
    assert problems(b"\n\n", "positive-pay") == [(0, "file", None)]


def test_problems_come_in_line_order():
    lines = sample("positive-pay").splitlines()
    lines[2] = lines[2][:1] + b"999999999999" + lines[2][13:]  # account differs from the header's
    lines[4] = lines[4][:23] + b"20241340" + lines[4][31:]  # issue date
    lines[0] = lines[0][:30] + b"2500" + lines[0][34:]  # header time
    assert problems(b"\n".join(lines), "positive-pay") == [
        (1, "header record", "file_time"),
        (3, "check issue record", "account_number"),
        (5, "check issue record", "issue_date"),
    ]


# -- physical forms: EBCDIC, no line breaks, short and CRLF lines --------------------------


def _values(records: list) -> list:
    return [r[1:] for r in records]  # without the line number


@pytest.mark.parametrize("name", SHIPPED)
def test_ebcdic_without_line_breaks(name):
    expected, _ = parse(sample(name), name)
    ebcdic = b"".join(line.decode("ascii").encode("cp037") for line in sample(name).splitlines())
    assert b"\n" not in ebcdic and not ebcdic.isascii()
    records, parser = parse(ebcdic, name, encoding="ebcdic")
    assert _values(records) == _values(expected)
    assert [r.line for r in records] == list(range(1, len(expected) + 1))  # record numbers
    assert parser.summary == parse(sample(name), name)[1].summary


def test_ebcdic_with_line_breaks_and_an_ebcdic_layout(tmp_path):
    toml = Path(load_layout("positive-pay").source).read_text()
    toml = toml.replace('name = "positive-pay"', 'name = "positive-pay-mainframe"')
    toml = toml.replace('encoding = "ascii"', 'encoding = "ebcdic"')
    path = tmp_path / "positive-pay-mainframe.toml"
    path.write_text(toml)
    lines = [line.decode("ascii").encode("cp037") for line in sample("positive-pay").splitlines()]
    for newline in (b"\x25", b"\x15", b"\x0d\x25"):  # LF, NL and CRLF in EBCDIC
        records, _ = parse(newline.join(lines) + newline, path)
        assert _values(records) == _values(parse(sample("positive-pay"), "positive-pay")[0])
        assert [r.line for r in records] == list(range(1, 9))
    # Detection of EBCDIC content needs an EBCDIC layout.
    ebcdic = b"\x25".join(lines)
    assert match_layout(ebcdic) is None
    # The user's layout directories are an explicit argument (the core passes BANKGATE_LAYOUTS).
    assert match_layout(ebcdic, [tmp_path]) == "positive-pay-mainframe"
    assert match_layout(sample("positive-pay"), [tmp_path]) == "positive-pay"


def test_ebcdic_overpunched_amounts_read_as_signed_zoned_decimals(tmp_path):
    layout = _acme_layout(tmp_path)
    # A zoned-decimal amount written by a mainframe: last digit's zone is the sign (C +, D -).
    assert "G".encode("cp037") == b"\xc7" and "}".encode("cp037") == b"\xd0"
    records, _ = parse(_acme_file().decode("ascii").encode("cp037"), layout, encoding="ebcdic")
    assert [r.amount for r in records if r.KIND == "item"] == [1234567, -50000, 1000]


@pytest.mark.parametrize("name", SHIPPED)
def test_no_line_breaks(name):
    expected, _ = parse(sample(name), name)
    records, parser = parse(b"".join(sample(name).splitlines()), name)
    assert _values(records) == _values(expected)
    assert parser.problems == []


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
def test_short_lines(name, newline):
    """Trailing spaces stripped by some transfer tool, any line end."""
    expected, _ = parse(sample(name), name)
    short = newline.join(line.rstrip() for line in sample(name).splitlines())
    records, parser = parse(short, name)
    assert _values(records) == _values(expected)
    assert [r.line for r in records] == [r.line for r in expected]
    assert parser.problems == []


def test_short_crlf_and_no_line_break_data_files():
    expected, _ = parse(sample("transaction-detail"), "transaction-detail")
    for filename in ("transaction-detail-short-crlf-lines.txt", "transaction-detail-no-line-breaks.txt"):
        records, _ = parse((DATA / filename).read_bytes(), "transaction-detail")
        assert _values(records) == _values(expected)


def test_many_records_over_several_blocks(monkeypatch):
    """Control totals and record order carry across block boundaries; details decode column-wise."""
    layout = load_layout("positive-pay")
    header = sample("positive-pay").splitlines()[0]
    details = []
    total = 0
    for i in range(5000):
        amount = (i * 7919) % 10**7 + 1
        total += amount
        values = {
            "account_number": "000123456789",
            "check_number": f"{200000 + i:010d}",
            "issue_date": date(2024, 3, 1 + i % 28),
            "amount": amount,
            "void_indicator": "V" if i % 97 == 0 else "",
            "payee_name": f"PAYEE {i}",
        }
        details.append(layout.encode("detail", values))
    trailer = layout.encode("trailer", {"account_number": "000123456789", "record_count": 5000, "total_amount": total})
    data = b"\r\n".join([header, *details, trailer]) + b"\r\n"

    def small_blocks(*args, **kwargs):
        return iter_blocks(*args, **kwargs, block_bytes=10_000)

    monkeypatch.setattr(fixed_parser, "iter_blocks", small_blocks)
    parser = FixedWidthParser(io.BytesIO(data), layout)
    batches = list(parser.iter_batches())
    assert len(batches) > 40
    records = [r for batch in batches for r in batch]
    assert len(records) == 5002
    assert [r.line for r in records] == list(range(1, 5003))
    assert records[1].issue_date == date(2024, 3, 1) and records[29].issue_date == date(2024, 3, 1)
    assert sum(r.amount for r in records[1:-1]) == total == parser.summary.totals["detail.amount"]
    assert sum(1 for r in records if getattr(r, "void_indicator", "") == "V") == 52

    # The same file with the trailer count off by one and one bad amount in the middle.
    broken = data.replace(b"T000123456789" + b"%08d" % 5000, b"T000123456789" + b"%08d" % 5001)
    line = details[2500]
    broken = broken.replace(line, line[:31] + b"X" + line[32:])
    line = details[4000]  # far from the header, in another block
    broken = broken.replace(line, line[:1] + b"000123456780" + line[13:])
    _, parser = parse(broken, layout, lenient=True)
    assert [(p.line, p.field) for p in parser.problems] == [
        (2502, "amount"),
        (4002, "account_number"),
        (5002, "record_count"),
        (5002, "total_amount"),
    ]
    assert parser.problems[1].message == (
        "is '000123456780', but account_number of the header record at line 1 is '000123456789'"
    )


# -- a brand-new layout, no code change -------------------------------------------------------

ACME_LAYOUT = """
    # Acme Savings Bank "sweep" file: made up for this test.
    name = "acme-sweep"
    description = "Acme Savings Bank daily sweep file"
    record_length = 48
    discriminator = { start = 1, length = 2 }
    signature = { pattern = 'AH\\d{8}SWEEP' }
    structure = { first = ["file_header"], last = ["file_trailer"] }

    [records.file_header]
    code = "AH"
    after = []
    fields = [
      { name = "code", start = 1, length = 2, type = "const" },
      { name = "run_date", start = 3, end = 8, type = "date", pattern = "%m%d%y" },
      { name = "run_number", start = 9, length = 2, type = "integer" },
      { name = "tag", start = 11, length = 5, type = "const", value = "SWEEP" },
      { start = 16, length = 33, type = "filler" },
    ]

    [records.item]
    code = ["AI", "AR"]
    title = "sweep item"
    after = ["file_header", "item"]
    detail = true
    fields = [
      { name = "code", start = 1, length = 2, type = "text", choices = ["AI", "AR"] },
      { name = "account", start = 3, length = 8, type = "digits", required = true },
      { name = "amount", start = 11, length = 9, type = "amount", sign = "overpunch", decimals = 3 },
      { name = "rate", start = 20, length = 6, type = "integer", sign = "trailing", blank_ok = true },
      { name = "memo", start = 26, length = 23, type = "text" },
    ]

    [records.file_trailer]
    code = "AZ"
    after = ["file_header", "item"]
    fields = [
      { name = "code", start = 1, length = 2, type = "const" },
      { name = "items", start = 3, length = 4, type = "integer" },
      { name = "returned", start = 7, length = 4, type = "integer" },
      { name = "net", start = 11, length = 12, type = "amount", sign = "leading" },
      { start = 23, length = 26, type = "filler" },
    ]

    [[checks]]
    kind = "count"
    of = "item"
    against = "file_trailer.items"

    [[checks]]
    name = "returned items"
    kind = "count"
    of = "item"
    where = { code = "AR" }
    against = "file_trailer.returned"

    [[checks]]
    kind = "sum"
    of = "item.amount"
    against = "file_trailer.net"
"""


def _acme_layout(directory: Path) -> Path:
    path = directory / "acme-sweep.toml"
    path.write_text(textwrap.dedent(ACME_LAYOUT))
    return path


def _acme_file(net: str = "+00001185567") -> bytes:
    lines = [
        "AH" + "031424" + "07" + "SWEEP",
        "AI" + "00045678" + "00123456G" + "00125+" + "OVERNIGHT SWEEP",  # +1234567 overpunched, rate +125
        "AR" + "00045678" + "00005000}" + "      " + "RETURNED",  # -50000, no rate
        "AI" + "00099123" + "00000100{" + "00075-",  # +1000, rate -75
        "AZ" + "0003" + "0001" + net,
    ]
    return b"".join(line.ljust(48).encode("ascii") + b"\n" for line in lines)


def test_new_layout_by_path(tmp_path):
    path = _acme_layout(tmp_path)
    records, parser = parse(_acme_file(), path)
    assert parser.format == "fixed:acme-sweep"
    header, *items, trailer = records
    assert (header.run_date, header.run_number) == (date(2024, 3, 14), 7)
    assert [(i.code, i.account, i.amount, i.rate, i.memo) for i in items] == [
        ("AI", "00045678", 1234567, 125, "OVERNIGHT SWEEP"),
        ("AR", "00045678", -50000, None, "RETURNED"),
        ("AI", "00099123", 1000, -75, ""),
    ]
    assert (trailer.items, trailer.returned, trailer.net) == (3, 1, 1185567)
    assert load_layout(path).by_name["item"].field("amount").decimals == 3
    assert parser.summary.totals == {
        "file_trailer.items": 3,
        "returned items": 1,
        "file_trailer.net": 1185567,
        "item.amount": 1185567,
    }
    assert problems(_acme_file(net="+00001185568"), path) == [(5, "file trailer record", "net")]
    wrong_count = _acme_file().replace(b"AZ00030001", b"AZ00030002")
    assert problems(wrong_count, path) == [(5, "file trailer record", "returned")]


def test_new_layout_by_name_from_user_dirs(tmp_path):
    _acme_layout(tmp_path)
    with pytest.raises(LayoutError, match="unknown layout 'acme-sweep'"):
        load_layout("acme-sweep")
    assert match_layout(_acme_file()) is None
    dirs = [tmp_path / "missing", tmp_path]
    assert "acme-sweep" in available_layouts(dirs)
    assert set(SHIPPED) <= set(available_layouts(dirs))
    records, parser = parse(_acme_file(), "acme-sweep", layout_dirs=dirs)
    assert len(records) == 5 and parser.problems == []
    assert match_layout(_acme_file(), dirs) == "acme-sweep"
    for name in SHIPPED:
        assert match_layout(sample(name), dirs) == name
    bound = FixedWidthParser.for_layout("acme-sweep", dirs)
    assert bound.format == "fixed:acme-sweep" and bound.__name__ == "AcmeSweepParser"
    assert len(list(bound(io.BytesIO(_acme_file())))) == 5


def test_user_layout_takes_the_place_of_a_shipped_one(tmp_path):
    shipped = Path(load_layout("positive-pay").source)
    text = shipped.read_text().replace('title = "trailer record"', 'title = "summary record"')
    (tmp_path / "positive-pay.toml").write_text(text)
    layout = load_layout("positive-pay", [tmp_path])
    assert layout.source == str(tmp_path / "positive-pay.toml")
    assert layout.by_name["trailer"].title == "summary record"
    assert available_layouts([tmp_path]).count("positive-pay") == 1


def test_layout_file_name_must_match_its_name(tmp_path):
    (tmp_path / "other.toml").write_text(textwrap.dedent(ACME_LAYOUT))
    with pytest.raises(LayoutError, match=re.escape("declares name 'acme-sweep' but the file is named 'other.toml'")):
        load_layout("other", [tmp_path])
    load_layout(tmp_path / "other.toml")  # by path, any file name will do


def test_broken_user_layout_does_not_stop_detection(tmp_path):
    (tmp_path / "broken.toml").write_text("name = ")
    assert match_layout(sample("positive-pay"), [tmp_path]) == "positive-pay"
    with pytest.raises(LayoutError, match=re.escape("broken.toml: is not valid TOML")):
        load_layout("broken", [tmp_path])


def test_layout_is_reloaded_when_its_file_changes(tmp_path):
    path = _acme_layout(tmp_path)
    assert load_layout(path) is load_layout(path)
    path.write_text(textwrap.dedent(ACME_LAYOUT).replace('title = "sweep item"', 'title = "sweep entry"') + "\n")
    assert load_layout(path).by_name["item"].title == "sweep entry"


# -- bad layout files --------------------------------------------------------------------------

BAD_LAYOUTS = [
    # (replace this, with this, message fragment)
    ('name = "acme-sweep"', 'name = "Acme Sweep"', "name 'Acme Sweep' must be lower case"),
    ("record_length = 48", 'record_length = "48"', "'record_length' must be an integer, got '48'"),
    ("record_length = 48\n", "", "'record_length' is missing"),
    ("record_length = 48", 'record_length = 48\nencodng = "ascii"', "unknown top-level key(s) 'encodng'"),
    (
        "record_length = 48",
        'record_length = 48\nencoding = "utf-16"',
        "encoding must be one of ascii, ebcdic",
    ),
    (
        '{ name = "run_number", start = 9, length = 2, type = "integer" }',
        '{ name = "run_number", start = 9, length = 1, type = "integer" }',
        "record 'file_header': positions 10-10 are not covered by any field (add a filler)",
    ),
    (
        '{ name = "rate", start = 20, length = 6,',
        '{ name = "rate", start = 19, length = 7,',
        "record 'item' field 'rate': positions 19-25 overlap field 'amount' (positions 11-19)",
    ),
    (
        '{ start = 23, length = 26, type = "filler" }',
        '{ start = 23, length = 27, type = "filler" }',
        "record 'file_trailer' field 'filler': positions 23-49 run past the record length 48",
    ),
    (
        'type = "amount", sign = "overpunch"',
        'type = "money", sign = "overpunch"',
        "record 'item' field 'amount': type must be one of text, digits, integer",
    ),
    (
        'start = 3, end = 8, type = "date", pattern = "%m%d%y"',
        'start = 3, end = 8, type = "date"',
        "'pattern' is missing",
    ),
    (
        'pattern = "%m%d%y"',
        'pattern = "%m%d%Y"',
        "field 'run_date': pattern '%m%d%Y' writes 8 characters (12312024)",
    ),
    ('pattern = "%m%d%y"', 'pattern = "%m%y%H"', "pattern '%m%y%H' must hold a full date"),
    (
        'sign = "overpunch", decimals = 3',
        'sign = "zoned", decimals = 3',
        "sign must be one of leading, trailing",
    ),
    (
        'type = "digits", required = true',
        'type = "digits", sign = "leading"',
        "'sign' applies only to integer",
    ),
    (
        'type = "digits", required = true',
        'type = "digits", lenght = 8',
        "field 'account': unknown field key(s) 'lenght'",
    ),
    (
        'value = "SWEEP"',
        'value = "SWEEPS"',
        "field 'tag': value 'SWEEPS' is 6 characters long, the field is 5",
    ),
    (
        'code = "AZ"',
        'code = "AH"',
        "record 'file_trailer': code 'AH' is also the code of record 'file_header'",
    ),
    ('code = "AZ"', 'code = "Z"', "record 'file_trailer': code 'Z' is 1 characters long"),
    (
        'choices = ["AI", "AR"]',
        'choices = ["AI", "ARX"]',
        "field 'code': choice 'ARX' must be at most 2 printable",
    ),
    (
        'after = ["file_header", "item"]\ndetail',
        'after = ["header", "item"]\ndetail',
        "unknown record type 'header'",
    ),
    ('first = ["file_header"]', 'first = ["start"]', "'structure.first' names unknown record type 'start'"),
    (
        'against = "file_trailer.items"',
        'against = "file_trailer.count"',
        "record 'file_trailer' has no field 'count'",
    ),
    (
        'of = "item.amount"',
        'of = "item.memo"',
        "checks[2]: 'of': field 'item.memo' must be an integer or amount field, not text",
    ),
    ('kind = "sum"', 'kind = "total"', "checks[2]: kind must be one of count, sum, match"),
    (
        'where = { code = "AR" }',
        'where = { amount = "AR" }',
        "'where': field 'item.amount' must be a text or digits field",
    ),
    (
        "signature = { pattern = 'AH",
        "signature = { pattern = '(AH",
        "signature.pattern is not a valid regular expression",
    ),
    ("[records.item]", "[records.item]\nbogus = 1", "record 'item': unknown record key(s) 'bogus'"),
    (
        'name = "returned items"\n',
        'name = "file_trailer.items"\n',
        "two checks are named 'file_trailer.items'",
    ),
    ('[[checks]]\nkind = "count"', '[[checks]]\nkind = "count"\nabsolute = true', "'absolute' applies only"),
    (
        '{ name = "code", start = 1, length = 2, type = "const" },\n  { name = "items"',
        '{ name = "items"',
        "record 'file_trailer': no field holds the record type code (positions 1-2)",
    ),
    ("description = ", "description == ", "is not valid TOML"),
    (
        "record_length = 48",
        'record_length = 48\nrecord_length_mode = "atleast"',
        "record_length_mode must be one of 'exact', 'pad', 'at_least' or a list of 'pad' and 'at_least', got 'atleast'",
    ),
    (
        "record_length = 48",
        'record_length = 48\nrecord_length_mode = ["exact", "pad"]',
        "record_length_mode must be one of",
    ),
    ("record_length = 48", "record_length = 48\nrecord_length_mode = 80", "'record_length_mode' must be a string or"),
    (
        '[[checks]]\nkind = "count"',
        '[[checks]]\nkind = "count"\nstart = 1',
        "checks[0]: 'start' applies only to a sequence",
    ),
    *(
        (
            '[[checks]]\nkind = "count"',
            f'[[checks]]\nkind = "sequence"\nof = "item.rate"\n{extra}\n[[checks]]\nkind = "count"',
            message,
        )
        for extra, message in [
            ("start = -1", "checks[0]: 'start' must be a number (0 or more), a list of numbers, or \"any\", got -1"),
            ('start = "one"', "checks[0]: 'start' must be a number"),
            ("start = []", "checks[0]: 'start' must be a number"),
            ('step = "up"', "checks[0]: 'step' must be one of consecutive, increasing, got 'up'"),
            ('against = "item.rate"', "checks[0]: 'against' does not apply to a sequence check"),
            ('since = "item"', "checks[0]: 'since' must be another record type than the numbered one"),
        ]
    ),
    (
        '[[checks]]\nkind = "count"',
        '[[checks]]\nkind = "sequence"\nof = "item.amount"\n[[checks]]\nkind = "count"',
        "checks[0]: 'of': field 'item.amount' must be an integer field",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_LAYOUTS, ids=range(len(BAD_LAYOUTS)))
def test_bad_layout_files_are_rejected_with_a_clear_message(tmp_path, old, new, message):
    text = textwrap.dedent(ACME_LAYOUT)
    assert text.count(old) == 1, old
    path = tmp_path / "acme-sweep.toml"
    path.write_text(text.replace(old, new))
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    assert str(caught.value).startswith(f"layout file {path}: ")
    assert message in str(caught.value)


def test_record_type_code_must_be_a_field(tmp_path):
    text = textwrap.dedent(ACME_LAYOUT).replace(
        '{ name = "code", start = 1, length = 2, type = "const" },\n  { name = "items", start = 3, length = 4,',
        '{ name = "items", start = 1, length = 6,',
    )
    with pytest.raises(
        LayoutError, match="record 'file_trailer' field 'items': positions 1-6 overlap the record type code"
    ):
        parse_layout(text, "x.toml")


def test_unknown_layout_and_missing_file(tmp_path):
    with pytest.raises(LayoutError, match=r"unknown layout 'nope' \(available: bai-lockbox, positive-pay"):
        load_layout("nope")
    with pytest.raises(LayoutError, match="not found"):
        load_layout(tmp_path / "nope.toml")
    with pytest.raises(ValueError, match="encoding must be one of"):
        FixedWidthParser(io.BytesIO(b""), "positive-pay", encoding="utf-8")


# -- detection ---------------------------------------------------------------------------------

NACHA_HEADER = b"".join(
    [
        *(b"1", b"01", b" 091000019", b"1234567890", b"160722", b"0911", b"A", b"094", b"10", b"1"),
        b"WELLS FARGO BANK".ljust(23),
        b"ACME CORPORATION".ljust(23),
        b" " * 8,
    ]
)
BAI2_HEADER = b"01,021000021,ACMEWIDGET,240314,0615,1,80,1,2/\n02,ACMEWIDGET,021000021,1,240313,,USD,2/\n"


@pytest.mark.parametrize("name", SHIPPED)
def test_match_layout_finds_each_sample(name):
    data = sample(name)
    assert match_layout(data) == name
    assert match_layout(data[:4096]) == name
    assert match_layout(b"".join(data.splitlines())) == name  # no line breaks
    assert match_layout(b"\r\n".join(line.rstrip() for line in data.splitlines())) == name


def test_match_layout_is_not_fooled():
    assert len(NACHA_HEADER) == 94
    assert match_layout(NACHA_HEADER) is None
    assert match_layout(NACHA_HEADER + b"\n" + b"5200ACME" + b" " * 86 + b"\n") is None
    assert match_layout(NACHA_HEADER * 3) is None  # no line breaks
    assert match_layout(BAI2_HEADER) is None
    assert match_layout(b"") is None
    assert match_layout(b"%PDF-1.7\n") is None
    lockbox = sample("bai-lockbox")
    pay = sample("positive-pay")
    assert match_layout(pay.replace(b"\n", b"X\n", 1)) is None  # 101 characters; "pad" allows no data past 100
    assert match_layout(lockbox[81:]) is None  # starts with the service record
    assert match_layout(lockbox.decode().encode("cp037")) is None  # EBCDIC, and no EBCDIC layout
    # The lockbox header starts like a NACHA header; positions 34-40 tell them apart.
    assert match_layout(NACHA_HEADER[:80] + b"\n") is None


# -- malformed input: records or ParseError, nothing else --------------------------------------


def _big_positive_pay() -> bytes:
    layout = load_layout("positive-pay")
    lines = sample("positive-pay").splitlines()
    details = [
        layout.encode(
            "detail",
            {
                "account_number": "000123456789",
                "check_number": f"{i:010d}",
                "issue_date": date(2024, 1, 1 + i % 28),
                "amount": 1000 + i,
                "payee_name": "PAYEE",
            },
        )
        for i in range(24)
    ]
    return b"\n".join([lines[0], *details, lines[-1]]) + b"\n"


MUTABLE = [sample(name) for name in SHIPPED] + [_big_positive_pay()]
MUTABLE_LAYOUTS = [*SHIPPED, "positive-pay"]

mutation = st.tuples(
    st.sampled_from(["replace", "insert", "delete"]), st.floats(0, 1), st.binary(min_size=1, max_size=3)
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(MUTABLE) - 1),
    mutations=st.lists(mutation, min_size=1, max_size=6),
    cut=st.floats(0, 1),
)
def test_mutated_files_give_records_or_parse_error(which, mutations, cut):
    data = bytearray(MUTABLE[which])
    for op, where, chunk in mutations:
        at = int(where * len(data))
        if op == "replace":
            data[at : at + len(chunk)] = chunk
        elif op == "insert":
            data[at:at] = chunk
        else:
            del data[at : at + len(chunk)]
    if cut > 0.9:
        del data[int((cut - 0.9) * 10 * len(data)) :]
    layout = MUTABLE_LAYOUTS[which]
    for encoding in (None, "ebcdic"):
        try:
            records, _ = parse(bytes(data), layout, encoding=encoding)
        except ParseError as exc:
            assert exc.problems
        else:
            assert all(hasattr(r, "KIND") for r in records)
        records, parser = parse(bytes(data), layout, lenient=True, encoding=encoding)  # never raises
        assert all(p.severity == "warning" for p in parser.problems)


# -- the field capabilities added for layouts (bankgate.parsers.fields) ---------------------------------

PARITY = Layout(
    "mixed",
    [
        Field("code", 1, 1, Kind.CONST, value="M"),
        Field("lead", 2, 6, Kind.AMOUNT, sign="leading", required=True),
        Field("trail", 8, 5, Kind.NUMBER, sign="trailing", blank_ok=True),
        Field("zoned", 13, 5, Kind.AMOUNT, sign="overpunch"),
        Field("when", 18, 8, Kind.DATE, pattern="%Y%m%d", blank_ok=True),
        Field("at", 26, 4, Kind.TIME),
        Field("dc", 30, 1, Kind.TEXT, choices=("C", "D")),
        Field("kind", 31, 2, Kind.DIGITS, choices=("01", "02")),
        Field("name", 33, 6, Kind.TEXT, required=True),
    ],
)
CELLS = {
    "code": [b"M", b"X"],
    "lead": [b"+00123", b"-00123", b" 00123", b"-00000", b"*00123", b"+0012a", b"      "],
    "trail": [b"0012+", b"0012-", b"0012 ", b"     ", b"0012*", b"\xe90000"],
    "zoned": [b"0012{", b"0012}", b"0012A", b"0012R", b"00123", b"0012S", b"     "],
    "when": [b"20240229", b"20230229", b"        ", b"00000000", b"2024 1 1", b"202411\x00\x00"],
    "at": [b"0000", b"2359", b"2400", b"12:3"],
    "dc": [b"C", b"D", b"X", b" ", b"\x00"],
    "kind": [b"01", b"02", b"03", b"1 "],
    "name": [b"ALICE ", b"      ", b"B\xf6B   ", b"\xff\xfe\xfd\xfc\xfb\xfa"],
}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CELLS.items()}),
        min_size=16,
        max_size=40,
    )
)
def test_column_decoding_matches_line_decoding(rows):
    lines = [b"".join(row[f.name] for f in PARITY.fields) for row in rows]
    array = np.frombuffer(b"".join(lines), dtype=np.uint8).reshape(len(lines), PARITY.length)
    linenos = list(range(1, len(lines) + 1))
    log_rows, log_lines = ProblemLog(), ProblemLog()
    assert PARITY.decode_rows(array, linenos, log_rows) == [
        PARITY.decode(line, n, log_lines) for line, n in zip(lines, linenos)
    ]
    assert log_rows.problems == log_lines.problems


def test_signed_fields_round_trip():
    values = {"lead": -123, "trail": 45, "zoned": -1230, "when": date(2024, 2, 29), "at": "23:59"}
    values |= {"dc": "D", "kind": "02", "name": "BOB"}
    line = PARITY.encode(values)
    assert line == b"".join([b"M", b"-00123", b"0045+", b"0123}", b"20240229", b"2359", b"D", b"02", b"BOB   "])
    assert PARITY.decode(line, 1, ProblemLog())._asdict() == {"line": 1, **values}
    with pytest.raises(ValueError, match="is not one of 'C', 'D'"):
        PARITY.encode(values | {"dc": "X"})
    with pytest.raises(ValueError, match="does not fit 5 digits"):
        PARITY.encode(values | {"lead": 123456})


# -- wiring: content detection and the format registry ------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_detect_and_open_parser(name):
    from bankgate.parsers.detect import detect
    from bankgate.parsers.registry import format_names, open_parser

    assert detect(sample(name)[:8192]) == f"fixed:{name}"
    assert f"fixed:{name}" in format_names()
    parser = open_parser(f"fixed:{name}", io.BytesIO(sample(name)))
    assert _values(list(parser)) == _values(parse(sample(name), name)[0])
    assert detect(NACHA_HEADER + b"\n") != f"fixed:{name}"
