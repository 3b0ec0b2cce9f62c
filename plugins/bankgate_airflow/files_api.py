"""The Files view's one door to the ledger: ``list_day(owner, day, state=None)`` and
``journey(url)``. Everything the plugin's API, its page and the ``bank_reprocess`` DAG know
about files comes through these functions.

A day's listing reads the ledger's per-owner day index (``bankgate.ledger.index``): one GET per
day, whatever the number of files; the pull writes each file's entry when it is staged and the
processing moves it on. ``journey`` still joins the pull record (one LIST per day around the
file's) with the processing record. The ledger root is the deployment's one
(``bankgate.config.ledger_root_url``), read on each call with the bank config, so the
api-server needs no restart when they change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from bankgate.banks import BankConfig, load_banks
from bankgate.config import PipelineConfig, ledger_root_url
from bankgate.ledger import Ledger, LedgerRecord, Root, index, open_root
from bankgate.store import open_url

#: Staged-object metadata naming the Airflow run and task that pulled it (see ``batches``).
META_AIRFLOW_RUN = "bankgate-airflow-run"
#: A pulled file the processing ledger has no record of yet: it waits in staging.
PENDING = "pending"
STATES = (PENDING, "processing", "done", "quarantined", "failed", "handed_off")
REPORT_SUFFIX = ".error.json"

__all__ = ["META_AIRFLOW_RUN", "STATES", "banks", "journey", "list_day"]


def banks() -> dict[str, BankConfig]:
    """The configured banks (the owners whose days can be listed)."""
    from plugins.bankgate_airflow.factory import default_banks_path

    return load_banks(default_banks_path())


def _bank(owner: str) -> BankConfig:
    known = banks()
    if owner not in known:
        raise LookupError(f"no bank {owner!r} (configured: {', '.join(sorted(known))})")
    return known[owner]


def _processing() -> Ledger:
    config = PipelineConfig.from_env()
    store, prefix = open_url(config.ledger)
    return Ledger(store, prefix)


def _pulled(bank: BankConfig, first: date, last: date) -> list[Any]:
    """Pull records of files whose remote mtime falls in the bank-local days ``first..last``."""
    from bankgate.sftp.layout import open_stores

    _store, _prefix, ledger = open_stores(bank, bank.destination)
    since = datetime.combine(first, time(0), tzinfo=bank.tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=bank.tz)
    return ledger.pulled_between(bank.name, since.timestamp(), end.timestamp())


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds") if seconds else ""


def _row(bank: str, pulled: Any, record: LedgerRecord | None) -> dict[str, Any]:
    """One file, as the Files view shows it, from its pull and processing records (``journey``)."""
    entry = index.Entry(pulled.url, pulled.path.rsplit("/", 1)[-1], "pull", size=pulled.size, sha256=pulled.sha256)
    entry.path, entry.mtime, entry.staged_at = pulled.path, pulled.mtime, pulled.pulled_at
    if record is not None:
        entry.state, entry.type, entry.records = record.state, record.file_type, sum(record.counts.values())
        entry.totals, entry.reason, entry.archived_to = dict(record.totals), record.reason, record.archived_to
        entry.reason = entry.reason or record.last_failure
    return _entry_row(bank, entry)


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
    return next((b for b in known.values() if b.destination and url.startswith(b.destination)), None)


def _pull_record(bank: BankConfig, url: str) -> Any:
    """The pull record of the file staged at ``url``: its key names its mtime's UTC date
    (``<destination><date>/<name>``), so one day's LIST (with a day either side for the bank's
    zone) finds it."""
    rest = url[len(bank.destination) :]
    try:
        day = date.fromisoformat(rest.split("/", 1)[0])
    except ValueError:
        return None
    return next((p for p in _pulled(bank, day - timedelta(days=1), day + timedelta(days=1)) if p.url == url), None)


def _metadata(url: str) -> dict[str, str]:
    """The archived or quarantined copy's metadata ({} when it cannot be read)."""
    config = PipelineConfig.from_env()
    for prefix_url in (config.archive, config.quarantine):
        store, _prefix = open_url(prefix_url)
        base = store.url_of("")
        if url.startswith(base):
            info = store.info(url[len(base) :])
            return dict(info.metadata) if info is not None else {}
    return {}


def journey(url: str) -> dict[str, Any]:
    """One file's story, oldest first: pulled (bank, remote path, size, mtime, SHA-256, the
    Airflow run and task), staged, then processed (type, records, totals, outputs, archived) or
    quarantined (reason, problems, the original and its ``.error.json``). Raises LookupError
    when neither ledger knows ``url``."""
    known = banks()
    bank = _owner_of(url, known)
    pulled = _pull_record(bank, url) if bank else None
    found = _processing().get(url)
    record = found[0] if found else None
    if pulled is None and record is None:
        raise LookupError(f"no ledger knows {url}")
    stages: list[dict[str, Any]] = []
    if pulled is not None:
        stages.append(
            {
                "stage": "pulled",
                "at": _iso(pulled.pulled_at),
                "detail": f"from bank {pulled.bank}: {pulled.path} ({pulled.size:,} bytes, modified "
                f"{_iso(pulled.mtime)}){', forced re-pull' if pulled.forced else ''}",
                "sha256": pulled.sha256,
                "links": {},
            }
        )
        stages.append({"stage": "staged", "at": _iso(pulled.pulled_at), "detail": url, "links": {"staged": url}})
    run: dict[str, str] = {}
    if record is not None:
        stages.append(
            {
                "stage": "processing",
                "at": _iso(record.claimed_at),
                "detail": f"attempt {record.attempts}"
                + (f" (after: {record.last_failure})" if record.last_failure else ""),
                "links": {},
            }
        )
        if record.state in ("done", "quarantined", "failed"):
            counts = ", ".join(f"{n} {kind}" for kind, n in sorted(record.counts.items()))
            links = {f"output {i + 1}": o.get("url", "") for i, o in enumerate(record.outputs)}
            if record.archived_to:
                links["archived" if record.state == "done" else "quarantined"] = record.archived_to
            if record.state == "quarantined":
                links[".error.json"] = record.archived_to + REPORT_SUFFIX
            detail = {
                "done": f"{record.file_type or 'file'}: {counts or 'no records'}",
                "quarantined": record.reason,
                "failed": record.reason or record.last_failure,
            }[record.state]
            stages.append(
                {
                    "stage": {"done": "processed", "quarantined": "quarantined", "failed": "failed"}[record.state],
                    "at": _iso(record.finished_at),
                    "detail": detail,
                    "sha256": record.sha256,
                    "links": links,
                }
            )
        if record.archived_to:
            run = _run_of(_metadata(record.archived_to).get(META_AIRFLOW_RUN, ""))
    rows = _row(bank.name if bank else "", pulled, record) if pulled is not None else None
    return {
        "url": url,
        "owner": bank.name if bank else "",
        "state": record.state if record else PENDING,
        "file": rows,
        "type": record.file_type if record else "",
        "counts": dict(record.counts) if record else {},
        "totals": dict(record.totals) if record else {},
        "reason": record.reason if record else "",
        "problems": list(record.problems[:50]) if record else [],
        "pulled_by": run,
        "stages": stages,
    }


def _run_of(value: str) -> dict[str, str]:
    """``dag_id/run_id/task_id/map_index`` (the pull's metadata) as its parts and UI path."""
    parts = value.split("/")
    if len(parts) != 4:
        return {}
    dag_id, run_id, task_id, map_index = parts
    path = f"dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}"
    path += f"/mapped/{map_index}" if map_index != "-1" else ""
    return {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index, "ui_path": path}
