"""Physical records of fixed-width files, read in blocks with bounded memory.

Real bank files arrive with LF or CRLF line ends, with trailing spaces stripped (short
lines), with extra trailing spaces, or with no line breaks at all. This module turns any of
those into blocks of equal-length records as a numpy array, with each record's line number,
reading a few MiB at a time so memory does not grow with the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np

from bankgate.parsers.problems import ProblemLog

BLOCK_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class LengthMode:
    """How strictly a line must have the record length (a layout's ``record_length_mode``).

    ``pad``: a shorter line is padded with spaces, and a longer one may carry trailing
    spaces (transfer tools strip or add them). ``at_least``: a longer line's positions past
    the record length are ignored (banks append their own data there; such lines are never
    split into several records). Neither: every line has exactly the record length.
    """

    pad: bool = True
    at_least: bool = False

    def expected(self, length: int) -> str:
        return f"at least {length}" if self.at_least else f"{length}"


#: Today's default and NACHA's: short lines padded, trailing spaces allowed, no trailing data.
PAD = LengthMode()


class Block:
    """Equal-length records (``rows``, an (n, length) uint8 array) and their line numbers."""

    __slots__ = ("linenos", "rows")

    def __init__(self, rows: np.ndarray, linenos: Sequence[int]) -> None:
        self.rows = rows
        self.linenos = linenos

    def __len__(self) -> int:
        return self.rows.shape[0]


def iter_blocks(
    stream: IO[bytes],
    length: int,
    log: ProblemLog,
    *,
    translate: bytes | None = None,
    block_bytes: int = BLOCK_BYTES,
    mode: LengthMode = PAD,
) -> Iterator[Block]:
    """Yield blocks of ``length``-byte records from ``stream``.

    ``translate`` is a 256-byte table applied to every byte first (EBCDIC to ASCII).
    Line-break mode or "no line breaks" mode is chosen from the start of the file.
    ``mode`` says which lines of another length are records (see ``LengthMode``).
    """
    first = stream.read(block_bytes).removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM from a text editor
    if translate is not None:
        first = first.translate(translate)
    if not first:
        return
    end = _first_break(first)
    # Line breaks if the first line is one record: short, exact, or with trailing spaces.
    if end >= 0 and (end <= length + 1 or mode.at_least or not first[length:end].strip(b" ")):
        yield from _line_blocks(first, stream, length, log, translate, block_bytes, mode)
    else:
        yield from _unbroken_blocks(first, stream, length, log, translate, block_bytes)


def _line_blocks(
    data: bytes,
    stream: IO[bytes],
    length: int,
    log: ProblemLog,
    translate: bytes | None,
    block_bytes: int,
    mode: LengthMode,
) -> Iterator[Block]:
    # Classic Mac line ends: no LF right after the first line (which may carry trailing spaces).
    cr_only = b"\n" not in data[: max(_first_break(data), length) + 2]
    lineno = 1
    carry = b""
    while data:
        if cr_only:
            data = data.replace(b"\r", b"\n")
        chunk = carry + data
        data = stream.read(block_bytes)
        if translate is not None and data:
            data = data.translate(translate)
        if data:
            cut = chunk.rfind(b"\n") + 1  # cutting after LF keeps every CRLF whole
            if cut == 0:
                if len(chunk) > 4 * block_bytes:
                    message = f"line longer than {len(chunk)} bytes: not a fixed-width file"
                    log.add(lineno, "file", None, message, code=f"{log.namespace}.file.line_too_long")
                    return
                carry = chunk
                continue
            chunk, carry = chunk[:cut], chunk[cut:]
        else:
            carry = b""
        block = _uniform_block(chunk, lineno, length, mode)
        if block is not None:
            lineno += len(block)
            yield block
            continue
        lines = chunk.splitlines()
        block = _to_block(lines, lineno, length, log, mode)
        lineno += len(lines)
        if block is not None:
            yield block


def _first_break(data: bytes) -> int:
    """Index of the first CR or LF in ``data``, or -1."""
    found = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    return min(found, default=-1)


def _uniform_block(chunk: bytes, lineno: int, length: int, mode: LengthMode) -> Block | None:
    """The common case, decided without splitting: every line ``length`` + LF or CRLF (or, when
    longer lines are records, every line as long as the first one)."""
    widths = [length]
    if mode.at_least:
        first = chunk.find(b"\n")
        if first > length:
            widths += [first, first - 1]
    for width in widths:
        for ending in (b"\n", b"\r\n"):
            stride = width + len(ending)
            if len(chunk) % stride or chunk[width : width + len(ending)] != ending:
                continue
            grid = np.frombuffer(chunk, dtype=np.uint8).reshape(-1, stride)
            if (grid[:, width:] == np.frombuffer(ending, dtype=np.uint8)).all():
                return Block(grid[:, :length], range(lineno, lineno + grid.shape[0]))
    return None


def _to_block(lines: list[bytes], lineno: int, length: int, log: ProblemLog, mode: LengthMode) -> Block | None:
    if not lines:
        return None
    if len(lines[0]) == length and all(len(line) == length for line in lines):
        rows = np.frombuffer(b"".join(lines), dtype=np.uint8).reshape(-1, length)
        return Block(rows, range(lineno, lineno + len(lines)))
    kept: list[bytes] = []
    numbers: list[int] = []
    for offset, line in enumerate(lines):
        number = lineno + offset
        if len(line) == length:
            kept.append(line)
        elif not line.strip():
            continue  # blank lines carry nothing; line numbers still count them
        elif len(line) < length:
            if not mode.pad:
                message = f"line is {len(line)} characters long, expected {mode.expected(length)}"
                log.add(number, "file", None, message, code=f"{log.namespace}.file.record_length")
            kept.append(line.ljust(length))
        elif mode.at_least or (mode.pad and not line[length:].strip()):
            kept.append(line[:length])
        elif len(line) % length == 0:
            # Several records on one physical line (a file re-wrapped by a transfer tool).
            for start in range(0, len(line), length):
                kept.append(line[start : start + length])
                numbers.append(number)
            continue
        else:
            message = f"line is {len(line)} characters long, expected {mode.expected(length)}"
            log.add(number, "file", None, message, code=f"{log.namespace}.file.record_length")
            kept.append(line[:length])
        numbers.append(number)
    if not kept:
        return None
    rows = np.frombuffer(b"".join(kept), dtype=np.uint8).reshape(-1, length)
    return Block(rows, numbers)


def _unbroken_blocks(
    data: bytes,
    stream: IO[bytes],
    length: int,
    log: ProblemLog,
    translate: bytes | None,
    block_bytes: int,
) -> Iterator[Block]:
    """A file with no line breaks: records are every ``length`` bytes; "line" is the record number."""
    record = 1
    carry = b""
    while data:
        chunk = carry + data
        data = stream.read(block_bytes)
        if translate is not None and data:
            data = data.translate(translate)
        usable = len(chunk) - len(chunk) % length
        if not data:
            tail = chunk[usable:].rstrip(b"\r\n\x1a ")  # trailing newline or DOS EOF mark
            if tail:
                log.add(
                    record + usable // length,
                    "file",
                    None,
                    f"last record is {len(tail)} characters long, expected {length}",
                    code=f"{log.namespace}.file.record_length",
                )
                chunk = chunk[:usable] + tail.ljust(length)
                usable += length
        carry = chunk[usable:]
        if usable:
            rows = np.frombuffer(chunk[:usable], dtype=np.uint8).reshape(-1, length)
            yield Block(rows, range(record, record + rows.shape[0]))
            record += rows.shape[0]
