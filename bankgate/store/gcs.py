"""Google Cloud Storage as an object store.

Uploads are resumable uploads fed chunk by chunk and finalised only on a clean exit, so a
failed write leaves no object. Conditional writes use generation preconditions
(``if_generation_match=0`` to create, ``=<generation>`` to replace); the store's etag for
them is the object's generation. (gcp-storage-emulator ignores preconditions; the tests put
GCS's documented check in front of it, ``tests/fixtures/gcs_preconditions.py``, so the
ledger's races are tested through this store's GCS API calls too.)
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import IO, Any

from bankgate.store.abilities import NotServerSide
from bankgate.store.base import ObjectInfo, ObjectStore
from bankgate.store.checksums import from_base64
from bankgate.store.encoding import decode_metadata

CHUNK = 16 << 20  # a multiple of 256 KiB, as resumable uploads require
PARTIAL_PREFIX = ".bankgate-partial/"


def default_client() -> Any:
    import google.cloud.storage as storage  # (google.cloud is a namespace: typed run_v2, untyped storage)

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(
            project=os.environ.get("GOOGLE_CLOUD_PROJECT", "local"), credentials=AnonymousCredentials()
        )
    return storage.Client()


class GCSStore(ObjectStore):
    """Abilities: ``ChecksumOnWrite`` (CRC-32C), ``ServerSideCopy``, ``Versioned``,
    ``SweepsPartials``."""

    checksum_algorithm = "crc32c"  # GCS computes it for every object it stores
    max_metadata_bytes = 8192  # GCS's limit for custom metadata

    def __init__(self, bucket: str, *, client: Any = None) -> None:
        self.client = client or default_client()
        self.bucket_name = bucket
        self.bucket = self.client.bucket(bucket)
        self.url = f"gs://{bucket}"

    @staticmethod
    def _info(blob: Any) -> ObjectInfo:
        generation = str(blob.generation or "")
        updated = blob.updated
        return ObjectInfo(
            key=blob.name,
            size=int(blob.size or 0),
            etag=generation,
            version=generation or None,
            modified_ns=int(updated.timestamp() * 1e9) if updated else 0,
            metadata=decode_metadata(blob.metadata or {}),
            checksum=from_base64(blob.crc32c),
        )

    def info(self, key: str, *, checksum: bool = False, version: str | None = None) -> ObjectInfo | None:
        blob = self.bucket.get_blob(key, generation=int(version) if version else None)  # always has the CRC
        return None if blob is None else self._info(blob)

    def older_versions(self, key: str, version: str) -> list[ObjectInfo]:
        """Noncurrent generations of ``key`` (a bucket with object versioning) below ``version``."""
        blobs = self.client.list_blobs(self.bucket_name, prefix=key, versions=True)
        older = [self._info(b) for b in blobs if b.name == key and int(b.generation or 0) < int(version)]
        return sorted(older, key=lambda info: -int(info.version or 0))

    def open(self, key: str, *, version: str | None = None) -> IO[bytes]:
        from google.api_core.exceptions import NotFound

        blob = self.bucket.blob(key, generation=int(version) if version else None)
        try:
            blob.reload()  # a missing object fails here (KeyError), not at the first read
        except NotFound:
            raise KeyError(key) from None
        # Read the generation just seen, so a concurrent overwrite cannot mix two objects.
        return self.bucket.blob(key, generation=blob.generation).open("rb", chunk_size=CHUNK)

    def read_bytes(self, key: str) -> bytes:
        """Small objects (ledger records, markers) in one request."""
        from google.api_core.exceptions import NotFound

        try:
            return self.bucket.blob(key).download_as_bytes()
        except NotFound:
            raise KeyError(key) from None

    def read_with_info(self, key: str) -> tuple[bytes, ObjectInfo] | None:
        """One download: GCS names the generation it served in ``x-goog-generation``. A server
        that does not (gcp-storage-emulator) gets the two reads of the base class."""
        from google.api_core.exceptions import NotFound

        blob = self.bucket.blob(key)
        try:
            data = blob.download_as_bytes()
        except NotFound:
            return None
        if not blob.generation:
            return super().read_with_info(key)
        return data, ObjectInfo(key, len(data), str(blob.generation), str(blob.generation))

    @contextmanager
    def writer(
        self, key: str, *, metadata: Mapping[str, str] | None = None, content_type: str = "", size: int | None = None
    ) -> Iterator[IO[bytes]]:
        """Writes go to a temporary object, renamed (server-side rewrite) into ``key`` on a clean
        exit and deleted on error: a resumable upload cannot be abandoned reliably once
        started (closing it, even from the garbage collector, finalises it)."""
        temp = self.bucket.blob(f"{PARTIAL_PREFIX}{uuid.uuid4().hex}")
        temp.metadata = self._stored_metadata(metadata)
        stream = temp.open("wb", chunk_size=CHUNK, content_type=content_type or None, ignore_flush=True)
        try:
            yield stream
            stream.close()
            self.copy_to(temp.name, self, key)
        finally:
            if not stream.closed:
                stream.close()
            self.delete(temp.name)

    def sweep_partials(self, older_than: float) -> int:
        """The temporary objects of writers killed between finalising and renaming them (an
        upload never finalised leaves no object: its session expires on its own)."""
        now, removed = time.time(), 0
        for blob in self.client.list_blobs(self.bucket_name, prefix=PARTIAL_PREFIX):
            written = blob.updated or blob.time_created
            if written is None or now - written.timestamp() < older_than:
                continue
            self.delete(blob.name, version=str(blob.generation) if blob.generation else None)
            removed += 1
        return removed

    def put(
        self, key: str, source: IO[bytes], *, metadata: Mapping[str, str] | None = None, content_type: str = ""
    ) -> ObjectInfo:
        with self.writer(key, metadata=metadata, content_type=content_type) as out:
            while chunk := source.read(CHUNK):
                out.write(chunk)
        info = self.info(key)
        assert info is not None
        return info

    def _conditional(self, key: str, data: bytes, content_type: str, generation: int) -> ObjectInfo | None:
        from google.api_core.exceptions import PreconditionFailed

        blob = self.bucket.blob(key)
        try:
            blob.upload_from_string(data, content_type=content_type, if_generation_match=generation)
        except PreconditionFailed:
            return None
        return self._info(blob)

    def create(self, key: str, data: bytes, *, content_type: str = "application/json") -> ObjectInfo | None:
        return self._conditional(key, data, content_type, 0)

    def replace(self, key: str, data: bytes, *, etag: str, content_type: str = "application/json") -> ObjectInfo | None:
        return self._conditional(key, data, content_type, int(etag))

    def delete(self, key: str, *, version: str | None = None) -> None:
        from google.api_core.exceptions import NotFound

        with suppress(NotFound):
            self.bucket.delete_blob(key, generation=int(version) if version else None)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for blob in self.client.list_blobs(self.bucket_name, prefix=prefix):
            yield self._info(blob)

    def server_copy(
        self,
        key: str,
        target: ObjectStore,
        target_key: str,
        *,
        metadata: Mapping[str, str] | None,
        version: str | None,
    ) -> ObjectInfo:
        """A rewrite within GCS (several calls for a large object)."""
        if not isinstance(target, GCSStore):
            raise NotServerSide(target.url)
        source = self.bucket.get_blob(key, generation=int(version) if version else None)
        if source is None:
            raise KeyError(key)
        destination = target.bucket.blob(target_key)
        destination.metadata = target._stored_metadata(metadata) if metadata is not None else source.metadata
        token, _, _ = destination.rewrite(source)
        while token is not None:  # large objects are copied in several calls
            token, _, _ = destination.rewrite(source, token=token)
        info = target.info(target_key)
        assert info is not None
        return info
