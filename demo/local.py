"""The README's first command: the main job on bundled sample files, no setup needed.

Every sample is staged into a local staging "bucket" (a directory) the way a bank pull or a
client upload lands it, ``inbound/<source>/<date>/<file>``, and the same processing pipeline
the Lambda runs takes it from there: detect, unpack, parse, validate, route to
``processed/<type>/``, archive the original, or quarantine it with an ``.error.json``.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from bankgate.config import PipelineConfig, Route
from bankgate.demo import fresh_out
from bankgate.pipeline import Outcome, Pipeline, StagedObject

SKIP_SUFFIXES = {".md", ".py", ".toml"}  # docs, generators and configs, not bank files
ROUTES = {"nacha": "nacha", "bai2": "bai2", "fixed:*": "fixed", "insurance-pdf": "insurance", "*": "other"}


def demo_config(out: Path) -> PipelineConfig:
    routes = {kind: Route(f"file://{out / 'processed' / folder}") for kind, folder in ROUTES.items()}
    return PipelineConfig(
        staging=f"file://{out / 'staging'}",
        archive=f"file://{out / 'archive'}",
        quarantine=f"file://{out / 'quarantine'}",
        ledger=f"file://{out / 'ledger'}",
        routes=routes,
    )


def stage_samples(samples: Path, staging: Path, day: str) -> list[str]:
    """Copy samples into staging as ``inbound/<source>/<day>/<name>``; the source is the folder."""
    keys = []
    for path in sorted(p for p in samples.rglob("*") if p.is_file() and p.suffix not in SKIP_SUFFIXES):
        folder = path.parent.relative_to(samples).as_posix()
        source = "samples" if folder == "." else folder.replace("/", "-")
        key = f"inbound/{source}/{day}/{path.name}"
        target = staging / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        keys.append(key)
    return keys


def _describe(outcome: Outcome, out: Path) -> str:
    if outcome.status == "processed":
        outputs = ", ".join(url.removeprefix(f"file://{out}/") for url in outcome.outputs)
        return f"{outcome.records} records -> {outputs}"
    return outcome.reason


def run_demo(samples: Path, out: Path) -> int:
    out = out.resolve()
    fresh_out(out)
    day = datetime.now(UTC).date().isoformat()
    keys = stage_samples(samples, out / "staging", day)
    if not keys:
        print(f"no sample files under {samples}")
        return 1
    pipeline = Pipeline(demo_config(out))
    counts: dict[str, int] = {}
    for key in keys:
        outcome = pipeline.process(StagedObject(key))
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        kind = f"[{outcome.file_type}]" if outcome.file_type else ""
        print(f"{outcome.status.upper():12} {key} {kind}  {_describe(outcome, out)}")
    print(
        f"\n{counts.get('processed', 0)} processed, {counts.get('quarantined', 0)} quarantined. "
        f"Outputs in {out}/processed, originals in {out}/archive, rejects and reasons in {out}/quarantine, "
        f"one ledger record per file in {out}/ledger."
    )
    return 0
