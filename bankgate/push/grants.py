"""Granting one client one upload into staging: the service the presign API is thin over.

A grant is checked (name, type, size, quota), recorded (``records``: one upload, one record,
from this moment) and answered with the one way to upload that fits:

- ``put``: a presigned PUT bound to the key, the content type and, when the client declared a
  SHA-256, ``x-amz-checksum-sha256``: S3 refuses other bytes itself;
- ``post``: a presigned POST whose policy holds the key, the content type and a
  ``content-length-range`` of exactly the declared size: S3 refuses another size;
- ``multipart`` (above the client's threshold, or asked for): the upload is created here; each
  part is signed on request, and ``complete`` checks the parts add up to the declared size;
- ``s3-multipart`` (the upload page, Uppy 6): every S3 request of a multipart upload (create,
  each part, list, complete, abort) is presigned on request, always on the grant's key;
- ``credentials`` (scripts): STS ``AssumeRole`` with a session policy allowing the writes of
  that one key, nothing else, for the link's lifetime.

Whole-object SHA-256 is checked by S3 for ``put`` only; for the others the pipeline compares
the received bytes and size with the declared ones (``records.checksum_mismatch``) and
quarantines.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bankgate.archives.names import UnsafeName, normalise
from bankgate.push import records
from bankgate.push.clients import MAX_SINGLE_PUT, ClientConfig
from bankgate.store import ObjectStore, open_url, split_url

#: S3's multipart bounds.
MAX_PARTS = 10_000
MIN_PART = 5 << 20
#: A file name's longest (bytes of UTF-8): what every file system and browser takes.
MAX_NAME_BYTES = 255
#: Names Windows tools cannot open or that mean a device there (a client's colleague will try).
RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
#: What Windows refuses in a name; ``*`` and ``?`` are also IAM wildcards in a session policy.
_ILLEGAL = re.compile(r'[<>:"|?*]')
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
METHODS = ("put", "post", "multipart", "s3-multipart", "credentials")
#: The S3 requests of an ``s3-multipart`` upload the browser makes itself, and what boto3 calls them.
S3_OPERATIONS = {
    "create": "create_multipart_upload",
    "part": "upload_part",
    "list": "list_parts",
    "complete": "complete_multipart_upload",
    "abort": "abort_multipart_upload",
}


class PushError(Exception):
    """A refusal the client is told of: an HTTP status, a stable code and one sentence."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class Request:
    """``POST /uploads``'s body, checked."""

    name: str
    size: int
    content_type: str
    sha256: str = ""  # hex
    method: str = ""  # "" lets the size decide

    @classmethod
    def from_body(cls, body: Any) -> Request:
        if not isinstance(body, Mapping):
            raise PushError(400, "bad_request", "The body must be a JSON object with name, size and content_type.")
        unknown = set(body) - {"name", "size", "content_type", "sha256", "method"}
        if unknown:
            raise PushError(400, "bad_request", f"Unknown field {sorted(unknown)[0]!r} in the body.")
        name, size, content_type = body.get("name"), body.get("size"), body.get("content_type")
        if not isinstance(name, str):
            raise PushError(400, "bad_request", "Field 'name' must be the file's name, a string.")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise PushError(400, "bad_request", "Field 'size' must be the file's size in bytes, a whole number.")
        if not isinstance(content_type, str) or not content_type:
            raise PushError(400, "bad_request", "Field 'content_type' must be the file's media type, a string.")
        method = body.get("method", "")
        if method not in ("", *METHODS):
            raise PushError(400, "bad_request", f"Field 'method' must be one of {', '.join(METHODS)}.")
        return cls(name, size, content_type.split(";")[0].strip().lower(), _sha256_hex(body.get("sha256")), method)


def _sha256_hex(value: Any) -> str:
    """A declared SHA-256 as hex, from hex or base64 (what S3's checksum header carries)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str) and _HEX.match(value):
        return value.lower()
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == 32:
            return raw.hex()
    raise PushError(400, "bad_checksum", "Field 'sha256' must be a SHA-256 digest, in hex or base64.")


def file_name(name: str) -> str:
    """The client's file name, checked by the one rule for untrusted names (``normalise``) and
    the rules of a single file name: no folders, no reserved or hidden names, not overlong."""
    try:
        clean = normalise(name)
    except UnsafeName as exc:
        raise PushError(400, "bad_name", f"The file name is refused: {exc}.") from None
    if "/" in clean:
        raise PushError(400, "bad_name", "The file name is refused: a name, not a path with folders.")
    if len(clean.encode()) > MAX_NAME_BYTES:
        raise PushError(400, "bad_name", f"The file name is refused: longer than {MAX_NAME_BYTES} bytes.")
    if _ILLEGAL.search(clean):
        raise PushError(400, "bad_name", 'The file name is refused: it holds one of < > : " | ? *.')
    if clean.startswith(".") or clean.endswith((".", " ")) or RESERVED.match(clean):
        raise PushError(400, "bad_name", "The file name is refused: a hidden or reserved name.")
    return clean


def unique_key(prefix: str, name: str, extension: str, upload_id: str) -> str:
    """``<prefix><stem>~<upload id><extension>``: the name stays recognisable and keeps its
    type, and two uploads of one name never share a key."""
    stem = name[: len(name) - len(extension)] if extension else name
    return f"{prefix}{stem}~{upload_id}{name[len(stem) :]}"


@dataclass(frozen=True, slots=True)
class Grants:
    """The push service for one staging bucket. ``s3``/``sts`` are boto3 clients (made once,
    reused); ``role_arn`` is the role a script's credentials assume (empty: no credentials)."""

    staging: str  # s3://bucket
    ledger: ObjectStore
    ledger_prefix: str
    clients: Mapping[str, ClientConfig]
    s3: Any
    sts: Any = None
    role_arn: str = ""
    clock: Callable[[], float] = time.time  # seconds since the epoch; a test moves it on

    @classmethod
    def open(cls, staging: str, ledger: str, clients: Mapping[str, ClientConfig], *, s3: Any, **kw: Any) -> Grants:
        store, prefix = open_url(ledger, s3_client=s3)
        return cls(staging, store, prefix, clients, s3, **kw)

    @property
    def bucket(self) -> str:
        return split_url(self.staging)[1]

    def client(self, client: str) -> ClientConfig:
        config = self.clients.get(client)
        if config is None:
            raise PushError(403, "forbidden", "This client may not push files.")
        return config

    # -- POST /uploads ---------------------------------------------------------------------------

    def create(self, client: str, body: Any, *, now: float | None = None) -> dict[str, Any]:
        config = self.client(client)
        request = Request.from_body(body)
        name = file_name(request.name)
        extension = max((e for e in config.extensions if name.lower().endswith(e)), key=len, default="")
        if not extension:
            allowed = ", ".join(sorted(config.extensions))
            raise PushError(415, "type_not_allowed", f"Files of this type are not accepted; allowed: {allowed}.")
        if request.content_type not in config.content_types:
            allowed = ", ".join(sorted(config.content_types))
            raise PushError(
                415, "type_not_allowed", f"Content type {request.content_type} is not accepted; allowed: {allowed}."
            )
        if request.size > config.max_size:
            raise PushError(413, "too_large", f"The file is larger than the {config.max_size:,} bytes allowed.")
        if request.size == 0:
            raise PushError(400, "empty_file", "The file is empty.")
        method = request.method or ("multipart" if request.size > config.multipart_threshold else "put")
        if method in ("put", "post") and request.size > MAX_SINGLE_PUT:
            raise PushError(400, "too_large_for_method", "Files over 5 GiB need a multipart upload.")
        if method == "credentials" and not (self.sts and self.role_arn):
            raise PushError(400, "method_not_available", "Scoped credentials are not offered here.")
        now = self.clock() if now is None else now
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        try:
            records.take_quota(self.ledger, self.ledger_prefix, client, day, config.uploads_per_day)
        except records.QuotaExceeded:
            raise PushError(429, "quota_exceeded", f"Today's {config.uploads_per_day} uploads are used up.") from None
        while True:
            upload_id = secrets.token_hex(6)
            key = unique_key(config.staging_prefix(day), name, extension, upload_id)
            record = records.UploadRecord(
                upload_id=upload_id,
                client=client,
                name=name,
                key=key,
                staged_url=f"s3://{self.bucket}/{key}",
                size=request.size,
                content_type=request.content_type,
                sha256=request.sha256,
                method=method,  # type: ignore[arg-type]
                day=day,
                granted_at=now,
                expires_at=now + config.link_expiry,
            )
            if method == "multipart":
                record = replace(record, multipart_id=self._create_multipart(record))
            if records.grant(self.ledger, self.ledger_prefix, record):
                break
        answer = {
            "upload_id": upload_id,
            "key": key,
            "name": name,
            "method": method,
            "expires_at": datetime.fromtimestamp(record.expires_at, UTC).isoformat(timespec="seconds"),
        }
        return answer | getattr(self, f"_answer_{method.replace('-', '_')}")(record, config)

    def _create_multipart(self, record: records.UploadRecord) -> str:
        return self.s3.create_multipart_upload(Bucket=self.bucket, Key=record.key, ContentType=record.content_type)[
            "UploadId"
        ]

    def _expires_in(self, record: records.UploadRecord, now: float | None = None) -> int:
        return max(1, int(record.expires_at - (self.clock() if now is None else now)))

    def _answer_put(self, record: records.UploadRecord, config: ClientConfig) -> dict[str, Any]:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": record.key, "ContentType": record.content_type}
        headers = {"Content-Type": record.content_type}
        if record.sha256:
            params["ChecksumSHA256"] = headers["x-amz-checksum-sha256"] = _b64(record.sha256)
        url = self.s3.generate_presigned_url("put_object", Params=params, ExpiresIn=self._expires_in(record))
        return {"url": url, "headers": headers}

    def _answer_post(self, record: records.UploadRecord, config: ClientConfig) -> dict[str, Any]:
        fields = {"Content-Type": record.content_type}
        conditions: list[Any] = [
            {"Content-Type": record.content_type},
            ["content-length-range", record.size, record.size],
        ]
        if record.sha256:
            fields["x-amz-checksum-sha256"] = _b64(record.sha256)
            conditions.append({"x-amz-checksum-sha256": fields["x-amz-checksum-sha256"]})
        post = self.s3.generate_presigned_post(
            self.bucket, record.key, Fields=fields, Conditions=conditions, ExpiresIn=self._expires_in(record)
        )
        return {"url": post["url"], "fields": post["fields"]}

    def _answer_multipart(self, record: records.UploadRecord, config: ClientConfig) -> dict[str, Any]:
        part = max(MIN_PART, -(-record.size // MAX_PARTS))
        return {"uploadId": record.upload_id, "part_size": part, "parts": -(-record.size // part)}

    def _answer_s3_multipart(self, record: records.UploadRecord, config: ClientConfig) -> dict[str, Any]:
        return {"uploadId": record.upload_id}

    def _answer_credentials(self, record: records.UploadRecord, config: ClientConfig) -> dict[str, Any]:
        answer = self.sts.assume_role(
            RoleArn=self.role_arn,
            RoleSessionName=f"push-{record.client}-{record.upload_id}"[:64],
            Policy=json.dumps(session_policy(self.bucket, record.key)),
            DurationSeconds=max(900, min(3600, config.link_expiry)),  # STS's bounds
        )
        creds = answer["Credentials"]
        return {
            "bucket": self.bucket,
            "credentials": {
                "access_key_id": creds["AccessKeyId"],
                "secret_access_key": creds["SecretAccessKey"],
                "session_token": creds["SessionToken"],
                "expiration": creds["Expiration"].isoformat()
                if hasattr(creds["Expiration"], "isoformat")
                else str(creds["Expiration"]),
            },
        }

    # -- multipart: /uploads/{id}/... --------------------------------------------------------------

    def _multipart(self, client: str, upload_id: str, *, now: float | None = None) -> records.UploadRecord:
        return self._open(client, upload_id, now=now, method="multipart")

    def _open(self, client: str, upload_id: str, *, now: float | None, method: str) -> records.UploadRecord:
        """The caller's own open grant of that method, or the refusal that says why not."""
        self.client(client)
        record = records.get(self.ledger, self.ledger_prefix, client, upload_id) if _ID.match(upload_id) else None
        if record is None or record.method != method:
            raise PushError(404, "not_found", "No multipart upload of yours has this id.")
        if record.state != "granted":
            raise PushError(409, "not_open", f"This upload is already {record.state}.")
        if (self.clock() if now is None else now) >= record.expires_at:
            raise PushError(410, "expired", "This upload link has expired; ask for a new one.")
        return record

    def sign_part(self, client: str, upload_id: str, part: str, *, now: float | None = None) -> dict[str, Any]:
        record = self._multipart(client, upload_id, now=now)
        if not part.isdigit() or not 1 <= int(part) <= MAX_PARTS:
            raise PushError(400, "bad_part", f"A part number is from 1 to {MAX_PARTS}.")
        params = {"Bucket": self.bucket, "Key": record.key, "UploadId": record.multipart_id, "PartNumber": int(part)}
        url = self.s3.generate_presigned_url("upload_part", Params=params, ExpiresIn=self._expires_in(record, now))
        return {"url": url, "headers": {}}

    def sign_s3(self, client: str, upload_id: str, body: Any, *, now: float | None = None) -> dict[str, Any]:
        """A presigned URL for one S3 request of an ``s3-multipart`` upload, which the browser
        makes itself (Uppy 6's ``signRequest``): always on the grant's own key, so S3 refuses
        an upload id of any other key. Its completion is S3's, so the size is checked by the
        pipeline (``records.checksum_mismatch``) rather than here."""
        record = self._open(client, upload_id, now=now, method="s3-multipart")
        if not isinstance(body, Mapping) or body.get("operation") not in S3_OPERATIONS:
            raise PushError(400, "bad_request", f"Field 'operation' must be one of {', '.join(S3_OPERATIONS)}.")
        operation = body["operation"]
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": record.key}
        if operation == "create":
            params["ContentType"] = record.content_type
        else:
            s3_id = body.get("upload_id")
            if not isinstance(s3_id, str) or not s3_id or len(s3_id) > 1024:
                raise PushError(400, "bad_request", "Field 'upload_id' must be S3's id of the multipart upload.")
            params["UploadId"] = s3_id
        if operation == "part":
            part = body.get("part")
            if isinstance(part, bool) or not isinstance(part, int) or not 1 <= part <= MAX_PARTS:
                raise PushError(400, "bad_part", f"A part number is from 1 to {MAX_PARTS}.")
            params["PartNumber"] = part
        method = {"create": "POST", "part": "PUT", "list": "GET", "complete": "POST", "abort": "DELETE"}[operation]
        url = self.s3.generate_presigned_url(
            S3_OPERATIONS[operation], Params=params, ExpiresIn=self._expires_in(record, now), HttpMethod=method
        )
        if operation == "abort":
            records.advance(
                self.ledger, self.ledger_prefix, client, upload_id, "expired", reason="aborted by the client"
            )
        headers = {"Content-Type": record.content_type} if operation == "create" else {}
        return {"url": url, "key": record.key, "headers": headers}

    def list_parts(self, client: str, upload_id: str) -> list[dict[str, Any]]:
        record = self._multipart(client, upload_id)
        parts: list[dict[str, Any]] = []
        marker = 0
        while True:
            page = self.s3.list_parts(
                Bucket=self.bucket, Key=record.key, UploadId=record.multipart_id, PartNumberMarker=marker
            )
            parts += [
                {"PartNumber": p["PartNumber"], "Size": p["Size"], "ETag": p["ETag"]} for p in page.get("Parts", [])
            ]
            if not page.get("IsTruncated"):
                return parts
            marker = page["NextPartNumberMarker"]

    def complete(self, client: str, upload_id: str, body: Any) -> dict[str, Any]:
        """Complete from the parts S3 holds (the client's list, when given, must name them):
        a multipart upload whose parts do not add up to the declared size is aborted."""
        record = self._multipart(client, upload_id)
        held = {p["PartNumber"]: p for p in self.list_parts(client, upload_id)}
        wanted = body.get("parts") if isinstance(body, Mapping) else None
        if wanted is not None:
            try:
                numbers = [int(p["PartNumber"]) for p in wanted]
            except (TypeError, KeyError, ValueError):
                raise PushError(400, "bad_request", "Field 'parts' must list {PartNumber, ETag} objects.") from None
            if any(n not in held for n in numbers):
                raise PushError(400, "bad_part", "A listed part was never uploaded.")
            held = {n: held[n] for n in numbers}
        size = sum(p["Size"] for p in held.values())
        if size != record.size:
            self.abort(client, upload_id, reason=f"parts add up to {size} bytes, not the {record.size} declared")
            raise PushError(
                400, "size_mismatch", f"The parts add up to {size:,} bytes, not the {record.size:,} declared."
            )
        self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=record.key,
            UploadId=record.multipart_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": held[n]["ETag"]} for n in sorted(held)]},
        )
        records.advance(self.ledger, self.ledger_prefix, client, upload_id, "uploaded")
        return {"upload_id": upload_id, "key": record.key, "state": "uploaded"}

    def abort(self, client: str, upload_id: str, *, reason: str = "aborted by the client") -> dict[str, Any]:
        record = self._multipart(client, upload_id)
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=record.key, UploadId=record.multipart_id)
        records.advance(self.ledger, self.ledger_prefix, client, upload_id, "expired", reason=reason)
        return {"upload_id": upload_id, "state": "expired"}

    # -- cleanup ---------------------------------------------------------------------------------

    def expire_unused(self, *, now: float | None = None) -> list[str]:
        """Mark ``expired`` every grant whose link ran out unused, aborting its multipart
        upload; the upload ids. A grant whose object is in staging is left to the pipeline
        (its event may still be queued): a listing of its key finds it, so the cleanup's role
        reads no client's bytes. Run on a schedule (``bankgate.lambdas.presign.expire``)."""
        now = self.clock() if now is None else now
        staging, _ = open_url(self.staging, s3_client=self.s3)
        expired = []
        for info in self.ledger.list(f"{self.ledger_prefix}uploads/"):
            record = records.UploadRecord.from_json(self.ledger.read_bytes(info.key))
            if record.state != "granted" or now < record.expires_at or _listed(staging, record.key):
                continue
            if record.multipart_id:
                with contextlib.suppress(self.s3.exceptions.NoSuchUpload):
                    self.s3.abort_multipart_upload(Bucket=self.bucket, Key=record.key, UploadId=record.multipart_id)
            moved = records.advance(
                self.ledger,
                self.ledger_prefix,
                record.client,
                record.upload_id,
                "expired",
                reason="link expired unused",
            )
            if moved is not None and moved.state == "expired":
                expired.append(record.upload_id)
        return expired


_ID = re.compile(r"^[0-9a-f]{12}$")


def _listed(store: ObjectStore, key: str) -> bool:
    return any(info.key == key for info in store.list(key))


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def session_policy(bucket: str, key: str) -> dict[str, Any]:
    """The policy a script's credentials carry: the writes of one key, and nothing else (no
    read, no list, no other key or bucket). The role may allow more; a session gets the
    intersection. The key holds no IAM wildcard (``file_name`` refuses ``*`` and ``?``)."""
    if _ILLEGAL.search(key):
        raise ValueError(f"a key with an IAM wildcard cannot be scoped: {key!r}")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": [f"arn:aws:s3:::{bucket}/{key}"],
            }
        ],
    }
