"""``bankgate serve``: the presign API and the upload page on loopback, as deployed, in one process.

API Gateway's part is played here: requests under ``/api/`` become HTTP API payload-2.0 events
for ``push.api.handle``, and a JWT authorizer's: a bearer token signed with this server's key
(HS256, PyJWT) is checked, and its claims are passed on as ``authorizer.jwt.claims``. A token
that fails the check passes no claims, so the handler answers 401. Everything else is the
static upload page. ``LocalAuth.token`` is the local login: the demo prints a link holding a
signed test token for a client.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jwt

from bankgate.push.api import DEFAULT_CLAIM, MAX_BODY, handle
from bankgate.push.grants import Grants

ISSUER = "bankgate-local"
PAGE = Path(__file__).resolve().parent / "page"


class LocalAuth:
    """Signs and checks the local login's tokens (never used in a deployment: there API
    Gateway's JWT authorizer checks the identity provider's tokens)."""

    def __init__(self, key: bytes | None = None, claim: str = DEFAULT_CLAIM) -> None:
        self.key = key or secrets.token_bytes(32)
        self.claim = claim

    def token(self, client: str, *, ttl: float = 3600, now: float | None = None) -> str:
        now = time.time() if now is None else now
        claims = {self.claim: client, "iss": ISSUER, "iat": int(now), "exp": int(now + ttl)}
        return jwt.encode(claims, self.key, algorithm="HS256")

    def claims(self, authorization: str) -> dict[str, Any] | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp"]})
        except jwt.PyJWTError:
            return None
        return {name: str(value) for name, value in claims.items()}  # API Gateway passes claims as strings


def event_of(method: str, target: str, headers: dict[str, str], body: bytes, claims: dict[str, Any] | None) -> dict:
    """The payload-2.0 event API Gateway would send for this request."""
    url = urlsplit(target)
    path = unquote(url.path).removeprefix("/api") or "/"
    context: dict[str, Any] = {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"}, "stage": "$default"}
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": []}}
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": url.query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": context,
        "body": body.decode("utf-8", "replace") if body else None,
        "isBase64Encoded": False,
    }


def make_server(grants: Grants, auth: LocalAuth, *, host: str = "127.0.0.1", port: int = 0, page: Path = PAGE):
    """A started-on-demand HTTP server (``serve_forever`` it in a thread); ``server_address``
    says where it listens."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # the demo's log is the ledger
            pass

        def _api(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._send(413, b'{"error": "bad_request", "message": "The request body is too large."}')
                return
            body = self.rfile.read(length)
            claims = auth.claims(self.headers.get("authorization", ""))
            answer = handle(
                grants, event_of(self.command, self.path, dict(self.headers), body, claims), claim=auth.claim
            )
            self._send(answer["statusCode"], answer["body"].encode(), answer["headers"])

        def _static(self) -> None:
            name = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
            file = (page / name).resolve()
            if not file.is_relative_to(page.resolve()) or not file.is_file():
                self._send(404, b"not found", {"content-type": "text/plain"})
                return
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            self._send(200, file.read_bytes(), {"content-type": kind, "cache-control": "no-cache"})

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {"content-type": "application/json"}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.send_header("x-content-type-options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _route(self) -> None:
            if self.path.startswith("/api/"):
                self._api()
            elif self.command in ("GET", "HEAD"):
                self._static()
            else:
                self._send(405, json.dumps({"error": "not_allowed", "message": "Not allowed."}).encode())

        do_GET = do_POST = do_DELETE = do_HEAD = _route

    return ThreadingHTTPServer((host, port), Handler)


def serve_in_thread(grants: Grants, auth: LocalAuth, **options: Any) -> tuple[ThreadingHTTPServer, str]:
    """The server running in a daemon thread, and its base URL."""
    server = make_server(grants, auth, **options)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}"
