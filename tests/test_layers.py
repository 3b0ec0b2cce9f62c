"""Imports run one way: parsers <- core (bankgate) <- lambdas / plugins <- dags.

Read from the source (every ``import`` and ``from ... import``, lazy ones inside functions
included), so a layer cannot be crossed by hiding the import in a function body. Parsers know
nothing of clouds or Airflow; Lambdas never import Airflow; the core imports no outer layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLOUDS = {"boto3", "botocore", "google", "airflow", "paramiko"}
#: What each layer may not import (top-level module names).
FORBIDDEN = {
    "parsers": {"bankgate", "plugins", "lambdas", "dags", *CLOUDS},
    "bankgate": {"plugins", "lambdas", "dags", "airflow"},
    "lambdas": {"plugins", "dags", "airflow"},
    "plugins": {"lambdas", "dags", "paramiko"},  # Airflow glue only: the SFTP core is bankgate.sftp
    "dags": {"bankgate", "parsers", "lambdas"},  # DAG files stay thin: they call the factory
}
#: Known exceptions, to shrink: the demo runs the whole product (moto, Airflow, the Lambda
#: handler) and is to move out of the runtime package (issue: "one model per concept").
EXCEPTIONS = {"bankgate/demo/"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _sources(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_inward(layer: str) -> None:
    crossings = []
    for path in _sources(layer):
        relative = path.relative_to(ROOT).as_posix()
        if any(relative.startswith(prefix) for prefix in EXCEPTIONS):
            continue
        crossings += [f"{relative} imports {name}" for name in sorted(_imports(path) & FORBIDDEN[layer])]
    assert crossings == []


def test_the_exceptions_are_still_needed() -> None:
    """An exception that no longer crosses a layer is removed from the list."""
    for prefix in EXCEPTIONS:
        layer = prefix.split("/")[0]
        files = [p for p in _sources(layer) if p.relative_to(ROOT).as_posix().startswith(prefix)]
        assert any(_imports(p) & FORBIDDEN[layer] for p in files), f"{prefix} no longer needs its exception"


def test_the_checker_sees_a_lazy_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from plugins.bankgate_airflow import steps\n    import airflow.sdk\n")
    assert _imports(source) == {"plugins", "airflow"}
