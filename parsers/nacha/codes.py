"""NACHA code tables: transaction codes, service classes, SEC codes and their addenda rules."""

from __future__ import annotations

# Transaction codes by direction. x2/x3/x4 credit (live, prenote, zero-dollar remittance),
# x7/x8/x9 debit; x1 and x6 are returns/NOCs of those. Loans: 51-54 credit, 55-56 debit.
# ADV (automated accounting advices): odd codes are credits, even codes debits.
CREDIT_CODES = frozenset({21, 22, 23, 24, 31, 32, 33, 34, 41, 42, 43, 44, 51, 52, 53, 54, 81, 83, 85, 87})
DEBIT_CODES = frozenset({26, 27, 28, 29, 36, 37, 38, 39, 46, 47, 48, 49, 55, 56, 82, 84, 86, 88})
TRANSACTION_CODES = CREDIT_CODES | DEBIT_CODES
ADV_CODES = frozenset(range(81, 89))
#: Prenotifications and zero-dollar remittance entries must carry a zero amount.
ZERO_AMOUNT_CODES = frozenset({23, 24, 28, 29, 33, 34, 38, 39, 43, 44, 48, 49, 53, 54})

MIXED, CREDITS_ONLY, DEBITS_ONLY, AUTOMATED_ACCOUNTING_ADVICES = 200, 220, 225, 280
SERVICE_CLASS_CODES = frozenset({MIXED, CREDITS_ONLY, DEBITS_ONLY, AUTOMATED_ACCOUNTING_ADVICES})

SEC_CODES = frozenset(
    "ACK ADV ARC ATX BOC CCD CIE COR CTX DNE ENR IAT MTE POP POS PPD RCK SHR TEL TRC TRX WEB XCK".split()
)

#: Forward-entry addenda each SEC code allows: (addenda type codes, most per entry).
#: Returns (99) and notifications of change (98) may follow an entry of any SEC code.
FORWARD_ADDENDA: dict[str, tuple[frozenset[str], int]] = {
    **dict.fromkeys(["PPD", "CCD", "WEB", "CIE", "ACK", "DNE"], (frozenset({"05"}), 1)),
    **dict.fromkeys(["CTX", "ENR", "ATX", "TRX"], (frozenset({"05"}), 9999)),
    **dict.fromkeys(["POS", "SHR", "MTE"], (frozenset({"02"}), 1)),
    **dict.fromkeys(["ARC", "BOC", "POP", "RCK", "TEL", "XCK", "TRC", "ADV"], (frozenset(), 0)),
    "COR": (frozenset({"98"}), 1),
    "IAT": (frozenset({"10", "11", "12", "13", "14", "15", "16", "17", "18"}), 7 + 2 + 5),
}
RETURN_ADDENDA = frozenset({"98", "99"})

#: IAT entries carry these seven addenda, in this order, before any 17s and 18s.
IAT_MANDATORY = ("10", "11", "12", "13", "14", "15", "16")
IAT_MAX_OPTIONAL = {"17": 2, "18": 5}


#: Whether an SEC code's entries need the Individual Name (Receiving Company Name) field, after
#: the field inclusion requirements of the NACHA Operating Rules' record formats (Appendix Three):
#: "M" mandatory (an ACH Operator rejects an entry whose name is spaces, zeros or a mix of the
#: two: TEL and WEB since the September 2007 rule change, and CIE), "R" required (an RDFI may
#: return it), anything not listed is optional.
#: ARC, BOC and POP are optional: their entries are made from a check's MICR line, which carries
#: no name, and the rules say so ("the NACHA Operating Rules do not require Originators to include
#: the Receiver's name in the ARC, BOC, or POP Entry Detail Record", in the rules' amendment on
#: Return Fee Entries for them; NACHA's ACH Compliance Manual: for ARC "Individual name is
#: optional"). moov-io/ach's batch field inclusion rejects a blank name for these too, a stricter
#: reading than the rules: a file it rejects there passes here.
#: CCD and CTX are required: their Receiving Company Name (CTX: Receiving Company Name/ID Number)
#: is "R" in their record formats, as banks' inbound edits built on them list it (Oracle Banking
#: Payments, "SEC Code Specific Validations": M for TEL and WEB; R for CCD, CIE, CTX, PPD and
#: RCK; O for ARC, BOC and POP). That list has CIE as R where this table keeps M (moov-io/ach
#: rejects a blank CIE name too).
#: DNE, ENR, MTE and POS, checked against a transcription of those record formats with their
#: inclusion codes (the ``nacha`` Ruby gem, github.com/dwilkins/nacha, lib/nacha/record/
#: {dne,enr,mte,pos}_entry_detail.rb): DNE Individual Name "R", ENR Receiving Company Name "R",
#: POS Individual Name "R", and MTE Individual Name (positions 40-54) "M": MTE was R here before.
MANDATORY, REQUIRED, OPTIONAL = "M", "R", "O"
INDIVIDUAL_NAME: dict[str, str] = {
    **dict.fromkeys(["CIE", "MTE", "TEL", "WEB"], MANDATORY),
    **dict.fromkeys(["CCD", "CTX", "DNE", "ENR", "POS", "PPD", "RCK"], REQUIRED),
}

#: Identification Code Designators that may precede a 9-digit number in a 10-position
#: Immediate Origin (as in the Company Identification): 1 IRS Employer Identification Number,
#: 3 Data Universal Numbering System (DUNS), 9 user assigned.
ORIGIN_ICDS = frozenset("139")


def is_routing(value: str) -> bool:
    """A 9-digit ABA routing number with a valid check digit."""
    if not (len(value) == 9 and value.isascii() and value.isdigit()) or value == "000000000":
        return False
    return routing_check_digit(value[:8]) == int(value[8])


def routing_in_field(raw: str) -> str | None:
    """The routing number of a 10-position Immediate Destination/Origin, or None.

    The rules' form is a space and the 9-digit routing number (``bTTTTAAAAC``); files in the
    wild also left-justify it or pad it with a zero (moov-io/ach's own test files do).
    """
    value = raw.strip()
    if len(value) == 10 and value[0] == "0":
        value = value[1:]
    return value if is_routing(value) else None


def is_company_origin(raw: str) -> bool:
    """A 10-position Immediate Origin holding an ICD (1, 3 or 9) and 9 digits: '1' + an EIN."""
    value = raw.strip()
    return len(value) == 10 and value[0] in ORIGIN_ICDS and value.isascii() and value[1:].isdigit()


def blank_or_zeros(value: str) -> bool:
    """Spaces, zeros or a mix of the two: what ACH Operators treat as a missing name."""
    return not value.strip(" 0")


def is_return_reason_code(code: str) -> bool:
    """R01-R85: the range of return reason codes the NACHA rules define (R97-style codes are private)."""
    return len(code) == 3 and code[0] == "R" and code[1:].isdigit() and 1 <= int(code[1:]) <= 85


def is_change_code(code: str) -> bool:
    """C01-C14 (notifications of change) and C61-C69 (refused NOCs)."""
    if not (len(code) == 3 and code[0] == "C" and code[1:].isdigit()):
        return False
    number = int(code[1:])
    return 1 <= number <= 14 or 61 <= number <= 69


def routing_check_digit(routing8: str) -> int:
    """The ABA check digit of an 8-digit routing number (weights 3, 7, 1)."""
    total = sum(int(d) * w for d, w in zip(routing8, (3, 7, 1, 3, 7, 1, 3, 7)))
    return (10 - total % 10) % 10
