"""Unpack benchmark: bankgate's streaming unpack against ``unzip`` on the same zip, one run.

    ./dev bench unpack [--size-mb 1024] [--workdir DIR] [--rounds 3]

Builds (or reuses, from ``--workdir``) a zip of mixed bank files of about ``--size-mb`` MiB
uncompressed: NACHA files of varying sizes (bulk payroll-like at ~7:1, cash concentration at
~40:1), BAI2 and fixed-width samples repeated, plus a nested zip and a tar.gz member. Then,
round after round so machine noise hits every contender alike, each in its own child
process so each peak RSS is its own:

- ``unzip``: ``unzip -q -o ZIP -d DIR`` (Debian's Info-ZIP), members written to disk;
- ``stream``: ``iter_members`` reading every member in 1 MiB reads, bytes discarded;
- ``stream+sha256``: the same, hashing every byte (what the ledger records);
- ``write``: the same, each member written to a ``file://`` output dir, like ``unzip``;
- ``pipeline``: end to end, the zip staged in a ``file://`` staging dir and processed by
  ``bankgate.pipeline`` (unpack, detect, parse, validate, route to JSON Lines, archive), with
  peak scratch sampled from the scratch root while it runs.

Rates are MB/s (10^6 bytes) of the zip's top-level uncompressed size for every contender,
although bankgate also inflates the nested archives' members, which ``unzip`` leaves packed:
the comparison is conservative. Source and outputs are local files (a ``file://`` store).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20
READ = MiB


# -- the archive ---------------------------------------------------------------------------------


def build_zip(path: Path, size_mb: int) -> None:
    """A zip of mixed bank files, about ``size_mb`` MiB uncompressed, built in seconds.

    A pool of distinct files is generated once and reused under new names: deflate works
    per member, so repeats cost ``unzip`` and bankgate exactly what new files would.
    """
    sys.path.insert(0, str(ROOT))
    from tests.parsers.nacha_helpers import concentration_ach, write_bulk

    rng = random.Random(7)
    pool: list[tuple[str, bytes]] = []
    for entries in (20_000, 80_000, 200_000, 400_000, 800_000):
        out = io.BytesIO()
        write_bulk(out, entries)
        pool.append((f"payroll-{entries}.ach", out.getvalue()))
    for entries in (10_000, 60_000, 150_000):
        pool.append((f"concentration-{entries}.ach", concentration_ach(entries)))
    for sample in sorted((ROOT / "samples").glob("*/*.*")):
        if sample.suffix in (".bai", ".txt"):
            # once each: repeating a file's content inside one member would make it invalid
            pool.append((sample.name, sample.read_bytes()))
    target = size_mb * MiB
    nested = _nested_members(pool)
    written = sum(len(data) for _, data in nested)
    tmp = path.with_suffix(".partial")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in nested:
            zf.writestr(name, data)
        number = 0
        while written < target:
            name, data = pool[rng.randrange(len(pool))]
            number += 1
            zf.writestr(f"{date(2026, 1, 1 + number % 28):%Y-%m-%d}/{number:05d}-{name}", data)
            written += len(data)
    tmp.replace(path)


def _nested_members(pool: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """One zip of zips-worth of NACHA (spilled to scratch) and one tar.gz (streamed)."""
    small = [item for item in pool if len(item[1]) < 40 * MiB][:4]
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in small:
            zf.writestr(name, data)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tf:
        for name, data in small:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return [("nested/client-batch.zip", inner.getvalue()), ("nested/client-batch.tar.gz", tgz.getvalue())]


# -- measurements, each in a child process -------------------------------------------------------


def peak_rss(pid: int | str = "self") -> int:
    """Peak RSS in bytes from ``VmHWM``: unlike ``getrusage``'s ``ru_maxrss``, which on Linux
    carries the parent's RSS over fork and exec, it belongs to this process image alone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure_unzip(archive: Path, out: Path) -> dict:
    """``unzip`` to disk; its peak RSS is sampled from /proc while it runs (VmHWM only grows)."""
    started = time.perf_counter()
    process = subprocess.Popen(["unzip", "-q", "-o", str(archive), "-d", str(out)])
    peak = 0
    while process.poll() is None:
        peak = max(peak, peak_rss(process.pid))
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args)
    return {"seconds": seconds, "peak_rss": peak}


def measure_bankgate(archive: Path, out: Path, mode: str) -> dict:
    from bankgate.archives import UnpackLimits, UnpackStats, iter_members, scratch_dir

    limits = UnpackLimits()
    stats = UnpackStats()
    largest = 0
    started = time.perf_counter()
    with scratch_dir(out.parent, limits.scratch_budget_bytes) as scratch:
        for member in iter_members(archive, name=archive.name, scratch=scratch, limits=limits, stats=stats):
            read = member.stream.read
            size = 0
            if mode == "write":
                target = out.joinpath(*member.path[1:])
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb", buffering=0) as sink:
                    while chunk := read(READ):
                        sink.write(chunk)
                        size += len(chunk)
            elif mode == "sha256":
                digest = hashlib.sha256()
                while chunk := read(READ):
                    digest.update(chunk)
                    size += len(chunk)
            else:
                while chunk := read(READ):
                    size += len(chunk)
            largest = max(largest, size)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss": peak_rss(),
        "peak_scratch": stats.peak_scratch_bytes,
        "bytes_out": stats.bytes_out,
        "files": stats.files,
        "largest_member": largest,
    }


def measure_pipeline(archive: Path, out: Path) -> dict:
    import threading

    from bankgate.config import PipelineConfig, Route
    from bankgate.pipeline import Pipeline, StagedObject
    from bankgate.scratch import scratch_usage

    areas = {name: out / name for name in ("staging", "archive", "quarantine", "ledger", "processed", "scratch")}
    for path in areas.values():
        path.mkdir(parents=True)
    key = f"inbound/bench/{date.today()}/{archive.name}"
    staged = areas["staging"] / key
    staged.parent.mkdir(parents=True)
    shutil.copyfile(archive, staged)  # a staged copy: the pipeline moves it to the archive
    config = PipelineConfig(
        staging=f"file://{areas['staging']}",
        archive=f"file://{areas['archive']}",
        quarantine=f"file://{areas['quarantine']}",
        ledger=f"file://{areas['ledger']}",
        routes={"*": Route(f"file://{areas['processed']}")},
        scratch_root=str(areas["scratch"]),
    )
    peak_scratch = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_scratch
        while not done.wait(0.05):
            peak_scratch = max(peak_scratch, scratch_usage(areas["scratch"]))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    outcome = Pipeline(config).process(StagedObject(key))
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if outcome.status != "processed":
        raise SystemExit(f"pipeline: {outcome.status}: {outcome.reason}")
    written = sum(p.stat().st_size for p in areas["processed"].rglob("*") if p.is_file())
    return {
        "seconds": seconds,
        "peak_rss": peak_rss(),
        "peak_scratch": peak_scratch,
        "records": outcome.records,
        "outputs": len(outcome.outputs),
        "output_bytes": written,
    }


def child(name: str, archive: str, out: str) -> None:
    import bankgate.archives
    import bankgate.parsers.bai2
    import bankgate.parsers.fixed  # noqa: F401 - detection's lazy imports, likewise

    if name == "unzip":
        result = measure_unzip(Path(archive), Path(out))
    elif name == "pipeline":
        result = measure_pipeline(Path(archive), Path(out))
    else:
        result = measure_bankgate(Path(archive), Path(out), name)
    print(json.dumps(result))


def run_child(name: str, archive: Path, workdir: Path) -> dict:
    out = workdir / f"out-{name}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", name, str(archive), str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return json.loads(done.stdout)


# -- report --------------------------------------------------------------------------------------

CONTENDERS = {"unzip": "unzip -q -o (to disk)", "stream": "bankgate stream", "sha256": "bankgate stream+sha256"}
CONTENDERS["write"] = "bankgate write (to disk)"
CONTENDERS["pipeline"] = "bankgate pipeline end to end"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="uncompressed size of the zip (MiB)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bankgate-bench-unpack"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if shutil.which("unzip") is None:
        sys.exit("unzip is not installed: apt-get install -y unzip")
    args.workdir.mkdir(parents=True, exist_ok=True)
    archive = args.workdir / f"mixed-{args.size_mb}mib.zip"
    if not archive.exists():
        started = time.perf_counter()
        build_zip(archive, args.size_mb)
        print(f"built {archive} in {time.perf_counter() - started:.1f} s")
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    largest = max(i.file_size for i in infos)
    print(
        f"{archive.name}: {archive.stat().st_size / MiB:,.0f} MiB zip, {len(infos)} members, "
        f"{total / MiB:,.0f} MiB uncompressed ({total / archive.stat().st_size:.1f}:1), largest {largest / MiB:.1f} MiB"
    )
    runs: dict[str, list[dict]] = {name: [] for name in CONTENDERS}
    for _ in range(args.rounds):
        for name in CONTENDERS:
            runs[name].append(run_child(name, archive, args.workdir))
    report(runs, total, largest)


def report(runs: dict[str, list[dict]], total: int, largest: int) -> None:
    """Best and median rates over the zip's top-level bytes, and over each contender's own output."""
    best_unzip = total / min(r["seconds"] for r in runs["unzip"]) / 1e6
    median_unzip = total / statistics.median(r["seconds"] for r in runs["unzip"]) / 1e6
    header = f"{'contender':26} {'best MB/s':>9} {'median':>7} {'x unzip (median)':>17} {'own MB/s':>9}"
    print(f"\n{header} {'peak RSS':>9} {'peak scratch':>13}")
    for name, label in CONTENDERS.items():
        fastest = min(r["seconds"] for r in runs[name])
        best = total / fastest / 1e6
        median = total / statistics.median(r["seconds"] for r in runs[name]) / 1e6
        own = runs[name][0].get("bytes_out", total) / fastest / 1e6
        rss = max(r["peak_rss"] for r in runs[name]) / MiB
        scratch = max(r.get("peak_scratch", 0) for r in runs[name]) / MiB
        ratio = f"{best / best_unzip:.2f} ({median / median_unzip:.2f})"
        print(f"{label:26} {best:>9,.0f} {median:>7,.0f} {ratio:>17} {own:>9,.0f} {rss:>5.0f} MiB {scratch:>9.1f} MiB")
    ours = runs["stream"][0]
    print(
        f"\nbankgate inflated {ours['bytes_out'] / MiB:,.0f} MiB into {ours['files']} files "
        f"(nested archives included; unzip leaves those packed); largest member {largest / MiB:.1f} MiB"
    )
    stream_x = min(r["seconds"] for r in runs["unzip"]) / min(r["seconds"] for r in runs["stream"])
    write_x = min(r["seconds"] for r in runs["unzip"]) / min(r["seconds"] for r in runs["write"])
    peak_scratch = max(r["peak_scratch"] for name in ("stream", "sha256", "write") for r in runs[name])
    peak_rss = max(r["peak_rss"] for name in ("stream", "sha256", "write") for r in runs[name])
    checks = [
        (f"stream >= 1.2x unzip ({stream_x:.2f}x)", stream_x >= 1.2),
        (f"write >= 1.2x unzip ({write_x:.2f}x)", write_x >= 1.2),
        (f"peak scratch {peak_scratch / MiB:.1f} MiB < largest member {largest / MiB:.1f} MiB", peak_scratch < largest),
        (f"peak RSS {peak_rss / MiB:.0f} MiB < 256 MiB", peak_rss < 256 * MiB),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    end_to_end = runs["pipeline"]
    first = end_to_end[0]
    e2e_rss = max(r["peak_rss"] for r in end_to_end)
    e2e_scratch = max(r["peak_scratch"] for r in end_to_end)
    print(
        f"pipeline: {first['records']:,} records into {first['outputs']} outputs "
        f"({first['output_bytes'] / MiB:,.0f} MiB of JSON Lines); peak RSS {e2e_rss / MiB:.0f} MiB, "
        f"peak scratch {e2e_scratch / MiB:.1f} MiB"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
