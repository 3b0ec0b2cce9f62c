"""The SAM template under the field's tools (cfn-lint with the SAM transform, checkov), and the
parts moto's CloudFormation cannot create, checked in the expanded template."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bankgate.ledger import LEASE_SECONDS, MAX_FAILURES
from tests.deploy.conftest import TEMPLATE, run_tool
from tests.deploy.stack import expand


@pytest.fixture(scope="module")
def expanded() -> dict[str, Any]:
    return expand()


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_is_clean() -> None:
    started = time.monotonic()
    done = run_tool("cfn-lint", str(TEMPLATE))
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"cfn-lint: {time.monotonic() - started:.1f} s")


def test_checkov_is_clean_with_each_skip_justified() -> None:
    started = time.monotonic()
    args = ("-f", str(TEMPLATE), "--framework", "cloudformation", "-o", "json", "--skip-download")
    done = run_tool("checkov", *args)  # --skip-download: no calls to the vendor's platform
    print(f"checkov: {time.monotonic() - started:.1f} s")
    results = json.loads(done.stdout)["results"]
    assert not results["failed_checks"], [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert len(results["passed_checks"]) > 50
    for skipped in results["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 20, skipped["check_id"]
    from cfnlint.decode import decode

    template, _ = decode(str(TEMPLATE))
    declared = {
        (skip["id"], name)
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    used = {(c["check_id"], c["resource"].split(".", 1)[1]) for c in results["skipped_checks"]}
    assert declared == used  # no stale suppression outlives the finding it justified


def test_queue_defaults_follow_the_processing_lease() -> None:
    """README, "Leases, retries and the DLQ": V >= L + T and R = N + 2."""
    from cfnlint.decode import decode  # cfn-lint is in bankgate's environment too (moto's)

    template, problems = decode(str(TEMPLATE))
    assert not problems
    params = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    assert params["LeaseSeconds"] == LEASE_SECONDS
    assert params["MaxFailures"] == MAX_FAILURES
    assert params["LeaseSeconds"] > params["ProcessTimeout"]
    assert params["QueueVisibilityTimeout"] >= params["LeaseSeconds"] + params["ProcessTimeout"]
    assert params["MaxReceiveCount"] == params["MaxFailures"] + 2
    assert params["ProcessScratchBudget"] < params["ProcessEphemeralStorage"] << 20


def test_presign_api_is_behind_the_jwt_authorizer(expanded: dict[str, Any]) -> None:
    (authorizer,) = of_type(expanded, "AWS::ApiGatewayV2::Api")["UploadApi"]["Body"]["components"][
        "securitySchemes"
    ].values()
    jwt = authorizer["x-amazon-apigateway-authorizer"]
    assert jwt["type"] == "jwt"
    assert jwt["jwtConfiguration"] == {"issuer": {"Ref": "JwtIssuer"}, "audience": {"Ref": "JwtAudience"}}
    paths = of_type(expanded, "AWS::ApiGatewayV2::Api")["UploadApi"]["Body"]["paths"]
    assert set(paths) == {"/uploads", "/uploads/{proxy+}"}
    for path in paths.values():
        (operation,) = path.values()
        assert operation["security"] == [{"ClientJwt": []}]
        uri = json.dumps(operation["x-amazon-apigateway-integration"]["uri"])
        assert "PresignFunction" in uri
    (stage,) = of_type(expanded, "AWS::ApiGatewayV2::Stage").values()
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}


def test_only_staging_may_notify_the_queue(expanded: dict[str, Any]) -> None:
    (policy,) = of_type(expanded, "AWS::SQS::QueuePolicy").values()
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    staging = expanded["Resources"]["StagingBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert source == f"arn:${{AWS::Partition}}:s3:::{staging}"
    assert expanded["Resources"]["StagingBucket"]["DependsOn"] == "EventsQueuePolicy"


def test_alarms_watch_the_dlq_errors_throttles_and_staging_age(expanded: dict[str, Any]) -> None:
    alarms = of_type(expanded, "AWS::CloudWatch::Alarm")
    watched = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert watched == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("bankgate", "OldestStagedObjectAge"),  # bankgate.lambdas.process's sweep publishes it
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
    }
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    import bankgate.lambdas.process as process

    (staged,) = [a for a in alarms.values() if a["Namespace"] == "bankgate"]
    assert staged["MetricName"] == process.OLDEST_STAGED
    assert staged["Dimensions"] == [{"Name": "service", "Value": process.metrics.service}]
    # CloudWatch and EventBridge cannot publish to a topic under the AWS managed aws/sns key.
    assert of_type(expanded, "AWS::SNS::Topic")["AlarmTopic"]["KmsMasterKeyId"] == {"Ref": "AlarmKey"}
    statements = of_type(expanded, "AWS::KMS::Key")["AlarmKey"]["KeyPolicy"]["Statement"]
    publishers = [s["Principal"].get("Service") for s in statements if "Service" in s["Principal"]]
    assert publishers == [["cloudwatch.amazonaws.com", "events.amazonaws.com"]]


def test_function_limits_moto_does_not_keep(expanded: dict[str, Any]) -> None:
    process = of_type(expanded, "AWS::Lambda::Function")["ProcessFunction"]
    assert process["EphemeralStorage"] == {"Size": {"Ref": "ProcessEphemeralStorage"}}
    assert process["TracingConfig"] == {"Mode": "Active"}
    (mapping,) = of_type(expanded, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "ProcessReservedConcurrency"}}


def test_batch_job_has_the_functions_settings_and_outlives_its_timeout(expanded: dict[str, Any]) -> None:
    function = of_type(expanded, "AWS::Lambda::Function")["ProcessFunction"]["Environment"]["Variables"]
    (job,) = of_type(expanded, "AWS::Batch::JobDefinition").values()
    job_env = {e["Name"]: e["Value"] for e in job["ContainerProperties"]["Environment"]}
    own = {"BANKGATE_SCRATCH_BUDGET", "BANKGATE_LEASE_SECONDS"}  # the job's disk and timeout are its own
    shared = {k: v for k, v in function.items() if k.startswith("BANKGATE_") and not k.startswith("BANKGATE_BATCH_")}
    assert {k: v for k, v in job_env.items() if k not in own} == {k: v for k, v in shared.items() if k not in own}
    assert job_env["BANKGATE_LEASE_SECONDS"] == {"Ref": "BatchJobLease"}
    defaults = {name: spec.get("Default") for name, spec in expanded["Parameters"].items()}
    assert int(defaults["BatchJobLease"]) > int(defaults["BatchJobTimeout"])  # a live job is never taken over
    assert int(defaults["BatchHandOffLease"]) > int(defaults["BatchJobLease"])  # room to wait in the queue
    assert int(defaults["BatchScratchBudget"]) < int(defaults["BatchEphemeralStorage"]) << 30
    assert function["BANKGATE_BATCH_JOB_QUEUE"] == {"Ref": "BatchJobQueue"}


def test_a_schedule_sweeps_for_jobs_that_never_started(expanded: dict[str, Any]) -> None:
    """The process function's "Scheduled Event" (bankgate.lambdas.process) resubmits a hand-off whose job
    has not started; the start time comes before the hand-off's lease would free it anyway."""
    function = of_type(expanded, "AWS::Lambda::Function")["ProcessFunction"]["Environment"]["Variables"]
    assert function["BANKGATE_BATCH_START_SECONDS"] == {"Ref": "BatchStartSeconds"}
    process = {"Fn::GetAtt": ["ProcessFunction", "Arn"]}
    rules = of_type(expanded, "AWS::Events::Rule").values()
    (rule,) = [r for r in rules if "ScheduleExpression" in r and any(t["Arn"] == process for t in r["Targets"])]
    assert rule["ScheduleExpression"] == {"Ref": "BatchSweepSchedule"}
    defaults = {name: spec.get("Default") for name, spec in expanded["Parameters"].items()}
    assert int(defaults["BatchStartSeconds"]) < int(defaults["BatchHandOffLease"])
    role = of_type(expanded, "AWS::IAM::Role")["ProcessRole"]
    actions = {s["Sid"]: s["Action"] for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]}
    assert (actions["CancelStuckJobs"], actions["ReadJobStates"]) == ("batch:TerminateJob", "batch:DescribeJobs")
