"""API Gateway HTTP API (payload format 2.0) events in, JSON responses out.

Who the client is comes only from the authorizer context: a JWT authorizer's claims
(``requestContext.authorizer.jwt.claims``) or a Lambda authorizer's context
(``requestContext.authorizer.lambda``), under a configurable claim name (``client_claim``).
The body never decides it. No identity: 401; an identity not configured: 403.

Routes: a grant, then either the server-driven multipart endpoints (the script client, and the
shape of ``@uppy/aws-s3``'s multipart callbacks up to Uppy 4), or ``/sign`` for Uppy 6's
``signRequest``, where the browser makes each S3 request itself:

====================================  =================================================
``POST   /uploads``                   grant one upload (``grants.Grants.create``)
``GET    /uploads/{id}/parts``        the parts S3 holds (resume)
``GET|POST /uploads/{id}/parts/{n}``  a presigned URL for part ``n``
``POST   /uploads/{id}/complete``     complete the multipart upload
``DELETE /uploads/{id}``              abort it
``POST   /uploads/{id}/sign``         ``s3-multipart``: sign one S3 request (Uppy 6)
====================================  =================================================

Every refusal is ``{"error": code, "message": one sentence}``; an unexpected exception is
logged here and answered with ``internal`` and nothing of it (no trace, ARN or bucket policy).
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from bankgate.push.grants import Grants, PushError

log = logging.getLogger(__name__)
DEFAULT_CLAIM = "client_id"
#: A request body larger than this is not an upload request.
MAX_BODY = 16 << 10

_ROUTES = [
    ("POST", re.compile(r"^/uploads/?$"), "create"),
    ("GET", re.compile(r"^/uploads/(?P<id>[^/]+)/parts/?$"), "list_parts"),
    ("GET", re.compile(r"^/uploads/(?P<id>[^/]+)/parts/(?P<n>[^/]+)$"), "sign_part"),
    ("POST", re.compile(r"^/uploads/(?P<id>[^/]+)/parts/(?P<n>[^/]+)$"), "sign_part"),
    ("POST", re.compile(r"^/uploads/(?P<id>[^/]+)/complete$"), "complete"),
    ("POST", re.compile(r"^/uploads/(?P<id>[^/]+)/sign$"), "sign_s3"),
    ("DELETE", re.compile(r"^/uploads/(?P<id>[^/]+)$"), "abort"),
]


def response(status: int, body: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "cache-control": "no-store"},
        "body": json.dumps(body),
    }


def error(status: int, code: str, message: str) -> dict[str, Any]:
    return response(status, {"error": code, "message": message})


def identity(event: Mapping[str, Any], claim: str = DEFAULT_CLAIM) -> str | None:
    """The client id the authorizer vouched for, or None."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    for context in ((authorizer.get("jwt") or {}).get("claims"), authorizer.get("lambda")):
        if isinstance(context, Mapping):
            value = context.get(claim)
            if isinstance(value, str) and value:
                return value
    return None


def body_of(event: Mapping[str, Any]) -> Any:
    raw = event.get("body")
    if raw in (None, ""):
        return {}
    too_large = PushError(413, "body_too_large", f"The request body is larger than the {MAX_BODY:,} bytes allowed.")
    if not isinstance(raw, str) or len(raw) > MAX_BODY * 2:  # a bound before decoding anything
        raise too_large
    try:
        data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
        if len(data) > MAX_BODY:
            raise too_large
        return json.loads(data.decode())
    except (ValueError, UnicodeDecodeError):
        raise PushError(400, "bad_request", "The request body is not valid JSON.") from None


def route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """The action a request names and its path parameters, or None."""
    for verb, pattern, action in _ROUTES:
        match = pattern.match(path)
        if match and verb == method:
            return action, match.groupdict()
    return None


def handle(grants: Grants, event: Mapping[str, Any], *, claim: str = DEFAULT_CLAIM) -> dict[str, Any]:
    """One HTTP API request; always a response, never an exception."""
    try:
        http = (event.get("requestContext") or {}).get("http") or {}
        method, path = http.get("method", ""), event.get("rawPath") or http.get("path", "")
        found = route(method, path)
        if found is None:
            return error(404, "not_found", "No such endpoint.")
        action, params = found
        client = identity(event, claim)
        if client is None:
            return error(401, "unauthenticated", "Sign in first: the request carries no client identity.")
        upload = params.get("id", "")
        if action == "create":
            return response(201, grants.create(client, body_of(event)))
        if action == "sign_part":
            return response(200, grants.sign_part(client, upload, params["n"]))
        if action == "list_parts":
            return response(200, grants.list_parts(client, upload))
        if action == "sign_s3":
            return response(200, grants.sign_s3(client, upload, body_of(event)))
        if action == "complete":
            return response(200, grants.complete(client, upload, body_of(event)))
        return response(200, grants.abort(client, upload))
    except PushError as refused:
        return error(refused.status, refused.code, refused.message)
    except Exception:
        log.exception("presign: unexpected error")
        return error(500, "internal", "Something went wrong on our side; try again later.")
