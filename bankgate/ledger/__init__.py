"""The ledger: every file's story, from its origin to its outputs, under one root.

One store and prefix (the *root*: ``PipelineConfig.ledger``, ``BANKGATE_LEDGER``) holds every
record schema, each a readable JSON object written with conditional writes (``bankgate.lease``):

- ``<root><hh>/<sha256(staged url)[:32]>.json``: the processing record of one staged object
  (``processing``: claims, attempts, outcome, outputs; where earlier releases wrote it);
- ``<root>sftp/<bank>/...``: the pull records (``bankgate.sftp.ledger``: one per verified pull,
  claims, content dedup, stability observations);
- ``<root>uploads/<client>/<upload_id>.json``: the push records (``push``: upload grants);
- ``<root>links/<sha256(staged url)[:32]>.json``: the link (``links``) from a staged object to
  its origin's record, written by the origin *before* the object reaches staging, so the
  processing claim always finds it and copies it into the processing record as ``origin``;
- ``<root>index/<bank or client>/<YYYY-MM-DD>.json``: the per-owner, per-day index
  (``index``), updated at each stage change; one object a listing reads, split into shards
  (``<YYYY-MM-DD>/<hex>.json``) as the day grows.

The records are the truth; the index is a view of them kept for cheap listing. ``journey``
reads the three records of one file back into its story, ``reconcile`` checks that every
byte pulled or pushed is accounted for.
"""

from bankgate.ledger.processing import (
    DONE,
    FAILED,
    HANDED_OFF,
    LEASE_SECONDS,
    MAX_FAILURES,
    PROCESSING,
    QUARANTINED,
    REPORT_SUFFIX,
    Claim,
    ClaimLost,
    ClaimStatus,
    Ledger,
    LedgerRecord,
    State,
    compare_sequencers,
)
from bankgate.ledger.root import Root, open_root

__all__ = [
    "DONE",
    "FAILED",
    "HANDED_OFF",
    "LEASE_SECONDS",
    "MAX_FAILURES",
    "PROCESSING",
    "QUARANTINED",
    "REPORT_SUFFIX",
    "Claim",
    "ClaimLost",
    "ClaimStatus",
    "Ledger",
    "LedgerRecord",
    "Root",
    "State",
    "compare_sequencers",
    "open_root",
]
