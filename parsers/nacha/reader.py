"""Streaming NACHA (ACH) reader with validation.

The file is read in blocks of lines (``bankgate.parsers.lines``). Within a block, the rare structural
records (file/batch headers and controls) are handled one by one; the runs of entry and
addenda records between them are decoded and validated with numpy, which is what makes
parsing plus validation run at over a million entries a second in Python. Records are
yielded in file order as soon as their block is read, so memory does not grow with the file.

Real files have many small batches (payroll: a few hundred entries each), and numpy's cost
per call is paid per batch if each batch is decoded on its own. So the numpy work is done
once per block: its entries are decoded column-wise once per entry layout (``_Decoded``),
with the rule masks that do not depend on the batch (``_EntryFacts``), and so are its batch
headers and controls; each batch then takes its rows from those columns, and reports only
the rules some line of it breaks. Problems are still reported batch by batch, in file order.

A batch's run of entries that breaks no rule is not made into records at all: it is handed on
as columns (``bankgate.parsers.columnar.Run``, in the block's ``Chunk``), which the JSON Lines and CSV
writers turn into bytes with numpy. Records are made only when asked for (the row API), and for
the lines around a problem, the headers and controls, and addenda.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import IO, Any

import numpy as np

from bankgate.parsers.base import FileParser
from bankgate.parsers.columnar import Chunk, Run
from bankgate.parsers.fields import Columns
from bankgate.parsers.lines import Block, iter_blocks
from bankgate.parsers.nacha import codes
from bankgate.parsers.nacha import layouts as L
from bankgate.parsers.nacha.rules import RULES
from bankgate.parsers.problems import ProblemLog
from bankgate.parsers.rows import gc_paused

BLOCK_BYTES = 512 << 10
ASCII_ZERO, ENTRY, ADDENDA, NINE = 48, ord("6"), ord("7"), ord("9")
ROUTING_WEIGHTS = np.array([3, 7, 1, 3, 7, 1, 3, 7], dtype=np.int64)
HASH_MODULUS = 10**10
#: Runs of fewer entries go through ``Layout.decode_rows`` (the one-line path), as before.
MIN_COLUMNS = 16


def _powers(n: int) -> np.ndarray:
    return 10 ** np.arange(n - 1, -1, -1, dtype=np.int64)


@dataclass(slots=True)
class _Batch:
    """The open batch: its header facts and what its entries add up to so far."""

    header: Any
    line: int
    sec: str
    service_class: int
    odfi: str
    number: int
    entry_layout: L.Layout
    entries: int = 0
    addenda: int = 0
    entry_hash: int = 0
    debit: int = 0
    credit: int = 0
    last_trace: int = -1
    allowed_codes: Any = None  # the transaction codes the batch allows, as a lookup table


class _Decoded:
    """One block's rows, decoded column-wise once per entry layout that its batches use."""

    __slots__ = ("_columns", "_facts", "_records", "rows")

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self._columns: dict[L.Layout, Columns] = {}
        self._facts: dict[L.Layout, _EntryFacts] = {}
        self._records: dict[L.Layout, tuple[dict[int, int], Columns | None]] = {}

    def columns(self, layout: L.Layout) -> Columns:
        columns = self._columns.get(layout)
        if columns is None:
            columns = self._columns[layout] = layout.columns(self.rows)
        return columns

    def record(self, layout: L.Layout, at: int, line: bytes, lineno: int, log: ProblemLog) -> Any:
        """The header or control record on row ``at``: decoded column-wise with the block's other
        records of its type when there are many (a file of many small batches), else alone."""
        found = self._records.get(layout)
        if found is None:
            kinds = self.rows[:, 0]
            positions = np.flatnonzero(kinds == ord(layout.fields[0].value or " "))
            if not layout.vectorizable or len(positions) < MIN_COLUMNS:
                found = self._records[layout] = ({}, None)
            else:
                by_row = dict(zip(positions.tolist(), range(len(positions))))
                found = self._records[layout] = (by_row, layout.columns(self.rows[positions]))
        where, columns = found
        k = where.get(at)
        if k is None:
            return layout.decode(line, lineno, log)
        assert columns is not None  # rows are indexed only where their columns were decoded
        return columns.record(k, lineno, log)

    def facts(self, layout: L.Layout) -> _EntryFacts:
        facts = self._facts.get(layout)
        if facts is None:
            columns = self.columns(layout)
            kinds = self.rows[:, 0]
            followed = np.zeros(len(kinds), dtype=bool)
            followed[:-1] = kinds[1:] == ADDENDA
            facts = _EntryFacts(self.rows, {**columns.integers, "bad": columns.bad}, followed, layout)
            self._facts[layout] = facts
        return facts


class _EntryFacts:
    """What the entry rules need that does not depend on the batch, computed over many rows
    at once (a run's entries, or a whole block of which the rules then take a run's rows).

    ``fail`` marks rows that break a rule of their own (check digit, prenote amount, addenda
    indicator); ``credit``/``debit`` are each row's amount where its transaction code is one;
    ``hash`` each row's term of the entry hash; ``traces`` the trace numbers (None when the
    layout has none); ``suspect`` rows whose name may be blank (None when no rule needs it).
    Values are meaningful only where the decoder found no field problem.
    """

    __slots__ = (
        "_disallowed",
        "_sums",
        "bad",
        "check",
        "credit",
        "debit",
        "fail",
        "followed",
        "hash",
        "rows",
        "suspect",
        "tc",
        "traces",
    )

    def __init__(self, rows: np.ndarray, arrays: dict[str, np.ndarray], followed: np.ndarray, layout: L.Layout) -> None:
        self.rows, self.followed = rows, followed
        tc, amounts = arrays["transaction_code"], arrays["amount"]
        self.tc, self.bad = tc, arrays["bad"]
        self._sums: dict[str, np.ndarray] | None = None
        self._disallowed: dict[bytes, np.ndarray] = {}
        indicator = arrays["addenda_record_indicator"]
        routing = (rows[:, 3:11] - ASCII_ZERO).astype(np.int64)
        self.check = (10 - (routing @ ROUTING_WEIGHTS) % 10) % 10
        self.hash = routing @ _powers(8)
        self.credit = np.where(CREDIT[tc], amounts, 0)
        self.debit = np.where(DEBIT[tc], amounts, 0)
        self.fail = (
            (self.check != arrays["check_digit"])
            | (ZERO_AMOUNT[tc] & (amounts != 0))
            | (indicator > 1)
            | ((indicator == 1) & ~followed)
            | ((indicator == 0) & followed)
        )
        self.traces = None
        if layout.has_field("trace_number"):
            self.traces = (rows[:, 79:94] - ASCII_ZERO).astype(np.int64) @ _powers(15)
        self.suspect = None
        if layout.has_field("receiver_name"):
            first = rows[:, layout.field("receiver_name").start - 1]
            self.suspect = (first == 32) | (first == 48)

    # A file of many small batches would pay numpy's cost per call a few dozen times per batch
    # to check rules that almost every batch keeps. So a run of a batch's entries is first asked
    # whether it is quiet, from running sums over the whole block (one scalar look-up each, no
    # numpy call per batch); only a run that is not goes through the rules one by one.

    def quiet(self, s: int, e: int, batch: _Batch) -> bool:
        """Whether rows ``s:e``, one batch's entries (no addenda among them, not IAT), read
        cleanly and break no entry rule: then ``_check_entries`` would report nothing."""
        sums = self._running_sums()

        def none(name: str, lo: int = s) -> bool:
            return sums[name][e] == sums[name][lo]

        disallowed = self._disallowed_sums(batch.allowed_codes)
        if not none("trouble") or disallowed[e] != disallowed[s]:
            return False
        if self.suspect is not None and codes.INDIVIDUAL_NAME.get(batch.sec) is not None and not none("suspect"):
            return False
        if self.traces is None:
            return True
        if self.traces[s] <= batch.last_trace or not none("descending", s + 1):
            return False
        odfi = batch.odfi
        if len(odfi) == 8 and odfi.isascii() and odfi.isdigit():
            return bool(sums["odfi"][s] == int(odfi)) and none("odfi_changes", s + 1)
        return True

    def add_quiet_totals(self, s: int, e: int, batch: _Batch) -> None:
        """What ``_add_totals`` adds for rows ``s:e`` of a quiet run, from the running sums."""
        sums = self._running_sums()
        batch.credit += int(sums["credit"][e] - sums["credit"][s])
        batch.debit += int(sums["debit"][e] - sums["debit"][s])
        batch.entry_hash += int(sums["hash"][e] - sums["hash"][s])
        if self.traces is not None:
            batch.last_trace = int(self.traces[e - 1])  # quiet: they ascend

    def _running_sums(self) -> dict[str, np.ndarray]:
        sums = self._sums
        if sums is None:
            sums = {
                "trouble": _running(self.bad | self.fail),
                "credit": _running(self.credit),
                "debit": _running(self.debit),
                "hash": _running(self.hash),
            }
            if self.suspect is not None:
                sums["suspect"] = _running(self.suspect)
            if self.traces is not None:
                traces, odfi = self.traces, self.traces // 10**7
                sums["descending"] = _running(np.concatenate([[False], traces[1:] <= traces[:-1]]))
                sums["odfi"] = odfi  # not a running sum: each row's trace number prefix
                sums["odfi_changes"] = _running(np.concatenate([[False], odfi[1:] != odfi[:-1]]))
            self._sums = sums
        return sums

    def _disallowed_sums(self, allowed: np.ndarray) -> np.ndarray:
        key = allowed.tobytes()
        found = self._disallowed.get(key)
        if found is None:
            found = self._disallowed[key] = _running(~allowed[self.tc])
        return found


def _running(values: np.ndarray) -> np.ndarray:
    """Running totals with a leading 0, so that ``r[e] - r[s]`` is the sum of ``values[s:e]``."""
    out = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=out[1:])
    return out


@dataclass(slots=True)
class _File:
    """What the file has shown so far, checked against the file control at the end."""

    header: Any = None
    control: Any = None
    batch: _Batch | None = None
    batches: int = 0
    entries_addenda: int = 0
    entry_hash: int = 0
    debit: int = 0
    credit: int = 0
    last_batch_number: int = 0
    records: int = 0
    padding: int = 0
    adv: bool = False
    first_line: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


class NachaParser(FileParser):
    """Reads a NACHA file; see ``FileParser`` for strict and lenient behaviour."""

    format = "nacha"
    rules = RULES
    record_classes = tuple({layout.record_class: None for layout in L.ALL_LAYOUTS})

    def __init__(
        self,
        stream: IO[bytes],
        *,
        name: str = "",
        lenient: bool = False,
        allow: Iterable[str] = (),
        enforce: Iterable[str] = (),
        block_bytes: int = BLOCK_BYTES,
    ) -> None:
        super().__init__(stream, name=name, lenient=lenient, allow=allow, enforce=enforce)
        self.block_bytes = block_bytes

    # -- driving the blocks ---------------------------------------------------------------

    def _batches(self) -> Iterator[list[Any]]:
        for chunk in self._chunks():
            yield chunk.records()

    def _chunks(self) -> Iterator[Chunk]:
        state = _File()
        carry: Block | None = None
        for block in iter_blocks(self.stream, L.RECORD_LENGTH, self.log, block_bytes=self.block_bytes):
            if carry is not None:
                block = Block(np.concatenate([carry.rows, block.rows]), [*carry.linenos, *block.linenos])
            block, carry = _hold_back_last_entry(block)
            yield self._block(block, state)
        if carry is not None:
            yield self._block(carry, state)
        self._finish(state)

    def _block(self, block: Block, state: _File) -> Chunk:
        """The block's records: its clean runs of entries as columns (``bankgate.parsers.columnar``)."""
        with gc_paused():  # the whole block's records at once, however many batches it holds
            chunk = Chunk()
            rows, linenos = block.rows, block.linenos
            kinds = rows[:, 0]
            structural = np.flatnonzero((kinds != ENTRY) & (kinds != ADDENDA)).tolist()
            decoded = _Decoded(rows)
            start = 0
            for i in structural:
                if i > start:
                    chunk.extend(self._entries(decoded, start, i, linenos[start:i], state))
                record = self._structural(rows[i].tobytes(), linenos[i], state, decoded, i)
                if record is not None:
                    chunk.append(record)
                start = i + 1
            if start < len(block):
                chunk.extend(self._entries(decoded, start, len(block), linenos[start:], state))
            return chunk

    # -- entries and addenda ------------------------------------------------------------------

    def _entries(
        self, decoded: _Decoded, start: int, stop: int, linenos: Sequence[int], state: _File
    ) -> list[Any] | Run:
        """A run of entry (6) and addenda (7) records, rows ``start:stop`` of the block, all in
        the open batch: a ``Run`` of columns when its entries break no rule (the common case),
        else its records."""
        rows = decoded.rows[start:stop]
        state.records += len(rows)
        batch = state.batch
        if batch is None or state.control is not None:
            where = "after the file control" if state.control is not None else "outside a batch"
            for lineno in linenos[:5]:
                message = f"record {where} (no open batch header)"
                self.log.add(lineno, "entry/addenda (6/7)", None, message, code="nacha.entry.outside_batch")
            return []
        if batch.sec == "ENR" and batch.entries == 0 and batch.entry_layout is not L.ENTRY_STANDARD:
            self._enr_frame(batch, rows, linenos)
        kinds = rows[:, 0]
        addenda_at: tuple[()] | np.ndarray
        if (kinds == ENTRY).all():
            entry_at, addenda_at = None, ()  # the common run: entries only
            entry_rows, entry_lines = rows, linenos
        else:
            entry_at = np.flatnonzero(kinds == ENTRY)
            addenda_at = np.flatnonzero(kinds == ADDENDA)
            entry_rows = rows[entry_at]
            entry_lines = [linenos[i] for i in entry_at.tolist()]
        arrays: dict[str, np.ndarray] = {}
        layout, context = batch.entry_layout, (batch.number,)
        if layout.vectorizable and len(entry_lines) >= MIN_COLUMNS:
            # Decoded with the whole block (once per layout), so a small batch costs few numpy calls.
            index = slice(start, stop) if entry_at is None else entry_at + start
            columns, facts = decoded.columns(layout), decoded.facts(layout)
            if entry_at is None and batch.sec != "IAT" and facts.quiet(start, stop, batch):
                facts.add_quiet_totals(start, stop, batch)
                batch.entries += stop - start
                _count(state, layout.kind, stop - start)
                return Run(columns, slice(start, stop), entry_lines, context)
            entries = columns.records(index, entry_lines, self.log, context, arrays)
        else:
            entries = layout.decode_rows(entry_rows, entry_lines, self.log, context, arrays)
            index = slice(None)
            followed = np.zeros(len(entry_rows), dtype=bool)
            if entry_at is not None:
                # Whether each entry is followed by an addenda record; the run ends at a structural record.
                nxt = entry_at + 1
                inside = nxt < len(rows)
                followed[inside] = kinds[nxt[inside]] == ADDENDA
            facts = _EntryFacts(entry_rows, arrays, followed, layout)
        self._check_entries(index, entry_lines, entries, arrays, facts, batch)
        batch.entries += len(entries)
        _count(state, batch.entry_layout.kind, len(entries))
        if len(addenda_at) == 0:
            return entries
        assert entry_at is not None and isinstance(addenda_at, np.ndarray)

        batch.addenda += len(addenda_at)
        ordered: list[Any] = [None] * len(rows)
        for k, i in enumerate(entry_at.tolist()):
            ordered[i] = entries[k]
        owners = (np.searchsorted(entry_at, addenda_at) - 1).tolist()
        by_entry: dict[int, list[Any]] = {}
        for owner, i in zip(owners, addenda_at.tolist()):
            line = rows[i].tobytes()
            entry = entries[owner] if owner >= 0 else None
            record = self._addenda(line, linenos[i], entry, batch, by_entry.setdefault(owner, []))
            if record is not None:
                _count(state, record.KIND, 1)
            ordered[i] = record
        for owner, addenda in by_entry.items():
            if owner >= 0:
                self._check_addenda_set(entries[owner], addenda, batch)
        return [r for r in ordered if r is not None]

    def _check_entries(
        self,
        index: slice | np.ndarray,
        linenos: Sequence[int],
        entries: list[Any],
        arrays: dict[str, np.ndarray],
        facts: _EntryFacts,
        batch: _Batch,
    ) -> None:
        """Rules over every entry of a run at once; per-line messages only for lines that fail.

        ``arrays`` are the integer columns the decoder already computed for the run's entries,
        ``facts`` what the rules need, computed over many rows: the run's entries are the rows
        at ``index``. Lines with a field problem (``bad``) were reported by the decoder; the
        rules here cover the others, and their amounts and routing numbers still count in the
        totals when readable. A rule that no line breaks costs one mask and no report.
        """
        title = batch.entry_layout.title
        ok = ~arrays["bad"]
        tc = arrays["transaction_code"]
        amounts = arrays["amount"]
        indicator = arrays["addenda_record_indicator"]
        allowed = batch.allowed_codes[tc]
        iat = batch.sec == "IAT"

        def report(mask: np.ndarray, field_name: str, message, code: str) -> None:
            for i in np.flatnonzero(mask & ok).tolist():
                self.log.add(linenos[i], title, field_name, message(i), code=code)

        fail = facts.fail[index] | ~allowed
        if iat:
            fail |= indicator != 1
        if (fail & ok).any():
            expected_check = facts.check[index]
            followed = facts.followed[index]
            report(
                expected_check != arrays["check_digit"],
                "check_digit",
                lambda i: (
                    f"is {arrays['check_digit'][i]}, but routing number "
                    f"{entries[i].rdfi_routing} has check digit {expected_check[i]}"
                ),
                "nacha.entry.check_digit",
            )
            report(
                ~allowed,
                "transaction_code",
                lambda i: _transaction_code_message(int(tc[i]), batch),
                "nacha.entry.transaction_code",
            )
            report(
                ZERO_AMOUNT[tc] & (amounts != 0),
                "amount",
                lambda i: f"must be zero for prenote/zero-dollar transaction code {tc[i]}, got {amounts[i]}",
                "nacha.entry.zero_amount",
            )
            indicator_code = "nacha.entry.addenda_indicator"
            report(
                indicator > 1,
                "addenda_record_indicator",
                lambda i: f"must be 0 or 1, got {indicator[i]}",
                indicator_code,
            )
            report(
                (indicator == 1) & ~followed,
                "addenda_record_indicator",
                lambda i: "is 1 but no addenda record follows the entry",
                indicator_code,
            )
            report(
                (indicator == 0) & followed,
                "addenda_record_indicator",
                lambda i: "is 0 but an addenda record follows the entry",
                indicator_code,
            )
            if iat:
                message = "must be 1: IAT entries carry addenda"
                report(indicator != 1, "addenda_record_indicator", lambda i: message, indicator_code)
        if facts.suspect is not None and facts.suspect[index].any():
            self._check_individual_name(facts.rows[index], report, batch)
        if facts.traces is not None:
            self._check_traces(facts.traces[index], ok, report, batch)
        self._add_totals(index, ok, entries, facts, batch)

    @staticmethod
    def _check_individual_name(rows: np.ndarray, report, batch: _Batch) -> None:
        """The receiver's name, where the SEC code needs one (``codes.INDIVIDUAL_NAME``)."""
        need = codes.INDIVIDUAL_NAME.get(batch.sec)
        layout = batch.entry_layout
        if need is None or not layout.has_field("receiver_name"):
            return
        f = layout.field("receiver_name")
        first = rows[:, f.start - 1]
        # Names are left-justified: only a line starting with a space or a zero can be blank or
        # zeros, so the whole field is looked at only for those (the hot path stays one column).
        suspect = (first == 32) | (first == 48)
        if not suspect.any():
            return
        cells = rows[:, f.start - 1 : f.stop]
        blank = suspect & ((cells == 32) | (cells == 48)).all(axis=1)
        if need == codes.MANDATORY:
            why, code = "must name the receiver (ACH Operators reject it)", "nacha.entry.individual_name"
        else:
            why, code = "should name the receiver (the RDFI may return it)", "nacha.entry.individual_name_required"
        report(blank, "receiver_name", lambda i: f"is blank or all zeros: a {batch.sec} entry {why}", code)

    @staticmethod
    def _check_traces(traces: np.ndarray, ok: np.ndarray, report, batch: _Batch) -> None:
        valid_traces = traces[ok]
        previous = np.concatenate([[batch.last_trace], valid_traces[:-1]])
        descending = np.zeros(len(traces), dtype=bool)
        descending[ok] = valid_traces <= previous
        report(
            descending,
            "trace_number",
            lambda i: (
                f"{traces[i]:015d} is not greater than the trace number before it "
                "(trace numbers must ascend within a batch)"
            ),
            "nacha.entry.trace_order",
        )
        if len(valid_traces):
            batch.last_trace = int(valid_traces.max(initial=batch.last_trace))
        if len(batch.odfi) == 8 and batch.odfi.isascii() and batch.odfi.isdigit():
            odfi = int(batch.odfi)
            report(
                traces // 10**7 != odfi,
                "trace_number",
                lambda i: f"starts with {traces[i] // 10**7:08d}, not the batch's ODFI {batch.odfi}",
                "nacha.entry.trace_odfi",
            )

    @staticmethod
    def _add_totals(
        index: slice | np.ndarray, ok: np.ndarray, entries: list[Any], facts: _EntryFacts, batch: _Batch
    ) -> None:
        """Debit/credit totals and the entry hash; an entry with some other unreadable field
        still counts with what is readable, so one bad field does not cascade into totals."""
        clean = bool(ok.all())
        credit, debit, entry_hash = facts.credit[index], facts.debit[index], facts.hash[index]
        if not clean:
            credit, debit, entry_hash = credit[ok], debit[ok], entry_hash[ok]
        batch.credit += int(credit.sum())
        batch.debit += int(debit.sum())
        batch.entry_hash += int(entry_hash.sum())
        if clean:
            return
        for i in np.flatnonzero(~ok).tolist():
            entry = entries[i]
            code, amount, rdfi = entry.transaction_code, entry.amount, entry.rdfi_routing
            if isinstance(code, int) and isinstance(amount, int):
                if code in codes.CREDIT_CODES:
                    batch.credit += amount
                elif code in codes.DEBIT_CODES:
                    batch.debit += amount
            if isinstance(rdfi, str) and len(rdfi) == 8 and rdfi.isascii() and rdfi.isdigit():
                batch.entry_hash += int(rdfi)

    def _addenda(self, line: bytes, lineno: int, entry: Any, batch: _Batch, siblings: list[Any]) -> Any:
        """One addenda record: its layout, whether the batch's SEC allows it, its sequence numbers."""
        type_code = line[1:3].decode("latin-1")
        layout = L.addenda_layout(type_code, line[3:6].decode("latin-1"))
        if layout is None:
            message = f"unknown addenda type code '{type_code}'"
            self.log.add(lineno, "addenda (7)", "addenda_type_code", message, code="nacha.addenda.type_code")
            return None
        record = layout.decode(line, lineno, self.log, (batch.number,))
        title = layout.title
        if entry is None:
            message = "addenda record with no entry detail before it in the batch"
            self.log.add(lineno, title, None, message, code="nacha.addenda.no_entry")
            return record
        siblings.append(record)
        self._check_reason_code(record, lineno, title)
        forward_types, _ = codes.FORWARD_ADDENDA.get(batch.sec, (frozenset({"05"}), 1))
        if type_code not in forward_types and type_code not in codes.RETURN_ADDENDA:
            self.log.add(
                lineno,
                title,
                "addenda_type_code",
                f"addenda type {type_code} is not allowed in a {batch.sec} batch",
                code="nacha.addenda.sec_type",
            )
        trace = getattr(entry, "trace_number", None)
        sequence = getattr(record, "entry_detail_sequence_number", None)
        if trace and sequence is not None and sequence != trace[-7:]:
            self.log.add(
                lineno,
                title,
                "entry_detail_sequence_number",
                f"is {sequence}, but the entry's trace number {trace} ends in {trace[-7:]}",
                code="nacha.addenda.entry_sequence",
            )
        if type_code == "02" and trace and record.trace_number != trace:
            self.log.add(
                lineno,
                title,
                "trace_number",
                f"is {record.trace_number}, not the entry's trace number {trace}",
                code="nacha.addenda.trace_number",
            )
        if hasattr(record, "addenda_sequence_number"):
            expected = sum(1 for r in siblings if r.KIND == record.KIND)
            if record.addenda_sequence_number != expected:
                self.log.add(
                    lineno,
                    title,
                    "addenda_sequence_number",
                    f"is {record.addenda_sequence_number}, expected {expected} (addenda of an entry number 1, 2, 3...)",
                    code="nacha.addenda.sequence",
                )
        return record

    def _check_reason_code(self, record: Any, lineno: int, title: str) -> None:
        """Return reason codes (99) and change codes (98) from the ranges the rules define."""
        reason = getattr(record, "return_reason_code", None)
        if reason and not codes.is_return_reason_code(reason):
            message = f"'{reason}' is not a return reason code of the NACHA rules (R01-R85)"
            self.log.add(lineno, title, "return_reason_code", message, code="nacha.addenda.return_reason_code")
        change = getattr(record, "change_code", None)
        if change and not codes.is_change_code(change):
            message = f"'{change}' is not a change code of the NACHA rules (C01-C14, refused C61-C69)"
            self.log.add(lineno, title, "change_code", message, code="nacha.addenda.change_code")

    def _check_addenda_set(self, entry: Any, addenda: list[Any], batch: _Batch) -> None:
        """Rules over all addenda of one entry: how many, and for IAT which and in what order."""
        types = [r.KIND.split("_")[1] for r in addenda]
        forward = [t for t in types if t not in codes.RETURN_ADDENDA]
        _, most = codes.FORWARD_ADDENDA.get(batch.sec, (frozenset({"05"}), 1))
        title = batch.entry_layout.title
        if len(forward) > most:
            self.log.add(
                entry.line,
                title,
                None,
                f"has {len(forward)} addenda records; a {batch.sec} entry allows at most {most}",
                code="nacha.entry.addenda_count",
            )
        declared = getattr(entry, "number_of_addenda_records", None)
        if declared is not None:
            actual = len(addenda) if batch.sec == "IAT" else len(forward)
            if declared != actual:
                # Files in the wild (moov-io's IAT samples among them) count only the seven
                # mandatory IAT addenda here; that is worth a warning, not a rejected file.
                iat_style = batch.sec == "IAT" and declared >= len(codes.IAT_MANDATORY)
                self.log.add(
                    entry.line,
                    title,
                    "number_of_addenda_records",
                    f"is {declared}, but {actual} addenda follow",
                    code="nacha.entry.number_of_addenda_iat" if iat_style else "nacha.entry.number_of_addenda",
                )
        if batch.sec == "IAT" and len(forward) == len(types):
            mandatory = tuple(forward[:7])
            if mandatory != codes.IAT_MANDATORY:
                self.log.add(
                    entry.line,
                    title,
                    None,
                    "IAT entry must be followed by addenda 10 to 16 in order, got " + ", ".join(forward[:7]),
                    code="nacha.entry.iat_addenda_order",
                )
            for code, limit in codes.IAT_MAX_OPTIONAL.items():
                if forward.count(code) > limit:
                    message = f"IAT entry allows at most {limit} addenda {code}"
                    self.log.add(entry.line, title, None, message, code="nacha.entry.iat_addenda_limit")

    # -- headers and controls -----------------------------------------------------------------

    def _structural(self, line: bytes, lineno: int, state: _File, decoded: _Decoded, at: int) -> Any:
        code = line[:1]
        if code == b"9" and line.count(b"9") == len(line):
            state.padding += 1
            if state.control is None:
                message = "9-filled padding record before the file control"
                self.log.add(lineno, "padding", None, message, code="nacha.file.padding_before_control")
            return None
        state.records += 1
        if state.first_line == 0:
            state.first_line = lineno
        if state.control is not None:
            message = "record after the file control (only 9-filled padding may follow it)"
            self.log.add(lineno, "file", None, message, code="nacha.file.record_after_control")
            return None
        if code == b"1":
            return self._file_header(line, lineno, state)
        if code == b"5":
            return self._batch_header(line, lineno, state, decoded, at)
        if code == b"8":
            return self._batch_control(line, lineno, state, decoded, at)
        if code == b"9":
            return self._file_control(line, lineno, state)
        shown = line[:1].decode("latin-1")
        self.log.add(
            lineno,
            "record",
            "record_type",
            f"unknown record type code '{shown}' (expected 1, 5, 6, 7, 8 or 9)",
            code="nacha.file.unknown_record_type",
        )
        return None

    def _file_header(self, line: bytes, lineno: int, state: _File) -> Any:
        record = L.FILE_HEADER.decode(line, lineno, self.log)
        title = L.FILE_HEADER.title
        if state.header is not None:
            message = f"second file header (the first is on line {state.header.line})"
            self.log.add(lineno, title, None, message, code="nacha.file.second_header")
        elif state.records > 1:
            self.log.add(
                lineno, title, None, "file header must be the first record", code="nacha.file.header_not_first"
            )
        self._check_immediate(record, lineno, title)
        if state.header is None:
            state.header = record
        _count(state, record.KIND, 1)
        return record

    def _check_immediate(self, record: Any, lineno: int, title: str) -> None:
        """Immediate Destination must be a routing number; Immediate Origin a routing number or,
        as many ODFIs ask, a company identification (ICD 1, 3 or 9 and 9 digits: '1' + EIN)."""
        destination, origin = record.immediate_destination, record.immediate_origin
        if codes.routing_in_field(destination) is None:
            message = _not_routing(destination, "the receiving point's routing number, as ' 231380104'")
            self.log.add(lineno, title, "immediate_destination", message, code="nacha.file.immediate_destination")
        if codes.routing_in_field(origin) is None and not codes.is_company_origin(origin):
            forms = "a routing number (' 121042882') or 1, 3 or 9 and 9 digits ('1' + EIN)"
            self.log.add(
                lineno, title, "immediate_origin", _not_routing(origin, forms), code="nacha.file.immediate_origin"
            )

    def _check_batch_company(self, record: Any, lineno: int, title: str, state: _File, line: bytes) -> None:
        """What ACH Operators edit in a batch header beyond the field formats: the company name
        and entry description present; and the effective entry date, which they settle at the
        next opportunity when stale (before the file's creation date), blank or zeros, instead
        of rejecting."""
        for name in ("company_name", "company_entry_description"):
            value = getattr(record, name, None)
            if value is not None and codes.blank_or_zeros(value):
                message = "is blank or all zeros (ACH Operators reject the batch)"
                self.log.add(lineno, title, name, message, code=f"nacha.batch.{name}")
        effective = record.effective_entry_date
        raw = line[69:75]
        if effective is None and (not raw.strip() or raw.count(b"0") == len(raw)):
            what = "blank" if not raw.strip() else "all zeros"
            message = f"is {what}: ACH Operators settle the batch at the next settlement opportunity"
            self.log.add(lineno, title, "effective_entry_date", message, code=L.EFFECTIVE_DATE_INVALID)
        created = getattr(state.header, "file_creation_date", None)
        if effective is not None and isinstance(created, date) and effective < created:
            message = (
                f"{effective.isoformat()} is before the file creation date {created.isoformat()}: "
                "stale, so ACH Operators settle the batch at the next settlement opportunity"
            )
            self.log.add(lineno, title, "effective_entry_date", message, code="nacha.batch.effective_date_stale")

    def _batch_header(self, line: bytes, lineno: int, state: _File, decoded: _Decoded, at: int) -> Any:
        sec = line[50:53].decode("latin-1")
        layout = L.IAT_BATCH_HEADER if sec == "IAT" else L.BATCH_HEADER
        record = decoded.record(layout, at, line, lineno, self.log)
        title = layout.title
        if state.header is None:
            self.log.add(lineno, title, None, "batch header before the file header", code="nacha.file.header_missing")
        self._check_batch_company(record, lineno, title, state, line)
        if state.batch is not None:
            self.log.add(
                lineno,
                title,
                None,
                f"batch {state.batch.number} (line {state.batch.line}) has no batch control before this batch header",
                code="nacha.batch.control_missing",
            )
            self._close_batch(state)
        service_class = record.service_class_code or 0
        if service_class not in codes.SERVICE_CLASS_CODES:
            self.log.add(
                lineno,
                title,
                "service_class_code",
                f"unknown service class code {service_class} (200, 220, 225 or 280)",
                code="nacha.batch.service_class_code",
            )
        if sec not in codes.SEC_CODES:
            message = f"unknown standard entry class code '{sec}'"
            self.log.add(lineno, title, "standard_entry_class_code", message, code="nacha.batch.sec_code")
        if (sec == "ADV") != (
            service_class == codes.AUTOMATED_ACCOUNTING_ADVICES
        ) and service_class in codes.SERVICE_CLASS_CODES:
            self.log.add(
                lineno,
                title,
                "service_class_code",
                f"service class {service_class} does not fit SEC code {sec} (ADV goes with 280)",
                code="nacha.batch.service_class_sec",
            )
        number = record.batch_number or 0
        if number <= state.last_batch_number:
            self.log.add(
                lineno,
                title,
                "batch_number",
                f"{number} is not greater than the previous batch number {state.last_batch_number}",
                code="nacha.batch.number_order",
            )
        state.last_batch_number = max(number, state.last_batch_number)
        state.adv = state.adv or sec == "ADV"
        state.batch = _Batch(
            record, lineno, sec, service_class, record.odfi_identification or "", number, L.entry_layout(sec)
        )
        state.batch.allowed_codes = _allowed_transaction_codes(state.batch)
        _count(state, record.KIND, 1)
        return record

    def _enr_frame(self, batch: _Batch, rows: np.ndarray, linenos: Sequence[int]) -> None:
        """An ENR batch whose first entry has no digits where the ENR record format counts its
        addenda (55-58) is read in the standard frame (name at 55-76), as moov-io/ach writes ENR,
        with a warning: the name is kept, not read as a count."""
        first = next((i for i, kind in enumerate(rows[:, 0].tolist()) if kind == ENTRY), None)
        if first is None or bytes(rows[first, 54:58]).isdigit():
            return
        batch.entry_layout = L.ENTRY_STANDARD
        found = bytes(rows[first, 54:58]).decode("latin-1")
        message = (
            f"is {found!r}, not a count: this ENR batch's entries are read in the standard frame "
            "(name at 55-76), not the ENR record format's (count 55-58, name 59-74)"
        )
        code = "nacha.entry.enr_standard_frame"
        self.log.add(linenos[first], L.ENTRY_ADDENDA_COUNT.title, "number_of_addenda_records", message, code=code)

    def _batch_control(self, line: bytes, lineno: int, state: _File, decoded: _Decoded, at: int) -> Any:
        batch = state.batch
        layout = L.ADV_BATCH_CONTROL if batch is not None and batch.sec == "ADV" else L.BATCH_CONTROL
        record = decoded.record(layout, at, line, lineno, self.log)
        _count(state, record.KIND, 1)
        if batch is None:
            message = "batch control without a batch header before it"
            self.log.add(lineno, layout.title, None, message, code="nacha.batch.control_without_header")
            return record
        header = batch.header
        check = _Checker(self.log, lineno, layout.title, f"batch {batch.number}", "batch")
        check.equal("service_class_code", record.service_class_code, batch.service_class, "the batch header's")
        check.equal("entry_addenda_count", record.entry_addenda_count, batch.entries + batch.addenda, "counted")
        check.equal("entry_hash", record.entry_hash, batch.entry_hash % HASH_MODULUS, "computed", width=10)
        check.equal("total_debit", record.total_debit, batch.debit, "summed from the entries")
        check.equal("total_credit", record.total_credit, batch.credit, "summed from the entries")
        check.equal("odfi_identification", record.odfi_identification, batch.odfi, "the batch header's")
        check.equal("batch_number", record.batch_number, batch.number, "the batch header's")
        if layout is L.BATCH_CONTROL and hasattr(header, "company_identification"):
            check.equal(
                "company_identification",
                record.company_identification,
                header.company_identification,
                "the batch header's",
            )
        self._close_batch(state)
        return record

    def _close_batch(self, state: _File) -> None:
        batch = state.batch
        assert batch is not None
        state.batches += 1
        state.entries_addenda += batch.entries + batch.addenda
        state.entry_hash += batch.entry_hash
        state.debit += batch.debit
        state.credit += batch.credit
        state.batch = None

    def _file_control(self, line: bytes, lineno: int, state: _File) -> Any:
        layout = L.ADV_FILE_CONTROL if state.adv else L.FILE_CONTROL
        if state.batch is not None:
            self.log.add(
                lineno,
                layout.title,
                None,
                f"batch {state.batch.number} (line {state.batch.line}) has no batch control",
                code="nacha.batch.control_missing",
            )
            self._close_batch(state)
        record = layout.decode(line, lineno, self.log)
        check = _Checker(self.log, lineno, layout.title, "the file", "file")
        check.equal("batch_count", record.batch_count, state.batches, "counted")
        check.equal("block_count", record.block_count, -(-state.records // 10), "counted (records / 10, rounded up)")
        check.equal("entry_addenda_count", record.entry_addenda_count, state.entries_addenda, "counted")
        check.equal("entry_hash", record.entry_hash, state.entry_hash % HASH_MODULUS, "computed", width=10)
        check.equal("total_debit", record.total_debit, state.debit, "summed from the entries")
        check.equal("total_credit", record.total_credit, state.credit, "summed from the entries")
        state.control = record
        _count(state, record.KIND, 1)
        return record

    def _finish(self, state: _File) -> None:
        if state.records == 0:
            self.log.add(0, "file", None, "no NACHA records in the file", code="nacha.file.empty")
        elif state.header is None:
            message = "file header record (1) missing"
            self.log.add(state.first_line, "file", None, message, code="nacha.file.header_missing")
        if state.batch is not None:
            self.log.add(
                state.batch.line,
                "file",
                None,
                f"batch {state.batch.number} is never closed by a batch control",
                code="nacha.batch.control_missing",
            )
            self._close_batch(state)
        if state.records and state.control is None:
            message = "file control record (9) missing: the file may be truncated"
            self.log.add(0, "file", None, message, code="nacha.file.control_missing")
        if state.records and (state.records + state.padding) % 10:
            self.log.add(
                0,
                "file",
                None,
                f"{state.records + state.padding} records is not a multiple of 10 "
                "(blocking factor 10 expects 9-filled padding)",
                code="nacha.file.block_padding",
            )
        self.summary.records.update(state.kinds)
        self.summary.totals.update(
            batch_count=state.batches,
            entry_addenda_count=state.entries_addenda,
            entry_hash=state.entry_hash % HASH_MODULUS,
            total_debit=state.debit,
            total_credit=state.credit,
        )


class _Checker:
    """Compares a control field with what the records add up to, in one message style."""

    def __init__(self, log: ProblemLog, lineno: int, title: str, scope: str, kind: str) -> None:
        self.log, self.lineno, self.title, self.scope, self.kind = log, lineno, title, scope, kind

    def equal(self, name: str, declared: Any, actual: Any, how: str, width: int = 0) -> None:
        if declared is None or declared == actual:
            return
        show: Callable[[Any], str]
        if name.startswith("total_"):
            show = _money
        else:
            show = (lambda v: f"{v:0{width}d}") if width else str
        message = f"is {show(declared)}, but {self.scope} has {show(actual)} ({how})"
        code = f"nacha.{self.kind}.{_CHECKED.get(name, name)}_mismatch"  # nacha.batch.service_class_mismatch
        self.log.add(self.lineno, self.title, name, message, code=code)


#: Control fields whose mismatch code names the concept, not the field.
_CHECKED = {"service_class_code": "service_class", "odfi_identification": "odfi"}


def _not_routing(value: str, forms: str) -> str:
    """Why an Immediate Destination/Origin is not a routing number, with what it should be."""
    digits = value.strip()
    digits = digits[1:] if len(digits) == 10 and digits[0] == "0" else digits
    if not digits:
        return f"is blank: it must be {forms}"
    if len(digits) == 9 and digits.isascii() and digits.isdigit() and digits != "000000000":
        expected = codes.routing_check_digit(digits[:8])
        return f"routing number {digits} should end in check digit {expected} (it must be {forms})"
    return f"'{value}' is not {forms}"


def _money(cents: int) -> str:
    """Cents as dollars for messages, exact (no float): 1578137 -> '15,781.37'."""
    return f"{cents // 100:,}.{cents % 100:02d}"


def _count(state: _File, kind: str, n: int) -> None:
    state.kinds[kind] = state.kinds.get(kind, 0) + n


def _hold_back_last_entry(block: Block) -> tuple[Block, Block | None]:
    """Keep the last entry and its addenda for the next block, so an entry and its addenda
    are always decoded together, unless a header/control after them already closes them."""
    kinds = block.rows[:, 0]
    entries = np.flatnonzero(kinds == ENTRY)
    if len(entries) == 0:
        return block, None
    last_entry = int(entries[-1])
    after = kinds[last_entry + 1 :]
    if ((after != ADDENDA) & (after != ENTRY)).any():
        return block, None
    head = Block(block.rows[:last_entry], block.linenos[:last_entry])
    tail = Block(block.rows[last_entry:], block.linenos[last_entry:])
    return head, tail


def _code_table(allowed: frozenset[int]) -> np.ndarray:
    """A lookup table over transaction codes 0-99: ``table[codes]`` tests a whole column at once."""
    table = np.zeros(100, dtype=bool)
    table[list(allowed)] = True
    return table


CREDIT = _code_table(codes.CREDIT_CODES)
DEBIT = _code_table(codes.DEBIT_CODES)
ZERO_AMOUNT = _code_table(codes.ZERO_AMOUNT_CODES)


def _allowed_transaction_codes(batch: _Batch) -> np.ndarray:
    return _allowed_codes_table(batch.sec == "ADV", batch.service_class)


@lru_cache(maxsize=64)
def _allowed_codes_table(adv: bool, service_class: int) -> np.ndarray:
    """One table per kind of batch, shared by every batch of that kind (never written to)."""
    allowed = codes.ADV_CODES if adv else codes.TRANSACTION_CODES - codes.ADV_CODES
    if service_class == codes.CREDITS_ONLY:
        allowed &= codes.CREDIT_CODES
    elif service_class == codes.DEBITS_ONLY:
        allowed &= codes.DEBIT_CODES
    table = _code_table(allowed)
    table.flags.writeable = False
    return table


def _transaction_code_message(tc: int, batch: _Batch) -> str:
    if tc not in codes.TRANSACTION_CODES:
        return f"{tc:02d} is not a NACHA transaction code"
    if batch.sec == "ADV" or tc in codes.ADV_CODES:
        return f"{tc:02d} is not allowed in a {batch.sec} batch (ADV uses 81-88 only)"
    direction = "credit" if tc in codes.CREDIT_CODES else "debit"
    kind = {codes.CREDITS_ONLY: "credits-only", codes.DEBITS_ONLY: "debits-only"}.get(batch.service_class, "")
    return f"{tc:02d} is a {direction}, not allowed in a {kind} batch (service class {batch.service_class})"
