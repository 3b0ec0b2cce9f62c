"""The bounds every PDF is read within, so a hostile file costs seconds and a known amount of memory.

A PDF is untrusted input parsed by C++ (pdfium). Each bound turns a way a file could hurt the
process (a decompression bomb, a page-tree loop, a 50,000-page print run, a crash) into a
``ParseError`` naming the bound. Defaults suit a Lambda with 1-2 GiB; each can be set per
parser (``Limits(max_pages=...)``) or, through the core's settings, by ``BANKGATE_PDF_<NAME>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from functools import partial

from bankgate.parsers.schema import Problems, SchemaError


class LimitsError(SchemaError):
    """PDF limits that cannot be used; one line per bad value."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 256 << 20  # file size; read no further
    max_pages: int = 2000  # page count, checked before any page is read
    memory_mib: int = 1024  # address space of the worker process (RLIMIT_AS)
    cpu_seconds: int = 60  # CPU time of the worker (RLIMIT_CPU)
    wall_seconds: float = 120.0  # wall-clock time of the worker, OCR included
    ocr_pages: int = 50  # image-only pages OCR'd per file; the rest are reported
    ocr_dpi: int = 200  # rendering resolution for OCR

    @classmethod
    def parse(cls, raw: Mapping[str, object], *, source: str = "", name: Callable[[str], str] = str) -> Limits:
        """Defaults overridden by ``raw`` (limit name -> number, or its text); every bad value
        is reported, at ``name(limit)`` (the settings pass the environment variable's name)."""
        problems = Problems(source, LimitsError, "the PDF limits")
        known = {f.name: f for f in fields(cls)}
        for key in raw.keys() - known.keys():
            problems.add(name(key), f"unknown PDF limit (expected one of {', '.join(known)})")
        values: dict[str, int | float] = {}
        for key, value in raw.items():
            if key in known:
                number = problems.check(name(key), partial(_number, value, known[key].type))
                if number is not None:
                    values[key] = number
        problems.raise_if_any()
        return replace(cls(), **values)  # type: ignore[arg-type]


def _number(value: object, kind: object) -> int | float:
    convert = float if kind in ("float", float) else int
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a number: {value!r}")
    try:
        number = convert(value)
    except ValueError:
        raise ValueError(f"not a number: {value!r}") from None
    if number <= 0:
        raise ValueError(f"must be positive, got {number}")
    return number
