"""Every real sample file (moov-io/ach's test data, all well-formed) parses in strict mode, adds
up to its own file control, and reads the same whatever its line endings or padding."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.parsers.nacha_helpers import CORPUS, lines_of, parse

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"NACHA sample corpus not found at {CORPUS} (shared/ is cloned next to the repo)"
)

FILES = sorted(path.name for path in CORPUS.glob("*.ach"))
TOTALS = ("total_debit", "total_credit", "entry_addenda_count", "entry_hash", "batch_count")
#: The record type code each record kind is read from.
TYPE_CODE = {
    "file_header": "1",
    "batch_header": "5",
    "iat_batch_header": "5",
    "entry_detail": "6",
    "iat_entry_detail": "6",
    "adv_entry_detail": "6",
    "batch_control": "8",
    "adv_batch_control": "8",
    "file_control": "9",
    "adv_file_control": "9",
}


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def record_lines(data: bytes) -> list[bytes]:
    """The lines that hold records: not blank, not 9-filled padding."""
    return [line for line in lines_of(data) if line.strip() and line.strip() != b"9" * 94]


def test_corpus_is_there() -> None:
    assert len(FILES) >= 20, f"expected the moov-io sample files in {CORPUS}, found {FILES}"


@pytest.mark.parametrize("name", FILES)
def test_parses_strict_and_matches_its_file_control(name: str) -> None:
    records, parser = parse(read(name), name=name)  # strict: raises on any error
    assert parser.log.errors == []
    controls = [r for r in records if r.KIND in ("file_control", "adv_file_control")]
    assert len(controls) == 1
    control = controls[0]
    totals = parser.summary.totals
    for total in TOTALS:
        assert totals[total] == getattr(control, total), total
    assert control.block_count == -(-len(record_lines(read(name))) // 10)
    # Batch controls agree with the entries of their batch as well (the parser checks; spot-check here).
    batch_controls = [r for r in records if r.KIND.endswith("batch_control")]
    assert sum(c.total_debit for c in batch_controls) == totals["total_debit"]
    assert sum(c.total_credit for c in batch_controls) == totals["total_credit"]
    assert len(batch_controls) == totals["batch_count"]


@pytest.mark.parametrize("name", FILES)
def test_record_counts_match_the_lines(name: str) -> None:
    data = read(name)
    records, parser = parse(data)
    by_code: Counter[str] = Counter()
    for kind, count in parser.summary.records.items():
        by_code[TYPE_CODE.get(kind, "7" if kind.startswith("addenda_") else "?")] += count
    lines_by_code = Counter(chr(line[0]) for line in record_lines(data))
    assert by_code == lines_by_code
    assert Counter(r.KIND for r in records) == parser.summary.records
    # Records carry their physical line numbers, in file order.
    numbers = [r.line for r in records]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    lines = lines_of(data)
    for record in records:
        assert lines[record.line - 1][:1].decode() == TYPE_CODE.get(record.KIND, "7")


def _variants(data: bytes) -> dict[str, bytes]:
    lines = lines_of(data)
    return {
        "crlf": b"".join(line + b"\r\n" for line in lines),
        "cr": b"".join(line + b"\r" for line in lines),
        "stripped": b"\n".join(line.rstrip(b" ") for line in lines),  # and no newline at the end
        "extra-spaces": b"".join(line.ljust(94) + b"    \n" for line in lines),
        "extra-spaces-crlf": b"".join(line.ljust(94) + b"  \r\n" for line in lines),
        # No line breaks at all: records are every 94 bytes, "line" is the record number.
        "no-breaks": b"".join(line.ljust(94) for line in lines),
        "no-breaks-final-newline": b"".join(line.ljust(94) for line in lines) + b"\r\n",
    }


@pytest.mark.parametrize("variant", list(_variants(b"x")))
@pytest.mark.parametrize("name", FILES)
def test_line_endings_and_padding_do_not_matter(name: str, variant: str) -> None:
    data = read(name)
    expected, parser = parse(data)
    records, other = parse(_variants(data)[variant])
    # The corpus has no blank lines, so even the record numbers of the no-breaks case are the
    # original line numbers and the records are identical, line numbers included.
    assert records == expected
    assert other.summary == parser.summary
    assert other.problems == parser.problems


@pytest.mark.parametrize("block_bytes", [95, 250, 1000])
@pytest.mark.parametrize("name", FILES)
def test_block_size_does_not_matter(name: str, block_bytes: int) -> None:
    """Tiny read blocks split entries from their addenda and lines from their line ends."""
    data = read(name)
    expected, parser = parse(data)
    for variant in (data, b"".join(line.ljust(94) for line in lines_of(data))):
        records, other = parse(variant, block_bytes=block_bytes)
        assert records == expected
        assert other.summary == parser.summary


@pytest.mark.parametrize("name", FILES)
def test_blank_lines_only_shift_line_numbers(name: str) -> None:
    data = read(name)
    expected, _ = parse(data)
    lines = lines_of(data)
    spaced = b"".join(line + b"\n" + (b"\n" if number % 3 == 0 else b"") for number, line in enumerate(lines, 1))
    records, _ = parse(spaced)
    assert [r._replace(line=0) for r in records] == [r._replace(line=0) for r in expected]
    spaced_lines = lines_of(spaced)
    for record, original in zip(records, expected, strict=True):
        assert spaced_lines[record.line - 1] == lines[original.line - 1]
