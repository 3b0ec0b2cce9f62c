"""NACHA parsing benchmark: bankgate against a naive parser and the raw read rate, one run.

    ./dev bench nacha [--entries 500000] [--shape wide|payroll|both] [--baseline DIR]

Generates files with the project's writer in two shapes: ``wide``, few big batches (10,000
entries each), and ``payroll``, many small ones (200 entries each: 2,500 batches for 500,000
entries, as real payroll files are). For each shape it runs each measurement in its own child
process so every peak RSS belongs to that measurement alone:

- raw read: reading the file in 1 MiB chunks (the ceiling for any parser);
- naive: a line-by-line Python loop that checks only totals and check digits;
- bankgate parse+validate: every rule checked, the clean entries kept as columns
  (``iter_chunks``, what the CLI and the pipeline write from);
- bankgate row API: the same, with every record built as a Python tuple (``for r in parser``);
- bankgate CLI: ``bankgate parse FILE -o OUT.jsonl`` end to end, as a user runs it.

``--baseline DIR`` measures another source tree of bankgate the same way (a ``git archive`` or
worktree of the commit to compare with), in the same run, for a before/after table; a tree
without ``iter_chunks`` is measured through its row API for parse+validate.

Each rate is given per second of wall clock and per second of CPU (user + system) of the
measuring process: on a shared machine (2 cores, other jobs running) the wall clock counts
the time other jobs held the cores, the CPU time does not, so it is the figure to compare
between runs; the best of ``--repeat`` runs is reported, by wall clock.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


#: Entries per batch of each file shape.
SHAPES = {"wide": 10_000, "payroll": 200}


def generate(path: Path, entries: int, per_batch: int) -> None:
    from bankgate.parsers.nacha.writer import NachaWriter

    with open(path, "wb", buffering=1 << 20) as out:
        w = NachaWriter(out, immediate_destination="231380104", immediate_origin="1121042882")
        written = 0
        while written < entries:
            with w.batch(
                company_name="BENCH CORP",
                company_identification="1121042882",
                standard_entry_class_code="PPD",
                company_entry_description="PAYROLL",
                effective_entry_date=date(2026, 11, 23),
                odfi_identification="12104288",
            ) as b:
                for i in range(min(per_batch, entries - written)):
                    n = written + i
                    b.entry(
                        transaction_code=22 if n % 4 else 27,
                        rdfi_routing=("231380104", "031300012", "121042882")[n % 3],
                        dfi_account_number=f"{100000000 + n}",
                        amount=1000 + n % 99991,
                        identification_number=f"EMP{n}",
                        receiver_name=f"RECEIVER NUMBER {n}",
                    )
            written += min(per_batch, entries - written)
        w.close()


# -- measurements, each run in a child process -------------------------------------------------


def measure_raw(path: str) -> int:
    total = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            total += len(chunk)
    return total


def measure_naive(path: str) -> int:
    """What a hand-rolled parser typically does: split lines, slice fields, check totals."""
    entries = debit = credit = 0
    with open(path, "rb") as f:
        for line in f:
            kind = line[:1]
            if kind == b"6":
                routing = line[3:11]
                total = sum(int(d) * w for d, w in zip(routing.decode(), (3, 7, 1, 3, 7, 1, 3, 7)))
                if (10 - total % 10) % 10 != int(line[11:12]):
                    raise ValueError("check digit")
                amount = int(line[29:39])
                if int(line[1:3]) in (22, 32):
                    credit += amount
                else:
                    debit += amount
                entries += 1
            elif kind == b"9" and line[1:2] != b"9" and (int(line[31:43]), int(line[43:55])) != (debit, credit):
                raise ValueError("totals")
    return entries


def measure_parse(path: str) -> int:
    """Parse and validate, as the writers consume it: no Python object per clean entry."""
    from bankgate.parsers.nacha import NachaParser

    with open(path, "rb") as f:
        parser = NachaParser(f, name=path)
        for _chunk in getattr(parser, "iter_chunks", parser.iter_batches)():
            pass
    return parser.summary.records["entry_detail"]


def measure_rows(path: str) -> int:
    from bankgate.parsers.nacha import NachaParser

    entries = 0
    with open(path, "rb") as f:
        for record in NachaParser(f, name=path):
            if record.KIND == "entry_detail":
                entries += 1
    return entries


MEASURES = {"raw": measure_raw, "naive": measure_naive, "parse": measure_parse, "rows": measure_rows}


def child(name: str, path: str) -> None:
    # Imports are start-up cost, not parsing: ``bankgate.parsers.nacha`` resolves its reader lazily, so
    # the reader (and numpy) must be imported here, not inside the timed call.
    import bankgate.parsers.nacha.reader  # noqa: F401

    start, cpu = time.perf_counter(), time.process_time()
    result = MEASURES[name](path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "cpu": cpu, "result": result, "peak_mib": peak_kib / 1024}))


def _env(tree: Path | None) -> dict[str, str]:
    """The environment of a measured process: ``tree`` (a baseline's sources) first on the path.

    Bytecode is cached (``PYTHONDONTWRITEBYTECODE`` dropped): an installed bankgate has its
    ``.pyc`` files, and compiling a hundred modules at every start-up would be timed as the CLI's.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tree), env.get("PYTHONPATH", "")) if p)
    return env


def run_child(name: str, path: Path, tree: Path | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=_env(tree),
    )
    return json.loads(out.stdout)


def run_cli(path: Path, out: Path, tree: Path | None = None) -> dict:
    """The CLI's wall time and its own peak RSS (``wait4``: RUSAGE_CHILDREN would also count
    every earlier child, the venv's pip run by ``./dev`` before it execs this script among them)."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "bankgate.cli", "parse", str(path), "-o", str(out)]
    # Run from the output's folder: ``-m`` puts the working directory first on the path, which
    # from a source tree would shadow a baseline's ``PYTHONPATH``.
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL, env=_env(tree), cwd=out.parent)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    out.unlink()  # untimed: else the next run pays for dropping this output (os.replace over it)
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}


def run_shape(shape: str, entries: int, repeat: int, tmp: Path, baseline: Path | None) -> None:
    path = tmp / f"{shape}.ach"
    start = time.perf_counter()
    generate(path, entries, SHAPES[shape])
    size = path.stat().st_size
    batches = -(-entries // SHAPES[shape])
    print(
        f"\nfile '{shape}': {entries:,} entries in {batches:,} batches, {size / 2**20:.1f} MiB, "
        f"written in {time.perf_counter() - start:.1f} s"
    )

    def best(fn) -> dict:
        return min((fn() for _ in range(repeat)), key=lambda r: r["seconds"])

    raw = best(lambda: run_child("raw", path))
    naive = best(lambda: run_child("naive", path))
    trees: list[tuple[str, Path | None]] = [("", None)]
    if baseline is not None:
        trees.append(("baseline ", baseline))
    rows = [("raw read (1 MiB chunks)", raw), ("naive parser (totals + check digits)", naive)]
    measured: dict[str, dict] = {}
    for label, tree in trees:
        parse = best(lambda tree=tree: run_child("parse", path, tree))
        assert parse["result"] == entries, parse
        records = best(lambda tree=tree: run_child("rows", path, tree))
        assert records["result"] == entries, records
        cli = best(lambda tree=tree: run_cli(path, tmp / "out.jsonl", tree))
        measured[label] = {"parse": parse, "cli": cli}
        rows += [
            (f"{label}bankgate parse + validate", parse),
            (f"{label}bankgate row API (a tuple per record)", records),
            (f"{label}bankgate CLI -> JSON Lines", cli),
        ]
    path.unlink()

    print(f"{'measurement':44} {'M entries/s':>11} {'MiB/s':>8} {'M/CPU s':>8} {'peak RSS':>9}")
    for label, r in rows:
        rate = entries / r["seconds"] / 1e6
        per_cpu = entries / max(r["cpu"], 1e-9) / 1e6
        print(f"{label:44} {rate:11.3f} {size / 2**20 / r['seconds']:8.1f} {per_cpu:8.3f} {r['peak_mib']:7.1f}MB")
    for label, m in measured.items():
        parse, cli = m["parse"], m["cli"]
        print(
            f"{label}ratios by CPU time: parse+validate / naive = {naive['cpu'] / parse['cpu']:.2f}x, "
            f"CLI / naive = {naive['cpu'] / cli['cpu']:.2f}x (the CLI's includes its start-up), "
            f"parse / raw read = {raw['cpu'] / parse['cpu']:.3f}, CLI / raw read = {raw['cpu'] / cli['cpu']:.3f}"
        )
    mine = measured[""]
    print(
        "goal (per CPU second): parse+validate {:.2f} M entries/s (>= 1), CLI {:.2f} M/s (>= 0.6), "
        "peak RSS {:.0f} MB (< 100)".format(
            entries / mine["parse"]["cpu"] / 1e6,
            entries / mine["cli"]["cpu"] / 1e6,
            max(mine["parse"]["peak_mib"], mine["cli"]["peak_mib"]),
        )
    )
    if "baseline " in measured:
        base = measured["baseline "]
        print(
            "against the baseline, by CPU time: parse+validate {:.2f}x, CLI {:.2f}x".format(
                base["parse"]["cpu"] / mine["parse"]["cpu"], base["cli"]["cpu"] / mine["cli"]["cpu"]
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=500_000)
    ap.add_argument("--shape", choices=[*SHAPES, "both"], default="both", help="file shape (default: both)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    ap.add_argument("--baseline", type=Path, help="another bankgate source tree to measure the same way")
    ap.add_argument("--child", nargs=2, metavar=("MEASURE", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return

    shapes = list(SHAPES) if args.shape == "both" else [args.shape]
    with tempfile.TemporaryDirectory() as tmp:
        for shape in shapes:
            run_shape(shape, args.entries, args.repeat, Path(tmp), args.baseline)
    print(f"\nmachine: {os.cpu_count()} cores, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
