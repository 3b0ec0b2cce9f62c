"""A 2,000,000-entry file is read as a stream: every entry, right totals, bounded memory.

The file is generated in bulk (``nacha_helpers.write_bulk``, byte-identical to the writer's
output, checked below on a small file). Memory is measured as the parsing process's peak
resident set (VmHWM, reset just before parsing) in a fresh subprocess: ``tracemalloc`` makes
the reader about 20 times slower, far too slow for two million entries.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.parsers.nacha_helpers import (
    BulkTotals,
    batch,
    build,
    iat_batch,
    iat_entry,
    parse,
    write_bulk,
    write_bulk_with_writer,
)

MB = 1 << 20
REPO = Path(__file__).resolve().parents[2]

#: Runs in a fresh interpreter: parse the file given in argv[1] record by record, keeping none,
#: and report what it saw plus the peak resident memory of the parse alone.
CHILD = r"""
import json, sys, time
from collections import Counter
from pathlib import Path

from bankgate.parsers.nacha import NachaParser
from bankgate.parsers.problems import ParseError


def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


try:  # reset the peak to the current resident set (Linux >= 4.0)
    Path("/proc/self/clear_refs").write_text("5")
    reset = True
except OSError:
    reset = False
base = status("VmRSS")
kinds = Counter()
kept = [] if sys.argv[2:] == ["keep"] else None  # the control: hold every record
debit = credit = 0
error = None
start = time.perf_counter()
with open(sys.argv[1], "rb") as stream:
    parser = NachaParser(stream, name=sys.argv[1])
    try:
        for record in parser:
            kind = record.KIND
            kinds[kind] += 1
            if kept is not None:
                kept.append(record)
            if kind == "entry_detail":
                if record.transaction_code == 27:
                    debit += record.amount
                else:
                    credit += record.amount
    except ParseError as exc:
        error = str(exc)
seconds = time.perf_counter() - start
print(json.dumps({
    "kinds": kinds, "debit": debit, "credit": credit, "error": error,
    "problems": [str(p) for p in parser.problems[:5]], "totals": parser.summary.totals,
    "base": base, "peak": status("VmHWM"), "reset": reset, "seconds": seconds,
}))
"""


def parse_in_child(path: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def check(result: dict, totals: BulkTotals) -> None:
    assert result["error"] is None
    assert result["problems"] == []
    assert result["kinds"] == {
        "file_header": 1,
        "batch_header": totals.batches,
        "entry_detail": totals.entries,
        "batch_control": totals.batches,
        "file_control": 1,
    }
    assert result["debit"] == totals.debit
    assert result["credit"] == totals.credit
    assert result["totals"] == {
        "batch_count": totals.batches,
        "entry_addenda_count": totals.entries,
        "entry_hash": totals.entry_hash % 10**10,
        "total_debit": totals.debit,
        "total_credit": totals.credit,
    }


def test_bulk_generator_is_the_writer_output() -> None:
    """The fast generator writes exactly what NachaWriter writes for the same entries."""
    fast, slow = io.BytesIO(), io.BytesIO()
    totals = write_bulk(fast, 1234, batch_size=500, chunk=128)
    write_bulk_with_writer(slow, 1234, batch_size=500)
    assert fast.getvalue() == slow.getvalue()
    records, parser = parse(fast.getvalue())
    assert parser.problems == []
    assert totals.batches == 3 and totals.entries == 1234
    assert totals.records == len(fast.getvalue()) // 95 and totals.bytes == len(fast.getvalue())
    assert parser.summary.totals["total_debit"] == totals.debit > 0
    assert parser.summary.totals["total_credit"] == totals.credit > 0
    assert len({r.trace_number for r in records if r.KIND == "entry_detail"}) == 500  # unique per batch


def _many_addenda() -> bytes:
    entries = [{"transaction_code": 27, "amount": i, "addenda": [f"A{i}", "B"]} for i in range(30)]
    return build(batch(*entries, standard_entry_class_code="CTX"))


def _many_iat() -> bytes:
    return build(iat_batch(*[iat_entry(transaction_code=22, amount=i) for i in range(20)]))


def _many_adv() -> bytes:
    adv = {"advice_routing_number": "121042882", "ach_operator_routing": "01100001", "julian_day": "050"}
    entries = [
        {"transaction_code": 81 + i % 8, "amount": 10**11 + i, "sequence_number": f"{i:04d}", **adv} for i in range(40)
    ]
    return build(batch(*entries, service_class_code=280, standard_entry_class_code="ADV"))


@pytest.mark.parametrize("make", [_many_addenda, _many_iat, _many_adv], ids=["ctx", "iat", "adv"])
def test_block_boundaries_do_not_change_records(make) -> None:
    """Blocks that cut between an entry and its addenda (or mid-line) give the same records."""
    data = make()
    expected, parser = parse(data)
    assert parser.problems == []
    assert len(expected) > 40  # enough entries in a run for the numpy decoder
    for block_bytes in (95, 200, 1000, 5000):
        records, other = parse(data, block_bytes=block_bytes)
        assert records == expected, block_bytes
        assert other.summary == parser.summary


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc/self/status to measure memory")
def test_two_million_entries_stream_in_bounded_memory(tmp_path: Path) -> None:
    started = time.perf_counter()
    big, small = tmp_path / "big.ach", tmp_path / "small.ach"
    with big.open("wb") as out:
        big_totals = write_bulk(out, 2_000_000, batch_size=250_000)
    with small.open("wb") as out:
        small_totals = write_bulk(out, 200_000, batch_size=25_000)
    assert big.stat().st_size == big_totals.bytes == 95 * big_totals.records

    small_result = parse_in_child(small)
    big_result = parse_in_child(big)
    check(small_result, small_totals)
    check(big_result, big_totals)
    assert big_result["kinds"]["entry_detail"] == 2_000_000

    small_peak = small_result["peak"] - small_result["base"]
    big_peak = big_result["peak"] - big_result["base"]
    report = (
        f"peak memory while parsing: {small_peak / MB:.1f} MB for 200k entries, {big_peak / MB:.1f} MB for 2M "
        f"({big.stat().st_size / MB:.0f} MB file); parse took {big_result['seconds']:.1f} s"
    )
    print(report)
    assert big_peak < 64 * MB, report
    assert big_peak < big.stat().st_size / 8, report
    # Ten times the entries, not ten times the memory: the peak does not grow with the file.
    # (A few MB of slack: at this size allocator noise is a visible share of the peak.)
    assert big_peak < 1.5 * small_peak + 4 * MB, report
    # The meter does see memory that grows with the file: keeping the 200k records shows up.
    kept = parse_in_child(small, "keep")
    check(kept, small_totals)
    assert kept["peak"] - kept["base"] > 4 * small_peak + 32 * MB, (kept, report)
    assert time.perf_counter() - started < 90, "generating and parsing took too long"
