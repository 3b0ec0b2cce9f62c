"""Reading a PDF's content with pdfium: words with positions per page, form fields, scans.

This module runs in the sandboxed worker (``sandbox.py``), never in the caller's process:
pdfium is C++ and a hostile file may crash it. It returns plain lists and dicts (JSON-able)
so the parent never unpickles anything the worker produced.

Why pdfium (pypdfium2) for everything: on the project's generated set it reads the text
layer about 20x faster than pypdf and 100x faster than pdfminer (pdfplumber), with the same
values found, and it reads AcroForm values exactly as pypdf does at a sixth of the time; one
library also means one parse of each hostile file (numbers in the README and the benchmark).
"""

from __future__ import annotations

import ctypes
from typing import Any

from bankgate.parsers.insurance import ocr
from bankgate.parsers.insurance.limits import Limits

#: pdfium's load errors (FPDF_GetLastError) in words a person can act on.
LOAD_ERRORS = {
    1: "unknown error",
    2: "file not found or could not be opened",
    3: "not a PDF or corrupted (no readable document structure)",
    4: "encrypted: a password is needed to open it",
    5: "unsupported security scheme (encryption)",
    6: "page not found or content error",
}
#: pdfium words closer than this fraction of the font height belong to one segment.
SEGMENT_GAP = 0.6


class PdfError(Exception):
    """The PDF cannot be read; the message says why, for a person."""


def read_pdf(
    data: bytes, limits: Limits, *, first_pages: int = 0, ocr_enabled: bool = True, tesseract: str | None = "tesseract"
) -> dict[str, Any]:
    """Everything the extractors need from one PDF, as JSON-able data.

    ``first_pages`` (detection) reads only that many pages' text and OCRs at most that many.
    """
    import pypdfium2 as pdfium

    _check_envelope(data, limits)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", 1)
        raise PdfError(LOAD_ERRORS.get(code, str(exc))) from None
    try:
        count = len(pdf)
        if count == 0:
            raise PdfError("the PDF has no pages (empty or broken page tree)")
        if count > limits.max_pages:
            raise PdfError(f"the PDF has {count} pages, more than the limit of {limits.max_pages}")
        fields = _form_fields(pdf)
        wanted = min(count, first_pages) if first_pages else count
        ocr_budget = min(limits.ocr_pages, first_pages) if first_pages else limits.ocr_pages
        binary = ocr.tesseract_path(tesseract) if ocr_enabled else None
        pages, ocr_state = [], "not-needed"
        for index in range(wanted):
            try:
                page = pdf[index]
            except pdfium.PdfiumError:
                raise PdfError(f"page {index + 1} cannot be loaded (broken page tree or page object)") from None
            try:
                info = _page(page, index + 1)
                if info["image_only"]:
                    if binary is None:
                        ocr_state = "unavailable"
                    elif ocr_budget <= 0:
                        ocr_state = "limit"
                    else:
                        ocr_budget -= 1
                        try:
                            timeout = max(5.0, limits.wall_seconds / 2)
                            info["segments"] = ocr.ocr_words(
                                ocr.render_pgm(page, limits.ocr_dpi), limits.ocr_dpi, binary, timeout
                            )
                            info["source"] = "ocr"
                            ocr_state = "done" if ocr_state in ("not-needed", "done") else ocr_state
                        except OSError as exc:
                            ocr_state = f"failed: {exc}"
                pages.append(info)
            finally:
                page.close()
        return {"page_count": count, "pages": pages, "fields": fields, "ocr": ocr_state}
    finally:
        pdf.close()


def _check_envelope(data: bytes, limits: Limits) -> None:
    """What can be said before pdfium sees the bytes: empty, too big, not a PDF, truncated."""
    if not data:
        raise PdfError("empty file (0 bytes)")
    if len(data) > limits.max_bytes:
        raise PdfError(f"file is larger than the limit of {limits.max_bytes} bytes")
    if b"%PDF-" not in data[:1024]:
        raise PdfError("not a PDF (no %PDF- header in the first 1024 bytes)")
    if b"%%EOF" not in data[-2048:]:
        raise PdfError("incomplete PDF: no %%EOF marker at the end (truncated in transfer, or corrupt)")


def _page(page: Any, number: int) -> dict[str, Any]:
    left, bottom, right, top = page.get_mediabox()
    textpage = page.get_textpage()
    try:
        segments, chars = _segments(textpage, top)
    finally:
        textpage.close()
    image_only = False
    if chars == 0:
        import pypdfium2.raw as raw

        image_only = any(True for _ in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=4))
    return {
        "number": number,
        "width": round(right - left, 1),
        "height": round(top - bottom, 1),
        "segments": segments,
        "chars": chars,
        "image_only": image_only,
        "source": "none" if image_only else "text",
    }


def _segments(textpage: Any, page_top: float) -> tuple[list[list[Any]], int]:
    """Runs of words on one line as ``[x0, top, x1, bottom, text]`` (points, from the top).

    The page text comes out in one call; boxes are asked for only at the first and last
    character of each word (loose boxes: font ascent to descent, so a line's words share a
    height). A word joins the previous run when it follows it closely on the same baseline.
    """
    import pypdfium2.raw as raw

    text = textpage.get_text_range()
    count = raw.FPDFText_CountChars(textpage)
    if len(text) != count:  # characters outside the BMP: fall back to one char at a time
        text = "".join(chr(raw.FPDFText_GetUnicode(textpage, i) or 32) for i in range(count))
    rect = raw.FS_RECTF()
    ref = ctypes.byref(rect)

    def box(i: int) -> tuple[float, float, float, float]:
        raw.FPDFText_GetLooseCharBox(textpage, i, ref)
        return rect.left, page_top - rect.top, rect.right, page_top - rect.bottom

    segments: list[list[Any]] = []
    chars = 0
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace() or text[i] == "\x00":
            i += 1
            continue
        j = i
        while j < n and not (text[j].isspace() or text[j] == "\x00"):
            j += 1
        word = text[i:j]
        chars += j - i
        x0, top, _, bottom = box(i)
        _, _, x1, _ = box(j - 1)
        last = segments[-1] if segments else None
        height = bottom - top
        if (
            last is not None
            and abs(last[1] - top) < height * 0.3
            and -height * 0.2 < x0 - last[2] < height * SEGMENT_GAP
        ):
            last[2] = max(last[2], x1)
            last[4] += " " + word
            last[3] = max(last[3], bottom)
        else:
            segments.append([x0, top, x1, bottom, word])
        i = j
    for s in segments:
        s[0], s[1], s[2], s[3] = round(s[0], 1), round(s[1], 1), round(s[2], 1), round(s[3], 1)
    return segments, chars


def _form_fields(pdf: Any) -> list[list[Any]]:
    """Every AcroForm widget as ``[name, value, page]``; fully qualified names as pdfium gives them."""
    import pypdfium2.raw as raw

    pdf.init_forms()
    if pdf.get_formtype() == raw.FORMTYPE_NONE:
        return []
    env = pdf.formenv
    out: list[list[Any]] = []

    def read(fn: Any, annot: Any) -> str:
        size = fn(env, annot, None, 0)
        if size <= 2:
            return ""
        buf = (ctypes.c_ushort * (size // 2))()
        fn(env, annot, buf, size)
        return bytes(buf)[:-2].decode("utf-16-le", "replace")

    for index in range(len(pdf)):
        try:
            page = pdf[index]
        except Exception:
            raise PdfError(f"page {index + 1} cannot be loaded (broken page tree or page object)") from None
        try:
            for k in range(raw.FPDFPage_GetAnnotCount(page)):
                annot = raw.FPDFPage_GetAnnot(page, k)
                try:
                    if raw.FPDFAnnot_GetSubtype(annot) == raw.FPDF_ANNOT_WIDGET:
                        out.append(
                            [
                                read(raw.FPDFAnnot_GetFormFieldName, annot),
                                read(raw.FPDFAnnot_GetFormFieldValue, annot),
                                index + 1,
                            ]
                        )
                finally:
                    raw.FPDFPage_CloseAnnot(annot)
        finally:
            page.close()
    return out
