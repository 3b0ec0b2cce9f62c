"""The real parts some tests need (OpenSSH's sshd, Debian's chromium, ...).

On a developer's machine a missing part skips its tests with the reason. Where the parts are
installed on purpose (CI installs them; ``.ci/run`` sets ``BANKGATE_REQUIRE_PARTS``), a
missing one fails those tests instead, so a broken install cannot pass as a green run that
tested nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import NoReturn

import pytest

from bankgate import settings
from bankgate.parsers.insurance.ocr import tesseract_path

REQUIRE_PARTS = "BANKGATE_REQUIRE_PARTS"  # comma-separated part names, or "all"


def required(part: str) -> bool:
    wanted = {name.strip() for name in os.environ.get(REQUIRE_PARTS, "").split(",") if name.strip()}
    return part in wanted or "all" in wanted


def unavailable(part: str, why: str) -> NoReturn:
    """Skip (or, where the part is required, fail) the test that needs ``part``."""
    if required(part):
        pytest.fail(f"{part} is required here ({REQUIRE_PARTS}) but unavailable: {why}", pytrace=False)
    pytest.skip(f"{part} unavailable: {why}")


#: Tesseract is optional (OCR of scanned PDFs): its tests skip without it, in CI too.
#: ``BANKGATE_TESSERACT=off`` runs the suite as on a machine without Tesseract.
HAS_TESSERACT = tesseract_path(settings.tesseract()) is not None and shutil.which("tesseract") is not None


def needs_tesseract(test: Callable[..., None]) -> Callable[..., None]:
    """Skipped without Tesseract; an integration test (a real OCR process) with it."""
    skip = pytest.mark.skipif(not HAS_TESSERACT, reason="tesseract not installed (Debian: tesseract-ocr)")
    return pytest.mark.integration(skip(test))
