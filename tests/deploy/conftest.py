"""The deployment tools (cfn-lint, aws-sam-translator, checkov, hadolint) and moto over HTTP.

The tools live in their own virtualenv (``./dev`` makes ``.venv-tools`` from
``deploy/tools-constraints.txt``): checkov and aws-sam-translator pin versions of tabulate and
pydantic that Airflow's do not match. They are run as the field runs them, as programs.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.clouds import running_moto
from tests.parts import unavailable

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "aws" / "template.yaml"


def image_extras(dockerfile: Path) -> list[str]:
    """The bankgate extras a Dockerfile installs (its ``pip install ... ".[a,b]"``)."""
    (extras,) = re.findall(r'"\.\[([a-z0-9,-]+)\]"', dockerfile.read_text())
    return extras.split(",")


def tools_bin() -> Path:
    """The deploy tools' bin directory (``BANKGATE_TOOLS_VENV``, else ``.venv-tools``)."""
    venv = Path(os.environ.get("BANKGATE_TOOLS_VENV", ROOT / ".venv-tools"))
    return venv / "bin"


def tool(name: str) -> str:
    path = tools_bin() / name
    if not path.exists():
        unavailable("deploy-tools", f"{path} missing; `./dev test` installs deploy/tools-constraints.txt there")
    return str(path)


def run_tool(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(name), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A moto server of this module's own (its CloudFormation state is not shared)."""
    with running_moto() as url:
        yield url
