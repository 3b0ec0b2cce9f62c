"""What a grant's presigned requests bind, checked the way S3 checks them (``tests.fixtures.sigv4``:
botocore's signer, recomputed over the request as sent), since moto checks none of it: the key,
the content type, the declared SHA-256, a part's number and upload, the expiry; a POST's size."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.fixtures.sigv4 import policy_of, post_refusal, refusal
from tests.push.conftest import Push

DATA = b"101 091000019 1234567891\n"
DIGEST = hashlib.sha256(DATA).hexdigest()


def grant(push: Push, **body: object) -> dict[str, Any]:
    request = {"name": "p.ach", "size": len(DATA), "content_type": "text/plain", "sha256": DIGEST} | body
    return push.grants.create("acme", request)


def test_a_presigned_put_is_refused_for_any_other_request(push: Push) -> None:
    answer = grant(push)
    url, headers, now = answer["url"], answer["headers"], time.time()
    assert refusal(url, "PUT", headers, now=now) == ""  # the request the client is told to make
    other_digest = hashlib.sha256(b"other bytes").digest()
    tampered = {
        "another checksum": (url, "PUT", headers | {"x-amz-checksum-sha256": base64.b64encode(other_digest).decode()}),
        "another content type": (url, "PUT", headers | {"Content-Type": "text/html"}),
        "another key": (url.replace("/p~", "/q~"), "PUT", headers),
        "a longer life": (url.replace("X-Amz-Expires=", "X-Amz-Expires=9"), "PUT", headers),
        "a GET": (url, "GET", headers),
    }
    for what, (u, method, h) in tampered.items():
        assert refusal(u, method, h, now=now) == "SignatureDoesNotMatch", what
    without = {k: v for k, v in headers.items() if k != "x-amz-checksum-sha256"}
    assert refusal(url, "PUT", without, now=now) == "signed header x-amz-checksum-sha256 not sent"
    assert refusal(url, "PUT", headers | {"x-amz-meta-x": "1"}, now=now) == "header x-amz-meta-x sent but not signed"
    expires = datetime.fromisoformat(answer["expires_at"]).timestamp()
    assert refusal(url, "PUT", headers, now=expires - 5) == ""
    assert refusal(url, "PUT", headers, now=expires + 5) == "Request has expired"  # the link's expiry, S3's too


def test_a_put_without_a_declared_checksum_signs_no_checksum(push: Push) -> None:
    answer = grant(push, sha256=None)
    assert "x-amz-checksum-sha256" not in answer["headers"]
    assert refusal(answer["url"], "PUT", answer["headers"], now=time.time()) == ""


def test_a_multipart_part_url_is_bound_to_its_part_upload_and_key(push: Push) -> None:
    answer = grant(push, method="multipart", size=20 << 20, sha256=None)
    signed = push.grants.sign_part("acme", answer["uploadId"], "3")
    url, now = signed["url"], time.time()
    query = urlsplit(url).query
    assert "partNumber=3" in query and "uploadId=" in query
    assert refusal(url, "PUT", signed["headers"], now=now) == ""
    assert refusal(url.replace("partNumber=3", "partNumber=4"), "PUT", {}, now=now) == "SignatureDoesNotMatch"
    assert refusal(url.replace("uploadId=", "uploadId=x"), "PUT", {}, now=now) == "SignatureDoesNotMatch"
    assert refusal(url.replace("/p~", "/q~"), "PUT", {}, now=now) == "SignatureDoesNotMatch"


def test_each_s3_multipart_request_is_signed_for_its_own_method(push: Push) -> None:
    answer = grant(push, method="s3-multipart", size=20 << 20, sha256=None)
    methods = {"create": "POST", "part": "PUT", "list": "GET", "complete": "POST", "abort": "DELETE"}
    now = time.time()
    for operation, method in methods.items():
        body = {"operation": operation, "upload_id": "s3-id", "part": 2}
        signed = push.grants.sign_s3("acme", answer["uploadId"], body)
        assert refusal(signed["url"], method, signed["headers"], now=now) == "", operation
        wrong = "DELETE" if method != "DELETE" else "GET"
        assert refusal(signed["url"], wrong, signed["headers"], now=now) == "SignatureDoesNotMatch", operation
        if operation == "create":  # the content type the grant names, signed
            assert refusal(signed["url"], method, {"Content-Type": "text/html"}, now=now) == "SignatureDoesNotMatch"


def test_a_presigned_post_policy_holds_the_size_key_type_checksum_and_expiry(push: Push) -> None:
    answer = grant(push, method="post")
    fields, now = answer["fields"], time.time()
    assert post_refusal(fields, now=now) == ""
    conditions = policy_of(fields)["conditions"]
    assert ["content-length-range", len(DATA), len(DATA)] in conditions
    assert {"key": answer["key"]} in conditions and {"Content-Type": "text/plain"} in conditions
    assert {"x-amz-checksum-sha256": fields["x-amz-checksum-sha256"]} in conditions
    widened = dict(fields)
    policy = policy_of(fields)
    policy["conditions"] = [c for c in conditions if not (isinstance(c, list) and c[0] == "content-length-range")]
    widened["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    assert post_refusal(widened, now=now) == "SignatureDoesNotMatch"  # a policy without the limit is not signed
    expires = datetime.fromisoformat(answer["expires_at"]).timestamp()
    assert post_refusal(fields, now=expires + 5) == "Invalid according to Policy: Policy expired"
    assert datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")) <= datetime.fromtimestamp(
        expires + 1, UTC
    )


def test_moto_enforces_none_of_it(push: Push) -> None:
    """The reason for the above: moto 5 takes tampered bytes, another type and a POST over its
    size range. Should this fail, moto has begun to enforce and the tests can upload instead."""
    answer = grant(push)
    headers = answer["headers"] | {"Content-Type": "a/b"}
    sent = requests.put(answer["url"], data=b"x" * len(DATA), headers=headers, timeout=10)
    assert sent.status_code == 200
    posted = grant(push, method="post", sha256=None)
    files = {"file": ("p.ach", DATA + b"more")}
    assert requests.post(posted["url"], data=posted["fields"], files=files, timeout=10).status_code == 204
