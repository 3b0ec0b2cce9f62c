"""Insurance PDFs: every field of the generated certificates and declarations, validation, CLI.

The PDFs come from ``pdf_factory`` (drawn on the spot, values known), so each extracted
value is compared with what was drawn. OCR assertions run only where Tesseract is
installed; the detection and flagging of a scan is checked everywhere.
"""

from __future__ import annotations

import io
import json
from datetime import date

import pytest

from bankgate import settings
from bankgate.cli import main
from bankgate.parsers.insurance import InsurancePdfParser, Limits
from bankgate.parsers.insurance.sandbox import PdfReadError, read_untrusted
from bankgate.parsers.problems import ParseError
from tests.parsers import pdf_factory as F
from tests.parts import needs_tesseract


@pytest.fixture(scope="session")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> F.PdfSet:
    return F.pdf_set(tmp_path_factory)


TESSERACT = settings.tesseract()  # the core reads it; the parser takes it as an argument


def parse(data: bytes, **kwargs) -> tuple[list, InsurancePdfParser]:
    parser = InsurancePdfParser(io.BytesIO(data), name="test.pdf", **{"tesseract": TESSERACT, **kwargs})
    return list(parser), parser


def kind(records: list, name: str) -> list:
    return [r for r in records if name == r.KIND]


def one(records: list, name: str, **match):
    found = [r for r in kind(records, name) if all(getattr(r, k) == v for k, v in match.items())]
    assert len(found) == 1, (name, match, found)
    return found[0]


def cents(dollars: int) -> int:
    return dollars * 100


# -- ACORD 25 --------------------------------------------------------------------------------


def check_acord(records: list, source: str) -> None:
    """Every value drawn on the certificate, read back with its page and source."""
    doc = one(records, "document")
    assert (doc.doc_type, doc.pages, doc.source, doc.image_pages, doc.template) == ("acord25", 1, source, [], "")
    assert F.certificate_fields(records) == F.expected_certificate_fields()
    assert one(records, "certificate").form == "ACORD 25"
    assert len(kind(records, "party")) == 3 + len(F.INSURERS)
    assert [c.line_of_business for c in kind(records, "coverage")] == list(F.COVERAGES)
    assert all((r.line, r.source) == (1, source) for r in records if r.KIND not in ("document", "page"))


def test_fillable_acord_reads_every_form_field(pdfs):
    records, parser = parse(pdfs.data("acord_fillable"))
    check_acord(records, "form")
    assert parser.problems == []
    assert parser.summary.records["coverage"] == 5 and parser.summary.totals["pages"] == 1


def test_flattened_acord_reads_the_same_values_from_the_text_layer(pdfs):
    records, parser = parse(pdfs.data("acord_flat"))
    check_acord(records, "text")
    assert parser.problems == []
    form, _ = parse(pdfs.data("acord_fillable"))
    strip = lambda rs: [r._replace(source="") for r in rs if r.KIND not in ("document", "page")]  # noqa: E731
    assert strip(records) == strip(form)


def broken_acord() -> dict[str, str]:
    values = F.acord_values()
    values["Policy_GeneralLiability_ExpirationDate_A"] = "12/31/2025"  # before 01/01/2026
    del values["Policy_AutomobileLiability_PolicyNumberIdentifier_A"]
    values["ExcessUmbrella_Umbrella_AggregateAmount_A"] = "5,OOO,OOO"
    values["WorkersCompensationEmployersLiability_InsurerLetterCode_A"] = "F"
    values["Insurer_NAICCode_C"] = "1037"
    values["Policy_ExcessLiability_EffectiveDate_A"] = "13/45/2026"
    return values


EXPECTED_PROBLEMS = {
    (1, "coverage general_liability", "expiration"),
    (1, "coverage auto", "policy_number"),
    (1, "coverage umbrella", "limits.aggregate"),
    (1, "coverage umbrella", "effective"),
    (1, "coverage workers_compensation", "insurer_letter"),
    (1, "party insurer C", "naic"),
}


@pytest.mark.parametrize("fillable", [True, False], ids=["form", "flattened"])
def test_acord_validation_names_page_record_and_field(fillable):
    data = F.acord25_pdf(fillable=fillable, values=broken_acord())
    with pytest.raises(ParseError) as err:
        parse(data)
    assert {(p.line, p.record, p.field) for p in err.value.problems} == EXPECTED_PROBLEMS
    messages = {p.field: p.message for p in err.value.problems}
    assert messages["expiration"] == "2025-12-31 is not after the effective date 2026-01-01"
    assert messages["limits.aggregate"] == "is not a number: '5,OOO,OOO'"
    assert messages["policy_number"] == "is missing for a listed coverage"
    records, parser = parse(data, lenient=True)  # lenient: same problems as warnings, records kept
    assert {(p.line, p.record, p.field) for p in parser.problems} == EXPECTED_PROBLEMS
    assert all(p.severity == "warning" for p in parser.problems)
    assert one(records, "coverage", line_of_business="auto").policy_number is None


# -- declarations ----------------------------------------------------------------------------


def test_harborline_declarations_policy_and_schedule_over_two_pages(pdfs):
    records, parser = parse(pdfs.data("harborline"))
    assert parser.problems == []
    doc = one(records, "document")
    assert (doc.doc_type, doc.template, doc.pages, doc.source) == ("declarations", "harborline", 2, "text")
    policy = one(records, "policy")
    truth = F.HARBORLINE
    assert (policy.carrier, policy.policy_number, policy.named_insured) == (
        "Harborline Mutual Insurance Company",
        truth["policy_number"],
        truth["named_insured"],
    )
    assert (policy.effective, policy.expiration, policy.premium_cents) == (
        truth["effective"],
        truth["expiration"],
        truth["premium_cents"],
    )
    assert policy.extra == {"producer": truth["producer"]}
    assert policy.field_pages == dict.fromkeys(
        ("policy_number", "named_insured", "effective", "expiration", "premium", "producer"), 1
    )
    rows = kind(records, "coverage")
    assert [(c.description, c.limits, c.deductible_cents, c.premium_cents) for c in rows] == [
        (name, {"limit": cents(limit)}, cents(deductible), premium)
        for name, limit, deductible, premium in F.HARBORLINE_COVERAGES
    ]
    assert [c.line for c in rows] == [1] * 7 + [2] * 5
    assert all(
        (c.policy_number, c.effective, c.expiration)
        == (truth["policy_number"], truth["effective"], truth["expiration"])
        for c in rows
    )
    assert rows[0].line_of_business == "general_liability_each_occurrence"
    assert parser.summary.totals == {"pages": 2, "premium_cents": truth["premium_cents"]}


def test_granite_peak_declarations_spelled_dates_and_plain_amounts(pdfs):
    records, parser = parse(pdfs.data("granite"))
    assert parser.problems == []
    policy = one(records, "policy")
    truth = F.GRANITE
    assert (policy.template, policy.policy_number, policy.named_insured, policy.effective, policy.expiration) == (
        "granite-peak",
        truth["policy_number"],
        truth["named_insured"],
        truth["effective"],
        truth["expiration"],
    )
    assert policy.premium_cents == truth["premium_cents"]
    rows = kind(records, "coverage")
    assert [(c.description, c.limits["limit"], c.premium_cents) for c in rows] == [
        (name, cents(limit), cents(premium)) for name, _symbol, limit, premium in F.GRANITE_COVERAGES
    ]
    assert [c.line for c in rows] == [1] * 4 + [2] * 3
    assert one(records, "document").pages == 3


def test_a_print_run_is_split_into_policies_by_policy_number():
    records, parser = parse(F.bench_declarations_pdf(6))
    assert parser.problems == []
    policies = kind(records, "policy")
    assert [p.policy_number for p in policies] == [f"HM-CPP-2026-{i:06d}" for i in range(3)]
    assert [p.line for p in policies] == [1, 3, 5]
    assert len(kind(records, "coverage")) == 3 * len(F.HARBORLINE_COVERAGES)
    assert parser.summary.totals["premium_cents"] == sum(4_891_500 + 100 * i for i in range(3))


def test_declarations_validation():
    policy = dict(F.HARBORLINE, expiration=date(2025, 6, 30))
    data = F.harborline_pdf(policy=policy)
    with pytest.raises(ParseError) as err:
        parse(data)
    [problem] = err.value.problems
    assert (problem.line, problem.record, problem.field) == (1, "policy", "expiration")
    assert problem.message == "2025-06-30 is not after the effective date 2026-01-01"


def test_unknown_pdf_is_reported_not_guessed(pdfs):
    with pytest.raises(ParseError) as err:
        parse(pdfs.data("tidewater"))  # no template for this carrier (see test_insurance_templates)
    [problem] = err.value.problems
    assert (problem.line, problem.record, problem.field) == (0, "document", "doc_type")
    assert "no carrier template matches (templates: granite-peak, harborline)" in problem.message
    records, _ = parse(pdfs.data("tidewater"), lenient=True)
    assert one(records, "document").doc_type == "insurance-pdf-unknown"


# -- scans -----------------------------------------------------------------------------------


def test_image_only_page_is_detected_and_flagged_without_ocr(pdfs):
    data = pdfs.data("scanned")
    with pytest.raises(ParseError) as err:
        parse(data, ocr=False)
    page_problems = [p for p in err.value.problems if p.record == "page"]
    assert [(p.line, p.message) for p in page_problems] == [(1, "image-only page (a scan) needs OCR: OCR is off")]
    records, _ = parse(data, ocr=False, lenient=True)
    doc = one(records, "document")
    assert (doc.image_pages, doc.ocr, doc.source) == ([1], "unavailable", "none")
    page = one(records, "page")
    assert (page.line, page.source, page.chars, page.image_only, page.needs_ocr) == (1, "none", 0, True, True)


def test_without_tesseract_the_problem_says_how_to_get_it(pdfs, monkeypatch):
    # tesseract=None: as on a machine without it (BANKGATE_TESSERACT=off through the settings)
    records, parser = parse(pdfs.data("scanned"), lenient=True, tesseract=None)
    assert one(records, "page").needs_ocr
    assert any("tesseract is not installed (Debian: tesseract-ocr)" in p.message for p in parser.problems)


@needs_tesseract
def test_scanned_declarations_are_read_by_ocr(pdfs):
    records, parser = parse(pdfs.data("scanned"))
    assert parser.problems == []
    doc = one(records, "document")
    assert (doc.doc_type, doc.template, doc.source, doc.image_pages, doc.ocr) == (
        "declarations",
        "harborline",
        "ocr",
        [1],
        "done",
    )
    page = one(records, "page")
    assert (page.source, page.image_only, page.needs_ocr) == ("ocr", True, False)
    policy = one(records, "policy")
    truth = F.HARBORLINE
    assert (policy.policy_number, policy.named_insured, policy.effective, policy.expiration, policy.premium_cents) == (
        truth["policy_number"],
        truth["named_insured"],
        truth["effective"],
        truth["expiration"],
        truth["premium_cents"],
    )
    assert policy.source == "ocr"
    rows = kind(records, "coverage")
    assert [(c.description, c.limits, c.deductible_cents, c.premium_cents, c.source) for c in rows] == [
        (name, {"limit": cents(limit)}, cents(deductible), premium, "ocr")
        for name, limit, deductible, premium in F.HARBORLINE_COVERAGES[:7]
    ]


# -- the worker ------------------------------------------------------------------------------


def test_worker_returns_words_with_boxes_and_form_fields(pdfs):
    content = read_untrusted(pdfs.data("acord_fillable"), Limits())
    assert content["page_count"] == 1 and content["ocr"] == "not-needed"
    fields = {name: (value, page) for name, value, page in content["fields"]}
    assert fields["Producer_FullName_A"] == (F.PRODUCER["name"], 1)
    x0, top, x1, bottom, text = content["pages"][0]["segments"][0]
    assert text == "ACORD" and 0 < x0 < x1 < 612 and 0 < top < bottom < 792


def test_first_pages_reads_only_what_detection_needs(pdfs):
    content = read_untrusted(pdfs.data("granite"), Limits(), first_pages=1)
    assert content["page_count"] == 3 and len(content["pages"]) == 1
    with pytest.raises(PdfReadError, match="no %%EOF"):
        read_untrusted(b"%PDF-1.7\n", Limits())


# -- CLI -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("acord_fillable", "acord25"),
        ("acord_flat", "acord25"),
        ("harborline", "declarations"),
        ("granite", "declarations"),
        ("tidewater", "insurance-pdf-unknown"),
        ("encrypted", "insurance-pdf-unknown"),
    ],
)
def test_cli_detect_names_the_insurance_document(pdfs, capsys, name, expected):
    assert main(["detect", str(pdfs.path(name))]) == 0
    assert capsys.readouterr().out.strip() == expected


@pytest.mark.parametrize("fmt", ["auto", "insurance-pdf"])
def test_cli_parse_writes_json_lines(pdfs, capsys, fmt):
    path = pdfs.path("acord_fillable")
    assert main(["parse", str(path), "--format", fmt]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0] == {
        "record": "document",
        "line": 0,
        "doc_type": "acord25",
        "template": "",
        "pages": 1,
        "source": "form",
        "image_pages": [],
        "ocr": "not-needed",
    }
    gl = next(r for r in rows if r.get("line_of_business") == "general_liability")
    assert gl["effective"] == "2026-01-01" and gl["limits"]["each_occurrence"] == 100_000_000
    assert err.strip().endswith("totals: pages=1")
    assert err.startswith(f"{path}: insurance-pdf: ")


def test_cli_csv_and_parquet(pdfs, tmp_path, capsys):
    path = pdfs.path("harborline")
    assert main(["parse", str(path), "--output", "csv", "-o", str(tmp_path / "out.csv")]) == 0
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0].startswith("record,line,doc_type,") and len(lines) == 1 + 1 + 2 + 1 + 12
    pq = pytest.importorskip("pyarrow.parquet")
    assert main(["parse", str(path), "--output", "parquet", "-o", str(tmp_path / "out.parquet")]) == 0
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == 16 and "premium_cents" in table.column_names


def test_cli_invalid_pdf_prints_file_page_lines_and_exits_1(tmp_path, capsys):
    path = tmp_path / "coi.pdf"
    path.write_bytes(F.acord25_pdf(fillable=False, values=broken_acord()))
    assert main(["parse", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert f"{path}:1: coverage auto field 'policy_number': is missing for a listed coverage" in lines
    expiration = "2025-12-31 is not after the effective date 2026-01-01"
    assert f"{path}:1: coverage general_liability field 'expiration': {expiration}" in lines
    assert lines[-1].startswith(f"{path}: INVALID: insurance-pdf: ")
    assert main(["parse", str(path), "--lenient"]) == 0
    assert f"{path}:1: warning: coverage auto field 'policy_number'" in capsys.readouterr().err


def test_cli_unreadable_pdf_is_one_clear_line(pdfs, capsys):
    path = pdfs.path("encrypted")
    assert main(["parse", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{path}:0: pdf: encrypted: a password is needed to open it"
    assert err[-1] == f"{path}: INVALID: insurance-pdf: 0 records (); totals: none"
