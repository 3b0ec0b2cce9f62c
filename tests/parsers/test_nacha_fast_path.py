"""The reader's block-wide fast path gives the records and problems of the slow paths.

The reader decodes a block's entries column-wise once per entry layout and takes each
batch's records and rule masks from that (``NachaParser._entries``). On files of many small
batches, with problems sprinkled over many of them, it must give exactly what decoding each
batch on its own gives, and what the one-line decoder gives: the same records, and the same
problems (line, record, field, message, code, severity) in the same order.
"""

from __future__ import annotations

import io
import random

import pytest

from bankgate.parsers.nacha import layouts as L
from bankgate.parsers.nacha import reader
from tests.parsers.nacha_helpers import (
    ROUTINGS,
    Batch,
    batch,
    build,
    iat_batch,
    iat_entry,
    lines_of,
    parse,
    parse_error,
    put,
)

#: (SEC code, whether entries carry an addenda record) of the batches, in turn.
SECS = [("PPD", False), ("CCD", False), ("CTX", True), ("WEB", False), ("PPD", True), ("TEL", False), ("IAT", True)]


def _many_batches(seed: int, batches: int = 60) -> bytes:
    rng = random.Random(seed)
    out: list[Batch] = []
    n = 0
    for b in range(batches):
        sec, addenda = SECS[b % len(SECS)]
        size = rng.choice([1, 3, 15, 16, 17, 40, 120])
        entries = []
        for _ in range(size):
            n += 1
            fields = {
                "transaction_code": rng.choice([22, 27, 32, 37]),
                "rdfi_routing": rng.choice(ROUTINGS),
                "amount": rng.randrange(0, 10**7),
                "dfi_account_number": f"{n:09d}",
            }
            if sec == "IAT":
                entries.append(iat_entry(**fields))
                continue
            if addenda:
                fields["addenda"] = [f"REF {n}"]
            entries.append({**fields, "receiver_name": f"RECEIVER {n}"})
        if sec == "IAT":
            out.append(iat_batch(*entries))
        else:
            out.append(batch(*entries, standard_entry_class_code=sec))
    return build(*out)


#: Corruptions of an entry line: (1-based start, bytes); each breaks a field or an entry rule.
CORRUPTIONS = [
    (12, b"0"),  # check digit (wrong unless the routing's check digit is 0)
    (2, b"99"),  # not a transaction code
    (2, b"23"),  # prenote with an amount (unless the amount is zero)
    (30, b"00000X0000"),  # amount not digits
    (79, b"2"),  # addenda indicator not 0 or 1
    (79, b"1"),  # indicator 1 where no addenda follows (or already 1)
    (80, b"000000000000001"),  # trace number out of order and not the ODFI's
    (55, b"                      "),  # blank receiver name (PPD: warning, WEB/TEL: error)
    (40, b"\xe9"),  # not ASCII in a text field
    (4, b" "),  # routing not digits
]

#: Corruptions of a batch header line.
HEADER_CORRUPTIONS = [
    (70, b"261340"),  # effective entry date not a date
    (70, b"000101"),  # stale: before the file's creation date
    (5, b"                "),  # blank company name
    (54, b"0000000000"),  # all-zero company entry description
    (88, b"00X0000"),  # batch number not digits
    (88, b"0000001"),  # batch number out of order
    (2, b"999"),  # unknown service class
    (41, b"\xe9"),  # not ASCII
]


def _corrupt(data: bytes, seed: int, count: int) -> bytes:
    rng = random.Random(seed)
    entry_lines = [i for i, line in enumerate(lines_of(data), start=1) if line.startswith(b"6")]
    for line in rng.sample(entry_lines, count):
        start, text = rng.choice(CORRUPTIONS)
        data = put(data, line, start, text)
    # batch headers and controls, decoded column-wise with the block's others
    headers = [i for i, line in enumerate(lines_of(data), start=1) if line.startswith(b"5")]
    for line in rng.sample(headers, 6):
        start, text = rng.choice(HEADER_CORRUPTIONS)
        data = put(data, line, start, text)
    controls = [i for i, line in enumerate(lines_of(data), start=1) if line.startswith(b"8")]
    for line in rng.sample(controls, 4):
        data = put(data, line, rng.choice([21, 5, 88]), rng.choice([b"9999", b"X", b"\xe9"]))
    return data


def _result(data: bytes, **kwargs) -> tuple:
    records, parser = parse(data, lenient=True, **kwargs)
    error = parse_error(data, **kwargs) if any(p.severity == "error" for p in parser.problems) else None
    strict = [p.as_dict() for p in error.problems] if error else None
    return records, [p.as_dict() for p in parser.problems], parser.summary, strict


@pytest.mark.parametrize("seed", range(6))
def test_fast_path_matches_per_batch_and_one_line_decoding(seed: int, monkeypatch) -> None:
    """Slow paths: each batch decoded on its own (``Layout.decode_rows``), then every entry
    through the one-line decoder."""
    data = _corrupt(_many_batches(seed), seed, count=40)
    fast = _result(data)
    assert len(fast[1]) > 30, "the corruptions must show"
    with monkeypatch.context() as m:
        m.setattr(reader, "MIN_COLUMNS", 10**9)
        assert _result(data) == fast
        for layout in {L.entry_layout(sec) for sec, _ in SECS}:
            m.setattr(layout, "vectorizable", False)
        assert _result(data) == fast


@pytest.mark.parametrize("block_bytes", [950, 4000, 20_000])
def test_fast_path_across_block_sizes(block_bytes: int, monkeypatch) -> None:
    """Blocks that hold many batches, or cut a batch anywhere, give what decoding each batch
    on its own gives with the same blocks."""
    data = _corrupt(_many_batches(99), 99, count=25)
    fast = _result(data, block_bytes=block_bytes)
    monkeypatch.setattr(reader, "MIN_COLUMNS", 10**9)
    assert _result(data, block_bytes=block_bytes) == fast


def test_clean_many_batch_file_has_no_problems() -> None:
    data = _many_batches(7, batches=120)
    records, parser = parse(data)  # strict: raises on any error
    entries = sum(1 for r in records if r.KIND == "entry_detail")
    assert parser.problems == [] and entries == parser.summary.records["entry_detail"] > 1000


# -- quiet runs: a batch whose entries break no rule is told apart from running sums -------------


def _twenty() -> list[dict]:
    """20 debit entries: enough for the block-wide path."""
    return [
        {"transaction_code": 27, "rdfi_routing": ROUTINGS[i % len(ROUTINGS)], "amount": 100 + i}
        | {"receiver_name": f"RECEIVER {i}", "dfi_account_number": f"{i:09d}"}
        for i in range(20)
    ]


def _spy_quiet(monkeypatch) -> list[bool]:
    seen: list[bool] = []
    quiet = reader._EntryFacts.quiet

    def spy(self, s: int, e: int, batch: reader._Batch) -> bool:
        seen.append(quiet(self, s, e, batch))
        return seen[-1]

    monkeypatch.setattr(reader._EntryFacts, "quiet", spy)
    return seen


@pytest.mark.parametrize(
    ("what", "start", "text", "code"),
    [
        ("check digit", 12, b"0", "nacha.entry.check_digit"),
        ("credit in a debits-only batch", 2, b"22", "nacha.entry.transaction_code"),
        ("prenote with an amount", 2, b"28", "nacha.entry.zero_amount"),
        ("indicator without addenda", 79, b"1", "nacha.entry.addenda_indicator"),
        ("trace out of order", 80, b"121042880000001", "nacha.entry.trace_order"),
        ("trace of another ODFI", 80, b"231380100000011", "nacha.entry.trace_odfi"),
        ("blank name in a WEB batch", 55, b" " * 22, "nacha.entry.individual_name"),
        ("unreadable amount", 30, b"00000X0000", "nacha.field.not_numeric"),
    ],
)
def test_a_batch_with_one_broken_entry_is_not_quiet(what: str, start: int, text: bytes, code: str, monkeypatch) -> None:
    """Each rule a quiet run stands for, broken once in the second batch's 20 entries, sends
    that batch through the rules, which name the line; the clean first batch stays quiet."""
    sec = "WEB" if "WEB" in what else "PPD"
    clean = batch(*_twenty(), service_class_code=225)
    broken = batch(*_twenty(), service_class_code=225, standard_entry_class_code=sec)
    line = 1 + 1 + 20 + 1 + 1 + 11  # file header, batch 1 and its control, batch 2's header, entry 11
    data = put(build(clean, broken), line, start, text)
    seen = _spy_quiet(monkeypatch)
    _, parser = parse(data, lenient=True)
    assert seen == [True, False], what
    assert [(p.line, p.code) for p in parser.problems if p.line == line][:1] == [(line, code)]


@pytest.mark.parametrize("seed", range(3))
def test_quiet_runs_give_what_the_rules_give(seed: int, monkeypatch) -> None:
    """The corrupted many-batch files, with the quiet test always answering no: the same."""
    data = _corrupt(_many_batches(seed), seed, count=40)
    seen = _spy_quiet(monkeypatch)
    fast = _result(data)
    assert True in seen and False in seen
    monkeypatch.setattr(reader._EntryFacts, "quiet", lambda self, s, e, batch: False)
    assert _result(data) == fast


# -- the collector and a block's records -----------------------------------------------------


def test_the_parser_never_freezes_the_heap_while_a_block_is_held() -> None:
    """``gc.freeze`` while the consumer holds a block moved the consumer's own garbage cycles
    to the permanent generation and then the oldest one: a warm Lambda grew 37 MiB over 20,000
    invocations (tests/pipeline/test_hygiene.py). The collector stays paused only inside a block."""
    import gc

    data = _many_batches(3, batches=40)
    parser = reader.NachaParser(io.BytesIO(data), block_bytes=4000)
    held = [gc.get_freeze_count() for _block in parser.iter_batches()]
    assert len(held) > 5
    assert set(held) == {0}
    assert gc.isenabled()
