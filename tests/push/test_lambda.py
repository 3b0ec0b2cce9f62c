"""``bankgate.lambdas.presign``: the deployed handler, configured from the environment as in Lambda."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bankgate.lambdas.presign
from tests.push.conftest import Push, event

CLIENTS_TOML = """
[client_defaults]
content_types = ["text/plain"]

[clients.acme]
extensions = [".ach"]
max_size = "1 MiB"
"""


@pytest.fixture
def deployed(push: Push, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Push:
    clients = tmp_path / "clients.toml"
    clients.write_text(CLIENTS_TOML)
    monkeypatch.setenv("BANKGATE_STAGING", f"s3://{push.staging}")
    monkeypatch.setenv("BANKGATE_LEDGER", f"s3://{push.archive}/ledger/")
    monkeypatch.setenv("BANKGATE_CLIENTS", str(clients))
    monkeypatch.setattr(bankgate.lambdas.presign, "_grants", None)
    return push


def test_the_handler_grants_from_its_environment(deployed: Push) -> None:
    answer = bankgate.lambdas.presign.handler(event("jwt-post-uploads.json"))
    assert answer["statusCode"] == 201
    assert json.loads(answer["body"])["key"].startswith("inbound/acme/")
    assert bankgate.lambdas.presign.expire({"source": "aws.events"}) == {"expired": []}


def test_a_broken_configuration_is_a_500_in_one_sentence(deployed: Push, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANKGATE_CLIENTS", "/nonexistent/clients.toml")
    answer = bankgate.lambdas.presign.handler(event("jwt-post-uploads.json"))
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"]) == {
        "error": "internal",
        "message": "Something went wrong on our side; try again later.",
    }
    assert "nonexistent" not in answer["body"]
