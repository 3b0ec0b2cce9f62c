"""One test per NACHA validation rule.

Each case is a small file (written by ``NachaWriter`` and then corrupted in one spot, or a
file in ``tests/data/nacha/`` named for what is wrong) and the problem it must produce: the
line, the record (title) and the field, plus words the message must contain so a person can
act on it (typically the value found and the value expected). Every case runs in strict mode
(``ParseError`` listing that problem) and in lenient mode (records yielded, the same problem
reported as a warning).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest

from bankgate.parsers.nacha import NachaParser
from bankgate.parsers.nacha import layouts as L
from bankgate.parsers.nacha.rules import RULES
from bankgate.parsers.problems import ERROR, WARNING, ParseError, Problem
from tests.parsers.nacha_helpers import (
    DATA,
    ODFI,
    ROUTINGS,
    batch,
    build,
    clean_file,
    delete_line,
    describe,
    find_problem,
    iat_batch,
    iat_entry,
    insert_line,
    join,
    lines_of,
    one_entry_batch,
    parse,
    parse_error,
    put,
    put_field,
    return_entry,
)

ENTRY = "entry detail (6)"
ADDENDA_05 = "addenda payment related information (705)"
BATCH_HEADER = "batch header (5)"
BATCH_CONTROL = "batch control (8)"
FILE_HEADER = "file header (1)"
FILE_CONTROL = "file control (9)"


#: Batch 1 entry hash: the routing numbers (without check digit) of its three entries.
BATCH_1_HASH = 2 * int(ROUTINGS[0][:8]) + int(ROUTINGS[1][:8])
FILE_HASH = BATCH_1_HASH + int(ROUTINGS[2][:8]) + int(ROUTINGS[0][:8])


def data_file(name: str) -> Callable[[], bytes]:
    return lambda: (DATA / name).read_bytes()


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], bytes]
    line: int
    record: str
    field: str | None
    #: Each item must appear in the message; a tuple means any one of its alternatives.
    words: tuple[str | tuple[str, ...], ...]
    #: The expected problem is the only error (the corruption does not cascade).
    only: bool = True
    #: The rule's stable code (``parsers/nacha/rules.py``): what a program acts on.
    code: str = ""


def _iat_out_of_order() -> bytes:
    entry = iat_entry(transaction_code=22, amount=100000)
    entry["addenda"][1], entry["addenda"][2] = entry["addenda"][2], entry["addenda"][1]  # 10, 12, 11, 13, ...
    return build(iat_batch(entry))


def _noc_entry(change: str) -> dict:
    addenda = {
        "addenda_type_code": "98",
        "change_code": change,
        "original_entry_trace_number": "091000010000001",
        "original_rdfi_identification": "09100001",
        "corrected_data": "1918171614",
    }
    return {"transaction_code": 21, "amount": 0, "addenda": [addenda]}


def _file_header_field(name: str, value: str) -> Callable[[], bytes]:
    return lambda: put_field(clean_file(), 1, L.FILE_HEADER, name, value)


CASES = [
    # -- what ACH Operators reject (issue 12) --------------------------------------------------
    *(
        Case(
            f"company-name-{how}",
            lambda v=v: build(batch({}, company_name=v)),
            2,
            BATCH_HEADER,
            "company_name",
            ("blank or all zeros",),
            code="nacha.batch.company_name",
        )
        for how, v in (("blank", ""), ("zeros", "0000000000000000"), ("spaces-and-zeros", " 00 0"))
    ),
    *(
        Case(
            f"company-entry-description-{how}",
            lambda v=v: build(batch({}, company_entry_description=v)),
            2,
            BATCH_HEADER,
            "company_entry_description",
            ("blank or all zeros",),
            code="nacha.batch.company_entry_description",
        )
        for how, v in (("blank", ""), ("zeros", "0000000000"))
    ),
    Case(
        "iat-company-entry-description-zeros",
        lambda: build(iat_batch(iat_entry(transaction_code=22), company_entry_description="000000")),
        2,
        "IAT batch header (5)",
        "company_entry_description",
        ("blank or all zeros",),
        code="nacha.batch.company_entry_description",
    ),
    *(
        Case(
            f"individual-name-{sec.lower()}-{how}",
            lambda sec=sec, v=v: one_entry_batch(sec, {"transaction_code": 27, "receiver_name": v}),
            3,
            ENTRY,
            "receiver_name",
            (sec, "blank or all zeros", "reject"),
            code="nacha.entry.individual_name",
        )
        for sec, how, v in (("TEL", "blank", ""), ("WEB", "zeros", "0000000000000000000000"), ("CIE", "mixed", "0 0"))
    ),
    Case(
        "immediate-destination-check-digit",
        _file_header_field("immediate_destination", " 231380105"),
        1,
        FILE_HEADER,
        "immediate_destination",
        ("231380105", "check digit 4"),
        code="nacha.file.immediate_destination",
    ),
    Case(
        "immediate-destination-not-a-routing-number",
        _file_header_field("immediate_destination", "BANKOFNY  "),
        1,
        FILE_HEADER,
        "immediate_destination",
        ("'BANKOFNY'", "routing number"),
        code="nacha.file.immediate_destination",
    ),
    Case(
        "immediate-destination-blank",
        _file_header_field("immediate_destination", " " * 10),
        1,
        FILE_HEADER,
        "immediate_destination",
        ("blank",),
        code="nacha.file.immediate_destination",
    ),
    Case(
        "immediate-origin-bad-check-digit",
        _file_header_field("immediate_origin", " 121042883"),
        1,
        FILE_HEADER,
        "immediate_origin",
        ("121042883", "check digit 2", "EIN"),
        code="nacha.file.immediate_origin",
    ),
    Case(
        "immediate-origin-unknown-icd",
        _file_header_field("immediate_origin", "2123456789"),
        1,
        FILE_HEADER,
        "immediate_origin",
        ("'2123456789'", "1, 3 or 9"),
        code="nacha.file.immediate_origin",
    ),
    Case(
        "immediate-origin-zeros",
        _file_header_field("immediate_origin", "0000000000"),
        1,
        FILE_HEADER,
        "immediate_origin",
        ("'0000000000'",),
        code="nacha.file.immediate_origin",
    ),
    Case(
        "return-reason-code-not-in-the-rules",
        lambda: build(batch(return_entry("R97"))),
        4,
        "addenda return (799)",
        "return_reason_code",
        ("'R97'", "R01-R85"),
        code="nacha.addenda.return_reason_code",
    ),
    Case(
        "change-code-not-in-the-rules",
        lambda: build(batch(_noc_entry("C42"), standard_entry_class_code="COR")),
        4,
        "addenda notification of change (798)",
        "change_code",
        ("'C42'",),
        code="nacha.addenda.change_code",
    ),
    # -- entry detail fields ---------------------------------------------------------------
    Case(
        "invalid-check-digit",
        data_file("invalid-check-digit.ach"),
        3,
        ENTRY,
        "check_digit",
        ("5", "23138010", "4"),
        code="nacha.entry.check_digit",
    ),
    Case(
        "unknown-transaction-code",
        lambda: build(batch({"transaction_code": 99, "amount": 0})),
        3,
        ENTRY,
        "transaction_code",
        ("99", "not a NACHA transaction code"),
        code="nacha.entry.transaction_code",
    ),
    Case(
        "credit-in-debits-only-batch",
        data_file("credit-in-debits-only-batch.ach"),
        7,
        ENTRY,
        "transaction_code",
        ("32", "credit", "debits-only", "225"),
        code="nacha.entry.transaction_code",
    ),
    Case(
        "debit-in-credits-only-batch",
        lambda: build(batch({"transaction_code": 22}, {"transaction_code": 27}, service_class_code=220)),
        4,
        ENTRY,
        "transaction_code",
        ("27", "debit", "credits-only", "220"),
        code="nacha.entry.transaction_code",
    ),
    Case(
        "prenote-with-amount",
        lambda: build(batch({"transaction_code": 23, "amount": 150})),
        3,
        ENTRY,
        "amount",
        ("23", "150", "zero"),
        code="nacha.entry.zero_amount",
    ),
    Case(
        "blank-dfi-account-number",
        lambda: build(batch({"dfi_account_number": ""})),
        3,
        ENTRY,
        "dfi_account_number",
        ("required", "blank"),
        code="nacha.field.required",
    ),
    Case(
        "zero-rdfi-routing",
        lambda: build(batch({"rdfi_routing": "000000000"})),
        3,
        ENTRY,
        "rdfi_routing",
        ("zeros",),
        code="nacha.field.all_zeros",
    ),
    Case(
        "non-digit-amount",
        lambda: put(clean_file(), 3, 30, "00000A0000"),
        3,
        ENTRY,
        "amount",
        ("digits", "30-39", "00000A0000"),
        only=False,
        code="nacha.field.not_numeric",  # an unreadable amount cannot be added up: the totals disagree too
    ),
    Case(
        "non-digit-trace-number",
        lambda: put(clean_file(), 3, 90, "X"),
        3,
        ENTRY,
        "trace_number",
        ("digits", "80-94", "1210428800X0001"),
        code="nacha.field.not_numeric",
    ),
    Case(
        "non-ascii-receiver-name",
        lambda: put(clean_file(), 3, 55, "JÄNE".encode("latin-1")),
        3,
        ENTRY,
        "receiver_name",
        ("printable ASCII", "JÄNE"),
        code="nacha.field.not_ascii",
    ),
    Case(
        "trace-numbers-out-of-order",
        data_file("trace-numbers-out-of-order.ach"),
        10,
        ENTRY,
        "trace_number",
        (f"{ODFI}0000001", "ascend"),
        code="nacha.entry.trace_order",
    ),
    # -- addenda --------------------------------------------------------------------------
    Case(
        "addenda-indicator-1-without-addenda",
        lambda: put(clean_file(), 3, 79, "1"),
        3,
        ENTRY,
        "addenda_record_indicator",
        ("is 1", "no addenda"),
        code="nacha.entry.addenda_indicator",
    ),
    Case(
        "addenda-indicator-0-with-addenda",
        lambda: put(clean_file(), 4, 79, "0"),
        4,
        ENTRY,
        "addenda_record_indicator",
        ("is 0", "addenda record follows"),
        code="nacha.entry.addenda_indicator",
    ),
    Case(
        "addenda-indicator-not-0-or-1",
        lambda: put(clean_file(), 3, 79, "2"),
        3,
        ENTRY,
        "addenda_record_indicator",
        ("0 or 1", "2"),
        code="nacha.entry.addenda_indicator",
    ),
    Case(
        "addenda-sequence-number",
        lambda: one_entry_batch(
            "CTX",
            {"addenda": ["FIRST", {"payment_related_information": "SECOND", "addenda_sequence_number": 3}]},
        ),
        5,
        ADDENDA_05,
        "addenda_sequence_number",
        ("is 3", "expected 2"),
        code="nacha.addenda.sequence",
    ),
    Case(
        "entry-detail-sequence-number",
        lambda: put_field(clean_file(), 5, L.ADDENDA_05, "entry_detail_sequence_number", "0000009"),
        5,
        ADDENDA_05,
        "entry_detail_sequence_number",
        ("0000009", f"{ODFI}0000002", "0000002"),
        code="nacha.addenda.entry_sequence",
    ),
    Case(
        "addenda-05-in-arc-batch",
        lambda: one_entry_batch("ARC", {"transaction_code": 27, "check_serial_number": "1001", "addenda": ["NOTE"]}),
        4,
        "addenda payment related information (705)",
        "addenda_type_code",
        ("05", "ARC"),
        only=False,
        code="nacha.addenda.sec_type",  # the entry also has more addenda than ARC allows (none)
    ),
    Case(
        "too-many-addenda",
        lambda: build(batch({"addenda": ["ONE", "TWO"]})),
        3,
        ENTRY,
        None,
        ("2 addenda", "PPD", "at most 1"),
        code="nacha.entry.addenda_count",
    ),
    Case(
        "ctx-number-of-addenda-mismatch",
        lambda: one_entry_batch("CTX", {"number_of_addenda_records": 3, "addenda": ["ONE", "TWO"]}),
        3,
        ENTRY,
        "number_of_addenda_records",
        ("is 3", "2 addenda"),
        code="nacha.entry.number_of_addenda",
    ),
    Case(
        "iat-mandatory-addenda-out-of-order",
        _iat_out_of_order,
        3,
        "IAT entry detail (6)",
        None,
        ("10 to 16", "in order", "10, 12, 11"),
        code="nacha.entry.iat_addenda_order",
    ),
    Case(
        "unknown-addenda-type",
        lambda: put(clean_file(), 5, 2, "42"),
        5,
        "addenda (7)",
        "addenda_type_code",
        ("'42'",),
        only=False,
        code="nacha.addenda.type_code",  # the entry's addenda indicator now points at nothing known
    ),
    # -- batch and file controls ---------------------------------------------------------------
    Case(
        "batch-entry-hash-mismatch",
        data_file("batch-entry-hash-mismatch.ach"),
        7,
        BATCH_CONTROL,
        "entry_hash",
        ("0058380309", f"{BATCH_1_HASH:010d}"),
        code="nacha.batch.entry_hash_mismatch",
    ),
    Case(
        "file-entry-hash-mismatch",
        lambda: put_field(clean_file(), 12, L.FILE_CONTROL, "entry_hash", "0000000001"),
        12,
        FILE_CONTROL,
        "entry_hash",
        ("0000000001", f"{FILE_HASH:010d}"),
        code="nacha.file.entry_hash_mismatch",
    ),
    Case(
        "batch-entry-addenda-count-mismatch",
        lambda: put_field(clean_file(), 7, L.BATCH_CONTROL, "entry_addenda_count", "000005"),
        7,
        BATCH_CONTROL,
        "entry_addenda_count",
        ("5", "4"),
        code="nacha.batch.entry_addenda_count_mismatch",
    ),
    Case(
        "file-entry-addenda-count-mismatch",
        lambda: put_field(clean_file(), 12, L.FILE_CONTROL, "entry_addenda_count", "00000009"),
        12,
        FILE_CONTROL,
        "entry_addenda_count",
        ("9", "6"),
        code="nacha.file.entry_addenda_count_mismatch",
    ),
    Case(
        "batch-total-debit-mismatch",
        lambda: put_field(clean_file(), 7, L.BATCH_CONTROL, "total_debit", "000000002600"),
        7,
        BATCH_CONTROL,
        "total_debit",
        (("26.00", "2600"), ("25.00", "2500")),
        code="nacha.batch.total_debit_mismatch",
    ),
    Case(
        "batch-total-credit-mismatch",
        lambda: put_field(clean_file(), 11, L.BATCH_CONTROL, "total_credit", "000000000001"),
        11,
        BATCH_CONTROL,
        "total_credit",
        (("0.01", " 1,"), ("0.00", " 0 ")),
        code="nacha.batch.total_credit_mismatch",
    ),
    Case(
        "file-total-debit-mismatch",
        data_file("file-total-debit-mismatch.ach"),
        12,
        FILE_CONTROL,
        "total_debit",
        (("87.43", "8743"), ("87.34", "8734")),
        code="nacha.file.total_debit_mismatch",
    ),
    Case(
        "file-total-credit-mismatch",
        lambda: put_field(clean_file(), 12, L.FILE_CONTROL, "total_credit", "000000010778"),
        12,
        FILE_CONTROL,
        "total_credit",
        (("107.78", "10778"), ("107.77", "10777")),
        code="nacha.file.total_credit_mismatch",
    ),
    Case(
        "batch-count-mismatch",
        lambda: put_field(clean_file(), 12, L.FILE_CONTROL, "batch_count", "000003"),
        12,
        FILE_CONTROL,
        "batch_count",
        ("3", "2"),
        code="nacha.file.batch_count_mismatch",
    ),
    Case(
        "block-count-mismatch",
        lambda: put_field(clean_file(), 12, L.FILE_CONTROL, "block_count", "000005"),
        12,
        FILE_CONTROL,
        "block_count",
        ("5", "2"),
        code="nacha.file.block_count_mismatch",
    ),
    Case(
        "batch-control-odfi-mismatch",
        lambda: put_field(clean_file(), 7, L.BATCH_CONTROL, "odfi_identification", "99999999"),
        7,
        BATCH_CONTROL,
        "odfi_identification",
        ("99999999", ODFI),
        code="nacha.batch.odfi_mismatch",
    ),
    # -- headers --------------------------------------------------------------------------------
    Case(
        "batch-numbers-not-ascending",
        lambda: build(batch({}, batch_number=5), batch({}, batch_number=5)),
        5,
        BATCH_HEADER,
        "batch_number",
        ("5", "not greater", "previous"),
        code="nacha.batch.number_order",
    ),
    Case(
        "record-size-not-094",
        lambda: put(clean_file(), 1, 35, "095"),
        1,
        FILE_HEADER,
        "record_size",
        ("'094'", "'095'"),
        code="nacha.field.constant",
    ),
    Case(
        "blocking-factor-not-10",
        lambda: put(clean_file(), 1, 38, "12"),
        1,
        FILE_HEADER,
        "blocking_factor",
        ("'10'", "'12'"),
        code="nacha.field.constant",
    ),
    Case(
        "format-code-not-1",
        lambda: put(clean_file(), 1, 40, "2"),
        1,
        FILE_HEADER,
        "format_code",
        ("'1'", "'2'"),
        code="nacha.field.constant",
    ),
    Case(
        "invalid-file-creation-date",
        lambda: put(clean_file(), 1, 24, "261341"),
        1,
        FILE_HEADER,
        "file_creation_date",
        ("261341", "date"),
        code="nacha.field.date",
    ),
    Case(
        "unknown-service-class",
        lambda: put(clean_file(), 2, 2, "201"),
        2,
        BATCH_HEADER,
        "service_class_code",
        ("201", "200, 220, 225"),
        only=False,
        code="nacha.batch.service_class_code",  # the batch control's service class no longer matches
    ),
    Case(
        "non-ascii-odfi-in-batch-header",  # once crashed the entry checks (ODFI encoded as UTF-8)
        lambda: put(clean_file(), 2, 80, "1210428é".encode("latin-1")),
        2,
        BATCH_HEADER,
        "odfi_identification",
        ("digits", "80-87", "1210428é"),
        only=False,
        code="nacha.field.not_numeric",  # the batch control and the trace numbers no longer match that ODFI
    ),
    Case(
        "unknown-sec-code",
        lambda: put(clean_file(), 2, 51, "XYZ"),
        2,
        BATCH_HEADER,
        "standard_entry_class_code",
        ("'XYZ'",),
        code="nacha.batch.sec_code",
    ),
    # -- structure ------------------------------------------------------------------------------
    Case(
        "unknown-record-type",
        lambda: insert_line(clean_file(), 7, b"4" + b"0" * 93),
        7,
        "record",
        "record_type",
        ("'4'", "1, 5, 6, 7, 8 or 9"),
        code="nacha.file.unknown_record_type",
    ),
    Case(
        "record-after-file-control",
        lambda: put(clean_file(), 13, 1, lines_of(clean_file())[1]),
        13,
        "file",
        None,
        ("after the file control",),
        code="nacha.file.record_after_control",
    ),
    Case(
        "padding-before-file-control",
        lambda: insert_line(clean_file(), 12, b"9" * 94),
        12,
        "padding",
        None,
        ("before the file control",),
        only=False,
        code="nacha.file.padding_before_control",  # the padding record also shifts the file control's place
    ),
    Case(
        "missing-file-header",
        lambda: delete_line(clean_file(), 1),
        1,
        "file",
        None,
        ("file header", "missing"),
        only=False,
        code="nacha.file.header_missing",  # the batch header now comes before any file header, which is reported too
    ),
    Case(
        "second-file-header",
        lambda: insert_line(clean_file(), 8, lines_of(clean_file())[0]),
        8,
        FILE_HEADER,
        None,
        ("second file header", "line 1"),
        code="nacha.file.second_header",
    ),
    Case(
        "batch-without-control",
        lambda: delete_line(clean_file(), 7),
        7,
        BATCH_HEADER,
        None,
        ("batch 1", "line 2", "no batch control"),
        code="nacha.batch.control_missing",
    ),
    Case(
        "last-batch-without-control",
        lambda: delete_line(clean_file(), 11),
        11,
        FILE_CONTROL,
        None,
        ("batch 2", "line 8", "no batch control"),
        code="nacha.batch.control_missing",
    ),
    Case(
        "batch-control-without-header",
        lambda: delete_line(clean_file(), 8),
        10,
        BATCH_CONTROL,
        None,
        ("without a batch header",),
        only=False,
        code="nacha.batch.control_without_header",  # the entries of the headless batch are outside any batch
    ),
    Case(
        "entry-outside-batch",
        lambda: insert_line(clean_file(), 8, lines_of(clean_file())[2]),
        8,
        "entry/addenda (6/7)",
        None,
        ("outside a batch",),
        code="nacha.entry.outside_batch",
    ),
    Case(
        "missing-file-control",
        data_file("missing-file-control.ach"),
        0,
        "file",
        None,
        ("file control", "missing", "truncated"),
        code="nacha.file.control_missing",
    ),
    Case(
        "truncated-inside-batch",
        lambda: join(lines_of(clean_file())[:9]),
        8,
        "file",
        None,
        ("batch 2", "never closed"),
        only=False,
        code="nacha.batch.control_missing",  # the file control is missing as well
    ),
    Case("empty-file", lambda: b"", 0, "file", None, ("no NACHA records",), code="nacha.file.empty"),
    Case("blank-lines-only", lambda: b"\n \n\r\n", 0, "file", None, ("no NACHA records",), code="nacha.file.empty"),
    Case(
        "line-too-long",
        lambda: join(line + b"XYZ" if number == 3 else line for number, line in enumerate(lines_of(clean_file()), 1)),
        3,
        "file",
        None,
        ("97", "94"),
        code="nacha.file.record_length",
    ),
]


def strict_run(data: bytes) -> tuple[list, ParseError | None]:
    """Records strict mode yields before it raises (it raises only at the end), and the error."""
    records: list = []
    try:
        for record in NachaParser(io.BytesIO(data)):
            records.append(record)
    except ParseError as error:
        return records, error
    return records, None


def assert_words(problem: Problem, words: tuple[str | tuple[str, ...], ...]) -> None:
    for word in words:
        options = word if isinstance(word, tuple) else (word,)
        assert any(o in problem.message for o in options), f"{options} not in message: {problem}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_strict(case: Case) -> None:
    error = strict_run(case.make())[1]
    assert error is not None, f"{case.id}: the file parsed without errors"
    problem = find_problem(error.problems, case.line, case.record, case.field)
    assert problem.severity == ERROR
    assert problem.code == case.code and problem.code in RULES
    assert_words(problem, case.words)
    if case.only:
        assert len(error.problems) == 1, f"{case.id}: expected one problem, got:\n{describe(error.problems)}"
    assert all(p.severity == ERROR for p in error.problems)
    # The error's own text points at the first problem with its line number.
    first = error.problems[0]
    assert f"line {first.line}" in str(error) and first.message in str(error)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_lenient(case: Case) -> None:
    data = case.make()
    strict_records, error = strict_run(data)
    assert error is not None
    records, parser = parse(data, lenient=True)  # must not raise
    assert records == strict_records
    problem = find_problem(parser.problems, case.line, case.record, case.field)
    assert problem.severity == WARNING
    assert problem.code == case.code
    assert_words(problem, case.words)
    # Everything strict mode failed on is reported, as a warning, in the same order.
    as_warnings = [(p.line, p.record, p.field, p.message) for p in error.problems]
    lenient = [(p.line, p.record, p.field, p.message) for p in parser.problems]
    assert [x for x in lenient if x in as_warnings] == as_warnings
    assert all(p.severity == WARNING for p in parser.problems)


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert all(c.code for c in CASES), "every case names the rule it breaks"


def test_clean_writer_file_has_no_problems() -> None:
    records, parser = parse(clean_file())
    assert parser.problems == []
    assert len(records) == 12
    totals = parser.summary.totals
    assert totals["total_debit"] == 2500 + 5000 + 1234
    assert totals["total_credit"] == 10000 + 777
    assert totals["entry_hash"] == FILE_HASH
    # and the stored base of the data-file cases (written the same way) is clean too
    stored, stored_parser = parse((DATA / "valid-two-batches.ach").read_bytes())
    assert stored_parser.problems == []
    assert [r.KIND for r in stored] == [r.KIND for r in records]


@pytest.mark.parametrize(
    "sec,entry",
    [
        ("PPD", {"addenda": ["NOTE"]}),
        ("CCD", {"transaction_code": 27}),
        ("WEB", {"discretionary_data": "S ", "addenda": ["WEB NOTE"]}),
        ("TEL", {"transaction_code": 27}),
        ("CTX", {"addenda": ["ONE", "TWO", "THREE"]}),
        ("CIE", {"receiver_name": "JANE DOE", "identification_number": "CUST-1"}),
        ("ARC", {"transaction_code": 27, "check_serial_number": "1001"}),
        (
            "POP",
            {"transaction_code": 27, "check_serial_number": "1001", "terminal_city": "PHIL", "terminal_state": "PA"},
        ),
        ("XCK", {"transaction_code": 27, "check_serial_number": "1001", "process_control_field": "CHECK1"}),
    ],
)
def test_clean_writer_file_per_sec_has_no_problems(sec: str, entry: dict) -> None:
    records, parser = parse(one_entry_batch(sec, {"receiver_name": "X", **entry}, company_entry_description="TEST"))
    assert parser.problems == []
    assert records[1].standard_entry_class_code == sec


def test_clean_writer_iat_file_has_no_problems() -> None:
    records, parser = parse(build(iat_batch(iat_entry(transaction_code=22), iat_entry(transaction_code=27))))
    assert parser.problems == []
    kinds = [r.KIND for r in records]
    assert kinds.count("iat_entry_detail") == 2
    assert kinds.count("addenda_16") == 2


# -- rules that are warnings by default ---------------------------------------------------------


def only_problem(data: bytes, **kwargs) -> Problem:
    _, parser = parse(data, **kwargs)  # strict mode: a warning does not fail the file
    [problem] = parser.problems
    return problem


@pytest.mark.parametrize(
    ("written", "said"), [("261341", "261341"), ("2601 1", "2601 1"), ("      ", "blank"), ("000000", "all zeros")]
)
def test_invalid_effective_entry_date_is_a_warning(written: str, said: str) -> None:
    """NACHA Operating Rules, Appendix Two (ACH Operator edits): an invalid or stale effective
    entry date does not reject the batch; the operator settles it at the next opportunity. A
    blank or zero date is one too, and a space is no digit (``strptime`` alone reads '2601 1'
    as 2026-01-01); ``--enforce`` makes each an error."""
    data = put_field(clean_file(), 2, L.BATCH_HEADER, "effective_entry_date", written)
    problem = only_problem(data)
    assert (problem.line, problem.field, problem.severity) == (2, "effective_entry_date", WARNING)
    assert problem.code == "nacha.batch.effective_date_invalid" and said in problem.message
    with pytest.raises(ParseError) as refused:
        list(NachaParser(io.BytesIO(data), enforce=["nacha.batch.effective_date_invalid"]))
    assert [p.code for p in refused.value.problems] == ["nacha.batch.effective_date_invalid"]


def test_stale_effective_entry_date_is_a_warning() -> None:
    problem = only_problem(build(batch({}, effective_entry_date=date(2025, 12, 31))))  # file created 2026-01-01
    assert (problem.line, problem.field, problem.severity) == (2, "effective_entry_date", WARNING)
    assert problem.code == "nacha.batch.effective_date_stale"
    assert "2025-12-31" in problem.message and "2026-01-01" in problem.message


@pytest.mark.parametrize("sec", ["PPD", "RCK", "CCD", "CTX"])
def test_individual_name_the_rules_require_is_a_warning(sec: str) -> None:
    """Required (not mandatory) names: an RDFI may return the entry, the ACH Operator passes it.
    CCD's and CTX's are the Receiving Company Name, "R" in their record formats."""
    entry = {"transaction_code": 27, "receiver_name": "", "check_serial_number": "1001"}
    problem = only_problem(one_entry_batch(sec, entry))
    assert (problem.line, problem.field, problem.severity) == (3, "receiver_name", WARNING)
    assert problem.code == "nacha.entry.individual_name_required" and sec in problem.message


@pytest.mark.parametrize("sec", ["DNE", "ENR", "POS"])
def test_individual_name_required_by_dne_enr_pos_record_formats(sec: str) -> None:
    """DNE's and POS's Individual Name and ENR's Receiving Company Name are "R" in their record
    formats (``codes.INDIVIDUAL_NAME`` cites the source): a blank one is a warning, not a reject."""
    problem = only_problem(one_entry_batch(sec, {"transaction_code": 22, "receiver_name": "0 0"}))
    assert (problem.line, problem.field, problem.severity) == (3, "receiver_name", WARNING)
    assert problem.code == "nacha.entry.individual_name_required" and sec in problem.message


ENR_INFO = "22*12200004*3*123987654321*777777777*DOE*JOHN*0\\"  # an enrollment (X12-style), hand-written


def enr_entry(**fields: object) -> dict:
    return {"transaction_code": 22, "amount": 0, "receiver_name": "SSA", "addenda": [ENR_INFO, ENR_INFO], **fields}


def test_enr_entries_count_their_addenda_and_name_the_receiver_at_59() -> None:
    """ENR's record format (the CTX frame, ``layouts.ENTRY_BY_SEC`` cites the sources): Number of
    Addenda Records at 55-58, Receiving Company Name/ID Number at 59-74, reserved 75-76."""
    data = one_entry_batch("ENR", enr_entry(), company_entry_description="AUTOENROLL")
    entry_line = lines_of(data)[2]
    assert entry_line[54:58] == b"0002" and entry_line[58:74] == b"SSA".ljust(16)
    records, parser = parse(data)
    (entry,) = [r for r in records if r.KIND == "entry_detail"]
    assert (entry.number_of_addenda_records, entry.receiver_name) == (2, "SSA")
    assert parser.problems == []


def test_an_enr_entry_whose_count_disagrees_with_its_addenda_is_an_error() -> None:
    data = one_entry_batch("ENR", enr_entry(number_of_addenda_records=3), company_entry_description="AUTOENROLL")
    error = parse_error(data)
    assert [(p.line, p.field, p.code) for p in error.problems] == [
        (3, "number_of_addenda_records", "nacha.entry.number_of_addenda")
    ]
    assert "is 3, but 2 addenda follow" in error.problems[0].message


def test_enr_in_the_standard_frame_as_moov_writes_it_is_read_with_a_warning() -> None:
    """moov-io/ach writes an ENR entry's name at 55-76 (no count): the batch is read in the
    standard frame, the name kept whole, with a warning; a bank that wants such files refused
    makes it an error (``--enforce``)."""
    data = one_entry_batch("ENR", enr_entry(), company_entry_description="AUTOENROLL")
    data = put(data, 3, 55, "BEST. #1".ljust(22))  # the standard frame's receiver name over count + name
    problem = only_problem(data)
    assert (problem.line, problem.field, problem.severity) == (3, "number_of_addenda_records", WARNING)
    assert problem.code == "nacha.entry.enr_standard_frame" and "'BEST'" in problem.message
    records, _ = parse(data)
    (entry,) = [r for r in records if r.KIND == "entry_detail"]
    assert entry.receiver_name == "BEST. #1" and not hasattr(entry, "number_of_addenda_records")
    with pytest.raises(ParseError) as refused:
        list(NachaParser(io.BytesIO(data), enforce=["nacha.entry.enr_standard_frame"]))
    assert [(p.code, p.severity) for p in refused.value.problems] == [("nacha.entry.enr_standard_frame", ERROR)]


def test_mte_individual_name_is_mandatory() -> None:
    """MTE's Individual Name (positions 40-54) is "M" in its record format: blank is an error.
    (The table had it as R before.)"""
    problem = only_problem(one_entry_batch("MTE", {"transaction_code": 22, "receiver_name": ""}), lenient=True)
    assert (problem.line, problem.field) == (3, "receiver_name")
    assert problem.code == "nacha.entry.individual_name" and "MTE" in problem.message
    error = parse_error(one_entry_batch("MTE", {"transaction_code": 22, "receiver_name": "000"}))
    assert [(p.line, p.code, p.severity) for p in error.problems] == [(3, "nacha.entry.individual_name", ERROR)]


@pytest.mark.parametrize("sec", ["ARC", "BOC", "POP"])
@pytest.mark.parametrize("name", ["", "0000000000000000000000"])
def test_individual_name_is_optional_elsewhere(sec: str, name: str) -> None:
    """ARC, BOC and POP entries come from a check's MICR line, which has no name: the rules make
    the name optional (``codes.INDIVIDUAL_NAME``), so a blank or zero name is no problem."""
    entry = {"transaction_code": 27, "receiver_name": name, "check_serial_number": "1001"}
    if sec == "POP":
        entry.update(terminal_city="PHIL", terminal_state="PA")
    _, parser = parse(one_entry_batch(sec, entry))
    assert parser.problems == []


def test_individual_name_is_checked_on_the_numpy_path_too() -> None:
    """Big batches are checked column-wise: a blank name among many is still found, by line."""
    entries = [{"transaction_code": 27, "receiver_name": f"RECEIVER {i}"} for i in range(40)]
    entries[25]["receiver_name"] = "00"
    error = strict_run(one_entry_batch("WEB", *entries))[1]
    assert error is not None
    assert [(p.line, p.code) for p in error.problems] == [(28, "nacha.entry.individual_name")]


@pytest.mark.parametrize(
    ("destination", "origin"),
    [
        (" 231380104", " 121042882"),  # the rules' form: a space and the routing number
        ("231380104 ", "121042882 "),  # left-justified
        ("0231380104", "0121042882"),  # zero-padded (moov-io/ach's own test files)
        (" 231380104", "1121042882"),  # origin: ICD 1 (IRS EIN) and 9 digits
        (" 231380104", "3123456789"),  # ICD 3 (DUNS)
        (" 231380104", "9000012345"),  # ICD 9 (user assigned)
    ],
)
def test_documented_immediate_forms_are_accepted(destination: str, origin: str) -> None:
    data = put_field(clean_file(), 1, L.FILE_HEADER, "immediate_destination", destination)
    _, parser = parse(put_field(data, 1, L.FILE_HEADER, "immediate_origin", origin))
    assert parser.problems == []


def test_unreadable_amount_leaves_the_entry_hash_alone() -> None:
    """Only the totals depend on the amount; the entry hash is still computed (and right)."""
    error = strict_run(put(clean_file(), 3, 30, "00000A0000"))[1]
    assert error is not None
    fields = {(p.line, p.field) for p in error.problems}
    assert fields == {(3, "amount"), (7, "total_credit"), (12, "total_credit")}, describe(error.problems)


def test_trace_not_matching_odfi_is_only_a_warning() -> None:
    data = build(batch({"trace_number": "999999990000001"}))
    _, parser = parse(data)  # strict mode: warnings do not fail the file
    problem = find_problem(parser.problems, 3, ENTRY, "trace_number")
    assert (problem.severity, problem.code) == (WARNING, "nacha.entry.trace_odfi")
    assert "99999999" in problem.message and ODFI in problem.message


def test_problems_are_capped_but_counted() -> None:
    """A hopeless file does not hoard problems; the error says how many were left out."""
    lines = lines_of(clean_file())
    data = join([lines[0], lines[1], *[lines[2][:11] + b"5" + lines[2][12:]] * 1500, *lines[6:]])
    error = strict_run(data)[1]
    assert error is not None
    assert len(error.problems) <= 1001
    assert error.problems[-1].code == "nacha.file.problems_capped"
    assert "more problems not shown" in error.problems[-1].message


@pytest.mark.parametrize("line_ending", [b"\n", b"\r\n", b"\r", b""])
def test_line_numbers_hold_with_any_line_ending(line_ending: bytes) -> None:
    data = (DATA / "invalid-check-digit.ach").read_bytes()
    data = line_ending.join(lines_of(data)) + line_ending
    error = strict_run(data)[1]
    assert error is not None
    find_problem(error.problems, 3, ENTRY, "check_digit")


@pytest.mark.parametrize(
    "shape",
    ["crlf", "cr", "stripped", "extra-spaces", "extra-spaces-crlf", "extra-spaces-cr", "no-breaks", "one-long-line"],
)
def test_tolerated_line_shapes_read_the_same(shape: str) -> None:
    """Line ends, stripped or extra trailing spaces and missing line breaks change nothing."""
    data = clean_file()
    lines = lines_of(data)
    reshaped = {
        "crlf": b"".join(line + b"\r\n" for line in lines),
        "cr": b"".join(line + b"\r" for line in lines),
        "stripped": b"".join(line.rstrip() + b"\n" for line in lines),
        "extra-spaces": b"".join(line + b"      \n" for line in lines),
        "extra-spaces-crlf": b"".join(line + b"  \r\n" for line in lines),
        "extra-spaces-cr": b"".join(line + b" \r" for line in lines),
        "no-breaks": b"".join(lines),
        "one-long-line": b"".join(lines) + b"\n",
    }[shape]
    expected, parser = parse(data)
    records, other = parse(reshaped)
    assert records == expected  # line numbers included: without breaks they are record numbers
    assert other.problems == [] and other.summary == parser.summary
