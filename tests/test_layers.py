"""Imports run one way: parsers <- core (bankgate) <- lambdas / plugins <- dags.

Read from the source (every ``import`` and ``from ... import``, lazy ones inside functions
included), so a layer cannot be crossed by hiding the import in a function body. Parsers know
nothing of clouds or Airflow; Lambdas never import Airflow; the core imports no outer layer.
The environment is read in one place: ``bankgate/settings.py`` is the only module that names a
``BANKGATE_*`` variable, and the parsers never touch ``os.environ`` (they take arguments).
"""

from __future__ import annotations

import ast
import re
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
    source.write_text("def f():\n    from bankgate.plugins.bankgate_airflow import steps\n    import airflow.sdk\n")
    assert _imports(source) == {"plugins", "airflow"}


# -- the environment: read in one place ------------------------------------------------------

SETTINGS_MODULE = "bankgate/settings.py"
#: Modules that may touch ``os.environ`` besides the settings, each with its reason; none of
#: them names a BANKGATE_* variable (the next test proves it).
ENVIRON_ALLOWED = {
    "bankgate/demo/": "the demo sets its own config explicitly (and starts Airflow, moto)",
    "bankgate/secrets.py": "an env:NAME secret reference names a variable of the user's choice",
    "bankgate/store/gcs.py": "the Google client's own STORAGE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT",
    "parsers/insurance/sandbox.py": "hands its environment on to the PDF worker it starts; reads no setting",
}
_SETTING_NAME = re.compile(r"BANKGATE_[A-Z0-9_]*")
_ENVIRON = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _environ_uses(path: Path) -> list[int]:
    """Lines that use ``os.environ`` / ``os.getenv`` (or those names imported from os)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in _ENVIRON:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            lines += [node.lineno for alias in node.names if alias.name in _ENVIRON]
    return lines


def _setting_names(path: Path) -> list[str]:
    """String constants that are a BANKGATE_* variable's name, or its start in an f-string
    (``f"BANKGATE_{name}"``); docstrings and messages that mention one are not reads."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and _SETTING_NAME.fullmatch(node.value)
    ]


def _allowed(relative: str, allowed: object) -> bool:
    return any(relative.startswith(prefix) for prefix in allowed)  # type: ignore[attr-defined]


def test_only_the_settings_module_touches_the_environment() -> None:
    found = []
    for layer in sorted(FORBIDDEN):
        for path in _sources(layer):
            relative = path.relative_to(ROOT).as_posix()
            if relative != SETTINGS_MODULE and not _allowed(relative, ENVIRON_ALLOWED):
                found += [f"{relative}:{line}" for line in _environ_uses(path)]
    assert found == []


def test_only_the_settings_module_names_a_setting() -> None:
    """So every BANKGATE_* variable is in the settings table (and in ``bankgate settings``)."""
    found = []
    for layer in sorted(FORBIDDEN):
        for path in _sources(layer):
            relative = path.relative_to(ROOT).as_posix()
            if relative != SETTINGS_MODULE and not relative.startswith("bankgate/demo/"):
                found += [f"{relative}:{name}" for name in _setting_names(path)]
    assert found == []


def test_the_environ_exceptions_are_still_needed() -> None:
    for prefix in ENVIRON_ALLOWED:
        files = [p for p in ROOT.glob(prefix + "**/*.py" if prefix.endswith("/") else prefix)]
        assert any(_environ_uses(p) for p in files), f"{prefix} no longer touches the environment"


def test_the_environment_checks_see_each_spelling(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        '"""Reads BANKGATE_LAYOUTS."""\nimport os\nfrom os import getenv\n'
        'def f(name):\n    """BANKGATE_X"""\n'
        '    return os.environ.get("BANKGATE_LAYOUTS"), os.getenv(f"BANKGATE_{name}")\n'
        'MESSAGE = "BANKGATE_BANKS is not set"\n'
    )
    assert _environ_uses(source) == [3, 6, 6]
    assert _setting_names(source) == ["6: 'BANKGATE_LAYOUTS'", "6: 'BANKGATE_'"]
