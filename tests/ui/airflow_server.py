"""A real Airflow for the browser tests: api-server, scheduler and dag-processor, each its own
process group, with a throwaway AIRFLOW_HOME, SQLite and the LocalExecutor.

Nothing here imports Airflow: ``tests/dags/conftest.py`` configures the Airflow of the pytest
process itself, and the Airflow under test runs in child processes with an environment built
from scratch (every inherited ``AIRFLOW*`` variable dropped).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from tests.sftp.sshd import free_port

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
AIRFLOW = Path(sys.executable).with_name("airflow")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The component gets SIGTERM if the test process dies without stopping it (Linux prctl)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class Airflow:
    """Airflow in child processes: ``db migrate``, then api-server, scheduler, dag-processor.
    ``stop()`` kills each process group (the LocalExecutor's workers and task processes too)."""

    COMPONENTS = ("api-server", "scheduler", "dag-processor")

    def __init__(self, home: Path, extra_env: Mapping[str, str]) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                "PYTHONUNBUFFERED": "1",
                **extra_env,
            }
        )
        self.env = env

    def log(self, component: str) -> Path:
        return self.home / f"{component}.log"

    def logs(self, chars: int = 3000) -> str:
        """The end of each component's log, for a failure message."""
        return "\n".join(f"--- {c} ---\n{_tail(self.log(c), chars)}" for c in ("db-migrate", *self.COMPONENTS))

    def start(self) -> None:
        with open(self.log("db-migrate"), "wb") as log:
            done = subprocess.run(
                [str(AIRFLOW), "db", "migrate"], env=self.env, stdout=log, stderr=log, timeout=180, check=False
            )
        if done.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{self.logs()}")
        # SQLite's write-ahead log (a setting kept in the database file), so that the UI's
        # polling, the scheduler and the task processes' execution-API calls, all through one
        # file, do not hold each other up: readers and the one writer no longer block.
        with contextlib.closing(sqlite3.connect(self.home / "airflow.db")) as db:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise RuntimeError(f"SQLite refused the write-ahead log (journal_mode={mode})")
        for component in self.COMPONENTS:
            with open(self.log(component), "wb") as log:
                self.processes[component] = subprocess.Popen(
                    [str(AIRFLOW), component],
                    env=self.env,
                    stdout=log,
                    stderr=log,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group, killed whole by stop()
                    preexec_fn=_die_with_parent,
                )

    def check_alive(self) -> None:
        for component, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {component} exited with {process.returncode}:\n{self.logs()}")

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The public REST API; the all-admins auth manager needs no token."""
        return requests.request(method, f"{self.url}/api/v2/{path.lstrip('/')}", timeout=10, **kwargs)

    def wait_for_dag(self, dag_id: str, timeout: float = 90) -> dict[str, Any]:
        """Poll until the api-server answers and the dag-processor has stored the DAG."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                answer = self.api("GET", f"dags/{dag_id}")
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if answer.status_code == 200:
                    return answer.json()
                last = f"HTTP {answer.status_code}: {answer.text[:300]}"
            time.sleep(0.5)
        raise RuntimeError(f"DAG {dag_id} not served within {timeout}s ({last}):\n{self.logs()}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> dict[str, Any]:
        """The run, once it has ended (success or failed); a slow answer is asked again."""
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                run = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}").json()
            except requests.RequestException:
                time.sleep(1)
                continue
            if run.get("state") in ("success", "failed"):
                return run
            time.sleep(1)
        raise AssertionError(f"{dag_id} {run_id} did not finish within {timeout}s: {run}\n{self.logs()}")

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():  # whatever ignored SIGTERM, the group's children too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
