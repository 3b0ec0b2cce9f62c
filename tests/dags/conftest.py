"""Airflow for the DAG tests: a throwaway AIRFLOW_HOME with SQLite, no examples, this repo's
``dags/`` folder. Set when this conftest is imported, because Airflow reads its configuration
once, when it is first imported."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.dags.helpers import DAGS, Env

if importlib.util.find_spec("airflow") is None:  # looked up without importing it
    pytest.skip("Airflow is not installed (extras 'airflow' or 'dev')", allow_module_level=True)
if "airflow" in sys.modules and not os.environ.get("AIRFLOW_HOME", "").startswith(tempfile.gettempdir()):
    raise RuntimeError("Airflow was imported before tests/dags/conftest.py could configure it")

_HOME = Path(tempfile.mkdtemp(prefix="bankgate-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
)


@pytest.fixture(scope="session")
def airflow_home() -> Iterator[Path]:
    yield _HOME
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """The metadata database, created once per session (about 2 s on SQLite)."""
    from airflow.utils import db

    db.initdb()
    return airflow_home / "airflow.db"


@pytest.fixture
def env(sshd: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: Path) -> Iterator[Env]:
    sshd.clear()
    environment = Env(sshd, tmp_path, monkeypatch)
    environment.configure()
    yield environment
    sshd.clear()


@pytest.fixture
def webhook() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["BANKGATE_ALERT_WEBHOOK"] = f"http://127.0.0.1:{server.server_port}/alerts"
    yield lambda: received
    del os.environ["BANKGATE_ALERT_WEBHOOK"]
    server.shutdown()
    server.server_close()
