"""``python -m demo``: run the main job end to end on embedded defaults (what ``./dev demo`` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./dev demo",
        description="run the main job end to end on embedded defaults: SFTP pulls with Airflow, local S3, processing",
    )
    parser.add_argument("--samples", default=str(SAMPLES))
    parser.add_argument("--out", default="out")
    parser.add_argument(
        "--pipeline-only",
        action="store_true",
        help="skip the SFTP servers, Airflow and moto: stage the samples in local folders and process them",
    )
    args = parser.parse_args(argv)
    if args.pipeline_only:
        from demo.local import run_demo

        return run_demo(Path(args.samples), Path(args.out))
    from demo.full import run_full_demo

    return run_full_demo(Path(args.samples), Path(args.out))


if __name__ == "__main__":
    sys.exit(main())
