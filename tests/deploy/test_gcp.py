"""The GCP manifests (``deploy/gcp/``), checked without GCP: no emulator can deploy a Cloud Run
service, a job or an Eventarc trigger, so each manifest is validated against the hand-written
``cloud-run.schema.json`` and against bankgate's own settings (``deploy/gcp/README.md``)."""

from __future__ import annotations

import base64
import copy
import json
import re
import shlex
import subprocess
import sys
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import yaml

from bankgate.config import PipelineConfig
from bankgate.cron import Cron
from bankgate.store import split_url

ROOT = Path(__file__).resolve().parents[2]
GCP = ROOT / "deploy" / "gcp"
MANIFESTS = ("service.yaml", "job.yaml")
# the variables without which the pipeline does not start (PipelineConfig.from_mapping), and a
# '*' route, without which an unknown file type has nowhere to go
REQUIRED = {"BANKGATE_STAGING", "BANKGATE_ARCHIVE", "BANKGATE_QUARANTINE", "BANKGATE_LEDGER", "BANKGATE_ROUTES"}


@cache
def manifest(name: str) -> dict[str, Any]:
    return yaml.safe_load((GCP / name).read_text())


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads((GCP / "cloud-run.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(document: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator().iter_errors(document)]


def task_spec(document: dict[str, Any]) -> dict[str, Any]:
    """The pod-like spec holding the containers: a service's revision, a job's task."""
    spec = document["spec"]["template"]["spec"]
    return spec["template"]["spec"] if document["kind"] == "Job" else spec


def env(document: dict[str, Any]) -> dict[str, str]:
    """The container's plain variables (a secret reference has no value to check here)."""
    (container,) = task_spec(document)["containers"]
    return {e["name"]: e["value"] for e in container.get("env", ()) if "value" in e}


@cache
def settings_listing() -> dict[str, dict[str, Any]]:
    """What ``bankgate settings --format json`` says, run as an operator runs it."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("bankgate")), "settings", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return {s["name"]: s for s in json.loads(done.stdout)}


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_matches_the_cloud_run_schema(name: str) -> None:
    assert schema_errors(manifest(name)) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("spec", "template", "metadata", "annotations", "autoscaling.knative.dev/maxScale"), 20, "not of type"),
        (("spec", "template", "spec", "timeoutSeconds"), 7200, "maximum of 3600"),
        (("spec", "template", "spec", "containerConcurrency"), 2000, "maximum of 1000"),
        (("spec", "template", "spec", "nodeSelector"), {"a": "b"}, "Additional properties"),
        (("metadata", "annotations", "run.googleapis.com/ingress"), "private", "is not one of"),
    ],
)
def test_the_schema_refuses_what_cloud_run_refuses(path: tuple[str, ...], value: Any, expected: str) -> None:
    """The schema has teeth: each edit is one Cloud Run's API rejects."""
    broken = copy.deepcopy(manifest("service.yaml"))
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = schema_errors(broken)
    assert any(expected in e for e in errors), errors


def test_the_schema_refuses_a_job_without_an_image_or_a_reserved_variable() -> None:
    broken = copy.deepcopy(manifest("job.yaml"))
    (container,) = task_spec(broken)["containers"]
    del container["image"]
    container["env"].append({"name": "CLOUD_RUN_TASK_INDEX", "value": "0"})
    errors = " ".join(schema_errors(broken))
    assert "'image' is a required property" in errors and "should not be valid" in errors, errors


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_variable_is_a_setting_and_the_pipeline_loads(name: str) -> None:
    document = manifest(name)
    (container,) = task_spec(document)["containers"]
    names = {e["name"] for e in container["env"]}
    known = settings_listing()
    assert {n for n in names if n.startswith("BANKGATE_")} - set(known) == set()
    assert set(env(document)) >= REQUIRED, REQUIRED - set(env(document))
    assert {n for n, s in known.items() if s["group"] == "pipeline" and "required" in s["doc"]} <= REQUIRED
    config = PipelineConfig.from_env(env(document))  # every value parses, the routes have a '*'
    assert config.staging.startswith("gs://") and "*" in config.routes


def test_the_service_and_the_job_process_alike() -> None:
    """A file the job processes lands where the service would put it: only the lease and the
    scratch space differ (each is sized to its own timeout and disk)."""
    own = {"BANKGATE_LEASE_SECONDS", "BANKGATE_SCRATCH_BUDGET"}
    service, job = ({k: v for k, v in env(manifest(n)).items() if k not in own} for n in MANIFESTS)
    assert service == job


def _mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"([0-9]+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


@pytest.mark.parametrize("name", MANIFESTS)
def test_lease_outlasts_the_timeout_and_scratch_fits_its_volume(name: str) -> None:
    document = manifest(name)
    spec = task_spec(document)
    values = env(document)
    assert int(values["BANKGATE_LEASE_SECONDS"]) > int(spec["timeoutSeconds"])
    (container,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    (mount,) = (m for m in container["volumeMounts"] if m["mountPath"] == values["BANKGATE_SCRATCH_ROOT"])
    size = _mebibytes(volumes[mount["name"]]["emptyDir"]["sizeLimit"])
    assert int(values["BANKGATE_SCRATCH_BUDGET"]) <= size * 2**20
    assert size < _mebibytes(container["resources"]["limits"]["memory"])  # the volume is memory


def gcloud(command: str) -> list[tuple[list[str], dict[str, str], dict[str, str]]]:
    """Each ``gcloud COMMAND`` in the README's shell blocks: its positional words, its flags and
    its ``--event-filters``."""
    readme = (GCP / "README.md").read_text()
    found = []
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line)
            if " ".join(words[: len(command.split()) + 1]) == f"gcloud {command}":
                flags = [w.split("=", 1) for w in words if w.startswith("--")]
                filters = dict(v.split("=", 1) for k, v in flags if k == "--event-filters")
                options = {k: v for k, v in flags if k != "--event-filters"}
                found.append(([w for w in words if not w.startswith("--")], options, filters))
    return found


def test_the_eventarc_trigger_feeds_the_service_from_staging() -> None:
    ((_, options, filters),) = [t for t in gcloud("eventarc triggers create") if "bucket" in t[2]]
    service = manifest("service.yaml")
    _, staging_bucket, _ = split_url(env(service)["BANKGATE_STAGING"])
    assert filters == {"type": "google.cloud.storage.object.v1.finalized", "bucket": staging_bucket}
    assert options["--destination-run-service"] == service["metadata"]["name"]
    invoker = options["--service-account"]
    assert invoker != task_spec(service)["serviceAccountName"]  # the trigger cannot read files


def test_the_service_image_serves_the_gcs_handler() -> None:
    """The Dockerfile's entry point names the module and function that exist, and is lint-clean."""
    dockerfile = (GCP / "Dockerfile").read_text()
    (entry,) = re.findall(r"^ENTRYPOINT (\[.*?\])$", dockerfile.replace("\\\n", ""), re.M | re.S)
    argv = json.loads(entry)
    assert argv[0] == "functions-framework" and "--target=process" in argv
    source = next(a.split("=", 1)[1] for a in argv if a.startswith("--source="))
    import bankgate
    import bankgate.lambdas.gcs_process

    # the module's file as installed: its path below site-packages is its path below the package's parent
    installed = Path(bankgate.lambdas.gcs_process.__file__).relative_to(Path(bankgate.__file__).parent.parent)
    assert source.split("/site-packages/", 1)[1] == installed.as_posix()
    assert callable(bankgate.lambdas.gcs_process.process)
    hadolint = Path(sys.executable).with_name("hadolint")
    done = subprocess.run([str(hadolint), str(GCP / "Dockerfile")], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


#: ``gcloud scheduler jobs create pubsub``'s flags, each with the field of the Cloud Scheduler API's Job
#: resource (v1) it sets. A flag not here fails the test: map it to its field, so the check stays closed.
SCHEDULER_FLAGS = {
    "--location": "name",
    "--schedule": "schedule",
    "--time-zone": "timeZone",
    "--description": "description",
    "--topic": "pubsubTarget.topicName",
    "--message-body": "pubsubTarget.data",
    "--attributes": "pubsubTarget.attributes",
}


def scheduler_job(words: list[str], options: dict[str, str]) -> Any:
    """The Job resource (``google.cloud.scheduler.v1.Job``, the REST API's own type, which refuses
    unknown fields and ill-typed values) that ``gcloud scheduler jobs create pubsub NAME ...`` creates."""
    from google.cloud import scheduler_v1

    unknown = set(options) - set(SCHEDULER_FLAGS)
    assert not unknown, f"flags not mapped to the Job resource: {sorted(unknown)}"
    target: dict[str, Any] = {"topicName": f"projects/PROJECT/topics/{options['--topic']}"}
    if "--message-body" in options:
        target["data"] = base64.b64encode(options["--message-body"].encode()).decode()
    if "--attributes" in options:
        target["attributes"] = dict(a.split("=", 1) for a in options["--attributes"].split(","))
    resource: dict[str, Any] = {
        "name": f"projects/PROJECT/locations/{options['--location']}/jobs/{words[-1]}",
        "schedule": options["--schedule"],
        "timeZone": options.get("--time-zone", "Etc/UTC"),  # gcloud's default
        "pubsubTarget": target,
    }
    if "--description" in options:
        resource["description"] = options["--description"]
    return scheduler_v1.Job.from_json(json.dumps(resource), ignore_unknown_fields=False)


def fire_interval(job: Any) -> set[timedelta]:
    """The gaps between a Cloud Scheduler job's fire times over a day (unix-cron in its time zone)."""
    cron, zone = Cron.parse(job.schedule), ZoneInfo(job.time_zone)
    times = [datetime(2026, 3, 4, tzinfo=zone)]
    while times[-1] < times[0] + timedelta(days=1):
        times.append(cron.next(times[-1], zone))
    return {later - earlier for earlier, later in pairwise(times)}


class _CloudFormation(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (``!Ref``, ``!Sub``, ...) read as nothing."""


_CloudFormation.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_the_sweep_reaches_the_service_every_15_minutes() -> None:
    """Cloud Scheduler -> the topic -> a second trigger -> the same service, with the CloudEvent
    type the service sweeps on (``bankgate.lambdas.gcs_process.SWEEP_EVENT``). The scheduler's
    command is checked as the Job resource it creates: the API's own type, a job ID the API takes,
    a message (a Pub/Sub target needs data or attributes), and the AWS stack's interval."""
    from bankgate.lambdas.gcs_process import SWEEP_EVENT

    ((topic_words, _, _),) = gcloud("pubsub topics create")
    ((job_words, job_options, _),) = gcloud("scheduler jobs create pubsub")
    (trigger,) = [t for t in gcloud("eventarc triggers create") if "bucket" not in t[2]]
    _, options, filters = trigger
    topic = f"projects/PROJECT/topics/{topic_words[-1]}"
    job = scheduler_job(job_words, job_options)
    assert re.fullmatch(r"projects/[^/]+/locations/[A-Za-z0-9-]+/jobs/[A-Za-z0-9_-]{1,500}", job.name), job.name
    assert job.pubsub_target.topic_name == topic
    assert job.pubsub_target.data or job.pubsub_target.attributes, "a Pub/Sub target needs data or attributes"
    template = yaml.load((ROOT / "deploy" / "aws" / "template.yaml").read_text(), _CloudFormation)
    every = re.fullmatch(r"rate\((\d+) minutes\)", template["Parameters"]["BatchSweepSchedule"]["Default"])
    assert every and int(every.group(1)) == 15
    assert fire_interval(job) == {timedelta(minutes=15)}, f"{job.schedule!r} is not the AWS stack's interval"
    assert filters == {"type": SWEEP_EVENT}
    assert options["--transport-topic"] == topic
    assert options["--destination-run-service"] == manifest("service.yaml")["metadata"]["name"]
    (finalized,) = [t for t in gcloud("eventarc triggers create") if "bucket" in t[2]]
    assert options["--service-account"] == finalized[1]["--service-account"]  # the invoker, not the processor


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"--topics": "bankgate-sweep"}, "flags not mapped"),  # a misspelt flag
        ({"--time-zone": "Europe/Nowhere"}, "No time zone found"),
        ({"--schedule": "*/15 * * *"}, "has 4 fields"),
        ({"--schedule": "*/20 * * * *"}, "not the AWS stack's interval"),  # not the AWS stack's 15 minutes
        ({"--message-body": ""}, "needs data or attributes"),  # a Pub/Sub target without data or attributes
        ({"--attributes": "no-value"}, "dictionary update sequence"),
    ],
)
def test_the_sweep_check_refuses_a_job_cloud_scheduler_would_not_run_as_meant(
    edit: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check has teeth: each edit of the README's scheduler command fails it."""
    real = gcloud

    def edited(command: str) -> list[tuple[list[str], dict[str, str], dict[str, str]]]:
        found = real(command)
        if command != "scheduler jobs create pubsub":
            return found
        ((words, options, filters),) = found
        return [(words, {**options, **edit}, filters)]

    monkeypatch.setattr(sys.modules[__name__], "gcloud", edited)
    with pytest.raises(Exception, match=expected):  # an AssertionError, a ValueError, a ParseError
        test_the_sweep_reaches_the_service_every_15_minutes()


def test_the_job_type_refuses_what_the_api_refuses() -> None:
    """The Job type is the API's: an unknown field or an ill-typed value does not parse."""
    from google.cloud import scheduler_v1
    from google.protobuf.json_format import ParseError

    with pytest.raises(ParseError, match='no field named "topic"'):
        scheduler_v1.Job.from_json(json.dumps({"pubsubTarget": {"topic": "t"}}), ignore_unknown_fields=False)
    with pytest.raises(ParseError, match="schedule"):
        scheduler_v1.Job.from_json(json.dumps({"schedule": 15}), ignore_unknown_fields=False)
