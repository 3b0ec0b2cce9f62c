"""The ``bank_sla__<bank>`` check: did the day's expected files arrive by their cut-offs?

Which days are due, the deadlines and the windows are the calendar's (``bankgate/calendar.py``);
this module reads the arrivals, sorts them into on time and late per expectation, and says
what is missing. Arrivals are the files of the pull ledger (pulled files may be gone from the
server) and those still waiting on the server, each with its remote modification time, so a
re-run of a past day, from the form, finds the same files and gives the same answer.

A miss fails the task (red in the UI, with the message as the error and the run's note) and
reaches the notifier. Why not Airflow 3's Deadline Alerts (``DeadlineAlert`` on the DAG, in
3.3 still experimental): a deadline alert fires a callback when a *DAG run* has not finished
by a time measured from its logical date or queue time. It knows nothing of files, leaves the
run's state as it is (a late bank would still be a green run), and runs its callback in the
triggerer, away from the task log an analyst opens. The SLA here is about files, so the check
is a task that runs at the cut-off and fails.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bankgate.banks import BankConfig, Expectation
from bankgate.calendar import Due, due_on
from bankgate.notify import Alert, Notifier
from bankgate.plugins.bankgate_airflow.failing import fail_task

__all__ = ["arrivals", "check_arrivals", "raise_if_missed", "sla_day", "sla_note"]

log = logging.getLogger("bankgate.dags")


def arrivals(bank: BankConfig, since: datetime, until: datetime) -> dict[str, int]:
    """Files modified in ``[since, until)``: path -> mtime, from the pull ledger (pulled files
    may already be gone from the server) and the server (not pulled yet)."""
    from bankgate.plugins.bankgate_airflow import steps
    from bankgate.sftp.names import text

    _store, _prefix, ledger = steps._stores(bank)
    pulled = ledger.pulled_between(bank.name, since.timestamp(), until.timestamp())
    found = {r.path: r.mtime for r in pulled}
    with steps._session(bank) as session:
        for f in steps._select(session, bank).files:
            if since.timestamp() <= f.mtime < until.timestamp():
                found.setdefault(text(f.path), f.mtime)
    return found


def sla_day(bank: BankConfig, context: Mapping[str, Any]) -> tuple[date, tuple[Expectation, ...]]:
    """The day a run checks and the expectations it checks. The form's ``day`` (a past day)
    checks all of them; a run at one of the cut-offs (a scheduled run) checks those due then;
    any other run, the whole day of its logical date."""
    chosen = (context.get("params") or {}).get("day")
    if chosen:
        try:
            return date.fromisoformat(str(chosen)), bank.expectations
        except ValueError:
            fail_task(f"bank_sla__{bank.name} form: the day {chosen!r} is not YYYY-MM-DD.")
    from bankgate.plugins.bankgate_airflow.runs import aware

    moment = context.get("logical_date") or getattr(context.get("dag_run"), "run_after", None)
    local = aware(moment or datetime.now(UTC), "the run's logical date", ZoneInfo(bank.sla_timezone))
    at_cutoff = tuple(
        e for e in bank.expectations if (e.by.hour, e.by.minute, 0) == (local.hour, local.minute, local.second)
    )
    return local.date(), at_cutoff or bank.expectations


def check_arrivals(bank: BankConfig, context: Mapping[str, Any], notifier: Notifier | None = None) -> dict[str, Any]:
    """Check the day's expectations; when any is missed, alert and say so in ``missed``
    (``raise_if_missed`` then fails the run). Files that came after a cut-off are named with
    their times, since "late" is what an analyst asks about first."""
    day, expectations = sla_day(bank, context)
    now = datetime.now(UTC)
    due: list[Due] = []
    not_due: dict[str, str] = {}
    pending: dict[str, str] = {}  # due today, but its cut-off is still ahead (a manual run early)
    for expectation in expectations:
        found = due_on(expectation, bank.business_days, day, bank.schedule.fires_on)
        if isinstance(found, str):
            not_due[expectation.title or "any file"] = found
        elif found.deadline > now:
            pending[expectation.title or "any file"] = f"{found.deadline:%H:%M} {expectation.tz}"
        else:
            due.append(found)
    result: dict[str, Any] = {
        "bank": bank.name,
        "day": day.isoformat(),
        "checked": bool(due),
        "not_due": not_due,
        "pending": pending,
    }
    if not due:
        result["why"] = "; ".join(sorted(set(not_due.values()))) or ("" if pending else "no arrival SLA")
        log.info("%s: %s", bank.name, sla_note(result))
        return result
    seen = arrivals(
        bank, min(d.opens for d in due), min(max(d.until for d in due), max(now, *(d.deadline for d in due)))
    )
    checked = [_judge(d, seen, bank) for d in due]
    result |= {
        "deadline": max(d.deadline for d in due).isoformat(),
        "expectations": checked,
        "arrived": sorted({p for c in checked for p in c["arrived"]}),
        "late": dict(sorted({p: t for c in checked for p, t in c["late"].items()}.items())),
        "missed": "",
    }
    misses = [c for c in checked if c["missing"]]
    if not misses:
        log.info("%s: every expectation of %s met", bank.name, day)
        return result
    result["missed"] = f"bank {bank.name}: arrival SLA missed on {day}: " + ". ".join(_miss(c) for c in misses)
    summary = "; ".join(
        f"{c['files'] + ': ' if c['files'] else ''}{len(c['arrived'])} of {c['min_files']} file(s) arrived by {c['by']}"
        for c in misses
    )
    details = {
        "day": day.isoformat(),
        "deadline": result["deadline"],
        "arrived": result["arrived"],
        "late": result["late"],
    }
    alert = Alert("arrival_sla_missed", bank.name, f"{summary} on {day}", details | {"expectations": misses})
    result["alerted"] = (notifier or Notifier.from_env()).send(alert)
    return result


def _judge(due: Due, seen: Mapping[str, int], bank: BankConfig) -> dict[str, Any]:
    """One expectation's verdict: its matching files on time and late, with bank-local times."""
    from bankgate.sftp.selection import matches

    expectation, zone = due.expectation, due.expectation.zone
    sorted_out: dict[str, dict[str, str]] = {"on time": {}, "late": {}, "early": {}, "": {}}
    for path, mtime in sorted(seen.items()):
        if matches(_relative(path, bank), (expectation.pattern,)):
            sorted_out[due.verdict(mtime)][path] = datetime.fromtimestamp(mtime, zone).isoformat()
    on_time, late = sorted_out["on time"], sorted_out["late"]
    return {
        "files": expectation.title,
        "pattern": expectation.pattern,
        "min_files": expectation.min_files,
        "by": f"{due.deadline:%H:%M} {expectation.tz}",
        "deadline": due.deadline.isoformat(),
        "arrived": on_time,
        "late": late,
        "early": sorted_out["early"],
        "missing": max(0, expectation.min_files - len(on_time)),
    }


def _relative(path: str, bank: BankConfig) -> str:
    """A remote path below the bank's remote directory that holds it (as the include patterns see it)."""
    holders = [d for d in bank.remote_dirs if path.startswith(d.rstrip("/") + "/")]
    return path[len(max(holders, key=len).rstrip("/")) + 1 :] if holders else path.rsplit("/", 1)[-1]


def _miss(checked: Mapping[str, Any]) -> str:
    """``1 of 2 file(s) arrived by 09:00 UTC (/outbound/a.ach at 08:30); 1 missing; arrived late: ...``"""

    def at(files: Mapping[str, str], when: str = "%H:%M") -> str:
        return ", ".join(f"{p} at {datetime.fromisoformat(t).strftime(when)}" for p, t in files.items())

    head = f"{checked['files']}: " if checked["files"] else ""
    on_time = f" ({at(checked['arrived'])})" if checked["arrived"] else ""
    late = f"; arrived late: {at(checked['late'])}" if checked["late"] else ""
    early = f"; before the day (not counted): {at(checked['early'], '%a %d %H:%M')}" if checked["early"] else ""
    return (
        f"{head}{len(checked['arrived'])} of {checked['min_files']} file(s) arrived by {checked['by']}{on_time}; "
        f"{checked['missing']} missing{late}{early}"
    )


def raise_if_missed(result: Mapping[str, Any]) -> None:
    """Fail the SLA task (no retries: a retry cannot make files arrive before a past deadline)."""
    if result.get("missed"):
        fail_task(result["missed"])


def sla_note(result: Mapping[str, Any]) -> str:
    """The note of a ``bank_sla__<bank>`` run: the miss in one sentence, or that it was met,
    and the expectations of the day whose cut-off is still to come (a manual run, early)."""
    if result.get("missed"):
        return str(result["missed"])
    pending = ", ".join(f"{files} by {by}" for files, by in (result.get("pending") or {}).items())
    to_come = f" Still to come: {pending}." if pending else ""
    day = result.get("day", "that day")
    if not result.get("checked", True):
        if pending and not result.get("why"):
            return f"Nothing due yet on {day}: {pending} still to come."
        return f"No files expected on {day} ({result.get('why') or 'not a schedule day'}).{to_come}"
    checked = result.get("expectations") or []
    if len(checked) == 1 and not checked[0]["files"]:
        deadline = datetime.fromisoformat(result["deadline"])
        return f"SLA met on {day}: {len(result['arrived'])} file(s) by {deadline:%H:%M}.{to_come}"
    met = ", ".join(f"{c['files'] or 'any file'}: {len(c['arrived'])} by {c['by']}" for c in checked)
    return f"SLA met on {day}: {met}.{to_come}"
