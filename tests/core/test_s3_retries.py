"""S3's ``503 SlowDown`` is retried with backoff by every S3 client bankgate makes
(``bankgate.store.s3.RETRIES``): moto over HTTP behind a loopback proxy that answers the first
requests with SlowDown, as S3 does while it splits a hot prefix."""

from __future__ import annotations

import http.client
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import boto3
import pytest

from bankgate.store.s3 import RETRIES, S3Store, default_client, retries
from tests.fixtures.clouds import point_aws_at
from tests.fixtures.pipeline import Aws

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>bench</RequestId></Error>"
)


class SlowDownProxy(ThreadingHTTPServer):
    """Forwards every request to moto, except that the next ``refusals`` get a 503 SlowDown."""

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = urlparse(upstream)
        self.refusals = 0
        self.seen: list[int] = []  # the status each request was answered with
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    server: SlowDownProxy

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            refuse = self.server.refusals > 0
            self.server.refusals -= refuse
        if refuse:
            self._answer(503, {"Content-Type": "application/xml"}, SLOW_DOWN)
            return
        up = self.server.upstream
        connection = http.client.HTTPConnection(up.hostname or "127.0.0.1", up.port, timeout=10)
        try:
            connection.request(self.command, self.path, body=body, headers=dict(self.headers))
            got = connection.getresponse()
            answer = got.read()
            self._answer(got.status, {k: v for k, v in got.getheaders() if k.lower() != "transfer-encoding"}, answer)
        finally:
            connection.close()

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.server.seen.append(status)
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _any

    def log_message(self, *args: object) -> None:  # not a line per request
        pass


@pytest.fixture
def proxy(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowDownProxy]:
    point_aws_at(moto_url, monkeypatch)
    server = SlowDownProxy(moto_url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_slow_down_is_retried_with_backoff_until_the_write_lands(proxy: SlowDownProxy) -> None:
    bucket = f"slow-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=str(proxy.upstream.geturl())).create_bucket(Bucket=bucket)
    store = S3Store(bucket)  # the default client: bankgate's retry config
    assert store.client.meta.config.retries == dict(RETRIES)
    proxy.refusals = 2
    written = store.create("ledger/ab/record.json", b"{}")
    assert written is not None and store.read_bytes("ledger/ab/record.json") == b"{}"
    assert proxy.seen[:3] == [503, 503, 200]  # the same PUT, answered at its third attempt


def test_every_s3_client_bankgate_makes_has_the_retry_config(aws: Aws) -> None:
    import bankgate.lambdas.process

    assert RETRIES["mode"] == "standard" and RETRIES["total_max_attempts"] > 3  # more than botocore's default
    processing = bankgate.lambdas.process.pipeline()
    for store in (processing.staging, processing.archive, processing.ledger.store):
        assert isinstance(store, S3Store) and store.client.meta.config.retries == dict(RETRIES)
    signing = default_client(signature_version="s3v4")
    assert signing.meta.config.retries == dict(RETRIES) and signing.meta.config.signature_version == "s3v4"


@pytest.mark.parametrize("where", ["AWS_MAX_ATTEMPTS", "profile max_attempts", "AWS_RETRY_MODE"])
def test_an_operators_own_retry_setting_wins(
    proxy: SlowDownProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    """Two attempts chosen by the operator (the environment or the profile) are two, not
    bankgate's eight: the second SlowDown is the client's answer. With only the mode chosen,
    botocore's own attempts for that mode apply (standard: 3 in all)."""
    from botocore.exceptions import ClientError

    if where == "AWS_MAX_ATTEMPTS":
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    elif where == "profile max_attempts":
        (tmp_path / "config").write_text("[default]\nmax_attempts = 2\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    else:
        monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    assert retries() is None
    bucket = f"slow-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=str(proxy.upstream.geturl())).create_bucket(Bucket=bucket)
    store = S3Store(bucket)
    attempts = 3 if where == "AWS_RETRY_MODE" else 2
    proxy.refusals = attempts
    with pytest.raises(ClientError, match="SlowDown"):
        store.create("ledger/ab/record.json", b"{}")
    assert proxy.seen == [503] * attempts
