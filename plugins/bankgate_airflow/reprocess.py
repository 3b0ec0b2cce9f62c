"""The ``bank_reprocess`` DAG's task bodies: pick files, put each original back, process it again.

Selection (the trigger form, or the Files view which fills the same form): staged URLs, one or
many; or a bank, a first and last bank-local day and a state (default ``quarantined``), listed
through ``files_api``. Each file's original is where its processing ledger record says
(``archived_to``: the archive, or quarantine), so a file the bank's server deleted or moved
after the pull is reprocessed from there and no re-pull is needed.

Reprocessing one file is the core's ``bankgate.reprocess.reprocess_one``: the original back in
staging under its original key, processed with a forced claim that never takes a live lease
(so the S3 event for the restaged copy and this run process it exactly once between them),
and a quarantine copy retired to the quarantine's history once the new outcome is processed.

A run that leaves any file quarantined or failed fails, naming each with its reason: a
reprocess whose file is quarantined again is not a success.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bankgate.plugins.bankgate_airflow.failing import fail_task

log = logging.getLogger("bankgate.dags")

STATE_CHOICES = ("quarantined", "failed", "done", "pending", "any")
#: Outcomes that fail the run: the file did not end processed.
BAD = ("quarantined", "failed", "missing", "skipped")


class ReprocessFailed(RuntimeError):
    """Some files did not end processed; the message names each and why."""


def select(banks: Sequence[str], params: Mapping[str, Any]) -> dict[str, Any]:
    """The files a run reprocesses, from its form: URLs win; else bank + days + state. A form
    mistake fails the task in one sentence (no retries)."""
    from bankgate.plugins.bankgate_airflow import files_api

    urls = [str(u).strip() for u in params.get("urls") or [] if str(u).strip()]
    if urls:
        return {"urls": list(dict.fromkeys(urls)), "by": "urls"}
    bank = str(params.get("bank") or "")
    if not bank:
        fail_task("bank_reprocess form: give the files' URLs, or pick a bank and days.")
    if bank not in banks:
        fail_task(f"bank_reprocess form: {bank!r} is not configured (configured: {', '.join(sorted(banks))}).")
    try:
        first = date.fromisoformat(str(params.get("start_date") or ""))
        last = date.fromisoformat(str(params.get("end_date") or params.get("start_date") or ""))
    except ValueError:
        fail_task("bank_reprocess form: with a bank, give the first day (and last day) as YYYY-MM-DD.")
    if last < first:
        fail_task(f"bank_reprocess form: the last day ({last}) is before the first day ({first}).")
    state = str(params.get("state") or "quarantined")
    if state not in STATE_CHOICES:
        fail_task(f"bank_reprocess form: state {state!r} is not one of {', '.join(STATE_CHOICES)}.")
    rows = files_api.list_days(bank, first, last, None if state == "any" else state)
    log.info("bank %s, %s to %s, state %s: %d file(s)", bank, first, last, state, len(rows))
    return {"urls": [r["url"] for r in rows], "by": "days", "bank": bank, "days": [str(first), str(last)]}


def reprocess(urls: Sequence[str]) -> list[dict[str, Any]]:
    """Each file in turn through one pipeline; a file's infrastructure error is its result
    (``failed``), not the end of the others."""
    from bankgate.config import PipelineConfig
    from bankgate.pipeline import Pipeline
    from bankgate.reprocess import reprocess_one

    pipeline = Pipeline(PipelineConfig.from_env())
    results = []
    for url in urls:
        try:
            results.append(reprocess_one(pipeline, url))
        except Exception as exc:  # the store is down, a verification failed: this file only
            log.exception("%s: reprocessing failed", url)
            results.append({"url": url, "name": url.rsplit("/", 1)[-1], "status": "failed", "reason": str(exc)})
    return results


def report(
    selection: Mapping[str, Any] | None,
    results: Sequence[Mapping[str, Any]] | None,
    *,
    step_failed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The run's report: per file what happened, counted by outcome, and any step that failed
    before files had results (``select``, ``reprocess_files``: which and why)."""
    results = list(results or [])
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {
        "selection": dict(selection or {}),
        "files": results,
        "counts": counts,
        "step_failed": dict(step_failed or {}),
    }


def raise_if_failed(summary: Mapping[str, Any]) -> None:
    """Fail the run when a step failed, nothing matched, or a file did not end processed."""
    bad = [f"{step} failed: {why}" for step, why in summary["step_failed"].items()]
    bad += [f"{r['url']}: {r['status']}: {r.get('reason') or '-'}" for r in summary["files"] if r["status"] in BAD]
    if not bad and not summary["files"]:
        bad.append("no file matched the selection")
    if bad:
        raise ReprocessFailed("; ".join(bad))


def note(conf: Mapping[str, Any], summary: Mapping[str, Any] | None) -> str:
    """A ``bank_reprocess`` run's note: what was asked; once it ends, what became of the files."""
    urls = [u for u in conf.get("urls") or [] if u]
    if urls:
        names = ", ".join(str(u).rsplit("/", 1)[-1] for u in urls[:5]) + (", ..." if len(urls) > 5 else "")
        asked = f"Reprocess of {len(urls)} file(s): {names}"
    else:
        first, last = conf.get("start_date") or "?", conf.get("end_date") or conf.get("start_date") or "?"
        days = str(first) if first == last else f"{first} to {last}"
        asked = f"Reprocess of bank {conf.get('bank') or '?'}, {days}, {conf.get('state') or 'quarantined'} files"
    if not summary:
        return asked
    failed = summary.get("step_failed") or {}
    if failed:
        return f"{asked}\n" + "; ".join(f"{step} failed: {why}" for step, why in failed.items()) + "."
    counts = summary.get("counts") or {}
    if not counts:
        return f"{asked}\nNo file matched."
    done = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    why = "; ".join(f"{r['name']}: {r.get('reason')}" for r in summary.get("files", []) if r["status"] in BAD)
    return f"{asked}\n{done}{f' ({why})' if why else ''}."
