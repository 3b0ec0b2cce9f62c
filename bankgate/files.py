"""Opening local files for the parsers: content detection, and gzip unwrapped transparently."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from bankgate.parsers.detect import GZIP, HEAD_BYTES, detect, read_head

#: A truncated or corrupt gzip stream; raised by any read, so also in the middle of a parse.
DECOMPRESS_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)
READ_ERRORS = (OSError, *DECOMPRESS_ERRORS)


def open_detected(path: Path, layout_dirs: Iterable[str | os.PathLike[str]] = ()) -> tuple[IO[bytes], str]:
    """Open ``path`` for reading and detect its type (user layouts from ``layout_dirs``);
    returns (stream, type). The caller closes."""
    stream: IO[bytes] = open(path, "rb")  # noqa: SIM115 - handed to the caller
    try:
        layout_dirs = tuple(layout_dirs)
        kind = detect(read_head(stream), layout_dirs)
        if kind == GZIP:
            stream.close()  # reopened through gzip, so closing the result closes the file too
            stream = gzip.open(path, "rb")  # type: ignore[assignment]  # noqa: SIM115
            kind = detect(stream.read(HEAD_BYTES), layout_dirs)
            stream.seek(0)
    except BaseException:
        stream.close()
        raise
    return stream, kind
