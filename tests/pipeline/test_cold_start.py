"""Cold start of the Lambda stays light: no Airflow, no numpy/pyarrow, no GCS client at import."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("airflow", "numpy", "pyarrow", "paramiko", "google.cloud.storage", "pypdfium2", "pypdf")

PROBE = """
import json, sys, time
start = time.perf_counter()
import bankgate.lambdas.process
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "modules": sorted(sys.modules)}))
"""


def test_lambda_import_is_light() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    loaded = [m for m in HEAVY if m in result["modules"]]
    assert loaded == [], f"imported at cold start: {loaded}"
    assert result["seconds"] < 3.0, f"cold import took {result['seconds']:.2f} s"
