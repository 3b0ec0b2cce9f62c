"""Problems found in a file, and the one error type the parsers raise.

Every parser collects problems instead of stopping at the first, so a bank-ops person sees
the whole list at once. A problem names the line, the record and the field, because that is
what the person fixing the file (or calling the bank) needs to act on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

#: A hostile or hopeless file must not make us hoard millions of problem objects.
MAX_PROBLEMS = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one record (or with the file as a whole when ``line`` is 0)."""

    line: int
    record: str
    field: str | None
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.record}" + (f" field '{self.field}'" if self.field else "")
        prefix = "" if self.severity == ERROR else f"{self.severity}: "
        return f"{prefix}{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "record": self.record,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
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
    """Collects problems for one parse; caps how many it keeps but counts them all."""

    lenient: bool = False
    problems: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, line: int, record: str, field_name: str | None, message: str, severity: str = ERROR) -> None:
        # Lenient mode keeps the records and reports what strict mode would have failed on.
        if self.lenient and severity == ERROR:
            severity = WARNING
        self.total += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line, record, field_name, message, severity))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    def raise_if_failed(self, source: str = "") -> None:
        """In strict mode, a file with any error fails as a whole."""
        errors = self.errors
        if errors:
            if self.total > len(self.problems):
                errors.append(Problem(0, "file", None, f"{self.total - len(self.problems)} more problems not shown"))
            raise ParseError(errors, source)
