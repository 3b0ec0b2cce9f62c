"""Regenerates the NACHA sample files with bankgate's own writer (run from the repo root).

The broken sample is the payroll file with one entry's amount changed after the fact, the
most common way a file goes bad between systems: controls no longer match the entries.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from bankgate.parsers.nacha.writer import NachaWriter

HERE = Path(__file__).resolve().parent / "nacha"


def payroll(path: Path) -> None:
    with open(path, "wb") as out:
        w = NachaWriter(
            out,
            immediate_destination="231380104",
            immediate_origin="1121042882",
            immediate_destination_name="CITADEL BANK",
            immediate_origin_name="ACME CORP",
            created=datetime(2026, 11, 20, 6, 30),
        )
        with w.batch(
            service_class_code=220,
            company_name="ACME CORP",
            company_identification="1121042882",
            standard_entry_class_code="PPD",
            company_entry_description="PAYROLL",
            effective_entry_date=date(2026, 11, 23),
            odfi_identification="12104288",
        ) as b:
            for i, (name, cents) in enumerate(
                [("JANE DOE", 412_550), ("JOHN SMITH", 389_012), ("ALEX GARCIA", 501_000), ("KIM LEE", 275_575)]
            ):
                b.entry(
                    transaction_code=22,
                    rdfi_routing="231380104",
                    dfi_account_number=f"00012345{i:04d}",
                    amount=cents,
                    identification_number=f"EMP{1000 + i}",
                    receiver_name=name,
                )
        with w.batch(
            service_class_code=225,
            company_name="ACME CORP",
            company_identification="1121042882",
            standard_entry_class_code="CCD",
            company_entry_description="VENDORFEES",
            effective_entry_date=date(2026, 11, 23),
            odfi_identification="12104288",
        ) as b:
            b.entry(
                transaction_code=27,
                rdfi_routing="031300012",
                dfi_account_number="7445678990",
                amount=125_000,
                identification_number="INV-2026-118",
                receiver_name="NORTHWIND SUPPLY",
                addenda=["RMR*IV*INV-2026-118*PI*1250.00\\"],
            )
        w.close()


def returns(path: Path) -> None:
    with open(path, "wb") as out:
        w = NachaWriter(
            out,
            immediate_destination="121042882",
            immediate_origin="0231380104",
            immediate_destination_name="ACME BANK",
            immediate_origin_name="CITADEL BANK",
            created=datetime(2026, 11, 21, 5, 0),
        )
        with w.batch(
            service_class_code=200,
            company_name="ACME CORP",
            company_identification="1121042882",
            standard_entry_class_code="PPD",
            company_entry_description="PAYROLL",
            effective_entry_date=date(2026, 11, 21),
            odfi_identification="23138010",
        ) as b:
            b.entry(
                transaction_code=21,
                rdfi_routing="121042882",
                dfi_account_number="000123450002",
                amount=501_000,
                receiver_name="ALEX GARCIA",
                addenda=[
                    {
                        "addenda_type_code": "99",
                        "return_reason_code": "R03",
                        "original_entry_trace_number": "121042880000003",
                        "original_rdfi_identification": "23138010",
                        "addenda_information": "NO ACCOUNT/UNABLE TO LOCATE",
                    }
                ],
            )
        with w.batch(
            service_class_code=220,
            company_name="ACME CORP",
            company_identification="1121042882",
            standard_entry_class_code="COR",
            company_entry_description="NOTIFCHG",
            effective_entry_date=date(2026, 11, 21),
            odfi_identification="23138010",
        ) as b:
            b.entry(
                transaction_code=21,
                rdfi_routing="121042882",
                dfi_account_number="000123450001",
                amount=0,
                receiver_name="JOHN SMITH",
                addenda=[
                    {
                        "addenda_type_code": "98",
                        "change_code": "C01",
                        "original_entry_trace_number": "121042880000002",
                        "original_rdfi_identification": "23138010",
                        "corrected_data": "000123459999",
                    }
                ],
            )
        w.close()


def broken(source: Path, path: Path) -> None:
    lines = source.read_bytes().split(b"\n")
    lines[3] = lines[3][:29] + b"0000999999" + lines[3][39:]  # an amount edited after the controls were written
    path.write_bytes(b"\n".join(lines))


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    payroll(HERE / "payroll-ppd-ccd.ach")
    returns(HERE / "returns-and-nocs.ach")
    broken(HERE / "payroll-ppd-ccd.ach", HERE / "payroll-amount-edited-after-controls.ach")
