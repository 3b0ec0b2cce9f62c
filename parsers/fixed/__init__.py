"""Layout-driven fixed-width files: a bank's format is a TOML layout file, not code.

    from bankgate.parsers.fixed import FixedWidthParser, load_layout, match_layout

    layout = load_layout("bai-lockbox", dirs)    # user (dirs), shipped, or a path
    for record in FixedWidthParser(stream, layout):
        ...

Shipped layouts live in ``parsers/fixed/layouts/*.toml``; the schema is described in
``bankgate.parsers.fixed.layout``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Names resolve on first use (PEP 562), so ``bankgate.parsers.fixed.rules`` imports without numpy:
# config validation at a Lambda's cold start reads the rule registry, not the parser.
_HOMES = {
    **dict.fromkeys(
        ["EBCDIC", "Check", "FixedLayout", "LayoutError", "RecordType", "ebcdic_table", "parse_layout", "read_layout"],
        "bankgate.parsers.fixed.layout",
    ),
    "FixedWidthParser": "bankgate.parsers.fixed.parser",
    **dict.fromkeys(
        ["SHIPPED_DIR", "available_layouts", "layout_dirs", "load_layout", "match_layout"],
        "bankgate.parsers.fixed.registry",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'bankgate.parsers.fixed' has no attribute {name!r}")


__all__ = [
    "EBCDIC",
    "SHIPPED_DIR",
    "Check",
    "FixedLayout",
    "FixedWidthParser",
    "LayoutError",
    "RecordType",
    "available_layouts",
    "ebcdic_table",
    "layout_dirs",
    "load_layout",
    "match_layout",
    "parse_layout",
    "read_layout",
]
