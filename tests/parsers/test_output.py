"""Records out as JSON Lines, CSV and Parquet: values survive whatever they contain.

JSON Lines is written a block at a time with one ``orjson.dumps`` call and split on ``},{``;
these tests feed it the strings that could break that trick (quotes, backslashes, ``},{``
itself, control characters, non-ASCII) and nested values, and check every line is one
object holding exactly the record's values.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from bankgate.parsers.bai2 import Bai2Parser
from bankgate.parsers.nacha import NachaParser
from bankgate.parsers.output import FORMATS, write_csv, write_jsonl, write_parquet, write_records
from bankgate.parsers.rows import union_columns
from tests.parsers.nacha_helpers import batch, build, line_number, put

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[2]
BAI2_SAMPLE = ROOT / "samples" / "bai2" / "daily-balances.bai"

#: Strings that would break a naive "split the JSON array on '},{'" or a hand-rolled encoder.
NASTY = (
    'say "hi"',
    "back\\slash\\",
    "},{",
    '"},{"',
    "}\n{",
    "a},{b},{c",
    "tab\there\r\nnew line",
    "nul\x00 esc\x1b del\x7f bell\x07",
    "caf\xe9 \xff \u20ac \U0001f600",
    "",
    "[{}]",
    "\\u0000",
)


class Row(NamedTuple):
    KIND = "row"
    line: int
    text: str
    amount: int | None
    day: date | None


class Other(NamedTuple):
    KIND = "other"
    line: int
    text: str
    nested: list[dict[str, Any]] | None
    flag: bool | None


def as_json(value: Any) -> Any:
    """What a value looks like once read back from JSON (dates as ISO text)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    return value


def expected_row(record: Any) -> dict[str, Any]:
    return {"record": record.KIND, **{k: as_json(v) for k, v in record._asdict().items()}}


def jsonl(batches: list[list[Any]]) -> list[dict[str, Any]]:
    out = io.BytesIO()
    write_jsonl(batches, out)
    data = out.getvalue()
    assert data == b"" or data.endswith(b"\n")
    lines = data.decode("utf-8").split("\n")[:-1] if data else []
    rows = [json.loads(line) for line in lines]  # one object per line, or this fails
    assert all(isinstance(row, dict) for row in rows)
    return rows


def nasty_rows() -> list[Row]:
    return [Row(i + 1, text, i * 100, date(2026, 1, 1 + i % 28)) for i, text in enumerate(NASTY)]


# -- JSON Lines ------------------------------------------------------------------------------


def test_jsonl_plain_block_is_one_object_per_line() -> None:
    records = [Row(i, f"name {i}", i, None) for i in range(1, 501)]
    assert jsonl([records]) == [expected_row(r) for r in records]


@pytest.mark.parametrize("text", NASTY)
def test_jsonl_value_among_plain_rows(text: str) -> None:
    """One awkward value in the middle of a block of ordinary rows."""
    records = [Row(i, "plain", i, date(2026, 2, 3)) for i in range(1, 50)]
    records[25] = Row(26, text, None, None)
    assert jsonl([records]) == [expected_row(r) for r in records]


def test_jsonl_every_nasty_value_in_one_block_and_one_per_block() -> None:
    records = nasty_rows()
    assert jsonl([records]) == [expected_row(r) for r in records]
    assert jsonl([[r] for r in records]) == [expected_row(r) for r in records]


def test_jsonl_line_count_is_record_count_even_with_newlines_in_values() -> None:
    records = [Row(i, "line\nbreak\r\n" * 3, i, None) for i in range(1, 11)]
    out = io.BytesIO()
    write_jsonl([records], out)
    assert out.getvalue().count(b"\n") == len(records)


def test_jsonl_mixed_record_classes_and_nested_values() -> None:
    nested = [{"a": 1, "b": "},{"}, {"c": None, "d": [1, 2, {"e": "x"}]}]
    records = [
        Row(1, "first", 1, None),
        Other(2, "x", nested, True),
        Other(3, "y", None, False),
        Row(4, "},{", 2, date(2026, 3, 4)),
        Other(5, "z", [], None),
    ]
    assert jsonl([records]) == [expected_row(r) for r in records]


def test_jsonl_batches_keep_order_and_skip_empty_ones() -> None:
    records = nasty_rows()
    assert jsonl([[], records[:3], [], records[3:], []]) == [expected_row(r) for r in records]


def weird_nacha() -> bytes:
    """A NACHA file whose receiver names hold quotes, backslashes, '},{', control and 8-bit bytes."""
    data = build(
        batch(
            {"receiver_name": 'A "QUOTED" NAME'},
            {"receiver_name": "BACK\\SLASH },{ X"},
            {"receiver_name": "PLAIN NAME"},
        )
    )
    entry = line_number(data, b"6", nth=3)
    return put(data, entry, 55, b"J\xe9R\xd4ME\x00\x01\x1b\x7f\xff")


def test_jsonl_of_lenient_nacha_with_control_and_non_ascii_bytes() -> None:
    parser = NachaParser(io.BytesIO(weird_nacha()), lenient=True)
    records = list(parser)
    assert any(p.field == "receiver_name" for p in parser.problems)
    rows = jsonl([records])
    assert rows == [expected_row(r) for r in records]
    names = [row["receiver_name"] for row in rows if row["record"] == "entry_detail"]
    assert names[0] == 'A "QUOTED" NAME'
    assert names[1] == "BACK\\SLASH },{ X"
    assert names[2].startswith("J\xe9R\xd4ME\x00\x01\x1b\x7f\xff")


def bai2_records() -> tuple[list[Any], Bai2Parser]:
    with open(BAI2_SAMPLE, "rb") as f:
        parser = Bai2Parser(f)
        return list(parser), parser


def test_jsonl_bai2_nested_summaries_and_funds_survive() -> None:
    records, _ = bai2_records()
    rows = jsonl([records])
    assert rows == [expected_row(r) for r in records]
    accounts = [(r, row) for r, row in zip(records, rows) if r.KIND == "account_identifier"]
    assert accounts and all(row["summaries"] == as_json(r.summaries) for r, row in accounts)
    assert any(row["summaries"] for _, row in accounts)


# -- CSV -------------------------------------------------------------------------------------


def read_csv(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def test_csv_bai2_nested_values_are_json_text() -> None:
    records, parser = bai2_records()
    out = io.BytesIO()
    write_csv([records], out, parser.record_classes)
    header, rows = read_csv(out.getvalue())
    assert header == union_columns(parser.record_classes)
    assert header[0] == "record"
    assert len(rows) == len(records)
    for record, row in zip(records, rows):
        assert row["record"] == record.KIND
        if record.KIND == "account_identifier":
            assert json.loads(row["summaries"]) == as_json(record.summaries)
        if record.KIND == "transaction_detail":
            assert row["amount"] == ("" if record.amount is None else str(record.amount))
            assert (json.loads(row["funds"]) if row["funds"] else None) == as_json(record.funds)
        if record.KIND == "file_header":
            assert row["creation_date"] == record.creation_date.isoformat()
            assert row["block_size"] == ""  # None is an empty cell


def test_csv_keeps_nasty_strings() -> None:
    records = nasty_rows()
    out = io.BytesIO()
    write_csv([records], out, [Row])
    header, rows = read_csv(out.getvalue())
    assert header == ["record", "line", "text", "amount", "day"]
    assert [row["text"] for row in rows] == list(NASTY)
    assert [int(row["amount"]) for row in rows] == [r.amount for r in records]


def test_csv_leaves_the_stream_open() -> None:
    out = io.BytesIO()
    write_csv([nasty_rows()], out, [Row])
    assert not out.closed
    out.write(b"")  # still usable by the caller


# -- Parquet ---------------------------------------------------------------------------------


def read_parquet(data: bytes) -> Any:
    return pq.read_table(io.BytesIO(data))


def test_parquet_schema_types() -> None:
    records = [Row(1, "a", 5, date(2026, 1, 2)), Other(2, "b", [{"k": "},{"}], True), Row(3, "c", None, None)]
    out = io.BytesIO()
    write_parquet([records], out, [Row, Other])
    table = read_parquet(out.getvalue())
    schema = table.schema
    assert schema.names == ["record", "line", "text", "amount", "day", "nested", "flag"]
    assert schema.field("record").type == pa.string()
    assert schema.field("line").type == pa.int64()
    assert schema.field("amount").type == pa.int64()
    assert schema.field("day").type == pa.date32()
    assert schema.field("text").type == pa.string()
    assert schema.field("nested").type == pa.string()  # nested values are JSON text
    assert schema.field("flag").type == pa.bool_()
    rows = table.to_pylist()
    assert rows[0] == {
        "record": "row",
        "line": 1,
        "text": "a",
        "amount": 5,
        "day": date(2026, 1, 2),
        "nested": None,
        "flag": None,
    }
    assert json.loads(rows[1]["nested"]) == [{"k": "},{"}]
    assert rows[2]["amount"] is None and rows[2]["day"] is None


def test_parquet_bai2_nested_values_as_json_strings() -> None:
    records, parser = bai2_records()
    out = io.BytesIO()
    write_parquet([records], out, parser.record_classes)
    table = read_parquet(out.getvalue())
    assert table.num_rows == len(records)
    assert table.schema.field("summaries").type == pa.string()
    assert table.schema.field("amount").type == pa.int64()
    assert table.schema.field("creation_date").type == pa.date32()
    for record, row in zip(records, table.to_pylist()):
        assert row["record"] == record.KIND
        if record.KIND == "account_identifier":
            assert json.loads(row["summaries"]) == as_json(record.summaries)


def test_parquet_nasty_strings_and_many_blocks() -> None:
    records = nasty_rows()
    out = io.BytesIO()
    write_parquet([records[:4], [], records[4:]], out, [Row])
    table = read_parquet(out.getvalue())
    assert table.column("text").to_pylist() == list(NASTY)
    assert table.column("day").to_pylist() == [r.day for r in records]


def test_parquet_column_first_filled_in_a_later_block() -> None:
    """A record type first seen after the first block (an addenda record deep in a big file)
    must not make the writer fail: the column typed from the first block was all null."""
    first = [Row(1, "a", 1, None)]
    later = [Other(2, "b", [{"x": 1}], True)]
    out = io.BytesIO()
    write_parquet([first, later], out, [Row, Other])
    rows = read_parquet(out.getvalue()).to_pylist()
    assert [r["record"] for r in rows] == ["row", "other"]
    assert json.loads(rows[1]["nested"]) == [{"x": 1}]
    assert str(rows[1]["flag"]) == "True"  # kept, as text, since the column was typed string


# -- empty input, dispatch -------------------------------------------------------------------


@pytest.mark.parametrize("batches", [[], [[]], [[], []]], ids=["no-batches", "one-empty", "two-empty"])
def test_empty_input_gives_valid_empty_output(batches: list[list[Any]]) -> None:
    out = io.BytesIO()
    write_jsonl(iter(batches), out)
    assert out.getvalue() == b""

    out = io.BytesIO()
    write_csv(iter(batches), out, [Row, Other])
    header, rows = read_csv(out.getvalue())
    assert header == ["record", "line", "text", "amount", "day", "nested", "flag"]
    assert rows == []

    out = io.BytesIO()
    write_parquet(iter(batches), out, [Row, Other])
    table = read_parquet(out.getvalue())
    assert table.num_rows == 0
    assert table.schema.names == ["record", "line", "text", "amount", "day", "nested", "flag"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_records_dispatches(fmt: str) -> None:
    records = nasty_rows()
    out = io.BytesIO()
    write_records(fmt, [records], out, [Row])
    data = out.getvalue()
    if fmt == "jsonl":
        assert [json.loads(line)["text"] for line in data.decode().split("\n")[:-1]] == list(NASTY)
    elif fmt == "csv":
        assert [row["text"] for row in read_csv(data)[1]] == list(NASTY)
    else:
        assert read_parquet(data).column("text").to_pylist() == list(NASTY)


def test_write_records_unknown_format() -> None:
    with pytest.raises(ValueError, match="jsonl, csv, parquet"):
        write_records("xml", [], io.BytesIO(), [Row])


def test_the_output_formats_are_one_table() -> None:
    """Name, extension, content type and writer of each format live in one record."""
    from bankgate.parsers.output import OUTPUT_FORMATS, output_format

    assert [(f.name, f.extension, f.content_type) for f in OUTPUT_FORMATS.values()] == [
        ("jsonl", "jsonl", "application/x-ndjson"),
        ("csv", "csv", "text/csv"),
        ("parquet", "parquet", "application/vnd.apache.parquet"),
    ]
    assert tuple(OUTPUT_FORMATS) == FORMATS and all(output_format(name).name == name for name in FORMATS)
    with pytest.raises(ValueError, match="unknown output format 'xml': use one of jsonl, csv, parquet"):
        output_format("xml")


def test_a_format_added_to_the_table_is_one_the_pipeline_routes_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline's config check, output name, content type and writer all come from the one
    row: nothing else in the pipeline knows the formats."""
    from bankgate.config import PipelineConfig, Route
    from bankgate.parsers.output import OUTPUT_FORMATS, OutputFormat
    from bankgate.pipeline import Pipeline, StagedObject

    def write_counts(batches, out, record_classes) -> None:
        out.write(b"%d\n" % sum(len(batch) for batch in batches))

    monkeypatch.setitem(OUTPUT_FORMATS, "count", OutputFormat("count", "n", "text/plain", write_counts))
    staged = tmp_path / "staging/inbound/acme/d/payroll.ach"
    staged.parent.mkdir(parents=True)
    staged.write_bytes((ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes())
    config = PipelineConfig(
        staging=f"file://{tmp_path}/staging",
        archive=f"file://{tmp_path}/archive",
        quarantine=f"file://{tmp_path}/quarantine",
        ledger=f"file://{tmp_path}/ledger",
        routes={"*": Route(f"file://{tmp_path}/processed/", format="count")},
    )
    outcome = Pipeline(config).process(StagedObject("inbound/acme/d/payroll.ach"))
    assert outcome.status == "processed", outcome.reason
    [output] = [p for p in (tmp_path / "processed").rglob("*") if p.is_file() and ".meta" not in p.parts]
    assert output.name == "payroll.ach.n" and output.read_bytes() == b"12\n"
