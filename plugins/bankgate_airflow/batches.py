"""The per-file part of a bank pull: transfer -> verify -> post_pull, run over batches of files.

Why batches and not one task instance per file: Airflow refuses to map a task over more than
``[core] max_map_length`` items (1,024 by default), and every task instance costs scheduling
time (seconds on Celery, a pod on Kubernetes), while a bank's backlog on its first day can be
thousands of small files. So the selected files are grouped (:func:`make_batches`): at most
``BATCH_FILES`` files or ``BATCH_BYTES`` per batch, never more than ``MAX_BATCHES`` batches, and
at least as many batches as the bank may pull at once, so a few large files still go in
parallel. Each step of a batch is one task instance with one SSH session.

Each step runs the core's per-file step (``bankgate.sftp.steps``, where the per-file
error policy lives) and only turns its typed result into the batch's XCom. A file's failure is
that file's, and the run fails at ``record``, while the rest of the batch goes on; a host key
or credential refusal fails the whole task without retries.

The steps (see ``bankgate.sftp.stages``): ``transfer`` claims each file and streams it
into a temporary key outside the watched prefix, hashing on the way; ``verify`` checks that copy
(size, SHA-256 read back) and only then puts it on its final staging key and records the pull;
``post_pull`` keeps, deletes or moves the remote file using the ``Landed`` rebuilt from that
ledger record, so nothing on the bank's server is touched for a pull that was not verified, even
after the processing pipeline has taken the staged object away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from bankgate import lease
from bankgate.banks import BankConfig
from bankgate.plugins.bankgate_airflow.failing import fail_task
from bankgate.plugins.bankgate_airflow.steps import CONFLICTS, _remote, _session, _stores

log = logging.getLogger("bankgate.dags")

BATCH_FILES = 100
BATCH_BYTES = 256 << 20
MAX_BATCHES = 500  # well under Airflow's default max_map_length (1,024)
_LABEL = 120


def _label(files: Sequence[Mapping[str, Any]]) -> str:
    names = ", ".join(f["path"].rsplit("/", 1)[-1] for f in files)
    text = f"{len(files)} file{'s' if len(files) != 1 else ''}: {names}"
    return text if len(text) <= _LABEL else text[: _LABEL - 3] + "..."


def make_batches(
    items: Sequence[Mapping[str, Any]],
    concurrency: int,
    *,
    max_files: int = BATCH_FILES,
    max_bytes: int = BATCH_BYTES,
    max_batches: int = MAX_BATCHES,
) -> list[dict[str, Any]]:
    """Group files in listing order: a batch closes at ``per_batch`` files or ``max_bytes``
    (a larger file goes alone), where ``per_batch`` spreads the files over at least
    ``concurrency`` batches and keeps the count under ``max_batches``."""
    if not items:
        return []
    count = len(items)
    per_batch = max(1, min(max_files, -(-count // max(1, concurrency))))
    per_batch = max(per_batch, -(-count // max_batches))
    groups: list[list[Mapping[str, Any]]] = [[]]
    size = 0
    for item in items:
        current = groups[-1]
        if current and (len(current) >= per_batch or size + int(item["size"]) > max_bytes):
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += int(item["size"])
    return [{"bank": g[0]["bank"], "label": _label(g), "files": [dict(f) for f in g]} for g in groups]


def _done(result: Mapping[str, Any]) -> bool:
    """A file that a previous step skipped or failed: later steps pass it on untouched."""
    return "skipped" in result or "failed" in result


def _failed(item: Mapping[str, Any], why: str) -> dict[str, Any]:
    from bankgate.sftp.names import text  # an error may quote a name that is not UTF-8

    return {"bank": item["bank"], "path": item["path"], "failed": text(why)}


def _skipped(item: Mapping[str, Any], why: str) -> dict[str, Any]:
    from bankgate.sftp.names import text

    return {"bank": item["bank"], "path": item["path"], "skipped": text(why)}


# -- transfer ------------------------------------------------------------------------------------


def transfer(bank: BankConfig, batch: Mapping[str, Any]) -> dict[str, Any]:
    """Claim each file and stream it into a temporary key (one SSH session for the batch).
    If the task itself fails, the files it had staged are released and their copies removed,
    so Airflow's retry (or the next run) starts them cleanly."""
    from bankgate.sftp.stages import Staged, discard

    store, prefix, ledger = _stores(bank)
    results: list[dict[str, Any]] = []
    try:
        with _session(bank) as session:
            for item in batch["files"]:
                results.append(_counting(_transfer_one, bank, session, store, prefix, ledger, item))
    except BaseException:
        for result in results:
            if "staged" in result:
                discard(store, Staged.from_xcom(result["staged"]))
                ledger.release(_claim(bank, result))
        raise
    return {**batch, "files": results}


def _transfer_one(bank: BankConfig, session: Any, store: Any, prefix: str, ledger: Any, item: Mapping[str, Any]):
    from bankgate.sftp import AuthError, HostKeyError, destination_key
    from bankgate.sftp.landing import META_BANK
    from bankgate.sftp.retry import RetryPolicy
    from bankgate.sftp.stages import stage_file
    from bankgate.sftp.steps import Claimed, claimed

    remote = _remote(item)
    key = destination_key(prefix, remote, item["dir"])

    def stage() -> Any:
        return stage_file(session, remote, store, key, metadata={META_BANK: bank.name}, retry=RetryPolicy.of(bank))

    try:
        held = claimed(ledger, bank, remote, stage, staged_url=store.url_of(key), force=bool(item.get("force")))
    except (HostKeyError, AuthError) as exc:
        fail_task(f"bank {bank.name}: {exc}")
    if not isinstance(held, Claimed):
        return _serialised(item, held)
    staged = held.value
    log.info("%s: %s streamed into %s (%d bytes)", bank.name, remote.text, staged.temp_key, staged.size)
    return {**item, "staged": staged.to_xcom(), "claim": {"key": held.claim.key, "etag": held.claim.etag}}


def _serialised(item: Mapping[str, Any], result: Any) -> dict[str, Any]:
    """A core step's ``Skipped`` or ``Failed`` as the batch's per-file XCom."""
    from bankgate.sftp.steps import Skipped

    return _skipped(item, result.reason) if isinstance(result, Skipped) else _failed(item, result.error)


def _claim(bank: BankConfig, result: Mapping[str, Any]) -> Any:
    from bankgate.sftp.ledger import Claim

    return Claim(bank.name, _remote(result), result["claim"]["key"], result["claim"]["etag"])


# -- verify --------------------------------------------------------------------------------------


def verify(bank: BankConfig, batch: Mapping[str, Any]) -> dict[str, Any]:
    """Verify each staged copy, put it on its final key and record the pull. A store error
    fails the task and Airflow retries it: files already verified are recognised from the ledger."""
    store, _prefix, ledger = _stores(bank)
    results = [dict(r) if _done(r) else _counting(_verify_one, bank, store, ledger, r) for r in batch["files"]]
    return {**batch, "files": results}


def _verify_one(bank: BankConfig, store: Any, ledger: Any, transferred: Mapping[str, Any]) -> dict[str, Any]:
    from bankgate.sftp.stages import Staged
    from bankgate.sftp.steps import Verified, verify_staged

    staged = Staged.from_xcom(transferred["staged"])
    done = verify_staged(store, ledger, bank, staged, _claim(bank, transferred), force=bool(transferred.get("force")))
    if not isinstance(done, Verified):
        return _serialised(transferred, done)
    return _verified(transferred, done.key, done.url, done.size, done.sha256, done.duplicate_of)


def _verified(
    item: Mapping[str, Any], key: str, url: str, size: int, sha256: str, duplicate_of: Mapping[str, Any] | None
) -> dict[str, Any]:
    names = ("path", "raw_path", "mtime", "dir", "marker", "bank", "force", CONFLICTS)
    keep = {k: item[k] for k in names if k in item}
    duplicate = (duplicate_of or {}).get("url")
    return {**keep, "size": size, "sha256": sha256, "key": key, "url": url, "duplicate_of": duplicate}


# -- post-pull -----------------------------------------------------------------------------------


def post_pull(bank: BankConfig, batch: Mapping[str, Any]) -> dict[str, Any]:
    """Keep, delete or move each verified file on the server (one SSH session for the batch,
    none when there is nothing to do there)."""
    from bankgate.banks import KEEP

    _store, _prefix, ledger = _stores(bank)
    remote_work = bank.post_pull != KEEP and any(not _done(r) for r in batch["files"])
    with _session(bank) if remote_work else nullcontext() as session:
        results = [dict(r) if _done(r) else _counting(_post_pull_one, bank, session, ledger, r) for r in batch["files"]]
    return {**batch, "files": results}


def _post_pull_one(bank: BankConfig, session: Any, ledger: Any, verified: Mapping[str, Any]) -> dict[str, Any]:
    from bankgate.sftp.steps import Failed, act_on_record

    marker = _remote(verified["marker"]) if verified.get("marker") else None
    outcome = act_on_record(session, bank, ledger, _remote(verified), verified["sha256"], marker)
    if isinstance(outcome, Failed):
        return _serialised(verified, outcome)
    return {**verified, "post_pull": outcome}


def _counting(step: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """One file's ``step`` (its last argument is the file), its result carrying the conflicts
    met so far. A task process runs one file's step at a time: the tally's growth is this file's."""
    before = lease.TALLY.conflicts
    result = step(*args)
    lost = lease.TALLY.conflicts - before
    return {**result, CONFLICTS: int(result.get(CONFLICTS, 0)) + lost} if lost else result


def file_results(batches: Iterable[Mapping[str, Any] | None]) -> list[dict[str, Any]]:
    """The per-file results of every batch that finished (a failed batch task has none)."""
    return [dict(f) for b in batches if isinstance(b, Mapping) for f in b.get("files", [])]


__all__ = [
    "BATCH_BYTES",
    "BATCH_FILES",
    "MAX_BATCHES",
    "file_results",
    "make_batches",
    "post_pull",
    "transfer",
    "verify",
]
