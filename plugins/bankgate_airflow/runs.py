"""What a run covers: its window of remote modification times.

Pure functions of the bank config and the run's dates (no Airflow import), so the same run
always selects the same files: a re-run or a backfill of a past day is repeatable, and the
plan travels through XCom as a small JSON dict. (Where a file lands depends only on the file:
``<destination><mtime date>/<name>``, the transfer core's ``destination_key``.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bankgate.banks import BankConfig


@dataclass(frozen=True, slots=True)
class Plan:
    """One run of one bank. Files whose remote mtime is in ``[since, end)`` are candidates;
    ``start`` is the run's own interval start (``since`` is earlier by the lookback unless the
    run is forced, when exactly the interval is re-pulled)."""

    bank: str
    start: datetime
    end: datetime
    since: datetime
    force: bool = False
    reason: str = "scheduled"  # scheduled | manual | repull

    def covers(self, mtime: float) -> bool:
        return self.since.timestamp() <= mtime < self.end.timestamp()

    def to_xcom(self) -> dict[str, Any]:
        raw = asdict(self)
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in raw.items()}

    @classmethod
    def from_xcom(cls, raw: Mapping[str, Any]) -> Plan:
        times = {k: datetime.fromisoformat(raw[k]) for k in ("start", "end", "since")}
        return cls(bank=raw["bank"], force=bool(raw["force"]), reason=raw["reason"], **times)

    def describe(self) -> str:
        window = f"{self.since.isoformat()} .. {self.end.isoformat()}"
        return f"bank {self.bank}: files modified {window} ({self.reason}{', forced re-pull' if self.force else ''})"


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def scheduled_plan(
    bank: BankConfig,
    *,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    logical_date: datetime | None,
    run_after: datetime | None,
    force: bool = False,
    manual: bool = False,
) -> Plan:
    """The plan of a ``bank_pull__<bank>`` run from its Airflow dates.

    ``CronTriggerTimetable`` runs have a zero-length data interval at the fire time, so the
    interval is rebuilt from the cron (previous fire time to this one); a timetable with real
    intervals is used as is. A manual run without a logical date ends at ``run_after``.
    """
    start, end = _aware(data_interval_start), _aware(data_interval_end or logical_date or run_after)
    if end is None:
        raise ValueError("the run has neither a data interval, a logical date nor a run_after")
    end = end.astimezone(bank.tz)
    if start is None or start >= end:
        start, end = bank.interval_ending(end)
    since = start if force else bank.selection_window(start, end)[0]
    return Plan(
        bank.name, start.astimezone(bank.tz), end, since.astimezone(bank.tz), force, "manual" if manual else "scheduled"
    )


def repull_plan(bank: BankConfig, first: date, last: date, *, force: bool = True) -> Plan:
    """Whole bank-local days ``first`` to ``last`` inclusive, for the ``bank_repull`` form."""
    if last < first:
        raise ValueError(f"end date {last} is before start date {first}")
    start = datetime.combine(first, time(0), tzinfo=bank.tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=bank.tz)
    return Plan(bank.name, start, end, start, force, "repull")
