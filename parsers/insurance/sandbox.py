"""Run pdfium on an untrusted PDF in a child process with hard limits on memory and time.

pdfium is C++: a hostile file can crash it (the whole process, not an exception), or make
it inflate a bomb or walk a loop for minutes. So each file is read by a fresh worker
process (``python -m bankgate.parsers.insurance.worker``) that caps its own address space and CPU
time before it reads a byte; the parent waits at most the wall-clock limit and then kills
it. Whatever happens in the worker becomes a ``PdfReadError`` that says what: "PDF worker
died: signal 11 (SIGSEGV)", "timed out after 20 s", or the worker's own refusal.

One process per file costs about 0.1 s of interpreter start (measured in the benchmark);
it is simple, shares nothing between files, and cannot be wedged by a previous file. The
parent never unpickles what the worker sends: the result is JSON, parsed by orjson.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from bankgate.parsers.insurance.limits import Limits

#: The folder holding the top-level package (``bankgate``), put on the worker's path so a source
#: checkout works uninstalled: this file's path as imported (through the ``bankgate/parsers`` link,
#: not resolved), one level up per dot in the module's name.
_ROOT = str(Path(__file__).parents[__name__.count(".")])


class PdfReadError(Exception):
    """The PDF could not be read; the message is for a person."""


def _environment() -> dict[str, str]:
    """The worker's environment: this process's (handed on, not read for settings), with
    ``parsers`` importable and Tesseract, which the worker starts, kept to one thread."""
    env = dict(os.environ)
    paths = [_ROOT, *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def read_untrusted(
    data: bytes,
    limits: Limits,
    *,
    first_pages: int = 0,
    ocr_enabled: bool = True,
    tesseract: str | None = "tesseract",
) -> dict[str, Any]:
    """``pdfread.read_pdf`` of ``data``, in a bounded worker process. Raises ``PdfReadError``.

    ``tesseract`` is the OCR binary (a name on the PATH or a path); None turns OCR off."""
    header = orjson.dumps(
        {
            "limits": dataclasses.asdict(limits),
            "first_pages": first_pages,
            "ocr": ocr_enabled and tesseract is not None,
            "tesseract": tesseract,
        }
    )
    try:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bankgate.parsers.insurance.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_environment(),
            start_new_session=True,  # a kill reaches the worker's own children (tesseract)
        )
    except OSError as exc:
        raise PdfReadError(f"cannot start the PDF worker: {exc}") from None
    try:
        out, err = worker.communicate(len(header).to_bytes(4, "big") + header + data, timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        _kill(worker)
        raise PdfReadError(f"PDF worker timed out after {limits.wall_seconds:g} s (the file may be hostile)") from None
    except BaseException:
        _kill(worker)
        raise
    if worker.returncode != 0 or not out:
        raise PdfReadError(_death(worker.returncode, err, limits))
    try:
        result = orjson.loads(out)
    except orjson.JSONDecodeError:
        raise PdfReadError("PDF worker sent an unreadable answer") from None
    if "error" in result:
        raise PdfReadError(result["error"])
    return result


def _kill(worker: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except OSError:
        worker.kill()
    worker.communicate()


def _death(code: int, stderr: bytes, limits: Limits) -> str:
    if code < 0:
        number = -code
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else "unknown"
        if number == signal.SIGXCPU or number == signal.SIGKILL:
            return f"PDF worker died: signal {number} ({name}), CPU time limit of {limits.cpu_seconds} s exceeded"
        crash = (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGTRAP, signal.SIGILL)
        hint = f"; out of memory? the limit is {limits.memory_mib} MiB" if number in crash else ""
        return f"PDF worker died: signal {number} ({name}){hint}"
    last = stderr.decode("utf-8", "replace").strip().splitlines()
    if last and "MemoryError" in last[-1]:
        return f"PDF worker ran out of memory (limit {limits.memory_mib} MiB)"
    detail = f": {last[-1][:200]}" if last else ""
    return f"PDF worker exited with status {code} without an answer{detail}"
