"""Pull bank files from SFTP servers into S3, GCS or a local directory: pinned host keys,
pipelined streaming with on-the-fly SHA-256, verification before any remote delete, dedup,
stability rules. No Airflow import: the DAGs, the CLI and the tests call the same code.

    from bankgate.banks import DELETE, BankConfig, unchanged
    from bankgate.sftp import SftpSettings, pull_bank

    settings = SftpSettings(host="sftp.bank.example", username="acme", private_key=KEY,
                            known_hosts="sftp.bank.example ssh-ed25519 AAAA...")
    bank = BankConfig("acme", remote_dirs=("/outbound",), include=("*.ach",),
                      stability=(unchanged(120),), post_pull=DELETE)
    report = pull_bank(settings, bank, "s3://staging/inbound/acme/")

The bank model (``BankConfig``, its stability rules and post-pull actions) is
``bankgate.banks``'s, the same one ``load_banks`` builds from the TOML config.
"""

from bankgate.sftp.connection import SftpSession, SftpSettings, connect, fingerprint
from bankgate.sftp.errors import (
    AuthError,
    ConnectionLost,
    HostKeyError,
    RemoteChanged,
    SftpPullError,
    VerificationFailed,
)
from bankgate.sftp.ledger import PullLedger, PullRecord
from bankgate.sftp.listing import RemoteFile, list_files
from bankgate.sftp.pull import PullReport, destination_key, pull_bank
from bankgate.sftp.selection import Selection, select_remote
from bankgate.sftp.transfer import pull_file
from bankgate.sftp.verify import Landed

__all__ = [
    "AuthError",
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
    "pull_bank",
    "pull_file",
    "select_remote",
]
