"""The README's first command: the main job on bundled sample files, no setup needed.

Every sample is detected by content, parsed and validated; good files become JSON Lines
under ``OUT/processed/<type>/``, bad ones get an ``OUT/quarantine/<file>.error.json`` with
the reason (line, record, field). The SFTP pull and the cloud pipeline join this flow as
they are built; this is the same parse-validate-route core they run.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from bankgate.files import DECOMPRESS_ERRORS, READ_ERRORS, open_detected
from parsers.detect import CONTAINERS, PDF, UNKNOWN
from parsers.output import write_jsonl
from parsers.problems import ParseError
from parsers.registry import open_parser

SKIP_SUFFIXES = {".md", ".py", ".txt-notes"}


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as out:
            write(out)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def process_file(path: Path, out: Path) -> tuple[str, str, str]:
    """Parse one file and route it: returns (type, outcome, detail)."""
    try:
        stream, kind = open_detected(path)
    except READ_ERRORS as exc:
        reason = f"cannot read: {exc}"
        _quarantine(path, out, UNKNOWN, [{"line": 0, "message": reason}])
        return UNKNOWN, "quarantined", reason
    with stream:
        if kind in CONTAINERS or kind in (UNKNOWN, PDF):
            reason = f"{kind} file: not handled by the parser stage"
            _quarantine(path, out, kind, [{"line": 0, "message": reason}])
            return kind, "quarantined", reason
        parser = open_parser(kind, stream, name=path.name)
        target = out / "processed" / kind.replace(":", "-") / f"{path.name}.jsonl"
        try:
            _atomic_write(target, lambda f: write_jsonl(parser.iter_batches(), f))
        except ParseError as exc:
            _quarantine(path, out, kind, [p.as_dict() for p in exc.problems])
            first = exc.problems[0]
            more = f" (+{len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            return kind, "quarantined", f"line {first.line}: {first}{more}"
        except DECOMPRESS_ERRORS as exc:  # a gzip file truncated or corrupt past its first block
            reason = f"cannot read: {exc}"
            _quarantine(path, out, kind, [{"line": 0, "message": reason}])
            return kind, "quarantined", reason
        return kind, "processed", f"{parser.summary} -> {target}"


def _quarantine(path: Path, out: Path, kind: str, problems: list[dict]) -> None:
    report = {"file": str(path), "type": kind, "problems": problems}
    target = out / "quarantine" / f"{path.name}.error.json"
    _atomic_write(target, lambda f: f.write(orjson.dumps(report, option=orjson.OPT_INDENT_2)))


def run_demo(samples: Path, out: Path) -> int:
    files = sorted(p for p in samples.rglob("*") if p.is_file() and p.suffix not in SKIP_SUFFIXES)
    if not files:
        print(f"no sample files under {samples}")
        return 1
    counts = {"processed": 0, "quarantined": 0}
    for path in files:
        kind, outcome, detail = process_file(path, out)
        counts[outcome] += 1
        print(f"{outcome.upper():12} {path.relative_to(samples)}  [{kind}]  {detail}")
    print(f"\n{counts['processed']} processed, {counts['quarantined']} quarantined; outputs under {out}/")
    return 0
