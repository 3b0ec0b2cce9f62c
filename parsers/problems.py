"""Problems found in a file, and the one error type the parsers raise.

Every parser collects problems instead of stopping at the first, so a bank-ops person sees
the whole list at once. A problem names the line, the record and the field, because that is
what the person fixing the file (or calling the bank) needs to act on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bankgate.parsers.rules import RuleSet

ERROR = "error"
WARNING = "warning"

#: A hostile or hopeless file must not make us hoard millions of problem objects.
MAX_PROBLEMS = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one record (or with the file as a whole when ``line`` is 0).

    ``code`` names the rule broken (``nacha.entry.check_digit``; see ``bankgate.parsers.rules``): it is
    stable across releases, so programs act on it while people read ``message``. ``waived``
    says a waiver (``allow=``) turned what would have been an error into this warning.
    """

    line: int
    record: str
    field: str | None
    message: str
    severity: str = ERROR
    code: str = ""
    waived: bool = False

    def __str__(self) -> str:
        where = f"{self.record}" + (f" field '{self.field}'" if self.field else "")
        prefix = "" if self.severity == ERROR else f"{self.severity}: "
        if self.waived:  # say which waiver let it through, so it can be found and reviewed
            prefix = f"{self.severity} (waived {self.code}): "
        return f"{prefix}{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "record": self.record,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
            "code": self.code,
            "waived": self.waived,
        }


class ParseError(Exception):
    """The file is not valid. ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        first = problems[0] if problems else None
        text = f"line {first.line}: {first}" if first else "invalid file"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{source + ': ' if source else ''}{text}{more}")


@dataclass(slots=True)
class ProblemLog:
    """Collects problems for one parse; caps how many it keeps but counts them all.

    A problem's severity comes from its rule in ``rules`` (the format's registry), then:
    a rule in ``allow`` is waived (an error becomes a warning, still reported), a rule in
    ``enforce`` that defaults to a warning becomes an error, and lenient mode waives everything.
    """

    lenient: bool = False
    rules: RuleSet | None = None
    allow: frozenset[str] = frozenset()
    enforce: frozenset[str] = frozenset()
    problems: list[Problem] = field(default_factory=list)
    total: int = 0

    @property
    def namespace(self) -> str:
        """The prefix of this format's codes (``nacha``), for checks shared by several formats."""
        return self.rules.namespace if self.rules is not None else ""

    def add(self, line: int, record: str, field_name: str | None, message: str, *, code: str | None = None) -> None:
        if code is None:
            code = self._derived_code(record, field_name)
        severity = self.rules.severity(code) if self.rules is not None else ERROR
        waived = False
        if severity == ERROR:
            # Lenient mode keeps the records and reports what strict mode would have failed on.
            waived = code in self.allow
            if waived or self.lenient:
                severity = WARNING
        elif code in self.enforce and not self.lenient:
            severity = ERROR
        self.total += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line, record, field_name, message, severity, code, waived))

    def _derived_code(self, record: str, field_name: str | None) -> str:
        """A code for a call site that names none (``insurance.policy.expiration``): every
        shipped call site passes its code; this keeps a newly added one reportable."""
        what = "_".join(record.split()[:1]) or "file"
        return f"{self.namespace or 'problem'}.{what}.{field_name or 'record'}"

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    def raise_if_failed(self, source: str = "") -> None:
        """In strict mode, a file with any error fails as a whole."""
        errors = self.errors
        if errors:
            if self.total > len(self.problems):
                hidden = self.total - len(self.problems)
                code = f"{self.namespace}.file.problems_capped"
                errors.append(Problem(0, "file", None, f"{hidden} more problems not shown", ERROR, code))
            raise ParseError(errors, source)
