"""Layout-driven fixed-width files: a bank's format is a TOML layout file, not code.

    from parsers.fixed import FixedWidthParser, load_layout, match_layout

    layout = load_layout("bai-lockbox")          # shipped, user ($BANKGATE_LAYOUTS) or a path
    for record in FixedWidthParser(stream, layout):
        ...

Shipped layouts live in ``parsers/fixed/layouts/*.toml``; the schema is described in
``parsers.fixed.layout``.
"""

from parsers.fixed.layout import (
    EBCDIC,
    Check,
    FixedLayout,
    LayoutError,
    RecordType,
    ebcdic_table,
    parse_layout,
    read_layout,
)
from parsers.fixed.parser import FixedWidthParser
from parsers.fixed.registry import (
    ENV_VAR,
    SHIPPED_DIR,
    available_layouts,
    layout_dirs,
    load_layout,
    match_layout,
)

__all__ = [
    "EBCDIC",
    "ENV_VAR",
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
