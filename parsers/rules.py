"""Rule codes: the stable names of what a parser checks.

Every problem names the rule it reports by a code such as ``nacha.entry.check_digit``, and
the code does not change between releases: a program (the pipeline's ``.error.json``, a
ledger query, a bank-ops script) acts on the code, a person reads the message, which may be
reworded. Each format keeps its rules in one registry (``parsers/<format>/rules.py``) with a
one-line meaning and the default severity; the parsers look the severity up there, so a rule's
weight lives in one place.

Waivers name rules by code: a waived rule is still reported, as a warning. Rules whose
default is a warning can be *enforced* (reported as errors) the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bankgate.parsers.problems import ERROR, WARNING


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its code, what it means (one line), and how bad breaking it is by default."""

    code: str
    meaning: str
    severity: str = ERROR


class RuleSet:
    """The registry of one format's rules, keyed by code."""

    def __init__(self, namespace: str, rules: Iterable[Rule]) -> None:
        self.namespace = namespace
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            if not rule.code.startswith(f"{namespace}.") or rule.code in self._rules:
                raise ValueError(f"rule {rule.code!r}: not in namespace {namespace!r} or listed twice")
            if rule.severity not in (ERROR, WARNING):
                raise ValueError(f"rule {rule.code!r}: unknown severity {rule.severity!r}")
            self._rules[rule.code] = rule

    def __contains__(self, code: object) -> bool:
        return code in self._rules

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def get(self, code: str) -> Rule | None:
        return self._rules.get(code)

    def severity(self, code: str) -> str:
        """The default severity of ``code``; an unregistered code counts as an error."""
        rule = self._rules.get(code)
        return rule.severity if rule is not None else ERROR

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._rules)


#: A log without a format (scratch logs that only count problems).
NO_RULES = RuleSet("", ())


def field_rules(namespace: str) -> list[Rule]:
    """The checks ``bankgate.parsers.fields`` makes on any field of a fixed-width layout, per format."""
    return [
        Rule(f"{namespace}.field.required", "a required field is blank"),
        Rule(f"{namespace}.field.all_zeros", "a required numeric field is all zeros"),
        Rule(f"{namespace}.field.not_numeric", "a numeric field holds something other than digits"),
        Rule(f"{namespace}.field.signed_number", "a signed number's sign or digits are not valid"),
        Rule(f"{namespace}.field.not_ascii", "a text field holds characters outside printable ASCII"),
        Rule(f"{namespace}.field.choice", "a field's value is not one of those the layout allows"),
        Rule(f"{namespace}.field.constant", "a fixed literal (record type, format code...) has another value"),
        Rule(f"{namespace}.field.date", "a date field is not a valid date"),
        Rule(f"{namespace}.field.time", "a time field is not a valid time (HHMM)"),
    ]


def line_rules(namespace: str) -> list[Rule]:
    """The checks ``bankgate.parsers.lines`` makes on the physical records of a fixed-width file."""
    return [
        Rule(f"{namespace}.file.line_too_long", "a line is so long the file cannot be fixed-width records"),
        Rule(f"{namespace}.file.record_length", "a record is not of the layout's length"),
    ]


def common_rules(namespace: str) -> list[Rule]:
    """Rules every format has."""
    return [Rule(f"{namespace}.file.problems_capped", "more problems than are kept: the rest are counted, not listed")]


def unknown_codes_message(unknown: Iterable[str], valid: Iterable[str]) -> str:
    """The error for waivers naming rules that do not exist, listing the valid codes."""
    names = ", ".join(sorted(unknown))
    return f"unknown rule code(s): {names}; valid codes are: {', '.join(sorted(valid))}"
