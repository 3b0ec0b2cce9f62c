"""``bankgate serve`` on its own: moto's S3 on loopback plays the staging and ledger buckets.

For trying the page and the client without an AWS account (the demo, a developer). moto comes
with the ``dev`` extra; nothing here runs in a deployment.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from bankgate.push.bucket import apply
from bankgate.push.clients import ClientConfig
from bankgate.push.grants import Grants
from bankgate.push.server import LocalAuth, serve_in_thread

DEMO_CLIENTS = {
    "acme": ClientConfig(
        client="acme",
        extensions=frozenset({".ach", ".bai", ".bai2", ".csv", ".txt", ".zip"}),
        content_types=frozenset({"text/plain", "text/csv", "application/zip", "application/octet-stream"}),
        max_size=2 << 30,
        uploads_per_day=500,
        link_expiry=3600,
    )
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_local(
    clients: dict[str, ClientConfig] | None = None,
    *,
    port: int = 0,
    moto_url: str = "",
    staging: str = "bankgate-staging",
    archive: str = "bankgate-archive",
    create: bool = True,
) -> tuple[Any, str, LocalAuth, Grants]:
    """moto (unless ``moto_url`` names a running one), the buckets (unless ``create`` is False:
    the demo made them) with their push rules, and the API + page server:
    ``(server, base URL, auth, grants)``. The ledger is ``s3://<archive>/ledger/``."""
    import boto3
    from botocore.config import Config

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log is not the demo's
    if not moto_url:
        from moto.server import ThreadedMotoServer

        moto_port = _free_port()
        ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False).start()
        moto_url = f"http://127.0.0.1:{moto_port}"
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        aws_access_key_id="demo",  # what moto accepts; nothing else is ever asked with them
        aws_secret_access_key="demo",
        region_name="us-east-1",
        config=Config(signature_version="s3v4"),
    )
    for bucket in (staging, archive) if create else ():
        s3.create_bucket(Bucket=bucket)
    port = port or _free_port()
    apply(s3, staging, [f"http://127.0.0.1:{port}"])
    grants = Grants.open(f"s3://{staging}", f"s3://{archive}/ledger/", clients or DEMO_CLIENTS, s3=s3)
    auth = LocalAuth()
    server, url = serve_in_thread(grants, auth, port=port)
    return server, url, auth, grants
