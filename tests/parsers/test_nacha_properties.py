"""Property tests: writer-made files read back exactly; damaged files never crash the reader."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bankgate.parsers.nacha import NachaParser
from bankgate.parsers.nacha.codes import CREDIT_CODES, DEBIT_CODES, ZERO_AMOUNT_CODES, routing_check_digit
from bankgate.parsers.problems import ParseError
from tests.parsers.nacha_helpers import (
    ODFI,
    ROUTINGS,
    Batch,
    batch,
    build,
    iat_batch,
    iat_entry,
    lines_of,
    parse,
)

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

LIVE_CREDITS = (22, 32, 42, 52)
LIVE_DEBITS = (27, 37, 47, 55)
ZERO_CREDITS = tuple(sorted(ZERO_AMOUNT_CODES & CREDIT_CODES))  # prenotes, zero-dollar remittances
ZERO_DEBITS = tuple(sorted(ZERO_AMOUNT_CODES & DEBIT_CODES))
CODES_BY_CLASS = {
    200: LIVE_CREDITS + LIVE_DEBITS + ZERO_CREDITS + ZERO_DEBITS,
    220: LIVE_CREDITS + ZERO_CREDITS,
    225: LIVE_DEBITS + ZERO_DEBITS,
}
#: How long the receiver name is in each SEC's entry layout; how many 05 addenda it may carry.
NAME_LENGTH = {"PPD": 22, "CCD": 22, "WEB": 22, "CTX": 16}
MOST_ADDENDA = {"PPD": 1, "CCD": 1, "WEB": 1, "CTX": 5}

printable = st.characters(min_codepoint=32, max_codepoint=126)


def text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(printable, min_size=min_size, max_size=max_size)


def required_text(max_size: int) -> st.SearchStrategy[str]:
    return text(max_size, 1).filter(lambda s: s.strip() != "")


def name_text(max_size: int) -> st.SearchStrategy[str]:
    """A name ACH Operators accept: not spaces, zeros or a mix of the two."""
    return text(max_size, 1).filter(lambda s: s.strip(" 0") != "")


routing = st.one_of(
    st.sampled_from(ROUTINGS),
    st.integers(1, 99_999_999).map(lambda n: f"{n:08d}"),
)


@st.composite
def entries(draw: st.DrawFn, sec: str, service_class: int) -> dict[str, Any]:
    code = draw(st.sampled_from(CODES_BY_CLASS[service_class]))
    amount = 0 if code in ZERO_AMOUNT_CODES else draw(st.one_of(st.just(0), st.integers(0, 9_999_999_999)))
    entry: dict[str, Any] = {
        "transaction_code": code,
        "rdfi_routing": draw(routing),
        "dfi_account_number": draw(required_text(17)),
        "amount": amount,
        "identification_number": draw(text(15)),
        "receiver_name": draw(name_text(NAME_LENGTH[sec])),
        "discretionary_data": draw(text(2)),
    }
    entry["addenda"] = draw(st.lists(text(80), max_size=MOST_ADDENDA[sec]))
    return entry


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    sec = draw(st.sampled_from(["PPD", "CCD", "WEB", "CTX"]))
    service_class = draw(st.sampled_from([200, 220, 225]))
    return batch(
        *draw(st.lists(entries(sec, service_class), min_size=1, max_size=6)),
        standard_entry_class_code=sec,
        service_class_code=service_class,
        company_name=draw(name_text(16)),
        company_entry_description=draw(name_text(10)),
    )


@pytest.mark.slow
@settings(SETTINGS, max_examples=100)
@given(st.lists(batches(), min_size=1, max_size=4), st.sampled_from([b"\n", b"\r\n"]))
def test_writer_files_read_back_exactly(written: list[Batch], line_ending: bytes) -> None:
    data = build(*written, line_ending=line_ending)
    records, parser = parse(data)
    assert parser.problems == []

    entries_read = [r for r in records if r.KIND == "entry_detail"]
    addenda_read = [r for r in records if r.KIND == "addenda_05"]
    expected_entries = [(number, e) for number, b in enumerate(written, 1) for e in b.entries]
    assert len(entries_read) == len(expected_entries)
    addenda_iter = iter(addenda_read)
    sequence = {}
    for record, (batch_number, entry) in zip(entries_read, expected_entries, strict=True):
        sequence[batch_number] = sequence.get(batch_number, 0) + 1
        routing8 = entry["rdfi_routing"][:8]
        assert record.batch == batch_number
        assert record.transaction_code == entry["transaction_code"]
        assert record.rdfi_routing == routing8
        assert record.check_digit == routing_check_digit(routing8)
        assert record.dfi_account_number == entry["dfi_account_number"].rstrip()
        assert record.amount == entry["amount"]
        assert record.identification_number == entry["identification_number"].rstrip()
        assert record.receiver_name == entry["receiver_name"].rstrip()
        assert record.discretionary_data == entry["discretionary_data"].rstrip()
        assert record.addenda_record_indicator == (1 if entry["addenda"] else 0)
        assert record.trace_number == f"{ODFI}{sequence[batch_number]:07d}"
        if hasattr(record, "number_of_addenda_records"):
            assert record.number_of_addenda_records == len(entry["addenda"])
        for number, info in enumerate(entry["addenda"], 1):
            addenda = next(addenda_iter)
            assert addenda.line == record.line + number
            assert addenda.payment_related_information == info.rstrip()
            assert addenda.addenda_sequence_number == number
            assert addenda.entry_detail_sequence_number == record.trace_number[-7:]
    assert next(addenda_iter, None) is None

    all_entries = [e for _, e in expected_entries]
    totals = parser.summary.totals
    assert totals["total_debit"] == sum(e["amount"] for e in all_entries if e["transaction_code"] in DEBIT_CODES)
    assert totals["total_credit"] == sum(e["amount"] for e in all_entries if e["transaction_code"] in CREDIT_CODES)
    assert totals["entry_addenda_count"] == len(all_entries) + sum(len(e["addenda"]) for e in all_entries)
    assert totals["entry_hash"] == sum(int(e["rdfi_routing"][:8]) for e in all_entries) % 10**10
    assert totals["batch_count"] == len(written)
    control = records[-1]
    assert control.KIND == "file_control"
    assert (control.total_debit, control.total_credit) == (totals["total_debit"], totals["total_credit"])
    assert len(lines_of(data.replace(b"\r\n", b"\n"))) % 10 == 0


# -- damaged files -------------------------------------------------------------------------------


def _seed_files() -> list[bytes]:
    adv = {"advice_routing_number": "121042882", "ach_operator_routing": "01100001", "julian_day": "050"}
    return [
        build(
            batch({"transaction_code": 22}, {"transaction_code": 27, "addenda": ["INVOICE 1"]}),
            batch({"transaction_code": 37, "amount": 5}, service_class_code=225, standard_entry_class_code="CCD"),
        ),
        # more than 16 entries in a run, so the numpy block decoder is the one damaged
        build(batch(*[{"transaction_code": 22 + 5 * (i % 2), "amount": i} for i in range(40)])),
        build(batch({"addenda": ["A", "B", "C"]}, {"addenda": ["D"]}, standard_entry_class_code="CTX")),
        build(iat_batch(iat_entry(transaction_code=22), iat_entry(transaction_code=27))),
        build(
            batch(
                {"transaction_code": 81, "amount": 500, "sequence_number": "0001", **adv},
                {"transaction_code": 82, "amount": 700, "sequence_number": "0002", **adv},
                service_class_code=280,
                standard_entry_class_code="ADV",
            )
        ),
    ]


SEEDS = _seed_files()


OPERATIONS = ["replace", "insert", "delete", "truncate", "duplicate", "swap", "junk", "junk_line"]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    if draw(st.booleans()):
        data = bytearray(data.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r", b""]))))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(OPERATIONS))
        size = len(data)
        if op == "replace" and size:
            at = draw(st.integers(0, size - 1))
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            at = draw(st.integers(0, size))
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and size:
            at = draw(st.integers(0, size - 1))
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "truncate":
            del data[draw(st.integers(0, size)) :]
        elif op == "junk":
            at = draw(st.integers(0, size))
            data[at:at] = draw(st.binary(min_size=1, max_size=400))
        else:
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if op == "duplicate":
                lines.insert(j, lines[i])
            elif op == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            else:  # junk_line: a line of digits, spaces and odd bytes, of any length
                lines[i] = draw(st.binary(max_size=200).map(lambda b: bytes(c % 64 + 32 if c < 200 else c for c in b)))
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def _read(data: bytes, lenient: bool, block_bytes: int) -> list:
    return list(NachaParser(io.BytesIO(data), lenient=lenient, block_bytes=block_bytes))


@pytest.mark.slow
@settings(SETTINGS, max_examples=300)
@given(damaged(), st.sampled_from([95, 300, 4096, 512 << 10]))
def test_damaged_files_give_records_or_parse_error(data: bytes, block_bytes: int) -> None:
    try:
        _read(data, lenient=False, block_bytes=block_bytes)
    except ParseError as error:
        assert error.problems, "ParseError without problems"
        assert all(p.message for p in error.problems)
    except Exception as error:  # the property: no other exception, ever
        raise AssertionError(f"strict mode raised {error!r} on {data!r}") from error

    try:
        records = _read(data, lenient=True, block_bytes=block_bytes)
    except Exception as error:  # lenient mode must never raise
        raise AssertionError(f"lenient mode raised {error!r} on {data!r}") from error
    # Records come in file order.
    numbers = [r.line for r in records]
    assert numbers == sorted(numbers)


@settings(SETTINGS, max_examples=100)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        _read(data, lenient=False, block_bytes=512 << 10)
    _read(data, lenient=True, block_bytes=300)
