"""The presign handler on recorded API Gateway HTTP API (2.0) events, against moto over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from bankgate.ledger import links
from bankgate.push import records
from bankgate.push.api import handle
from tests.push.conftest import Push, event


def call(push: Push, name: str, body: Any = None, **changes: Any) -> tuple[int, Any]:
    raw = event(name, **changes)
    if body is not None:
        raw["body"], raw["isBase64Encoded"] = json.dumps(body), False
    answer = handle(push.grants, raw)
    assert answer["headers"]["content-type"] == "application/json"
    return answer["statusCode"], json.loads(answer["body"])


def post(push: Push, body: Any) -> tuple[int, Any]:
    return call(push, "jwt-post-uploads.json", body)


def test_a_jwt_client_gets_a_put_that_lands_the_file_and_one_ledger_record(push: Push) -> None:
    status, answer = call(push, "jwt-post-uploads.json")
    assert status == 201, answer
    assert answer["method"] == "put" and answer["name"] == "payroll.ach"
    assert answer["key"].startswith("inbound/acme/") and answer["key"].endswith(f"/payroll~{answer['upload_id']}.ach")
    data = b"1" * 940
    put = requests.put(answer["url"], data=data, headers=answer["headers"], timeout=10)
    assert put.status_code == 200
    assert push.s3.get_object(Bucket=push.staging, Key=answer["key"])["Body"].read() == data
    store, prefix = push.grants.ledger, push.grants.ledger_prefix
    record = records.get(store, prefix, "acme", answer["upload_id"])
    assert record is not None
    assert (record.client, record.name, record.size, record.state) == ("acme", "payroll.ach", 940, "granted")
    link = json.loads(store.read_bytes(prefix + links.key(f"s3://{push.staging}/{answer['key']}")))
    assert link == {
        "kind": "push",
        "owner": "acme",
        "record": f"uploads/acme/{answer['upload_id']}.json",  # relative to the root
        "name": "payroll.ach",
        "day": record.day,
    }


def test_a_base64_body_without_an_authorizer_is_401(push: Push) -> None:
    assert call(push, "no-authorizer.json") == (
        401,
        {"error": "unauthenticated", "message": "Sign in first: the request carries no client identity."},
    )


def test_a_missing_claim_is_401_and_an_unknown_client_403(push: Push) -> None:
    raw = event("jwt-post-uploads.json")
    del raw["requestContext"]["authorizer"]["jwt"]["claims"]["client_id"]
    assert handle(push.grants, raw)["statusCode"] == 401
    assert handle(push.grants, raw, claim="sub")["statusCode"] == 403  # a claim, but no such client
    raw["requestContext"]["authorizer"]["jwt"]["claims"]["client_id"] = "initech"
    assert json.loads(handle(push.grants, raw)["body"])["error"] == "forbidden"


def test_an_oversized_request_body_is_413_in_one_sentence(push: Push) -> None:
    name = "x" * (20 << 10)  # over the 16 KiB an upload request needs, under the pre-decoding bound
    status, answer = post(push, {"name": name, "size": 1, "content_type": "text/plain"})
    assert (status, answer) == (
        413,
        {"error": "body_too_large", "message": "The request body is larger than the 16,384 bytes allowed."},
    )
    raw = event("jwt-post-uploads.json", body="x" * (40 << 10))
    assert json.loads(handle(push.grants, raw)["body"])["error"] == "body_too_large"


def test_the_body_never_decides_the_client(push: Push) -> None:
    status, answer = post(push, {"name": "x.ach", "size": 1, "content_type": "text/plain", "client": "globex"})
    assert (status, answer["error"]) == (400, "bad_request")


def test_a_lambda_authorizer_context_names_the_client(push: Push) -> None:
    status, answer = call(push, "lambda-authorizer-sign-part.json")
    assert (status, answer["error"]) == (404, "not_found")  # known client, but no such upload


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        ["a list"],
        {"name": "x.ach"},
        {"name": "x.ach", "size": "12", "content_type": "text/plain"},
        {"name": "x.ach", "size": True, "content_type": "text/plain"},
        {"name": 3, "size": 12, "content_type": "text/plain"},
        {"name": "x.ach", "size": 12, "content_type": "text/plain", "method": "ftp"},
    ],
)
def test_malformed_bodies_are_400_with_one_sentence(push: Push, body: Any) -> None:
    raw = event("jwt-post-uploads.json", body=body if isinstance(body, str) else json.dumps(body))
    answer = handle(push.grants, raw)
    assert answer["statusCode"] == 400
    refusal = json.loads(answer["body"])
    assert set(refusal) == {"error", "message"} and refusal["error"] == "bad_request"
    assert refusal["message"].endswith(".") and "\n" not in refusal["message"]


@pytest.mark.parametrize(
    "name",
    [
        "../payroll.ach",
        "a/payroll.ach",
        "/etc/payroll.ach",
        "C:payroll.ach",
        "pay\nroll.ach",
        "CON.ach",
        ".ach",
        "x" * 300 + ".ach",
    ],
)
def test_untrusted_names_are_refused(push: Push, name: str) -> None:
    status, answer = post(push, {"name": name, "size": 10, "content_type": "text/plain"})
    assert (status, answer["error"]) == (400, "bad_name"), answer


def test_refusals_for_type_size_and_checksum(push: Push) -> None:
    assert post(push, {"name": "x.exe", "size": 10, "content_type": "text/plain"})[1]["error"] == "type_not_allowed"
    assert post(push, {"name": "x.ach", "size": 10, "content_type": "text/html"})[0] == 415
    status, answer = post(push, {"name": "x.ach", "size": 65 << 20, "content_type": "text/plain"})
    assert (status, answer["error"]) == (413, "too_large")
    assert post(push, {"name": "x.ach", "size": 10, "content_type": "text/plain", "sha256": "zz"})[1]["error"] == (
        "bad_checksum"
    )
    assert post(push, {"name": "x.ach", "size": 0, "content_type": "text/plain"})[1]["error"] == "empty_file"


def test_the_quota_counts_grants_per_day(push: Push) -> None:
    body = {"name": "x.csv", "size": 10, "content_type": "text/csv"}
    assert all(post(push, body)[0] == 201 for _ in range(20))
    assert post(push, body) == (429, {"error": "quota_exceeded", "message": "Today's 20 uploads are used up."})


def test_two_uploads_of_one_name_never_share_a_key(push: Push) -> None:
    body = {"name": "payroll.ach", "size": 3, "content_type": "text/plain"}
    first, second = post(push, body)[1], post(push, body)[1]
    assert first["key"] != second["key"]
    for answer, data in ((first, b"one"), (second, b"two")):
        assert requests.put(answer["url"], data=data, headers=answer["headers"], timeout=10).status_code == 200
    assert push.s3.get_object(Bucket=push.staging, Key=first["key"])["Body"].read() == b"one"


def test_a_declared_checksum_and_the_content_type_are_signed_into_the_put(push: Push) -> None:
    """S3 checks SigV4 over the signed headers, so other bytes (another x-amz-checksum-sha256)
    or another content type fail there. moto does not check presigned signatures or checksums,
    so the test reads what the URL signs (``test_presigned`` recomputes its signature as S3 does)."""
    data = b"101 091000019 1234567891\n"
    digest = hashlib.sha256(data).hexdigest()
    status, answer = post(push, {"name": "p.ach", "size": len(data), "content_type": "text/plain", "sha256": digest})
    assert status == 201
    assert answer["headers"]["x-amz-checksum-sha256"] == base64.b64encode(bytes.fromhex(digest)).decode()
    query = parse_qs(urlparse(answer["url"]).query)
    assert query["X-Amz-SignedHeaders"] == ["content-type;host;x-amz-checksum-sha256"]
    assert 590 <= int(query["X-Amz-Expires"][0]) <= 600  # the client's link expiry
    assert requests.put(answer["url"], data=data, headers=answer["headers"], timeout=10).status_code == 200
    other = post(push, {"name": "p.ach", "size": len(data), "content_type": "text/plain", "sha256": "ab" * 32})[1]
    assert parse_qs(urlparse(other["url"]).query)["X-Amz-Signature"] != query["X-Amz-Signature"]


def test_a_presigned_post_carries_the_exact_size_in_its_policy(push: Push) -> None:
    status, answer = post(push, {"name": "p.csv", "size": 5, "content_type": "text/csv", "method": "post"})
    assert status == 201
    policy = json.loads(base64.b64decode(answer["fields"]["policy"]))
    assert ["content-length-range", 5, 5] in policy["conditions"]
    assert {"Content-Type": "text/csv"} in policy["conditions"]
    files = {"file": ("p.csv", b"a,b,c")}
    assert requests.post(answer["url"], data=answer["fields"], files=files, timeout=10).status_code == 204
    assert push.s3.head_object(Bucket=push.staging, Key=answer["key"])["ContentLength"] == 5


def test_an_unexpected_error_leaks_nothing(push: Push) -> None:
    push.s3.delete_bucket(Bucket=push.archive)  # the ledger's bucket is gone: botocore names it
    raw = handle(push.grants, event("jwt-post-uploads.json"))
    assert raw["statusCode"] == 500
    assert json.loads(raw["body"]) == {
        "error": "internal",
        "message": "Something went wrong on our side; try again later.",
    }
