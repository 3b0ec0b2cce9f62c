"""The test kinds of ``tests/conftest.py``: a test that reaches a server-starting fixture, in
any of the ways tests here do, is collected as ``integration``; one that does not, is not.
Run on a throwaway suite whose "servers" start nothing, so it takes a second."""

from __future__ import annotations

import pytest

CONFTEST = """
import pytest
from tests.conftest import pytest_collection_modifyitems  # the hook under test

@pytest.fixture(scope="session")
def moto_url():  # named like the real server fixture; starts nothing here
    return "http://127.0.0.1:1"

@pytest.fixture
def s3_url(moto_url):
    return "s3://bucket/"

@pytest.fixture
def local_url(tmp_path):
    return f"file://{tmp_path}"
"""

TESTS = """
import pytest

def test_unit():
    pass

def test_direct(moto_url):
    pass

def test_through_another_fixture(s3_url):
    pass

@pytest.mark.parametrize("where", ["local_url", "s3_url"])
def test_by_parameter(request, where):
    request.getfixturevalue(where)
"""


def _selected(pytester: pytest.Pytester, marker: str) -> set[str]:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=TESTS)
    pytester.makeini("[pytest]\nmarkers =\n    integration: a real server\n")
    items, recorder = pytester.inline_genitems("-m", marker)
    deselected = {item.name for call in recorder.getcalls("pytest_deselected") for item in call.items}
    return {item.name for item in items} - deselected


def test_tests_reaching_a_server_fixture_are_integration(pytester: pytest.Pytester) -> None:
    assert _selected(pytester, "integration") == {
        "test_direct",
        "test_through_another_fixture",
        "test_by_parameter[s3_url]",
    }


def test_the_fast_selection_keeps_the_rest(pytester: pytest.Pytester) -> None:
    assert _selected(pytester, "not integration") == {"test_unit", "test_by_parameter[local_url]"}
