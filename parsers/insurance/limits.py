"""The bounds every PDF is read within, so a hostile file costs seconds and a known amount of memory.

A PDF is untrusted input parsed by C++ (pdfium). Each bound turns a way a file could hurt the
process (a decompression bomb, a page-tree loop, a 50,000-page print run, a crash) into a
``ParseError`` naming the bound. Defaults suit a Lambda with 1-2 GiB; each can be set per
parser or by environment variable (``BANKGATE_PDF_<NAME>``, e.g. ``BANKGATE_PDF_MAX_PAGES``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

ENV_PREFIX = "BANKGATE_PDF_"


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
    def from_env(cls, **overrides: object) -> Limits:
        """Defaults, then ``BANKGATE_PDF_*`` variables, then ``overrides``. Bad values raise ValueError."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw.strip():
                kind = float if f.type in ("float", float) else int
                try:
                    values[f.name] = kind(raw)
                except ValueError:
                    raise ValueError(f"{ENV_PREFIX}{f.name.upper()}: not a number: {raw!r}") from None
        limits = replace(cls(), **values, **overrides)  # type: ignore[arg-type]
        for f in fields(limits):
            if getattr(limits, f.name) <= 0:
                raise ValueError(f"PDF limit {f.name} must be positive, got {getattr(limits, f.name)}")
        return limits
