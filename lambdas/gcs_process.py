"""Cloud Run / Cloud Functions: process objects finalised in the GCS staging bucket.

Deployed with the Functions Framework (``--target=process``) on the
``google.cloud.storage.object.v1.finalized`` CloudEvent. The same pipeline as the AWS
Lambda; the object's generation orders versions of a key. A file above the batch threshold
goes to the Cloud Run job ``BANKGATE_CLOUD_RUN_JOB`` names (``bankgate.batch.CloudRunJob``).
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


def process(cloud_event: Any) -> dict[str, Any]:
    """Handle one CloudEvent; raising makes Eventarc retry it (the ledger makes retries safe)."""
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


try:  # registers the function when running under the Functions Framework (the gcp extra)
    import functions_framework
except ImportError:  # pragma: no cover - installed without the gcp extra
    pass
else:
    # The decorator registers the name as a CloudEvent function; its wrapper adds nothing, and
    # is typed for functions that return None (the framework ignores what this one returns).
    functions_framework.cloud_event(cast(Any, process))
