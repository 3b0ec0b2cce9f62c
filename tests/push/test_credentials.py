"""Scoped credentials for scripts: STS AssumeRole with a session policy of one key.

moto enforces the role's own policy when IAM authentication is on (``/moto-api/reset-auth``),
but not session policies: what a session may do beyond the role is tested against moto, and
the narrowing to one key on the policy document itself."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from bankgate.push.grants import session_policy
from tests.push.conftest import Push

ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::{staging}/*"]}],
}


@pytest.fixture
def enforced(moto_url: str) -> Iterator[None]:
    """IAM authentication on for the block: every call must be signed by known, allowed keys."""
    requests.post(f"{moto_url}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        yield
    finally:
        requests.post(f"{moto_url}/moto-api/reset-auth", data=b"inf", timeout=10)


def test_a_script_gets_credentials_that_put_its_key_and_nothing_else(
    push: Push, request: pytest.FixtureRequest
) -> None:
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName="bankgate-push",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    policy = json.dumps(ROLE_POLICY).replace("{staging}", push.staging)
    iam.put_role_policy(RoleName="bankgate-push", PolicyName="staging-put", PolicyDocument=policy)
    grants = dataclasses.replace(push.grants, role_arn=role)
    body = {"name": "payroll.ach", "size": 5, "content_type": "text/plain", "method": "credentials"}
    answer = grants.create("acme", body)
    creds = answer["credentials"]
    assert "arn" not in json.dumps(answer).lower()
    s3 = boto3.client(
        "s3",
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        aws_session_token=creds["session_token"],
    )
    request.getfixturevalue("enforced")
    s3.put_object(Bucket=answer["bucket"], Key=answer["key"], Body=b"hello", ContentType="text/plain")
    for refused in (
        lambda: s3.put_object(Bucket=push.archive, Key="ledger/x.json", Body=b"{}"),
        lambda: s3.get_object(Bucket=answer["bucket"], Key=answer["key"]),
        lambda: s3.list_objects_v2(Bucket=answer["bucket"]),
    ):
        with pytest.raises(ClientError) as denied:
            refused()
        assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_the_session_policy_allows_the_writes_of_one_key_only() -> None:
    policy = session_policy("acme-staging", "inbound/acme/2026-12-02/payroll~0123456789ab.ach")
    (statement,) = policy["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        "Resource": ["arn:aws:s3:::acme-staging/inbound/acme/2026-12-02/payroll~0123456789ab.ach"],
    }
    assert "*" not in json.dumps(policy)
