"""Events in the clouds' own shapes, and what a test reads back from a bucket."""

from __future__ import annotations


def s3_put_event(bucket: str, key: str, *, etag: str, sequencer: str, version: str | None = None) -> dict:
    """A direct S3 notification in AWS's own shape (moto's carry no sequencer or versionId):
    the key URL-encoded with '+' for spaces, as S3 sends it."""
    from urllib.parse import quote_plus

    obj = {"key": quote_plus(key, safe="/"), "size": 0, "eTag": etag, "sequencer": sequencer}
    if version:
        obj["versionId"] = version
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-23T09:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": obj},
            }
        ]
    }


def finalized_event(client, bucket: str, key: str) -> dict:
    blob = client.bucket(bucket).get_blob(key)
    return {
        "data": {
            "bucket": bucket,
            "name": key,
            "generation": str(blob.generation),
            "etag": blob.etag,
            "size": str(blob.size),
        }
    }


def blob_keys(client, bucket: str, prefix: str = "") -> list[str]:
    return sorted(b.name for b in client.list_blobs(bucket, prefix=prefix))
