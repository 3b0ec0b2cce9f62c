"""The test suite's kinds and shared fixtures.

Tests are grouped by domain in folders (``parsers/``, ``core/``, ``pipeline/``, ``sftp/``,
``dags/``, ``ui/``) and by kind with markers:

- unmarked: fast unit tests, no server (``./dev test --fast`` runs only these);
- ``contract``: the conformance suite every object store must pass, run against each store;
- ``integration``: tests with a real server or part (OpenSSH sshd, moto, the GCS emulator,
  Airflow, chromium, gpg, Tesseract). The marker is applied here, to every test that uses a
  fixture starting one, directly, through another fixture, or by a parameter naming such a
  fixture (``request.getfixturevalue(where)``), and to every test under ``dags/`` and ``ui/``
  (real Airflow) and ``deploy/`` (the field's checkers, package builds, a stack in moto);
  a test that starts its own server carries the marker itself;
- ``slow``: tests that take tens of seconds (big generated files, many examples, leases
  left to expire); ``./dev test --fast`` leaves them out too.

Fixtures shared across folders live in ``tests/fixtures/`` and are registered below; a folder
never imports another folder's conftest or test module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.clouds",
    "tests.fixtures.pipeline",
    "tests.fixtures.sftp",
    "pytester",
]

#: The fixtures that start a real server or part (or need a real Airflow database).
SERVERS = frozenset({"moto_url", "gcs_emulator", "sshd", "airflow_db", "chromium_path", "gpg"})
#: The folders whose every test runs a real part: Airflow (its DagBag, ``dag.test()`` or its
#: processes), or the deployment's checkers (cfn-lint, checkov, hadolint), builds and moto stacks.
INTEGRATION_FOLDERS = frozenset({"dags", "ui", "deploy"})
TESTS = Path(__file__).parent


def _uses_a_server(item: pytest.Item) -> bool:
    """Whether the test's fixture closure, or a fixture a parameter names, reaches a server."""
    manager = item.session._fixturemanager  # pytest has no public lookup of a fixture by name
    todo = list(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        todo += [value for value in callspec.params.values() if isinstance(value, str)]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in SERVERS:
            return True
        for definition in manager.getfixturedefs(name, item) or ():
            todo.extend(definition.argnames)
    return False


def _in_an_integration_folder(item: pytest.Item) -> bool:
    return item.path.is_relative_to(TESTS) and item.path.relative_to(TESTS).parts[0] in INTEGRATION_FOLDERS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _in_an_integration_folder(item) or _uses_a_server(item):
            item.add_marker(pytest.mark.integration)
