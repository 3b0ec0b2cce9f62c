"""The bank DAGs' task bodies: plain functions of the bank config and small JSON dicts.

Everything that crosses a task boundary is a pointer (remote path, size, mtime, object key and
URL, SHA-256), never file bytes. What a run pulls and how is the transfer core's
(``bankgate.sftp``), the same functions ``pull_bank`` calls: ``selection.select_remote``,
``choice.screen`` and ``choice.ready``, and the per-file ``steps`` (the batch tasks in
``batches``, which says how one file goes through transfer, verify and post-pull).

Errors: a host key, credential or configuration problem fails the task at once, without
retries (``AirflowFailException``); a dropped connection is raised as is, so Airflow retries
with backoff; a file that changes while it is pulled is left for the next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bankgate.banks import BankConfig
from bankgate.config import ConfigError
from bankgate.notify import Alert, Notifier
from bankgate.plugins.bankgate_airflow.failing import fail_task
from bankgate.plugins.bankgate_airflow.runs import Plan, repull_plan, scheduled_plan

if TYPE_CHECKING:
    from bankgate.sftp import PullLedger, RemoteFile
    from bankgate.sftp.selection import Selection

log = logging.getLogger("bankgate.dags")


class PullRunFailed(RuntimeError):
    """Some selected files were not pulled; the message names each."""


#: A file's count of the ledger's compare-and-swap rounds lost to another writer over its steps
#: (``bankgate.lease.TALLY``, counted by ``batches``): the run's report sums them, so contention
#: between runs or workers shows in the UI without a metrics system.
CONFLICTS = "ledger_conflicts"


# -- plans -------------------------------------------------------------------------------------


def plan_from_context(bank: BankConfig, context: Mapping[str, Any]) -> dict[str, Any]:
    """The window of a ``bank_pull__<bank>`` run from its Airflow context."""
    dag_run = context.get("dag_run")
    params = context.get("params") or {}
    run_type = str(getattr(dag_run, "run_type", "") or "")
    plan = scheduled_plan(
        bank,
        data_interval_start=context.get("data_interval_start"),
        data_interval_end=context.get("data_interval_end"),
        logical_date=context.get("logical_date"),
        run_after=getattr(dag_run, "run_after", None),
        force=bool(params.get("force", False)),
        manual="scheduled" not in run_type.lower(),
    )
    log.info("plan: %s", plan.describe())
    return plan.to_xcom()


def plan_from_params(banks: Mapping[str, BankConfig], params: Mapping[str, Any]) -> dict[str, Any]:
    """The window of a ``bank_repull`` run from its form; a mistake in the form fails the task
    with one sentence (no retries, no traceback of a second error)."""
    name: Any = params.get("bank")  # the form's value, unchecked until the test below
    if name not in banks:
        fail_task(
            f"bank_repull form: pick a bank; {name!r} is not configured (configured: {', '.join(sorted(banks))})."
        )
    try:
        first, last = (date.fromisoformat(str(params[key])) for key in ("start_date", "end_date"))
    except KeyError as exc:
        problem = f"the {exc.args[0]} field is empty"
    except ValueError as exc:
        problem = f"a date is not YYYY-MM-DD ({exc})"
    else:
        problem = "" if first <= last else f"the last day ({last}) is before the first day ({first})"
    if problem:
        fail_task(f"bank_repull form: {problem}.")
    plan = repull_plan(banks[name], first, last, force=bool(params.get("force", True)))
    log.info("plan: %s", plan.describe())
    return plan.to_xcom()


# -- the transfer core, seen from a task ------------------------------------------------------------


@contextmanager
def _session(bank: BankConfig) -> Iterator[Any]:
    """An SFTP session for the bank's connection; refusals fail the task without retries."""
    from bankgate.plugins.bankgate_airflow.connection import get_settings
    from bankgate.sftp import AuthError, HostKeyError, connect

    try:
        settings = get_settings(bank.conn_id)
        session = connect(settings)
    except (ConfigError, HostKeyError, AuthError) as exc:
        fail_task(f"bank {bank.name}: {exc}")
    with session:
        yield session


def _stores(bank: BankConfig) -> tuple[Any, str, PullLedger]:
    """(destination store, key prefix, pull ledger), as the core's ``pull_bank`` lays them out."""
    from bankgate.sftp.layout import open_stores

    return open_stores(bank, bank.destination)


def _remote(item: Mapping[str, Any]) -> RemoteFile:
    from bankgate.sftp import RemoteFile

    return RemoteFile.from_json(item)


def _pointer(remote: RemoteFile, directory: str) -> dict[str, Any]:
    """What crosses a task boundary: text only (``RemoteFile.to_json``), never a name's raw bytes."""
    return {**remote.to_json(), "dir": directory}


def _select(session: Any, bank: BankConfig) -> Selection:
    """The bank's files as the core's ``pull_bank`` selects them: one selection function."""
    from bankgate.sftp.layout import staging_prefix
    from bankgate.sftp.selection import select_remote

    return select_remote(session.sftp, bank, key_prefix=staging_prefix(bank.destination))


# -- tasks ----------------------------------------------------------------------------------------


def list_files(bank: BankConfig, plan_raw: Mapping[str, Any]) -> dict[str, Any]:
    """Matching files modified in the plan's window (and their done markers), as the one
    selection (``selection.select_remote``) finds them. Files over the bank's size limit, and
    names that cannot be used safely (``refused``), are reported, not pulled."""
    from bankgate.sftp.choice import screen

    plan = Plan.from_xcom(plan_raw)
    with _session(bank) as session:
        chosen = _select(session, bank)
    directory_of = chosen.directory_of
    screened = screen(bank, chosen.files, since=plan.since.timestamp(), end=plan.end.timestamp())
    files = [_pointer(f, directory_of[f.path]) for f in screened.files]
    too_large = [_pointer(f, directory_of[f.path]) for f in screened.too_large]
    older, newer = len(screened.older), len(screened.newer)
    if older:
        log.warning(
            "%s: %d matching file(s) modified before %s are outside this run's window; if they were never "
            "pulled, pull them with bank_repull",
            bank.name,
            older,
            plan.since.isoformat(),
        )
    log.info("%s: %d candidate(s), %d too large, %d for later runs", plan.describe(), len(files), len(too_large), newer)
    return {
        "files": files,
        "markers": [_pointer(m, directory_of[m.path]) for m in chosen.markers],
        "too_large": too_large,
        "refused": chosen.refused,
        "older": older,
        "newer": newer,
    }


def select_files(bank: BankConfig, plan_raw: Mapping[str, Any], listing: Mapping[str, Any]) -> dict[str, Any]:
    """Of the candidates, those not pulled yet (all, when forced) and stable by the bank's rule.
    Stability observations are kept in the ledger between runs, as the core's ``pull_bank`` does."""
    from bankgate.sftp.choice import ready
    from bankgate.sftp.layout import partials_of, sweep_partials
    from bankgate.sftp.names import text

    plan = Plan.from_xcom(plan_raw)
    store, _prefix, ledger = _stores(bank)
    sweep_partials(store, partials_of(bank), time.time())
    candidates = [_remote(item) for item in listing["files"]]
    directory_of = {_remote(item).path: item["dir"] for item in listing["files"]}
    markers = [_remote(item) for item in listing["markers"]]
    with _session(bank) as session:

        def relist() -> list[RemoteFile]:
            return _select(session, bank).files

        verdict = ready(ledger, bank, candidates, markers, force=plan.force, now=time.time(), relist=relist)
    waiting = {text(path): why for path, why in verdict.waiting.items()}
    for path, reason in waiting.items():
        log.info("%s: waiting: %s (%s)", bank.name, path, reason)
    selected = []
    for f in verdict.ready:
        item = {**_pointer(f, directory_of[f.path]), "bank": bank.name, "force": plan.force}
        found = verdict.markers.get(f.path)
        item["marker"] = _pointer(found, directory_of[f.path]) if found else None
        selected.append(item)
    gone = gone_from_server(ledger, bank.name, plan, candidates + [_remote(i) for i in listing["too_large"]])
    done = len(verdict.already_pulled)
    late = overdue_markers(bank, candidates, waiting, time.time())
    log.info("%s: %d to pull, %d already pulled, %d waiting", bank.name, len(selected), done, len(waiting))
    return {"selected": selected, "already_pulled": done, "waiting": waiting, "gone": gone, "overdue": late}


def overdue_markers(
    bank: BankConfig, candidates: Sequence[RemoteFile], waiting: Mapping[str, str], now: float
) -> dict[str, str]:
    """Files waiting for their done marker longer than the bank's ``marker_overdue`` (counted
    from the file's mtime), path -> why. The run that sees one fails and alerts: a file whose
    marker never comes would otherwise show as one green run after another while it waits."""
    suffix = bank.done_marker
    if not suffix:
        return {}
    from bankgate.sftp.names import text

    limit = bank.marker_overdue_seconds
    found = {}
    for f in candidates:
        path = text(f.path)
        age = now - f.mtime
        if waiting.get(path, "").startswith(f"waiting for its {suffix} marker") and age > limit:
            since = datetime.fromtimestamp(f.mtime, UTC).isoformat(timespec="seconds")
            found[path] = (
                f"modified {since}, it has waited {_duration(age)} for its {suffix} marker "
                f"(marker_overdue is {_duration(limit)})"
            )
    return dict(sorted(found.items()))


def _duration(seconds: float) -> str:
    """``3 d 2 h``, ``5 h 10 min`` or ``40 min``: how long, as an analyst reads it."""
    minutes = int(seconds // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def gone_from_server(ledger: PullLedger, bank: str, plan: Plan, listed: Sequence[RemoteFile]) -> dict[str, str]:
    """For a re-pull (forced or from the form): files the ledger holds as pulled in the plan's
    window that are no longer on the server as pulled (moved or deleted by the post-pull
    action, or changed since), path -> where the pulled copy went. Nothing on the server can
    bring them back; their copies can be reprocessed from the archive."""
    if not plan.force:
        return {}
    from bankgate.sftp.names import text

    here = {(text(f.path), f.size, f.mtime) for f in listed}  # ledger records hold the text form
    pulled = ledger.pulled_between(bank, plan.since.timestamp(), plan.end.timestamp())
    gone = {r.path: r.url for r in pulled if (r.path, r.size, r.mtime) not in here}
    for path, url in sorted(gone.items()):
        log.warning("%s: %s was pulled to %s but is no longer on the server", bank, path, url)
    return dict(sorted(gone.items()))


def failure_summary(exc: BaseException) -> str:
    """One line for a report: the exception's own message, or its type when it has none."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def record(
    name: str,
    bank: BankConfig | None,
    plan_raw: Mapping[str, Any] | None,
    listing: Mapping[str, Any] | None,
    selection: Mapping[str, Any] | None,
    results: Sequence[Mapping[str, Any]],
    *,
    step_failed: Mapping[str, str] | None = None,
    notifier: Notifier | None = None,
) -> dict[str, Any]:
    """The run's report (the task's XCom, shown in the UI): pulled, waiting, skipped, too large
    (alerted), failed with the reason (a file with no result: its batch's task failed),
    post-pull errors, and any run-level step that failed before files were chosen (``plan``,
    ``list_files``, ``select_files``: then ``plan_raw``/``listing``/``selection`` are None and
    the report says which step failed and why). ``raise_if_failed`` then fails the run."""
    plan = Plan.from_xcom(plan_raw) if plan_raw else None
    report = _report(name, plan, listing or {}, selection or {}, results, step_failed or {})
    _log_report(report)
    _alert(report, bank, notifier)
    return report


def _report(
    name: str,
    plan: Plan | None,
    listing: Mapping[str, Any],
    selection: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    step_failed: Mapping[str, str],
) -> dict[str, Any]:
    """The report's fields, from the run-level steps' XComs and the per-file results."""
    selected = list(selection.get("selected") or [])
    pulled = [r for r in results if "key" in r and "failed" not in r]
    failed = {r["path"]: r["failed"] for r in results if "failed" in r}
    for path in sorted({s["path"] for s in selected} - {r["path"] for r in results}):
        failed[path] = "its batch's task failed; see that task's log"
    post_pull_errors = {r["path"]: r["post_pull"] for r in pulled if str(r.get("post_pull", "")).startswith("error:")}
    return {
        "bank": name,
        "window": [plan.since.isoformat(), plan.end.isoformat()] if plan else None,
        "force": plan.force if plan else None,
        "step_failed": dict(step_failed),
        "pulled": [{k: r[k] for k in ("path", "url", "size", "sha256", "post_pull")} for r in pulled],
        "bytes": sum(int(r["size"]) for r in pulled),
        "skipped": {r["path"]: r["skipped"] for r in results if "skipped" in r},
        "waiting": dict(selection.get("waiting") or {}),
        "already_pulled": int(selection.get("already_pulled") or 0),
        "gone_from_server": dict(selection.get("gone") or {}),
        "too_large": [f["path"] for f in listing.get("too_large") or []],
        "refused": dict(listing.get("refused") or {}),
        "failed": dict(sorted(failed.items())),
        "post_pull_errors": post_pull_errors,
        CONFLICTS: sum(int(r.get(CONFLICTS, 0)) for r in results),
        "found": len(listing.get("files") or []) + len(listing.get("too_large") or []),
        "marker_overdue": dict(selection.get("overdue") or {}),
        "nothing_found": _nothing_found(plan, listing, selection) if plan and listing else "",
    }


def _log_report(report: Mapping[str, Any]) -> None:
    log.info(
        "%s: %d pulled (%d bytes), %d already pulled, %d waiting, %d skipped, %d too large, %d failed%s",
        report["bank"],
        len(report["pulled"]),
        report["bytes"],
        report["already_pulled"],
        len(report["waiting"]),
        len(report["skipped"]),
        len(report["too_large"]),
        len(report["failed"]),
        "".join(f"; {step} failed: {why}" for step, why in report["step_failed"].items()),
    )
    if report["gone_from_server"]:
        log.warning(
            "%s: %d file(s) in this window were pulled before but are no longer on the server, so they "
            "cannot be pulled again: %s. Their pulled copies went to the staging keys named; reprocess "
            "them from the archive (bankgate process <archive URL>) instead.",
            report["bank"],
            len(report["gone_from_server"]),
            ", ".join(report["gone_from_server"]),
        )


def _alert(report: Mapping[str, Any], bank: BankConfig | None, notifier: Notifier | None) -> None:
    """Alert on files waiting too long for their marker, and on files over the size limit."""
    name = report["bank"]
    if report["marker_overdue"]:
        (notifier or Notifier.from_env()).send(
            Alert(
                "marker_overdue",
                name,
                f"{len(report['marker_overdue'])} file(s) waiting too long for their done marker",
                {"files": report["marker_overdue"]},
            )
        )
    if report["too_large"] and bank is not None:
        (notifier or Notifier.from_env()).send(
            Alert(
                "file_too_large",
                name,
                f"{len(report['too_large'])} file(s) over the {bank.max_file_size:,}-byte limit were not pulled",
                {"files": report["too_large"], "max_file_size": bank.max_file_size},
            )
        )


def _nothing_found(plan: Plan, listing: Mapping[str, Any], selection: Mapping[str, Any]) -> str:
    """Why a re-pull (the ``bank_repull`` form) that found no file of its days on the server
    fails: it was asked for those days' files, so finding none is not a success, whether the
    bank never sent any or the post-pull action already removed them ("" when it found some)."""
    if plan.reason != "repull" or listing.get("files") or listing.get("too_large"):
        return ""
    last = (plan.end - timedelta(days=1)).date()
    days = f"{plan.start.date()}" if last == plan.start.date() else f"{plan.start.date()} to {last}"
    message = f"the re-pull of {days} found no file on the server in those days"
    gone = dict(selection.get("gone") or {})
    if gone:
        message += (
            f"; {len(gone)} file(s) pulled before are no longer there ({', '.join(gone)}): "
            "reprocess their archived copies with bank_reprocess"
        )
    return message


def raise_if_failed(report: Mapping[str, Any]) -> None:
    """Fail the run when a step or a file failed or a post-pull action failed, a name was
    refused (the rest is pulled first), a file waits too long for its done marker, or a re-pull
    found nothing to pull; naming each."""
    problems = [f"{step} failed: {why}" for step, why in report["step_failed"].items()]
    if report.get("nothing_found"):
        problems.append(report["nothing_found"])
    problems += [f"{path}: {why}" for path, why in (report.get("marker_overdue") or {}).items()]
    problems += [f"{path}: not pulled: {why}" for path, why in report["failed"].items()]
    problems += [f"{path}: refused: {why}" for path, why in sorted((report.get("refused") or {}).items())]
    problems += [
        f"{path}: landed and recorded, but the post-pull action failed: {why}"
        for path, why in report["post_pull_errors"].items()
    ]
    if problems:
        raise PullRunFailed(f"bank {report['bank']}: " + "; ".join(problems))


__all__ = [
    "PullRunFailed",
    "list_files",
    "plan_from_context",
    "plan_from_params",
    "raise_if_failed",
    "record",
    "select_files",
]
