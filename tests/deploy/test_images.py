"""The images under ``docker/``, checked without a Docker engine: hadolint, the Compose spec's
JSON schema, and each image's filesystem built by installing what its Dockerfile installs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import ROOT, image_extras
from tests.parts import unavailable

DOCKER = ROOT / "docker"
DOCKERFILES = sorted(DOCKER.glob("*/Dockerfile"))
sys.path.insert(0, str(DOCKER / "lambda"))
import build_zip  # noqa: E402  (docker/lambda/build_zip.py: what the Lambda zip and image install)


def test_hadolint_is_clean() -> None:
    assert {p.parent.name for p in DOCKERFILES} == {"airflow", "batch", "lambda"}
    hadolint = Path(sys.executable).with_name("hadolint")
    started = time.monotonic()
    done = subprocess.run([str(hadolint), *map(str, DOCKERFILES)], capture_output=True, text=True, timeout=60)
    print(f"hadolint: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_images_are_multi_stage_non_root_pinned_and_checked(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    bases = re.findall(r"^ARG \w+_BASE=(\S+)$", text, re.M)
    assert bases and all(":" in b and not b.endswith(":latest") for b in bases)
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1].isdigit() and users[-1] != "0"
    assert re.search(r"^HEALTHCHECK ", text, re.M)
    assert not re.search(r"(?i)(secret|password|token)\s*=", text)  # nothing secret baked into a layer


def test_compose_validates_against_the_compose_spec() -> None:
    import jsonschema

    schema = json.loads((DOCKER / "compose-spec.json").read_text())
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors
    services: dict[str, Any] = compose["services"]
    expected = {"postgres", "redis", "moto", "sftp-bank", "airflow-init", "api-server", "scheduler"}
    expected |= {"dag-processor", "triggerer", "worker-1", "worker-2"}
    assert set(services) == expected
    for name, service in services.items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), name
        if name != "airflow-init":  # a one-shot job
            assert service["healthcheck"]["test"], name
    assert services["worker-2"]["command"] == ["celery", "worker"]
    assert services["scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    for name, service in services.items():
        for key, value in service.get("environment", {}).items():
            if re.search(r"SECRET|PASSWORD|FERNET", key) and key != "AWS_SECRET_ACCESS_KEY":
                assert str(value).startswith("${") or "${" in str(value), (name, key)  # from docker/.env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_zip.build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_installs_only_bankgate_named_modules(wheel: Path) -> None:
    """No generic top-level names (``parsers``, ``lambdas``, ``plugins`` would collide with other
    distributions), no demo, and the linked folders travel as files with their data."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"bankgate"}
    assert not [name for name in names if "/demo/" in name or name.startswith("demo/")]
    for member in ("parsers/nacha/reader.py", "lambdas/process.py", "plugins/bankgate_airflow/plugin.py"):
        assert f"bankgate/{member}" in names
    assert any(name.startswith("bankgate/parsers/fixed/layouts/") and name.endswith(".toml") for name in names)
    assert "bankgate/plugins/bankgate_airflow/files.html" in names


@pytest.fixture(scope="module")
def lambda_root(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/var/task of the zip build: what build_zip.py installs, for Lambda's platform."""
    try:
        build_zip.lambda_python()
    except SystemExit as exc:
        unavailable("python3.12", str(exc))
    installed = tmp_path_factory.mktemp("lambda-install")
    build_zip.install(installed, build_zip.ZIP_EXTRAS, wheel)
    archive = tmp_path_factory.mktemp("lambda-zip") / "lambda.zip"
    build_zip.zip_dir(installed, archive)
    root = tmp_path_factory.mktemp("lambda")  # the function's code as Lambda unpacks the zip
    with zipfile.ZipFile(archive) as unpacked:
        assert any(name.endswith(".pyc") for name in unpacked.namelist())  # the bytecode ships
        unpacked.extractall(root)
    return root


COLD_IMPORT = """
import json, sys, time
sys.path[:0] = [sys.argv[1]]
wall, cpu = time.perf_counter(), time.process_time()
import bankgate.lambdas.process
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu, "modules": sorted(sys.modules)}))
"""


def test_lambda_package_cold_imports_without_the_pull_side(lambda_root: Path) -> None:
    """Measured as the import's CPU time: with a dozen neighbours on two cores, wall time measures
    them (it is printed too)."""
    for excluded in build_zip.EXCLUDED:
        assert not (lambda_root / excluded).exists(), excluded
    size = sum(f.stat().st_size for f in lambda_root.rglob("*") if f.is_file())
    assert size < 250 << 20  # Lambda's limit for an unzipped package
    python = build_zip.lambda_python()
    runs = []
    for _ in range(3):
        done = subprocess.run([python, "-S", "-c", COLD_IMPORT, str(lambda_root)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    best = min(runs, key=lambda r: r["cpu"])
    cpu_ms, wall_ms = best["cpu"] * 1000, best["wall"] * 1000
    print(f"lambda package {size / 2**20:.0f} MiB; cold import {cpu_ms:.0f} ms CPU, {wall_ms:.0f} ms wall")
    assert not {"airflow", "paramiko", "numpy"} & set(best["modules"])
    assert best["cpu"] < 0.3
    for handler in ("process", "presign"):
        if (ROOT / "lambdas" / f"{handler}.py").exists():  # presign.py comes from the uploads work
            probe = "import sys; sys.path[:0] = [sys.argv[1]]; "
            probe += f"import bankgate.lambdas.{handler} as m; assert callable(m.handler)"
            done = subprocess.run([python, "-S", "-c", probe, str(lambda_root)], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr


def test_airflow_and_batch_images_entry_points(wheel: Path, tmp_path: Path) -> None:
    """The Airflow and batch images install bankgate's wheel over dependencies this environment
    pins alike (constraints.txt); installed on its own, its plugin, DAGs and CLI load from it."""
    prefix = tmp_path / "prefix"
    # --ignore-installed: never uninstall the editable bankgate of this environment on the way
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install", "--no-deps", "--no-compile"]
    pip.append("--ignore-installed")
    subprocess.run([*pip, "--prefix", str(prefix), str(wheel)], check=True)
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = """
from importlib.metadata import distribution, entry_points
import bankgate, bankgate.plugins
assert bankgate.__file__.startswith(SITE), bankgate.__file__
(plugin,) = [e for e in entry_points(group="airflow.plugins") if e.name == "bankgate"]
assert plugin.load().__name__ == "BankgatePlugin"
dags = next(f.locate() for f in distribution("bankgate").files if f.name == "bank_pulls.py").parent
print(sorted(p.name for p in dags.glob("*.py")))
"""
    done = subprocess.run(
        [sys.executable, "-c", f"SITE = {str(site)!r}\n{probe}"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    shipped = sorted(p.name for p in (ROOT / "dags").glob("*.py"))  # every DAG file in the repo
    assert done.stdout.strip() == str(shipped)
    cli = subprocess.run(
        [sys.executable, "-m", "bankgate.cli", "process", "--help"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert cli.returncode == 0 and "URL" in cli.stdout.upper(), cli.stderr


GCS_SERVICE = ROOT / "deploy" / "gcp" / "Dockerfile"
#: Where the images' Dockerfiles install bankgate (``python -m venv /opt/bankgate``, python:3.11).
IMAGE_SITE = "/opt/bankgate/lib/python3.11/site-packages/"

IMAGE_PROBE = """
import importlib.util, json, sys
site = sys.argv[1]
sys.path[:0] = [site]
import bankgate.batch, bankgate.cli, bankgate.lambdas.gcs_process, bankgate.store.gcs
from google.cloud import run_v2, storage  # the Cloud Run job submitter's and the GCS store's clients
assert bankgate.batch.__file__.startswith(site), bankgate.batch.__file__
found = {}
for name in ("functions_framework", "airflow", "paramiko", "boto3"):
    found[name] = importlib.util.find_spec(name) is not None
if sys.argv[2]:  # the image serves: its ENTRYPOINT names a --source
    import functions_framework
    source = sys.argv[2].replace(sys.argv[3], site + "/", 1)  # the ENTRYPOINT's --source, in this tree
    app = functions_framework.create_app(target="process", source=source, signature_type="cloudevent")
    found["serves"] = "cloudevent" in app.view_functions  # the CloudEvent signature, as Eventarc posts
print(json.dumps(found))
"""


def _install_image(dockerfile: Path, wheel: Path, site: Path) -> None:
    """What the Dockerfile's ``pip install -c constraints.txt ".[extras]"`` puts in its venv, into ``site``
    (bankgate from its wheel: the same tree the Dockerfile builds from)."""
    extras = ",".join(image_extras(dockerfile))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install", "--no-compile"]
    pip += ["--target", str(site), "-c", str(ROOT / "constraints.txt")]
    subprocess.run([*pip, f"bankgate[{extras}] @ {wheel.as_uri()}"], check=True, timeout=300)


@pytest.mark.parametrize("dockerfile", [DOCKER / "batch" / "Dockerfile", GCS_SERVICE], ids=["batch", "gcs-service"])
def test_the_batch_image_serves_nothing_and_the_gcs_service_image_does(
    dockerfile: Path, wheel: Path, tmp_path: Path
) -> None:
    """Each image's filesystem, installed as its Dockerfile installs it: the batch runner has the
    S3, GCS and Cloud Run job clients and no Functions Framework, which only the Cloud Run service runs
    under (its ENTRYPOINT's ``--source`` and ``--target`` load from that tree); neither carries
    Airflow or paramiko (a job and a service pull nothing)."""
    site = tmp_path / "site-packages"
    _install_image(dockerfile, wheel, site)
    text = dockerfile.read_text().replace("\\\n", "")
    entry = re.findall(r"^ENTRYPOINT (\[.*?\])$", text, re.M | re.S)[0]
    source = next((a.split("=", 1)[1] for a in json.loads(entry) if a.startswith("--source=")), "")
    done = subprocess.run(
        [sys.executable, "-S", "-c", IMAGE_PROBE, str(site), source, IMAGE_SITE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    distributions = sorted(p.name.split("-", 1)[0] for p in site.glob("*.dist-info"))
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    print(f"{dockerfile.relative_to(ROOT)}: {len(distributions)} distributions, {size / 2**20:.0f} MiB")
    assert not found["airflow"] and not found["paramiko"]
    if dockerfile == GCS_SERVICE:
        assert found["functions_framework"] and found["serves"], found
    else:
        assert found["boto3"]  # AWS Batch runs the same image
        assert not found["functions_framework"] and "functions_framework" not in distributions, distributions


def test_the_lambda_image_removes_what_the_zip_leaves_out() -> None:
    """The image installs the wheel as the zip does; its ``rm -rf`` must take out the Airflow
    plugin the wheel carries (``build_zip.EXCLUDED``), at the path pip puts it."""
    dockerfile = (DOCKER / "lambda" / "Dockerfile").read_text().replace("\\\n", " ")
    removed = {w for line in re.findall(r"rm -rf ([^&\n]+)", dockerfile) for w in line.split()}
    assert "/opt/app/bankgate/plugins" in removed


def test_the_compose_stacks_bank_can_be_pulled_from_its_sftp_service() -> None:
    """The bank config the compose stack mounts names a bank whose connection reaches the
    stack's Airflow, whose directory the ``sftp-bank`` service serves, and whose destination is
    one of the buckets ``airflow-init`` creates in moto; its host key is pinned (mounted)."""
    from bankgate.banks import load_banks

    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    (mount,) = [v for v in services["scheduler"]["volumes"] if v.endswith(":/opt/bankgate/banks.toml:ro")]
    banks = load_banks(DOCKER / mount.split(":", 1)[0])
    assert list(banks) == ["demo_bank"]
    bank = banks["demo_bank"]
    env = services["worker-1"]["environment"]
    assert f"AIRFLOW_CONN_{bank.conn_id.upper()}" in env and env["BANKGATE_BANKS"] == "/opt/bankgate/banks.toml"
    (user_spec,) = services["sftp-bank"]["command"]
    user, _, _, _, served = user_spec.split(":")
    assert [f"/{served}"] == list(bank.remote_dirs)
    assert any(v.endswith(f":/home/{user}/{served}:ro") for v in services["sftp-bank"]["volumes"])
    assert any(v.endswith(":/etc/ssh/ssh_host_ed25519_key:ro") for v in services["sftp-bank"]["volumes"])
    init = " ".join(services["airflow-init"]["command"])
    assert bank.destination.split("/")[2] in init  # its staging bucket is created
