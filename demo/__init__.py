"""``bankgate demo``: the whole product on embedded defaults (``full``), or only the processing
pipeline on local folders (``local``, ``--pipeline-only``)."""

from __future__ import annotations

import shutil
from pathlib import Path

MARKER = ".bankgate-demo"


def fresh_out(out: Path) -> None:
    """Start from an empty ``out``, but only if a demo made it (never a user's folder)."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SystemExit(f"{out} exists and was not made by 'bankgate demo'; choose another --out")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / MARKER).touch()
