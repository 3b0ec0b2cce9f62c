"""Insurance PDF benchmark: bankgate's extraction against plain pdfplumber text, one run.

    ./dev bench insurance_pdf [--pages 200] [--repeat 3]

Generates a 200-page declarations document (100 Harborline policies of two pages, twelve
coverages each) with the test suite's PDF factory, then measures each of these in its own
child process, so every peak RSS belongs to that measurement alone:

- bankgate: ``InsurancePdfParser`` end to end (bounded worker process included), every
  field of every policy and coverage extracted and checked;
- pdfplumber: ``page.extract_text()`` on every page (text only, no fields) - the baseline;
- pypdfium2 / pypdf: their plain text extraction, for the library comparison.

Then the library comparison on the generated test set: how many of the values drawn on the
flattened ACORD 25 and the two carriers' declarations each library's text contains, and
how many AcroForm values pypdf and pypdfium2 read exactly from the fillable certificate.

Last, field accuracy on printed ACORD 25 certificates: the factory's set of two form editions
(2016/03, 2014/01) in four layouts (the suite's own and three agency-system styles), each as a
text-layer copy and a scan (OCR; ``--no-ocr`` or no Tesseract skips scans). Each is parsed in
lenient mode and scored as fields found exactly out of fields expected.
"""

from __future__ import annotations

import argparse
import ctypes
import io
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(path: Path, pages: int) -> None:
    from tests.parsers.pdf_factory import bench_declarations_pdf

    path.write_bytes(bench_declarations_pdf(pages))


# -- measurements, each run in a child process -------------------------------------------------


def measure_bankgate(path: str) -> dict:
    from bankgate.parsers.insurance import InsurancePdfParser
    from tests.parsers.pdf_factory import HARBORLINE_COVERAGES, bench_policies

    with open(path, "rb") as f:
        records = list(InsurancePdfParser(f, name=path))
    policies = [r for r in records if r.KIND == "policy"]
    coverages = [r for r in records if r.KIND == "coverage"]
    expected = bench_policies(records[0].pages)
    complete = len(policies) == len(expected) and all(
        p.policy_number == truth["policy_number"]
        and p.premium_cents == truth["premium_cents"]
        and None not in (p.named_insured, p.effective, p.expiration)
        for p, (truth, _) in zip(policies, expected)
    )
    complete &= len(coverages) == len(expected) * len(HARBORLINE_COVERAGES) and all(
        c.policy_number and c.limits and c.premium_cents is not None for c in coverages
    )
    return {"pages": records[0].pages, "policies": len(policies), "coverages": len(coverages), "complete": complete}


def measure_pdfplumber(path: str) -> dict:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        texts = [page.extract_text() or "" for page in pdf.pages]
    return {"pages": len(texts), "chars": sum(map(len, texts))}


def measure_pypdfium2(path: str) -> dict:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    texts = [page.get_textpage().get_text_range() for page in pdf]
    pdf.close()
    return {"pages": len(texts), "chars": sum(map(len, texts))}


def measure_pypdf(path: str) -> dict:
    import pypdf

    texts = [page.extract_text() for page in pypdf.PdfReader(path).pages]
    return {"pages": len(texts), "chars": sum(map(len, texts))}


MEASURES = {
    "bankgate": measure_bankgate,
    "pdfplumber": measure_pdfplumber,
    "pypdfium2": measure_pypdfium2,
    "pypdf": measure_pypdf,
}


def child(name: str, path: str) -> None:
    # Imports are start-up cost, not extraction: load them before the clock starts.
    if name == "bankgate":
        import bankgate.parsers.insurance  # noqa: F401
    else:
        __import__(name)
    start = time.perf_counter()
    result = MEASURES[name](path)
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # bankgate's PDF worker
    print(json.dumps({"seconds": seconds, "result": result, "peak_mib": own, "worker_peak_mib": worker}))


def run_child(name: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


# -- the library comparison on the test set ----------------------------------------------------


def _truths() -> dict[str, tuple[bytes, list[str]]]:
    from tests.parsers import pdf_factory as F

    h, g = F.HARBORLINE, F.GRANITE
    return {
        "acord25 (flattened)": (
            F.acord25_pdf(fillable=False),
            [v for v in F.acord_values().values() if v and len(v) < 60],
        ),
        "harborline": (
            F.harborline_pdf(),
            [h["policy_number"], h["named_insured"], "01/01/2026", "01/01/2027", "$48,915.00"]
            + [c[0] for c in F.HARBORLINE_COVERAGES]
            + [f"${c[1]:,}" for c in F.HARBORLINE_COVERAGES],
        ),
        "granite-peak": (
            F.granite_pdf(),
            [g["policy_number"], g["named_insured"], "March 15, 2026", "USD 23,118"]
            + [c[0] for c in F.GRANITE_COVERAGES],
        ),
    }


def _text(library: str, data: bytes) -> str:
    if library == "pypdfium2":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
        text = " ".join(page.get_textpage().get_text_range() for page in pdf)
        pdf.close()
        return text
    if library == "pypdf":
        import pypdf

        return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return " ".join(page.extract_text() or "" for page in pdf.pages)


def _form(library: str, data: bytes) -> dict[str, str]:
    if library == "pypdf":
        import pypdf

        fields = pypdf.PdfReader(io.BytesIO(data)).get_fields() or {}
        return {name: str(field.get("/V", "")) for name, field in fields.items()}
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument(data)
    pdf.init_forms()
    out = {}

    def read(fn, annot) -> str:
        size = fn(pdf.formenv, annot, None, 0)
        buf = (ctypes.c_ushort * (size // 2))()
        fn(pdf.formenv, annot, buf, size)
        return bytes(buf)[:-2].decode("utf-16-le")

    for page in pdf:
        for i in range(raw.FPDFPage_GetAnnotCount(page)):
            annot = raw.FPDFPage_GetAnnot(page, i)
            if raw.FPDFAnnot_GetSubtype(annot) == raw.FPDF_ANNOT_WIDGET:
                out[read(raw.FPDFAnnot_GetFormFieldName, annot)] = read(raw.FPDFAnnot_GetFormFieldValue, annot)
            raw.FPDFPage_CloseAnnot(annot)
    pdf.close()
    return out


def compare_libraries() -> None:
    from tests.parsers.pdf_factory import acord25_pdf, acord_values

    norm = lambda s: re.sub(r"\s+", " ", s)  # noqa: E731
    truths = _truths()
    print("\ntext layer: values drawn on the test set found in each library's text")
    for library in ("pypdfium2", "pypdf", "pdfplumber"):
        found = total = 0
        for data, values in truths.values():
            text = norm(_text(library, data))
            found += sum(norm(v) in text for v in values)
            total += len(values)
        print(f"  {library:11} {found}/{total}")
    data, truth = acord25_pdf(fillable=True), acord_values()
    print("AcroForm: values of the fillable ACORD 25 read exactly, and time per form (best of 20)")
    for library in ("pypdfium2", "pypdf"):
        got = _form(library, data)
        exact = sum(got.get(k) == v for k, v in truth.items())
        best = min(_timed(lambda lib=library: _form(lib, data)) for _ in range(20))
        print(f"  {library:11} {exact}/{len(truth)} exact, {best * 1000:.1f} ms")


def acord_accuracy(*, ocr: bool) -> None:
    from bankgate.parsers.insurance import InsurancePdfParser
    from bankgate.parsers.insurance.ocr import tesseract_path
    from tests.parsers.pdf_factory import ACORD_VARIANTS, EDITIONS, acord_variant_pdf, field_accuracy

    copies = ["text"] + (["scan"] if ocr and tesseract_path() else [])
    columns = [(edition, copy) for copy in copies for edition in EDITIONS]
    print("\nprinted ACORD 25: fields found exactly / expected, per style, edition and copy")
    print(f"  {'style':8}" + "".join(f"{e + ' ' + c:>15}" for e, c in columns) + "".join(f"{c:>12}" for c in copies))
    totals = {copy: [0, 0] for copy in copies}
    for style in dict.fromkeys(s for s, _ in ACORD_VARIANTS):
        cells, per_copy = [], {copy: [0, 0] for copy in copies}
        for edition, copy in columns:
            data = acord_variant_pdf(style, edition, scan=copy == "scan")
            found, expected = field_accuracy(list(InsurancePdfParser(io.BytesIO(data), name=style, lenient=True)))
            cells.append(f"{found}/{expected}")
            for acc in (per_copy[copy], totals[copy]):
                acc[0] += found
                acc[1] += expected
        print(
            f"  {style:8}"
            + "".join(f"{c:>15}" for c in cells)
            + "".join(f"{f}/{e}".rjust(12) for f, e in per_copy.values())
        )
    for copy, (found, expected) in totals.items():
        name = {"text": "text-layer copies", "scan": "scans (OCR)"}[copy]
        print(f"  all {name}: {found}/{expected} ({100 * found / expected:.1f}%)")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    ap.add_argument("--no-ocr", action="store_true", help="score the text-layer certificates only, not the scans")
    ap.add_argument("--child", nargs=2, metavar=("MEASURE", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "declarations.pdf"
        start = time.perf_counter()
        generate(path, args.pages)
        size = path.stat().st_size
        made = time.perf_counter() - start
        print(f"file: {args.pages} pages of declarations, {size / 2**10:.0f} KiB, made in {made:.1f} s")
        results = {}
        for name in MEASURES:
            runs = [run_child(name, path) for _ in range(args.repeat)]
            results[name] = min(runs, key=lambda r: r["seconds"])
        for name, r in results.items():
            rate = args.pages / r["seconds"]
            peak = f"peak RSS {r['peak_mib']:.0f} MiB"
            if name == "bankgate":
                peak += f" (+ PDF worker {r['worker_peak_mib']:.0f} MiB)"
            print(f"{name:11} {r['seconds']:7.3f} s  {rate:8.0f} pages/s  {peak}  {r['result']}")
        ratio = results["pdfplumber"]["seconds"] / results["bankgate"]["seconds"]
        complete = results["bankgate"]["result"]["complete"]
        print(f"\nbankgate (all fields, validated) vs pdfplumber (text only): {ratio:.1f}x the page rate")
        print(f"every policy and coverage field extracted: {'yes' if complete else 'NO'}")
        compare_libraries()
        acord_accuracy(ocr=not args.no_ocr)


if __name__ == "__main__":
    main()
