"""Hand-off of big files to a batch runner (AWS Batch or a Cloud Run job), which processes them
with the same code.

A Lambda has a 15-minute limit and a /tmp of at most 10 GB (lesson 9). A file above
``BANKGATE_BATCH_THRESHOLD`` bytes, or one the scratch budget refuses while unpacking, is not
quarantined: the pipeline (``Pipeline._hand_off``), holding the object's claim, submits a job
with the object's URL and version and records in the ledger ``handed_off``, the job id and a
lease of ``BANKGATE_BATCH_LEASE_SECONDS`` (long enough to wait in the queue and run). The event
is then done with; while the lease runs, a duplicate event is a no-op (``handed_off``), so the
job is submitted once.

One hand-off, two submitters behind one small interface (``Submitter``: submit, state,
cancel): ``AwsBatch`` (``SubmitJob``, ``DescribeJobs``, ``TerminateJob``) for the S3 path and
``CloudRunJob`` (the Cloud Run Admin API v2: ``jobs/{job}:run`` with the object's URL and
generation as the container's args, ``executions.get``, ``executions.cancel``) for the GCS
path. The job runs ``bankgate process URL --version-id V`` (the batch image's entry point). It
knows its own id from ``AWS_BATCH_JOB_ID`` or ``CLOUD_RUN_EXECUTION`` (set by the service),
and a claim naming the id the ledger holds takes the hand-off over: the record's lease becomes
the job's own (its ``BANKGATE_LEASE_SECONDS``, above the job's timeout).

If the job dies, the hand-off's lease expires and the next claim of the object (a redelivered
or replayed event, or ``bankgate process URL``) takes it again, counted as a failure so a file
that kills every job is quarantined after ``max_failures``, and resubmits. A job that never
starts need not wait for that lease: once ``BANKGATE_BATCH_START_SECONDS`` have passed since
the hand-off, a delivery of the object (a redelivery, or the scheduled sweep,
``Pipeline.resubmit_stuck``) asks the service for the job's state, and if it is still waiting
(SUBMITTED, PENDING, RUNNABLE; an execution not started) or ended without taking the claim
(FAILED, or gone), takes the record over with one compare-and-swap (``Ledger.retake``: of
concurrent sweeps exactly one wins), submits a new job, records it, and cancels the stuck one.
A job that is starting or running is left to its lease. Each resubmission counts as a failure.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bankgate import settings
from bankgate.ledger import HANDED_OFF, LedgerRecord
from bankgate.settings import ConfigError

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = settings.BATCH_THRESHOLD
DEFAULT_LEASE_SECONDS = settings.BATCH_LEASE_SECONDS
DEFAULT_START_SECONDS = settings.BATCH_START_SECONDS
#: What became of a submitted job, in the services' common terms: ``waiting`` to start,
#: ``running`` (starting counts: it is about to claim), ``succeeded``, ``failed``, or
#: ``unknown`` (the service no longer knows the id).
JobState = Literal["waiting", "running", "succeeded", "failed", "unknown"]


class BatchConfigError(ValueError):
    """A batch setting is unusable; the message names it."""


class Submitter(Protocol):
    """One batch service: start a job for an object, say what became of it, cancel it."""

    def submit(self, source: str, version: str | None) -> str:
        """Start one job processing ``source`` at ``version``; the id the job will know itself by."""
        ...

    def state(self, job_id: str) -> JobState: ...

    def cancel(self, job_id: str, reason: str) -> None: ...


def _command(source: str, version: str | None) -> list[str]:
    """The runner's arguments after its entry point ``bankgate process``."""
    return [source, *(("--version-id", version) if version else ())]


_AWS_STATES: dict[str, JobState] = {
    "SUBMITTED": "waiting",
    "PENDING": "waiting",
    "RUNNABLE": "waiting",
    "STARTING": "running",
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
}


@dataclass(frozen=True, slots=True)
class AwsBatch:
    """An AWS Batch job queue and the runner's job definition."""

    job_queue: str
    job_definition: str
    client: Any  # a boto3 Batch client

    def submit(self, source: str, version: str | None) -> str:
        """The job's name is derived from the object, so the Batch console shows which file a
        job is for (Batch job names: 128 of [A-Za-z0-9_-])."""
        digest = hashlib.sha256(f"{source}\0{version or ''}".encode()).hexdigest()[:16]
        response = self.client.submit_job(
            jobName=f"bankgate-process-{digest}",
            jobQueue=self.job_queue,
            jobDefinition=self.job_definition,
            containerOverrides={"command": _command(source, version)},
            tags={"bankgate-source": source[:256]},
        )
        return str(response["jobId"])

    def state(self, job_id: str) -> JobState:
        jobs = self.client.describe_jobs(jobs=[job_id])["jobs"]
        return _AWS_STATES.get(jobs[0]["status"], "unknown") if jobs else "unknown"

    def cancel(self, job_id: str, reason: str) -> None:
        """``TerminateJob``: cancels a job not yet started, stops one that is."""
        self.client.terminate_job(jobId=job_id, reason=reason[:1024])


@dataclass(frozen=True, slots=True)
class CloudRunJob:
    """A Cloud Run job (``projects/P/locations/L/jobs/J``) whose executions run the runner.

    ``jobs`` and ``executions`` are ``google.cloud.run_v2`` clients (``JobsClient``,
    ``ExecutionsClient``). The job id the ledger keeps is the execution's short name, which
    Cloud Run gives the job's container as ``CLOUD_RUN_EXECUTION``."""

    job: str
    jobs: Any
    executions: Any

    def submit(self, source: str, version: str | None) -> str:
        from google.cloud import run_v2

        overrides = run_v2.RunJobRequest.Overrides(
            container_overrides=[run_v2.RunJobRequest.Overrides.ContainerOverride(args=_command(source, version))],
            task_count=1,
        )
        operation = self.jobs.run_job(request=run_v2.RunJobRequest(name=self.job, overrides=overrides))
        # The operation's metadata is the execution it started (done only when that ends).
        return str(operation.metadata.name).rsplit("/", 1)[-1]

    def _execution(self, job_id: str) -> str:
        return f"{self.job}/executions/{job_id}"

    def state(self, job_id: str) -> JobState:
        from google.api_core.exceptions import NotFound

        try:
            execution = self.executions.get_execution(name=self._execution(job_id))
        except NotFound:
            return "unknown"
        if execution.completion_time:
            return "succeeded" if execution.succeeded_count >= max(execution.task_count, 1) else "failed"
        return "running" if execution.start_time or execution.running_count else "waiting"

    def cancel(self, job_id: str, reason: str) -> None:
        self.executions.cancel_execution(name=self._execution(job_id))


@dataclass(frozen=True, slots=True)
class HandOff:
    """Where big files go, and when a hand-off that never started is tried again."""

    submitter: Submitter
    threshold_bytes: int = DEFAULT_THRESHOLD
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    start_seconds: int = DEFAULT_START_SECONDS

    def wants(self, size: int) -> bool:
        return size > self.threshold_bytes

    def submit(self, source: str, version: str | None) -> str:
        return self.submitter.submit(source, version)

    def stuck(self, record: LedgerRecord, now: float | None = None) -> str:
        """Why the hand-off ``record`` should be submitted again, or "" while it should not:
        its job has not taken the claim within ``start_seconds``, and the service says it is
        still waiting to start or ended (or forgot it) without having claimed."""
        now = time.time() if now is None else now
        if record.state != HANDED_OFF or not record.job_id or now - record.finished_at < self.start_seconds:
            return ""
        try:
            state = self.submitter.state(record.job_id)
        except Exception:  # the service cannot say: a duplicate event stays a no-op, the lease decides
            log.warning("reading the state of batch job %s failed", record.job_id, exc_info=True)
            return ""
        if state == "running":
            return ""  # it is starting or running: it claims, or its lease frees the object
        waited = round(now - record.finished_at)
        return f"batch job {record.job_id} was {state} {waited} s after the hand-off, without having claimed the object"

    def cancel(self, job_id: str, reason: str) -> None:
        """Best effort: a stuck job that starts after all finds another job's id in the ledger
        and does nothing (``Ledger.claim``), so a failed cancel costs only its compute."""
        try:
            self.submitter.cancel(job_id, reason)
        except Exception:
            log.warning("cancelling stuck batch job %s failed", job_id, exc_info=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, client: Any = None) -> HandOff | None:
        """The hand-off the settings configure (``bankgate.settings.batch_job``), or None when
        they name no job queue nor Cloud Run job. ``client``: the AWS Batch client, or a
        ``(jobs, executions)`` pair of Cloud Run clients; built when absent."""
        try:
            job = settings.batch_job(env)
        except ConfigError as exc:
            raise BatchConfigError(str(exc)) from None
        if not job:
            return None
        submitter: Submitter
        if job["service"] == "cloud-run":
            jobs, executions = client if client is not None else _cloud_run_clients()
            submitter = CloudRunJob(job["cloud_run_job"], jobs, executions)
        else:
            if client is None:
                import boto3

                client = boto3.client("batch")
            submitter = AwsBatch(job["job_queue"], job["job_definition"], client)
        return cls(
            submitter,
            threshold_bytes=job["threshold_bytes"],
            lease_seconds=job["lease_seconds"],
            start_seconds=job["start_seconds"],
        )


def _cloud_run_clients() -> tuple[Any, Any]:
    """The Cloud Run Admin API's clients over REST (no gRPC channel held per container),
    with the service account's credentials (Application Default Credentials)."""
    from google.cloud import run_v2

    return run_v2.JobsClient(transport="rest"), run_v2.ExecutionsClient(transport="rest")


def current_job_id(env: Mapping[str, str] | None = None) -> str:
    """This process's batch job id, or "" outside a job."""
    return settings.batch_job_id(env)
