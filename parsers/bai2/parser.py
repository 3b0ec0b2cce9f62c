"""The BAI2 parser: records in file order, checked for nesting and against every trailer.

A BAI2 file nests envelopes: file (01 ... 99) > group (02 ... 98) > account (03 ... 49),
with 16 transaction details inside an account. Each trailer carries control totals and
counts, and a file whose totals do not add up must not be loaded, so every one is checked
(Cash Management Balance Reporting Specifications, version 2):

* 49 account control total = algebraic sum of every amount in the account's 03 record
  (status and summary amounts) and its 16 records; funds type distribution amounts and item
  counts are not amounts and are not added. 49 record count = the account's physical
  records: its 03, 16s, 88 continuations and the 49 itself.
* 98 group control total = sum of the group's 49 control totals; number of accounts = its
  03 records; record count = its physical records from the 02 to the 98, 88s included.
* 99 file control total = sum of the 98 control totals; number of groups = 02 records;
  record count = every physical record in the file, 01 and 99 and 88s included.

A 16 whose text wraps onto a line without an 88 (see ``physical``) spans one more physical
record to some senders and not to others: a record count agrees with either reading.

Totals are summed from what the trailers *declare*, so one wrong 49 is reported once, at
the 49, instead of again at the 98 and the 99.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bankgate.parsers.bai2.physical import Logical, logical_records, physical_lines
from bankgate.parsers.bai2.records import RECORD_CLASSES, SPECS, TITLES, Where, title
from bankgate.parsers.bai2.rules import RULES
from bankgate.parsers.base import FileParser
from bankgate.parsers.problems import ProblemLog


@dataclass(slots=True)
class _Envelope:
    """An open account or group: where it started, and what its trailer must match."""

    line: int
    name: str  # "account 12345" or "group 2", for messages
    records: int = 0  # physical records so far, continuations included
    unmarked: int = 0  # of those, lines continuing a 16's text without an 88
    total: int = 0  # account: sum of amounts; group: sum of the 49 control totals
    children: int = 0  # group: number of accounts


class _Structure:
    """Nesting and control totals of one file, fed one logical record at a time."""

    def __init__(self, log: ProblemLog) -> None:
        self.log = log
        self.started = False  # any record seen
        self.header_seen = False  # the 01 seen
        self.ended = False
        self.group: _Envelope | None = None
        self.account: _Envelope | None = None
        self.group_number = 0  # sequence number of the current (or last) group
        self.account_number: str | None = None
        self.records = 0  # physical records in the file
        self.unmarked = 0  # of those, lines continuing a 16's text without an 88
        self.total = 0  # sum of the 98 control totals
        self.groups = 0
        self.declared_total: int | None = None  # from the 99
        self.credits = 0
        self.debits = 0
        self.last_line = 0

    def context(self, code: str) -> tuple:
        """The ``group``/``account`` values a record of this code carries."""
        group = self.group_number if self.group is not None else None
        if code in ("02", "03", "98"):
            return (group,)
        if code in ("16", "49"):
            return (group, self.account_number if self.account is not None else None)
        return ()

    # -- before decoding: envelopes opened and closed by the record code ------------------

    def open(self, logical: Logical) -> bool:
        """Check the record's place in the file; False when it is outside the file (after 99)."""
        code, line, _, physical, unmarked = logical
        record = title(code)
        self.records += physical
        self.unmarked += unmarked
        self.last_line = line
        if self.ended:
            self._error(line, record, "comes after the file trailer (99)", "bai2.file.record_after_trailer")
            return False
        if code == "01":
            if self.header_seen:
                self._error(
                    line,
                    record,
                    "appears again: a file has one file header, as its first record",
                    "bai2.file.second_header",
                )
            self.header_seen = True
        elif not self.started and code != "88":
            self._error(
                line,
                record,
                "comes before the file header (01): a file must start with 01",
                "bai2.file.header_not_first",
            )
        self.started = True
        if code in ("02", "03", "98", "99"):
            self._close_account_unended(line, record)
        if code in ("02", "99"):
            self._close_group_unended(line, record)
        if code == "02":
            self.group_number += 1
            self.groups += 1
            self.group = _Envelope(line, f"group {self.group_number}")
        elif code == "03":
            if self.group is None:
                self._error(
                    line, record, "is outside a group: no group header (02) before it", "bai2.account.outside_group"
                )
            self.account = _Envelope(line, "account")
            self.account_number = None
            if self.group is not None:
                self.group.children += 1
        elif code in ("16", "49") and self.account is None:
            self._error(
                line,
                record,
                "is outside an account: no account identifier (03) before it",
                "bai2.record.outside_account",
            )
        elif code == "98" and self.group is None:
            self._error(line, record, "has no group header (02) before it", "bai2.group.trailer_without_header")
        elif code == "88":
            self._error(line, record, "has no record before it to continue", "bai2.record.continuation_orphan")
        elif not code:
            self._error(
                line, record, "does not start with a record code (two digits and a comma)", "bai2.record.no_code"
            )
        elif code not in SPECS:
            message = f"has an unknown record code '{code}': expected 01, 02, 03, 16, 88, 49, 98 or 99"
            self._error(line, record, message, "bai2.record.unknown_code")
        if code != "01":
            for envelope in (self.account, self.group):
                if envelope is not None:
                    envelope.records += physical
                    envelope.unmarked += unmarked
        return True

    # -- after decoding: amounts added up, trailers checked -------------------------------

    def close(self, record: Any) -> None:
        kind = record.KIND
        if kind == "account_identifier":
            if self.account is not None:
                self.account_number = record.account
                self.account.name = f"account {record.account}"
                self.account.total += sum(s["amount"] or 0 for s in record.summaries)
        elif kind == "transaction_detail":
            amount = record.amount or 0
            if self.account is not None:
                self.account.total += amount
            if record.direction == "credit":
                self.credits += amount
            elif record.direction == "debit":
                self.debits += amount
        elif kind == "account_trailer" and self.account is not None:
            account = self.account
            total, n = account.total, account.records
            self._check(record, "control_total", total, f"the amounts in {account.name} (03 and 16) add up to {total}")
            found = f"{account.name} has {n} records (03 to 49, 88s included)"
            self._check(record, "record_count", n, found, account.unmarked)
            if self.group is not None:  # what the 49 declares; if it cannot be read, what it should say
                self.group.total += total if record.control_total is None else record.control_total
            self.account = None
        elif kind == "group_trailer" and self.group is not None:
            group = self.group
            total, accounts, n = group.total, group.children, group.records
            self._check(record, "control_total", total, f"the 49 control totals of {group.name} add up to {total}")
            self._check(record, "account_count", accounts, f"{group.name} has {accounts} accounts (03 records)")
            found = f"{group.name} has {n} records (02 to 98, 88s included)"
            self._check(record, "record_count", n, found, group.unmarked)
            self.total += total if record.control_total is None else record.control_total
            self.group = None
        elif kind == "file_trailer":
            total, groups, n = self.total, self.groups, self.records
            self._check(record, "control_total", total, f"the group control totals (98) add up to {total}")
            self._check(record, "group_count", groups, f"the file has {groups} groups (02 records)")
            found = f"the file has {n} records (01 to 99, 88s included)"
            self._check(record, "record_count", n, found, self.unmarked)
            self.declared_total = record.control_total
            self.ended = True

    def finish(self) -> None:
        """End of input: whatever is still open lacks its trailer."""
        if not self.started:
            self.log.add(0, "file", None, "is empty: no BAI2 records", code="bai2.file.empty")
            return
        self._close_account_unended(self.last_line, "file", at_end=True)
        self._close_group_unended(self.last_line, "file", at_end=True)
        if not self.ended:
            self.log.add(
                self.last_line, "file", None, "ends without a file trailer (99)", code="bai2.file.trailer_missing"
            )

    # -- helpers ---------------------------------------------------------------------------

    def _check(self, record: Any, field: str, actual: int, found: str, unmarked: int = 0) -> None:
        """A trailer field against what was counted; ``found`` says what, in words.

        ``unmarked`` records (16 text wrapped without an 88) may or may not be counted.
        """
        declared = getattr(record, field)
        if declared is not None and declared != actual and declared != actual - unmarked:
            if unmarked:
                found += f", or {actual - unmarked} without the {unmarked} lines continued without an 88"
            # account_trailer -> bai2.account.control_total: the envelope and the field checked.
            code = f"bai2.{record.KIND.split('_')[0]}.{field}"
            self.log.add(record.line, TITLES[record.KIND], field, f"is {declared} but {found}", code=code)

    def _close_account_unended(self, line: int, record: str, at_end: bool = False) -> None:
        if self.account is not None:
            where = "at the end of the file" if at_end else "before this record"
            opened = f"{self.account.name} (line {self.account.line})"
            message = f"{opened} has no account trailer (49) {where}"
            self.log.add(line, record, None, message, code="bai2.account.trailer_missing")
            self.account = None

    def _close_group_unended(self, line: int, record: str, at_end: bool = False) -> None:
        if self.group is not None:
            where = "at the end of the file" if at_end else "before this record"
            opened = f"{self.group.name} (line {self.group.line})"
            message = f"{opened} has no group trailer (98) {where}"
            self.log.add(line, record, None, message, code="bai2.group.trailer_missing")
            self.group = None

    def _error(self, line: int, record: str, message: str, code: str) -> None:
        self.log.add(line, record, None, message, code=code)


#: Records handed out per list by ``iter_batches``: big enough to amortize, small enough for memory.
BATCH_RECORDS = 1024


class Bai2Parser(FileParser):
    """BAI2 (BAI cash management balance reporting, version 2) files.

    Yields one record per logical record (01, 02, 03, 16, 49, 98, 99; 88 continuations are
    merged into the record they continue). Every record is checked where it stands and
    every trailer against what it closes; see the module docstring for the rules.
    """

    format = "bai2"
    record_classes = RECORD_CLASSES
    rules = RULES

    def _batches(self) -> Iterator[list[Any]]:
        structure = _Structure(self.log)
        counts = self.summary.records
        continuations = 0
        batch: list[Any] = []
        for logical in logical_records(physical_lines(self.stream, self.log), self.log):
            continuations += logical.physical - 1
            try:
                record = self._record(logical, structure)
            except Exception as exc:  # malformed input must end as problems, never as a crash
                message = f"could not be read ({type(exc).__name__}: {exc})"
                self.log.add(logical.line, title(logical.code), None, message, code="bai2.record.unreadable")
                continue
            if record is not None:
                counts[record.KIND] += 1
                batch.append(record)
                if len(batch) >= BATCH_RECORDS:
                    yield batch
                    batch = []
        if batch:
            yield batch
        structure.finish()
        self.summary.totals.update(
            file_control_total=structure.total if structure.declared_total is None else structure.declared_total,
            groups=counts["group_header"],
            accounts=counts["account_identifier"],
            transactions=counts["transaction_detail"],
            total_credits=structure.credits,
            total_debits=structure.debits,
            physical_records=structure.records,
            continuations=continuations,
        )

    def _record(self, logical: Logical, structure: _Structure) -> Any:
        spec = SPECS.get(logical.code)
        inside = structure.open(logical)
        if spec is None:
            return None
        where = Where(self.log, logical.line, spec.title)
        record = spec.decode(spec, logical.text, where, structure.context(logical.code))
        if inside:
            structure.close(record)
        return record
