"""What a run covers: its window of remote modification times.

Pure functions of the bank config and the run's dates (no Airflow import), so the same run
always selects the same files: a re-run or a backfill of a past day is repeatable, and the
plan travels through XCom as a small JSON dict. (Where a file lands depends only on the file:
``<destination><mtime date>/<name>``, the transfer core's ``destination_key``.)

Time zones: every datetime here is aware, and :func:`aware` is the one gate a datetime passes
to get in, from Airflow's context or from XCom; a naive one is refused, because reading it
would mean guessing a zone, and the worker's local zone (``TZ``) is never the bank's. Values
are converted to plain ``datetime`` in the bank's zone: Airflow hands out pendulum datetimes,
whose ``isoformat()`` after ``astimezone(ZoneInfo)`` drops the offset, and the naive string
that came back from XCom was read in the worker's zone, losing the last hours before a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
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
        return Window(self.since, self.end).covers(mtime)

    def to_xcom(self) -> dict[str, Any]:
        raw = asdict(self)
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in raw.items()}

    @classmethod
    def from_xcom(cls, raw: Mapping[str, Any]) -> Plan:
        times = {k: aware(datetime.fromisoformat(raw[k]), f"plan {k}") for k in ("start", "end", "since")}
        return cls(bank=raw["bank"], force=bool(raw["force"]), reason=raw["reason"], **times)

    def describe(self) -> str:
        window = f"{self.since.isoformat()} .. {self.end.isoformat()}"
        return f"bank {self.bank}: files modified {window} ({self.reason}{', forced re-pull' if self.force else ''})"


@dataclass(frozen=True, slots=True)
class Window:
    """Remote modification times ``[since, end)``; the one test of "is this file in it", shared
    by the pull runs and the arrival SLA. Server mtimes are UTC epoch seconds, so the test
    compares epochs and no local zone takes part."""

    since: datetime
    end: datetime

    def covers(self, mtime: float) -> bool:
        return self.since.timestamp() <= mtime < self.end.timestamp()


def aware(value: datetime, what: str, tz: tzinfo = UTC) -> datetime:
    """``value`` as a plain, aware ``datetime`` in ``tz``; a naive one raises ValueError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} {value.isoformat()} has no time zone; bankgate refuses to guess one")
    utc = value.astimezone(UTC)
    plain = datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)  # drops pendulum's subclass
    return plain.astimezone(tz)


def _optional(value: datetime | None, what: str, tz: tzinfo) -> datetime | None:
    return None if value is None else aware(value, what, tz)


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
    tz = bank.tz
    start = _optional(data_interval_start, "data_interval_start", tz)
    end = _optional(data_interval_end or logical_date or run_after, "the run's end", tz)
    if end is None:
        raise ValueError("the run has neither a data interval, a logical date nor a run_after")
    if start is None or start >= end:
        start, end = bank.interval_ending(end)
    since = start if force else bank.selection_window(start, end)[0]
    return Plan(bank.name, start.astimezone(tz), end, since.astimezone(tz), force, "manual" if manual else "scheduled")


def repull_plan(bank: BankConfig, first: date, last: date, *, force: bool = True) -> Plan:
    """Whole bank-local days ``first`` to ``last`` inclusive, for the ``bank_repull`` form."""
    if last < first:
        raise ValueError(f"end date {last} is before start date {first}")
    start = datetime.combine(first, time(0), tzinfo=bank.tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=bank.tz)
    return Plan(bank.name, start, end, start, force, "repull")


def repull_note(conf: Mapping[str, Any], report: Mapping[str, Any] | None = None) -> str:
    """The note a ``bank_repull`` run carries in the UI's run list: which bank and which days,
    so a list of re-pulls reads as what was asked, not as a column of run ids; once the run has
    reported, a second line says what it found and what was missing from the server."""
    bank, first, last = (conf.get(key) or "?" for key in ("bank", "start_date", "end_date"))
    days = str(first) if first == last else f"{first} to {last}"
    mode = "forced: files already pulled are pulled again" if conf.get("force", True) else "only files not yet pulled"
    note = f"Re-pull of bank {bank}, {days} (bank-local days; {mode})"
    if not report:
        return note
    if report.get("nothing_found"):
        return f"{note}\nNothing pulled: {report['nothing_found']}."
    counts = [
        (len(report.get("pulled") or []), "pulled"),
        (int(report.get("already_pulled") or 0), "already pulled"),
        (len(report.get("waiting") or {}), "waiting"),
        (len(report.get("too_large") or []), "too large"),
        (len(report.get("failed") or {}), "failed"),
    ]
    found = f"Found {report.get('found', 0)} file(s): " + ", ".join(f"{n} {what}" for n, what in counts if n)
    gone = report.get("gone_from_server") or {}
    if gone:
        found += (
            f"; missing from the server: {len(gone)} ({', '.join(gone)}), pulled before and moved or deleted "
            "since: reprocess them with bank_reprocess"
        )
    return f"{note}\n{found}."
