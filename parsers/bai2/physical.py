"""From a byte stream to BAI2 logical records, with bounded memory.

BAI2 separates *physical* records (lines, or fixed-length blocks) from *logical* records (a
record code and its fields, ended by "/"). What banks actually send, and what this handles:

* LF, CRLF or CR line ends; trailing spaces (lines padded to the declared physical record
  length, often 80); a UTF-8 BOM; a DOS end-of-file mark; blank lines (skipped).
* No line breaks at all, when the file header declares a physical record length, or when the
  file header is padded with spaces up to the next record (the length is then the header's
  padded length): the file is cut every that many bytes (the "line" number is then the
  physical record number).
* Several records on one line ("...,2/02,..."): after a "/" that ends a record, whatever
  follows on the line is the next record if it starts with a record code, else a warning.
* 88 continuation records, merged into the record they continue; the logical record keeps
  the line where it starts and counts its physical records (trailer counts include 88s).

The 16 record is the exception to "/" ending a record: its last field is free text that may
contain "/" and runs to the end of the physical record, so a 16 record (and an 88 continuing
one) takes the rest of its line, unless a "/" there is followed by a record that can follow a
16: another 16 with its 3-digit type code, or a 49 with its two numbers (``_AFTER_TEXT``).
Splitting there is the safe reading of the ambiguity: a record wrongly split off text makes
the account's totals disagree, loudly, where a 16 wrongly read as text would vanish. A single
"/" ending the whole record is dropped, as most banks end every record with one.

Some banks wrap a long 16 text onto the next line without an 88: a line that does not start
with a record code, right after a 16, continues its text (a warning). Senders count such a
line as a physical record or not, so ``Logical.unmarked`` tells the trailer checks how many
there are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import IO, NamedTuple

from bankgate.parsers.bai2.records import parse_date, parse_time, title
from bankgate.parsers.problems import ProblemLog

CHUNK_BYTES = 256 << 10
#: A BAI2 line is short; a "line" longer than this means a file we cannot read line by line.
MAX_LINE_BYTES = 1 << 20
BOM = b"\xef\xbb\xbf"

_RECORD_START = re.compile(r"[0-9]{2}[,/]")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STRIP = " \t\r\n\x1a"
_HEADER_LENGTH = re.compile(rb"01,(?:[^,/\r\n]*,){5}([0-9]{1,4})[,/]")
#: A "/" in a 16's text that ends it: the next record (another 16, or the 49) follows.
_AFTER_TEXT = re.compile(r"/[ \t]*(?=16,[0-9]{3}[,/]|49, *[+-]?[0-9]* *, *[0-9]* *(?:[,/]|$))")


class Logical(NamedTuple):
    """One logical record: ``text`` is everything after "NN,", continuations joined."""

    code: str  # the two-character record code; "" when the line does not start with one
    line: int  # physical line (or record number) where the record starts
    text: str
    physical: int  # physical records it spans: 1 + its 88 continuations + unmarked lines
    unmarked: int = 0  # of those, lines continuing a 16's text without an 88


def physical_lines(stream: IO[bytes], log: ProblemLog) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, bytes) for each physical record, reading the stream in chunks."""
    first = stream.read(CHUNK_BYTES)
    if first.startswith(BOM):
        first = first[len(BOM) :]
    if not first:
        return
    if b"\n" in first:
        separator = b"\n"  # CRLF: the CR goes with the trailing spaces
    elif b"\r" in first:
        separator = b"\r"
    else:
        length = _declared_record_length(first)
        if length:
            yield from _fixed_records(first, stream, length)
            return
        separator = b"\n"
    pending = first
    number = 0
    while True:
        data = stream.read(CHUNK_BYTES)
        lines = pending.split(separator)
        tail = lines.pop()
        for raw in lines:
            number += 1
            yield number, raw
        if not data:
            if tail:
                yield number + 1, tail
            return
        if len(tail) > MAX_LINE_BYTES:
            message = f"line is longer than {MAX_LINE_BYTES} bytes: not a BAI2 file"
            log.add(number + 1, "file", None, message, code="bai2.file.line_too_long")
            return
        pending = tail + data


def _declared_record_length(head: bytes) -> int | None:
    """Physical record length of a file without line breaks, if the next record starts there.

    The file header's record length field says it; when that is blank (or wrong), the
    header's padding does: spaces after the 01's "/" up to the next record.
    """
    end = head.find(b"/") + 1
    match = _HEADER_LENGTH.match(head)
    # The header is a physical record of its own: only padding follows it up to the length
    # (records after it on the same line are a file with no fixed length, whatever it declares).
    if (
        match
        and end <= int(match[1])
        and not head[end : int(match[1])].strip()
        and _starts_records(head, int(match[1]))
    ):
        return int(match[1])
    length = end + len(head[end:]) - len(head[end:].lstrip(b" "))
    # One space after the "/" separates the next record on the same line; padding is more.
    if end and length > end + 1 and _starts_records(head, length):
        return length
    return None


def _starts_records(head: bytes, length: int) -> bool:
    """Records start at ``length`` and, as far as ``head`` goes, at twice that, unless the
    physical record there continues the text of a 16 in the one before (wrapped without an 88)."""
    if not 10 <= length < len(head):
        return False
    second, third = head[length : length + 3], head[2 * length : 2 * length + 3]
    if second.strip() and not _RECORD_START.match(second.decode("latin-1")):
        return False
    wrapped_text = b"16," in head[length : 2 * length]
    return not third.strip() or bool(_RECORD_START.match(third.decode("latin-1"))) or wrapped_text


def _fixed_records(first: bytes, stream: IO[bytes], length: int) -> Iterator[tuple[int, bytes]]:
    buffer = first
    number = 0
    while True:
        usable = len(buffer) - len(buffer) % length
        for start in range(0, usable, length):
            number += 1
            yield number, buffer[start : start + length]
        buffer = buffer[usable:]
        data = stream.read(CHUNK_BYTES)
        if not data:
            break
        buffer += data
    if buffer.strip():
        yield number + 1, buffer


def _text(raw: bytes) -> str:
    """UTF-8 if it is, else Latin-1 (bank text with accents comes in both); never fails."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def join_segments(segments: list[str]) -> str:
    """Join a record and its continuations into one field string.

    A physical record ends a field: where it ends with "/" or nothing, the join is a line
    feed (a field break that reads as a space inside 16 text); after a "," the next field
    simply follows. A "/" ending the whole record is dropped.
    """
    text = segments[0]
    for segment in segments[1:]:
        if text.endswith("/"):
            text = text[:-1] + "\n" + segment
        elif text.endswith(",") or not text:
            text += segment
        else:
            text += "\n" + segment
    return text[:-1] if text.endswith("/") else text


def _split_text(text: str) -> tuple[str, str]:
    """A 16's text (or its continuation) and what follows it on the line (see ``_AFTER_TEXT``)."""
    slash = text.find("/")
    if slash < 0 or slash == len(text) - 1:  # most texts: no "/", or only the one ending them
        return text, ""
    match = _AFTER_TEXT.search(text, slash)
    if match is None:
        return text, ""
    return text[: match.start() + 1], text[match.end() :]


def _cut_record(text: str, code: str, number: int, log: ProblemLog) -> tuple[str, str]:
    """A record that is not a 16's text, up to the "/" that ends it, and what follows on the
    line: the next record, or text that is not one (reported and dropped)."""
    end = text.find("/") + 1
    piece, text = (text, "") if end == 0 else (text[:end], text[end:].lstrip(_STRIP))
    if text and not _RECORD_START.match(text):
        message = f"ignored text after the end of the record: {text[:40]!r}"
        log.add(number, title(code), None, message, code="bai2.record.trailing_text")
        text = ""
    return piece, text


def logical_records(lines: Iterable[tuple[int, bytes]], log: ProblemLog) -> Iterator[Logical]:
    """Cut physical lines into records and merge continuations into the record before.

    An 88 with no record before it comes out as a record of its own (code "88") for the
    parser to report.
    """
    code = ""
    line = 0
    segments: list[str] = []
    physical = 0
    unmarked = 0
    for number, raw in lines:
        text = _text(raw).strip(_STRIP)
        if not text:
            continue
        if _CONTROL.search(text):
            message = f"contains control characters: {text[:40]!r}"
            log.add(number, title(text[:2]), None, message, code="bai2.record.control_characters")
        piece_code = text[:2] if _RECORD_START.match(text[:3] + "/") else ""
        if not piece_code and code == "16" and physical:
            piece, text = _split_text(text)  # the 16's text, wrapped onto this line without an 88
            message = f"continues the text of the record on line {line} without a continuation (88) record"
            log.add(number, title(code), None, message, code="bai2.record.continuation_without_88")
            segments.append(piece)
            physical += 1
            unmarked += 1
            piece_code = text[:2] if _RECORD_START.match(text[:3] + "/") else ""
        while text:
            if piece_code == "16" or (piece_code == "88" and code == "16" and physical):
                piece, text = _split_text(text)
            elif not piece_code:
                piece, text = text, ""
            else:  # records other than a 16 (fewer than its details): one call more each
                piece, text = _cut_record(text, piece_code, number, log)
            content = piece[3:] if piece[2:3] == "," else piece[2:] if piece_code else piece
            if piece_code == "88" and physical:
                segments.append(content)
                physical += 1
            else:
                if physical:
                    yield Logical(code, line, join_segments(segments), physical, unmarked)
                code, line, segments, physical, unmarked = piece_code, number, [content], 1, 0
            if text:  # the next record on the same line
                piece_code = text[:2] if _RECORD_START.match(text[:3] + "/") else ""
    if physical:
        yield Logical(code, line, join_segments(segments), physical, unmarked)


def looks_like_bai2(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) starts with a plausible BAI2 file header.

    After an optional BOM and whitespace: "01," then sender, receiver, a valid YYMMDD date and
    HHMM time, and, if the header is complete, version 2 (BTRS version 3 is another format).
    """
    text = head.removeprefix(BOM).lstrip()
    if not text.startswith(b"01,"):
        return False
    record = re.split(rb"[/\r\n]", text, maxsplit=1)[0].decode("latin-1")
    fields = record.split(",")
    if len(fields) < 6 or parse_date(fields[3].strip()) is None or parse_time(fields[4].strip()) is None:
        return False
    return len(fields) < 9 or fields[8].strip() == "2"
