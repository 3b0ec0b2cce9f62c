"""Deploying ``deploy/aws/template.yaml`` into moto's CloudFormation, over HTTP.

The template is expanded by aws-sam-translator (the deploy tools' interpreter), then created
as a stack by moto. moto's CloudFormation skips resource types it does not model and, for an
``AWS::S3::Bucket``, applies only the encryption and tags: :data:`BUCKET_API` applies the
template's own versioning, public access block, ownership, lifecycle, CORS and notification
properties through the S3 API instead, resolved against the stack, so what the tests check is
what the template says and what S3 (moto's validation) accepts.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from typing import Any

from tests.deploy.conftest import ROOT, TEMPLATE, tool

#: What the test deploys with: small, so limits show; the rest are the template's defaults.
PARAMETERS = {"NamePrefix": "bgtest", "ArchiveRetentionDays": "3650", "UploadOrigins": "https://upload.bank.test"}
CODE_BUCKET = "bgtest-artifacts"
CODE_KEY = "lambda.zip"


def expand(code_uri: str = f"s3://{CODE_BUCKET}/{CODE_KEY}") -> dict[str, Any]:
    """The SAM template as plain CloudFormation (`sam package` + the SAM transform); a copy."""
    return json.loads(_expanded(code_uri))


@functools.cache
def _expanded(code_uri: str) -> str:
    pairs = [f"{k}={v}" for k, v in PARAMETERS.items()]
    script = str(ROOT / "deploy" / "aws" / "transform.py")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}  # for AWS::Region
    command = [tool("python"), script, str(TEMPLATE), code_uri, *pairs]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def source_zip() -> bytes:
    """The code moto stores for the functions (moto never runs it: no Docker here)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted((ROOT / "lambdas").glob("*.py")):
            zf.write(path, f"lambdas/{path.name}")
    return buffer.getvalue()


@dataclass
class Stack:
    """A deployed stack: its expanded template, parameters and each resource's physical id."""

    template: dict[str, Any]
    parameters: dict[str, str]
    physical: dict[str, str]
    types_created: set[str]
    clients: dict[str, Any] = field(default_factory=dict)
    region: str = "us-east-1"
    account: str = "123456789012"

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.template["Resources"].items() if r["Type"] == kind}

    def resolve(self, value: Any) -> Any:
        """Intrinsic functions, as far as the bucket properties and policies use them."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, arg),) = value.items()
            if name == "Ref":
                return self._ref(arg)
            if name == "Fn::GetAtt":
                resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._attribute(resource, attribute)
            if name == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else arg
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1), extra), text)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, name: str, extra: dict[str, Any]) -> str:
        if name in extra:
            return str(self.resolve(extra[name]))
        if "." in name and not name.startswith("AWS::"):
            return str(self._attribute(*name.split(".", 1)))
        return str(self._ref(name))

    def _ref(self, name: str) -> Any:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws"}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            kind = self.template["Parameters"][name]["Type"]
            return value.split(",") if kind == "CommaDelimitedList" else value
        return self.physical[name]

    def _attribute(self, resource: str, attribute: str) -> str:
        kind = self.template["Resources"][resource]["Type"]
        physical = self.physical[resource]
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::SQS::Queue":
            attrs = self.clients["sqs"].get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])
            arn = attrs["Attributes"]["QueueArn"]
            return arn if attribute == "Arn" else arn.rsplit(":", 1)[1]
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return self.clients["iam"].get_role(RoleName=physical)["Role"]["Arn"]
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:aws:logs:{self.region}:{self.account}:log-group:{physical}"
        raise KeyError(f"{resource}.{attribute}")


def _cors(cfn: dict[str, Any]) -> dict[str, Any]:
    names = {"AllowedMethods": "AllowedMethods", "AllowedOrigins": "AllowedOrigins", "AllowedHeaders": "AllowedHeaders"}
    names |= {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds", "Id": "ID"}
    rules = [{names[k]: (int(v) if k == "MaxAge" else v) for k, v in rule.items()} for rule in cfn["CorsRules"]]
    return {"CORSConfiguration": {"CORSRules": rules}}


def _lifecycle(cfn: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in cfn["Rules"]:
        api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if rule.get("ExpiredObjectDeleteMarker"):
            api["Expiration"] = {"ExpiredObjectDeleteMarker": True}
        if "NoncurrentVersionExpiration" in rule:
            api["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
            }
        if "AbortIncompleteMultipartUpload" in rule:
            days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
            api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
        rules.append(api)
    return {"LifecycleConfiguration": {"Rules": rules}}


def _notifications(cfn: dict[str, Any]) -> dict[str, Any]:
    queues = [
        {
            "QueueArn": q["Queue"],
            "Events": [q["Event"]],
            "Filter": {"Key": {"FilterRules": q["Filter"]["S3Key"]["Rules"]}},
        }
        for q in cfn.get("QueueConfigurations", [])
    ]
    return {"NotificationConfiguration": {"QueueConfigurations": queues}}


#: Each AWS::S3::Bucket property moto's CloudFormation leaves out -> the S3 call that sets it.
BUCKET_API = {
    "VersioningConfiguration": ("put_bucket_versioning", lambda v: {"VersioningConfiguration": v}),
    "PublicAccessBlockConfiguration": ("put_public_access_block", lambda v: {"PublicAccessBlockConfiguration": v}),
    "OwnershipControls": ("put_bucket_ownership_controls", lambda v: {"OwnershipControls": v}),
    "LifecycleConfiguration": ("put_bucket_lifecycle_configuration", _lifecycle),
    "CorsConfiguration": ("put_bucket_cors", _cors),
    "NotificationConfiguration": ("put_bucket_notification_configuration", _notifications),
}


def deploy(s3: Any, cloudformation: Any, clients: dict[str, Any]) -> Stack:
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=source_zip())
    template = expand()
    ec2 = clients["ec2"]  # the network the batch jobs run in, as a deployer's VPC would be
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="bankgate-batch", Description="batch jobs", VpcId=vpc)["GroupId"]
    # Batch's service-linked role (first-run checklist). moto's create_service_linked_role names
    # it AWSServiceRoleForbatch, not AWS's AWSServiceRoleForBatch, so it is made by name here.
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    clients["iam"].create_role(
        RoleName="AWSServiceRoleForBatch",
        Path="/aws-service-role/batch.amazonaws.com/",
        AssumeRolePolicyDocument=json.dumps(trust),
    )
    given = PARAMETERS | {"BatchSubnets": subnet, "BatchSecurityGroups": group}
    parameters = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()} | given
    cloudformation.create_stack(
        StackName="bankgate",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    status = cloudformation.describe_stacks(StackName="bankgate")["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE", status
    described = cloudformation.describe_stack_resources(StackName="bankgate")["StackResources"]
    # A resource of a type moto does not model is listed without a logical id or type.
    created = [r for r in described if r.get("ResourceType")]
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in created}
    types_created = {r["ResourceType"] for r in created}
    stack = Stack(template, parameters, physical, types_created, clients)
    _store_policies_as_json(stack)
    for name, bucket in stack.resources("AWS::S3::Bucket").items():
        for prop, (call, shape) in BUCKET_API.items():
            if prop in bucket["Properties"]:
                value = stack.resolve(bucket["Properties"][prop])
                getattr(s3, call)(Bucket=physical[name], **shape(value))
    return stack


def _store_policies_as_json(stack: Stack) -> None:
    """moto's CloudFormation stores a role's inline policy as a Python dict and a managed policy's
    document likewise, which its own IAM enforcement cannot read: put the same documents again,
    as JSON, the way the IAM API stores them."""
    iam = stack.clients["iam"]
    for name in stack.resources("AWS::IAM::Role"):
        role = stack.physical[name]
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
            document = ast.literal_eval(document) if isinstance(document, str) else document
            iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(document))
    for name in stack.resources("AWS::IAM::ManagedPolicy"):
        arn = stack.physical[name]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        document = ast.literal_eval(document) if isinstance(document, str) else document
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
