"""Real parts for the browser tests: Debian's chromium driven by Playwright (the sshd is the
shared ``tests/fixtures/sftp.py`` one, the Airflow under test ``tests/ui/airflow_server.py``).
Nothing here imports Airflow.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.parts import unavailable

CHROMIUM = Path("/usr/bin/chromium")
#: Flags for Debian's chromium as root in a container, with no network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium (apt package ``chromium``); Playwright never downloads a browser here."""
    if importlib.util.find_spec("playwright") is None:
        unavailable("chromium", "playwright is not installed (the 'dev' extra)")
    if importlib.util.find_spec("airflow") is None:
        pytest.skip("Airflow is not installed (extras 'airflow' or 'dev')")
    if not CHROMIUM.exists():
        unavailable("chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def browser_page(chromium_path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Playwright page in headless chromium with a fresh profile; a screenshot of it is saved
    into the test's tmp dir when the test fails."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a 2-core machine running Airflow is not always quick

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(chromium_path),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            yield page
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                shot = tmp_path / "failure.png"
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(shot), full_page=True)
                    print(f"screenshot of the failure: {shot}")
        finally:
            context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can tell that the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
