"""The GCS path's hand-off: ``bankgate.lambdas.gcs_process`` gives big files to a Cloud Run job.

No emulator of the Cloud Run Admin API exists (gcp-storage-emulator speaks only the storage
JSON API). The submitter runs against a loopback HTTP server that records the REST calls the
official client (``google-cloud-run``, REST transport) makes and answers in the API's shape:
``POST /v2/{job}:run`` returns a long-running operation whose metadata is the new execution,
``GET /v2/{execution}`` the execution (not started until the test says so), and
``POST /v2/{execution}:cancel`` an operation. What the real service does beyond these shapes
(IAM, quotas, scheduling) only a deployment shows.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bankgate import lease
from bankgate.batch import CloudRunJob, current_job_id
from bankgate.ledger import DONE, HANDED_OFF, Ledger
from bankgate.pipeline import Pipeline, StagedObject
from tests.deploy.conftest import ROOT
from tests.pipeline.events import finalized_event

JOB = "projects/bank-project/locations/europe-west1/jobs/bankgate-batch"
PAYROLL = (ROOT / "samples/nacha/payroll-ppd-ccd.ach").read_bytes()


@dataclass
class CloudRunApi:
    """What the loopback Cloud Run Admin API was asked, and its executions' state."""

    url: str = ""
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    started: set[str] = field(default_factory=set)  # executions whose tasks started
    executions: list[str] = field(default_factory=list)
    broken: bool = False  # GET answers 500, as an API having a bad moment

    def runs(self) -> list[Any]:
        return [body for method, path, body in self.calls if method == "POST" and path.endswith(":run")]

    def cancelled(self) -> list[str]:
        return [path.removesuffix(":cancel") for method, path, _ in self.calls if path.endswith(":cancel")]


def _handler(api: CloudRunApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _name(self) -> str:
            return self.path.split("?", 1)[0].removeprefix("/v2/")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            name = self._name()
            api.calls.append(("POST", name, body))
            if name.endswith(":run"):
                job = name.removesuffix(":run")
                execution = f"{job}/executions/bankgate-batch-{len(api.executions) + 1:05d}"
                api.executions.append(execution)
                metadata = {"@type": "type.googleapis.com/google.cloud.run.v2.Execution", "name": execution}
                self._answer(200, {"name": f"{job}/operations/run-{len(api.executions)}", "metadata": metadata})
            elif name.endswith(":cancel"):
                self._answer(200, {"name": f"{name}/operations/cancel", "done": True})
            else:
                self._answer(404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}})

        def do_GET(self) -> None:
            name = self._name()
            api.calls.append(("GET", name, None))
            if api.broken:
                self._answer(500, {"error": {"code": 500, "message": "internal error", "status": "INTERNAL"}})
                return
            if name not in api.executions:
                self._answer(404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}})
                return
            execution: dict[str, Any] = {"name": name, "taskCount": 1}
            if name in api.started:
                execution |= {"startTime": "2026-03-04T10:00:00Z", "runningCount": 1}
            self._answer(200, execution)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def cloud_run() -> Iterator[CloudRunApi]:
    api = CloudRunApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def _clients(url: str) -> tuple[Any, Any]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import run_v2

    options = {"api_endpoint": url}  # the REST transport takes the scheme from it
    return (
        run_v2.JobsClient(transport="rest", credentials=AnonymousCredentials(), client_options=options),
        run_v2.ExecutionsClient(transport="rest", credentials=AnonymousCredentials(), client_options=options),
    )


@pytest.fixture
def handing_off(gcs, cloud_run: CloudRunApi, monkeypatch: pytest.MonkeyPatch):
    """``bankgate.lambdas.gcs_process`` configured to hand files above 1,000 bytes to the Cloud Run job;
    the official clients it builds talk to the loopback API (the one factory replaced)."""
    import bankgate.batch

    monkeypatch.setenv("BANKGATE_CLOUD_RUN_JOB", JOB)
    monkeypatch.setenv("BANKGATE_BATCH_THRESHOLD", "1000")
    monkeypatch.setattr(bankgate.batch, "_cloud_run_clients", lambda: _clients(cloud_run.url))
    return gcs


def test_a_big_file_is_run_as_a_cloud_run_job_execution_once(handing_off, cloud_run: CloudRunApi) -> None:
    from bankgate.lambdas.gcs_process import pipeline, process

    client, names = handing_off
    key = "inbound/acme/2026-03-04/payroll.ach"
    client.bucket(names["staging"]).blob(key).upload_from_string(PAYROLL)
    event = finalized_event(client, names["staging"], key)
    result = process(event)
    assert result["status"] == "handed_off", result
    assert process(event)["status"] == "handed_off"  # a redelivery: no second execution

    source = f"gs://{names['staging']}/{key}"
    generation = str(event["data"]["generation"])
    assert cloud_run.runs() == [
        {"overrides": {"containerOverrides": [{"args": [source, "--version-id", generation]}], "taskCount": 1}}
    ]
    record, _ = pipeline().ledger.get(source)
    assert (record.state, record.job_id) == (HANDED_OFF, "bankgate-batch-00001")

    # The execution's container knows itself by CLOUD_RUN_EXECUTION and takes the hand-off over.
    job_id = current_job_id({"CLOUD_RUN_EXECUTION": "bankgate-batch-00001"})
    runner = Pipeline(pipeline().config)
    done = runner.process(StagedObject(key, version=generation), job_id=job_id)
    assert done.status == "processed", done
    assert runner.ledger.get(source)[0].state == DONE


def test_an_execution_that_never_starts_is_resubmitted_and_cancelled(
    handing_off, cloud_run: CloudRunApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bankgate.lambdas.gcs_process import pipeline, process

    monkeypatch.setenv("BANKGATE_BATCH_START_SECONDS", "0")
    client, names = handing_off
    key = "inbound/acme/2026-03-04/payroll.ach"
    client.bucket(names["staging"]).blob(key).upload_from_string(PAYROLL)
    event = finalized_event(client, names["staging"], key)
    assert process(event)["status"] == "handed_off"
    (first,) = cloud_run.executions

    cloud_run.broken = True  # the API cannot say: the redelivery is a no-op, as before the start time
    assert process(event)["status"] == "handed_off"
    assert len(cloud_run.runs()) == 1 and cloud_run.cancelled() == []
    cloud_run.broken = False

    result = process(event)  # a redelivery finds the execution not started
    assert result["status"] == "handed_off" and result["reason"].startswith("resubmitted"), result
    assert len(cloud_run.runs()) == 2 and cloud_run.cancelled() == [first]
    second = cloud_run.executions[1]
    record, _ = pipeline().ledger.get(f"gs://{names['staging']}/{key}")
    assert (record.job_id, record.failures) == (second.rsplit("/", 1)[-1], 1)
    assert f"batch job {first.rsplit('/', 1)[-1]} was waiting" in record.last_failure

    cloud_run.started.add(second)  # now it runs: a redelivery leaves it to its lease
    assert process(event)["status"] == "handed_off"
    assert len(cloud_run.runs()) == 2 and cloud_run.cancelled() == [first]


def test_the_cloud_run_submitter_reads_an_execution_s_state(cloud_run: CloudRunApi) -> None:
    jobs, executions = _clients(cloud_run.url)
    submitter = CloudRunJob(JOB, jobs, executions)
    job_id = submitter.submit("gs://staging/inbound/x.ach", None)
    assert cloud_run.runs()[0]["overrides"]["containerOverrides"] == [{"args": ["gs://staging/inbound/x.ach"]}]
    assert submitter.state(job_id) == "waiting"
    cloud_run.started.add(f"{JOB}/executions/{job_id}")
    assert submitter.state(job_id) == "running"
    assert submitter.state("bankgate-batch-99999") == "unknown"  # the API answers 404


def _sweep_message(client: Any) -> Any:
    """What Eventarc posts for a Cloud Scheduler message on the sweep topic (binary mode)."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "4242",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": "//pubsub.googleapis.com/projects/bank-project/topics/bankgate-sweep",
        "Content-Type": "application/json",
    }
    body = {
        "message": {"data": "c3dlZXA=", "messageId": "4242"},
        "subscription": "projects/bank-project/subscriptions/s",
    }
    return client.post("/", headers=headers, json=body)


def test_the_scheduled_sweep_resubmits_an_execution_that_never_started(
    handing_off, cloud_run: CloudRunApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GCP's counterpart of the EventBridge sweep (``deploy/gcp/README.md``): the Pub/Sub message
    of Cloud Scheduler, as Eventarc delivers it to the service under the Functions Framework
    (the image's entry point and source file), resubmits a hand-off whose execution never
    started, once; a sweep with nothing stuck submits nothing."""
    import functions_framework

    import bankgate.lambdas.gcs_process as service
    from bankgate.lambdas.gcs_process import process

    monkeypatch.setenv("BANKGATE_BATCH_START_SECONDS", "0")
    client, names = handing_off
    key = "inbound/acme/2026-03-04/payroll.ach"
    client.bucket(names["staging"]).blob(key).upload_from_string(PAYROLL)
    assert process(finalized_event(client, names["staging"], key))["status"] == "handed_off"
    (first,) = cloud_run.executions

    app = functions_framework.create_app(target="process", source=service.__file__, signature_type="cloudevent")
    answer = _sweep_message(app.test_client())
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert len(cloud_run.runs()) == 2 and cloud_run.cancelled() == [first]
    record, _ = service.pipeline().ledger.get(f"gs://{names['staging']}/{key}")
    assert record.state == HANDED_OFF and record.job_id == cloud_run.executions[1].rsplit("/", 1)[-1]

    cloud_run.started.add(cloud_run.executions[1])  # now it runs: the next sweep leaves it alone
    assert _sweep_message(app.test_client()).status_code == 200
    assert len(cloud_run.runs()) == 2


def test_two_sweeps_at_once_resubmit_a_stuck_execution_once(
    handing_off, cloud_run: CloudRunApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two service instances answering the sweep's CloudEvent at the same moment (an overlapping
    schedule, a retried Pub/Sub push): each a Functions Framework app of its own, which loads the
    image's source file as a module of its own and so builds its own pipeline. The ledger's
    compare-and-swap (``Ledger.retake``) on GCS's generation preconditions lets exactly one
    resubmit."""
    import functions_framework

    import bankgate.lambdas.gcs_process as service
    from bankgate.lambdas.gcs_process import process

    monkeypatch.setenv("BANKGATE_BATCH_START_SECONDS", "1")  # the winner's new execution is not "stuck" at once
    client, names = handing_off
    key = "inbound/acme/2026-03-04/payroll.ach"
    client.bucket(names["staging"]).blob(key).upload_from_string(PAYROLL)
    assert process(finalized_event(client, names["staging"], key))["status"] == "handed_off"
    (first,) = cloud_run.executions

    instances, modules = [], []
    for _ in range(2):
        app = functions_framework.create_app(target="process", source=service.__file__, signature_type="cloudevent")
        instances.append(app)
        modules.append(sys.modules[Path(service.__file__).stem])  # where the framework loaded the source
    # The race at its widest, every run: each sweep's first read of the record in Ledger.retake
    # waits for the other's, so both decide on the same record before either writes. Nothing is
    # replaced: the reads and writes are bankgate's, against the emulator.
    both_read, retaking = threading.Barrier(len(instances)), threading.local()
    real_read, real_retake = lease.read, Ledger.retake

    def read(store: Any, key: str) -> Any:
        current = real_read(store, key)
        if getattr(retaking, "first", False):
            retaking.first = False
            both_read.wait(timeout=10)
        return current

    def retake(self: Ledger, *args: Any, **kwargs: Any) -> Any:
        retaking.first = True
        return real_retake(self, *args, **kwargs)

    monkeypatch.setattr(lease, "read", read)
    monkeypatch.setattr(Ledger, "retake", retake)
    time.sleep(1.1)
    go = threading.Barrier(len(instances))

    def sweep(app: Any) -> int:
        test_client = app.test_client()
        go.wait()
        return int(_sweep_message(test_client).status_code)

    with ThreadPoolExecutor(len(instances)) as pool:
        assert list(pool.map(sweep, instances)) == [200, 200]
    pipelines = {id(module._pipeline) for module in modules if module._pipeline is not None}
    assert len(pipelines) == 2  # both instances swept, each with its own pipeline
    assert len(cloud_run.runs()) == 2 and cloud_run.cancelled() == [first]
    record, _ = service.pipeline().ledger.get(f"gs://{names['staging']}/{key}")
    assert record.state == HANDED_OFF and record.job_id == cloud_run.executions[1].rsplit("/", 1)[-1]
