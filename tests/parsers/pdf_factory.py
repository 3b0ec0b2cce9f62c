"""Insurance PDFs made on the spot: realistic ones with known contents, and hostile ones.

The tests and the benchmark never ship a PDF: they draw their own with reportlab (an
ACORD-25-like certificate, fillable and flattened; declarations pages for invented carriers),
rasterise one page to make a scan, and write malformed files byte by byte. The values drawn
are module constants, so a test can check every extracted field against what was drawn.

``pdf_set(tmp_path_factory)`` gives the session's one ``PdfSet``: each file is made once, on
first use, in a session tmp dir; each test module wraps it in a session fixture ``pdfs``.
"""

from __future__ import annotations

import io
import random
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest

PAGE_W, PAGE_H = 612, 792  # US Letter, points

# -- what the ACORD 25 certificate says -------------------------------------------------------

PRODUCER = {
    "name": "Keystone Risk Partners LLC",
    "line1": "1200 Market Street, Suite 400",
    "city": "Philadelphia",
    "state": "PA",
    "zip": "19107",
    "contact": "Dana Whitfield",
    "phone": "(215) 555-0142",
    "email": "certs@keystonerisk.example",
}
INSURED = {
    "name": "Bluewater Logistics Inc.",
    "line1": "88 Dockside Avenue",
    "city": "Camden",
    "state": "NJ",
    "zip": "08103",
}
HOLDER = {
    "name": "Port Authority of Camden County",
    "line1": "2 Riverside Drive",
    "city": "Camden",
    "state": "NJ",
    "zip": "08103",
}
INSURERS = {
    "A": ("Harborline Mutual Insurance Company", "24112"),
    "B": ("Granite Peak Casualty Co.", "31845"),
    "C": ("Lakeshore Specialty Insurance Co.", "10379"),
    "D": ("Meridian Workers Comp Mutual", "29076"),
}
CERTIFICATE = {"number": "CN-2026-0418", "revision": "2", "date": "04/18/2026"}
DESCRIPTION = (
    "Certificate holder is included as additional insured with respect to general liability when required by "
    "written contract. Project: Pier 12 warehouse expansion, 400 Delaware Avenue, Camden NJ. Waiver of subrogation "
    "applies to workers compensation."
)

#: line of business -> (insurer letter, policy number, effective, expiration, {limit: dollars})
COVERAGES: dict[str, tuple[str, str, str, str, dict[str, int]]] = {
    "general_liability": (
        "A",
        "CGL-4471-2026",
        "01/01/2026",
        "01/01/2027",
        {
            "each_occurrence": 1_000_000,
            "damage_to_rented_premises": 300_000,
            "medical_expense": 10_000,
            "personal_adv_injury": 1_000_000,
            "general_aggregate": 2_000_000,
            "products_completed_ops_aggregate": 2_000_000,
        },
    ),
    "auto": ("B", "BA 7781093", "03/15/2026", "03/15/2027", {"combined_single_limit": 1_000_000}),
    "umbrella": (
        "C",
        "UMB-00912-26",
        "01/01/2026",
        "01/01/2027",
        {"each_occurrence": 5_000_000, "aggregate": 5_000_000},
    ),
    "workers_compensation": (
        "D",
        "WC 2026 558812",
        "07/01/2025",
        "07/01/2026",
        {"el_each_accident": 1_000_000, "el_disease_each_employee": 1_000_000, "el_disease_policy_limit": 1_000_000},
    ),
    "other": ("A", "PL-3390-2026", "01/01/2026", "01/01/2027", {"each_claim": 2_000_000}),
}
OTHER_DESCRIPTION = "Professional Liability"
OTHER_LIMIT_LABEL = "EACH CLAIM"

# -- the ACORD-like layout: static labels and where each field goes --------------------------

# Coverage table columns (x in points): insurer letter, type, policy number, eff, exp, limit label, "$", amount.
X_LTR, X_TYPE, X_POLICY, X_EFF, X_EXP, X_LIMIT, X_DOLLAR, X_AMOUNT = 34, 54, 222, 322, 370, 418, 532, 538
ROW = 11  # points between lines of the coverage table

#: line of business -> (top of its section, static type labels, [(limit key, label, field name)], field prefix)
SECTIONS: dict[str, tuple[int, list[str], list[tuple[str, str, str]]]] = {
    "general_liability": (
        282,
        ["COMMERCIAL GENERAL LIABILITY", "CLAIMS-MADE     OCCUR", "GEN'L AGGREGATE LIMIT APPLIES PER:"],
        [
            ("each_occurrence", "EACH OCCURRENCE", "GeneralLiability_EachOccurrence_LimitAmount_A"),
            (
                "damage_to_rented_premises",
                "DAMAGE TO RENTED PREMISES (Ea occurrence)",
                "GeneralLiability_FireDamageRentedPremises_EachOccurrenceLimitAmount_A",
            ),
            ("medical_expense", "MED EXP (Any one person)", "GeneralLiability_MedicalExpense_EachPersonLimitAmount_A"),
            (
                "personal_adv_injury",
                "PERSONAL & ADV INJURY",
                "GeneralLiability_PersonalAndAdvertisingInjury_LimitAmount_A",
            ),
            ("general_aggregate", "GENERAL AGGREGATE", "GeneralLiability_GeneralAggregate_LimitAmount_A"),
            (
                "products_completed_ops_aggregate",
                "PRODUCTS - COMP/OP AGG",
                "GeneralLiability_ProductsAndCompletedOperations_AggregateLimitAmount_A",
            ),
        ],
    ),
    "auto": (
        352,
        ["AUTOMOBILE LIABILITY", "ANY AUTO     OWNED AUTOS ONLY", "HIRED AUTOS ONLY     NON-OWNED AUTOS ONLY"],
        [
            (
                "combined_single_limit",
                "COMBINED SINGLE LIMIT (Ea accident)",
                "Vehicle_CombinedSingleLimit_EachAccidentAmount_A",
            ),
            ("bodily_injury_per_person", "BODILY INJURY (Per person)", "Vehicle_BodilyInjury_PerPersonLimitAmount_A"),
            (
                "bodily_injury_per_accident",
                "BODILY INJURY (Per accident)",
                "Vehicle_BodilyInjury_PerAccidentLimitAmount_A",
            ),
            ("property_damage", "PROPERTY DAMAGE (Per accident)", "Vehicle_PropertyDamage_PerAccidentLimitAmount_A"),
        ],
    ),
    "umbrella": (
        404,
        ["UMBRELLA LIAB     OCCUR", "EXCESS LIAB     CLAIMS-MADE"],
        [
            ("each_occurrence", "EACH OCCURRENCE", "ExcessUmbrella_Umbrella_EachOccurrenceAmount_A"),
            ("aggregate", "AGGREGATE", "ExcessUmbrella_Umbrella_AggregateAmount_A"),
        ],
    ),
    "workers_compensation": (
        434,
        ["WORKERS COMPENSATION", "AND EMPLOYERS' LIABILITY     Y / N"],
        [
            (
                "el_each_accident",
                "E.L. EACH ACCIDENT",
                "WorkersCompensationEmployersLiability_EmployersLiability_EachAccidentLimitAmount_A",
            ),
            (
                "el_disease_each_employee",
                "E.L. DISEASE - EA EMPLOYEE",
                "WorkersCompensationEmployersLiability_EmployersLiability_DiseaseEachEmployeeLimitAmount_A",
            ),
            (
                "el_disease_policy_limit",
                "E.L. DISEASE - POLICY LIMIT",
                "WorkersCompensationEmployersLiability_EmployersLiability_DiseasePolicyLimitAmount_A",
            ),
        ],
    ),
}
OTHER_TOP = 478

#: line of business -> ACORD field names of (letter, policy number, effective, expiration)
POLICY_FIELDS = {
    "general_liability": (
        "GeneralLiability_InsurerLetterCode_A",
        "Policy_GeneralLiability_PolicyNumberIdentifier_A",
        "Policy_GeneralLiability_EffectiveDate_A",
        "Policy_GeneralLiability_ExpirationDate_A",
    ),
    "auto": (
        "Vehicle_InsurerLetterCode_A",
        "Policy_AutomobileLiability_PolicyNumberIdentifier_A",
        "Policy_AutomobileLiability_EffectiveDate_A",
        "Policy_AutomobileLiability_ExpirationDate_A",
    ),
    "umbrella": (
        "ExcessUmbrella_InsurerLetterCode_A",
        "Policy_ExcessLiability_PolicyNumberIdentifier_A",
        "Policy_ExcessLiability_EffectiveDate_A",
        "Policy_ExcessLiability_ExpirationDate_A",
    ),
    "workers_compensation": (
        "WorkersCompensationEmployersLiability_InsurerLetterCode_A",
        "Policy_WorkersCompensationAndEmployersLiability_PolicyNumberIdentifier_A",
        "Policy_WorkersCompensationAndEmployersLiability_EffectiveDate_A",
        "Policy_WorkersCompensationAndEmployersLiability_ExpirationDate_A",
    ),
    "other": (
        "OtherPolicy_InsurerLetterCode_A",
        "OtherPolicy_PolicyNumberIdentifier_A",
        "OtherPolicy_PolicyEffectiveDate_A",
        "OtherPolicy_PolicyExpirationDate_A",
    ),
}

DISCLAIMER = (
    "THIS CERTIFICATE IS ISSUED AS A MATTER OF INFORMATION ONLY AND CONFERS NO RIGHTS UPON THE CERTIFICATE HOLDER. "
    "THIS CERTIFICATE DOES NOT AFFIRMATIVELY OR NEGATIVELY AMEND, EXTEND OR ALTER THE COVERAGE AFFORDED BY THE "
    "POLICIES BELOW. THIS CERTIFICATE OF INSURANCE DOES NOT CONSTITUTE A CONTRACT BETWEEN THE ISSUING INSURER(S), "
    "AUTHORIZED REPRESENTATIVE OR PRODUCER, AND THE CERTIFICATE HOLDER."
)
CANCELLATION = (
    "SHOULD ANY OF THE ABOVE DESCRIBED POLICIES BE CANCELLED BEFORE THE EXPIRATION DATE THEREOF, NOTICE WILL BE "
    "DELIVERED IN ACCORDANCE WITH THE POLICY PROVISIONS."
)


@dataclass(frozen=True)
class Edition:
    """What changes between two editions of the printed form: a few static labels and the footer."""

    name: str
    copyright: str
    auto_rows: tuple[str, str]  # the auto checkboxes under AUTOMOBILE LIABILITY
    aggregate: str  # the boxes under GEN'L AGGREGATE LIMIT APPLIES PER:
    statute: str  # the first row of the workers' compensation limits
    remarks: str  # the description box's label


EDITIONS = {
    e.name: e
    for e in (
        Edition(
            "2016/03",
            "© 1988-2015 ACORD CORPORATION. All rights reserved.",
            ("ANY AUTO     OWNED AUTOS ONLY", "HIRED AUTOS ONLY     NON-OWNED AUTOS ONLY"),
            "POLICY     PRO-JECT     LOC     OTHER:",
            "PER STATUTE     OTH-ER",
            "DESCRIPTION OF OPERATIONS / LOCATIONS / VEHICLES (ACORD 101, Additional Remarks Schedule, may be "
            "attached if more space is required)",
        ),
        Edition(
            "2014/01",
            "© 1988-2014 ACORD CORPORATION. All rights reserved.",
            ("ANY AUTO     ALL OWNED AUTOS", "HIRED AUTOS     NON-OWNED AUTOS"),
            "POLICY     PRO-JECT     LOC",
            "WC STATU-TORY LIMITS     OTH-ER",
            "DESCRIPTION OF OPERATIONS / LOCATIONS / VEHICLES (Attach ACORD 101, Additional Remarks Schedule, if "
            "more space is required)",
        ),
    )
}


def acord_values(coverages: dict | None = None) -> dict[str, str]:
    """Every ACORD field name -> the value drawn in it (amounts as printed: "1,000,000")."""
    v: dict[str, str] = {
        "Form_CompletionDate_A": CERTIFICATE["date"],
        "CertificateOfInsurance_CertificateNumberIdentifier_A": CERTIFICATE["number"],
        "CertificateOfInsurance_RevisionNumberIdentifier_A": CERTIFICATE["revision"],
        "Producer_ContactPerson_FullName_A": PRODUCER["contact"],
        "Producer_ContactPerson_PhoneNumber_A": PRODUCER["phone"],
        "Producer_ContactPerson_EmailAddress_A": PRODUCER["email"],
        "CertificateOfLiabilityInsurance_ACORDForm_RemarkText_A": DESCRIPTION,
        "OtherPolicy_OtherPolicyDescription_A": OTHER_DESCRIPTION,
        "OtherPolicy_CoverageCode_A": OTHER_LIMIT_LABEL,
    }
    for prefix, party in (("Producer", PRODUCER), ("NamedInsured", INSURED), ("CertificateHolder", HOLDER)):
        v[f"{prefix}_FullName_A"] = party["name"]
        v[f"{prefix}_MailingAddress_LineOne_A"] = party["line1"]
        v[f"{prefix}_MailingAddress_CityName_A"] = party["city"]
        v[f"{prefix}_MailingAddress_StateOrProvinceCode_A"] = party["state"]
        v[f"{prefix}_MailingAddress_PostalCode_A"] = party["zip"]
    for letter, (name, naic) in INSURERS.items():
        v[f"Insurer_FullName_{letter}"] = name
        v[f"Insurer_NAICCode_{letter}"] = naic
    for lob, (letter, number, eff, exp, limits) in (coverages or COVERAGES).items():
        f_letter, f_number, f_eff, f_exp = POLICY_FIELDS[lob]
        v.update({f_letter: letter, f_number: number, f_eff: eff, f_exp: exp})
        if lob == "other":
            v["OtherPolicy_CoverageLimitAmount_A"] = f"{limits['each_claim']:,}"
            continue
        for key, _label, field in SECTIONS[lob][2]:
            if key in limits:
                v[field] = f"{limits[key]:,}" if isinstance(limits[key], int) else str(limits[key])
    return v


def _slots() -> list[tuple[str, float, float, float, float]]:
    """Every field's box: (name, x, top, width, font size). One table for both versions."""
    slots: list[tuple[str, float, float, float, float]] = [
        ("Form_CompletionDate_A", 500, 46, 80, 8),
        ("CertificateOfInsurance_CertificateNumberIdentifier_A", 290, 232, 110, 7),
        ("CertificateOfInsurance_RevisionNumberIdentifier_A", 500, 232, 70, 7),
        ("Producer_ContactPerson_FullName_A", 362, 100, 210, 8),
        ("Producer_ContactPerson_PhoneNumber_A", 388, 112, 100, 8),
        ("Producer_ContactPerson_EmailAddress_A", 366, 124, 200, 8),
    ]
    for prefix, top in (("Producer", 112), ("NamedInsured", 164), ("CertificateHolder", 596)):
        slots += [
            (f"{prefix}_FullName_A", 34, top, 250, 8),
            (f"{prefix}_MailingAddress_LineOne_A", 34, top + 10, 250, 8),
            (f"{prefix}_MailingAddress_CityName_A", 34, top + 20, 110, 8),
            (f"{prefix}_MailingAddress_StateOrProvinceCode_A", 150, top + 20, 20, 8),
            (f"{prefix}_MailingAddress_PostalCode_A", 175, top + 20, 50, 8),
        ]
    for i, letter in enumerate("ABCDEF"):
        top = 152 + 12 * i
        slots += [(f"Insurer_FullName_{letter}", 352, top, 180, 8), (f"Insurer_NAICCode_{letter}", 545, top, 40, 8)]
    for lob, (top, _labels, limits) in SECTIONS.items():
        middle = top + ROW * (len(limits) // 2)
        f_letter, f_number, f_eff, f_exp = POLICY_FIELDS[lob]
        slots += [
            (f_letter, X_LTR, middle, 12, 8),
            (f_number, X_POLICY, middle, 96, 8),
            (f_eff, X_EFF, middle, 46, 7),
            (f_exp, X_EXP, middle, 46, 7),
        ]
        slots += [(field, X_AMOUNT, top + ROW * k, 46, 8) for k, (_, _, field) in enumerate(limits)]
    f_letter, f_number, f_eff, f_exp = POLICY_FIELDS["other"]
    slots += [
        (f_letter, X_LTR, OTHER_TOP, 12, 8),
        ("OtherPolicy_OtherPolicyDescription_A", X_TYPE, OTHER_TOP, 120, 8),
        (f_number, X_POLICY, OTHER_TOP, 96, 8),
        (f_eff, X_EFF, OTHER_TOP, 46, 7),
        (f_exp, X_EXP, OTHER_TOP, 46, 7),
        ("OtherPolicy_CoverageCode_A", X_LIMIT, OTHER_TOP, 100, 7),
        ("OtherPolicy_CoverageLimitAmount_A", X_AMOUNT, OTHER_TOP, 46, 8),
    ]
    return slots


def _y(top: float, size: float) -> float:
    """reportlab measures from the bottom edge to the baseline; the layout is written top-down."""
    return PAGE_H - top - size


def _text(c, x: float, top: float, text: str, size: float = 6, font: str = "Helvetica") -> None:
    c.setFont(font, size)
    c.drawString(x, _y(top, size), text)


def _draw_acord_static(c, edition: Edition) -> None:
    _text(c, 34, 30, "ACORD", 16, "Helvetica-Bold")
    _text(c, 170, 34, "CERTIFICATE OF LIABILITY INSURANCE", 13, "Helvetica-Bold")
    _text(c, 500, 34, "DATE (MM/DD/YYYY)", 6)
    for i, line in enumerate(textwrap.wrap(DISCLAIMER, 150)):
        _text(c, 34, 62 + 7 * i, line, 5)
    _text(c, 34, 100, "PRODUCER", 6, "Helvetica-Bold")
    _text(c, 300, 100, "CONTACT NAME:", 6)
    _text(c, 300, 112, "PHONE (A/C, No, Ext):", 6)
    _text(c, 300, 124, "E-MAIL ADDRESS:", 6)
    _text(c, 330, 140, "INSURER(S) AFFORDING COVERAGE", 6)
    _text(c, 545, 140, "NAIC #", 6)
    for i, letter in enumerate("ABCDEF"):
        _text(c, 300, 152 + 12 * i, f"INSURER {letter} :", 6)
    _text(c, 34, 152, "INSURED", 6, "Helvetica-Bold")
    _text(c, 34, 232, "COVERAGES", 7, "Helvetica-Bold")
    _text(c, 200, 232, "CERTIFICATE NUMBER:", 6)
    _text(c, 420, 232, "REVISION NUMBER:", 6)
    _text(
        c, 34, 246, "THIS IS TO CERTIFY THAT THE POLICIES OF INSURANCE LISTED BELOW HAVE BEEN ISSUED TO THE INSURED", 5
    )
    _draw_acord_table(c, edition)
    c.line(30, PAGE_H - OTHER_TOP + 3, 582, PAGE_H - OTHER_TOP + 3)
    _text(c, X_DOLLAR, OTHER_TOP, "$", 7)
    _text(c, 34, 506, edition.remarks, 6)
    _text(c, 34, 580, "CERTIFICATE HOLDER", 6, "Helvetica-Bold")
    _text(c, 310, 580, "CANCELLATION", 6, "Helvetica-Bold")
    for i, line in enumerate(textwrap.wrap(CANCELLATION, 70)):
        _text(c, 310, 594 + 7 * i, line, 5)
    _text(c, 310, 640, "AUTHORIZED REPRESENTATIVE", 5)
    _text(c, 200, 758, edition.copyright, 6)
    _text(c, 34, 770, f"ACORD 25 ({edition.name})", 7, "Helvetica-Bold")
    _text(c, 200, 770, "The ACORD name and logo are registered marks of ACORD", 6)


def _draw_acord_table(c, edition: Edition) -> None:
    """The coverage table's column heads, and each section's type and limit labels."""
    for x, label in (
        (X_LTR, "INSR LTR"),
        (X_TYPE + 30, "TYPE OF INSURANCE"),
        (180, "ADDL"),
        (200, "SUBR"),
        (X_POLICY + 20, "POLICY NUMBER"),
        (X_EFF, "POLICY EFF"),
        (X_EXP, "POLICY EXP"),
        (480, "LIMITS"),
    ):
        _text(c, x, 264, label, 5.5, "Helvetica-Bold")
    _text(c, X_EFF, 271, "(MM/DD/YYYY)", 4.5)
    _text(c, X_EXP, 271, "(MM/DD/YYYY)", 4.5)
    for lob, (top, labels, limits) in SECTIONS.items():
        c.line(30, PAGE_H - top + 3, 582, PAGE_H - top + 3)
        if lob == "auto":
            labels = [labels[0], *edition.auto_rows]
        for k, label in enumerate(labels):
            _text(c, X_TYPE, top + ROW * k, label, 5.5)
        for k, (_key, label, _field) in enumerate(limits):
            _text(c, X_LIMIT, top + ROW * k, label, 5)
            _text(c, X_DOLLAR, top + ROW * k, "$", 7)


def _description_lines(text: str) -> list[str]:
    return textwrap.wrap(text, 120)


def acord25_pdf(*, fillable: bool, values: dict[str, str] | None = None, edition: str = "2016/03") -> bytes:
    """The certificate: AcroForm text fields holding the values, or the same values drawn as text."""
    from reportlab.pdfgen import canvas

    values = acord_values() if values is None else values
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
    c.setTitle("ACORD 25 Certificate of Liability Insurance")
    _draw_acord_static(c, EDITIONS[edition])
    for name, x, top, width, size in _slots():
        value = values.get(name, "")
        if fillable:
            c.acroForm.textfield(
                name=name, value=value, x=x, y=_y(top, size) - 2, width=width, height=size + 3,
                borderWidth=0, fontName="Helvetica", fontSize=size, maxlen=200,
            )  # fmt: skip
        elif value:
            _text(c, x, top, value, size)
    remark = "CertificateOfLiabilityInsurance_ACORDForm_RemarkText_A"
    if fillable:
        c.acroForm.textfield(
            name=remark, value=values.get(remark, ""), x=34, y=_y(560, 0), width=540, height=42, borderWidth=0,
            fontName="Helvetica", fontSize=7, maxlen=2000, fieldFlags="multiline",
        )  # fmt: skip
    else:
        for i, line in enumerate(_description_lines(values.get(remark, ""))):
            _text(c, 34, 518 + 9 * i, line, 7)
    c.showPage()
    c.save()
    return buf.getvalue()


# -- ACORD 25 as agency systems print it ------------------------------------------------------


@dataclass(frozen=True)
class CertStyle:
    """How one agency management system prints a certificate: fonts, where the columns sit, what
    goes under its label rather than beside it, and which labels wrap. The values drawn are
    always ``acord_values()``, so every variant of the set has the same truth."""

    name: str
    font: str  # values
    label_font: str
    bold: str
    size: float  # values
    label_size: float
    right: float  # x of the right-hand column (contact, insurers)
    naic_x: float  # x of the NAIC codes
    naic_header_x: float  # x of the "NAIC #" column header (none with naic_per_row)
    #: coverage table x: letter, type, addl, subr, policy number, eff, exp, limit name, "$", amount
    columns: tuple[float, float, float, float, float, float, float, float, float, float]
    row: float = 11  # line spacing in the coverage table
    values_row: int = 0  # the row of its section a coverage's letter, number and dates are on
    labels_above: bool = False  # date, contact, certificate number under their labels
    party_inline: bool = False  # a party's name on its label's line (PRODUCER  Keystone ...)
    naic_per_row: bool = False  # "NAIC # 24112" on every insurer row instead of a column header
    header_wrap: bool = False  # INSR over LTR, ADDL over INSD, SUBR over WVD
    type_wrap: int = 0  # coverage type titles: one line (0) or wrapped onto two, two ways (1, 2)
    limit_wrap: bool = False  # long limit names over two lines, the amount beside the second
    amounts_below: bool = False  # "$1,000,000" under the limit's name
    dollar: str = "column"  # "$" in its own column, "spaced" "$ 1,000,000", "joined" "$1,000,000"
    city_comma: bool = False  # "Camden, NJ 08103"
    remarks_wrap: bool = False  # the description box's label over two lines
    marks: bool = False  # Y in the ADDL INSD / SUBR WVD boxes


STYLES = {
    s.name: s
    for s in (
        CertStyle(
            "stacked", "Times-Roman", "Times-Roman", "Times-Bold", 8.5, 6, 316, 548, 548,
            (40, 60, 176, 194, 214, 312, 364, 418, 0, 536),
            labels_above=True, party_inline=True, header_wrap=True, type_wrap=1, dollar="spaced",
            remarks_wrap=True, marks=True,
        ),
        CertStyle(
            "mono", "Courier", "Helvetica", "Helvetica-Bold", 7, 5.5, 292, 552, 0,
            (30, 48, 186, 204, 224, 316, 366, 424, 0, 432),
            row=9, values_row=1, naic_per_row=True, amounts_below=True, dollar="joined", city_comma=True,
        ),
        CertStyle(
            "narrow", "Helvetica-Oblique", "Helvetica", "Helvetica-Bold", 7.5, 5.5, 288, 526, 552,
            (26, 44, 172, 190, 210, 306, 356, 404, 538, 544),
            header_wrap=True, type_wrap=2, limit_wrap=True,
        ),
    )
}  # fmt: skip

MAILING_TAIL = ("CityName", "StateOrProvinceCode", "PostalCode")
#: line of business -> its title as printed: on one line, or wrapped the two ways agency systems do
TYPE_TITLES = {
    "general_liability": (["COMMERCIAL GENERAL LIABILITY"], ["COMMERCIAL GENERAL", "LIABILITY"],
                          ["COMMERCIAL", "GENERAL LIABILITY"]),
    "auto": (["AUTOMOBILE LIABILITY"], ["AUTOMOBILE", "LIABILITY"], ["AUTOMOBILE", "LIABILITY"]),
    "umbrella": (["UMBRELLA LIAB     OCCUR"], ["UMBRELLA", "LIAB     OCCUR"], ["UMBRELLA", "LIAB     OCCUR"]),
    "workers_compensation": (
        ["WORKERS COMPENSATION", "AND EMPLOYERS' LIABILITY     Y / N"],
        ["WORKERS COMPENSATION", "AND EMPLOYERS' LIABILITY     Y / N"],
        ["WORKERS", "COMPENSATION AND EMPLOYERS'", "LIABILITY     Y / N"],
    ),
}  # fmt: skip
#: limit name -> its two rows where a system wraps it
LIMIT_WRAPS = {
    "DAMAGE TO RENTED PREMISES (Ea occurrence)": ("DAMAGE TO RENTED", "PREMISES (Ea occurrence)"),
    "MED EXP (Any one person)": ("MED EXP", "(Any one person)"),
    "COMBINED SINGLE LIMIT (Ea accident)": ("COMBINED SINGLE LIMIT", "(Ea accident)"),
    "BODILY INJURY (Per accident)": ("BODILY INJURY", "(Per accident)"),
    "E.L. DISEASE - POLICY LIMIT": ("E.L. DISEASE - POLICY", "LIMIT"),
}


def _type_rows(lob: str, style: CertStyle, edition: Edition) -> list[str]:
    """The type-of-insurance column of one section: its title, then its checkboxes' labels."""
    title = TYPE_TITLES[lob][style.type_wrap]
    rest = {
        "general_liability": ["CLAIMS-MADE     OCCUR", "GEN'L AGGREGATE LIMIT APPLIES PER:", edition.aggregate],
        "auto": list(edition.auto_rows),
        "umbrella": ["EXCESS LIAB     CLAIMS-MADE", "DED     RETENTION $"],
        "workers_compensation": [
            "ANY PROPRIETOR/PARTNER/EXECUTIVE",
            "OFFICER/MEMBER EXCLUDED?  (Mandatory in NH)",
            "If yes, describe under",
            "DESCRIPTION OF OPERATIONS below",
        ],
    }[lob]
    return title + rest


def acord25_styled_pdf(style: CertStyle, edition: str = "2016/03", values: dict[str, str] | None = None) -> bytes:
    """A flattened certificate as ``style``'s agency system prints it, in the form ``edition``."""
    buf = io.BytesIO()
    c = _canvas(buf)
    cert = _StyledCertificate(c, style, EDITIONS[edition], acord_values() if values is None else values)
    top = cert.head()
    top = cert.coverage_header(top)
    for lob in SECTIONS:
        top = cert.section(lob, top)
    top = cert.other(top)
    cert.foot(top, edition)
    c.showPage()
    c.save()
    return buf.getvalue()


class _StyledCertificate:
    """One certificate being drawn in a style: the drawing verbs (a label, a value, a party box,
    limit rows) and the form's parts top down, each returning the top after it."""

    def __init__(self, c, style: CertStyle, edition: Edition, values: dict[str, str]) -> None:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        self.c, self.s, self.ed, self.v = c, style, edition, values
        self.width = stringWidth
        self.left, self.right = style.columns[0], style.right

    # -- drawing verbs ------------------------------------------------------------------------

    def label(self, x: float, top: float, text: str, *, bold: bool = False, size: float | None = None) -> float:
        """Draws a label; returns where a value beside it starts."""
        s = self.s
        font, size = (s.bold if bold else s.label_font), size or s.label_size
        _text(self.c, x, top, text, size, font)
        return x + self.width(text, font, size) + 6

    def value(self, x: float, top: float, text: str | None) -> None:
        if text:
            _text(self.c, x, top, text, self.s.size, self.s.font)

    def labelled(self, x: float, top: float, text: str, key: str) -> None:
        beside = self.label(x, top, text)
        if self.s.labels_above:
            self.value(x + 2, top + self.s.label_size + 2, self.v.get(key))
        else:
            self.value(beside, top, self.v.get(key))

    def party(self, x: float, top: float, text: str, prefix: str) -> float:
        """A party box: the label, then name, street, city line; returns the top after it."""
        s, v = self.s, self.v
        beside = self.label(x, top, text, bold=True)
        city, state, postal = (v.get(f"{prefix}_MailingAddress_{k}_A", "") for k in MAILING_TAIL)
        comma = "," if s.city_comma else ""
        rows = [
            v.get(f"{prefix}_FullName_A"),
            v.get(f"{prefix}_MailingAddress_LineOne_A"),
            f"{city}{comma} {state} {postal}",
        ]
        x, top = (beside, top) if s.party_inline else (x + 2, top + s.label_size + 5)
        for k, row in enumerate(rows):
            self.value(x, top + 10 * k, row)
        return top + 10 * len(rows)

    def amount(self, x: float, top: float, text: str | None) -> None:
        """A limit's amount, drawn in the style's way (an empty limit still shows its "$")."""
        s = self.s
        if s.dollar == "column":
            self.label(s.columns[8], top, "$", size=7)
            self.value(s.columns[9], top, text)
        else:
            _text(self.c, x, top, f"${' ' if s.dollar == 'spaced' else ''}{text or ''}", s.size, s.font)

    def limit_rows(self, top: float, rows: list[tuple[str, str | None, bool]]) -> float:
        """Limit names (labels) or names that are values, each with its amount; returns the top after."""
        s = self.s
        x_limit, x_amount = s.columns[7], s.columns[9]
        for name, text, is_value in rows:
            parts = LIMIT_WRAPS.get(name, (name,)) if s.limit_wrap else (name,)
            for k, part in enumerate(parts):
                if is_value:
                    self.value(x_limit, top, part)
                else:
                    self.label(x_limit, top, part, size=5)
                if k + 1 < len(parts):
                    top += s.row
            if s.amounts_below:
                top += s.row
                self.amount(x_limit + 8, top, text)
            else:
                self.amount(x_amount, top, text)
            top += s.row
        return top

    # -- the form, top down -------------------------------------------------------------------

    def head(self) -> float:
        """Title, date, disclaimer, producer and contact, the insurers and the insured."""
        c, s, v, left, right = self.c, self.s, self.v, self.left, self.right
        label, value, labelled = self.label, self.value, self.labelled
        _text(c, left, 30, "ACORD", 16, "Helvetica-Bold")
        _text(c, 170, 34, "CERTIFICATE OF LIABILITY INSURANCE", 13, s.bold)
        labelled(456 if not s.labels_above else 492, 34, "DATE (MM/DD/YYYY)", "Form_CompletionDate_A")
        for i, line in enumerate(textwrap.wrap(DISCLAIMER, 150)):
            _text(c, left, 62 + 7 * i, line, 5, s.label_font)
        self.party(left, 100, "PRODUCER", "Producer")
        step = 18 if s.labels_above else 12
        labelled(right, 100, "CONTACT NAME:", "Producer_ContactPerson_FullName_A")
        labelled(right, 100 + step, "PHONE (A/C, No, Ext):", "Producer_ContactPerson_PhoneNumber_A")
        label(right + 150, 100 + step, "FAX (A/C, No):")
        labelled(right, 100 + 2 * step, "E-MAIL ADDRESS:", "Producer_ContactPerson_EmailAddress_A")
        top = 100 + 3 * step + 4
        label(right + 30, top, "INSURER(S) AFFORDING COVERAGE")
        if not s.naic_per_row:
            label(s.naic_header_x, top, "NAIC #")
        first = top + 12
        for i, letter in enumerate("ABCDEF"):
            row = first + 11 * i
            value(label(right, row, f"INSURER {letter} :") + 4, row, v.get(f"Insurer_FullName_{letter}"))
            if s.naic_per_row:
                label(s.naic_x - 26, row, "NAIC #")
            value(s.naic_x, row, v.get(f"Insurer_NAICCode_{letter}"))
        bottom = self.party(left, first, "INSURED", "NamedInsured")
        return max(bottom, first + 66) + 8

    def coverage_header(self, top: float) -> float:
        """COVERAGES with the certificate and revision numbers, then the table's column heads."""
        s, label = self.s, self.label
        x_ltr, x_type, x_addl, x_subr, x_policy, x_eff, x_exp, x_limit, _x_dollar, _x_amount = s.columns
        label(self.left, top, "COVERAGES", bold=True, size=7)
        self.labelled(200, top, "CERTIFICATE NUMBER:", "CertificateOfInsurance_CertificateNumberIdentifier_A")
        self.labelled(420, top, "REVISION NUMBER:", "CertificateOfInsurance_RevisionNumberIdentifier_A")
        top += 20 if s.labels_above else 12
        certify = (
            "THIS IS TO CERTIFY THAT THE POLICIES OF INSURANCE LISTED BELOW HAVE BEEN ISSUED TO THE INSURED NAMED ABOVE"
        )
        _text(self.c, self.left, top, certify, 5, s.label_font)
        top += 14
        heads = [(x_ltr, "INSR", "LTR"), (x_addl, "ADDL", "INSD"), (x_subr, "SUBR", "WVD")]
        for x, upper, lower in heads:
            if s.header_wrap:
                label(x, top, upper, bold=True)
                label(x, top + 6.5, lower, bold=True)
            else:
                label(x, top, f"{upper} {lower}" if upper == "INSR" else upper, bold=True)
        for x, text in ((x_type + 30, "TYPE OF INSURANCE"), (x_policy + 20, "POLICY NUMBER"), (x_eff, "POLICY EFF"),
                        (x_exp, "POLICY EXP"), (x_limit + 60, "LIMITS")):  # fmt: skip
            label(x, top, text, bold=True)
        for x in (x_eff, x_exp):
            label(x, top + 7, "(MM/DD/YYYY)", size=4.5)
        return top + 20

    def section(self, lob: str, top: float) -> float:
        """One line of business: its type rows, letter, policy number, dates and limits."""
        s, v = self.s, self.v
        x_ltr, x_type, x_addl, x_subr, x_policy, x_eff, x_exp, x_limit, _x_dollar, _x_amount = s.columns
        _top, _labels, limits = SECTIONS[lob]
        self.c.line(24, PAGE_H - top + 3, 588, PAGE_H - top + 3)
        types = _type_rows(lob, s, self.ed)
        for k, text in enumerate(types):
            self.label(x_type, top + s.row * k, text, size=5.5)
        f_letter, f_number, f_eff, f_exp = POLICY_FIELDS[lob]
        middle = top + s.row * s.values_row
        for x, key in ((x_ltr + 4, f_letter), (x_policy, f_number), (x_eff, f_eff), (x_exp, f_exp)):
            self.value(x, middle, v.get(key))
        if s.marks and lob in ("general_liability", "workers_compensation"):
            self.value(x_addl + 4, middle, "Y")
            self.value(x_subr + 4, middle, "Y")
        rows = [(name, v.get(field), False) for _key, name, field in limits]
        start = top
        if lob == "workers_compensation":
            self.label(x_limit, top, self.ed.statute, size=5)
            start += s.row
        end = self.limit_rows(start, rows)
        return max(end, top + s.row * len(types)) + 4

    def other(self, top: float) -> float:
        """The "other" coverage row: a described policy with one named limit."""
        v = self.v
        x_ltr, x_type, _addl, _subr, x_policy, x_eff, x_exp, *_limits = self.s.columns
        self.c.line(24, PAGE_H - top + 3, 588, PAGE_H - top + 3)
        f_letter, f_number, f_eff, f_exp = POLICY_FIELDS["other"]
        for x, key in ((x_ltr + 4, f_letter), (x_type, "OtherPolicy_OtherPolicyDescription_A"), (x_policy, f_number),
                       (x_eff, f_eff), (x_exp, f_exp)):  # fmt: skip
            self.value(x, top, v.get(key))
        other = [(v.get("OtherPolicy_CoverageCode_A", ""), v.get("OtherPolicy_CoverageLimitAmount_A"), True)]
        return self.limit_rows(top, other) + 8

    def foot(self, top: float, edition: str) -> None:
        """Remarks, cancellation, the certificate holder and the footer."""
        c, s, ed, left = self.c, self.s, self.ed, self.left
        remarks = textwrap.wrap(ed.remarks, 72) if s.remarks_wrap else [ed.remarks]
        for line in remarks:
            self.label(left, top, line)
            top += 7
        top += 4
        for line in textwrap.wrap(self.v.get("CertificateOfLiabilityInsurance_ACORDForm_RemarkText_A", ""), 110):
            self.value(left, top, line)
            top += 10
        top += 12
        self.label(310, top, "CANCELLATION", bold=True)
        for i, line in enumerate(textwrap.wrap(CANCELLATION, 70)):
            _text(c, 310, top + 14 + 7 * i, line, 5, s.label_font)
        self.label(310, top + 46, "AUTHORIZED REPRESENTATIVE", size=5)
        if self.party(left, top, "CERTIFICATE HOLDER", "CertificateHolder") > 748:
            raise ValueError(f"style {s.name!r} does not fit on one page")  # it would run into the footer
        _text(c, 200, 758, ed.copyright, 6, s.label_font)
        _text(c, left, 770, f"ACORD 25 ({edition})", 7, s.bold)
        _text(c, 200, 770, "The ACORD name and logo are registered marks of ACORD", 6, s.label_font)


def random_style(seed: int) -> tuple[CertStyle, str, bytes]:
    """A layout drawn at random from the styles' knobs (fonts, sizes, column offsets, what wraps,
    what goes under its label), kept to what a printout can be: values never touch the next
    column's and the page holds it all. Returns the style, the edition and the PDF."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    r = random.Random(seed)
    fonts = [
        ("Helvetica", "Helvetica", "Helvetica-Bold"),
        ("Times-Roman", "Times-Roman", "Times-Bold"),
        ("Courier", "Helvetica", "Helvetica-Bold"),
        ("Helvetica-Oblique", "Times-Roman", "Times-Bold"),
    ]
    for _attempt in range(50):
        font, label_font, bold = r.choice(fonts)
        size = r.choice([7, 7.5, 8, 8.5])
        width = max(stringWidth(t, font, size) for t in ("01/01/2026", "WC 2026 558812")) + 1.2 * size
        x_ltr = r.uniform(24, 40)
        x_type = x_ltr + r.uniform(18, 26)
        x_addl = x_type + r.uniform(120, 128)
        x_subr = x_addl + r.uniform(16, 20)
        x_policy = x_subr + r.uniform(20, 26)
        x_eff = x_policy + width + r.uniform(0, 8)
        x_exp = x_eff + stringWidth("01/01/2026", font, size) + 1.2 * size + r.uniform(0, 6)
        x_limit = x_exp + stringWidth("01/01/2026", font, size) + 1.2 * size + r.uniform(0, 6)
        x_dollar = x_limit + r.uniform(108, 114)
        columns = (x_ltr, x_type, x_addl, x_subr, x_policy, x_eff, x_exp, x_limit, x_dollar, x_dollar + 6)
        style = CertStyle(
            f"random-{seed}", font, label_font, bold, size, r.choice([5.5, 6]), r.uniform(284, 318),
            r.uniform(524, 552), r.uniform(540, 556), tuple(round(x, 1) for x in columns),
            row=r.choice([9, 10, 11]), values_row=r.choice([0, 1]), labels_above=r.random() < 0.5,
            party_inline=r.random() < 0.5, naic_per_row=r.random() < 0.5, header_wrap=r.random() < 0.5,
            type_wrap=r.choice([0, 1, 2]), limit_wrap=r.random() < 0.5, amounts_below=r.random() < 0.5,
            dollar=r.choice(["column", "spaced", "joined"]), city_comma=r.random() < 0.5,
            remarks_wrap=r.random() < 0.5, marks=r.random() < 0.5,
        )  # fmt: skip
        edition = r.choice(list(EDITIONS))
        if x_dollar + 6 + stringWidth("5,000,000", font, size) > PAGE_W - 20:
            continue
        try:
            return style, edition, acord25_styled_pdf(style, edition)
        except ValueError:  # too tall for one page: draw again
            continue
    raise ValueError(f"no layout fits for seed {seed}")


#: The set of printed certificates: (style, edition); "classic" is ``acord25_pdf``'s own layout.
ACORD_VARIANTS = [(style, edition) for style in ("classic", *STYLES) for edition in EDITIONS]


def acord_variant_pdf(style: str, edition: str, *, scan: bool = False) -> bytes:
    """One printed certificate of the set; ``scan`` rasterises it (no text layer: the OCR path)."""
    data = (
        acord25_pdf(fillable=False, edition=edition)
        if style == "classic"
        else acord25_styled_pdf(STYLES[style], edition)
    )
    return scanned_pdf(data) if scan else data


def variant_name(style: str, edition: str, *, scan: bool = False) -> str:
    return f"acord_{style}_{edition.replace('/', '-')}{'_scan' if scan else ''}"


# -- what a certificate says, as the parser's records say it -----------------------------------


def expected_certificate_fields() -> dict[str, object]:
    """Every field drawn on the certificate as ``record.field`` -> value, as the records hold it
    (dates as ``date``, limits in cents): the truth each variant is scored against."""
    fields: dict[str, object] = {
        "certificate.number": CERTIFICATE["number"],
        "certificate.revision": CERTIFICATE["revision"],
        "certificate.issued": _mdy(CERTIFICATE["date"]),
        "certificate.description": DESCRIPTION,
        "producer.contact": PRODUCER["contact"],
        "producer.phone": PRODUCER["phone"],
        "producer.email": PRODUCER["email"],
    }
    for role, truth in (("producer", PRODUCER), ("insured", INSURED), ("certificate_holder", HOLDER)):
        fields[f"{role}.name"] = truth["name"]
        fields[f"{role}.address"] = f"{truth['line1']}, {truth['city']} {truth['state']} {truth['zip']}"
    for letter, (name, naic) in INSURERS.items():
        fields[f"insurer {letter}.name"] = name
        fields[f"insurer {letter}.naic"] = naic
    for lob, (letter, number, eff, exp, limits) in COVERAGES.items():
        fields[f"{lob}.insurer_letter"] = letter
        fields[f"{lob}.policy_number"] = number
        fields[f"{lob}.effective"] = _mdy(eff)
        fields[f"{lob}.expiration"] = _mdy(exp)
        fields.update({f"{lob}.limits.{key}": dollars * 100 for key, dollars in limits.items()})
    fields["other.description"] = OTHER_DESCRIPTION
    return fields


def certificate_fields(records: list) -> dict[str, object]:
    """The same ``record.field`` names read from a parser's records (empty values left out)."""
    fields: dict[str, object] = {}
    for r in records:
        if r.KIND == "certificate":
            fields.update({f"certificate.{k}": getattr(r, k) for k in ("number", "revision", "issued", "description")})
        elif r.KIND == "party" and r.role == "insurer":
            fields.update({f"insurer {r.letter}.name": r.name, f"insurer {r.letter}.naic": r.naic})
        elif r.KIND == "party":
            fields.update({f"{r.role}.name": r.name, f"{r.role}.address": r.address})
            if r.role == "producer":
                fields.update({"producer.contact": r.contact, "producer.phone": r.phone, "producer.email": r.email})
        elif r.KIND == "coverage":
            lob = r.line_of_business
            fields.update({f"{lob}.{k}": getattr(r, k) for k in ("policy_number", "effective", "expiration")})
            fields[f"{lob}.insurer_letter"] = r.insurer_letter
            fields.update({f"{lob}.limits.{k}": cents for k, cents in r.limits.items()})
            if lob == "other":
                fields["other.description"] = r.description
    return {k: v for k, v in fields.items() if v not in (None, "")}


def field_accuracy(records: list) -> tuple[int, int]:
    """(fields found exactly, fields expected) of a certificate's records."""
    expected, found = expected_certificate_fields(), certificate_fields(records)
    return sum(found.get(k) == v for k, v in expected.items()), len(expected)


def _mdy(text: str) -> date:
    m, d, y = (int(x) for x in text.split("/"))
    return date(y, m, d)


# -- carrier declarations pages ------------------------------------------------------------

HARBORLINE = {
    "policy_number": "HM-CPP-2026-004417",
    "named_insured": "Bluewater Logistics Inc.",
    "effective": date(2026, 1, 1),
    "expiration": date(2027, 1, 1),
    "premium_cents": 4_891_500,
    "producer": "Keystone Risk Partners LLC",
}
#: (coverage, limit dollars, deductible dollars, premium cents)
HARBORLINE_COVERAGES = [
    ("General Liability - Each Occurrence", 1_000_000, 0, 1_240_000),
    ("General Liability - General Aggregate", 2_000_000, 0, 0),
    ("Products-Completed Operations Aggregate", 2_000_000, 0, 185_000),
    ("Personal and Advertising Injury", 1_000_000, 0, 0),
    ("Medical Expense - Any One Person", 10_000, 0, 42_500),
    ("Building - Pier 12 Warehouse", 8_500_000, 25_000, 1_870_000),
    ("Business Personal Property", 2_250_000, 10_000, 611_000),
    ("Business Income with Extra Expense", 1_500_000, 0, 288_000),
    ("Equipment Breakdown", 8_500_000, 5_000, 97_000),
    ("Employee Dishonesty", 250_000, 1_000, 54_000),
    ("Cyber Incident Response", 500_000, 10_000, 365_000),
    ("Hired and Non-Owned Auto Liability", 1_000_000, 0, 139_000),
]

GRANITE = {
    "policy_number": "GPC 88-104-7723",
    "named_insured": "Bluewater Logistics Inc.",
    "effective": date(2026, 3, 15),
    "expiration": date(2027, 3, 15),
    "premium_cents": 2_311_800,
}
#: (coverage, symbol, limit dollars, premium dollars)
GRANITE_COVERAGES = [
    ("Liability", "1", 1_000_000, 14_200),
    ("Personal Injury Protection", "5", 250_000, 1_150),
    ("Medical Payments", "2", 5_000, 420),
    ("Uninsured Motorists", "2", 1_000_000, 980),
    ("Underinsured Motorists", "2", 1_000_000, 610),
    ("Comprehensive", "7", 350_000, 2_630),
    ("Collision", "7", 350_000, 3_128),
]


def _money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def harborline_pages(c, policy: dict, coverages: list, *, per_page: int = 7) -> None:
    """A Harborline Mutual commercial package declarations: header page, schedule continued after."""
    chunks = [coverages[i : i + per_page] for i in range(0, len(coverages), per_page)] or [[]]
    total = len(chunks)
    for n, chunk in enumerate(chunks, 1):
        _text(c, 50, 40, "Harborline Mutual Insurance Company", 14, "Helvetica-Bold")
        _text(c, 50, 58, "One Harbor Plaza, Portland, ME 04101  -  NAIC 24112", 8)
        _text(c, 50, 80, "COMMERCIAL PACKAGE POLICY DECLARATIONS", 12, "Helvetica-Bold")
        top = 110
        if n == 1:
            for label, value in (
                ("Policy Number:", policy["policy_number"]),
                ("Named Insured:", policy["named_insured"]),
                ("Mailing Address:", "88 Dockside Avenue, Camden, NJ 08103"),
                (
                    "Policy Period:",
                    f"From {policy['effective']:%m/%d/%Y} to {policy['expiration']:%m/%d/%Y} "
                    "at 12:01 A.M. standard time",
                ),
                ("Producer:", policy.get("producer", "Keystone Risk Partners LLC")),
                ("Total Policy Premium:", _money(policy["premium_cents"])),
            ):
                _text(c, 50, top, label, 10, "Helvetica-Bold")
                _text(c, 170, top, value, 10)
                top += 16
            top += 10
            _text(c, 50, top, "SCHEDULE OF COVERAGES", 11, "Helvetica-Bold")
        else:
            _text(c, 50, top, f"Policy Number: {policy['policy_number']}", 9)
            top += 20
            _text(c, 50, top, "SCHEDULE OF COVERAGES (continued)", 11, "Helvetica-Bold")
        top += 18
        for x, head in ((50, "Coverage"), (300, "Limit of Insurance"), (410, "Deductible"), (490, "Premium")):
            _text(c, x, top, head, 9, "Helvetica-Bold")
        top += 14
        for name, limit, deductible, premium in chunk:
            _text(c, 50, top, name, 9)
            _text(c, 300, top, f"${limit:,}", 9)
            _text(c, 410, top, f"${deductible:,}", 9)
            _text(c, 490, top, _money(premium), 9)
            top += 13
        if n == total:
            top += 14
            _text(c, 50, top, "FORMS AND ENDORSEMENTS", 10, "Helvetica-Bold")
            for form in ("CG 00 01 04 13  Commercial General Liability Coverage Form", "IL 00 17 11 98  Common Policy"):
                top += 13
                _text(c, 60, top, form, 8)
        _text(c, 50, 760, f"HM DEC 01 (01/26)        Page {n} of {total}", 7)
        c.showPage()


def granite_pages(c, policy: dict, coverages: list) -> None:
    """A Granite Peak business auto declarations: three pages, coverages split over two, autos on the third."""
    head = policy["policy_number"]
    split = [coverages[:4], coverages[4:]]
    for n, chunk in enumerate(split, 1):
        _text(c, 60, 36, "GRANITE PEAK CASUALTY CO.", 13, "Helvetica-Bold")
        _text(c, 60, 52, "Business Auto Declarations  -  Item One through Item Three", 9)
        top = 80
        if n == 1:
            for label, value in (
                ("POLICY NO.", head),
                ("INSURED", policy["named_insured"]),
                (
                    "POLICY PERIOD",
                    f"{policy['effective']:%B %d, %Y} - {policy['expiration']:%B %d, %Y}",
                ),
                ("ESTIMATED ANNUAL PREMIUM", f"USD {policy['premium_cents'] // 100:,}"),
            ):
                _text(c, 60, top, label, 9, "Helvetica-Bold")
                _text(c, 240, top, value, 9)
                top += 15
        else:
            _text(c, 60, top, f"POLICY NO. {head} (continued)", 9)
            top += 15
        top += 12
        _text(c, 60, top, "ITEM TWO - SCHEDULE OF COVERAGES AND COVERED AUTOS", 10, "Helvetica-Bold")
        top += 16
        for x, title in ((60, "COVERAGE"), (280, "SYMBOL"), (350, "LIMIT"), (470, "PREMIUM")):
            _text(c, x, top, title, 8, "Helvetica-Bold")
        top += 12
        for name, symbol, limit, premium in chunk:
            _text(c, 60, top, name, 9)
            _text(c, 290, top, symbol, 9)
            _text(c, 350, top, f"{limit:,}", 9)
            _text(c, 470, top, f"{premium:,}", 9)
            top += 13
        _text(c, 60, 770, f"GPC-BA-DEC (03/26)   Page {n} of 3", 7)
        c.showPage()
    _text(c, 60, 36, "GRANITE PEAK CASUALTY CO.", 13, "Helvetica-Bold")
    _text(c, 60, 70, "ITEM THREE - SCHEDULE OF COVERED AUTOS YOU OWN", 10, "Helvetica-Bold")
    for i, auto in enumerate(("2024 FREIGHTLINER CASCADIA 1FUJHHDR4RLBX1234", "2023 FORD TRANSIT 1FTBW3XG5PKA56789")):
        _text(c, 60, 92 + 14 * i, f"{i + 1}  {auto}", 9)
    _text(c, 60, 770, "GPC-BA-DEC (03/26)   Page 3 of 3", 7)
    c.showPage()


def _canvas(buf: io.BytesIO):
    from reportlab.pdfgen import canvas

    return canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H), pageCompression=1)


def harborline_pdf(policy: dict | None = None, coverages: list | None = None) -> bytes:
    buf = io.BytesIO()
    c = _canvas(buf)
    harborline_pages(c, policy or HARBORLINE, HARBORLINE_COVERAGES if coverages is None else coverages)
    c.save()
    return buf.getvalue()


def granite_pdf(policy: dict | None = None) -> bytes:
    buf = io.BytesIO()
    c = _canvas(buf)
    granite_pages(c, policy or GRANITE, GRANITE_COVERAGES)
    c.save()
    return buf.getvalue()


def bench_policies(pages: int) -> list[tuple[dict, list]]:
    """Harborline policies of two pages each (12 coverages): a carrier's print run of ``pages`` pages."""
    policies = []
    for i in range(pages // 2):
        policy = dict(HARBORLINE, policy_number=f"HM-CPP-2026-{i:06d}", premium_cents=4_891_500 + 100 * i)
        policies.append((policy, HARBORLINE_COVERAGES))
    return policies


def bench_declarations_pdf(pages: int = 200) -> bytes:
    buf = io.BytesIO()
    c = _canvas(buf)
    for policy, coverages in bench_policies(pages):
        harborline_pages(c, policy, coverages)
    c.save()
    return buf.getvalue()


TIDEWATER = {
    "policy_number": "TFS/2026/00731",
    "named_insured": "Bluewater Logistics Inc.",
    "effective": date(2026, 5, 1),
    "expiration": date(2027, 5, 1),
    "premium_cents": 312_575,
}
TIDEWATER_TEMPLATE = """\
# A carrier a user adds without code: a declarations page of Tidewater Fidelity & Surety.
name = "tidewater"
carrier = "Tidewater Fidelity & Surety"
match = ["Tidewater Fidelity", "SURETY BOND DECLARATIONS"]
dates = ["%d.%m.%Y"]
money = { thousands = ".", decimal = "," }

[fields.policy_number]
anchor = "Bond No."

[fields.named_insured]
anchor = "Principal:"

[fields.effective]
pattern = 'Term:\\s*(?P<value>\\d\\d\\.\\d\\d\\.\\d{4})'
type = "date"

[fields.expiration]
pattern = 'Term:.*?until\\s*(?P<value>\\d\\d\\.\\d\\d\\.\\d{4})'
type = "date"

[fields.premium]
anchor = "Bond Premium:"
type = "money"

[coverages]
start = "BOND AMOUNTS"
row = '^(?P<name>[A-Z][A-Za-z ]+?)\\s+EUR\\s+(?P<limit>[\\d.,]+)$'
"""


def tidewater_pdf() -> bytes:
    buf = io.BytesIO()
    c = _canvas(buf)
    t = TIDEWATER
    _text(c, 50, 40, "Tidewater Fidelity & Surety", 14, "Helvetica-Bold")
    _text(c, 50, 70, "SURETY BOND DECLARATIONS", 12, "Helvetica-Bold")
    _text(c, 50, 100, f"Bond No. {t['policy_number']}", 10)
    _text(c, 50, 116, f"Principal: {t['named_insured']}", 10)
    _text(c, 50, 132, f"Term: {t['effective']:%d.%m.%Y} until {t['expiration']:%d.%m.%Y}", 10)
    _text(c, 50, 148, "Bond Premium: EUR 3.125,75", 10)
    _text(c, 50, 180, "BOND AMOUNTS", 10, "Helvetica-Bold")
    _text(c, 50, 196, "Performance Bond   EUR 1.250.000,00", 10)
    _text(c, 50, 212, "Payment Bond   EUR 750.000,00", 10)
    c.showPage()
    c.save()
    return buf.getvalue()


def scanned_pdf(source: bytes, dpi: int = 200) -> bytes:
    """``source`` as a scan: each page rasterised and placed as an image, with no text layer."""
    import pypdfium2 as pdfium
    from reportlab.lib.utils import ImageReader

    buf = io.BytesIO()
    c = _canvas(buf)
    pdf = pdfium.PdfDocument(source)
    try:
        for page in pdf:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            c.drawImage(ImageReader(image), 0, 0, width=PAGE_W, height=PAGE_H)
            c.showPage()
    finally:
        pdf.close()
    c.save()
    return buf.getvalue()


# -- malformed and hostile PDFs, written byte by byte ----------------------------------------


def raw_pdf(objects: list[bytes], *, root: int = 1, header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") -> bytes:
    """A PDF from object bodies (object n is objects[n-1]) with a correct xref table."""
    out = bytearray(header)
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def many_pages_pdf(pages: int) -> bytes:
    """``pages`` pages sharing one content stream and font: a huge page count in little time."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        _stream(b"BT /F1 12 Tf 72 720 Td (Schedule of locations) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R"
        b" /Resources << /Font << /F1 4 0 R >> >> >>"
    )
    objects += [page] * pages
    return raw_pdf(objects)


def nested_pdf(depth: int = 100_000) -> bytes:
    """A catalog holding an array nested ``depth`` deep, and a page whose resources nest dicts as deep."""
    arrays = b"[" * depth + b"]" * depth
    dicts = b"<< /A " * depth + b"1" + b" >>" * depth
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Deep " + arrays + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources " + dicts + b" /Contents 4 0 R >>",
            _stream(b"BT /F1 12 Tf 72 720 Td (deep) Tj ET"),
        ]
    )


def _zeros_deflate(mib: int) -> bytes:
    """A zlib stream inflating to ``mib`` MiB of zeros, built without compressing them all.

    After the first MiB, each further MiB of zeros compresses to the same bytes (a full flush
    resets the block state); the Adler-32 of n zero bytes is (n mod 65521) << 16 | 1.
    """
    chunk = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    middle = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    assert middle == c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush(zlib.Z_FINISH)
    n = mib << 20
    adler = ((n % 65521) << 16) | 1
    return b"\x78\xda" + first + middle * (mib - 1) + tail + adler.to_bytes(4, "big")


def bomb_pdf(gib: int = 8) -> bytes:
    """A page whose content stream is a few KiB that inflates (Flate twice) to ``gib`` GiB."""
    inner = _zeros_deflate(gib << 10)
    outer = zlib.compress(inner, 9)
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            _stream(outer, b"/Filter [/FlateDecode /FlateDecode] "),
        ]
    )


def loop_pdf() -> bytes:
    """A page tree whose kid is its own parent."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R] /Count 2 >>",
        ]
    )


def garbage_pdf(size: int = 64 << 10) -> bytes:
    return b"%PDF-1.7\n" + random.Random(25).randbytes(size)


def encrypted_pdf(source: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


# -- the session fixture ---------------------------------------------------------------------


class PdfSet:
    """Generated PDFs by name, each written once to ``root`` on first use."""

    makers: ClassVar[dict[str, Callable[[PdfSet], bytes]]] = {
        "acord_fillable": lambda s: acord25_pdf(fillable=True),
        "acord_flat": lambda s: acord25_pdf(fillable=False),
        "harborline": lambda s: harborline_pdf(),
        "granite": lambda s: granite_pdf(),
        "tidewater": lambda s: tidewater_pdf(),
        "scanned": lambda s: scanned_pdf(harborline_pdf(coverages=HARBORLINE_COVERAGES[:7])),
        "many_pages": lambda s: many_pages_pdf(3000),
        "nested": lambda s: nested_pdf(),
        "bomb": lambda s: bomb_pdf(),
        "loop": lambda s: loop_pdf(),
        "truncated": lambda s: s.data("harborline")[: len(s.data("harborline")) // 2],
        "encrypted": lambda s: encrypted_pdf(s.data("harborline")),
        "empty": lambda s: b"",
        "garbage": lambda s: garbage_pdf(),
        **{
            variant_name(style, edition, scan=scan): lambda s, style=style, edition=edition, scan=scan: (
                acord_variant_pdf(style, edition, scan=scan)
            )
            for style, edition in ACORD_VARIANTS
            for scan in (False, True)
        },
    }

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        target = self.root / f"{name}.pdf"
        if not target.exists():
            target.write_bytes(self.makers[name](self))
        return target

    def data(self, name: str) -> bytes:
        return self.path(name).read_bytes()


_sets: dict[int, PdfSet] = {}


def pdf_set(tmp_path_factory: pytest.TempPathFactory) -> PdfSet:
    """The session's generated PDFs (one set per pytest session, shared by every module)."""
    key = id(tmp_path_factory)
    if key not in _sets:
        _sets[key] = PdfSet(tmp_path_factory.mktemp("pdfs"))
    return _sets[key]
