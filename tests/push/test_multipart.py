"""Multipart uploads through the API, the way Uppy's @uppy/aws-s3 drives them, against moto."""

from __future__ import annotations

import json
import os
import time
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from bankgate.push import records
from bankgate.push.api import handle
from bankgate.push.grants import PushError
from tests.push.conftest import Push, event

MiB = 1 << 20


def call(push: Push, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    raw = event("jwt-post-uploads.json", rawPath=path, body=json.dumps(body) if body is not None else None)
    raw["requestContext"] = {**raw["requestContext"], "http": {**raw["requestContext"]["http"], "method": method}}
    answer = handle(push.grants, raw)
    return answer["statusCode"], json.loads(answer["body"])


def start(push: Push, size: int) -> dict[str, Any]:
    status, answer = call(push, "POST", "/uploads", {"name": "big.csv", "size": size, "content_type": "text/csv"})
    assert status == 201, answer
    assert answer["method"] == "multipart"
    return answer


def put_part(push: Push, upload: str, n: int, data: bytes) -> None:
    status, signed = call(push, "GET", f"/uploads/{upload}/parts/{n}")
    assert status == 200, signed
    assert requests.put(signed["url"], data=data, headers=signed["headers"], timeout=30).status_code == 200


def test_parts_signed_one_by_one_resume_from_the_list_and_complete(push: Push) -> None:
    data = os.urandom(12 * MiB)
    answer = start(push, len(data))
    upload, size = answer["uploadId"], answer["part_size"]
    assert (size, answer["parts"]) == (5 * MiB, 3)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    put_part(push, upload, 1, chunks[0])
    put_part(push, upload, 2, chunks[1])
    # the connection drops here; the client comes back and asks what S3 holds
    status, parts = call(push, "GET", f"/uploads/{upload}/parts")
    assert status == 200 and [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * MiB), (2, 5 * MiB)]
    put_part(push, upload, 3, chunks[2])
    status, done = call(push, "POST", f"/uploads/{upload}/complete")
    assert (status, done["state"]) == (200, "uploaded"), done
    assert push.s3.get_object(Bucket=push.staging, Key=answer["key"])["Body"].read() == data
    record = records.get(push.grants.ledger, push.grants.ledger_prefix, "acme", upload)
    assert record is not None and record.state == "uploaded"
    assert [h["state"] for h in record.history] == ["uploaded"]
    assert call(push, "GET", f"/uploads/{upload}/parts/4")[1]["error"] == "not_open"


def test_parts_that_do_not_add_up_to_the_declared_size_are_refused_and_aborted(push: Push) -> None:
    answer = start(push, 12 * MiB)
    upload = answer["uploadId"]
    put_part(push, upload, 1, b"x" * (5 * MiB))
    put_part(push, upload, 2, b"x" * (5 * MiB))
    status, refused = call(push, "POST", f"/uploads/{upload}/complete")
    assert (status, refused["error"]) == (400, "size_mismatch")
    assert push.s3.list_multipart_uploads(Bucket=push.staging).get("Uploads", []) == []
    record = records.get(push.grants.ledger, push.grants.ledger_prefix, "acme", upload)
    assert record is not None and record.state == "expired" and "not the 12582912 declared" in record.reason
    assert "Contents" not in push.s3.list_objects_v2(Bucket=push.staging)


def test_abort_and_an_expired_link(push: Push) -> None:
    upload = start(push, 9 * MiB)["uploadId"]
    assert call(push, "DELETE", f"/uploads/{upload}") == (200, {"upload_id": upload, "state": "expired"})
    assert push.s3.list_multipart_uploads(Bucket=push.staging).get("Uploads", []) == []
    late = start(push, 9 * MiB)["uploadId"]
    with pytest.raises(PushError) as refused:  # ten minutes and one second after the grant
        push.grants.sign_part("acme", late, "1", now=time.time() + 601)
    assert (refused.value.status, refused.value.code) == (410, "expired")


def test_another_clients_upload_is_not_found(push: Push) -> None:
    upload = start(push, 9 * MiB)["uploadId"]
    raw = event("lambda-authorizer-sign-part.json", rawPath=f"/uploads/{upload}/parts/1")
    assert handle(push.grants, raw)["statusCode"] == 200  # acme's own upload
    raw["requestContext"]["authorizer"]["lambda"]["client_id"] = "globex"
    assert json.loads(handle(push.grants, raw)["body"])["error"] == "not_found"
    for bad in ("..%2F..%2Facme", "ZZZZZZZZZZZZ", "0" * 12):
        raw = event("lambda-authorizer-sign-part.json", rawPath=f"/uploads/{bad}/parts/1")
        assert handle(push.grants, raw)["statusCode"] == 404, bad


def test_grants_that_expire_unused_are_marked_expired_and_their_parts_aborted(push: Push) -> None:
    unused = start(push, 9 * MiB)["uploadId"]
    put_part(push, unused, 1, b"x" * (5 * MiB))
    _, sent = call(push, "POST", "/uploads", {"name": "small.csv", "size": 3, "content_type": "text/csv"})
    assert requests.put(sent["url"], data=b"a,b", headers=sent["headers"], timeout=10).status_code == 200
    assert push.grants.expire_unused() == []  # nothing has run out yet
    assert push.grants.expire_unused(now=time.time() + 601) == [unused]
    record = records.get(push.grants.ledger, push.grants.ledger_prefix, "acme", unused)
    assert record is not None and (record.state, record.reason) == ("expired", "link expired unused")
    assert push.s3.list_multipart_uploads(Bucket=push.staging).get("Uploads", []) == []
    kept = records.get(push.grants.ledger, push.grants.ledger_prefix, "acme", sent["upload_id"])
    assert kept is not None and kept.state == "granted"  # in staging: the pipeline decides


def test_the_browser_makes_each_s3_request_of_a_multipart_upload_with_urls_signed_for_its_key(push: Push) -> None:
    """Uppy 6's ``signRequest`` flow: create, parts, list and complete go from the client to S3."""
    data = os.urandom(6 * MiB)
    body = {"name": "big.csv", "size": len(data), "content_type": "text/csv", "method": "s3-multipart"}
    status, grant = call(push, "POST", "/uploads", body)
    assert status == 201 and grant["method"] == "s3-multipart"
    upload = grant["uploadId"]

    def sign(**request: Any) -> dict[str, Any]:
        status, signed = call(push, "POST", f"/uploads/{upload}/sign", request)
        assert status == 200, signed
        assert signed["key"] == grant["key"]
        return signed

    created = sign(operation="create")
    answer = requests.post(created["url"], headers=created["headers"], timeout=10)
    s3_id = ElementTree.fromstring(answer.content).findtext("{*}UploadId")
    etags = []
    for n, chunk in enumerate((data[: 5 * MiB], data[5 * MiB :]), 1):
        put = requests.put(sign(operation="part", upload_id=s3_id, part=n)["url"], data=chunk, timeout=30)
        etags.append(put.headers["ETag"])
    listed = requests.get(sign(operation="list", upload_id=s3_id)["url"], timeout=10)
    assert len(ElementTree.fromstring(listed.content).findall("{*}Part")) == 2
    xml = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1))
    done = requests.post(
        sign(operation="complete", upload_id=s3_id)["url"],
        data=f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>",
        timeout=10,
    )
    assert done.status_code == 200
    assert push.s3.get_object(Bucket=push.staging, Key=grant["key"])["Body"].read() == data
    assert call(push, "POST", f"/uploads/{upload}/sign", {"operation": "delete-bucket"})[1]["error"] == "bad_request"
    with pytest.raises(PushError) as refused:
        push.grants.sign_s3("acme", upload, {"operation": "part", "upload_id": s3_id, "part": 3}, now=time.time() + 601)
    assert refused.value.code == "expired"
