"""Insurance PDFs: ACORD 25 certificates and carrier declarations pages, as validated records.

- ``parser.py``: ``InsurancePdfParser`` (format ``insurance-pdf``), the entry point.
- ``sandbox.py`` / ``worker.py`` / ``pdfread.py``: the PDF is read by pdfium in a bounded
  child process (memory, CPU, wall clock, pages, bytes), so a hostile file becomes a
  ``ParseError``, never a crash or a hang of the caller.
- ``ocr.py``: image-only pages go through Tesseract when it is installed.
- ``layout.py``: positioned text (text layer or OCR) as lines and regions.
- ``acord25.py``: the certificate from form fields, or read back from the page by label.
- ``templates.py`` / ``declarations.py``: per-carrier TOML templates and what they extract.
- ``classify.py``: acord25, declarations or insurance-pdf-unknown.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Names resolve on first use (PEP 562), so ``bankgate.parsers.insurance.limits`` (the settings read it at
# a Lambda's cold start) and ``bankgate.parsers.insurance.rules`` import without the parser and its PDF code.
_HOMES = {
    **dict.fromkeys(["ACORD25", "DECLARATIONS", "UNKNOWN", "classify_pdf"], "bankgate.parsers.insurance.classify"),
    **dict.fromkeys(["Limits", "LimitsError"], "bankgate.parsers.insurance.limits"),
    **dict.fromkeys(["FORMAT", "InsurancePdfParser"], "bankgate.parsers.insurance.parser"),
    **dict.fromkeys(["TemplateError", "load_templates"], "bankgate.parsers.insurance.templates"),
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'bankgate.parsers.insurance' has no attribute {name!r}")


__all__ = [
    "ACORD25",
    "DECLARATIONS",
    "FORMAT",
    "UNKNOWN",
    "InsurancePdfParser",
    "Limits",
    "LimitsError",
    "TemplateError",
    "classify_pdf",
    "load_templates",
]
