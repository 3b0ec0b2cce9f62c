"""One file's whole story, read back from the ledger: its origin's record (pulled or pushed),
its link, and its processing record, as a list of stages each with a time and, where one
exists, a SHA-256 of bytes read (a pushed file's declared one is a detail, shown beside the
received one at the end).

Three reads for a URL (link, origin record, processing record); a bare name is first found in
the day indexes (one GET per day searched).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from bankgate.ledger import index, links
from bankgate.ledger.processing import DONE, FAILED, QUARANTINED, REPORT_SUFFIX, Ledger, LedgerRecord
from bankgate.ledger.root import Root
from bankgate.store import open_url


@dataclass(frozen=True, slots=True)
class Stage:
    name: str  # pulled, pushed, staged, processing, processed, quarantined, failed
    at: float  # epoch seconds; 0 when not known
    sha256: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def when(self) -> str:
        return datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds") if self.at else "?"


@dataclass(frozen=True, slots=True)
class Journey:
    url: str  # the staged object's URL
    origin: links.Link | None
    stages: list[Stage]
    record: LedgerRecord | None = None  # the processing record the stages were read from

    @property
    def state(self) -> str:
        return self.stages[-1].name if self.stages else "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "state": self.state,
            "origin": self.origin.to_dict() if self.origin else None,
            "stages": [{**asdict(s), "time": s.when} for s in self.stages],
        }


def journey(root: Root, url: str, *, ledger: Ledger | None = None) -> Journey | None:
    """The story of the staged object ``url``, or None when the ledger knows nothing of it."""
    ledger = ledger or Ledger(root.store, root.prefix)
    link = links.read(root, url)
    found = ledger.get(url)
    record = found[0] if found else None
    if link is None and record is not None and record.origin:
        link = links.Link.from_dict(record.origin)
    if link is None and record is None:
        return None
    stages = _origin_stages(root, link) if link else []
    stages += _processing_stages(url, record, staged_sha256=next((s.sha256 for s in stages if s.sha256), ""))
    return Journey(url, link, stages, record)


def read_origin(root: Root, link: links.Link) -> dict[str, Any] | None:
    """The origin's own record the link names (a key below the root, or a URL)."""
    try:
        if "://" in link.record:
            store, key = open_url(link.record)
            raw = store.read_bytes(key)
        else:
            raw = root.store.read_bytes(root.key(link.record))
        data = json.loads(raw)
    except (KeyError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find(
    root: Root,
    name: str,
    *,
    owner: str | None = None,
    days: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Staged URLs of the files called ``name`` (their original name or the last part of their
    URL) in the indexes of ``owner`` (every owner when None) on ``days`` (all when None)."""
    places = [(o, d) for o in ([owner] if owner else index.owners(root)) for d in (days or index.days(root, o))]
    found = []
    for n, (who, day) in enumerate(places, 1):
        for url, entry in index.read(root, who, day).items():
            if name in (entry.name, url.rsplit("/", 1)[-1]):
                found.append(url)
        if progress:
            progress(n, len(places))
    return found


def _origin_stages(root: Root, link: links.Link) -> list[Stage]:
    record = read_origin(root, link)
    if record is None:
        return [Stage(f"{link.kind}ed", 0, detail={"owner": link.owner, "record": link.record, "missing": True})]
    if link.kind == "pull":
        detail = {k: record.get(k) for k in ("bank", "path", "size", "post_pull", "forced", "duplicate_of", "airflow")}
        detail["mtime"] = datetime.fromtimestamp(int(record.get("mtime", 0)), UTC).isoformat()
        detail["record"] = link.record
        return [Stage("pulled", float(record.get("pulled_at", 0)), str(record.get("sha256", "")), detail)]
    # A push record (client push writes it): its grant, then its upload when there was one. Its
    # SHA-256 is the client's word, not a digest of bytes anyone read: a detail, not the stage's.
    stages = [Stage("pushed", float(record.get("granted_at", 0) or 0), "", {**record, "record": link.record})]
    uploaded = next((h for h in record.get("history", ()) if h.get("state") == "uploaded"), None)
    if uploaded:  # bankgate.push.records: each move of the record, with its time
        declared = {"declared_sha256": record.get("sha256", ""), "declared_size": record.get("size")}
        stages.append(Stage("uploaded", float(uploaded.get("at", 0)), "", declared))
    return stages


def _checksum(record: LedgerRecord) -> dict[str, str]:
    """Declared vs received, for a pushed file whose client declared a SHA-256."""
    if not record.declared_sha256:
        return {}
    same = record.declared_sha256 == record.sha256
    return {
        "declared_sha256": record.declared_sha256,
        "checksum": "received bytes match the declared SHA-256"
        if same
        else "received bytes differ from the declared SHA-256",
    }


def _earlier_stages(attempt: dict[str, Any]) -> list[Stage]:
    """An earlier attempt the record replaced (``LedgerRecord.history``): its claim and outcome,
    with where its quarantine copy went when a reprocess retired it (``bankgate.reprocess``)."""
    n, state = attempt.get("attempts", 0), str(attempt.get("state", ""))
    claimed = {"attempts": n, "forced": bool(attempt.get("forced")), "earlier": True}
    detail: dict[str, Any] = {"attempts": n, "type": attempt.get("file_type", ""), "earlier": True}
    retired = attempt.get("retired_to") or {}
    if state == QUARANTINED:
        where = str(attempt.get("archived_to", ""))
        detail |= {"reason": attempt.get("reason", ""), "codes": attempt.get("codes", [])}
        detail["quarantined_to"] = retired.get("original", where)
        detail["report"] = retired.get("report", where + REPORT_SUFFIX if where else "")
        detail["retired"] = bool(retired)
    else:
        detail["archived_to"] = attempt.get("archived_to", "")
    name = "quarantined" if state == QUARANTINED else "processed"
    return [
        Stage("processing", float(attempt.get("claimed_at", 0)), detail=claimed),
        Stage(name, float(attempt.get("finished_at", 0)), str(attempt.get("sha256", "")), detail),
    ]


def _processing_stages(url: str, record: LedgerRecord | None, *, staged_sha256: str) -> list[Stage]:
    if record is None:
        return [Stage("staged", 0, staged_sha256, {"url": url, "processed": False})]
    staged_at = record.modified_ns / 1e9 if record.modified_ns else 0
    stages = [
        Stage("staged", staged_at, staged_sha256, {"url": url, "version": record.version, "etag": record.etag}),
        *(stage for earlier in record.history for stage in _earlier_stages(earlier)),
        Stage(
            "processing",
            record.claimed_at,
            detail={
                "attempts": record.attempts,
                "failures": record.failures,
                "last_failure": record.last_failure,
                "forced": record.forced,
            },
        ),
    ]
    warnings = Counter(str(p.get("code", "")) for p in record.problems if p.get("severity") != "error")
    if record.state == DONE:
        detail = {
            "type": record.file_type,
            "size": record.size,
            "counts": record.counts,
            "totals": record.totals,
            "warnings": dict(warnings),
            "members": sorted({str(o.get("member", "")) for o in record.outputs}),
            "outputs": record.outputs,
            "archived_to": record.archived_to,
            **_checksum(record),
        }
        stages.append(Stage("processed", record.finished_at, record.sha256, detail))
    elif record.state == QUARANTINED:
        detail = {
            "type": record.file_type,
            "size": record.size,
            "reason": record.reason,
            "problems": record.problems,
            "quarantined_to": record.archived_to,
            "report": record.archived_to + REPORT_SUFFIX if record.archived_to else "",
            **_checksum(record),
        }
        stages.append(Stage("quarantined", record.finished_at, record.sha256, detail))
    elif record.state == FAILED:
        stages.append(Stage("failed", record.finished_at, detail={"reason": record.reason}))
    return stages


__all__ = ["Journey", "Stage", "find", "journey", "read_origin"]
