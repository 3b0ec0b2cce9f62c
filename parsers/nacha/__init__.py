"""NACHA / ACH files: layouts, a streaming validating reader, and a writer."""

from __future__ import annotations

from typing import Any

__all__ = ["NachaParser"]


def __getattr__(name: str) -> Any:
    # Resolved on first use (PEP 562), so ``bankgate.parsers.nacha.rules`` and ``codes`` import without
    # numpy: config validation at a Lambda's cold start reads the rule registry, not the reader.
    if name == "NachaParser":
        from bankgate.parsers.nacha.reader import NachaParser

        return NachaParser
    raise AttributeError(f"module 'bankgate.parsers.nacha' has no attribute {name!r}")
