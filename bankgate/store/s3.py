"""Amazon S3 (and anything that speaks its API, such as moto in tests) as an object store.

Uploads go through boto3's managed transfer: multipart for large streams, parts of bounded
size, and the object appears only when the upload completes. Conditional writes use S3's
``If-None-Match: *`` and ``If-Match: <etag>`` on PutObject.

Every upload asks for a CRC-32 (``ChecksumAlgorithm="CRC32"``): each request carries the
CRC-32 of its body, which S3 checks on receipt. A single PutObject (``put`` up to one part's
size), the streaming ``writer``'s multipart uploads (``ChecksumType="FULL_OBJECT"``) and
``copy_to`` up to 5 GiB (one CopyObject) also get a full-object CRC-32 of what S3 stored,
which ``info(key, checksum=True)`` returns so a writer can compare it with its own; larger
``put`` and ``copy_to`` get a composite one (a checksum of the parts' checksums), not reported.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any, cast

from botocore.exceptions import ClientError

from bankgate.store.abilities import NotServerSide
from bankgate.store.base import ObjectInfo, ObjectStore
from bankgate.store.checksums import from_base64
from bankgate.store.encoding import decode_metadata

MULTIPART_CHUNK = 16 << 20
COPY_OBJECT_LIMIT = 5 << 30  # the largest object one CopyObject request copies
PRECONDITION_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412"}
#: botocore's retries for the S3 clients bankgate makes for AWS (stores, Lambdas). S3 answers
#: ``503 SlowDown`` while it splits a prefix that outgrew 3,500 writes or 5,500 reads per
#: second, and now and then a 500 or a dropped connection: standard mode retries those and
#: throttling with exponential backoff and jitter (capped at 20 s a wait). 8 attempts in all
#: instead of its default 3 ride out a split (up to ~70 s in all, well inside a Lambda's run).
#: Not "adaptive": its client-side rate limiter is experimental and only sees its own
#: container's requests, never the fleet's. An operator's own choice wins (``retries``).
RETRIES: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": 8}


def retries() -> dict[str, Any] | None:
    """:data:`RETRIES`, or None when the operator chose retries for botocore: ``AWS_RETRY_MODE``
    or ``AWS_MAX_ATTEMPTS``, or ``retry_mode`` / ``max_attempts`` in the profile. botocore's own
    chain reads them (a client's explicit config would override them all)."""
    import botocore.session
    from botocore.configprovider import ConfigChainFactory

    chains = ConfigChainFactory(session=botocore.session.get_session())
    chosen = (
        chains.create_config_chain(env_var_names=variable, config_property_names=key).provide()  # no default
        for variable, key in (("AWS_RETRY_MODE", "retry_mode"), ("AWS_MAX_ATTEMPTS", "max_attempts"))
    )
    return None if any(value is not None for value in chosen) else dict(RETRIES)


def default_client(**config: Any) -> Any:
    """An S3 client with :func:`retries` (``config``: more ``botocore.config.Config`` options)."""
    import boto3
    from botocore.config import Config

    chosen = retries()
    return boto3.client("s3", config=Config(**config, **({"retries": chosen} if chosen else {})))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Store(ObjectStore):
    """Abilities: ``ChecksumOnWrite`` (CRC-32), ``ServerSideCopy``, ``Versioned``."""

    checksum_algorithm = "crc32"
    max_metadata_bytes = 2048  # S3's limit for user metadata, names and values together

    def __init__(self, bucket: str, *, client: Any = None) -> None:
        self.client = default_client() if client is None else client
        self.bucket = bucket
        self.url = f"s3://{bucket}"

    def _info(self, key: str, head: Mapping[str, Any]) -> ObjectInfo:
        modified = head.get("LastModified")
        return ObjectInfo(
            key=key,
            size=int(head.get("ContentLength", head.get("Size", 0))),
            etag=str(head.get("ETag", "")).strip('"'),
            version=head.get("VersionId"),
            modified_ns=int(modified.timestamp() * 1e9) if modified else 0,
            metadata=decode_metadata(head.get("Metadata", {})),
            checksum=from_base64(head.get("ChecksumCRC32")) if head.get("ChecksumType") != "COMPOSITE" else "",
        )

    def info(self, key: str, *, checksum: bool = False, version: str | None = None) -> ObjectInfo | None:
        args: dict[str, Any] = {"ChecksumMode": "ENABLED"} if checksum else {}
        if version:
            args["VersionId"] = version
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, **args)
        except ClientError as error:
            code = _code(error)
            if code in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"} or (version and code == "400"):
                return None  # S3 answers a HEAD of a version id it does not hold with a 400
            raise
        return self._info(key, head)

    def older_versions(self, key: str, version: str) -> list[ObjectInfo]:
        """S3 lists a key's versions newest first: those after ``version`` are older."""
        found, older = False, []
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            for item in page.get("Versions", []):
                if item["Key"] != key:
                    continue
                if found:
                    older.append(self._info(key, item))
                found = found or item["VersionId"] == version
        return older

    def open(self, key: str, *, version: str | None = None) -> IO[bytes]:
        args = {"Bucket": self.bucket, "Key": key}
        if version:
            args["VersionId"] = version
        try:
            return self.client.get_object(**args)["Body"]
        except ClientError as error:
            if _code(error) in {"404", "NoSuchKey", "NoSuchVersion"}:
                raise KeyError(key) from None
            raise

    def read_with_info(self, key: str) -> tuple[bytes, ObjectInfo] | None:
        """One GetObject: its ETag is that of the body it returns."""
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _code(error) in {"404", "NoSuchKey"}:
                return None
            raise
        with got["Body"] as body:
            return body.read(), self._info(key, got)

    def put(
        self, key: str, source: IO[bytes], *, metadata: Mapping[str, str] | None = None, content_type: str = ""
    ) -> ObjectInfo:
        from boto3.s3.transfer import TransferConfig

        extra: dict[str, Any] = {"ChecksumAlgorithm": "CRC32"}
        if metadata:
            extra["Metadata"] = self._stored_metadata(metadata)
        if content_type:
            extra["ContentType"] = content_type
        # Up to one part's size in one PutObject: a multipart upload here would get a composite
        # checksum (of the parts' checksums), which says nothing of the whole object's bytes.
        part = MULTIPART_CHUNK
        config = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=4, use_threads=True)
        self.client.upload_fileobj(source, self.bucket, key, ExtraArgs=extra or None, Config=config)
        info = self.info(key)
        assert info is not None
        return info

    @contextmanager
    def writer(
        self, key: str, *, metadata: Mapping[str, str] | None = None, content_type: str = "", size: int | None = None
    ) -> Iterator[IO[bytes]]:
        """A multipart upload fed by writes; the object exists only after a clean exit."""
        extra: dict[str, Any] = {"Metadata": self._stored_metadata(metadata)}
        if content_type:
            extra["ContentType"] = content_type
        upload = _MultipartWriter(self.client, self.bucket, key, extra)
        try:
            yield cast(IO[bytes], upload)  # a RawIOBase writer: the stubs relate it to no IO[bytes]
            upload.complete()
        except BaseException:
            upload.abort()
            raise

    def _conditional_put(self, key: str, data: bytes, content_type: str, **condition: str) -> ObjectInfo | None:
        try:
            result = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **condition
            )
        except ClientError as error:
            if _code(error) in PRECONDITION_CODES:
                return None
            raise
        return ObjectInfo(key, len(data), str(result.get("ETag", "")).strip('"'), result.get("VersionId"))

    def create(self, key: str, data: bytes, *, content_type: str = "application/json") -> ObjectInfo | None:
        return self._conditional_put(key, data, content_type, IfNoneMatch="*")

    def replace(self, key: str, data: bytes, *, etag: str, content_type: str = "application/json") -> ObjectInfo | None:
        return self._conditional_put(key, data, content_type, IfMatch=f'"{etag}"')

    def delete(self, key: str, *, version: str | None = None) -> None:
        args = {"Bucket": self.bucket, "Key": key}
        if version:
            args["VersionId"] = version
        self.client.delete_object(**args)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield self._info(item["Key"], item)

    def server_copy(
        self,
        key: str,
        target: ObjectStore,
        target_key: str,
        *,
        metadata: Mapping[str, str] | None,
        version: str | None,
    ) -> ObjectInfo:
        """Server-side copy within S3: one CopyObject up to 5 GiB, which has S3 compute the copy's
        full-object CRC-32 (``info(checksum=True)`` reports it, so a copy can be checked against
        the bytes read); above that a managed multipart copy (a composite checksum)."""
        from boto3.s3.transfer import TransferConfig

        if not isinstance(target, S3Store):
            raise NotServerSide(target.url)
        source: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if version:
            source["VersionId"] = version
        extra: dict[str, Any] = {"ChecksumAlgorithm": "CRC32"}
        if metadata is not None:
            extra |= {"Metadata": target._stored_metadata(metadata), "MetadataDirective": "REPLACE"}
        config = TransferConfig(multipart_threshold=COPY_OBJECT_LIMIT, multipart_chunksize=MULTIPART_CHUNK * 8)
        try:
            self.client.copy(source, target.bucket, target_key, ExtraArgs=extra, Config=config)
        except ClientError as error:
            if _code(error) in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}:
                raise KeyError(key) from None
            raise
        info = target.info(target_key, checksum=True)
        assert info is not None
        return info


class _MultipartWriter(io.RawIOBase):
    """Buffers one part (16 MiB) at a time; a file smaller than a part is one PutObject."""

    def __init__(self, client: Any, bucket: str, key: str, extra: dict[str, Any]) -> None:
        self.client, self.bucket, self.key, self.extra = client, bucket, key, extra
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        if len(self.buffer) >= MULTIPART_CHUNK:
            self._send_part()
        return len(data)

    def _send_part(self) -> None:
        if self.upload_id is None:
            created = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT", **self.extra
            )
            self.upload_id = created["UploadId"]
        number = len(self.parts) + 1
        result = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=bytes(self.buffer),
            ChecksumAlgorithm="CRC32",
        )
        part = {"PartNumber": number, "ETag": result["ETag"]}
        if result.get("ChecksumCRC32"):
            part["ChecksumCRC32"] = result["ChecksumCRC32"]
        self.parts.append(part)
        self.buffer.clear()

    def complete(self) -> None:
        if self.upload_id is None:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer), ChecksumAlgorithm="CRC32", **self.extra
            )
            return
        if self.buffer:
            self._send_part()
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
            ChecksumType="FULL_OBJECT",
        )

    def abort(self) -> None:
        if self.upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
