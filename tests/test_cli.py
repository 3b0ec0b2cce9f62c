"""The ``bankgate`` command, run as a user runs it: the installed console script, in a subprocess.

The contract: ``parse`` exits 0 with the records on stdout (or ``-o OUT``, written atomically);
on invalid input it exits 1 with one ``FILE:LINE: message`` line per problem on stderr and a
summary line last; a usage error exits 2. Never a traceback.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gzip
import io
import json
import os
import random
import re
import shlex
import subprocess
import sys
import threading
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bankgate.cli import main
from bankgate.parsers.nacha.writer import NachaWriter
from bankgate.parsers.registry import open_parser
from tests.parsers.nacha_helpers import CORPUS

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
BROKEN = SAMPLES / "nacha" / "payroll-amount-edited-after-controls.ach"
NACHA_SAMPLE = SAMPLES / "nacha" / "payroll-ppd-ccd.ach"
BAI2_SAMPLE = SAMPLES / "bai2" / "daily-balances.bai"
SAMPLE_FILES = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix in {".ach", ".bai", ".txt"})
GOOD = [p for p in SAMPLE_FILES if p != BROKEN]
CORPUS_FILES = sorted(CORPUS.glob("*.ach")) if CORPUS.is_dir() else []
SHIPPED_LAYOUTS = ["bai-lockbox", "positive-pay", "transaction-detail"]

_SCRIPT = Path(sys.executable).with_name("bankgate")
BANKGATE = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "bankgate.cli"]
#: No user layouts from the environment running the tests.
ENV = {k: v for k, v in os.environ.items() if k != "BANKGATE_LAYOUTS"}

SUMMARY = re.compile(r": (?P<count>\d+) records \((?P<kinds>[^)]*)\); totals: (?P<totals>.+)$")


def sample_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def expected_type(path: Path) -> str:
    kind = path.parent.name
    return f"fixed:{path.stem}" if kind == "fixed" else kind


def bankgate(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*BANKGATE, *map(str, args)], capture_output=True, cwd=cwd, env=ENV, timeout=60, check=False)


def demo(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """``./dev demo``'s ``python -m demo``, from any folder (``demo/`` is beside the package, not in it)."""
    env = {**ENV, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "demo", *map(str, args)]
    return subprocess.run(command, capture_output=True, cwd=cwd, env=env, timeout=60, check=False)


def run_main(*args: str | Path) -> tuple[int, bytes, str]:
    """``bankgate.cli.main`` in this process: exit status, stdout bytes, stderr text.

    For the many variations of one case, where a process start each would blow the time
    budget; anything raised still fails the test, as a traceback would.
    """
    out, err = io.BytesIO(), io.StringIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
        stdout.flush()
    return code, out.getvalue(), err.getvalue()


@functools.cache
def parsed(path: Path) -> subprocess.CompletedProcess[bytes]:
    """``bankgate parse PATH`` (JSON Lines to stdout), run once per file for the whole module."""
    return bankgate("parse", path)


def err_lines(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    text = result.stderr.decode("utf-8")
    assert "Traceback" not in text, text
    return text.splitlines()


def jsonl_rows(data: bytes) -> list[dict]:
    lines = data.decode("utf-8").split("\n")
    assert lines[-1] == "", "JSON Lines output ends with a newline"
    return [json.loads(line) for line in lines[:-1]]


def summary_counts(line: str) -> tuple[int, Counter[str]]:
    match = SUMMARY.search(line)
    assert match, f"not a summary line: {line!r}"
    kinds = Counter({kind: int(n) for kind, n in (item.split("=") for item in match["kinds"].split(", ") if item)})
    assert sum(kinds.values()) == int(match["count"])
    return int(match["count"]), kinds


def assert_problem_lines(lines: list[str], shown: str, *, need_field: bool = False) -> None:
    """Every line but the last is ``FILE:LINE: message``; the last is the INVALID summary."""
    assert len(lines) >= 2, lines
    pattern = re.compile(rf"^{re.escape(shown)}:\d+: \S")
    for line in lines[:-1]:
        assert pattern.match(line), line
        if need_field:
            assert re.search(r"field '\w+'", line), f"problem line does not name a field: {line}"
    last = lines[-1]
    assert last.startswith(f"{shown}: INVALID: "), last
    assert "totals:" in last
    summary_counts(last)


def write_big_nacha(path: Path, entries: int, *, last_addenda: str | None = None) -> None:
    """A valid NACHA file of one batch; ``last_addenda`` gives only the last entry an addenda."""
    with open(path, "wb") as f:
        writer = NachaWriter(f, immediate_destination="231380104", immediate_origin="121042882")
        with writer.batch(
            company_name="ACME CORP",
            company_identification="1234567890",
            standard_entry_class_code="PPD",
            company_entry_description="PAYROLL",
            odfi_identification="12104288",
        ) as b:
            for i in range(entries):
                b.entry(
                    transaction_code=22,
                    rdfi_routing="231380104",
                    dfi_account_number=f"{i:09d}",
                    amount=1000 + i,
                    receiver_name="JANE DOE",
                    addenda=[last_addenda] if last_addenda and i == entries - 1 else [],
                )
        writer.close()


@pytest.fixture(scope="module")
def big_nacha(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Some 3 MB of NACHA: its JSON Lines are far bigger than a pipe's buffer."""
    path = tmp_path_factory.mktemp("big") / "big.ach"
    write_big_nacha(path, 30_000)
    return path


# -- parse: good files -----------------------------------------------------------------------


@pytest.mark.parametrize("path", GOOD, ids=sample_id)
def test_parse_sample(path: Path) -> None:
    result = parsed(path)
    lines = err_lines(result)
    assert result.returncode == 0, lines
    rows = jsonl_rows(result.stdout)
    assert lines[-1].startswith(f"{path}: ")
    assert "INVALID" not in lines[-1]
    count, kinds = summary_counts(lines[-1])
    assert len(rows) == count
    assert Counter(row["record"] for row in rows) == kinds
    assert all(isinstance(row["line"], int) and row["line"] >= 1 for row in rows)


@pytest.mark.parametrize("path", GOOD, ids=sample_id)
def test_parse_gzip_is_transparent(tmp_path: Path, path: Path) -> None:
    packed = tmp_path / "download(3)"  # no telling name: content decides
    packed.write_bytes(gzip.compress(path.read_bytes()))
    result = bankgate("parse", packed)
    err_lines(result)
    assert result.returncode == 0
    assert result.stdout == parsed(path).stdout


@pytest.mark.parametrize("path", GOOD, ids=sample_id)
def test_parse_explicit_format_matches_auto(path: Path) -> None:
    code, stdout, stderr = run_main("parse", "--format", expected_type(path), path)
    assert code == 0, stderr
    assert stdout == parsed(path).stdout


# -- parse: the broken sample ----------------------------------------------------------------


def test_parse_broken_sample() -> None:
    result = bankgate("parse", BROKEN)
    lines = err_lines(result)
    assert result.returncode == 1
    assert_problem_lines(lines, str(BROKEN), need_field=True)
    assert lines[0].startswith(f"{BROKEN}:7: ") and "'total_credit'" in lines[0]
    assert lines[1].startswith(f"{BROKEN}:12: ") and "'total_credit'" in lines[1]
    assert "total_credit=" in lines[-1] and "total_debit=" in lines[-1]


def test_parse_broken_sample_shown_as_given(tmp_path: Path) -> None:
    """Problem lines use the path as typed (relative here), so editors can jump to them."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pay.ach").write_bytes(BROKEN.read_bytes())
    result = bankgate("parse", "in/pay.ach", cwd=tmp_path)
    assert result.returncode == 1
    assert_problem_lines(err_lines(result), "in/pay.ach", need_field=True)


def test_parse_broken_sample_lenient() -> None:
    result = bankgate("parse", "--lenient", BROKEN)
    lines = err_lines(result)
    assert result.returncode == 0
    warnings = lines[:-1]
    assert len(warnings) == 2
    for line in warnings:
        assert re.match(rf"^{re.escape(str(BROKEN))}:\d+: warning: .*field 'total_credit'", line), line
    assert "INVALID" not in lines[-1]
    count, _ = summary_counts(lines[-1])
    rows = jsonl_rows(result.stdout)
    assert len(rows) == count == 12


# -- -o OUT: atomic --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_output_file_not_created_on_failure(tmp_path: Path, fmt: str) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / f"records.{fmt}"
    result = bankgate("parse", "--output", fmt, "-o", target, BROKEN)
    assert result.returncode == 1
    assert_problem_lines(err_lines(result), str(BROKEN))
    assert result.stdout == b""
    assert sorted(os.listdir(out_dir)) == []  # no target, no partial or hidden file


def test_output_file_kept_intact_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "records.jsonl"
    target.write_bytes(b"previous run\n")
    result = bankgate("parse", "-o", target, BROKEN)
    assert result.returncode == 1
    assert target.read_bytes() == b"previous run\n"
    assert sorted(os.listdir(tmp_path)) == ["records.jsonl"]


def test_output_file_on_success(tmp_path: Path) -> None:
    target = tmp_path / "records.jsonl"
    target.write_bytes(b"previous run\n")
    result = bankgate("parse", "-o", target, NACHA_SAMPLE)
    lines = err_lines(result)
    assert result.returncode == 0
    assert result.stdout == b""
    count, _ = summary_counts(lines[-1])
    assert len(jsonl_rows(target.read_bytes())) == count
    assert sorted(os.listdir(tmp_path)) == ["records.jsonl"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_parse_writes_clean_entries_from_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """``parse -o`` writes what ``iter_chunks`` gives (a NACHA file's clean entries as column
    chunks, their lines made with numpy), not the records of ``iter_batches``: the CLI is the
    fast path the benchmark measures; the bytes are the row writers' (``test_nacha_columnar``)."""
    from bankgate.parsers import columnar

    encoded: list[int] = []
    encode = columnar._encode

    def counting(*args: Any, **kwargs: Any) -> Any:
        data, lengths, escape = encode(*args, **kwargs)
        encoded.append(len(lengths))
        return data, lengths, escape

    monkeypatch.setattr(columnar, "_encode", counting)
    from tests.parsers.nacha_helpers import ROUTINGS, batch, build

    entries = [
        {
            "transaction_code": 22,
            "amount": 100 + n,
            "rdfi_routing": ROUTINGS[n % len(ROUTINGS)],
            "receiver_name": f"R {n}",
        }
        for n in range(120)
    ]
    source = tmp_path / "payroll.ach"
    source.write_bytes(build(batch(*entries[:60]), batch(*entries[60:])))
    target = tmp_path / f"records.{fmt}"
    code, _, stderr = run_main("parse", "--output", fmt, "-o", target, source)
    assert code == 0, stderr
    mark = b'{"record":"entry_detail",' if fmt == "jsonl" else b"entry_detail,"
    written = sum(1 for line in target.read_bytes().splitlines() if line.startswith(mark))
    assert written == 120 == sum(encoded), (written, sum(encoded))


def test_output_dash_is_stdout(tmp_path: Path) -> None:
    result = bankgate("parse", "-o", "-", NACHA_SAMPLE, cwd=tmp_path)
    assert result.returncode == 0
    assert len(jsonl_rows(result.stdout)) == 12
    assert os.listdir(tmp_path) == []


def test_output_into_missing_directory(tmp_path: Path) -> None:
    result = bankgate("parse", "-o", tmp_path / "no-such-dir" / "x.jsonl", NACHA_SAMPLE)
    lines = err_lines(result)
    assert result.returncode == 2
    assert len(lines) == 1 and "cannot write" in lines[0] and "no-such-dir" in lines[0]


def test_output_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    result = bankgate("parse", "-o", tmp_path / "d", NACHA_SAMPLE)
    lines = err_lines(result)
    assert result.returncode == 2
    assert len(lines) == 1 and "cannot write" in lines[0]
    assert (tmp_path / "d").is_dir() and os.listdir(tmp_path) == ["d"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_output_to_a_named_pipe_is_not_replaced(tmp_path: Path) -> None:
    """``-o /dev/null`` or ``-o some.fifo`` writes to it: renaming a regular file over a device
    or a pipe would break it (as root, ``-o /dev/null`` replaced /dev/null). A FIFO stands in."""
    fifo = tmp_path / "records.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:
            received.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = bankgate("parse", "-o", fifo, NACHA_SAMPLE)
    if reader.is_alive():  # the command never opened the pipe: let the reader go
        with contextlib.suppress(OSError), open(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK), "wb"):
            pass
    reader.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert fifo.is_fifo()
    assert sorted(os.listdir(tmp_path)) == ["records.fifo"]
    assert received and received[0] == parsed(NACHA_SAMPLE).stdout


# -- CSV and Parquet -------------------------------------------------------------------------


def columns_of(path: Path) -> list[str]:
    from bankgate.parsers.rows import union_columns

    with open(path, "rb") as f:
        return union_columns(open_parser(expected_type(path), f).record_classes)


@pytest.mark.parametrize("path", [NACHA_SAMPLE, BAI2_SAMPLE, SAMPLES / "fixed" / "positive-pay.txt"], ids=sample_id)
def test_csv_output(path: Path) -> None:
    jsonl = jsonl_rows(parsed(path).stdout)
    result = bankgate("parse", "--output", "csv", path)
    lines = err_lines(result)
    assert result.returncode == 0
    reader = csv.DictReader(io.StringIO(result.stdout.decode("utf-8"), newline=""))
    rows = list(reader)
    header = reader.fieldnames or []
    assert header[0] == "record"
    assert header == columns_of(path)
    assert {key for row in jsonl for key in row} <= set(header)
    count, _ = summary_counts(lines[-1])
    assert len(rows) == count == len(jsonl)
    amounts = 0
    for row, record in zip(rows, jsonl):
        assert row["record"] == record["record"]
        assert int(row["line"]) == record["line"]
        if record.get("amount") is not None:
            assert re.fullmatch(r"-?\d+", row["amount"]), row["amount"]  # integer cents, no decimals
            assert int(row["amount"]) == record["amount"]
            amounts += 1
    assert amounts > 0


def test_csv_nested_values_are_json(tmp_path: Path) -> None:
    target = tmp_path / "bai.csv"
    assert bankgate("parse", "--output", "csv", "-o", target, BAI2_SAMPLE).returncode == 0
    jsonl = jsonl_rows(parsed(BAI2_SAMPLE).stdout)
    with open(target, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row, record in zip(rows, jsonl):
        if record["record"] == "account_identifier":
            assert json.loads(row["summaries"]) == record["summaries"]


@pytest.mark.parametrize(
    ("path", "dates"),
    [(NACHA_SAMPLE, ["file_creation_date", "effective_entry_date"]), (BAI2_SAMPLE, ["creation_date", "as_of_date"])],
    ids=["nacha", "bai2"],
)
def test_parquet_output(tmp_path: Path, path: Path, dates: list[str]) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "x.parquet"
    result = bankgate("parse", "--output", "parquet", "-o", target, path)
    lines = err_lines(result)
    assert result.returncode == 0
    table = pq.read_table(target)
    count, kinds = summary_counts(lines[-1])
    assert table.num_rows == count
    assert Counter(table.column("record").to_pylist()) == kinds
    assert table.schema.field("amount").type == pa.int64()
    for name in dates:
        assert table.schema.field(name).type == pa.date32(), name
    jsonl = jsonl_rows(parsed(path).stdout)
    assert table.column("amount").to_pylist() == [row.get("amount") for row in jsonl]


def test_parquet_record_type_first_seen_late(tmp_path: Path) -> None:
    """An addenda record after the first block of entries: its columns were all null so far."""
    pq = pytest.importorskip("pyarrow.parquet")
    source = tmp_path / "late.ach"
    write_big_nacha(source, 20_001, last_addenda="HI")
    target = tmp_path / "late.parquet"
    result = bankgate("parse", "--output", "parquet", "-o", target, source)
    err_lines(result)
    assert result.returncode == 0
    table = pq.read_table(target)
    assert table.num_rows == 20_006  # header, batch header, 20,001 entries, addenda, 2 controls
    assert table.column("payment_related_information").drop_null().to_pylist() == ["HI"]


# -- wrong format, unreadable and non-bank files ---------------------------------------------


def test_format_nacha_on_bai2() -> None:
    result = bankgate("parse", "--format", "nacha", BAI2_SAMPLE)
    assert result.returncode == 1
    assert_problem_lines(err_lines(result), str(BAI2_SAMPLE))


@pytest.mark.parametrize("fmt", ["bai2", "fixed:positive-pay"])
def test_other_wrong_formats_on_nacha(fmt: str) -> None:
    code, _, stderr = run_main("parse", "--format", fmt, NACHA_SAMPLE)
    assert code == 1
    assert_problem_lines(stderr.splitlines(), str(NACHA_SAMPLE))


def test_unknown_layout_is_a_usage_error() -> None:
    result = bankgate("parse", "--format", "fixed:no-such-layout", NACHA_SAMPLE)
    lines = err_lines(result)
    assert result.returncode == 2
    assert result.stdout == b""
    text = "\n".join(lines)
    assert "no-such-layout" in text
    assert all(name in text for name in SHIPPED_LAYOUTS)


def test_unknown_format_is_a_usage_error() -> None:
    result = bankgate("parse", "--format", "xml", NACHA_SAMPLE)
    lines = err_lines(result)
    assert result.returncode == 2
    assert result.stdout == b""
    assert "'xml'" in lines[-1]
    assert "nacha" in lines[-1] and "bai2" in lines[-1] and "fixed:positive-pay" in lines[-1]


@pytest.mark.parametrize("fmt", ["pdf", "zip", "unknown", "fixed:", "NACHA"])
def test_detection_results_are_not_formats(fmt: str) -> None:
    """``--format pdf`` names no parser: a usage error, not "this file is a pdf"."""
    code, stdout, stderr = run_main("parse", "--format", fmt, NACHA_SAMPLE)
    assert code == 2, stderr
    assert stdout == b""


def test_unknown_output_format_is_a_usage_error() -> None:
    result = bankgate("parse", "--output", "xml", NACHA_SAMPLE)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr.decode()


def test_errors_json_carries_rule_codes() -> None:
    """``--errors json``: one object per problem (its rule code included), then the summary."""
    code, _, stderr = run_main("parse", "--errors", "json", BROKEN)
    assert code == 1
    *problems, summary = [json.loads(line) for line in stderr.splitlines()]
    assert [(p["file"], p["line"], p["code"], p["severity"]) for p in problems] == [
        (str(BROKEN), 7, "nacha.batch.total_credit_mismatch", "error"),
        (str(BROKEN), 12, "nacha.file.total_credit_mismatch", "error"),
    ]
    assert summary["status"] == "invalid" and summary["summary"]["format"] == "nacha"
    code, _, stderr = run_main("parse", "--errors", "json", NACHA_SAMPLE)
    assert code == 0 and json.loads(stderr.splitlines()[-1])["status"] == "ok"


def test_errors_json_for_a_file_no_parser_reads(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ach"
    code, _, stderr = run_main("parse", "--errors", "json", missing)
    [problem] = [json.loads(line) for line in stderr.splitlines()]
    assert code == 1 and problem["code"] == "input.unreadable" and problem["line"] == 0


def test_rules_lists_every_code() -> None:
    code, stdout, _ = run_main("rules", "--format", "nacha")
    assert code == 0
    rows = [line.split("\t") for line in stdout.decode().splitlines()]
    assert rows[[r[0] for r in rows].index("nacha.entry.check_digit")][:2] == ["nacha.entry.check_digit", "error"]
    assert all(r[0].startswith("nacha.") and r[2] for r in rows)


def test_nonexistent_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ach"
    result = bankgate("parse", missing)
    lines = err_lines(result)
    assert result.returncode == 1
    assert result.stdout == b""
    assert len(lines) == 1 and lines[0].startswith(f"{missing}:0: cannot read")


def test_directory_as_file(tmp_path: Path) -> None:
    result = bankgate("parse", tmp_path)
    lines = err_lines(result)
    assert result.returncode == 1
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path}:0: cannot read")


def random_binary() -> bytes:
    return random.Random(20260101).randbytes(4096)


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("payroll.ach", NACHA_SAMPLE.read_bytes())
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "word"),
    [
        ("payroll.ach", zip_bytes(), "zip"),
        ("payroll.ach", b"-----BEGIN PGP MESSAGE-----\n\nhQEMA5L0\n-----END PGP MESSAGE-----\n", "pgp"),
        ("data.ach", random_binary(), "bank file"),
        ("empty.ach", b"", "not a recognised bank file"),
        ("notes.txt", b"101 things to do\n", "not a recognised bank file"),
    ],
    ids=["zip", "pgp", "random", "empty", "text"],
)
def test_not_a_bank_file(tmp_path: Path, name: str, data: bytes, word: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = bankgate("parse", path)
    lines = err_lines(result)
    assert result.returncode == 1
    assert result.stdout == b""
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:0: ")
    assert word in lines[0]
    assert "nacha" in lines[0]  # says what it would accept


@pytest.mark.parametrize("fmt", ["nacha", "bai2", "fixed:positive-pay"])
def test_empty_file_with_explicit_format(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    code, stdout, stderr = run_main("parse", "--format", fmt, path)
    assert code == 1
    assert stdout == b""
    assert_problem_lines(stderr.splitlines(), str(path))


def test_empty_gzip(tmp_path: Path) -> None:
    path = tmp_path / "empty.gz"
    path.write_bytes(gzip.compress(b""))
    result = bankgate("parse", path)
    lines = err_lines(result)
    assert result.returncode == 1
    assert len(lines) == 1 and lines[0].startswith(f"{path}:0: ")


def test_truncated_and_corrupt_gzip(tmp_path: Path, big_nacha: Path) -> None:
    """Broken compression is bad input, found at open (small file) or mid-parse (big file)."""
    small = gzip.compress(NACHA_SAMPLE.read_bytes())
    big = gzip.compress(big_nacha.read_bytes())
    cases = {
        "small-truncated.gz": small[: len(small) // 2],
        "small-corrupt.gz": small[:20] + bytes(200) + small[220:],
        "header-only.gz": small[:3],
        "big-truncated.gz": big[: len(big) // 3],
        "big-corrupt.gz": big[: len(big) // 2] + bytes(400) + big[len(big) // 2 + 400 :],
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = bankgate("parse", "-o", tmp_path / "out.jsonl", path)
        lines = err_lines(result)
        assert result.returncode == 1, (name, lines)
        assert any(line.startswith(f"{path}:0: cannot read") for line in lines), (name, lines)
        assert not (tmp_path / "out.jsonl").exists()
    # detect reads only the head: the damage shows when it is there (small files), never as a traceback
    for name in ("small-corrupt.gz", "small-truncated.gz"):
        detected = bankgate("detect", tmp_path / name)
        assert detected.returncode == 1
        assert err_lines(detected)[0].startswith(f"{tmp_path / name}:0: cannot read")
    assert sorted(os.listdir(tmp_path)) == sorted(cases)


# -- broken pipe -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_consumer_closing_early(big_nacha: Path, fmt: str) -> None:
    """``bankgate parse big.ach | head -1``: no traceback, no 'Exception ignored' noise."""
    command = shlex.join([*BANKGATE, "parse", "--output", fmt, str(big_nacha)])
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -1"], capture_output=True, env=ENV, timeout=60
    )
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and "Broken pipe" not in stderr, stderr
    assert result.returncode == 0, stderr
    first = result.stdout.decode().splitlines()
    assert len(first) == 1
    if fmt == "jsonl":
        assert json.loads(first[0])["record"] == "file_header"
    else:
        assert first[0].startswith("record,line,")


# -- detect, layouts -------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=sample_id)
def test_detect_sample(path: Path) -> None:
    result = bankgate("detect", path)
    err_lines(result)
    assert result.returncode == 0
    assert result.stdout.decode() == expected_type(path) + "\n"


def test_detect_ignores_the_name(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(NACHA_SAMPLE.read_bytes())
    assert bankgate("detect", path).stdout == b"nacha\n"
    path = tmp_path / "x.ach"
    path.write_bytes(b"%PDF-1.4\n")  # a PDF, whatever its name: classified as an insurance PDF or not
    assert run_main("detect", path) == (0, b"insurance-pdf-unknown\n", "")
    path = tmp_path / "x.txt"
    path.write_bytes(zip_bytes())
    assert run_main("detect", path) == (0, b"zip\n", "")


def test_detect_nonexistent(tmp_path: Path) -> None:
    result = bankgate("detect", tmp_path / "nope")
    lines = err_lines(result)
    assert result.returncode == 1
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / 'nope'}:0: cannot read")


def test_layouts() -> None:
    result = bankgate("layouts")
    err_lines(result)
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == SHIPPED_LAYOUTS


def test_no_command_is_a_usage_error() -> None:
    result = bankgate()
    assert result.returncode == 2
    assert "usage:" in result.stderr.decode()


# -- the real corpus -------------------------------------------------------------------------


def check_corpus_file(path: Path, code: int, stdout: bytes, stderr: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert code == 0, f"{path.name}: exit {code}: {lines[:3]}"
    assert lines[-1].startswith(f"{path}: nacha: ")
    count, kinds = summary_counts(lines[-1])
    rows = jsonl_rows(stdout)
    assert len(rows) == count, f"{path.name}: {len(rows)} records on stdout, summary says {count}"
    assert Counter(row["record"] for row in rows) == kinds


needs_corpus = pytest.mark.skipif(
    not CORPUS_FILES, reason=f"NACHA sample corpus not found at {CORPUS} (shared/ beside the repo)"
)


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file_parses_and_detects(path: Path) -> None:
    """Every corpus file through the CLI's ``main`` (in this process: a subprocess per file
    would take most of the suite's time budget): ``parse --format auto`` exits 0 with the
    records, ``detect`` prints nacha."""
    check_corpus_file(path, *run_main("parse", "--format", "auto", path))
    assert run_main("detect", path) == (0, b"nacha\n", "")


@needs_corpus
def test_corpus_through_the_console_script() -> None:
    """A few corpus files end to end through the installed script, two at a time."""
    chosen = CORPUS_FILES[:: max(1, len(CORPUS_FILES) // 3)][:3]

    def run(path: Path) -> tuple[Path, subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:
        return path, bankgate("parse", "--format", "auto", path), bankgate("detect", path)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for path, parse_result, detect_result in pool.map(run, chosen):
            check_corpus_file(path, parse_result.returncode, parse_result.stdout, parse_result.stderr.decode())
            assert detect_result.stdout == b"nacha\n" and detect_result.returncode == 0


# -- demo ------------------------------------------------------------------------------------


def _one(root: Path, pattern: str) -> Path:
    [found] = list(root.rglob(pattern))
    return found


def test_demo_pipeline_only(tmp_path: Path) -> None:
    """``demo --pipeline-only``: samples staged in local folders, processed, routed, archived."""
    out = tmp_path / "out"
    result = demo("--pipeline-only", "--out", out, cwd=tmp_path)
    err_lines(result)
    assert result.returncode == 0
    stdout = result.stdout.decode()
    pdfs = sorted((SAMPLES / "insurance").glob("*.pdf"))
    assert f"{len(GOOD) + len(pdfs)} processed, 1 quarantined" in stdout
    for pdf in pdfs:
        assert _one(out / "processed" / "insurance", f"{pdf.name}.jsonl").stat().st_size > 0
    for path in GOOD:
        processed = _one(out / "processed" / path.parent.name, f"{path.name}.jsonl")
        count, _ = summary_counts(err_lines(parsed(path))[-1])
        assert len(jsonl_rows(processed.read_bytes())) == count
        assert _one(out / "archive", path.name).read_bytes() == path.read_bytes()
    assert not list((out / "processed").rglob(f"{BROKEN.name}*"))
    assert not [p for p in (out / "staging").rglob("*") if p.is_file()], "staging is emptied"
    assert _one(out / "quarantine", BROKEN.name).read_bytes() == BROKEN.read_bytes()
    report = json.loads(_one(out / "quarantine", f"{BROKEN.name}.error.json").read_text())
    assert [(p["line"], p["field"]) for p in report["problems"]] == [(7, "total_credit"), (12, "total_credit")]
    assert [p["code"] for p in report["problems"]] == [
        "nacha.batch.total_credit_mismatch",
        "nacha.file.total_credit_mismatch",
    ]
    assert all(p["record"] and p["message"] for p in report["problems"])
    ledger = [json.loads(p.read_text()) for p in (out / "ledger").rglob("*.json")]
    assert sorted(r["state"] for r in ledger) == ["done"] * (len(GOOD) + len(pdfs)) + ["quarantined"]
    again = demo("--pipeline-only", "--out", out, cwd=tmp_path)  # re-running starts afresh
    assert again.returncode == 0 and f"{len(GOOD) + len(pdfs)} processed" in again.stdout.decode()


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = demo("--pipeline-only", "--out", tmp_path)
    assert result.returncode != 0
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_demo_quarantines_unreadable_and_non_bank_files(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "good.ach").write_bytes(NACHA_SAMPLE.read_bytes())
    (samples / "notes.txt").write_bytes(b"minutes of the treasury meeting\n")
    packed = gzip.compress(NACHA_SAMPLE.read_bytes())
    (samples / "cut.ach.gz").write_bytes(packed[: len(packed) // 2])
    out = tmp_path / "out"
    result = demo("--pipeline-only", "--samples", samples, "--out", out)
    err_lines(result)
    assert result.returncode == 0
    assert "1 processed, 2 quarantined" in result.stdout.decode()
    reports = sorted(p.name for p in (out / "quarantine").rglob("*.error.json"))
    assert reports == ["cut.ach.gz.error.json", "notes.txt.error.json"]
    for path in (out / "quarantine").rglob("*.error.json"):
        assert json.loads(path.read_text())["reason"]


THREADS = """
import os, sys
if sys.argv[1] == "cli":
    from bankgate.cli import main
    main(["parse", sys.argv[2], "-o", os.devnull])
import numpy
print(len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2 or not Path("/proc/self/task").is_dir(), reason="one core, or no /proc")
@pytest.mark.parametrize(
    ("how", "operator", "threads"),
    [("numpy alone", None, "cores"), ("cli", None, 1), ("cli", "2", 2)],
)
def test_cli_runs_numpy_on_one_thread_unless_the_operator_says(how: str, operator: str | None, threads: Any) -> None:
    """``bankgate parse`` keeps OpenBLAS from starting a thread per core (``settings.one_math_thread``);
    numpy loaded without the CLI keeps them, and an operator's ``OPENBLAS_NUM_THREADS`` wins."""
    env = {k: v for k, v in ENV.items() if k != "OPENBLAS_NUM_THREADS"}
    if operator:
        env["OPENBLAS_NUM_THREADS"] = operator
    command = [sys.executable, "-c", THREADS, how.split()[0], str(NACHA_SAMPLE)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=True)
    expected = os.cpu_count() if threads == "cores" else threads
    assert int(done.stdout.split()[-1]) == expected, done.stderr
