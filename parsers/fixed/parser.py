"""``FixedWidthParser``: reads any fixed-width bank file its layout describes.

The file is read in blocks of equal-length records (``bankgate.parsers.lines.iter_blocks``). In each
block the record type of every row is found at once from the discriminator positions, each
record type's rows are decoded together (``Layout.decode_rows``, vectorized), and the records
are put back in file order. A single pass over the records then checks the record order the
layout allows and the control totals (counts, sums, matching fields), so memory stays bounded
however large the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import compress
from operator import attrgetter, itemgetter
from typing import IO, Any

import numpy as np

from bankgate.parsers.base import FileParser
from bankgate.parsers.fields import Kind
from bankgate.parsers.fixed.layout import ENCODINGS, Check, FixedLayout
from bankgate.parsers.fixed.registry import load_layout
from bankgate.parsers.fixed.rules import RULES
from bankgate.parsers.lines import Block, iter_blocks
from bankgate.parsers.problems import ProblemLog

_START = -1  # the "previous record type" before the first record


class FixedWidthParser(FileParser):
    """Records of a fixed-width file, as NamedTuples of its layout's record classes.

    ``layout`` is a loaded ``FixedLayout`` or anything ``load_layout`` accepts (a layout name
    or a path to a ``.toml`` file; a name is looked up in ``layout_dirs`` first). ``encoding``
    ("ascii" or "ebcdic") overrides the layout's, for a bank that sends the same layout in EBCDIC.
    """

    rules = RULES

    def __init__(
        self,
        stream: IO[bytes],
        layout: FixedLayout | str | None = None,
        *,
        name: str = "",
        lenient: bool = False,
        encoding: str | None = None,
        allow: Iterable[str] = (),
        enforce: Iterable[str] = (),
        layout_dirs: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        layout = layout if layout is not None else getattr(type(self), "layout", None)
        if layout is None:
            raise TypeError("FixedWidthParser needs a layout")
        self.layout = load_layout(layout, layout_dirs)
        if encoding is not None and encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
        self.encoding = encoding or self.layout.encoding
        self.format = self.layout.format
        self.record_classes = self.layout.record_classes
        super().__init__(stream, name=name, lenient=lenient, allow=allow, enforce=enforce)

    @classmethod
    def for_layout(
        cls, layout: FixedLayout | str, layout_dirs: Iterable[str | os.PathLike[str]] = ()
    ) -> type[FixedWidthParser]:
        """A subclass bound to one layout, with class-level ``format`` and ``record_classes``,
        constructed like every other parser: ``Parser(stream, name=..., lenient=...)``."""
        loaded = load_layout(layout, layout_dirs)
        parts = loaded.name.replace(".", "-").replace("_", "-").split("-")
        name = "".join(part.capitalize() for part in parts)
        return type(
            f"{name}Parser",
            (cls,),
            {
                "layout": loaded,
                "format": loaded.format,
                "record_classes": loaded.record_classes,
                "__doc__": f"Parser of {loaded.format}: {loaded.description}",
            },
        )

    def _batches(self) -> Iterator[list[Any]]:
        layout = self.layout
        reader = _Reader(layout, self.log, self.summary.records)
        rules = _Rules(layout, self.log, self.summary.totals)
        translate = layout.translate(self.encoding)
        blocks = iter_blocks(self.stream, layout.length, self.log, translate=translate, mode=layout.length_mode)
        for block in blocks:
            records, types = reader.decode(block)
            rules.feed(records, types)
            if records:
                yield records
        rules.finish()
        # Problems arrive by record type within a block and by check; list them by line.
        self.log.problems.sort(key=attrgetter("line"))


class _Reader:
    """Decodes blocks: rows grouped by record type, decoded column-wise, put back in order."""

    def __init__(self, layout: FixedLayout, log: ProblemLog, counts: Any) -> None:
        self.layout = layout
        self.log = log
        self.counts = counts
        self.expected = ", ".join(f"'{code}'" for code in layout.by_code)
        start, size = layout.discriminator
        self.where = f"position {start}" if size == 1 else f"positions {start}-{start + size - 1}"

    def decode(self, block: Block) -> tuple[list, list[int]]:
        layout, log = self.layout, self.log
        rows = block.rows
        n = rows.shape[0]
        types = layout.types_of(rows)
        counts = np.bincount(types.astype(np.intp) + 1, minlength=len(layout.records) + 1).tolist()
        if counts[0]:
            for i in np.flatnonzero(types < 0).tolist():
                code = layout.code_of(rows[i])
                log.add(
                    block.linenos[i],
                    "record",
                    None,
                    f"unknown record type {_show(code)} ({self.where}); expected one of {self.expected}",
                    code="fixed.record.unknown_type",
                )
        if counts[0] == 0 and max(counts) == n:  # the whole block is one record type
            rt = layout.records[int(types[0])]
            self.counts[rt.name] += n
            return rt.layout.decode_rows(rows, block.linenos, log), types.tolist()
        records: list[Any] = [None] * n
        linenos = np.asarray(block.linenos)
        for rt in layout.records:
            if not counts[rt.index + 1]:
                continue
            selected = np.flatnonzero(types == rt.index)
            decoded = rt.layout.decode_rows(rows[selected], linenos[selected].tolist(), log)
            for i, record in zip(selected.tolist(), decoded):
                records[i] = record
            self.counts[rt.name] += len(decoded)
        if counts[0]:
            kept = types >= 0
            return [r for r in records if r is not None], types[kept].tolist()
        return records, types.tolist()


class _Rules:
    """Record order and control totals, checked over the records in file order.

    Most records (details) only add to counts and sums; those are handled a list at a time
    between *boundary* records (headers and totals: records that restart a tally or hold a
    control total), which are handled one by one. Match checks find each record's reference
    record by position in the block. The result is the same as one record at a time, at a
    fraction of the cost.
    """

    def __init__(self, layout: FixedLayout, log: ProblemLog, totals: dict[str, int]) -> None:
        self.layout = layout
        self.log = log
        self.totals = totals
        records = layout.records
        count = len(records)
        index = {rt.name: rt.index for rt in records}
        # allowed[t, p + 1]: may a record of type t follow one of type p (p = _START: none yet)?
        self.allowed = np.zeros((count, count + 1), dtype=bool)
        for rt in records:
            for p in range(count) if rt.after is None else (index[n] for n in rt.after):
                self.allowed[rt.index, p + 1] = True
            if layout.first is None or rt.name in layout.first:
                self.allowed[rt.index, _START + 1] = True
        self.last = None if layout.last is None else frozenset(index[n] for n in layout.last)
        self.prev = _START
        self.prev_line = 0
        self.seen_records = False
        # Per record type, what each tally does with one record, by phase, in this order:
        # restart, accumulate, compare with the control field, restart the tallies that run
        # from one control record to the next.
        phases: list[list[list[Any]]] = [[[] for _ in records] for _ in range(4)]
        bulk: list[list[Any]] = [[] for _ in records]  # phase 1, for a list of records of one type
        self.scans: list[_Match | _Sequence] = []  # checks that follow their records in order
        for check in layout.checks:
            if check.kind == "match":
                self.scans.append(_Match(self, check))
            elif check.kind == "sequence":
                self.scans.append(_Sequence(self, check))
            else:
                _Tally(self, check).install(phases, bulk)
                totals.setdefault(check.name, 0)
        self.actions = [tuple(a for phase in phases for a in phase[t]) for t in range(count)]
        self.boundary = np.array([any(phases[k][t] for k in (0, 2, 3)) for t in range(count)], dtype=bool)
        self.bulk_actions = bulk
        self.bulk_types = [t for t in range(count) if bulk[t] and not self.boundary[t]]
        # Summary: amount totals of the detail record types.
        self.detail_fields: list[list[tuple[str, int]]] = [[] for _ in records]
        for rt in records:
            if rt.detail:
                names = rt.record_class._fields
                for f in rt.layout.emitted:
                    if f.kind is Kind.AMOUNT:
                        key = f"{rt.name}.{f.name}"
                        totals.setdefault(key, 0)
                        self.detail_fields[rt.index].append((key, names.index(f.name)))

    def feed(self, records: list, types: list[int]) -> None:
        if not records:
            return
        self.seen_records = True
        kinds = np.asarray(types, dtype=np.intp)
        n = len(records)
        previous = np.empty(n, dtype=np.intp)
        previous[0] = self.prev
        previous[1:] = kinds[:-1]
        wrong = ~self.allowed[kinds, previous + 1]
        if wrong.any():
            for i in np.flatnonzero(wrong).tolist():
                before_line = records[i - 1][0] if i else self.prev_line
                self.out_of_order(records[i], types[i], int(previous[i]), before_line)
        start = 0
        for b in [*np.flatnonzero(self.boundary[kinds]).tolist(), n]:
            if b > start and self.bulk_types:
                self.bulk(records, kinds, start, b)
            if b < n:
                for action in self.actions[types[b]]:
                    action(records[b])
            start = b + 1
        for scan in self.scans:
            scan.feed(records, kinds)
        self.prev = types[-1]
        self.prev_line = records[-1][0]
        self.add_detail_sums(records, kinds)

    def bulk(self, records: list, kinds: np.ndarray, start: int, stop: int) -> None:
        """Records start..stop-1, none of them a boundary: each check takes its type's lists."""
        segment = kinds[start:stop]
        first = int(segment[0])
        if (segment == first).all():
            for action in self.bulk_actions[first]:
                action(records[start:stop])
            return
        for t in self.bulk_types:
            chosen = np.flatnonzero(segment == t)
            if len(chosen):
                of_type = [records[i] for i in (chosen + start).tolist()]
                for action in self.bulk_actions[t]:
                    action(of_type)

    def add_detail_sums(self, records: list, kinds: np.ndarray) -> None:
        for t, fields in enumerate(self.detail_fields):
            if not fields:
                continue
            mask = kinds == t
            of_type = records if mask.all() else [records[i] for i in np.flatnonzero(mask).tolist()]
            for key, position in fields:
                self.totals[key] += sum(filter(None, map(itemgetter(position), of_type)))

    def out_of_order(self, record: Any, t: int, prev: int, prev_line: int) -> None:
        rt = self.layout.records[t]
        predecessors = np.flatnonzero(self.allowed[t, 1:]).tolist()
        if prev == _START:
            firsts = _titles(self.layout, (), self.layout.first)
            message = f"cannot be the first record; a file starts with {firsts}"
        elif predecessors:
            before = self.layout.records[prev].title
            after = _titles(self.layout, predecessors)
            message = f"cannot follow the {before} at line {prev_line}; it comes only after {after}"
        else:
            before = self.layout.records[prev].title
            message = f"cannot follow the {before} at line {prev_line}; it must be the first record"
        self.log.add(record[0], rt.title, None, message, code="fixed.record.order")

    def finish(self) -> None:
        if not self.seen_records:
            self.log.add(0, "file", None, "has no records", code="fixed.file.empty")
            return
        if self.last is not None and self.prev not in self.last:
            rt = self.layout.records[self.prev]
            wanted = _titles(self.layout, self.last)
            message = f"is the last record of the file; the file must end with {wanted}"
            self.log.add(self.prev_line, rt.title, None, message, code="fixed.file.last_record")


class _Tally:
    """A count or sum check: accumulate since the last ``since`` record, compare at ``against``."""

    def __init__(self, rules: _Rules, check: Check) -> None:
        self.rules = rules
        self.check = check
        self.layout = rules.layout
        self.value = 0
        self.since_line: int | None = None
        self.since_title = self.layout.by_name[check.since].title if check.since else ""

    def install(self, phases: list[list[list[Any]]], bulk: list[list[Any]]) -> None:
        check, by_name = self.check, self.layout.by_name
        if check.since:
            phase = 3 if check.since == check.against[0] else 0
            phases[phase][by_name[check.since].index].append(self.restart)
        for rname, fname in check.of:
            rt = by_name[rname]
            fields = rt.record_class._fields
            where = tuple((fields.index(f), values) for f, values in check.where)
            position = None if fname is None else fields.index(fname)
            accumulate = self.accumulator(position, where)
            phases[1][rt.index].append(lambda record, add=accumulate: add([record]))
            bulk[rt.index].append(accumulate)
        against = by_name[check.against[0]]
        self.against_position = against.record_class._fields.index(check.against[1])
        phases[2][against.index].append(self.compare)

    def accumulator(self, position: int | None, where: tuple) -> Any:
        """Adds a list of records of one type: their count, or the sum of field ``position``."""
        absolute = self.check.absolute

        def add(records: list) -> None:
            for i, values in where:
                records = list(compress(records, map(values.__contains__, map(itemgetter(i), records))))
            if position is None:
                self.value += len(records)
            else:
                values = filter(None, map(itemgetter(position), records))  # None: already reported
                self.value += sum(map(abs, values)) if absolute else sum(values)

        return add

    def restart(self, record: Any) -> None:
        self.value = 0
        self.since_line = record[0]

    def compare(self, record: Any) -> None:
        declared = record[self.against_position]
        if declared is None:
            return  # the field itself has a problem, already reported
        self.rules.totals[self.check.name] += declared
        if declared != self.value:
            rt = self.layout.by_name[self.check.against[0]]
            message = f"is {declared}, but {self.describe()}"
            self.rules.log.add(
                record[0], rt.title, self.check.against[1], message, code=f"fixed.check.{self.check.kind}"
            )

    def describe(self) -> str:
        check, by_name = self.check, self.layout.by_name
        if check.since and self.since_line is not None:
            scope = f"since the {self.since_title} at line {self.since_line}"
        else:
            scope = "since the start of the file"
        condition = " and ".join(f"{f} {' or '.join(_show(v) for v in sorted(values))}" for f, values in check.where)
        condition = f" with {condition}" if condition else ""
        if check.kind == "count":
            n = self.value
            if len(check.of) == len(self.layout.records):
                what = "record" if n == 1 else "records"
            else:
                what = " or ".join(by_name[t].title + ("" if n == 1 else "s") for t, _ in check.of)
            return f"{scope} there {'is' if n == 1 else 'are'} {n} {what}{condition}"
        values = " and ".join(f"{f} fields of the {by_name[t].title}s" for t, f in check.of)
        absolute = " (as absolute values)" if check.absolute else ""
        return f"{scope} the {values}{condition} add up to {self.value}{absolute}"


class _Match:
    """A match check: a field must equal the same field of the latest reference record."""

    def __init__(self, rules: _Rules, check: Check) -> None:
        by_name = rules.layout.by_name
        (rname, fname), (ref_name, ref_field) = check.of[0], check.against
        self.log = rules.log
        self.check = check
        self.rt = by_name[rname]
        self.ref_rt = by_name[ref_name]
        self.position = self.rt.record_class._fields.index(fname)
        self.ref_position = self.ref_rt.record_class._fields.index(ref_field)
        self.reference: Any = None
        self.reference_line = 0

    def feed(self, records: list, kinds: np.ndarray) -> None:
        """Check the ``of`` records of a block, each against the latest reference before it."""
        refs = np.flatnonzero(kinds == self.ref_rt.index).tolist()
        ofs = np.flatnonzero(kinds == self.rt.index)
        if len(ofs):
            checked = [records[i] for i in ofs.tolist()]
            values = list(map(itemgetter(self.position), checked))
            if refs:
                # which[j]: how many reference records come before the j-th checked record.
                which = np.searchsorted(np.array(refs), ofs).tolist()
                ref_values = [self.reference, *(records[i][self.ref_position] for i in refs)]
                ref_lines = [self.reference_line, *(records[i][0] for i in refs)]
                expected = [ref_values[w] for w in which]
                lines = [ref_lines[w] for w in which]
            else:
                expected = [self.reference] * len(values)
                lines = [self.reference_line] * len(values)
            if values != expected:
                for record, value, reference, line in zip(checked, values, expected, lines):
                    if value is not None and reference is not None and value != reference:
                        self.report(record, value, reference, line)
        if refs:
            last = records[refs[-1]]
            self.reference = last[self.ref_position]
            self.reference_line = last[0]

    def report(self, record: Any, value: Any, reference: Any, line: int) -> None:
        self.log.add(
            record[0],
            self.rt.title,
            self.check.of[0][1],
            f"is {_show(value)}, but {self.check.against[1]} of the {self.ref_rt.title} "
            f"at line {line} is {_show(reference)}",
            code="fixed.check.match",
        )


class _Sequence:
    """A sequence check: each number follows the one before it, restarting at ``since`` records."""

    def __init__(self, rules: _Rules, check: Check) -> None:
        by_name = rules.layout.by_name
        rname, fname = check.of[0]
        self.log = rules.log
        self.check = check
        self.rt = by_name[rname]
        self.since = by_name[check.since] if check.since else None
        self.position = self.rt.record_class._fields.index(fname)
        self.previous: int | None = None  # the last number, None at the start of a numbering
        self.previous_line = 0
        self.since_line = 0
        self.consecutive = check.step == "consecutive"

    def feed(self, records: list, kinds: np.ndarray) -> None:
        """Check the numbered records of a block in order, restarting after each ``since`` record."""
        ofs = np.flatnonzero(kinds == self.rt.index)
        restarts = np.flatnonzero(kinds == self.since.index) if self.since else ofs[:0]
        if len(restarts):
            # which[j]: how many restarts come before the j-th numbered record.
            which = np.searchsorted(restarts, ofs).tolist()
            restart_lines = [self.since_line, *(records[i][0] for i in restarts.tolist())]
        else:
            which = [0] * len(ofs)
            restart_lines = [self.since_line]
        segment = 0
        position = self.position
        for i, w in zip(ofs.tolist(), which):
            if w != segment:
                segment = w
                self.previous = None
                self.since_line = restart_lines[w]
            record = records[i]
            value = record[position]
            if value is None:
                continue  # the field itself has a problem, already reported
            self.check_number(record, value)
            self.previous = value
            self.previous_line = record[0]
        if len(restarts) and segment != len(restarts):
            self.previous = None  # a restart after the block's last numbered record
            self.since_line = restart_lines[-1]

    def check_number(self, record: Any, value: int) -> None:
        previous, check = self.previous, self.check
        fname = check.of[0][1]
        if previous is None:
            if check.start is None or value in check.start:
                return
            starts = " or ".join(map(str, sorted(check.start)))
            scope = (
                f"after the {self.since.title} at line {self.since_line}"
                if self.since and self.since_line
                else "in the file"
            )
            message = f"is {value}, but the first {fname} {scope} must be {starts}"
        elif value == previous + 1 or (value > previous and not self.consecutive):
            return
        else:
            rule = "one more than" if self.consecutive else "more than"
            message = (
                f"is {value}, but it must be {rule} the {fname} of the {self.rt.title} "
                f"at line {self.previous_line} ({previous})"
            )
        self.log.add(record[0], self.rt.title, fname, message, code="fixed.check.sequence")


def _titles(layout: FixedLayout, indexes: Any, names: Any = None) -> str:
    """'a header record, a detail record or an overflow record'."""
    if names is not None:
        titles = [layout.by_name[n].title for n in sorted(names, key=lambda n: layout.by_name[n].index)]
    else:
        titles = [layout.records[i].title for i in sorted(indexes)]
    if not titles:
        return "no other record"
    titles = [("an " if t[:1].lower() in "aeiou" else "a ") + t for t in titles]
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " or " + titles[-1]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.encode("unicode_escape").decode("ascii").replace("'", "\\'") + "'"
    return str(value)
