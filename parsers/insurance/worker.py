"""The child process that reads one untrusted PDF: ``python -m bankgate.parsers.insurance.worker``.

It bounds itself before touching the file (address space, CPU seconds, no core dumps),
reads a header and the PDF bytes from stdin, and writes one JSON object to stdout: the
content, or ``{"error": "..."}`` for a file it could refuse politely. Anything worse (a
crash in pdfium, the memory limit, the CPU limit) ends the process, and the parent
(``sandbox.py``) turns the exit status into a message.
"""

from __future__ import annotations

import resource
import sys
from typing import Any

import orjson


def apply_limits(memory_mib: int, cpu_seconds: int) -> None:
    memory = memory_mib << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> int:
    stdin = sys.stdin.buffer
    size = int.from_bytes(stdin.read(4), "big")
    header = orjson.loads(stdin.read(size))
    from bankgate.parsers.insurance.limits import Limits

    limits = Limits(**header["limits"])
    apply_limits(limits.memory_mib, limits.cpu_seconds)
    data = stdin.read()
    from bankgate.parsers.insurance.pdfread import PdfError, read_pdf

    try:
        import pypdfium2  # noqa: F401 - the one dependency of PDF reading
    except ImportError:
        sys.stdout.buffer.write(orjson.dumps({"error": "PDF support is not installed: pip install 'bankgate[pdf]'"}))
        return 0
    try:
        result: dict[str, Any] = read_pdf(
            data, limits, first_pages=header["first_pages"], ocr_enabled=header["ocr"], tesseract=header["tesseract"]
        )
    except PdfError as exc:
        result = {"error": str(exc)}
    except MemoryError:
        result = {"error": f"reading it needs more memory than the limit of {limits.memory_mib} MiB"}
    except RecursionError:
        result = {"error": "objects nested too deeply to read"}
    except Exception as exc:  # a library's own error on a malformed file: report it, never a traceback
        result = {"error": f"unreadable PDF ({type(exc).__name__}: {exc})"}
    del data
    sys.stdout.buffer.write(orjson.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
