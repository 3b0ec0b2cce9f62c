"""Records kept as columns, and written from them without a Python object per line.

A record (a NamedTuple of a dozen Python values) costs about a microsecond to build and as
much again to serialise, which caps a parser at well under a million lines a second however
fast its numpy validation is. So a parser that decodes lines column-wise (``Layout.columns``)
hands its clean runs of lines on as a ``Run``: the columns, which lines, and their context.
A ``Chunk`` (one block's output, in file order) mixes such runs with plain records (headers,
addenda, any line with a problem). ``Chunk.records()`` gives today's records, so the row API
is unchanged; the JSON Lines and CSV writers ask for ``jsonl_parts()`` / ``csv_parts()`` and get
a run's lines as one ``bytes``, made with numpy. (Parquet still takes the records.)

How a run's lines are made: each line is a row of byte segments, constants (keys, quotes,
separators) and cells (a field's bytes as they are in the record, with a mask of those kept:
padding spaces and leading zeros are dropped). The segments are laid side by side in one
(lines, width) array and the kept bytes taken in row order, so ``data[keep]`` is the lines,
concatenated. The bytes are exactly those of the row writers, ``orjson.dumps`` of the record's
row or ``csv.DictWriter``'s (a test compares them on the sample corpus and generated files); a
line whose text would need escaping or quoting (``"``, ``\\``; CSV: ``"``, ``,``) is left to the
row path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np
import orjson

from bankgate.parsers.fields import Columns, Field, Kind, Layout
from bankgate.parsers.problems import ProblemLog

QUOTE, BACKSLASH, COMMA, ZERO = 34, 92, 44, 48
NUMBERS = (Kind.NUMBER, Kind.AMOUNT)
_POWERS = 10 ** np.arange(18, -1, -1, dtype=np.int64)


class Run:
    """Lines ``index`` (a slice) of ``columns``, none of them bad, with their line numbers and
    the context values every one of their records carries (a NACHA entry's batch number)."""

    __slots__ = ("columns", "context", "index", "linenos")

    def __init__(self, columns: Columns, index: slice, linenos: Sequence[int], context: tuple = ()) -> None:
        self.columns, self.index, self.linenos, self.context = columns, index, linenos, context

    def __len__(self) -> int:
        return len(self.linenos)

    def records(self) -> list:
        # No line of a run is bad, so nothing is logged: the log is only the method's argument.
        return self.columns.records(self.index, self.linenos, ProblemLog(), self.context)

    @property
    def encodable(self) -> bool:
        """Whether ``_encode`` can write these lines (unsigned numbers, integer context)."""
        layout = self.columns.layout
        return all(isinstance(v, int) for v in self.context) and not any(f.sign for f in layout.emitted)


class Chunk:
    """One block's output in file order: lists of records and runs of columns."""

    __slots__ = ("_open", "pieces")

    def __init__(self) -> None:
        self.pieces: list[list | Run] = []
        self._open: list | None = None

    def append(self, record: Any) -> None:
        if self._open is None:
            self._open = []
            self.pieces.append(self._open)
        self._open.append(record)

    def extend(self, part: list | Run) -> None:
        if isinstance(part, Run):
            if len(part):
                self.pieces.append(part)
                self._open = None
        else:
            for record in part:
                self.append(record)

    def __len__(self) -> int:
        return sum(len(p) for p in self.pieces)

    def records(self) -> list:
        """Every record of the chunk, as the row API gives them."""
        out: list = []
        for piece in self.pieces:
            out += piece if isinstance(piece, list) else piece.records()
        return out

    def jsonl_parts(self) -> Iterator[list | bytes | memoryview]:
        """Lists of records for the writer to serialise, and runs' lines already serialised."""
        return self._parts(_Json())

    def csv_parts(self, columns: Sequence[str]) -> Iterator[list | bytes | memoryview]:
        """The same for CSV rows of the table ``columns`` (``bankgate.parsers.rows.union_columns``)."""
        return self._parts(_Csv(columns))

    def _parts(self, style: _Style) -> Iterator[list | bytes | memoryview]:
        """The runs over one ``Columns`` (a block's entries of one layout, in many batches) are
        encoded together, so a file of many small batches pays numpy's cost per call once per
        block, not once per batch; a line whose text needs escaping comes as a record."""
        encoded = self._encode_runs(style)
        for piece in self.pieces:
            if isinstance(piece, list):
                yield piece
            elif id(piece) not in encoded:
                yield piece.records()
            else:
                data, lengths, escape = encoded[id(piece)]
                if not escape.any():
                    yield data
                    continue
                ends = np.cumsum(lengths).tolist()
                records = piece.records()
                start = 0
                for i in np.flatnonzero(escape).tolist():
                    begin = ends[i] - int(lengths[i])
                    if begin > start:
                        yield data[start:begin]
                    yield [records[i]]
                    start = ends[i]
                if start < len(data):
                    yield data[start:]

    def _encode_runs(self, style: _Style) -> dict[int, tuple[memoryview, np.ndarray, np.ndarray]]:
        """Each encodable run's lines: (bytes, each line's length, lines that need escaping)."""
        groups: dict[int, list[Run]] = {}
        for piece in self.pieces:
            if isinstance(piece, Run) and piece.encodable:
                groups.setdefault(id(piece.columns), []).append(piece)
        out: dict[int, tuple[memoryview, np.ndarray, np.ndarray]] = {}
        for runs in groups.values():
            sizes = np.array([len(r) for r in runs])
            index = np.concatenate([np.arange(r.index.start, r.index.stop) for r in runs])
            linenos = np.concatenate([_line_numbers(r.linenos) for r in runs])
            context = [np.repeat(np.array(values, dtype=np.int64), sizes) for values in zip(*(r.context for r in runs))]
            data, lengths, escape = _encode(runs[0].columns, index, linenos, context, style)
            view = memoryview(data)
            bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
            byte_bounds = np.concatenate([[0], np.cumsum(lengths)])[bounds].tolist()
            for k, run in enumerate(runs):
                lo, hi = bounds[k], bounds[k + 1]
                out[id(run)] = (view[byte_bounds[k] : byte_bounds[k + 1]], lengths[lo:hi], escape[lo:hi])
        return out


class _Lines:
    """Lines being assembled (see the module docstring): their segments in output order,
    each constant or a column of cells (the record's own bytes, or cells made for the lines).
    A dropped byte (padding, a leading zero) is NUL, which no clean line holds, and the NULs
    are deleted from the whole block's bytes at the end."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.n = rows.shape[0]
        self.segments: list[bytes | np.ndarray] = []
        self.kept = np.zeros(self.n, dtype=np.int64)  # each line's kept bytes of its cells
        self.const_length = 0

    @property
    def lengths(self) -> np.ndarray:
        return self.kept + self.const_length

    def const(self, text: bytes) -> None:
        if not text:
            return
        last = self.segments[-1] if self.segments else None
        if isinstance(last, bytes):  # consecutive constants: one segment
            self.segments[-1] = last + text
        else:
            self.segments.append(text)
        self.const_length += len(text)

    def record_cells(self, lo: int, hi: int, kept: np.ndarray | int) -> None:
        """Bytes ``lo:hi`` of the record, ``kept`` of them per line."""
        self.segments.append(self.rows[:, lo:hi])
        self.kept += kept

    def made_cells(self, cells: np.ndarray, kept: np.ndarray | int) -> None:
        """Cells made for the lines (NUL where dropped), ``kept`` bytes of them per line."""
        self.segments.append(cells)
        self.kept += kept

    def integers(self, values: np.ndarray) -> None:
        """Non-negative decimal integers, as ``str(int)``: no leading zeros."""
        width = max(len(str(int(values.max(initial=0)))), 1)
        digits = ((values[:, None] // _POWERS[-width:]) % 10).astype(np.uint8)
        first = _first_nonzero(digits != 0, width)
        cells = digits + np.uint8(ZERO)
        cells[np.arange(width) < first[:, None]] = 0
        self.made_cells(cells, width - first)

    def build(self) -> bytes:
        """The lines, concatenated.

        The constants are written as one template row copied into every line, and each column
        of cells as one fixed-size item per line (a ``V<width>`` view): numpy's loop over a
        narrow 2-D slice pays its overhead per line and per segment, a copy of items per item.
        """
        widths = [len(s) if isinstance(s, bytes) else s.shape[1] for s in self.segments]
        total = sum(widths)
        template = np.frombuffer(
            b"".join(s if isinstance(s, bytes) else bytes(w) for s, w in zip(self.segments, widths)), dtype=f"V{total}"
        )
        out = np.empty((self.n, total), dtype=np.uint8)
        out.view(f"V{total}")[...] = template
        at = 0
        for segment, width in zip(self.segments, widths):
            if not isinstance(segment, bytes):
                out[:, at : at + width].view(f"V{width}")[...] = segment.view(f"V{width}")
            at += width
        flat = out.ravel()
        return flat[flat != 0].tobytes()  # measured faster than bytes.translate(None, b"\0")


def _first_nonzero(nonzero: np.ndarray, width: int) -> np.ndarray:
    """Each line's first nonzero digit, or its last digit when all are zero (``str(0)``)."""
    return np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), width - 1)


#: What a line holds after a constant: its line number, a context value (by position), a field,
#: or nothing (a CSV column of another record type).
_Item = str | int | Field | None
LINE = "line"


class _Style:
    """What differs between JSON Lines and CSV lines made from columns."""

    escaped: tuple[int, ...]  # bytes of text that the row path must write (quoting, escaping)
    quote = b""  # around text and digits-as-text

    def plan(self, layout: Layout) -> Iterator[tuple[bytes, _Item]]:
        """The line's items in output order, each after the constant before it."""
        raise NotImplementedError

    def end(self) -> bytes:
        raise NotImplementedError

    def value(self, v: Any) -> bytes:
        """A date or time value's text, or None's."""
        raise NotImplementedError


class _Json(_Style):
    escaped = (QUOTE, BACKSLASH)
    quote = b'"'

    def plan(self, layout: Layout) -> Iterator[tuple[bytes, _Item]]:
        yield b'{"record":' + orjson.dumps(layout.kind) + b',"line":', LINE
        for k, name in enumerate(layout.context):
            yield b"," + orjson.dumps(name) + b":", k
        for f in layout.emitted:
            yield b"," + orjson.dumps(f.name) + b":", f

    def end(self) -> bytes:
        return b"}\n"

    def value(self, v: Any) -> bytes:
        return orjson.dumps(v)


class _Csv(_Style):
    """As ``csv.DictWriter`` writes a record's row (QUOTE_MINIMAL, CRLF): a cell with a comma or a
    quote would be quoted, so such lines go to the row path; other cells are their text."""

    escaped = (QUOTE, COMMA)

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)

    def plan(self, layout: Layout) -> Iterator[tuple[bytes, _Item]]:
        assert self.columns[0] == "record", self.columns  # ``union_columns``'s order
        items: dict[str, _Item] = {LINE: LINE, **{name: k for k, name in enumerate(layout.context)}}
        items.update((f.name, f) for f in layout.emitted)
        before = layout.kind.encode()
        for name in self.columns[1:]:
            yield before + b",", items.get(name)
            before = b""

    def end(self) -> bytes:
        return b"\r\n"

    def value(self, v: Any) -> bytes:
        return b"" if v is None else (v.isoformat() if isinstance(v, date) else str(v)).encode()


def _encode(
    columns: Columns, index: np.ndarray, linenos: np.ndarray, context: list[np.ndarray], style: _Style
) -> tuple[bytes, np.ndarray, np.ndarray]:
    """The lines of lines ``index`` of ``columns``: (bytes, each line's length, lines whose
    text needs escaping: their bytes are there but must be replaced by the row path's)."""
    rows = columns.clean[index]  # a copy: dropped bytes are set to NUL in it
    lines = _Lines(rows)
    escape = np.zeros(len(rows), dtype=bool)
    for before, item in style.plan(columns.layout):
        lines.const(before)
        if item == LINE:
            lines.integers(linenos)
        elif isinstance(item, int):
            lines.integers(context[item])
        elif isinstance(item, Field):
            made = _cell(lines, item, rows, columns, index, style)
            if made is not None:
                escape |= _needs_escaping(made, style.escaped)
    lines.const(style.end())
    return lines.build(), lines.lengths, escape


def _cell(
    lines: _Lines, f: Field, rows: np.ndarray, columns: Columns, index: np.ndarray, style: _Style
) -> np.ndarray | None:
    """Add field ``f`` of the lines; its cells when it is text, which may need escaping."""
    lo, hi = f.start - 1, f.stop
    w = hi - lo
    if f.kind is Kind.DIGITS or (f.kind in NUMBERS and w == 1):  # kept whole
        quote = style.quote if f.kind is Kind.DIGITS else b""
        lines.const(quote)
        lines.record_cells(lo, hi, w)
        lines.const(quote)
        return None
    if f.kind in (Kind.DATE, Kind.TIME):  # few distinct values per block, each serialised once
        values, inverse = columns.by_value[f.name]
        encoded = [style.value(v) for v in values]
        width = max(1, *map(len, encoded))
        table = np.frombuffer(b"".join(e.ljust(width, b"\0") for e in encoded), dtype=np.uint8)
        sizes = np.array(list(map(len, encoded)))
        mine = inverse[index]
        lines.made_cells(table.reshape(len(encoded), width)[mine], sizes[mine])
        return None
    # numpy's fixed-width bytes strip like Python's, and pad the result with NULs: just what
    # the lines need (a NUL is a dropped byte).
    cells = np.ascontiguousarray(rows[:, lo:hi]).view(f"S{w}").ravel()
    if f.kind in NUMBERS:  # unsigned (``Run.encodable``): no leading zeros, but '0' for zero
        stripped = np.strings.lstrip(cells, b"0")
        stripped[np.strings.str_len(stripped) == 0] = b"0"
    else:  # TEXT
        stripped = (np.strings.strip if f.right_justified else np.strings.rstrip)(cells, b" ")
    made = stripped.astype(f"S{w}", copy=False).view(np.uint8).reshape(len(cells), w)
    text = f.kind is Kind.TEXT
    quote = style.quote if text else b""
    lines.const(quote)
    lines.made_cells(made, np.strings.str_len(stripped))
    lines.const(quote)
    return made if text else None


def _needs_escaping(cells: np.ndarray, escaped: tuple[int, ...]) -> np.ndarray:
    """Which lines of ``cells`` hold a byte of ``escaped``: one comparison per byte value,
    a third of ``np.isin``'s time on a block, and a per-line reduction only when one is there."""
    found = cells == escaped[0]
    for byte in escaped[1:]:
        found |= cells == byte
    return found.any(axis=1) if found.any() else np.zeros(len(cells), dtype=bool)


def _line_numbers(linenos: Sequence[int]) -> np.ndarray:
    if isinstance(linenos, range) and linenos.step == 1:
        return np.arange(linenos.start, linenos.stop, dtype=np.int64)
    return np.fromiter(linenos, dtype=np.int64, count=len(linenos))
