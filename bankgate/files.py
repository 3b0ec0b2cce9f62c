"""Opening local files for the parsers: content detection, and gzip unwrapped transparently."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO

from parsers.detect import GZIP, HEAD_BYTES, detect, read_head

READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile)


def open_detected(path: Path) -> tuple[IO[bytes], str]:
    """Open ``path`` for reading and detect its type; returns (stream, type). The caller closes."""
    stream: IO[bytes] = open(path, "rb")  # noqa: SIM115 - handed to the caller
    kind = detect(read_head(stream))
    if kind == GZIP:
        stream = gzip.GzipFile(fileobj=stream)  # type: ignore[assignment]
        kind = detect(stream.read(HEAD_BYTES))
        stream.seek(0)
    return stream, kind
