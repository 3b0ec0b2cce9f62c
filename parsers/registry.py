"""From a format name to a parser: the one place that knows every format."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import cache
from typing import IO, Any

from bankgate.parsers.base import FileParser
from bankgate.parsers.detect import BAI2, NACHA, PDF
from bankgate.parsers.problems import WARNING
from bankgate.parsers.rules import Rule, RuleSet, unknown_codes_message

FIXED_PREFIX = "fixed:"
INSURANCE_PDF = "insurance-pdf"


def format_names(layout_dirs: Iterable[str | os.PathLike[str]] = ()) -> list[str]:
    from bankgate.parsers.fixed import available_layouts

    return [NACHA, BAI2, *(FIXED_PREFIX + name for name in available_layouts(layout_dirs)), INSURANCE_PDF]


def format_for_detected(kind: str) -> str:
    """The parser format for a type from ``detect`` (``--format auto``): a PDF is an insurance PDF."""
    return INSURANCE_PDF if kind == PDF else kind


def open_parser(
    fmt: str,
    stream: IO[bytes],
    *,
    name: str = "",
    lenient: bool = False,
    allow: Iterable[str] = (),
    enforce: Iterable[str] = (),
    layout_dirs: Iterable[str | os.PathLike[str]] = (),
    pdf: Mapping[str, Any] | None = None,
) -> FileParser:
    """A parser for ``fmt`` (``nacha``, ``bai2``, ``fixed:LAYOUT`` or ``insurance-pdf``) reading ``stream``.

    ``allow`` / ``enforce`` name rules to waive / to make errors (see ``FileParser``); codes
    of other formats are accepted and do nothing here, so one bank's list serves all its files.
    ``layout_dirs`` are the user's layout directories (searched before the shipped layouts);
    ``pdf`` holds ``InsurancePdfParser``'s options (``limits``, ``template_dirs``, ``tesseract``).
    Raises ``ValueError`` for an unknown format, layout or rule code, with the choices in the message.
    """
    options: dict[str, Any] = {"name": name, "lenient": lenient, "allow": allow, "enforce": enforce}
    if fmt == NACHA:
        from bankgate.parsers.nacha import NachaParser

        return NachaParser(stream, **options)
    if fmt == BAI2:
        from bankgate.parsers.bai2 import Bai2Parser

        return Bai2Parser(stream, **options)
    if fmt.startswith(FIXED_PREFIX):
        from bankgate.parsers.fixed import FixedWidthParser, load_layout

        return FixedWidthParser(stream, load_layout(fmt[len(FIXED_PREFIX) :], layout_dirs), **options)
    if fmt == INSURANCE_PDF:
        from bankgate.parsers.insurance import InsurancePdfParser

        return InsurancePdfParser(stream, **options, **(pdf or {}))
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(format_names(layout_dirs))}")


# -- rule codes ------------------------------------------------------------------------------


@cache
def rule_sets() -> tuple[RuleSet, ...]:
    """Every format's rule registry. Light to import (no numpy, no PDF library), so config
    validation at a Lambda's cold start or at DAG parse time can call it."""
    from bankgate.parsers.bai2.rules import RULES as BAI2_RULES
    from bankgate.parsers.fixed.rules import RULES as FIXED_RULES
    from bankgate.parsers.insurance.rules import RULES as INSURANCE_RULES
    from bankgate.parsers.nacha.rules import RULES as NACHA_RULES

    return (NACHA_RULES, BAI2_RULES, FIXED_RULES, INSURANCE_RULES)


def all_rules() -> list[Rule]:
    """Every rule of every format, in registry order."""
    return [rule for rules in rule_sets() for rule in rules]


def validate_waivers(codes: Iterable[str]) -> frozenset[str]:
    """The rule codes to waive, checked: ``ValueError`` names any unknown code and lists the valid ones.

    The pipeline calls this on a bank's or a route's ``allow`` list when it loads its config,
    so a typo fails at load time, not as a silently unwaived rule on the morning file.
    """
    if isinstance(codes, str):
        codes = [codes]
    wanted = frozenset(code.strip() for code in codes)
    known = {rule.code for rule in all_rules()}
    unknown = wanted - known
    if unknown:
        raise ValueError(unknown_codes_message(unknown, known))
    return wanted


def validate_enforced(codes: Iterable[str]) -> frozenset[str]:
    """Rule codes to report as errors: each must be a known rule whose default is a warning."""
    wanted = validate_waivers(codes)
    warnings = {rule.code for rule in all_rules() if rule.severity == WARNING}
    already = wanted - warnings
    if already:
        raise ValueError(
            f"already error(s) by default, cannot be enforced: {', '.join(sorted(already))}; "
            f"rules that default to a warning are: {', '.join(sorted(warnings))}"
        )
    return wanted
