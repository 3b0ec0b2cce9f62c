"""Writes valid NACHA files: counts, hashes, totals, trace numbers and padding are computed.

Used by the tests and the benchmark, and by users who need test files for a bank. It
streams: each record is written as it is added, so a file of millions of entries takes
constant memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from bankgate.parsers.nacha import codes
from bankgate.parsers.nacha import layouts as L


@dataclass(slots=True)
class _BatchTotals:
    entries: int = 0
    addenda: int = 0
    entry_hash: int = 0
    debit: int = 0
    credit: int = 0


class BatchWriter:
    """One open batch; use as a context manager so the batch control is always written."""

    def __init__(self, file: NachaWriter, header: dict[str, Any]) -> None:
        self.file = file
        self.header = header
        self.sec = header["standard_entry_class_code"]
        self.layout = L.entry_layout(self.sec)
        self.totals = _BatchTotals()
        self.odfi = header["odfi_identification"]

    def entry(self, *, addenda: Iterable[str | Mapping[str, Any]] = (), **fields: Any) -> str:
        """Add an entry; ``rdfi_routing`` may be 8 or 9 digits (the check digit is computed).

        ``addenda`` are payment-information strings (05 records) or field mappings with an
        ``addenda_type_code``. Returns the trace number given to the entry.
        """
        routing = str(fields.pop("rdfi_routing"))[:8]
        totals = self.totals
        sequence = totals.entries + 1
        trace = fields.pop("trace_number", None) or f"{self.odfi}{sequence:07d}"
        addenda = list(addenda)
        values = {
            "transaction_code": fields.pop("transaction_code"),
            "rdfi_routing": routing,
            "check_digit": codes.routing_check_digit(routing),
            "amount": fields.pop("amount", 0),
            "addenda_record_indicator": 1 if addenda else 0,
            "trace_number": trace,
            **fields,
        }
        if self.layout.has_field("number_of_addenda_records") and "number_of_addenda_records" not in fields:
            values["number_of_addenda_records"] = len(addenda)
        self.file._emit(self.layout.encode(values))
        totals.entries += 1
        totals.entry_hash += int(routing)
        if values["transaction_code"] in codes.CREDIT_CODES:
            totals.credit += values["amount"]
        else:
            totals.debit += values["amount"]
        for number, item in enumerate(addenda, start=1):
            record: dict[str, Any] = {"payment_related_information": item} if isinstance(item, str) else dict(item)
            type_code = record.pop("addenda_type_code", "05")
            layout = L.addenda_layout(type_code, record.get("return_reason_code", ""))
            assert layout is not None, f"unknown addenda type {type_code}"
            record.setdefault("addenda_sequence_number", number)
            record.setdefault("entry_detail_sequence_number", trace[-7:])
            record.setdefault("trace_number", trace)
            self.file._emit(layout.encode(record))
            totals.addenda += 1
        return trace

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()

    def close(self) -> None:
        totals = self.totals
        control = {
            "service_class_code": self.header["service_class_code"],
            "entry_addenda_count": totals.entries + totals.addenda,
            "entry_hash": totals.entry_hash % 10**10,
            "total_debit": totals.debit,
            "total_credit": totals.credit,
            "company_identification": self.header.get("company_identification", ""),
            "odfi_identification": self.odfi,
            "batch_number": self.header["batch_number"],
        }
        layout = L.ADV_BATCH_CONTROL if self.sec == "ADV" else L.BATCH_CONTROL
        self.file._emit(layout.encode(control))
        self.file._batch_closed(totals)


class NachaWriter:
    """Writes a NACHA file to a binary stream.

    >>> w = NachaWriter(out, immediate_destination="231380104", immediate_origin="121042882")
    >>> with w.batch(company_name="ACME", company_identification="1234567890",
    ...              standard_entry_class_code="PPD", company_entry_description="PAYROLL",
    ...              odfi_identification="12104288", effective_entry_date=date(2026, 1, 2)) as b:
    ...     b.entry(transaction_code=22, rdfi_routing="231380104", dfi_account_number="1",
    ...             amount=1000, receiver_name="JANE DOE")
    >>> w.close()
    """

    def __init__(
        self,
        out: IO[bytes],
        *,
        immediate_destination: str,
        immediate_origin: str,
        immediate_destination_name: str = "",
        immediate_origin_name: str = "",
        created: datetime | None = None,
        file_id_modifier: str = "A",
        reference_code: str = "",
        line_ending: bytes = b"\n",
    ) -> None:
        self.out = out
        self.line_ending = line_ending
        self.records = 0
        self.batches = 0
        self.file_totals = _BatchTotals()
        self.adv = False
        created = created or datetime(2026, 1, 1, 12, 0)
        self._emit(
            L.FILE_HEADER.encode(
                {
                    "immediate_destination": immediate_destination,
                    "immediate_origin": immediate_origin,
                    "file_creation_date": created.date(),
                    "file_creation_time": created.strftime("%H%M"),
                    "file_id_modifier": file_id_modifier,
                    "immediate_destination_name": immediate_destination_name,
                    "immediate_origin_name": immediate_origin_name,
                    "reference_code": reference_code,
                }
            )
        )

    def batch(self, *, service_class_code: int = codes.MIXED, **header: Any) -> BatchWriter:
        sec = header.get("standard_entry_class_code", "PPD")
        header = {
            "service_class_code": service_class_code,
            "standard_entry_class_code": sec,
            "effective_entry_date": date(2026, 1, 2),
            "originator_status_code": "1",
            "batch_number": self.batches + 1,
            **header,
        }
        if sec == "ADV":
            self.adv = True
        layout = L.IAT_BATCH_HEADER if sec == "IAT" else L.BATCH_HEADER
        self._emit(layout.encode(header))
        return BatchWriter(self, header)

    def _emit(self, record: bytes) -> None:
        self.out.write(record + self.line_ending)
        self.records += 1

    def _batch_closed(self, totals: _BatchTotals) -> None:
        self.batches += 1
        ft = self.file_totals
        ft.entries += totals.entries + totals.addenda
        ft.entry_hash += totals.entry_hash
        ft.debit += totals.debit
        ft.credit += totals.credit

    def close(self) -> None:
        """Write the file control and the 9-filled padding to a multiple of ten records."""
        ft = self.file_totals
        layout = L.ADV_FILE_CONTROL if self.adv else L.FILE_CONTROL
        records = self.records + 1
        self._emit(
            layout.encode(
                {
                    "batch_count": self.batches,
                    "block_count": -(-records // 10),
                    "entry_addenda_count": ft.entries,
                    "entry_hash": ft.entry_hash % 10**10,
                    "total_debit": ft.debit,
                    "total_credit": ft.credit,
                }
            )
        )
        while self.records % 10:
            self.out.write(b"9" * L.RECORD_LENGTH + self.line_ending)
            self.records += 1
