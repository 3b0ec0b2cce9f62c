"""The per-file part of a bank pull: transfer -> verify -> post_pull, run over batches of files.

Why batches and not one task instance per file: Airflow refuses to map a task over more than
``[core] max_map_length`` items (1,024 by default), and every task instance costs scheduling
time (seconds on Celery, a pod on Kubernetes), while a bank's backlog on its first day can be
thousands of small files. So the selected files are grouped (:func:`make_batches`): at most
``BATCH_FILES`` files or ``BATCH_BYTES`` per batch, never more than ``MAX_BATCHES`` batches, and
at least as many batches as the bank may pull at once, so a few large files still go in
parallel. Each step of a batch is one task instance with one SSH session.

A file's failure is that file's: it is released in the pull ledger, reported with its reason,
and the run fails at ``record``, while the rest of the batch goes on. Only what no file can
get past (a host key, a credential, the configuration) fails the whole task.

The steps (see ``plugins.bankgate_sftp.stages``): ``transfer`` claims each file and streams it
into a temporary key outside the watched prefix, hashing on the way; ``verify`` checks that copy
(size, SHA-256 read back) and only then puts it on its final staging key and records the pull;
``post_pull`` keeps, deletes or moves the remote file using the ``Landed`` rebuilt from that
ledger record, so nothing on the bank's server is touched for a pull that was not verified, even
after the processing pipeline has taken the staged object away.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from bankgate.banks import BankConfig
from plugins.bankgate_airflow.steps import _fail, _remote, _session, _stores

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
    from plugins.bankgate_sftp.names import text  # an error may quote a name that is not UTF-8

    return {"bank": item["bank"], "path": item["path"], "failed": text(why)}


def _skipped(item: Mapping[str, Any], why: str) -> dict[str, Any]:
    from plugins.bankgate_sftp.names import text

    return {"bank": item["bank"], "path": item["path"], "skipped": text(why)}


# -- transfer ------------------------------------------------------------------------------------


def transfer(bank: BankConfig, batch: Mapping[str, Any]) -> dict[str, Any]:
    """Claim each file and stream it into a temporary key (one SSH session for the batch).
    If the task itself fails, the files it had staged are released and their copies removed,
    so Airflow's retry (or the next run) starts them cleanly."""
    from plugins.bankgate_sftp.stages import Staged, discard

    store, prefix, ledger = _stores(bank)
    results: list[dict[str, Any]] = []
    try:
        with _session(bank) as session:
            for item in batch["files"]:
                results.append(_transfer_one(bank, session, store, prefix, ledger, item))
    except BaseException:
        for result in results:
            if "staged" in result:
                discard(store, Staged.from_xcom(result["staged"]))
                ledger.release(_claim(bank, result))
        raise
    return {**batch, "files": results}


def _transfer_one(bank: BankConfig, session: Any, store: Any, prefix: str, ledger: Any, item: Mapping[str, Any]):
    from plugins.bankgate_sftp import AuthError, HostKeyError, RemoteChanged, destination_key
    from plugins.bankgate_sftp.errors import is_retryable
    from plugins.bankgate_sftp.stages import stage_file
    from plugins.bankgate_sftp.transfer import META_BANK

    remote = _remote(item)
    claim = ledger.claim(bank.name, remote, force=bool(item.get("force")))
    if claim.claim is None:
        log.info("%s: %s not pulled: %s", bank.name, remote.text, claim.reason)
        return _skipped(item, claim.reason)
    try:
        staged = stage_file(
            session,
            remote,
            store,
            destination_key(prefix, remote, item["dir"]),
            metadata={META_BANK: bank.name},
            retries=bank.retries,
            backoff=bank.backoff,
            partial_prefix=f"{bank.partial_prefix}{bank.name}/",
        )
    except RemoteChanged as exc:
        ledger.release(claim.claim)
        log.warning("%s: %s changed while pulled; left for the next run (%s)", bank.name, remote.text, exc)
        return _skipped(item, f"changed while being pulled: {exc}")
    except (HostKeyError, AuthError) as exc:
        ledger.release(claim.claim)
        _fail(f"bank {bank.name}: {exc}")
    except Exception as exc:
        ledger.release(claim.claim)
        if not is_retryable(exc, transport_alive=session.alive) and not isinstance(exc, OSError):
            raise  # not a transfer error (a bug, a store outage): fail the task, Airflow retries it
        why = f"{type(exc).__name__}: {exc}"
        log.error("%s: pulling %s failed: %s; the next run tries again", bank.name, remote.text, why)
        return _failed(item, why)
    except BaseException:
        ledger.release(claim.claim)
        raise
    log.info("%s: %s streamed into %s (%d bytes)", bank.name, remote.text, staged.temp_key, staged.size)
    return {**item, "staged": staged.to_xcom(), "claim": {"key": claim.claim.key, "etag": claim.claim.etag}}


def _claim(bank: BankConfig, result: Mapping[str, Any]) -> Any:
    from plugins.bankgate_sftp.ledger import Claim

    return Claim(bank.name, _remote(result), result["claim"]["key"], result["claim"]["etag"])


# -- verify --------------------------------------------------------------------------------------


def verify(bank: BankConfig, batch: Mapping[str, Any]) -> dict[str, Any]:
    """Verify each staged copy, put it on its final key and record the pull. A store error
    fails the task and Airflow retries it: files already verified are recognised from the ledger."""
    store, _prefix, ledger = _stores(bank)
    results = [dict(r) if _done(r) else _verify_one(bank, store, ledger, r) for r in batch["files"]]
    return {**batch, "files": results}


def _verify_one(bank: BankConfig, store: Any, ledger: Any, transferred: Mapping[str, Any]) -> dict[str, Any]:
    from plugins.bankgate_sftp import RemoteChanged, VerificationFailed
    from plugins.bankgate_sftp.stages import Staged, discard, promote

    staged = Staged.from_xcom(transferred["staged"])
    remote = staged.remote
    claim = _claim(bank, transferred)
    if store.info(staged.temp_key) is None:  # gone: promoted by an earlier try of this task?
        done = ledger.get(bank.name, remote)
        if done is not None and done.sha256 == staged.sha256:
            log.info("%s: %s was verified and recorded by an earlier try", bank.name, remote.text)
            return _verified(transferred, done.key, done.url, done.size, done.sha256, done.duplicate_of)
    try:
        landed = promote(store, staged, verify=bank.verify)
    except RemoteChanged as exc:  # the staged copy is gone: the next run pulls the file again
        ledger.release(claim)
        return _skipped(transferred, str(exc))
    except VerificationFailed as exc:
        ledger.release(claim)
        discard(store, staged)
        log.error("%s: %s: %s", bank.name, remote.text, exc)
        return _failed(transferred, f"{exc}; nothing was done on the server, the next run pulls it again")
    record = ledger.record(
        claim,
        sha256=landed.sha256,
        key=landed.key,
        url=landed.url,
        post_pull="pending",
        forced=bool(transferred.get("force")),
    )
    log.info("%s: %s verified and landed at %s", bank.name, remote.text, landed.url)
    return _verified(transferred, landed.key, landed.url, landed.size, landed.sha256, record.duplicate_of)


def _verified(
    item: Mapping[str, Any], key: str, url: str, size: int, sha256: str, duplicate_of: Mapping[str, Any] | None
) -> dict[str, Any]:
    keep = {k: item[k] for k in ("path", "raw_path", "mtime", "dir", "marker", "bank", "force") if k in item}
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
        results = [dict(r) if _done(r) else _post_pull_one(bank, session, ledger, r) for r in batch["files"]]
    return {**batch, "files": results}


def _post_pull_one(bank: BankConfig, session: Any, ledger: Any, verified: Mapping[str, Any]) -> dict[str, Any]:
    from plugins.bankgate_sftp import post_pull as actions
    from plugins.bankgate_sftp.stages import landed_from_record

    remote = _remote(verified)
    record = ledger.get(bank.name, remote)
    if record is None or record.sha256 != verified["sha256"]:
        log.error("%s: no verified pull of %s in the ledger; nothing done on the server", bank.name, remote.text)
        return _failed(verified, f"no verified pull of {remote.text} in the ledger; nothing done on the server")
    landed = landed_from_record(record)
    marker = [_remote(verified["marker"])] if verified.get("marker") else []
    try:
        outcome = actions.apply(session, landed, bank.post_pull, markers=marker)
    except Exception as exc:
        outcome = f"error: {type(exc).__name__}: {exc}"
        log.error("%s: post-pull action on %s failed: %s", bank.name, remote.text, exc)
    ledger.set_post_pull(bank.name, remote, outcome)
    return {**verified, "post_pull": outcome}


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
