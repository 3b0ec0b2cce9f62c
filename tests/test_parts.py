"""A missing real part skips on a developer's machine and fails where it is required (CI)."""

from __future__ import annotations

import pytest

from tests.parts import REQUIRE_PARTS, unavailable


def test_a_missing_part_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_PARTS, raising=False)
    with pytest.raises(pytest.skip.Exception, match="sshd unavailable: not installed"):
        unavailable("sshd", "not installed")


@pytest.mark.parametrize("wanted", ["sshd,chromium", "all"])
def test_a_required_part_that_is_missing_fails(monkeypatch: pytest.MonkeyPatch, wanted: str) -> None:
    monkeypatch.setenv(REQUIRE_PARTS, wanted)
    with pytest.raises(pytest.fail.Exception, match="sshd is required here"):
        unavailable("sshd", "not installed")
    monkeypatch.setenv(REQUIRE_PARTS, "chromium")
    with pytest.raises(pytest.skip.Exception):
        unavailable("sshd", "not installed")  # required elsewhere, not here
