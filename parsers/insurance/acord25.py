"""ACORD 25 certificates of liability insurance: from form fields, or read back from the page.

ACORD publishes the certificate as a fillable PDF whose field names say what each box holds
(``Policy_GeneralLiability_PolicyNumberIdentifier_A``). When the fields carry values they are
read as they are (source ``form``). A certificate that was flattened or printed to PDF keeps
only the drawn text, and a scanned one only pixels (OCR); for those, ``from_page`` finds the
printed labels (PRODUCER, INSURER A :, POLICY NUMBER, EACH OCCURRENCE ...) and takes each
value beside or under its label, by relations that hold whatever agency system printed the
form (``from_page``), producing the same field names. So one function (``build``) turns field
values into records and checks them, whatever their source.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from bankgate.parsers.insurance.layout import Hit, Line, Page, Segment
from bankgate.parsers.insurance.records import Certificate, Coverage, Party
from bankgate.parsers.insurance.values import DEFAULT_DATE_FORMATS, MoneyFormat, clean, parse_date
from bankgate.parsers.problems import ProblemLog

LETTERS = "ABCDEF"
USD = MoneyFormat()

#: line of business -> (title, letter, policy number, effective, expiration field names)
POLICY_FIELDS: dict[str, tuple[str, str, str, str, str]] = {
    "general_liability": (
        "commercial general liability",
        "GeneralLiability_InsurerLetterCode_A",
        "Policy_GeneralLiability_PolicyNumberIdentifier_A",
        "Policy_GeneralLiability_EffectiveDate_A",
        "Policy_GeneralLiability_ExpirationDate_A",
    ),
    "auto": (
        "automobile liability",
        "Vehicle_InsurerLetterCode_A",
        "Policy_AutomobileLiability_PolicyNumberIdentifier_A",
        "Policy_AutomobileLiability_EffectiveDate_A",
        "Policy_AutomobileLiability_ExpirationDate_A",
    ),
    "umbrella": (
        "umbrella / excess liability",
        "ExcessUmbrella_InsurerLetterCode_A",
        "Policy_ExcessLiability_PolicyNumberIdentifier_A",
        "Policy_ExcessLiability_EffectiveDate_A",
        "Policy_ExcessLiability_ExpirationDate_A",
    ),
    "workers_compensation": (
        "workers compensation and employers' liability",
        "WorkersCompensationEmployersLiability_InsurerLetterCode_A",
        "Policy_WorkersCompensationAndEmployersLiability_PolicyNumberIdentifier_A",
        "Policy_WorkersCompensationAndEmployersLiability_EffectiveDate_A",
        "Policy_WorkersCompensationAndEmployersLiability_ExpirationDate_A",
    ),
    "other": (
        "other",
        "OtherPolicy_InsurerLetterCode_A",
        "OtherPolicy_PolicyNumberIdentifier_A",
        "OtherPolicy_PolicyEffectiveDate_A",
        "OtherPolicy_PolicyExpirationDate_A",
    ),
}

#: line of business -> [(limit name, printed label, field name)]
LIMITS: dict[str, list[tuple[str, str, str]]] = {
    "general_liability": [
        ("each_occurrence", r"[EBF]ACH\s*OCCURRENCE", "GeneralLiability_EachOccurrence_LimitAmount_A"),  # OCR: BACH
        (
            "damage_to_rented_premises",
            r"DAMAGE\s*TO\s*RENTED",
            "GeneralLiability_FireDamageRentedPremises_EachOccurrenceLimitAmount_A",
        ),
        ("medical_expense", r"MED\s*EXP", "GeneralLiability_MedicalExpense_EachPersonLimitAmount_A"),
        ("personal_adv_injury", r"PERSONAL\s*&\s*ADV", "GeneralLiability_PersonalAndAdvertisingInjury_LimitAmount_A"),
        ("general_aggregate", r"GENERAL\s*AGGREGATE", "GeneralLiability_GeneralAggregate_LimitAmount_A"),
        (
            "products_completed_ops_aggregate",
            r"PRODUCTS\s*-?\s*COMP",
            "GeneralLiability_ProductsAndCompletedOperations_AggregateLimitAmount_A",
        ),
    ],
    "auto": [
        ("combined_single_limit", r"COMBINED\s*SINGLE", "Vehicle_CombinedSingleLimit_EachAccidentAmount_A"),
        (
            "bodily_injury_per_person",
            r"BODILY\s*INJURY\s*\(\s*Per\s*person",
            "Vehicle_BodilyInjury_PerPersonLimitAmount_A",
        ),
        (
            "bodily_injury_per_accident",
            r"BODILY\s*INJURY\s*\(\s*Per\s*accident",
            "Vehicle_BodilyInjury_PerAccidentLimitAmount_A",
        ),
        ("property_damage", r"PROPERTY\s*DAMAGE", "Vehicle_PropertyDamage_PerAccidentLimitAmount_A"),
    ],
    "umbrella": [
        ("each_occurrence", r"[EBF]ACH\s*OCCURRENCE", "ExcessUmbrella_Umbrella_EachOccurrenceAmount_A"),
        ("aggregate", r"^AGGREGATE", "ExcessUmbrella_Umbrella_AggregateAmount_A"),
    ],
    "workers_compensation": [
        (
            "el_each_accident",
            r"E\.?\s*LL?\.?\s*EACH\s*ACCIDENT",
            "WorkersCompensationEmployersLiability_EmployersLiability_EachAccidentLimitAmount_A",
        ),
        (
            "el_disease_each_employee",
            r"E\.?\s*LL?\.?\s*DISEASE\s*-?\s*EA",
            "WorkersCompensationEmployersLiability_EmployersLiability_DiseaseEachEmployeeLimitAmount_A",
        ),
        (
            "el_disease_policy_limit",
            r"E\.?\s*LL?\.?\s*DISEASE\s*-?\s*POLICY",
            "WorkersCompensationEmployersLiability_EmployersLiability_DiseasePolicyLimitAmount_A",
        ),
    ],
}
OTHER_DESCRIPTION = "OtherPolicy_OtherPolicyDescription_A"
OTHER_LIMIT_NAME = "OtherPolicy_CoverageCode_A"
OTHER_LIMIT_AMOUNT = "OtherPolicy_CoverageLimitAmount_A"
REMARKS = "CertificateOfLiabilityInsurance_ACORDForm_RemarkText_A"
PARTIES = {"producer": "Producer", "insured": "NamedInsured", "certificate_holder": "CertificateHolder"}
ADDRESS = ("MailingAddress_LineOne_A", "MailingAddress_LineTwo_A", "MailingAddress_CityName_A")
ADDRESS_TAIL = ("MailingAddress_StateOrProvinceCode_A", "MailingAddress_PostalCode_A")

#: Field names that mark a fillable ACORD 25 (enough of them must be present).
SIGNATURE_FIELDS = frozenset(
    {"Producer_FullName_A", "NamedInsured_FullName_A", "Insurer_FullName_A", "Insurer_NAICCode_A"}
    | {f for fields in POLICY_FIELDS.values() for f in fields[1:]}
)

#: A value with where it was read: (text, page, source).
Value = tuple[str, int, str]

_SUFFIX = re.compile(r"\[\d+\]$")


def field_key(name: str) -> str:
    """``F[0].P1[0].Producer_FullName_A[0]`` -> ``Producer_FullName_A``."""
    return _SUFFIX.sub("", name.rsplit(".", 1)[-1])


def form_values(fields: Iterable[list]) -> dict[str, Value]:
    """ACORD field values from ``[name, value, page]`` widgets; empty values are left out."""
    values: dict[str, Value] = {}
    for name, value, page in fields:
        key = field_key(name)
        if str(value).strip() and key not in values:
            values[key] = (str(value), page, "form")
    return values


def is_acord_form(fields: Iterable[list]) -> bool:
    return len({field_key(f[0]) for f in fields} & SIGNATURE_FIELDS) >= 5


def looks_like_acord(text: str) -> bool:
    return bool(re.search(r"CERTIFICATE\s+OF\s+LIABILITY\s+INSURANCE", text, re.I)) and "ACORD" in text.upper()


# -- reading the values back from a flattened or scanned certificate --------------------------


def _p(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Form labels are printed in capitals: matching case keeps "Certificate holder is..." apart."""
    return re.compile(pattern, flags)


LABEL = {
    "date": _p(r"DATE\s*\(\s*MM\s*/\s*DD\s*/\s*YYYY\s*\)"),
    "producer": _p(r"^PRODUCER\b"),
    "contact": _p(r"CONTACT\s*NAME\s*:?"),
    "phone": _p(r"PHONE\s*\(\s*A/?C,?\s*No,?\s*Ext\s*\)\s*:?"),
    "fax": _p(r"\bFAX\b"),
    "email": _p(r"E-?\s*MAIL\s*ADDRESS\s*:?"),
    "naic": _p(r"NAIC\s*#"),
    "insurer": _p(r"INSURER\s*([A-F])\s*:"),
    "insured": _p(r"^INSURED\b"),
    "coverages": _p(r"^COVERAGES\b"),
    "cert_number": _p(r"CERTIFICATE\s*NUMBER\s*:?"),
    "revision": _p(r"REVISION\s*NUMBER\s*:?"),
    "ltr": _p(r"INSR\s*L[TI]R"),  # OCR reads LTR as LIR
    "addl": _p(r"\bADDL\b"),
    "policy": _p(r"POLICY\s*NUMBER"),
    "eff": _p(r"POLICY\s*EFF"),
    "exp": _p(r"POLICY\s*EXP"),
    "subr": _p(r"SUBR"),
    "description": _p(r"DESCRIPTION\s*OF\s*OPERATIONS(?!\s*below)"),  # not "describe under ... below"
    "holder": _p(r"^CERTIFICATE\s*HOLDER"),
    "cancellation": _p(r"CANCELLATION"),
}
#: Printed text of the form that is never a value, besides the labels above.
STATIC = (
    r"INSURER\s*\(\s*S\s*\)\s*AFFORDING\s*COVERAGE",
    r"\(?\s*MM\s*/\s*DD\s*/\s*YYYY\s*\)?",
    r"\(\s*A/?C,?\s*No\s*\)\s*:?",
    r"TYPE\s*OF\s*INSURANCE",
    r"\bINSD\b",
    r"\bWVD\b",
    r"\bLIMITS\b",
    r"AUTHORIZED\s*REPRESENTATIVE",
    r"THIS\s*IS\s*TO\s*CERTIFY.*",
    r"\(?\s*(?:Attach\s*)?ACORD\s*101\b.*",
)
SECTION = {
    "general_liability": _p(r"COMMERCIAL\s*GENERAL\s*LIABILITY"),
    "auto": _p(r"AUTOMOBILE\s*LIABILITY"),
    "umbrella": _p(r"UMBRELLA\s*LIAB"),
    "workers_compensation": _p(r"WORKERS\s*COMPENSATION"),
}
FOOTER = _p(r"ACORD\s*CORPORATION|ACORD\s*25\s*\(")
LIMIT_PATTERNS = {lob: [(key, _p(label, re.I), field) for key, label, field in rows] for lob, rows in LIMITS.items()}
OCR_DEBRIS = " —–_~|"
#: An amount at the end of a limit row when no "$" is printed (OCR drops it): digits, or the
#: letters OCR mistakes them for, with at least one digit.
_AMOUNT_TAIL = re.compile(r"(?:^|\s)(\(?(?=[\dOoIlS,.]*\d)[\dOoIlS][\dOoIlS,.]*\)?)$")
_NAIC_TAIL = re.compile(r"^(?P<name>.*?)\s*(?P<naic>\b(?=[\dOoIlS]*\d)[\dOoIlS]{3,6})?$")
_CITY_LINE = re.compile(r"(?P<city>.+?),?\s+(?P<state>[A-Z]{2})\s+(?P<zip>\d{5}(?:-\d{4})?)")

Put = Callable[[str, "str | None"], None]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "limit"


@functools.cache
def _any_label() -> re.Pattern[str]:
    """Every label and static text in one pattern, compiled on first use (not in the PDF worker)."""
    return re.compile("|".join([p.pattern.lstrip("^") for p in LABEL.values()] + list(STATIC)))


def is_label(text: str) -> bool:
    """True when ``text`` is only printed form labels (``NAIC #``, ``INSURER(S) AFFORDING
    COVERAGE``...): such text is never taken as a value, wherever the layout puts it."""
    return not re.search(r"[A-Za-z0-9]", _any_label().sub("", text))


def _before_label(text: str) -> str:
    """``text`` up to the first label in it: a value beside its label ends at the next label."""
    m = _any_label().search(text)
    return (text[: m.start()] if m else text).strip(" :")


def value_of(page: Page, hit: Hit, stop: float | None = None) -> str:
    """The value of a label: to its right on the same line (up to ``stop`` or the next label),
    else on the line under it (starting near the label, not a label itself)."""
    right = _before_label(hit.after(stop))
    x1 = stop if stop is not None else page.width + 1
    if not right:  # beside it, but grouped into another line (a neighbouring column's row)
        beside = page.region_lines(hit.box.x1, hit.box.top, x1, hit.box.bottom, besides=hit.line)
        right = _before_label(beside[0].text) if beside else ""
    if right:
        return right
    top, height = hit.box.bottom, hit.box.bottom - hit.box.top
    below = page.region_lines(hit.box.x0 - max(4.0, height), top, x1, top + 2 * height, besides=hit.line)
    if below and not is_label(below[0].text):
        return _before_label(below[0].text)
    return ""


def from_page(page: Page) -> dict[str, Value]:
    """The certificate's field values read from a page's text (layer or OCR), by label position.

    Nothing depends on where a generator put a box: a value is beside or under its label, a
    party box is what lies under (or beside) its label down to the next box, insurers are
    rows, coverage lines are found by their (possibly wrapped) titles, and limits by name.
    """
    values: dict[str, Value] = {}
    found = {name: page.find(pattern) for name, pattern in LABEL.items() if name != "insurer"}

    def put(key: str, text: str | None) -> None:
        text = clean(text or "").strip(OCR_DEBRIS)  # OCR reads ruled lines as dashes and tildes
        if text and not is_label(text):
            values[key] = (text, page.number, page.source)

    def box_x0(name: str, default: float) -> float:
        hit = found.get(name)
        return hit.box.x0 if hit else default

    insurers = _all(page, LABEL["insurer"])
    right_column = min((h.box.x0 for h in insurers), default=page.width / 2)
    simple = (
        ("date", "Form_CompletionDate_A", None),
        ("cert_number", "CertificateOfInsurance_CertificateNumberIdentifier_A", box_x0("revision", page.width + 1) - 2),
        ("revision", "CertificateOfInsurance_RevisionNumberIdentifier_A", None),
        ("contact", "Producer_ContactPerson_FullName_A", None),
        ("phone", "Producer_ContactPerson_PhoneNumber_A", box_x0("fax", page.width + 1) - 2),
        ("email", "Producer_ContactPerson_EmailAddress_A", None),
    )
    for label, key, stop in simple:
        if (labelled := found[label]) is not None:
            put(key, value_of(page, labelled, stop))
    for hit in insurers:
        letter = hit.match.group(1).upper()
        row = LABEL["naic"].sub("  ", hit.after())  # "NAIC #" printed on the row is a label
        m = _NAIC_TAIL.match(clean(row))
        if m:
            put(f"Insurer_FullName_{letter}", m["name"])
            put(f"Insurer_NAICCode_{letter}", m["naic"])
    footer = page.find(FOOTER, below=found["holder"].line.bottom) if found["holder"] else None
    footer_top = footer.line.top if footer else page.height
    blocks = (
        ("Producer", "producer", found["insured"].line.top if found["insured"] else None, right_column),
        ("NamedInsured", "insured", found["coverages"].line.top if found["coverages"] else None, right_column),
        ("CertificateHolder", "holder", footer_top, box_x0("cancellation", page.width / 2)),
    )
    for prefix, label, bottom, right in blocks:
        block = found[label]
        if block and bottom is not None:
            _put_party(put, prefix, _block(page, block, right - 4, bottom))
    if found["description"] and found["holder"]:
        put(REMARKS, " ".join(_remarks(page, found["description"], found["holder"].line.top)))
    _coverages(page, found, put)
    return values


def _all(page: Page, pattern: re.Pattern[str]) -> list[Hit]:
    hits = []
    for line in page.lines:
        for m in pattern.finditer(line.text):
            hits.append(Hit(line, line.span(m.start(), m.end()), m))
    return hits


def _block(page: Page, hit: Hit, right: float, bottom: float) -> list[str]:
    """A party box: the text beside its label (a name printed on the label's line), then the
    lines under the label down to ``bottom``; printed labels left out."""
    beside = _before_label(hit.after(stop=right))
    below = [line.text for line in page.region_lines(hit.box.x0 - 4, hit.line.bottom, right, bottom)]
    return [t for t in ([beside] if beside else []) + below if not is_label(t)]


def _put_party(put: Put, prefix: str, lines: list[str]) -> None:
    """Name, street lines, and the last line as city, state and ZIP when it reads as one."""
    if not lines:
        return
    put(f"{prefix}_FullName_A", lines[0])
    rest = lines[1:]
    m = _CITY_LINE.fullmatch(clean(rest[-1])) if rest else None
    if m:
        rest = rest[:-1]
        put(f"{prefix}_MailingAddress_CityName_A", m["city"])
        put(f"{prefix}_MailingAddress_StateOrProvinceCode_A", m["state"])
        put(f"{prefix}_MailingAddress_PostalCode_A", m["zip"])
    elif len(rest) > 1:
        put(f"{prefix}_MailingAddress_CityName_A", rest.pop())
    if rest:
        put(f"{prefix}_MailingAddress_LineOne_A", rest[0])
    if len(rest) > 1:
        put(f"{prefix}_MailingAddress_LineTwo_A", " ".join(rest[1:]))


def _remarks(page: Page, label: Hit, bottom: float) -> list[str]:
    """The description box's lines; a label whose parenthesis wraps onto the next line ends there."""
    lines = [line.text for line in page.region_lines(0, label.line.bottom, page.width + 1, bottom)]
    open_parens = label.line.text.count("(") - label.line.text.count(")")
    while open_parens > 0 and lines:
        text = lines.pop(0)
        open_parens += text.count("(") - text.count(")")
    return [t for t in lines if not is_label(t)]


def _coverages(page: Page, found: dict[str, Hit | None], put: Put) -> None:
    """The coverage table: columns from the header labels, one band per line of business."""
    ltr, policy, eff, exp = (page.find_wrapped(LABEL[name]) for name in ("ltr", "policy", "eff", "exp"))
    if not (ltr and policy and eff and exp):
        return
    header_bottom = max(h.line.bottom for h in (ltr, policy, eff, exp))
    end = found["description"].line.top if found["description"] else page.height
    starts, titles_x0 = [], []
    for lob, pattern in SECTION.items():
        hit = page.find_wrapped(pattern, below=header_bottom)
        if hit and hit.line.top < end:
            starts.append((hit.line.top - 1, lob))
            titles_x0.append(hit.box.x0)
    starts.sort()
    # The type column starts where the titles do; the INSR LTR header may reach over it.
    type_x0 = min(ltr.box.x1 + 4, min(titles_x0, default=page.width) - 2)
    limit_hits = [page.find(p, below=header_bottom) for rows in LIMIT_PATTERNS.values() for _key, p, _field in rows]
    limits_x0 = min((h.box.x0 for h in limit_hits if h and h.line.top < end), default=exp.box.x1 + 12) - 2
    policy_x0 = found["subr"].box.x1 + 2 if found["subr"] else policy.box.x0 - 24
    type_x1 = found["addl"].box.x0 - 2 if found["addl"] else policy_x0
    columns = {
        "letter": (0, type_x0),
        "type": (type_x0, type_x1),
        "policy": (policy_x0, eff.box.x0 - 3),
        "eff": (eff.box.x0 - 3, exp.box.x0 - 3),
        "exp": (exp.box.x0 - 3, limits_x0),
        "limits": (limits_x0, page.width + 1),
    }

    def cell(name: str, top: float, bottom: float) -> list[Line]:
        x0, x1 = columns[name]
        return page.region_lines(x0, top, x1, bottom)

    def letters(top: float, bottom: float) -> list[Segment]:
        """Insurer letters in the letter column, each a run of its own (OCR may add debris)."""
        cells = [s for line in cell("letter", top, bottom) for s in line.segments]
        return [s for s in cells if re.fullmatch(r"[A-F]", s.text.strip(OCR_DEBRIS))]

    bands: list[tuple[str, float, float]] = []
    for k, (top, lob) in enumerate(starts):
        bottom = starts[k + 1][0] if k + 1 < len(starts) else end
        if lob == "workers_compensation":
            # The row under workers' compensation ("other") is the next row with its own letter or number.
            rows = sorted(t.top for t in letters(top, bottom) + cell("policy", top, bottom) if t.text.strip(OCR_DEBRIS))
            later = [r for r in rows if r > rows[0] + 2] if rows else []
            if later:
                bands.append((lob, top, later[0] - 1))
                bands.append(("other", later[0] - 1, bottom))
                continue
        bands.append((lob, top, bottom))

    for lob, top, bottom in bands:
        _title, f_letter, f_number, f_eff, f_exp = POLICY_FIELDS[lob]
        found_letters = letters(top, bottom)
        if found_letters:
            put(f_letter, found_letters[0].text)
        numbers = cell("policy", top, bottom)
        if numbers:
            put(f_number, numbers[0].text)
        for column, field in (("eff", f_eff), ("exp", f_exp)):
            dates = [t.text for t in cell(column, top, bottom) if re.search(r"\d", t.text)]
            if dates:
                put(field, dates[0])
        if lob == "other":
            described = [t.text for t in cell("type", top, bottom) if not is_label(t.text)]
            if described:
                put(OTHER_DESCRIPTION, described[0])
        band_limits(lob, [t.text for t in cell("limits", top, bottom)], put)


def _split_amount(text: str) -> tuple[str, str, bool]:
    """``EACH OCCURRENCE $ 1,000,000`` -> (name, amount, whether a "$" was printed)."""
    if "$" in text:
        label, _, amount = text.rpartition("$")
        return label.strip(), amount.strip(), True
    m = _AMOUNT_TAIL.search(text)
    if m:
        return text[: m.start()].strip(), m.group(1).strip(), False
    return text.strip(), "", False


def _limit_field(lob: str, label: str) -> str | None:
    for _key, pattern, field in LIMIT_PATTERNS.get(lob, []):
        if pattern.search(label):
            return field
    return None


def band_limits(lob: str, texts: list[str], put: Put) -> None:
    """The limits of one coverage line, top down. A name waits for its amount, which may be
    beside it, on the row under it, or beside the second row of a name wrapped over two."""
    pending = ""
    for text in texts:
        label, amount, dollar = _split_amount(text)
        if not (amount or dollar):  # a name alone: a new one, or the second row of the last
            joined = f"{pending} {label}"
            wraps = pending and not _limit_field(lob, label) and (_limit_field(lob, joined) or lob == "other")
            pending = joined if wraps else label
            continue
        if not label:
            label = pending
        elif pending and _limit_field(lob, label) is None and _limit_field(lob, f"{pending} {label}"):
            label = f"{pending} {label}"
        pending = ""
        if amount and label:
            _put_limit(lob, label, amount, put)
        elif amount and lob == "other":
            _put_limit(lob, "", amount, put)


def _put_limit(lob: str, label: str, amount: str, put: Put) -> None:
    field = _limit_field(lob, label)
    if field:
        put(field, amount)
    elif lob == "other":
        put(OTHER_LIMIT_NAME, label)
        put(OTHER_LIMIT_AMOUNT, amount)
    else:
        put(f"{lob}:{_slug(label)}", amount)


# -- from field values to records, with the checks --------------------------------------------


def build(values: dict[str, Value], log: ProblemLog) -> list:
    """Records of a certificate from its field values (form, text or OCR), problems into ``log``."""
    first_page = min((v[1] for v in values.values()), default=1)
    records: list = []

    def get(key: str) -> Value | None:
        return values.get(key)

    def text(key: str) -> str | None:
        v = values.get(key)
        return clean(v[0]) if v else None

    def where(*keys: str) -> tuple[int, str]:
        for key in keys:
            if key in values:
                return values[key][1], values[key][2]
        return first_page, _main_source(values)

    page, source = where("Form_CompletionDate_A", "CertificateOfInsurance_CertificateNumberIdentifier_A", REMARKS)
    issued = _date(get("Form_CompletionDate_A"), "certificate", "issued", log, page)
    records.append(
        Certificate(
            page,
            "ACORD 25",
            text("CertificateOfInsurance_CertificateNumberIdentifier_A"),
            text("CertificateOfInsurance_RevisionNumberIdentifier_A"),
            issued,
            text(REMARKS),
            source,
        )
    )
    for role, prefix in PARTIES.items():
        name = text(f"{prefix}_FullName_A")
        page, source = where(f"{prefix}_FullName_A", *(f"{prefix}_{a}" for a in ADDRESS))
        if not name:
            if role != "certificate_holder" or any(f"{prefix}_{a}" in values for a in ADDRESS):
                log.add(page, f"party {role}", "name", "is missing", code="insurance.party.name_missing")
            if role == "certificate_holder":
                continue
        lines = [text(f"{prefix}_{a}") for a in ADDRESS[:2]]
        last = " ".join(
            t for t in [text(f"{prefix}_{ADDRESS[2]}"), *(text(f"{prefix}_{a}") for a in ADDRESS_TAIL)] if t
        )
        address = ", ".join(t for t in [*lines, last] if t) or None
        contact = phone = email = None
        if role == "producer":
            contact = text("Producer_ContactPerson_FullName_A")
            phone = text("Producer_ContactPerson_PhoneNumber_A")
            email = text("Producer_ContactPerson_EmailAddress_A")
        records.append(Party(page, role, None, name or "", address, None, contact, phone, email, source))
    insurers: set[str] = set()
    for letter in LETTERS:
        name, naic = text(f"Insurer_FullName_{letter}"), text(f"Insurer_NAICCode_{letter}")
        if not (name or naic):
            continue
        insurers.add(letter)
        page, source = where(f"Insurer_FullName_{letter}", f"Insurer_NAICCode_{letter}")
        if not name:
            log.add(
                page,
                f"party insurer {letter}",
                "name",
                "is missing (a NAIC code is given)",
                code="insurance.party.name_missing",
            )
        if naic and not re.fullmatch(r"\d{5}", naic):
            log.add(
                page, f"party insurer {letter}", "naic", f"must be 5 digits, got '{naic}'", code="insurance.party.naic"
            )
        records.append(Party(page, "insurer", letter, name or "", None, naic, None, None, None, source))
    for lob, (title, f_letter, f_number, f_eff, f_exp) in POLICY_FIELDS.items():
        keys = [f_letter, f_number, f_eff, f_exp, *_limit_keys(lob, values)]
        if not any(k in values for k in keys):
            continue  # this line is not on the certificate
        page, source = where(*keys)
        record = f"coverage {lob}"
        insurer = text(f_letter)
        if insurer is not None:
            insurer = insurer.upper()
            if insurer not in insurers:
                log.add(
                    page,
                    record,
                    "insurer_letter",
                    f"'{insurer}' names no insurer listed (A-F)",
                    code="insurance.coverage.insurer_letter",
                )
        number = text(f_number)
        if not number:
            log.add(
                page,
                record,
                "policy_number",
                "is missing for a listed coverage",
                code="insurance.coverage.policy_number_missing",
            )
        effective = _date(get(f_eff), record, "effective", log, page, required=True)
        expiration = _date(get(f_exp), record, "expiration", log, page, required=True)
        if effective and expiration and expiration <= effective:
            log.add(
                page,
                record,
                "expiration",
                f"{expiration.isoformat()} is not after the effective date {effective.isoformat()}",
                code="insurance.policy.expiration_order",
            )
        limits = _limits(lob, values, record, log)
        description = text(OTHER_DESCRIPTION) if lob == "other" else title
        records.append(
            Coverage(
                page, lob, description or title, insurer, number, effective, expiration, limits, None, None, source
            )
        )
    return records


def _limit_keys(lob: str, values: dict[str, Value]) -> list[str]:
    if lob == "other":
        return [OTHER_DESCRIPTION, OTHER_LIMIT_AMOUNT]
    return [f for _k, _l, f in LIMITS[lob]] + [k for k in values if k.startswith(f"{lob}:")]


def _limits(lob: str, values: dict[str, Value], record: str, log: ProblemLog) -> dict[str, int]:
    named: list[tuple[str, str]] = []
    if lob == "other":
        if OTHER_LIMIT_AMOUNT in values:
            label = values.get(OTHER_LIMIT_NAME)
            named.append((_slug(label[0]) if label else "limit", OTHER_LIMIT_AMOUNT))
    else:
        named = [(key, field) for key, _label, field in LIMITS[lob] if field in values]
        named += [(k.split(":", 1)[1], k) for k in values if k.startswith(f"{lob}:")]
    limits: dict[str, int] = {}
    for key, field in named:
        raw, page, _source = values[field]
        cents = USD.cents(raw)
        if cents is None:
            log.add(page, record, f"limits.{key}", f"is not a number: '{clean(raw)}'", code="insurance.field.number")
        else:
            limits[key] = cents
    return limits


def _date(value: Value | None, record: str, name: str, log: ProblemLog, page: int, *, required: bool = False):
    if value is None:
        if required:
            log.add(page, record, name, "is missing", code="insurance.field.missing")
        return None
    raw, page, _source = value
    parsed = parse_date(raw, DEFAULT_DATE_FORMATS)
    if parsed is None:
        log.add(page, record, name, f"is not a date (MM/DD/YYYY): '{clean(raw)}'", code="insurance.field.date")
    return parsed


def _main_source(values: dict[str, Value]) -> str:
    sources = sorted({v[2] for v in values.values()})
    return "+".join(sources) or "text"
