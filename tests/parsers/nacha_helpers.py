"""Helpers for the NACHA tests: building small files with the writer, corrupting them in one
spot, parsing them, and generating very large valid files quickly (for the streaming test).

Kept free of pytest fixtures so any test module (or a one-off script) can import it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import numpy as np

from bankgate.parsers.nacha import NachaParser
from bankgate.parsers.nacha import layouts as L
from bankgate.parsers.nacha.writer import NachaWriter
from bankgate.parsers.problems import ParseError, Problem

#: moov-io/ach sample files; the repo is cloned as a sibling of ``shared/``.
CORPUS = Path(__file__).resolve().parents[3] / "shared/corpus/nacha"
DATA = Path(__file__).resolve().parents[1] / "data/nacha"

DESTINATION = "231380104"
ORIGIN = "121042882"
ODFI = "12104288"
#: Valid routing numbers (8 digits + check digit) used for receiving banks.
ROUTINGS = ("231380104", "121042882", "091000019", "026009593", "011000015")

BATCH_DEFAULTS: dict[str, Any] = {
    "company_name": "ACME CORP",
    "company_identification": "1234567890",
    "standard_entry_class_code": "PPD",
    "company_entry_description": "PAYROLL",
    "odfi_identification": ODFI,
}
ENTRY_DEFAULTS: dict[str, Any] = {
    "transaction_code": 22,
    "rdfi_routing": ROUTINGS[0],
    "dfi_account_number": "123456789",
    "amount": 10000,
    "receiver_name": "JANE DOE",
}

IAT_BATCH_DEFAULTS: dict[str, Any] = {
    "iat_indicator": "",
    "foreign_exchange_indicator": "FF",
    "foreign_exchange_reference_indicator": "3",
    "iso_destination_country_code": "US",
    "originator_identification": "123456789",
    "standard_entry_class_code": "IAT",
    "company_entry_description": "TRADEPAYMT",
    "iso_originating_currency_code": "CAD",
    "iso_destination_currency_code": "USD",
    "odfi_identification": ODFI,
}
#: The seven mandatory IAT addenda (10 to 16), as writer mappings.
IAT_ADDENDA: tuple[dict[str, Any], ...] = (
    {
        "addenda_type_code": "10",
        "transaction_type_code": "ANN",
        "foreign_payment_amount": 100000,
        "name": "BEK ENTERPRISES",
    },
    {"addenda_type_code": "11", "originator_name": "BEK SOLUTIONS", "originator_street_address": "15 WEST PLACE"},
    {
        "addenda_type_code": "12",
        "originator_city_state_province": "JACOBSTOWN*PA\\",
        "originator_country_postal_code": "US*19305\\",
    },
    {
        "addenda_type_code": "13",
        "odfi_name": "WELLS FARGO",
        "odfi_id_number_qualifier": "01",
        "odfi_identification": "231380104",
        "odfi_branch_country_code": "US",
    },
    {
        "addenda_type_code": "14",
        "rdfi_name": "CITADEL BANK",
        "rdfi_id_number_qualifier": "01",
        "rdfi_identification": "121042882",
        "rdfi_branch_country_code": "CA",
    },
    {
        "addenda_type_code": "15",
        "receiver_identification_number": "987465493",
        "receiver_street_address": "2121 FRONT ST",
    },
    {
        "addenda_type_code": "16",
        "receiver_city_state_province": "LETTERTOWN*AB\\",
        "receiver_country_postal_code": "CA*80014\\",
    },
)


@dataclass
class Batch:
    """A batch to write: header fields (over ``BATCH_DEFAULTS``) and entries (over ``ENTRY_DEFAULTS``)."""

    entries: Sequence[dict[str, Any]]
    header: dict[str, Any] = field(default_factory=dict)
    iat: bool = False


def batch(*entries: dict[str, Any], **header: Any) -> Batch:
    return Batch(list(entries), header)


def iat_batch(*entries: dict[str, Any], **header: Any) -> Batch:
    return Batch(list(entries), header, iat=True)


def build(*batches: Batch, line_ending: bytes = b"\n", **file_fields: Any) -> bytes:
    """A valid file written by ``NachaWriter``."""
    out = io.BytesIO()
    write(out, batches, line_ending=line_ending, **file_fields)
    return out.getvalue()


def write(out: IO[bytes], batches: Iterable[Batch], line_ending: bytes = b"\n", **file_fields: Any) -> None:
    writer = NachaWriter(
        out, immediate_destination=DESTINATION, immediate_origin=ORIGIN, line_ending=line_ending, **file_fields
    )
    for b in batches:
        defaults = IAT_BATCH_DEFAULTS if b.iat else BATCH_DEFAULTS
        entry_defaults = {k: v for k, v in ENTRY_DEFAULTS.items() if not (b.iat and k == "receiver_name")}
        with writer.batch(**{**defaults, **b.header}) as bw:
            for e in b.entries:
                bw.entry(**{**entry_defaults, **e})
    writer.close()


def iat_entry(**fields: Any) -> dict[str, Any]:
    return {"addenda": [dict(a) for a in IAT_ADDENDA], "dfi_account_number": "123456789", **fields}


# -- editing files ---------------------------------------------------------------------------


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")


def join(lines: Iterable[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def put(data: bytes, line: int, start: int, text: bytes | str) -> bytes:
    """Overwrite bytes of 1-based ``line`` from 1-based position ``start`` (a corrupted spot)."""
    raw = text.encode("latin-1") if isinstance(text, str) else text
    lines = lines_of(data)
    old = lines[line - 1]
    assert start - 1 + len(raw) <= len(old), "patch runs past the end of the line"
    lines[line - 1] = old[: start - 1] + raw + old[start - 1 + len(raw) :]
    return join(lines)


def put_field(data: bytes, line: int, layout: L.Layout, name: str, text: bytes | str) -> bytes:
    f = layout.field(name)
    raw = text.encode("latin-1") if isinstance(text, str) else text
    assert len(raw) == f.length, f"{name} is {f.length} long, got {len(raw)}"
    return put(data, line, f.start, raw)


def delete_line(data: bytes, line: int) -> bytes:
    lines = lines_of(data)
    del lines[line - 1]
    return join(lines)


def insert_line(data: bytes, line: int, text: bytes) -> bytes:
    """Insert ``text`` so that it becomes line ``line``."""
    lines = lines_of(data)
    lines.insert(line - 1, text)
    return join(lines)


def swap_lines(data: bytes, a: int, b: int) -> bytes:
    lines = lines_of(data)
    lines[a - 1], lines[b - 1] = lines[b - 1], lines[a - 1]
    return join(lines)


def line_number(data: bytes, prefix: bytes, nth: int = 1) -> int:
    """1-based number of the ``nth`` line starting with ``prefix``."""
    seen = 0
    for number, line in enumerate(lines_of(data), start=1):
        if line.startswith(prefix):
            seen += 1
            if seen == nth:
                return number
    raise LookupError(f"no line {nth} starting with {prefix!r}")


# -- parsing -----------------------------------------------------------------------------------


def parse(data: bytes, *, lenient: bool = False, **kwargs: Any) -> tuple[list[Any], NachaParser]:
    """Records and the parser (for ``summary`` and ``problems``); raises ``ParseError`` in strict mode."""
    parser = NachaParser(io.BytesIO(data), lenient=lenient, **kwargs)
    return list(parser), parser


def parse_error(data: bytes, **kwargs: Any) -> ParseError:
    try:
        parse(data, **kwargs)
    except ParseError as error:
        return error
    raise AssertionError("expected ParseError, the file parsed cleanly")


def describe(problems: Iterable[Problem]) -> str:
    return "\n".join(f"  line {p.line}: {p} [{p.severity}]" for p in problems)


def find_problem(problems: Sequence[Problem], line: int, record: str, field_name: str | None) -> Problem:
    for p in problems:
        if (p.line, p.record, p.field) == (line, record, field_name):
            return p
    raise AssertionError(f"no problem at line {line}, {record!r}, field {field_name!r} among:\n{describe(problems)}")


# -- big files, fast ---------------------------------------------------------------------------


@dataclass
class BulkTotals:
    entries: int = 0
    batches: int = 0
    entry_hash: int = 0
    debit: int = 0
    credit: int = 0
    records: int = 0
    bytes: int = 0


def _ascii_digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 array of zero-padded ASCII digits of non-negative integers."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64)
    for col in range(width - 1, -1, -1):
        out[:, col] = rest % 10 + 48
        rest = rest // 10
    return out


def _entry_values(first: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Transaction code, routing index, amount and account number of entries numbered ``first``."""
    tc = np.where(first % 2 == 0, 22, 27)
    routing_index = first % len(ROUTINGS)
    amount = (first * 7919 + 13) % 1_000_000  # includes zero amounts; 2M entries stay under 12 digits
    account = (first * 104_729 + 1) % 10**12
    return tc, routing_index, amount, account


def bulk_entries(start: int, count: int) -> list[dict[str, Any]]:
    """The entries ``write_bulk`` writes for global numbers start..start+count-1, as writer
    kwargs (sequence numbers restart at 1 for each batch, as the writer does)."""
    first = np.arange(start, start + count, dtype=np.int64)
    tc, routing_index, amount, account = _entry_values(first)
    return [
        {
            "transaction_code": int(tc[i]),
            "rdfi_routing": ROUTINGS[int(routing_index[i])],
            "dfi_account_number": f"{int(account[i]):012d}",
            "amount": int(amount[i]),
            "identification_number": "EMP0001",
            "receiver_name": "BULK RECEIVER",
        }
        for i in range(count)
    ]


def write_bulk(out: IO[bytes], entries: int, batch_size: int = 250_000, chunk: int = 100_000) -> BulkTotals:
    """Write a valid PPD file of ``entries`` entries in batches of ``batch_size``, fast.

    Entry lines are built in bulk from a template with numpy (varying transaction code,
    routing, account, amount and trace number) and the controls are computed from the same
    arrays. The output is byte-identical to what ``NachaWriter`` writes for
    ``bulk_entries`` (tested), at tens of millions of entries a minute.
    """
    totals = BulkTotals()

    def emit(line: bytes) -> None:
        out.write(line + b"\n")
        totals.records += 1
        totals.bytes += len(line) + 1

    emit(
        L.FILE_HEADER.encode(
            {
                "immediate_destination": f" {DESTINATION}",
                "immediate_origin": f" {ORIGIN}",
                "file_creation_date": "2026-01-01",
                "file_creation_time": "1200",
                "file_id_modifier": "A",
            }
        )
    )
    template = L.ENTRY_STANDARD.encode(
        {
            "transaction_code": 22,
            "rdfi_routing": "00000000",
            "check_digit": 0,
            "dfi_account_number": "000000000000",
            "amount": 0,
            "identification_number": "EMP0001",
            "receiver_name": "BULK RECEIVER",
            "addenda_record_indicator": 0,
            "trace_number": f"{ODFI}0000000",
        }
    )
    row = np.frombuffer(template + b"\n", dtype=np.uint8)
    routing_rows = np.frombuffer("".join(ROUTINGS).encode(), dtype=np.uint8).reshape(len(ROUTINGS), 9)
    routing_ints = np.array([int(r[:8]) for r in ROUTINGS], dtype=np.int64)
    f = {name: L.ENTRY_STANDARD.field(name) for name in ("transaction_code", "dfi_account_number", "amount")}
    done = 0
    while done < entries:
        number = totals.batches + 1
        size = min(batch_size, entries - done)
        header = {**BATCH_DEFAULTS, "service_class_code": 200, "effective_entry_date": "2026-01-02"}
        emit(L.BATCH_HEADER.encode({**header, "originator_status_code": "1", "batch_number": number}))
        entry_hash = debit = credit = 0
        for lo in range(0, size, chunk):
            n = min(chunk, size - lo)
            first = np.arange(done + lo, done + lo + n, dtype=np.int64)
            tc, routing_index, amount, account = _entry_values(first)
            grid = np.tile(row, (n, 1))
            tc_at = f["transaction_code"].start - 1
            grid[:, tc_at : tc_at + 2] = _ascii_digits(tc, 2)
            grid[:, 3:12] = routing_rows[routing_index]
            acc_at = f["dfi_account_number"].start - 1
            grid[:, acc_at : acc_at + 12] = _ascii_digits(account, 12)
            amt = f["amount"]
            grid[:, amt.start - 1 : amt.stop] = _ascii_digits(amount, amt.length)
            grid[:, 87:94] = _ascii_digits(np.arange(lo + 1, lo + n + 1), 7)  # trace: ODFI + sequence
            out.write(grid.tobytes())
            totals.records += n
            totals.bytes += grid.size
            entry_hash += int(routing_ints[routing_index].sum())
            debit += int(amount[tc == 27].sum())
            credit += int(amount[tc == 22].sum())
        emit(
            L.BATCH_CONTROL.encode(
                {
                    "service_class_code": 200,
                    "entry_addenda_count": size,
                    "entry_hash": entry_hash % 10**10,
                    "total_debit": debit,
                    "total_credit": credit,
                    "company_identification": BATCH_DEFAULTS["company_identification"],
                    "odfi_identification": ODFI,
                    "batch_number": number,
                }
            )
        )
        totals.batches += 1
        totals.entries += size
        totals.entry_hash += entry_hash
        totals.debit += debit
        totals.credit += credit
        done += size
    records = totals.records + 1
    emit(
        L.FILE_CONTROL.encode(
            {
                "batch_count": totals.batches,
                "block_count": -(-records // 10),
                "entry_addenda_count": totals.entries,
                "entry_hash": totals.entry_hash % 10**10,
                "total_debit": totals.debit,
                "total_credit": totals.credit,
            }
        )
    )
    while totals.records % 10:
        emit(b"9" * L.RECORD_LENGTH)
    return totals


def write_bulk_with_writer(out: IO[bytes], entries: int, batch_size: int) -> None:
    """The same file as ``write_bulk``, entry by entry through ``NachaWriter`` (slow; small n)."""
    batches = []
    for start in range(0, entries, batch_size):
        size = min(batch_size, entries - start)
        batches.append(
            Batch(
                bulk_entries(start, size),
                {"service_class_code": 200, "effective_entry_date": "2026-01-02"},
            )
        )
    write(out, batches)


def concentration_ach(entries: int) -> bytes:
    """An honest, very compressible ACH file: daily cash concentration from 100 store accounts,
    so the same receivers recur batch after batch (how corporate collection files look)."""
    out = io.BytesIO()
    writer = NachaWriter(out, immediate_destination="231380104", immediate_origin="1121042882")
    routings = ("231380104", "031300012", "121042882")
    stores = 100
    for day in range(entries // stores):
        with writer.batch(
            company_name="ACME RETAIL",
            company_identification="1121042882",
            standard_entry_class_code="CCD",
            company_entry_description="CASH CONC",
            effective_entry_date=date(2026, 1, 1 + day % 28),
            odfi_identification="12104288",
            service_class_code=225,
        ) as batch:
            for store in range(stores):
                batch.entry(
                    transaction_code=27,
                    rdfi_routing=routings[store % 3],
                    dfi_account_number=f"{40000000 + store}",
                    amount=125000 + 500 * (store * day % 4),  # a few amounts per store
                    identification_number=f"STORE{store:04d}",
                    receiver_name=f"ACME STORE {store:04d}",
                )
    writer.close()
    return out.getvalue()


def clean_file() -> bytes:
    """The base file of most cases (same as ``tests/data/nacha/valid-two-batches.ach``).

    1 file header; 2 batch header (PPD, 200); 3 entry 22 $100.00; 4 entry 27 $25.00;
    5 its addenda 05; 6 entry 32 $7.77; 7 batch control; 8 batch header (CCD, 225);
    9 entry 27 $50.00; 10 entry 37 $12.34; 11 batch control; 12 file control; 13-20 padding.
    """
    return build(
        batch(
            {"transaction_code": 22, "amount": 10000, "receiver_name": "JANE DOE"},
            {"transaction_code": 27, "amount": 2500, "receiver_name": "JOHN ROE", "addenda": ["INVOICE 1001"]},
            {"transaction_code": 32, "amount": 777, "rdfi_routing": ROUTINGS[1], "receiver_name": "MAX MUSTER"},
        ),
        batch(
            {"transaction_code": 27, "amount": 5000, "rdfi_routing": ROUTINGS[2], "receiver_name": "BOLT SUPPLY"},
            {"transaction_code": 37, "amount": 1234, "receiver_name": "NUT AND CO"},
            service_class_code=225,
            standard_entry_class_code="CCD",
            company_entry_description="VENDORPAY",
        ),
    )


def one_entry_batch(sec: str, *entries: dict, **header) -> bytes:
    return build(batch(*entries, standard_entry_class_code=sec, **header))


def return_entry(reason: str) -> dict:
    addenda = {
        "addenda_type_code": "99",
        "return_reason_code": reason,
        "original_entry_trace_number": "091000010000001",
        "original_rdfi_identification": "09100001",
    }
    return {"transaction_code": 26, "amount": 1000, "addenda": [addenda]}
