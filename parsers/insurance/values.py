"""Money and dates as printed on insurance documents, to integer cents and ``date``.

Money never becomes a float: "$1,250,000", "1.250.000,00 EUR", "USD 23,118" and "(125.00)"
are read digit by digit into integer cents. A value that is not clearly a number is refused
(``None``) rather than guessed, and the caller reports it with the text as printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

DEFAULT_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y")

_CURRENCY = re.compile(r"^(?:[A-Z]{3}|[$€£])\s*|\s*(?:[A-Z]{3}|[$€£])$")


@dataclass(frozen=True, slots=True)
class MoneyFormat:
    """How a carrier prints amounts: the thousands separator and the decimal mark."""

    thousands: str = ","
    decimal: str = "."

    def __post_init__(self) -> None:
        if self.thousands == self.decimal or len(self.decimal) != 1 or len(self.thousands) > 1:
            raise ValueError(
                f"thousands {self.thousands!r} and decimal {self.decimal!r} must differ (decimal: one character)"
            )

    def cents(self, text: str) -> int | None:
        """Integer cents of ``text``, or None when it is not an amount in this format."""
        s = text.strip()
        negative = s.startswith("(") and s.endswith(")")
        if negative:
            s = s[1:-1].strip()
        for _ in range(2):  # "$ -1,000" or "USD 1,000 USD"
            s = _CURRENCY.sub("", s).strip()
        if s.startswith("-"):
            negative, s = True, s[1:].strip()
        if not s:
            return None
        whole, _, fraction = s.partition(self.decimal)
        if self.decimal in fraction or (fraction and not (fraction.isdigit() and len(fraction) <= 2)):
            return None
        if self.thousands:
            groups = whole.split(self.thousands)
            if len(groups) > 1 and not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
                return None
            whole = "".join(groups)
        if not (whole.isascii() and whole.isdigit()):
            return None
        value = int(whole) * 100 + (int(fraction.ljust(2, "0")) if fraction else 0)
        return -value if negative else value


def parse_date(text: str, formats: tuple[str, ...] = DEFAULT_DATE_FORMATS) -> date | None:
    """The first format that reads all of ``text`` (whitespace collapsed), else None."""
    s = " ".join(text.split()).strip(" ,.")
    for fmt in formats:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    return None


def clean(text: str) -> str:
    """Whitespace collapsed to single spaces, as a person would retype the value."""
    return " ".join(text.split())
