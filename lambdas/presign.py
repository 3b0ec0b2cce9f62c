"""The presign API's Lambda (API Gateway HTTP API, payload 2.0): thin over ``bankgate.push``.

Settings: ``BANKGATE_STAGING`` (the staging bucket), ``BANKGATE_LEDGER`` (ledger root URL),
``BANKGATE_CLIENTS`` (the TOML file with ``[clients.<id>]``; else ``BANKGATE_BANKS``),
``BANKGATE_CLIENT_CLAIM`` (the claim naming the client, default ``client_id``) and
``BANKGATE_PUSH_ROLE_ARN`` (the role scoped credentials assume; unset: none offered). Only the
service and its clients live at module level, built on the first request.
"""

from __future__ import annotations

import logging
from typing import Any

from bankgate.config import ConfigError
from bankgate.push.api import DEFAULT_CLAIM, error, handle
from bankgate.push.grants import Grants

log = logging.getLogger(__name__)
_grants: Grants | None = None
_claim = DEFAULT_CLAIM


def grants() -> Grants:
    global _grants, _claim
    if _grants is None:
        import boto3

        from bankgate.push.clients import load_clients
        from bankgate.settings import push_settings
        from bankgate.store.s3 import default_client

        settings = push_settings()
        if not settings["ledger"]:
            raise ConfigError("BANKGATE_LEDGER is not set: the presign API records every grant there")
        _grants = Grants.open(
            settings["staging"],
            settings["ledger"],
            load_clients(settings["clients"]),
            s3=default_client(signature_version="s3v4"),  # SigV4 signs the headers
            sts=boto3.client("sts"),
            role_arn=settings["role_arn"],
        )
        _claim = settings["claim"]
    return _grants


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    try:
        service = grants()
    except (ConfigError, KeyError):  # a broken deployment: logged in full, answered in one sentence
        log.exception("presign: the configuration cannot be loaded")
        return error(500, "internal", "Something went wrong on our side; try again later.")
    return handle(service, event, claim=_claim)


def expire(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """A scheduled (EventBridge) invocation: grants whose links ran out unused become expired."""
    return {"expired": grants().expire_unused()}
