"""``insurance-pdf``: ACORD 25 certificates and carrier declarations pages, as validated records.

The parser works like the bank parsers (``FileParser``): iterate for records, strict mode
raises ``ParseError`` with every problem once the file is read, lenient mode keeps them as
warnings. Problems carry the page number as their line. A file that cannot be read at all
(encrypted, truncated, hostile, over a limit) raises ``ParseError`` in both modes, with one
problem on line 0 that says why.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import IO, Any

from bankgate.parsers.base import FileParser
from bankgate.parsers.insurance import acord25, declarations
from bankgate.parsers.insurance.classify import ACORD25, DECLARATIONS, classify
from bankgate.parsers.insurance.layout import Page
from bankgate.parsers.insurance.limits import Limits
from bankgate.parsers.insurance.records import RECORD_CLASSES, Document
from bankgate.parsers.insurance.records import Page as PageRecord
from bankgate.parsers.insurance.rules import RULES
from bankgate.parsers.insurance.sandbox import PdfReadError, read_untrusted
from bankgate.parsers.insurance.templates import Template, load_templates
from bankgate.parsers.problems import ParseError, Problem

FORMAT = "insurance-pdf"


class InsurancePdfParser(FileParser):
    """Reads one insurance PDF from a binary stream (the whole file, up to ``limits.max_bytes``).

    ``templates`` defaults to the shipped ones plus those in ``template_dirs`` (searched first);
    loading them here means a broken template file fails when the parser is made
    (``TemplateError``, a ``ValueError``), not half-way through a file. ``ocr=False`` (or
    ``tesseract=None``) skips OCR even where Tesseract is installed: image-only pages are then
    only flagged. ``limits`` defaults to ``Limits()``.
    """

    format = FORMAT
    record_classes = RECORD_CLASSES
    rules = RULES

    def __init__(
        self,
        stream: IO[bytes],
        *,
        name: str = "",
        lenient: bool = False,
        limits: Limits | None = None,
        templates: list[Template] | None = None,
        template_dirs: Iterable[str | os.PathLike[str]] = (),
        ocr: bool = True,
        tesseract: str | None = "tesseract",
        allow: Iterable[str] = (),
        enforce: Iterable[str] = (),
    ) -> None:
        super().__init__(stream, name=name, lenient=lenient, allow=allow, enforce=enforce)
        self.limits = limits or Limits()
        self.templates = load_templates(template_dirs) if templates is None else templates
        self.ocr = ocr
        self.tesseract = tesseract

    def _fatal(self, message: str) -> ParseError:
        return ParseError([Problem(0, "pdf", None, message, code="insurance.pdf.unreadable")], self.name)

    def _batches(self) -> Iterator[list[Any]]:
        data = self.stream.read(self.limits.max_bytes + 1)
        if len(data) > self.limits.max_bytes:
            raise self._fatal(f"file is larger than the limit of {self.limits.max_bytes} bytes")
        try:
            content = read_untrusted(data, self.limits, ocr_enabled=self.ocr, tesseract=self.tesseract)
        except PdfReadError as exc:
            raise self._fatal(str(exc)) from None
        del data
        pages = [Page.from_worker(p) for p in content["pages"]]
        kind, template = classify(pages, content["fields"], self.templates)
        records: list[Any] = []
        if kind == ACORD25:
            values = acord25.form_values(content["fields"])
            if not _has_coverage(values):  # flattened, printed or scanned: read the page instead
                values = {}
                for page in pages:
                    if acord25.looks_like_acord(page.text):
                        values = acord25.from_page(page)
                        break
            records = acord25.build(values, self.log)
        elif kind == DECLARATIONS and template is not None:
            records = declarations.extract(template, pages, self.log)
        else:
            names = ", ".join(t.name for t in self.templates) or "none"
            self.log.add(
                0, "document", "doc_type",
                f"not an ACORD 25 certificate, and no carrier template matches (templates: {names})",
                code="insurance.document.unrecognised",
            )  # fmt: skip
        image_pages = [p.number for p in pages if p.image_only]
        unread = [p for p in pages if p.source == "none"]
        ocr_state = content["ocr"]
        for page in unread:
            why = {
                "unavailable": "tesseract is not installed (Debian: tesseract-ocr)" if self.ocr else "OCR is off",
                "limit": f"more than {self.limits.ocr_pages} image-only pages",
            }.get(ocr_state, ocr_state)
            self.log.add(
                page.number, "page", None, f"image-only page (a scan) needs OCR: {why}", code="insurance.page.needs_ocr"
            )
        sources = sorted({r.source for r in records if hasattr(r, "source")} or {p.source for p in pages})
        used = "+".join(s for s in sources if s != "none") or "none"
        if kind == ACORD25 and records and records[0].source == "form":
            used = "form"
        head: list[Any] = [
            Document(0, kind, template.name if template else "", content["page_count"], used, image_pages, ocr_state)
        ]
        head += [PageRecord(p.number, p.source, p.chars, p.image_only, p.source == "none") for p in pages]
        batch = head + records
        for record in batch:
            self.summary.records[record.KIND] += 1
        self.summary.totals["pages"] = content["page_count"]
        premiums = [r.premium_cents for r in records if r.KIND == "policy" and r.premium_cents is not None]
        if premiums:
            self.summary.totals["premium_cents"] = sum(premiums)
        yield batch


def _has_coverage(values: dict) -> bool:
    """Form fields with at least one coverage value: a filled-in form (not an empty template)."""
    keys = {f for fields in acord25.POLICY_FIELDS.values() for f in fields[1:]}
    return bool(keys & values.keys()) or "NamedInsured_FullName_A" in values
