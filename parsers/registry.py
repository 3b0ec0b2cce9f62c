"""From a format name to a parser: the one place that knows every format."""

from __future__ import annotations

from typing import IO

from parsers.base import FileParser
from parsers.detect import BAI2, NACHA, PDF

FIXED_PREFIX = "fixed:"
INSURANCE_PDF = "insurance-pdf"


def format_names() -> list[str]:
    from parsers.fixed import available_layouts

    return [NACHA, BAI2, *(FIXED_PREFIX + name for name in available_layouts()), INSURANCE_PDF]


def format_for_detected(kind: str) -> str:
    """The parser format for a type from ``detect`` (``--format auto``): a PDF is an insurance PDF."""
    return INSURANCE_PDF if kind == PDF else kind


def open_parser(fmt: str, stream: IO[bytes], *, name: str = "", lenient: bool = False) -> FileParser:
    """A parser for ``fmt`` (``nacha``, ``bai2``, ``fixed:LAYOUT`` or ``insurance-pdf``) reading ``stream``.

    Raises ``ValueError`` for an unknown format or layout, with the choices in the message.
    """
    if fmt == NACHA:
        from parsers.nacha import NachaParser

        return NachaParser(stream, name=name, lenient=lenient)
    if fmt == BAI2:
        from parsers.bai2 import Bai2Parser

        return Bai2Parser(stream, name=name, lenient=lenient)
    if fmt.startswith(FIXED_PREFIX):
        from parsers.fixed import FixedWidthParser, load_layout

        return FixedWidthParser(stream, load_layout(fmt[len(FIXED_PREFIX) :]), name=name, lenient=lenient)
    if fmt == INSURANCE_PDF:
        from parsers.insurance import InsurancePdfParser

        return InsurancePdfParser(stream, name=name, lenient=lenient)
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(format_names())}")
