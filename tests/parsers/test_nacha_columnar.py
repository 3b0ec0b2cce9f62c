"""The columnar path writes the very bytes of the row path.

The reader hands clean runs of entries on as columns (``bankgate.parsers.columnar.Run``) and the JSON
Lines writer makes their lines with numpy; everything else goes through records. On the
sample corpus and on generated files of every entry layout (with addenda, IAT, returns, text
that needs escaping, problems in lenient mode, many small batches across block boundaries)
the JSON Lines and CSV written from ``iter_chunks`` must equal those written from the records,
and the columnar path must really have been taken where the file allows it.
"""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from bankgate.parsers.columnar import Chunk, Run
from bankgate.parsers.nacha import NachaParser
from bankgate.parsers.output import write_csv, write_jsonl
from tests.parsers.nacha_helpers import CORPUS, ROUTINGS, batch, build, iat_batch, iat_entry, put, return_entry

SMALL_BLOCKS = 8 << 10  # about 85 records: batches straddle blocks


def outputs(data: bytes, **options: Any) -> tuple[bytes, bytes, bytes, bytes, int]:
    """JSON Lines and CSV from the chunks and from the records, and how many lines came as columns."""

    def parser() -> NachaParser:
        return NachaParser(io.BytesIO(data), **options)

    columnar, rows, columnar_csv, rows_csv = io.BytesIO(), io.BytesIO(), io.BytesIO(), io.BytesIO()
    chunks = list(parser().iter_chunks())
    write_jsonl(chunks, columnar)
    write_jsonl(parser().iter_batches(), rows)
    classes = NachaParser.record_classes
    write_csv(parser().iter_chunks(), columnar_csv, classes)
    write_csv(parser().iter_batches(), rows_csv, classes)
    in_columns = sum(len(p) for c in chunks if isinstance(c, Chunk) for p in c.pieces if isinstance(p, Run))
    return columnar.getvalue(), rows.getvalue(), columnar_csv.getvalue(), rows_csv.getvalue(), in_columns


def assert_same(data: bytes, **options: Any) -> int:
    columnar, rows, columnar_csv, rows_csv, in_columns = outputs(data, **options)
    assert columnar == rows
    assert columnar_csv == rows_csv
    return in_columns


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"NACHA sample corpus not found at {CORPUS}")
@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.ach")) if CORPUS.is_dir() else [])
def test_corpus_file_same_bytes(name: str) -> None:
    assert_same((CORPUS / name).read_bytes(), lenient=True)


NAMES = ["JANE DOE", "DOE, JANE", 'O"BRIEN CO', "BACK\\SLASH LLC", "X", "A NAME OF TWENTY TWO C", "TAB-FREE  SPACES"]


def entries(rng: random.Random, n: int, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "transaction_code": rng.choice((22, 27, 32, 37)),
            "amount": rng.choice((0, 1, 10, 99999, 12345678, 1000000000)),
            "rdfi_routing": rng.choice(ROUTINGS),
            "dfi_account_number": rng.choice(("1", "000123", "ABC-99 X", "12345678901234567")),
            "identification_number": rng.choice(("", "EMP1", "000000000000015")),
            "receiver_name": rng.choice(NAMES),
            "discretionary_data": rng.choice(("", "S", "R ")),
            **extra,
        }
        for _ in range(start, start + n)
    ]


def test_generated_layouts_same_bytes() -> None:
    rng = random.Random(12)
    batches = [batch(*entries(rng, rng.choice((16, 17, 40, 200)))) for _ in range(30)]
    cie = [{**e, "receiver_name": e["receiver_name"][:15], "transaction_code": 22} for e in entries(rng, 30)]
    batches.append(batch(*cie, standard_entry_class_code="CIE", service_class_code=220))
    batches.append(batch(*entries(rng, 30), standard_entry_class_code="WEB"))
    for sec in ("ARC", "BOC", "RCK"):
        checks = [{**e, "check_serial_number": "000123"} for e in entries(rng, 20)]
        for e in checks:
            e.pop("identification_number")
            e["transaction_code"] = 27
        batches.append(batch(*checks, standard_entry_class_code=sec, service_class_code=225))
    batches.append(batch(*entries(rng, 20, addenda=['INVOICE 7 "A" \\ B']), standard_entry_class_code="PPD"))
    batches.append(batch(*[return_entry(r) for r in ("R01", "R02", "R03")] * 6))
    batches.append(iat_batch(*[iat_entry(transaction_code=22, amount=100 + k) for k in range(20)]))
    data = build(*batches)
    for options in ({}, {"block_bytes": SMALL_BLOCKS}):
        assert assert_same(data, **options) > 1000  # most of the first 30 batches went as columns


def test_crlf_and_problems_in_lenient_mode_same_bytes() -> None:
    rng = random.Random(7)
    data = build(*[batch(*entries(rng, 60)) for _ in range(12)], line_ending=b"\r\n")
    # A bad amount (field problem) and a bad check digit in two batches: their runs take the row path.
    data = put(data, 5, 30, b"00000X0000")
    data = put(data, 70, 12, b"0" if data.split(b"\r\n")[69][11:12] != b"0" else b"1")
    with pytest.raises(Exception, match="line 5"):
        outputs(data)
    assert assert_same(data, lenient=True, block_bytes=SMALL_BLOCKS) > 400
