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


def routing_check_digit(routing8: str) -> int:
    """The ABA check digit of an 8-digit routing number (weights 3, 7, 1)."""
    total = sum(int(d) * w for d, w in zip(routing8, (3, 7, 1, 3, 7, 1, 3, 7)))
    return (10 - total % 10) % 10
