"""Build the Lambda zip (``build/lambda.zip``, the template's ``CodeUri``): the alternative to the
container image, with the same contents.

    python docker/lambda/build_zip.py [--extras aws,pgp,pdf] [--out build/lambda.zip]

bankgate is built as a wheel, then installed with its extras under ``constraints.txt`` into a
directory for Lambda's platform (manylinux x86_64, CPython 3.12, binary wheels only), compiled
to bytecode, and zipped.
The default extras leave parquet out: pyarrow alone takes the unzipped package past Lambda's
250 MB limit for a zip, so a route to Parquet needs the container image (``docker/lambda/``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ZIP_EXTRAS = "aws,pgp,pdf"
IMAGE_EXTRAS = "aws,pgp,pdf,parquet"
#: Lambda's python3.12 runtime: Amazon Linux 2023, glibc 2.34. (python3.11's is Amazon Linux 2, glibc 2.26,
#: which the pinned numpy and pyarrow wheels, manylinux_2_28, do not load on.)
PYTHON = "3.12"
PLATFORM = ("--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64")
PLATFORM += ("--implementation", "cp", "--python-version", PYTHON)
#: Never in a function: the pull side (Airflow, SSH, the Airflow plugin) and the demo.
EXCLUDED = ("airflow", "paramiko", "bankgate/plugins", "demo")


def build_wheel(out: Path) -> Path:
    """bankgate's wheel, without its dependencies, built from the working tree."""
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "-q")
    isolation = ("--no-build-isolation",) if _can_build_here() else ()
    subprocess.run([*pip, "wheel", "--no-deps", *isolation, "--wheel-dir", str(out), str(ROOT)], check=True)
    (wheel,) = out.glob("bankgate-*.whl")
    return wheel


def _can_build_here() -> bool:
    """Whether this interpreter's setuptools can build the wheel (saves setting up an isolated
    build environment: seconds on a loaded machine)."""
    try:
        import setuptools
    except ImportError:
        return False
    return tuple(int(p) for p in setuptools.__version__.split(".")[:2]) >= (70, 1)  # builds without `wheel`


def install(target: Path, extras: str, wheel: Path) -> None:
    """What the function (or image) installs, into ``target``, for Lambda's platform."""
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "-q")
    constraints = ("-c", str(ROOT / "constraints.txt"))
    command = [*pip, "install", "--target", str(target), "--no-compile", *PLATFORM, "--only-binary=:all:", *constraints]
    subprocess.run([*command, f"bankgate[{extras}] @ {wheel.as_uri()}"], check=True)
    for leftover in ("bin", "share"):  # console scripts and data files: nothing a function runs
        subprocess.run(["rm", "-rf", str(target / leftover)], check=True)
    subprocess.run(["rm", "-rf", str(target / "bankgate" / "plugins")], check=True)  # in the wheel, for Airflow only
    # Bytecode for the function's own Python: /var/task is read-only, so without it every cold
    # start compiles every module it imports. Checked by hash, never by time: a zip keeps file
    # times to 2 seconds, which would make timestamp-checked bytecode stale.
    compile_all = [lambda_python(), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    subprocess.run([*compile_all, str(target)], check=True)


def lambda_python() -> str:
    """An interpreter of the Lambda runtime's version, to compile the bytecode with."""
    candidates = [os.environ.get("BANKGATE_LAMBDA_PYTHON", ""), shutil.which(f"python{PYTHON}") or ""]
    candidates += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{PYTHON}.*/bin/python{PYTHON}"))
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:  # a pyenv shim may not run
            return candidate
    raise SystemExit(f"python{PYTHON} is needed to compile the function's bytecode (or set BANKGATE_LAMBDA_PYTHON)")


def zip_dir(source: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(source.rglob("*")):
            if path.is_file():  # the bytecode included: the function's cold start needs it
                zf.write(path, path.relative_to(source).as_posix())
    os.replace(partial, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extras", default=ZIP_EXTRAS)
    parser.add_argument("--out", default=str(ROOT / "build" / "lambda.zip"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp) / "wheel")
        target = Path(tmp) / "package"
        install(target, args.extras, wheel)
        zip_dir(target, Path(args.out))
    print(f"{args.out}: {Path(args.out).stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
