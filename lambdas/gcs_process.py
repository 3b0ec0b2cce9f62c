"""Cloud Run / Cloud Functions: process objects finalised in the GCS staging bucket.

Deployed with the Functions Framework (``--target=process``) on the
``google.cloud.storage.object.v1.finalized`` CloudEvent. The same pipeline as the AWS
Lambda; the object's generation orders versions of a key. A file above the batch threshold
goes to the Cloud Run job ``BANKGATE_CLOUD_RUN_JOB`` names (``bankgate.batch.CloudRunJob``).

The sweep for hand-offs whose job never started (``Pipeline.resubmit_stuck``, every 15 minutes
on AWS by an EventBridge schedule) arrives the same way: Cloud Scheduler publishes to a Pub/Sub
topic and a second Eventarc trigger delivers its ``google.cloud.pubsub.topic.v1.messagePublished``
CloudEvent here (``deploy/gcp/README.md``). Eventarc never redelivers an object event that
succeeded, so without it a job that never starts would wait for the next file of its name. The
Pub/Sub path keeps the one way in that the service's internal ingress already admits, with no
route of its own to authenticate.
"""

from __future__ import annotations

from typing import Any, cast

from bankgate.config import PipelineConfig
from bankgate.events import from_gcs_cloudevent
from bankgate.pipeline import Pipeline
from bankgate.store import split_url

_pipeline: Pipeline | None = None


def pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        from bankgate.batch import HandOff

        handoff = HandOff.from_env()  # big files go to a Cloud Run job where one is configured
        _pipeline = Pipeline(PipelineConfig.from_env(), handoff=handoff)
    return _pipeline


#: The CloudEvent type of a Pub/Sub message through Eventarc: the scheduled sweep's.
SWEEP_EVENT = "google.cloud.pubsub.topic.v1.messagePublished"


def process(cloud_event: Any) -> dict[str, Any]:
    """Handle one CloudEvent; raising makes Eventarc retry it (the ledger makes retries safe)."""
    if _attribute(cloud_event, "type") == SWEEP_EVENT:
        return resubmit_stuck()
    data = cloud_event.data if hasattr(cloud_event, "data") else cloud_event["data"]
    event = from_gcs_cloudevent(data)
    current = pipeline()
    _, staging_bucket, _ = split_url(current.config.staging)
    if event.bucket != staging_bucket:
        raise ValueError(f"event for bucket {event.bucket!r}, but staging is {staging_bucket!r}")
    outcome = current.process(event.object)
    if outcome.status == "busy":
        raise RuntimeError(f"{outcome.source} is being processed by another worker; retry")
    return {"source": outcome.source, "status": outcome.status, "outputs": outcome.outputs, "reason": outcome.reason}


def resubmit_stuck() -> dict[str, Any]:
    """The scheduled sweep: hand-offs whose Cloud Run execution never started are submitted again."""
    outcomes = pipeline().resubmit_stuck()
    resubmitted = [o.source for o in outcomes if o.reason.startswith("resubmitted")]
    return {"swept": len(outcomes), "resubmitted": resubmitted}


def _attribute(cloud_event: Any, name: str) -> Any:
    """A CloudEvent's context attribute (the framework's ``CloudEvent``, or a plain mapping)."""
    if hasattr(cloud_event, "get_attributes"):
        return cloud_event.get_attributes().get(name)
    return cloud_event.get(name) if isinstance(cloud_event, dict) else None


try:  # registers the function when running under the Functions Framework (the gcp extra)
    import functions_framework
except ImportError:  # pragma: no cover - installed without the gcp extra
    pass
else:
    # The decorator registers the name as a CloudEvent function; its wrapper adds nothing, and
    # is typed for functions that return None (the framework ignores what this one returns).
    functions_framework.cloud_event(cast(Any, process))
