"""Malformed and hostile PDFs end in a clear ParseError within seconds, never a hang or a crash.

Each file is made by ``pdf_factory``: zero bytes, garbage behind a %PDF- header, a truncated
transfer, an encrypted file, 3000 pages, 100k-deep nesting, a page-tree loop and a Flate
bomb inflating to 8 GiB. The worker process absorbs crashes and memory; the test process
only ever sees a ``ParseError`` on line 0 naming the reason.
"""

from __future__ import annotations

import io
import re
import resource
import signal
import time

import pytest

from bankgate import settings
from bankgate.parsers.insurance import InsurancePdfParser, Limits
from bankgate.parsers.insurance.sandbox import _death
from bankgate.parsers.problems import ParseError
from tests.parsers import pdf_factory as F

#: Every hostile file must be refused within this many seconds (generous for a loaded CI box).
BOUND_SECONDS = 15


@pytest.fixture(scope="session")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> F.PdfSet:
    return F.pdf_set(tmp_path_factory)


def refuse(data: bytes, **kwargs) -> tuple[str, float]:
    """The one problem of the ParseError raised (strict and lenient alike), and the seconds taken."""
    start = time.monotonic()
    for lenient in (False, True):
        with pytest.raises(ParseError) as err:
            list(InsurancePdfParser(io.BytesIO(data), name="hostile.pdf", lenient=lenient, **kwargs))
    seconds = (time.monotonic() - start) / 2
    problems = err.value.problems
    assert len(problems) == 1 and problems[0].line == 0 and problems[0].severity == "error", problems
    return problems[0].message, seconds


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty", "empty file (0 bytes)"),
        ("garbage", "incomplete PDF: no %%EOF marker at the end (truncated in transfer, or corrupt)"),
        ("truncated", "incomplete PDF: no %%EOF marker at the end (truncated in transfer, or corrupt)"),
        ("encrypted", "encrypted: a password is needed to open it"),
        ("many_pages", "the PDF has 3000 pages, more than the limit of 2000"),
        ("loop", "page 1 cannot be loaded (broken page tree or page object)"),
        # pdfium aborts when an allocation fails under RLIMIT_AS; the signal may differ elsewhere
        (
            "bomb",
            re.compile(
                r"PDF worker (died: signal \d+ \(SIG[A-Z]+\); out of memory\? the limit is"
                r"|ran out of memory \(limit) 1024 MiB"
            ),
        ),
    ],
)
def test_hostile_pdf_is_refused_with_a_clear_message(pdfs, name, message):
    text, seconds = refuse(pdfs.data(name))
    if isinstance(message, re.Pattern):
        assert message.match(text), text
    else:
        assert text == message
    assert seconds < BOUND_SECONDS


def test_deep_nesting_is_read_safely_and_reported_as_not_insurance(pdfs):
    """pdfium caps its own recursion: the file opens, has no insurance content, and says so."""
    start = time.monotonic()
    with pytest.raises(ParseError) as err:
        list(InsurancePdfParser(io.BytesIO(pdfs.data("nested")), name="nested.pdf"))
    assert time.monotonic() - start < BOUND_SECONDS
    assert [p.field for p in err.value.problems] == ["doc_type"]


def test_garbage_with_an_eof_marker_is_not_a_pdf():
    text, _ = refuse(F.garbage_pdf() + b"\n%%EOF\n")
    assert text == "not a PDF or corrupted (no readable document structure)"


def test_page_and_size_limits_are_configurable(pdfs, monkeypatch):
    text, _ = refuse(pdfs.data("harborline"), limits=Limits(max_pages=1))
    assert text == "the PDF has 2 pages, more than the limit of 1"
    text, _ = refuse(pdfs.data("harborline"), limits=Limits(max_bytes=1000))
    assert text == "file is larger than the limit of 1000 bytes"
    monkeypatch.setenv("BANKGATE_PDF_MAX_PAGES", "1")  # read by the core's settings, passed to the parser
    text, _ = refuse(pdfs.data("harborline"), limits=settings.pdf_limits())
    assert text == "the PDF has 2 pages, more than the limit of 1"
    monkeypatch.setenv("BANKGATE_PDF_MAX_PAGES", "many")
    with pytest.raises(ValueError, match="BANKGATE_PDF_MAX_PAGES: not a number"):
        settings.pdf_limits()


def test_wall_clock_limit_kills_the_worker(pdfs):
    text, seconds = refuse(pdfs.data("harborline"), limits=Limits(wall_seconds=0.01))
    assert text == "PDF worker timed out after 0.01 s (the file may be hostile)"
    assert seconds < 5


def test_memory_limit_is_the_workers_not_ours(pdfs):
    """A bomb under a smaller cap still dies in the worker, and this process stays small."""
    text, _ = refuse(pdfs.data("bomb"), limits=Limits(memory_mib=512))
    assert "the limit is 512 MiB" in text
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 2 << 20  # KiB: under 2 GiB


def test_worker_deaths_are_named():
    limits = Limits()
    assert (
        _death(-signal.SIGSEGV, b"", limits)
        == "PDF worker died: signal 11 (SIGSEGV); out of memory? the limit is 1024 MiB"
    )
    assert (
        _death(-signal.SIGXCPU, b"", limits) == "PDF worker died: signal 24 (SIGXCPU), CPU time limit of 60 s exceeded"
    )
    assert _death(1, b"Traceback...\nMemoryError\n", limits) == "PDF worker ran out of memory (limit 1024 MiB)"
    assert _death(3, b"boom\n", limits) == "PDF worker exited with status 3 without an answer: boom"


def test_a_good_file_still_parses_after_the_hostile_ones(pdfs):
    records = list(InsurancePdfParser(io.BytesIO(pdfs.data("harborline")), name="good.pdf"))
    assert records[0].doc_type == "declarations"
