"""The demo's three invented banks: what each one's SFTP server holds, and their bank config.

Built from the bundled samples so the demo shows every path a real morning takes: files that
are pulled and parse cleanly, one that is pulled and quarantined (its amounts were edited after
the controls were written), a zip of several, a file the bank is still writing (left alone),
files waiting for their ``.done`` marker, and insurance PDFs.
"""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: Seconds before "now" the finished files were written: older than the stability rule.
FINISHED_AGE = 15 * 60


@dataclass(frozen=True)
class DemoBank:
    name: str
    description: str
    remote_dirs: tuple[str, ...]
    settings: dict[str, str]  # further TOML values, already quoted

    @property
    def conn_id(self) -> str:
        return f"sftp_{self.name}"


BANKS = (
    DemoBank(
        "first_harbor",
        "ACH payroll, returns and BAI2 balances; pulled files are moved to the bank's archive folder.",
        ("/outbound/ach", "/outbound/bai"),
        {
            "include": '["*.ach", "*.bai", "*.zip"]',
            "exclude": '["*.tmp", ".*"]',
            "stability": '{ unchanged_for = "2 min" }',
            "post_pull": '{ action = "move", to = "/outbound/archive" }',
            "tags": '["ach", "bai2"]',
        },
    ),
    DemoBank(
        "prairie_trust",
        "Lockbox, positive pay and transaction detail; a file is complete once its .done marker exists.",
        ("/to_client",),
        {
            "include": '["*.txt"]',
            "stability": '{ done_marker = ".done" }',
            "post_pull": '"delete"',
            "tags": '["lockbox", "positive-pay"]',
        },
    ),
    DemoBank(
        "harborline_insurance",
        "Insurance carrier: certificates of insurance and policy declarations as PDFs.",
        ("/outbound",),
        {
            "include": '["*.pdf"]',
            "stability": '{ unchanged_for = "2 min" }',
            "post_pull": '"keep"',
            "tags": '["insurance"]',
        },
    ),
)


def _put(root: Path, remote: str, source: Path | bytes, *, age: float = FINISHED_AGE) -> None:
    target = root / remote.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, bytes):
        target.write_bytes(source)
    else:
        shutil.copyfile(source, target)
    when = time.time() - age
    os.utime(target, (when, when))


def _zip(path: Path, members: list[Path]) -> bytes:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            archive.write(member, member.name)
    return path.read_bytes()


def populate(bank: DemoBank, root: Path, samples: Path, day: str) -> list[str]:
    """Write ``bank``'s server files under ``root``; returns their remote paths."""
    nacha, bai2, fixed, pdfs = (samples / d for d in ("nacha", "bai2", "fixed", "insurance"))
    placed: list[str] = []

    def put(remote: str, source: Path | bytes, **kwargs: float) -> None:
        _put(root, remote, source, **kwargs)
        placed.append(remote)

    if bank.name == "first_harbor":
        for name in ("payroll-ppd-ccd.ach", "returns-and-nocs.ach", "payroll-amount-edited-after-controls.ach"):
            put(f"/outbound/ach/{name}", nacha / name)
        put("/outbound/bai/daily-balances.bai", bai2 / "daily-balances.bai")
        bundle = _zip(root / "bundle.zip", [nacha / "returns-and-nocs.ach", bai2 / "daily-balances.bai"])
        (root / "bundle.zip").unlink()
        put(f"/outbound/ach/month-end-{day}.zip", bundle)
        # Still being written as the pull runs: modified just now, so it is left for a later run.
        put("/outbound/ach/late-returns.ach", (nacha / "returns-and-nocs.ach").read_bytes()[:940], age=0)
        (root / "outbound/archive").mkdir(parents=True, exist_ok=True)
    elif bank.name == "prairie_trust":
        for name in ("bai-lockbox.txt", "positive-pay.txt", "transaction-detail.txt"):
            put(f"/to_client/{name}", fixed / name)
        for name in ("bai-lockbox.txt", "positive-pay.txt"):  # transaction-detail's marker is not there yet
            put(f"/to_client/{name}.done", b"")
    elif bank.name == "harborline_insurance":
        for pdf in sorted(pdfs.glob("*.pdf")):
            put(f"/outbound/{pdf.name}", pdf)
    return placed


def banks_toml(destination: str, ledger: str = "") -> str:
    """The demo's bank config (``bankgate.banks`` format); files land under
    ``<destination><bank>/<file date>/<name>``, pull records under ``ledger`` when given."""
    lines = [
        "# Written by `bankgate demo`: three invented banks on local SFTP servers.",
        "[defaults]",
        'timezone = "UTC"',
        'owner = "bankgate-demo"',
        'cron = "30 6 * * 1-5"',
        'lookback = "7 days"',
        'max_file_size = "100 MiB"',
        "concurrency = 4",
        "",
    ]
    for bank in BANKS:
        lines += [
            f"[banks.{bank.name}]",
            f'description = "{bank.description}"',
            f'conn_id = "{bank.conn_id}"',
            "remote_dirs = [" + ", ".join(f'"{d}"' for d in bank.remote_dirs) + "]",
            f'destination = "{destination}{bank.name}/"',
            *([f'ledger = "{ledger}"'] if ledger else []),
            *(f"{key} = {value}" for key, value in bank.settings.items()),
            "",
        ]
    return "\n".join(lines)
