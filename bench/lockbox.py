"""Fixed-width parsing benchmark: the shipped BAI lockbox layout on three real-world shapes.

    ./dev bench lockbox [--lockboxes 99] [--repeat 3]

Generates a file with the layout's own writer (``FixedLayout.encode``; 99 lockboxes of 10
batches of 999 checks are 991,092 records) and two variants of it: trailing spaces stripped
(every line short, the padding path) and 13 characters of bank data after position 80 (the
``at_least`` path). The files are generated in one child process and each shape is parsed and
validated in another, so each peak RSS is that measurement's alone (Linux keeps a parent's peak
across fork and exec); the best wall and CPU times of ``--repeat`` runs are printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ("exact 80", "short lines", "trailing data")


def generate(lockboxes: int) -> bytes:
    """A valid lockbox transmission: ``lockboxes`` x 10 batches x 999 checks."""
    from bankgate.parsers.fixed import load_layout

    encode = load_layout("bai-lockbox").encode
    day = date(2024, 3, 14)
    ids = {"destination_id": "ACMEWIDGET", "origin_id": "0210000210"}
    header = {"priority_code": "00", **ids, "transmission_date": day, "transmission_time": "0615"}
    out = [
        encode("immediate_header", header),
        encode("service_header", {**ids, "reference_code": "LBX", "blocking_factor": "8001"}),
    ]
    for lb in range(lockboxes):
        box = {"lockbox_number": f"{5211700 + lb:07d}", "deposit_date": day}
        count = total = 0
        for batch in range(1, 11):
            out.append(encode("batch_header", {"batch_number": batch, "item_number": 0, **box, **ids}))
            amounts = [1000 + i for i in range(1, 1000)]
            for i, amount in enumerate(amounts, 1):
                check = {"routing_number": "021000021", "account_number": "1234567890", "check_number": "0000001234"}
                values = {"batch_number": batch, "item_number": i, "amount": amount, **check, "check_date": day}
                out.append(encode("detail", {**values, "remitter_name": "NORTHWIND TRADERS"}))
            totals = {"item_count": len(amounts), "batch_amount": sum(amounts)}
            out.append(encode("batch_total", {"batch_number": batch, "item_number": 0, **box, **totals}))
            count, total = count + len(amounts), total + sum(amounts)
        totals = {"item_count": count, "lockbox_amount": total}
        out.append(encode("lockbox_total", {"batch_number": 10, "item_number": 0, **box, **totals}))
    out.append(encode("trailer", {"record_count": len(out) + 1}))
    return b"\n".join(out) + b"\n"


def write_shapes(directory: Path, lockboxes: int) -> None:
    """Child process: one file per shape in ``directory``."""
    data = generate(lockboxes)
    lines = data.splitlines()
    files = {
        "exact 80": data,
        "short lines": b"\n".join(line.rstrip() for line in lines) + b"\n",
        "trailing data": b"\n".join(line + b"REF0000012345" for line in lines) + b"\n",
    }
    for shape, content in files.items():
        (directory / _file_name(shape)).write_bytes(content)


def _file_name(shape: str) -> str:
    return shape.replace(" ", "-") + ".txt"


def measure(path: str, repeat: int) -> dict[str, float]:
    """Child process: parse+validate the file ``repeat`` times; best wall and CPU seconds."""
    from bankgate.parsers.fixed import FixedWidthParser, load_layout

    layout = load_layout("bai-lockbox")
    wall = cpu = float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        with open(path, "rb") as stream:  # streamed, as the CLI and the pipeline read
            parser = FixedWidthParser(stream, layout)
            records = sum(len(batch) for batch in parser._batches())
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
        if parser.problems:
            raise SystemExit(f"{path}: {len(parser.problems)} problems, first {parser.problems[0]}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"records": records, "wall": wall, "cpu": cpu, "rss_mb": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lockboxes", type=int, default=99)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--generate", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return
    if args.generate:
        write_shapes(Path(args.generate), args.lockboxes)
        return
    with tempfile.TemporaryDirectory() as tmp:
        generate_cmd = [sys.executable, __file__, "--generate", tmp, "--lockboxes", str(args.lockboxes)]
        subprocess.run(generate_cmd, check=True, cwd=ROOT)
        for shape in SHAPES:
            path = Path(tmp) / _file_name(shape)
            cmd = [sys.executable, __file__, "--measure", str(path), "--repeat", str(args.repeat)]
            result = json.loads(subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT).stdout)
            rate = result["records"] / result["cpu"] / 1e6
            print(
                f"{shape:14} {result['records']:>9,} records  wall {result['wall']:.2f}s  cpu {result['cpu']:.2f}s"
                f"  {rate:.2f} M records/cpu-s  peak RSS {result['rss_mb']:.0f} MB"
            )


if __name__ == "__main__":
    main()
