"""What every file parser offers: records as read, the problems found, and a summary.

A parser takes an open binary stream; it never opens files or talks to a cloud. A Lambda,
a DAG task or the CLI reads the bytes and hands the stream over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import IO, Any

from bankgate.parsers.problems import ProblemLog
from bankgate.parsers.rows import ColumnChunk
from bankgate.parsers.rules import NO_RULES, RuleSet


@dataclass(slots=True)
class Summary:
    """Record counts and control totals of one parsed file (the CLI's last stderr line)."""

    format: str
    records: Counter[str] = field(default_factory=Counter)
    totals: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "records": dict(self.records), "totals": dict(self.totals)}

    def __str__(self) -> str:
        counts = ", ".join(f"{kind}={n}" for kind, n in self.records.items())
        totals = ", ".join(f"{name}={value}" for name, value in self.totals.items())
        return f"{self.format}: {sum(self.records.values())} records ({counts}); totals: {totals or 'none'}"


class FileParser:
    """Base of the format parsers. Subclasses implement ``_batches`` and set ``record_classes``.

    Iterate to get records in file order. In strict mode (the default) a file with any error
    raises ``ParseError`` once the whole file has been read, listing every problem; in
    lenient mode the problems are kept in ``problems`` as warnings and nothing is raised.

    ``allow`` waives rules by code (``bankgate.parsers.rules``): they are still reported, as warnings,
    so a sender that breaks one rule for years is accepted without hiding it. ``enforce``
    makes rules that default to a warning errors. Lenient mode waives every rule. Codes are
    checked with ``bankgate.parsers.registry.validate_waivers``: an unknown one raises ``ValueError``.
    """

    format: str = ""
    #: Every record class this parser may yield, in a sensible column order for tables. A record
    #: class is a NamedTuple with ``line`` first and a class-level ``KIND``. Written by hand, it is
    #: a NamedTuple of the fields (``_Name``) and a subclass ``Name`` that adds ``KIND`` and no slots:
    #: a type checker accepts only fields in a NamedTuple's body.
    record_classes: tuple[type[Any], ...] = ()
    #: The registry of the rules this parser checks (``parsers/<format>/rules.py``).
    rules: RuleSet = NO_RULES

    def __init__(
        self,
        stream: IO[bytes],
        *,
        name: str = "",
        lenient: bool = False,
        allow: Iterable[str] = (),
        enforce: Iterable[str] = (),
    ) -> None:
        from bankgate.parsers.registry import validate_enforced, validate_waivers

        self.stream = stream
        self.name = name
        self.log = ProblemLog(
            lenient=lenient, rules=self.rules, allow=validate_waivers(allow), enforce=validate_enforced(enforce)
        )
        self.summary = Summary(self.format)

    @property
    def problems(self) -> list:
        return self.log.problems

    def __iter__(self) -> Iterator[Any]:
        # Records come in lists (one per block read); chaining them in C keeps the cost per
        # record to a pointer copy instead of a trip through nested generators.
        return chain.from_iterable(self.iter_batches())

    def iter_batches(self) -> Iterator[list[Any]]:
        """Records in file order, a list at a time; the fast way for bulk consumers."""
        yield from self._batches()
        self.log.raise_if_failed(self.name)

    def iter_chunks(self) -> Iterator[list[Any] | ColumnChunk]:
        """Like ``iter_batches``, but a parser that keeps clean lines as columns hands those on
        as a ``ColumnChunk`` instead of a list: what the writers take (``bankgate.parsers.output``), so
        the parse-and-write path never builds a Python object per line."""
        yield from self._chunks()
        self.log.raise_if_failed(self.name)

    def _batches(self) -> Iterator[list[Any]]:
        raise NotImplementedError

    def _chunks(self) -> Iterator[list[Any] | ColumnChunk]:
        return self._batches()
