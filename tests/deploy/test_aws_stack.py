"""The SAM stack, deployed into moto's CloudFormation over HTTP, then used.

What moto's CloudFormation cannot create (:data:`NOT_IN_MOTO`) is checked in the expanded
template instead (``test_template.py``), and the bucket properties it leaves out are applied
from the template through the S3 API (``stack.BUCKET_API``).
"""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

from bankgate.ledger import LEASE_SECONDS, MAX_FAILURES
from demo.local_aws import LambdaContext
from tests.deploy.conftest import ROOT
from tests.deploy.stack import PARAMETERS, Stack, deploy
from tests.fixtures.clouds import point_aws_at

#: Resource types of the expanded template moto's CloudFormation skips (it warns and goes on).
NOT_IN_MOTO = {
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::CloudWatch::Alarm",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
}


@pytest.fixture(scope="module")
def stack(moto_server: str) -> Iterator[Stack]:
    monkeypatch = pytest.MonkeyPatch()
    point_aws_at(moto_server, monkeypatch)
    names = ("s3", "sqs", "iam", "lambda", "logs", "cloudformation", "ec2", "batch", "events")
    clients = {name: boto3.client(name) for name in names}
    yield deploy(clients["s3"], clients["cloudformation"], clients)
    monkeypatch.undo()


def test_moto_creates_every_resource_type_but_those_listed(stack: Stack) -> None:
    in_template = {r["Type"] for r in stack.template["Resources"].values()}
    assert in_template - stack.types_created == NOT_IN_MOTO
    for name in ("StagingBucket", "ArchiveBucket", "ProcessedBucket", "EventsQueue", "EventsDeadLetterQueue"):
        assert name in stack.physical


def test_buckets_are_encrypted_private_versioned(stack: Stack) -> None:
    s3 = stack.clients["s3"]
    for name in ("StagingBucket", "ArchiveBucket", "ProcessedBucket", "AccessLogsBucket"):
        bucket = stack.physical[name]
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        expected = "AES256" if name == "AccessLogsBucket" else "aws:kms"
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == expected
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert block == dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        )
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert stack.physical["StagingBucket"] == "bgtest-staging-123456789012-us-east-1"


def test_staging_aborts_incomplete_uploads_and_allows_the_upload_page(stack: Stack) -> None:
    s3 = stack.clients["s3"]
    staging = stack.physical["StagingBucket"]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=staging)["Rules"]}
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort["Status"] == "Enabled"
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    (cors,) = s3.get_bucket_cors(Bucket=staging)["CORSRules"]
    assert sorted(cors["AllowedMethods"]) == ["POST", "PUT"]
    assert cors["AllowedOrigins"] == ["https://upload.bank.test"]
    assert cors["ExposeHeaders"] == ["ETag"]


def test_archive_keeps_versions_for_the_retention_parameter(stack: Stack) -> None:
    s3 = stack.clients["s3"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=stack.physical["ArchiveBucket"])["Rules"]
    days = int(PARAMETERS["ArchiveRetentionDays"])
    expiring = {r["Filter"].get("Prefix"): r for r in rules if r.get("Expiration", {}).get("Days")}
    assert set(expiring) == {"originals/", "quarantine/"}  # never ledger/: what was processed stays known
    for rule in expiring.values():
        assert rule["Expiration"] == {"Days": days}
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == days
    assert any(r.get("Expiration") == {"ExpiredObjectDeleteMarker": True} for r in rules)


def test_queue_timings_follow_the_lease_and_dead_letter(stack: Stack) -> None:
    sqs = stack.clients["sqs"]
    attributes = sqs.get_queue_attributes(QueueUrl=stack.physical["EventsQueue"], AttributeNames=["All"])["Attributes"]
    timeout = int(stack.parameters["ProcessTimeout"])
    assert int(attributes["VisibilityTimeout"]) >= LEASE_SECONDS + timeout
    redrive = json.loads(attributes["RedrivePolicy"])
    dlq = sqs.get_queue_attributes(QueueUrl=stack.physical["EventsDeadLetterQueue"], AttributeNames=["QueueArn"])
    assert redrive["deadLetterTargetArn"] == dlq["Attributes"]["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == MAX_FAILURES + 2


def test_process_function_consumes_the_queue_with_partial_failures(stack: Stack) -> None:
    aws_lambda = stack.clients["lambda"]
    config = aws_lambda.get_function_configuration(FunctionName="bgtest-process")
    assert config["Handler"] == "bankgate.lambdas.process.handler"
    assert (config["MemorySize"], config["Timeout"]) == (2048, 900)
    assert aws_lambda.get_function_concurrency(FunctionName="bgtest-process")["ReservedConcurrentExecutions"] == 20
    env = config["Environment"]["Variables"]
    assert str(env["BANKGATE_LEASE_SECONDS"]) == str(LEASE_SECONDS)  # moto keeps a Number parameter's type
    assert env["BANKGATE_STAGING"] == f"s3://{stack.physical['StagingBucket']}"
    (mapping,) = aws_lambda.list_event_source_mappings(FunctionName="bgtest-process")["EventSourceMappings"]
    queue_arn = stack.resolve({"Fn::GetAtt": ["EventsQueue", "Arn"]})
    assert mapping["EventSourceArn"] == queue_arn
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    presign = aws_lambda.get_function_configuration(FunctionName="bgtest-presign")
    assert presign["Handler"] == "bankgate.lambdas.presign.handler"
    assert presign["Role"] != config["Role"]  # one role per function


def _document(document: Any) -> dict[str, Any]:
    if isinstance(document, str):  # moto keeps a CloudFormation policy as the repr of its dict
        document = ast.literal_eval(document) if document.startswith("{'") else json.loads(document)
    return document


def _policies(stack: Stack, role: str) -> list[dict[str, Any]]:
    """Every statement a role's policies hold: its own, and the stack's managed ones it has."""
    iam = stack.clients["iam"]
    name = stack.physical[role]
    statements = []
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        statements += _document(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])["Statement"]
    ours = {stack.physical[name] for name in stack.resources("AWS::IAM::ManagedPolicy")}
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        assert attached["PolicyArn"] in ours  # nothing broader (no AWS managed policy) on top
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]
        statements += _document(document["Document"])["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def _allowed(statements: list[dict[str, Any]], action: str) -> set[str]:
    """The resources the statements allow ``action`` on."""
    found: set[str] = set()
    for statement in statements:
        if statement["Effect"] == "Allow" and action in _actions(statement):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            found.update(resources)
    return found


def test_roles_grant_least_privilege(stack: Stack) -> None:
    staging = f"arn:aws:s3:::{stack.physical['StagingBucket']}"
    archive = f"arn:aws:s3:::{stack.physical['ArchiveBucket']}"
    processed = f"arn:aws:s3:::{stack.physical['ProcessedBucket']}"
    roles = {"ProcessRole": _policies(stack, "ProcessRole"), "PresignRole": _policies(stack, "PresignRole")}
    roles["UploadRole"] = _policies(stack, "UploadRole")
    roles["BatchJobRole"] = _policies(stack, "BatchJobRole")
    roles["ExpireRole"] = _policies(stack, "ExpireRole")
    for statements in roles.values():
        for statement in statements:
            assert all("*" not in action for action in _actions(statement)), statement
    process = roles["ProcessRole"]
    assert _allowed(process, "s3:DeleteObject") == {f"{staging}/inbound/*", f"{processed}/*"}
    assert _allowed(process, "s3:GetObject") == {
        f"{staging}/inbound/*",
        f"{archive}/originals/*",
        f"{archive}/quarantine/*",
        f"{archive}/ledger/*",
        f"{processed}/*",
    }
    assert _allowed(process, "s3:PutObject") == _allowed(process, "s3:GetObject") - {f"{staging}/inbound/*"}
    assert not _allowed(process, "s3:PutObject") & {f"{staging}/inbound/*", f"{staging}/*"}  # never itself
    s3_only = [s for s in process if any(a.startswith("s3:") for a in _actions(s))]
    assert roles["BatchJobRole"] == s3_only  # the job may do with the buckets what the function may
    queue = stack.resolve({"Fn::GetAtt": ["EventsQueue", "Arn"]})
    assert _allowed(process, "batch:SubmitJob") >= {stack.physical["BatchJobQueue"]}
    assert _allowed(process, "sqs:DeleteMessage") == {queue}
    assert _allowed(roles["UploadRole"], "s3:PutObject") == {f"{staging}/inbound/*"}
    assert not _allowed(roles["UploadRole"], "s3:GetObject")
    # the presign function signs for staging inbound/ and keeps its grants' ledger records
    push_records = {f"{archive}/ledger/{part}/*" for part in ("uploads", "links", "quota")}
    assert _allowed(roles["PresignRole"], "s3:PutObject") == {f"{staging}/inbound/*", *push_records}
    assert _allowed(roles["PresignRole"], "s3:GetObject") == push_records
    upload_arn = stack.resolve({"Fn::GetAtt": ["UploadRole", "Arn"]})
    assert _allowed(roles["PresignRole"], "sts:AssumeRole") == {upload_arn}
    trust = stack.clients["iam"].get_role(RoleName=stack.physical["UploadRole"])["Role"]["AssumeRolePolicyDocument"]
    presign_arn = stack.resolve({"Fn::GetAtt": ["PresignRole", "Arn"]})
    assert [s["Principal"] for s in trust["Statement"]] == [{"AWS": presign_arn}]
    # the cleanup moves upload records and aborts multipart uploads: no client's bytes, no delete
    expire = roles["ExpireRole"]
    s3_actions = {a for s in expire for a in _actions(s) if a.startswith("s3:")}
    assert s3_actions == {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}
    assert _allowed(expire, "s3:GetObject") == _allowed(expire, "s3:PutObject") == {f"{archive}/ledger/uploads/*"}
    assert _allowed(expire, "s3:AbortMultipartUpload") == {f"{staging}/inbound/*"}
    listing = {s["Resource"]: s["Condition"] for s in expire if "s3:ListBucket" in _actions(s)}
    assert listing == {
        archive: {"StringLike": {"s3:prefix": "ledger/uploads/*"}},
        staging: {"StringLike": {"s3:prefix": "inbound/*"}},
    }


def test_grants_that_expire_unused_are_swept_hourly_by_their_own_function(stack: Stack) -> None:
    aws_lambda, events = stack.clients["lambda"], stack.clients["events"]
    config = aws_lambda.get_function_configuration(FunctionName="bgtest-expire-uploads")
    assert config["Handler"] == "bankgate.lambdas.presign.expire"
    assert config["Role"] == stack.resolve({"Fn::GetAtt": ["ExpireRole", "Arn"]})
    assert (
        aws_lambda.get_function_concurrency(FunctionName="bgtest-expire-uploads")["ReservedConcurrentExecutions"] == 1
    )
    (rule,) = events.list_rule_names_by_target(TargetArn=config["FunctionArn"])["RuleNames"]
    assert events.describe_rule(Name=rule)["ScheduleExpression"] == "rate(1 hour)"


def test_with_iam_enforced_the_expire_function_sweeps_with_its_role_and_no_more(
    stack: Stack, moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two grants whose links ran out: one unused with its multipart upload begun, one whose file
    is staged (left to the pipeline). The handler, with the deployed environment (the clients
    file is the deployer's, here a small one) and the expire role's credentials, expires the
    first only; the role reads no staged bytes and deletes nothing. moto checks the actions and
    resources but not the ``s3:prefix`` conditions (``test_roles_grant_least_privilege`` does)."""
    import requests

    import bankgate.lambdas.presign
    from bankgate.push import records
    from bankgate.store import open_url

    s3, staging = stack.clients["s3"], stack.physical["StagingBucket"]
    deployed = stack.clients["lambda"].get_function_configuration(FunctionName="bgtest-expire-uploads")
    env = deployed["Environment"]["Variables"]
    ledger, prefix = open_url(env["BANKGATE_LEDGER"], s3_client=s3)
    then = time.time() - 3600
    keys = {}
    for upload_id, name in (("0123456789ab", "late"), ("0123456789cd", "staged")):
        keys[name] = key = f"inbound/acme/2026-03-06/{name}~{upload_id}.ach"
        multipart = s3.create_multipart_upload(Bucket=staging, Key=key)["UploadId"] if name == "late" else ""
        record = records.UploadRecord(
            upload_id, "acme", f"{name}.ach", key, f"s3://{staging}/{key}", 10, "text/plain", "",
            "multipart", "2026-03-06", then, then + 600, multipart_id=multipart,
        )  # fmt: skip
        assert records.grant(ledger, prefix, record)
    aws_lambda, sqs, queue = stack.clients["lambda"], stack.clients["sqs"], stack.physical["EventsQueue"]
    (mapping,) = aws_lambda.list_event_source_mappings(FunctionName="bgtest-process")["EventSourceMappings"]
    aws_lambda.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)  # no processing here
    s3.put_object(Bucket=staging, Key=keys["staged"], Body=b"0123456789")
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:  # its event: the stack's other tests count the queue's
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    clients = tmp_path / "clients.toml"
    clients.write_text('[clients.acme]\nextensions = [".ach"]\ncontent_types = ["text/plain"]\n')
    role = _session(stack, "ExpireRole")
    creds = role.get_credentials()
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("BANKGATE_CLIENTS", str(clients))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds.token)
    monkeypatch.setattr(bankgate.lambdas.presign, "_grants", None)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    requests.post(f"{moto_server}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        assert bankgate.lambdas.presign.expire({"source": "aws.events"}, LambdaContext()) == {
            "expired": ["0123456789ab"]
        }
        own = role.client("s3", endpoint_url=moto_server)
        assert _denied(own.get_object, Bucket=staging, Key=keys["staged"])  # a client's bytes: never
        assert _denied(own.delete_object, Bucket=staging, Key=keys["staged"])
        archive = stack.physical["ArchiveBucket"]
        assert _denied(own.get_object, Bucket=archive, Key="ledger/links/x.json")  # upload records only
        assert _denied(own.put_object, Bucket=archive, Key="originals/x.ach", Body=b"x")
    finally:
        requests.post(f"{moto_server}/moto-api/reset-auth", data=b"inf", timeout=10)
    late, staged = (records.get(ledger, prefix, "acme", i) for i in ("0123456789ab", "0123456789cd"))
    assert late is not None and (late.state, late.reason) == ("expired", "link expired unused")
    assert staged is not None and staged.state == "granted"  # its file is staged: the pipeline settles it
    assert not s3.list_multipart_uploads(Bucket=staging, Prefix=keys["late"]).get("Uploads")
    s3.delete_object(Bucket=staging, Key=keys["staged"])  # the stack's other tests count staging's objects


def test_log_groups_are_retained(stack: Stack) -> None:
    logs = stack.clients["logs"]
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix="/aws/")["logGroups"]}
    for name in (
        "/aws/lambda/bgtest-process",
        "/aws/lambda/bgtest-presign",
        "/aws/lambda/bgtest-expire-uploads",
        "/aws/apigateway/bgtest-upload-api",
    ):
        assert groups[name]["retentionInDays"] == int(stack.parameters["LogRetentionDays"])


def test_an_inbound_upload_reaches_the_queue_and_the_handler(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's Lambda poller would try to run the function in Docker: it is paused, and the test
    hands the queue's messages to ``bankgate.lambdas.process.handler`` with the deployed environment."""
    s3, sqs, aws_lambda = stack.clients["s3"], stack.clients["sqs"], stack.clients["lambda"]
    (mapping,) = aws_lambda.list_event_source_mappings(FunctionName="bgtest-process")["EventSourceMappings"]
    aws_lambda.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    queue = stack.physical["EventsQueue"]
    staging = stack.physical["StagingBucket"]
    body = (ROOT / "samples" / "nacha" / "payroll-ppd-ccd.ach").read_bytes()
    s3.put_object(Bucket=staging, Key="outbound/not-watched.ach", Body=body)  # outside inbound/: no event
    s3.put_object(Bucket=staging, Key="inbound/acme/2026-03-04/payroll ppd.ach", Body=body)
    messages = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        messages += batch
    events = [json.loads(m["Body"]) for m in messages]
    records = [r for e in events if e.get("Event") != "s3:TestEvent" for r in e["Records"]]
    assert [unquote_plus(r["s3"]["object"]["key"]) for r in records] == ["inbound/acme/2026-03-04/payroll ppd.ach"]

    env = aws_lambda.get_function_configuration(FunctionName="bgtest-process")["Environment"]["Variables"]
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    import bankgate.lambdas.process

    monkeypatch.setattr(bankgate.lambdas.process, "_pipeline", None)
    queue_arn = stack.resolve({"Fn::GetAtt": ["EventsQueue", "Arn"]})
    sqs_event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": stack.region,
            }
            for m in messages
        ]
    }
    assert bankgate.lambdas.process.handler(sqs_event, LambdaContext()) == {"batchItemFailures": []}
    processed = s3.list_objects_v2(Bucket=stack.physical["ProcessedBucket"])["Contents"]
    assert [o["Key"] for o in processed] == ["nacha/acme/2026-03-04/payroll ppd.ach.jsonl"]
    archived = s3.list_objects_v2(Bucket=stack.physical["ArchiveBucket"], Prefix="originals/")["Contents"]
    assert [o["Key"] for o in archived] == ["originals/acme/2026-03-04/payroll ppd.ach"]
    left = s3.list_objects_v2(Bucket=staging, Prefix="inbound/").get("KeyCount")
    assert left == 0


def _session(stack: Stack, role: str) -> boto3.Session:
    """Credentials of the deployed role (moto's STS; the trust policy itself is checked above)."""
    arn = stack.resolve({"Fn::GetAtt": [role, "Arn"]})
    creds = boto3.client("sts").assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=stack.region,
    )


def _denied(call: Any, **kwargs: Any) -> bool:
    from botocore.exceptions import ClientError

    try:
        call(**kwargs)
    except ClientError as exc:
        return exc.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    return False


def test_with_iam_enforced_the_roles_suffice_and_no_more(
    stack: Stack, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto checks every call against the caller's policies from here on: a client's upload with
    the upload role, then the process function's whole run with its own role."""
    import requests

    aws_lambda = stack.clients["lambda"]
    (mapping,) = aws_lambda.list_event_source_mappings(FunctionName="bgtest-process")["EventSourceMappings"]
    aws_lambda.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    env = aws_lambda.get_function_configuration(FunctionName="bgtest-process")["Environment"]["Variables"]
    upload, process = _session(stack, "UploadRole"), _session(stack, "ProcessRole")
    staging, archive = stack.physical["StagingBucket"], stack.physical["ArchiveBucket"]
    queue = stack.physical["EventsQueue"]
    body = (ROOT / "samples" / "nacha" / "returns-and-nocs.ach").read_bytes()
    key = "inbound/acme/2026-03-05/returns.ach"
    requests.post(f"{moto_server}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        client_s3 = upload.client("s3", endpoint_url=moto_server)
        client_s3.put_object(Bucket=staging, Key=key, Body=body)
        assert _denied(client_s3.get_object, Bucket=staging, Key=key)
        assert _denied(client_s3.put_object, Bucket=archive, Key="originals/x.ach", Body=b"x")
        sqs = process.client("sqs", endpoint_url=moto_server)
        messages = []
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            messages += batch
        events = [json.loads(m["Body"]) for m in messages]
        assert [unquote_plus(r["s3"]["object"]["key"]) for e in events for r in e.get("Records", [])] == [key]

        creds = process.get_credentials()
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_key)
        monkeypatch.setenv("AWS_SESSION_TOKEN", creds.token)
        import bankgate.lambdas.process

        monkeypatch.setattr(bankgate.lambdas.process, "_pipeline", None)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it keeps the credentials it first found
        records = [
            {"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs", "attributes": {}}
            for m in messages
        ]
        assert bankgate.lambdas.process.handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
        s3 = process.client("s3", endpoint_url=moto_server)
        original = "originals/acme/2026-03-05/returns.ach"
        assert s3.head_object(Bucket=archive, Key=original)["ContentLength"] == len(body)
        assert _denied(s3.delete_object, Bucket=archive, Key=original)  # an archived original stays
        assert _denied(s3.put_object, Bucket=staging, Key="inbound/acme/x.ach", Body=b"x")  # never itself
    finally:
        requests.post(f"{moto_server}/moto-api/reset-auth", data=b"inf", timeout=10)
