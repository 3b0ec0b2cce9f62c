"""Pull bank files from SFTP servers into S3, GCS or a local directory: pinned host keys,
pipelined streaming with on-the-fly SHA-256, verification before any remote delete, dedup,
stability rules. No Airflow import: the DAGs, the CLI and the tests call the same code.

    from plugins.bankgate_sftp import BankRules, SftpSettings, pull_bank, unchanged, DELETE

    settings = SftpSettings(host="sftp.bank.example", username="acme", private_key=KEY,
                            known_hosts="sftp.bank.example ssh-ed25519 AAAA...")
    rules = BankRules("acme", directories=("/outbound",), include=("*.ach",),
                      stability=(unchanged(120),), post_pull=DELETE)
    report = pull_bank(settings, rules, "s3://staging/inbound/acme/", day="2026-11-23")
"""

from plugins.bankgate_sftp.connection import SftpSession, SftpSettings, connect, fingerprint
from plugins.bankgate_sftp.errors import (
    AuthError,
    ConnectionLost,
    HostKeyError,
    RemoteChanged,
    SftpPullError,
    VerificationFailed,
)
from plugins.bankgate_sftp.ledger import PullLedger, PullRecord
from plugins.bankgate_sftp.listing import RemoteFile, list_files
from plugins.bankgate_sftp.post_pull import DELETE, KEEP, move_to
from plugins.bankgate_sftp.pull import BankRules, PullReport, destination_key, pull_bank
from plugins.bankgate_sftp.selection import Selection, select_remote
from plugins.bankgate_sftp.stability import marker, unchanged
from plugins.bankgate_sftp.transfer import Landed, pull_file

__all__ = [
    "DELETE",
    "KEEP",
    "AuthError",
    "BankRules",
    "ConnectionLost",
    "HostKeyError",
    "Landed",
    "PullLedger",
    "PullRecord",
    "PullReport",
    "RemoteChanged",
    "RemoteFile",
    "Selection",
    "SftpPullError",
    "SftpSession",
    "SftpSettings",
    "VerificationFailed",
    "connect",
    "destination_key",
    "fingerprint",
    "list_files",
    "marker",
    "move_to",
    "pull_bank",
    "pull_file",
    "select_remote",
    "unchanged",
]
