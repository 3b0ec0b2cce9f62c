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

from parsers.insurance.classify import ACORD25, DECLARATIONS, UNKNOWN, classify_pdf
from parsers.insurance.limits import Limits, LimitsError
from parsers.insurance.parser import FORMAT, InsurancePdfParser
from parsers.insurance.templates import TemplateError, load_templates

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
