"""The records an insurance PDF yields: flat NamedTuples, like the bank parsers' records.

``line`` carries the page number the values were read on (0 for the file as a whole), so a
problem prints as ``FILE:PAGE: ...`` exactly as a bank file's prints ``FILE:LINE: ...``.
``source`` says how the values were read: ``form`` (AcroForm field values), ``text`` (the
text layer) or ``ocr`` (Tesseract on an image-only page), so a person knows where to look.
Money is integer cents, dates are ``date`` (ISO in every output), nested values are plain
lists and dicts, so JSON Lines, CSV and Parquet all take them as they are. (Why each record
is two classes, ``_Name`` and ``Name``: ``bankgate.parsers.base.FileParser.record_classes``.)
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple


class _Document(NamedTuple):
    line: int  # 0: the file as a whole
    doc_type: str  # acord25 | declarations | insurance-pdf-unknown
    template: str  # the carrier template that matched (declarations), else ""
    pages: int
    source: str  # form | text | ocr, or several joined with "+"
    image_pages: list[int]  # pages with no text layer, only images
    ocr: str  # not-needed | done | unavailable (no tesseract) | limit | failed: ...


class Document(_Document):
    """One per file, first: what it is and how it was read."""

    __slots__ = ()
    KIND = "document"


class _Page(NamedTuple):
    line: int  # page number
    source: str  # text | ocr | none
    chars: int  # characters in the text layer (OCR words are not counted)
    image_only: bool
    needs_ocr: bool


class Page(_Page):
    """One per page read: where its text came from; ``needs_ocr`` flags a scan left unread."""

    __slots__ = ()
    KIND = "page"


class _Party(NamedTuple):
    line: int
    role: str  # producer | insured | certificate_holder | insurer
    letter: str | None  # insurer letter A-F
    name: str
    address: str | None
    naic: str | None
    contact: str | None
    phone: str | None
    email: str | None
    source: str


class Party(_Party):
    """A producer, insured, certificate holder or insurer (A-F, with NAIC code)."""

    __slots__ = ()
    KIND = "party"


class _Certificate(NamedTuple):
    line: int
    form: str  # "ACORD 25"
    number: str | None
    revision: str | None
    issued: date | None
    description: str | None
    source: str


class Certificate(_Certificate):
    """An ACORD 25's own data: number, revision, date issued, description of operations."""

    __slots__ = ()
    KIND = "certificate"


class _Policy(NamedTuple):
    line: int
    carrier: str
    template: str
    policy_number: str | None
    named_insured: str | None
    effective: date | None
    expiration: date | None
    premium_cents: int | None
    extra: dict[str, str | int | date | None]  # template fields beyond the standard ones
    field_pages: dict[str, int]  # field -> page it was read on
    source: str


class Policy(_Policy):
    """A declarations page's policy; ``field_pages`` maps each field to the page it was read on."""

    __slots__ = ()
    KIND = "policy"


class _Coverage(NamedTuple):
    line: int
    line_of_business: str  # general_liability | auto | umbrella | workers_compensation | other | <slug>
    description: str
    insurer_letter: str | None
    policy_number: str | None
    effective: date | None
    expiration: date | None
    limits: dict[str, int]  # limit name -> integer cents
    deductible_cents: int | None
    premium_cents: int | None
    source: str


class Coverage(_Coverage):
    """One coverage line: an ACORD 25 row, or a row of a declarations schedule."""

    __slots__ = ()
    KIND = "coverage"


RECORD_CLASSES: tuple[type, ...] = (Document, Page, Certificate, Policy, Party, Coverage)
