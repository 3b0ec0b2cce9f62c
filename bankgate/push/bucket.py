"""The staging bucket's side of client pushes: the rules it must carry, built in one place.

- **Lifecycle**: a multipart upload never completed (a closed browser tab, an aborted script)
  keeps its parts, invisible and billed; ``AbortIncompleteMultipartUpload`` removes them after
  ``abort_after_days``. Scoped to the watched prefix, where pushes land.
- **CORS**: the upload page PUTs and POSTs straight to S3 from the configured origins only, and
  reads ``ETag`` (each part's ETag completes a multipart upload) and the checksum S3 echoes.
  GET is not offered: a client never reads staging back.

``staging_rules`` returns both in boto3's shapes; the SAM template references the same values,
and ``apply`` puts them on a bucket (the demo, the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

DEFAULT_ABORT_AFTER_DAYS = 2
#: How long a browser may cache a preflight answer (seconds).
PREFLIGHT_MAX_AGE = 3000


def staging_rules(
    origins: Sequence[str], *, abort_after_days: int = DEFAULT_ABORT_AFTER_DAYS, prefix: str = "inbound/"
) -> dict[str, Any]:
    """``{"LifecycleConfiguration": ..., "CORSConfiguration": ...}`` for the staging bucket."""
    if isinstance(abort_after_days, bool) or not isinstance(abort_after_days, int) or abort_after_days < 1:
        raise ValueError(f"abort_after_days: a whole number of days, at least 1, not {abort_after_days!r}")
    for origin in origins:
        parsed = urlparse(origin)
        if origin == "*" or parsed.scheme not in ("https", "http") or not parsed.netloc or parsed.path not in ("", "/"):
            raise ValueError(f"CORS origin {origin!r}: a scheme and host such as https://upload.example.com")
    lifecycle = {
        "Rules": [
            {
                "ID": "bankgate-abort-incomplete-multipart",
                "Filter": {"Prefix": prefix},
                "Status": "Enabled",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": abort_after_days},
            }
        ]
    }
    cors = {
        "CORSRules": [
            {
                "ID": "bankgate-push-page",
                "AllowedOrigins": [origin.rstrip("/") for origin in origins],
                "AllowedMethods": ["PUT", "POST"],
                "AllowedHeaders": ["content-type", "x-amz-checksum-sha256", "content-md5"],
                "ExposeHeaders": ["ETag", "x-amz-checksum-sha256"],
                "MaxAgeSeconds": PREFLIGHT_MAX_AGE,
            }
        ]
    }
    return {"LifecycleConfiguration": lifecycle, "CORSConfiguration": cors}


def apply(s3: Any, bucket: str, origins: Sequence[str], **options: Any) -> None:
    """Put both rule sets on ``bucket`` (replacing what it had)."""
    rules = staging_rules(origins, **options)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=rules["LifecycleConfiguration"])
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=rules["CORSConfiguration"])
