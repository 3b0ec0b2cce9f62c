"""Size of the processing Lambda's deployment package and its cold import time.

    ./dev bench lambda_package

Installs bankgate with the extras the Lambda needs (``aws``, ``pgp``) into a clean
directory, without boto3/botocore (the Lambda runtime provides them), then reports the
unzipped and zipped size and the time to import ``bankgate.lambdas.process`` from that directory
alone in a fresh interpreter (best of 5), as a cold start does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "package"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--target",
                str(target),
                "-c",
                str(ROOT / "constraints.txt"),
                f"{ROOT}[aws,pgp]",
            ],
            check=True,
        )
        for entry in target.iterdir():
            if entry.name.lower().startswith(RUNTIME_PROVIDED) or entry.name == "bin":
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
        size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
        archive = Path(tmp) / "package.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in target.rglob("*"):
                if path.is_file():
                    zf.write(path, path.relative_to(target))
        biggest = sorted(
            (
                (sum(p.stat().st_size for p in d.rglob("*") if p.is_file()), d.name)
                for d in target.iterdir()
                if d.is_dir()
            ),
            reverse=True,
        )[:6]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | {"PYTHONPATH": str(target)}
        probe = "import time; t=time.perf_counter(); import bankgate.lambdas.process; print(time.perf_counter()-t)"
        times = []
        for _ in range(5):
            out = subprocess.run([sys.executable, "-S", "-c", probe], env=env, capture_output=True, text=True, cwd=tmp)
            if out.returncode:
                sys.exit(out.stderr)
            times.append(float(out.stdout))
        print(f"package: {size / 2**20:.1f} MiB unzipped, {archive.stat().st_size / 2**20:.1f} MiB zipped")
        print("largest parts: " + ", ".join(f"{name} {n / 2**20:.1f} MiB" for n, name in biggest))
        print(
            f"cold import of bankgate.lambdas.process: {min(times) * 1000:.0f} ms (best of 5), "
            f"{max(times) * 1000:.0f} ms worst"
        )


if __name__ == "__main__":
    main()
