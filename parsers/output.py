"""Records out as JSON Lines, CSV or Parquet, streamed a block of records at a time.

JSON Lines keeps every record in file order with its own fields (the faithful form). CSV
and Parquet are tables: their columns are the union of the fields of every record type the
parser can yield, with a ``record`` column naming the type, so one file holds the lot and
filters like ``record == 'entry_detail'`` give the classic one-table-per-type view.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import groupby
from typing import IO, Any

import orjson

from bankgate.parsers.rows import ColumnChunk, gc_paused, records_of, union_columns


@lru_cache(maxsize=512)
def _row_builder(cls: type[Any]) -> Callable[[tuple], dict[str, Any]]:
    """A function turning one record into a dict with ``record`` first.

    Built once per record class as a dict display with constant keys: about three times
    faster than ``{"record": ..., **r._asdict()}``, which matters at a million records/s.
    Field names are identifiers (NamedTuple guarantees it), so the generated code is safe.
    """
    items = ", ".join(f"{name!r}: r[{i}]" for i, name in enumerate(cls._fields))
    return eval(f"lambda r: {{'record': {cls.KIND!r}, {items}}}")


class _Rows:
    """Caches a row builder per record class."""

    def __init__(self) -> None:
        self._builders: dict[type, Callable[[tuple], dict[str, Any]]] = {}

    def builder(self, cls: type) -> Callable[[tuple], dict[str, Any]]:
        build = self._builders.get(cls)
        if build is None:
            build = self._builders[cls] = _row_builder(cls)
        return build

    def __call__(self, record: tuple) -> dict[str, Any]:
        return self.builder(type(record))(record)


@lru_cache(maxsize=512)
def _row_filler(cls: type[Any]) -> Callable[[tuple], dict[str, Any]]:
    """Like ``_row_builder``, but the function fills one dict kept for the class, in place.

    JSON Lines are written as soon as a row is made, so one dict per class can serve every
    record: storing into its existing keys measured a quarter faster than building a new
    13-key dict per entry. Only for a caller that serialises the dict before the next call.
    """
    row = dict.fromkeys(("record", *cls._fields))
    row["record"] = cls.KIND
    lines = "".join(f"    row[{name!r}] = r[{i}]\n" for i, name in enumerate(cls._fields))
    namespace: dict[str, Any] = {"row": row}
    exec(f"def fill(r):\n{lines}    return row\n", namespace)
    return namespace["fill"]


def write_jsonl(batches: Iterable[list | ColumnChunk], out: IO[bytes], record_classes: Iterable[type] = ()) -> None:
    """One JSON object per line; a block's lines are gathered in one buffer per write. (Each
    record names its own fields: ``record_classes``, the table formats' columns, is not needed.)

    Appending each ``orjson.dumps`` result to a bytearray and dropping it at once measured
    four times faster than serialising the block as one list and splitting it, and far
    faster than keeping thousands of small results alive for a ``join``. A column chunk's
    clean runs come as bytes made from the columns (``bankgate.parsers.columnar``), the same bytes.
    """
    for batch in batches:
        if isinstance(batch, list):
            if batch:
                out.write(_jsonl_lines(batch))
            continue
        buffer = bytearray()
        for part in batch.jsonl_parts():  # a column chunk: runs of lines come already made
            buffer += _jsonl_lines(part) if isinstance(part, list) else part
        out.write(buffer)


def _jsonl_lines(records: list) -> bytearray:
    option = orjson.OPT_APPEND_NEWLINE
    dumps = orjson.dumps
    buffer = bytearray()
    with gc_paused():  # rows are plain dicts of scalars: no cycles for the GC to find
        for cls, run in groupby(records, type):
            fill = _row_filler(cls)
            for record in run:
                buffer += dumps(fill(record), option=option)
    return buffer


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv(batches: Iterable[list | ColumnChunk], out: IO[bytes], record_classes: Iterable[type[Any]]) -> None:
    columns = union_columns(record_classes)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="raise")
    writer.writeheader()
    rows = _Rows()
    for batch in batches:
        # A column chunk's clean runs come as rows already made (``bankgate.parsers.columnar``), the same bytes;
        # ``write_through`` hands every text write to ``out`` at once, so the two interleave in order.
        parts = [batch] if isinstance(batch, list) else batch.csv_parts(columns)
        for part in parts:
            if isinstance(part, list):
                writer.writerows({k: _cell(v) for k, v in rows(r).items()} for r in part)
            else:
                out.write(part)
    text.flush()
    text.detach()


def write_parquet(batches: Iterable[list | ColumnChunk], out: IO[bytes], record_classes: Iterable[type[Any]]) -> None:
    """Parquet with a schema fixed by the first block; nested values are stored as JSON text."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("Parquet output needs pyarrow: pip install 'bankgate[parquet]'") from exc
    columns = union_columns(record_classes)
    rows = _Rows()
    writer = None
    schema = None
    try:
        for chunk in batches:
            batch = records_of(chunk)
            if not batch:
                continue
            data: dict[str, list] = {c: [] for c in columns}
            for r in batch:
                row = rows(r)
                for c in columns:
                    value = row.get(c)
                    data[c].append(orjson.dumps(value).decode() if isinstance(value, (list, dict)) else value)
            if schema is None:
                schema = pa.schema([(c, _arrow_type(pa, data[c])) for c in columns])
                writer = pq.ParquetWriter(out, schema, compression="zstd")
            try:
                table = pa.table(data, schema=schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                # A column all null in the first block was typed string; a record type first seen
                # in a later block has other values there: keep them, as text.
                for c, kind in zip(columns, schema.types):
                    if kind == pa.string():
                        data[c] = [v if v is None or isinstance(v, str) else str(_cell(v)) for v in data[c]]
                table = pa.table(data, schema=schema)
            writer.write_table(table)  # type: ignore[union-attr]
        if writer is None:
            writer = pq.ParquetWriter(out, pa.schema([(c, pa.string()) for c in columns]))
    finally:
        if writer is not None:
            writer.close()


def _arrow_type(pa: Any, values: list) -> Any:
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            return pa.bool_()
        if isinstance(value, int):
            return pa.int64()
        if isinstance(value, date):
            return pa.date32()
        return pa.string()
    return pa.string()


Writer = Callable[[Iterable[list | ColumnChunk], IO[bytes], Iterable[type]], None]


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """Everything that differs between output formats, in one record: the CLI's ``--output``,
    the pipeline config's ``format``, the extension and content type of an output object, and
    the function that writes it. Add a format by adding a row to ``OUTPUT_FORMATS``."""

    name: str
    extension: str  # without the dot
    content_type: str
    write: Writer


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("jsonl", "jsonl", "application/x-ndjson", write_jsonl),
        OutputFormat("csv", "csv", "text/csv", write_csv),
        OutputFormat("parquet", "parquet", "application/vnd.apache.parquet", write_parquet),
    )
}
#: The format names, for ``choices=`` and error messages.
FORMATS = tuple(OUTPUT_FORMATS)


def output_format(name: str) -> OutputFormat:
    """The format called ``name``; ValueError naming the valid ones for any other."""
    try:
        return OUTPUT_FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r}: use one of {', '.join(FORMATS)}") from None


def write_records(
    fmt: str, batches: Iterable[list | ColumnChunk], out: IO[bytes], record_classes: Iterable[type]
) -> None:
    output_format(fmt).write(batches, out, record_classes)
