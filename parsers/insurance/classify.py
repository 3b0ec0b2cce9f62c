"""What kind of insurance PDF this is: an ACORD 25 certificate, a known carrier's declarations, or neither."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import IO

from bankgate.parsers.insurance import acord25
from bankgate.parsers.insurance.layout import Page
from bankgate.parsers.insurance.limits import Limits
from bankgate.parsers.insurance.templates import Template

ACORD25, DECLARATIONS, UNKNOWN = "acord25", "declarations", "insurance-pdf-unknown"
#: Pages looked at to recognise a document (carrier names and form titles are on the first).
CLASSIFY_PAGES = 2


def classify(
    pages: Sequence[Page], fields: Sequence[list], templates: Sequence[Template]
) -> tuple[str, Template | None]:
    """(type, template): ACORD 25 by its form fields or printed title, declarations by template."""
    if acord25.is_acord_form(fields):
        return ACORD25, None
    text = "\n".join(page.text for page in pages[:CLASSIFY_PAGES])
    if acord25.looks_like_acord(text):
        return ACORD25, None
    for template in templates:
        if template.matches(text):
            return DECLARATIONS, template
    return UNKNOWN, None


def classify_pdf(
    stream: IO[bytes],
    *,
    limits: Limits | None = None,
    template_dirs: Iterable[str | os.PathLike[str]] = (),
    tesseract: str | None = "tesseract",
) -> str:
    """The type of the PDF in ``stream`` (read from its position); ``insurance-pdf-unknown`` when
    it cannot be read. Reads and OCRs at most the first pages, in the bounded worker. The
    options are ``InsurancePdfParser``'s."""
    from bankgate.parsers.insurance.sandbox import PdfReadError, read_untrusted
    from bankgate.parsers.insurance.templates import load_templates

    limits = limits or Limits()
    data = stream.read(limits.max_bytes + 1)
    try:
        content = read_untrusted(data, limits, first_pages=CLASSIFY_PAGES, tesseract=tesseract)
    except PdfReadError:
        return UNKNOWN
    pages = [Page.from_worker(p) for p in content["pages"]]
    kind, _template = classify(pages, content["fields"], load_templates(template_dirs))
    return kind
