"""Printed and flattened ACORD 25 certificates laid out otherwise than the suite's own generator.

The set is ``pdf_factory.ACORD_VARIANTS``: two form editions (2016/03, 2014/01) in the suite's
layout and three agency-system styles (other fonts and column offsets, values under their
labels, names on their label's line, coverage titles and limit names wrapped over two rows,
NAIC printed on each insurer row, amounts under their names). Every field drawn must come back
exactly from each text layer; a scan must be read by OCR with the fields the issue names
right. Random layouts drawn from the same knobs check that no fixed style was learnt by
heart, and the rules themselves are tested on small hand-placed pages.
"""

from __future__ import annotations

import io

import pytest

from bankgate.parsers.insurance import InsurancePdfParser, acord25
from bankgate.parsers.insurance.layout import Page
from tests.parsers import pdf_factory as F
from tests.parts import needs_tesseract


@pytest.fixture(scope="session")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> F.PdfSet:
    return F.pdf_set(tmp_path_factory)


def parse(data: bytes, **kwargs) -> tuple[list, InsurancePdfParser]:
    parser = InsurancePdfParser(io.BytesIO(data), name="coi.pdf", **kwargs)
    return list(parser), parser


@pytest.mark.parametrize(("style", "edition"), F.ACORD_VARIANTS, ids=[f"{s}-{e}" for s, e in F.ACORD_VARIANTS])
def test_every_field_of_a_printed_certificate_is_read_exactly(pdfs, style, edition):
    records, parser = parse(pdfs.data(F.variant_name(style, edition)))  # strict: a problem raises
    assert F.certificate_fields(records) == F.expected_certificate_fields()
    assert parser.problems == []
    doc = records[0]
    assert (doc.doc_type, doc.source, doc.image_pages) == ("acord25", "text", [])


@pytest.mark.parametrize("seed", range(16))
def test_every_field_is_read_exactly_from_random_layouts(seed):
    """Layouts drawn at random from the same knobs, in combinations no fixed style has."""
    style, edition, data = F.random_style(seed)
    records, parser = parse(data, lenient=True)
    assert F.certificate_fields(records) == F.expected_certificate_fields(), (style, edition)
    assert parser.problems == []


@needs_tesseract
def test_a_scanned_certificate_is_read_by_ocr(pdfs):
    """Courier values, NAIC on each row, amounts under their names: the fields the text-layer
    reader used to lose are exact after OCR too, and most of the rest (OCR misreads a few)."""
    records, _ = parse(pdfs.data(F.variant_name("mono", "2016/03", scan=True)), lenient=True)
    doc = records[0]
    assert (doc.doc_type, doc.source, doc.image_pages, doc.ocr) == ("acord25", "ocr", [1], "done")
    found, expected = F.certificate_fields(records), F.expected_certificate_fields()
    named = [k for k in expected if k.startswith(("insured.", "insurer ")) or ".limits." in k]
    assert {k: found.get(k) for k in named} == {k: expected[k] for k in named}
    assert {r.line_of_business for r in records if r.KIND == "coverage"} == set(F.COVERAGES)
    exact, total = F.field_accuracy(records)
    assert exact >= 0.8 * total, (exact, total)


# -- the rules, on hand-placed text ------------------------------------------------------------


def page(*segments: tuple[float, float, float, float, str]) -> Page:
    """A page holding these ``(x0, top, x1, bottom, text)`` runs (points from the top left)."""
    data = {"number": 1, "width": 612, "height": 792, "source": "text", "chars": 1, "image_only": False}
    return Page.from_worker({**data, "segments": [list(s) for s in segments]})


def test_a_value_is_beside_its_label_or_under_it():
    beside = page((300, 100, 345, 106, "CONTACT NAME:"), (362, 99, 420, 107, "Dana Whitfield"))
    under = page((300, 100, 345, 106, "CONTACT NAME:"), (302, 108, 360, 116, "Dana Whitfield"))
    for p in (beside, under):
        assert acord25.value_of(p, p.find(acord25.LABEL["contact"])) == "Dana Whitfield"


def test_a_label_is_never_a_value():
    p = page(
        (300, 100, 345, 106, "CONTACT NAME:"),  # empty: the line under it is the next label
        (300, 112, 360, 118, "PHONE (A/C, No, Ext):"),
        (300, 150, 330, 156, "INSURER E :"),  # an empty insurer row with a NAIC label of its own
        (526, 150, 546, 156, "NAIC #"),
    )
    assert acord25.value_of(p, p.find(acord25.LABEL["contact"])) == ""
    assert acord25.from_page(p) == {}
    assert acord25.is_label("NAIC #") and acord25.is_label("INSURER(S) AFFORDING COVERAGE")
    assert not acord25.is_label("Harborline Mutual Insurance Company")


def test_an_insurer_row_is_name_then_naic_wherever_the_columns_are():
    p = page(
        (288, 150, 318, 156, "INSURER A :"),
        (322, 149, 450, 157, "Harborline Mutual Insurance Company"),
        (500, 150, 520, 156, "NAIC #"),
        (526, 149, 548, 157, "24112"),
    )
    values = acord25.from_page(p)
    assert (values["Insurer_FullName_A"][0], values["Insurer_NAICCode_A"][0]) == (
        "Harborline Mutual Insurance Company",
        "24112",
    )


def test_a_title_wrapped_over_two_rows_is_found_and_only_under_itself():
    p = page(
        (60, 300, 120, 306, "COMMERCIAL GENERAL"),
        (200, 300, 260, 306, "CGL-4471-2026"),
        (60, 311, 90, 317, "LIABILITY"),
    )
    hit = p.find_wrapped(acord25.SECTION["general_liability"])
    assert hit is not None and (hit.line.top, hit.line.bottom) == (300, 317)
    apart = page((60, 300, 120, 306, "COMMERCIAL GENERAL"), (200, 311, 230, 317, "LIABILITY"))
    assert apart.find_wrapped(acord25.SECTION["general_liability"]) is None


def test_limits_beside_under_and_after_a_wrapped_name():
    values: dict[str, str] = {}
    rows = [
        "EACH OCCURRENCE",  # the amount on the row under the name
        "$1,000,000",
        "DAMAGE TO RENTED",  # the name over two rows, the amount beside the second
        "PREMISES (Ea occurrence) $ 300,000",
        "MED EXP (Any one person) $",  # an empty limit
        "PERSONAL & ADV INJURY  $  1,000,000",
    ]
    acord25.band_limits("general_liability", rows, lambda key, text: values.__setitem__(key, text))
    assert values == {
        "GeneralLiability_EachOccurrence_LimitAmount_A": "1,000,000",
        "GeneralLiability_FireDamageRentedPremises_EachOccurrenceLimitAmount_A": "300,000",
        "GeneralLiability_PersonalAndAdvertisingInjury_LimitAmount_A": "1,000,000",
    }
