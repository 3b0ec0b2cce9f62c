"""The Files view's one door to the ledger: ``list_day(owner, day, state=None)`` and
``journey(url)``. Everything the plugin's API, its page and the ``bank_reprocess`` DAG know
about files comes through these functions.

A day's listing reads the ledger's per-owner day index (``bankgate.ledger.index``): one GET per
day, or for a day of thousands of files a GET, a LIST and its shards; the pull writes each
file's entry when it is staged and the processing moves it on. ``journey`` is the core's
``bankgate.ledger.journey`` (link, origin record, processing record: three GETs) plus the
file's day-index entry, shaped for the page. The ledger root is the deployment's one
(``bankgate.config.ledger_root_url``), read on each call with the bank config, so the
api-server needs no restart when they change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args
from urllib.parse import quote

from bankgate.banks import BankConfig, load_banks
from bankgate.config import ledger_root_url
from bankgate.ledger import LedgerRecord, Root, index, open_root
from bankgate.ledger.journey import Stage
from bankgate.ledger.journey import journey as ledger_journey
from bankgate.pipeline import REPORT_SUFFIX

#: A pulled file the processing ledger has no record of yet: it waits in staging.
PENDING = "pending"
#: The states a listing filters by: the index's, with "staged" shown as pending.
STATES = (PENDING, *(state for state in get_args(index.State) if state != "staged"))

__all__ = ["STATES", "banks", "journey", "list_day"]


def banks() -> dict[str, BankConfig]:
    """The configured banks (the owners whose days can be listed)."""
    from bankgate.plugins.bankgate_airflow.factory import default_banks_path

    return load_banks(default_banks_path())


def _bank(owner: str) -> BankConfig:
    known = banks()
    if owner not in known:
        raise LookupError(f"no bank {owner!r} (configured: {', '.join(sorted(known))})")
    return known[owner]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds") if seconds else ""


def _entry_row(owner: str, entry: index.Entry) -> dict[str, Any]:
    """One file of a day, as the Files view shows it, from its day-index entry."""
    state = PENDING if entry.state == "staged" else entry.state
    return {
        "owner": owner,
        "name": entry.name or entry.url.rsplit("/", 1)[-1],
        "url": entry.url,
        "remote_path": entry.path,
        "size": entry.size,
        "sha256": entry.sha256,
        "modified": _iso(entry.mtime),
        "pulled_at": _iso(entry.staged_at),
        "state": state,
        "updated": _iso(entry.at),  # when it reached that state
        "type": entry.type,
        "records": entry.records,
        "totals": dict(entry.totals),
        "reason": entry.reason,
        "original": entry.archived_to,
        "error_json": entry.archived_to + REPORT_SUFFIX if state == "quarantined" and entry.archived_to else "",
    }


def _root() -> Root:
    url = ledger_root_url()
    if not url:
        raise LookupError("no ledger: set BANKGATE_LEDGER or BANKGATE_CONFIG for the api-server and workers")
    return open_root(url)


def list_days(owner: str, first: date, last: date, state: str | None = None) -> list[dict[str, Any]]:
    """Every file of ``owner``'s days ``first..last`` (the bank's days, by remote mtime in its
    zone), newest first; only those in ``state`` when given. One index GET per day."""
    if state is not None and state not in STATES:
        raise ValueError(f"state {state!r} is not one of {', '.join(STATES)}")
    bank = _bank(owner)
    root = _root()
    rows = []
    for n in range((last - first).days + 1):
        for entry in index.read(root, bank.name, (first + timedelta(days=n)).isoformat()).values():
            row = _entry_row(bank.name, entry)
            if state is None or row["state"] == state:
                rows.append(row)
    return sorted(rows, key=lambda r: (r["modified"], r["name"]), reverse=True)


def list_day(owner: str, day: date | str, state: str | None = None) -> list[dict[str, Any]]:
    """Every file of one of ``owner``'s bank-local days (see ``list_days``)."""
    chosen = day if isinstance(day, date) else date.fromisoformat(day)
    return list_days(owner, chosen, chosen, state)


def _owner_of(url: str, known: Mapping[str, BankConfig]) -> BankConfig | None:
    """The bank whose staging destination holds ``url``: access to a file follows where it lies
    (its bank's DAG permissions guard it, ``files_app``), whatever its ledger records say."""
    return next((b for b in known.values() if b.destination and url.startswith(b.destination)), None)


def journey(url: str) -> dict[str, Any]:
    """One file's story, oldest first, as the Files view shows it: the core's
    ``bankgate.ledger.journey`` (pulled, staged, processing, then processed, quarantined or
    failed), each stage with a one-line detail and its links, the processing record's outcome,
    the file's day-index row, and the Airflow task that pulled it (from the pull record).
    Raises LookupError when the ledger knows nothing of ``url``."""
    root = _root()
    story = ledger_journey(root, url)
    if story is None:
        raise LookupError(f"no ledger knows {url}")
    bank = _owner_of(url, banks())
    record = story.record
    origin = next((s for s in story.stages if s.name in ("pulled", "pushed")), None)
    entry = index.read(root, story.origin.owner, story.origin.day).get(url) if story.origin else None
    return {
        "url": url,
        "owner": bank.name if bank else "",
        "state": record.state if record else PENDING,
        "file": _entry_row(story.origin.owner, entry) if story.origin and entry else None,
        "type": record.file_type if record else "",
        "counts": dict(record.counts) if record else {},
        "totals": dict(record.totals) if record else {},
        "reason": record.reason if record else "",
        "problems": list(record.problems[:50]) if record else [],
        "pulled_by": _run_of(origin.detail.get("airflow") or {}) if origin and origin.name == "pulled" else {},
        "stages": [_stage(url, stage, record) for stage in story.stages],
    }


def _stage(url: str, stage: Stage, record: LedgerRecord | None) -> dict[str, Any]:
    """One stage of the core's journey as a timeline item: a line of text and its links."""
    d = stage.detail
    links: dict[str, str] = {}
    if d.get("missing"):
        detail = f"its {stage.name[:-2]} record {d.get('record')} is missing"
    elif stage.name == "pulled":
        detail = (
            f"from bank {d.get('bank')}: {d.get('path')} ({int(d.get('size') or 0):,} bytes, modified "
            f"{d.get('mtime')}){', forced re-pull' if d.get('forced') else ''}"
        )
    elif stage.name == "pushed":
        detail = f"by client {d.get('client')}: {d.get('name')} ({int(d.get('size') or 0):,} bytes)"
    elif stage.name == "staged":
        detail, links = "", {"staged": url}  # the URL once, as its link
    elif stage.name == "processing":
        after = d.get("last_failure")
        detail = f"attempt {d.get('attempts')}" + (", a reprocess" if d.get("forced") else "")
        detail += f" (after: {after})" if after else ""
    elif d.get("earlier") or stage.name == "quarantined":
        detail, links = _outcome(stage)
    elif stage.name == "processed":
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(d.get("counts", {}).items()))
        detail = f"{d.get('type') or 'file'}: {counts or 'no records'}"
        links = {f"output {i + 1}": o.get("url", "") for i, o in enumerate(d.get("outputs", ()))}
        if d.get("archived_to"):
            links["archived"] = d["archived_to"]
    elif stage.name == "failed":
        detail = d.get("reason") or (record.last_failure if record else "")
    else:  # uploaded: what the client declared (the received digest is the outcome's)
        detail = f"declared SHA-256 {d['declared_sha256']}" if d.get("declared_sha256") else ""
    return {"stage": stage.name, "at": _iso(stage.at), "detail": detail, "sha256": stage.sha256, "links": links}


def _outcome(stage: Stage) -> tuple[str, dict[str, str]]:
    """A quarantine, or an earlier attempt's outcome a reprocess replaced, as text and links."""
    d = stage.detail
    if stage.name == "processing":
        return f"attempt {d.get('attempts')}" + (", a reprocess" if d.get("forced") else ""), {}
    if stage.name == "processed":
        links = {"archived": d["archived_to"]} if d.get("archived_to") else {}
        return f"attempt {d.get('attempts')}: {d.get('type') or 'file'}, processed again since", links
    detail = d.get("reason", "")
    if d.get("earlier"):
        detail = f"attempt {d.get('attempts')}: {detail}"
        detail += " (its copy and report moved to the quarantine's history)" if d.get("retired") else ""
    links = {"quarantined": d["quarantined_to"], ".error.json": d["report"]} if d.get("quarantined_to") else {}
    return detail, links


#: The pull DAG's ``verify`` task writes the pull record (so its ``airflow`` names it); the bytes
#: were streamed by ``transfer`` of the same mapped group and run (``factory.pull_files``).
_STREAMED_BY = {"pull_files.verify": "pull_files.transfer"}


def _run_of(task: Mapping[str, str]) -> dict[str, str]:
    """The task that pulled the file, from the pull record's ``airflow`` (dag_id, run_id,
    task_id), with its path in the Airflow UI (the task's mapped instances: the record does not
    keep its map index)."""
    if not all(task.get(k) for k in ("dag_id", "run_id", "task_id")):
        return {}
    dag_id, run_id = task["dag_id"], task["run_id"]
    task_id = _STREAMED_BY.get(task["task_id"], task["task_id"])
    path = f"dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}"
    return {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "ui_path": path}
