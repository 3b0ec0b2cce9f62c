"""Hand-off of big files to a batch runner (AWS Batch), which processes them with the same code.

A Lambda has a 15-minute limit and a /tmp of at most 10 GB (lesson 9). A file above
``BANKGATE_BATCH_THRESHOLD`` bytes, or one the scratch budget refuses while unpacking, is not
quarantined: the pipeline (``Pipeline._hand_off``), holding the object's claim, submits a job
with the object's URL and version and records in the ledger ``handed_off``, the job id and a
lease of ``BANKGATE_BATCH_LEASE_SECONDS`` (long enough to wait in the queue and run). The event
is then done with; while the lease runs, a duplicate event is a no-op (``handed_off``), so the
job is submitted once.

The job runs ``bankgate process URL --version-id V`` (the batch image's entry point). It knows
its own id from ``AWS_BATCH_JOB_ID`` (set by AWS Batch), and a claim naming the id the ledger
holds takes the hand-off over: the record's lease becomes the job's own (its
``BANKGATE_LEASE_SECONDS``, above the job's timeout). If the job dies, or never starts, the
hand-off's lease expires and the next claim of the object (a redelivered or replayed event, or
``bankgate process URL``) takes it again, counted as a failure so a file that kills every job is
quarantined after ``max_failures``, and resubmits. A failed job raises the stack's alarm (an
EventBridge rule on Batch's job state changes); nothing yet replays the event by itself.

Settings: ``BANKGATE_BATCH_JOB_QUEUE`` and ``BANKGATE_BATCH_JOB_DEFINITION`` (both, or no
hand-off), ``BANKGATE_BATCH_THRESHOLD`` (bytes, default 1 GiB), ``BANKGATE_BATCH_LEASE_SECONDS``
(default 6 h).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bankgate import settings
from bankgate.settings import ConfigError

DEFAULT_THRESHOLD = settings.BATCH_THRESHOLD
DEFAULT_LEASE_SECONDS = settings.BATCH_LEASE_SECONDS


class BatchConfigError(ValueError):
    """A batch setting is unusable; the message names it."""


@dataclass(frozen=True, slots=True)
class HandOff:
    """Where big files go: an AWS Batch job queue and job definition."""

    job_queue: str
    job_definition: str
    client: Any  # a boto3 Batch client
    threshold_bytes: int = DEFAULT_THRESHOLD
    lease_seconds: int = DEFAULT_LEASE_SECONDS

    def wants(self, size: int) -> bool:
        return size > self.threshold_bytes

    def submit(self, source: str, key: str, version: str | None) -> str:
        """Submit one job for the object; its id. The name is derived from the object, so the
        Batch console shows which file a job is for (Batch job names: 128 of [A-Za-z0-9_-])."""
        digest = hashlib.sha256(f"{source}\0{version or ''}".encode()).hexdigest()[:16]
        command = [source, *(("--version-id", version) if version else ())]
        response = self.client.submit_job(
            jobName=f"bankgate-process-{digest}",
            jobQueue=self.job_queue,
            jobDefinition=self.job_definition,
            containerOverrides={"command": command},
            tags={"bankgate-source": source[:256]},
        )
        return str(response["jobId"])

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, client: Any = None) -> HandOff | None:
        """The hand-off the settings configure (``bankgate.settings.batch_job``), or None when
        they name no job queue."""
        try:
            job = settings.batch_job(env)
        except ConfigError as exc:
            raise BatchConfigError(str(exc)) from None
        if not job:
            return None
        if client is None:
            import boto3

            client = boto3.client("batch")
        return cls(
            job["job_queue"],
            job["job_definition"],
            client,
            threshold_bytes=job["threshold_bytes"],
            lease_seconds=job["lease_seconds"],
        )


def current_job_id(env: Mapping[str, str] | None = None) -> str:
    """This process's batch job id, or "" outside a job."""
    return settings.batch_job_id(env)
