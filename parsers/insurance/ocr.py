"""OCR of image-only pages with Tesseract, when it is installed (Debian: ``tesseract-ocr``).

Runs inside the PDF worker, so the memory and time bounds cover Tesseract too. The page is
rendered by pdfium to an 8-bit grey bitmap, handed to ``tesseract`` as a PGM on stdin, and
read back as TSV word boxes: words with positions go through the same layout code as a text
layer, so templates and the ACORD reader work unchanged on scans.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any


def tesseract_path(configured: str | None = "tesseract") -> str | None:
    """The tesseract binary (a name on the PATH or a path), or None when OCR is unavailable:
    not installed, or turned off (``configured`` None; the core's ``BANKGATE_TESSERACT``)."""
    return shutil.which(configured) if configured else None


def render_pgm(page: Any, dpi: int) -> bytes:
    """The page as a binary PGM (P5): pdfium's grey bitmap rows, without row padding."""
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    try:
        width, height, stride = bitmap.width, bitmap.height, bitmap.stride
        raw = bytes(bitmap.buffer)
    finally:
        bitmap.close()
    if stride != width:
        raw = b"".join(raw[row * stride : row * stride + width] for row in range(height))
    return b"P5\n%d %d\n255\n" % (width, height) + raw


def ocr_words(pgm: bytes, dpi: int, binary: str, timeout: float) -> list[list[Any]]:
    """Words on the page as ``[x0, top, x1, bottom, text]`` in points. Raises OSError on failure."""
    try:
        done = subprocess.run(
            [binary, "stdin", "stdout", "-l", "eng", "--dpi", str(dpi), "tsv"],
            input=pgm,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OSError(f"tesseract timed out after {timeout:.0f} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OSError(f"tesseract failed (status {done.returncode}): {message[-1] if message else 'no message'}")
    return _words_from_tsv(done.stdout.decode("utf-8", "replace"), 72 / dpi)


def _words_from_tsv(tsv: str, scale: float) -> list[list[Any]]:
    """Level-5 rows (words); each takes the top and bottom of its Tesseract line (level 4), so a
    dash or a word with descenders sits on the same line as its neighbours."""
    lines: dict[tuple[str, ...], tuple[int, int]] = {}
    words: list[list[Any]] = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or not cells[6].isdigit():
            continue
        key = tuple(cells[1:5])
        left, top, width, height = (int(c) for c in cells[6:10])
        if cells[0] == "4":
            lines[key] = (top, top + height)
        elif cells[0] == "5" and cells[11].strip():
            line_top, line_bottom = lines.get(key, (top, top + height))
            words.append(
                [
                    round(left * scale, 1),
                    round(line_top * scale, 1),
                    round((left + width) * scale, 1),
                    round(line_bottom * scale, 1),
                    cells[11].strip(),
                ]
            )
    return words
