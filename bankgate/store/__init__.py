"""Object stores behind one interface: S3, GCS and local directories (``file://``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

from bankgate.store.abilities import ChecksumOnWrite, LocalFiles, ServerSideCopy, SweepsPartials, Versioned
from bankgate.store.base import ObjectInfo, ObjectStore

__all__ = [
    "ChecksumOnWrite",
    "LocalFiles",
    "ObjectInfo",
    "ObjectStore",
    "ServerSideCopy",
    "SweepsPartials",
    "Versioned",
    "open_url",
    "split_url",
]


def split_url(url: str) -> tuple[str, str, str]:
    """``s3://bucket/a/b`` -> ("s3", "bucket", "a/b"); ``file:///srv/x/a`` -> ("file", "/srv/x/a", "")."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return "file", unquote(parsed.path), ""
    if parsed.scheme in ("s3", "gs"):
        return parsed.scheme, parsed.netloc, unquote(parsed.path.lstrip("/"))
    raise ValueError(f"unsupported URL {url!r}: use s3://, gs:// or file://")


def open_url(url: str, *, s3_client: Any = None, gcs_client: Any = None) -> tuple[ObjectStore, str]:
    """The store for a bucket URL and the key prefix inside it.

    ``file://`` URLs name a directory that is the whole store (prefix ""), because a local
    path has no bucket part to split off.
    """
    scheme, where, prefix = split_url(url)
    if scheme == "s3":
        from bankgate.store.s3 import S3Store

        return S3Store(where, client=s3_client), prefix
    if scheme == "gs":
        from bankgate.store.gcs import GCSStore

        return GCSStore(where, client=gcs_client), prefix
    from bankgate.store.local import LocalStore

    return LocalStore(where), ""
