"""One way to check a configuration document: collect every problem, each with its path.

Five loaders check hand-written TOML or environment values: the bank config
(``bankgate/banks.py``), the pipeline config (``bankgate/config.py``), fixed-width layouts
(``parsers/fixed/layout.py``), carrier templates (``parsers/insurance/templates.py``) and the
PDF limits (``parsers/insurance/limits.py``). A person fixing a file wants every mistake in one
go, so each loader records problems in a ``Problems`` and raises once, at the end, with one
line per problem (``banks.toml: bank 'x': port: must be a whole number, not '22a'``).

Why here and why no library: the parsers may not import the core (``tests/test_layers.py``),
so the helper lives in ``parsers`` and the core imports it inward. The rules are not types
(a cron that parses, a regex that compiles, a route outside the watched prefix), so a schema
library (pydantic, msgspec, cattrs, jsonschema) would still need this code around its own
errors, and would add import time to the Lambda's cold start for about 60 lines of help.
Each loader keeps its own error type by subclassing ``SchemaError``; ``problems`` holds the lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

T = TypeVar("T")
D = TypeVar("D")


class SchemaError(ValueError):
    """A configuration document with problems; the message has one line per problem."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


class Problems:
    """Every problem found in one document (``source``: a file name, or "environment").

    ``add`` records a problem at a path; ``check`` runs one independent piece of validation
    and records its ``ValueError`` instead of stopping, so the rest is still checked;
    ``raise_if_any`` raises ``error`` with all of them.
    """

    def __init__(self, source: str, error: type[SchemaError] = SchemaError, what: str = "") -> None:
        self.source = source
        self.error = error
        self.what = what or source  # how the summary line names the document
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(": ".join(part for part in (self.source, path, message) if part))

    @overload
    def check(self, path: str | None, parse: Callable[[], T]) -> T | None: ...
    @overload
    def check(self, path: str | None, parse: Callable[[], T], default: D) -> T | D: ...
    def check(self, path: str | None, parse: Callable[[], T], default: D | None = None) -> T | D | None:
        """``parse()``'s result, or ``default`` with its problem recorded. A ``SchemaError``
        already names its place (its lines are kept as they are); another ``ValueError`` or
        ``TypeError`` is recorded at ``path``.

        ``default`` is what the rest of the document is checked with when this part is wrong
        (an empty table, a placeholder name): with one, the result is never None, so a loader
        builds its object from the results once ``raise_if_any`` has passed. Without one, None
        stands for "wrong", and the parts that depend on it are not checked. Pass arguments with
        ``functools.partial`` rather than a lambda's default arguments: its type is inferred."""
        try:
            return parse()
        except SchemaError as exc:
            self.lines.extend(exc.problems)
        except (ValueError, TypeError) as exc:
            self.add(path or "", str(exc))
        return default

    def unknown_keys(self, table: Mapping[str, Any], allowed: Iterable[str], path: str = "") -> None:
        """One problem per key of ``table`` that is not ``allowed``."""
        allowed = set(allowed)
        for key in sorted(set(table) - allowed):
            where = f"{path}.{key}" if path else key
            self.add(where, f"unknown key (expected one of {', '.join(sorted(allowed))})")

    def raise_if_any(self) -> None:
        if not self.lines:
            return
        count = len(self.lines)
        head = f"{count} problems in {self.what}:\n" if count > 1 else ""
        raise self.error(head + "\n".join(self.lines), self.lines)
