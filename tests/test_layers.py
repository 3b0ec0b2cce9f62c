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
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLOUDS = {"boto3", "botocore", "google", "airflow", "paramiko"}
#: The folders installed as ``bankgate.<name>``: ``bankgate/<name>`` is a link to the top-level
#: folder ``<name>/`` (setup.cfg), so ``bankgate.parsers.x`` is ``parsers/x.py``.
LINKED = ("parsers", "lambdas", "plugins")
#: What each layer may not import (layers: the core ``bankgate``, the linked folders, ``dags``;
#: ``demo`` is outside the package, and nothing in the product may import it).
FORBIDDEN = {
    "parsers": {"bankgate", "plugins", "lambdas", "dags", "demo", *CLOUDS},
    "bankgate": {"plugins", "lambdas", "dags", "demo", "airflow"},
    "lambdas": {"plugins", "dags", "demo", "airflow"},
    "plugins": {"lambdas", "dags", "demo", "paramiko"},  # Airflow glue only: the SFTP core is bankgate.sftp
    "dags": {"bankgate", "parsers", "lambdas", "demo"},  # DAG files stay thin: they call the factory
}


def _modules(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports, lazy imports inside functions included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _layer_of(module: str) -> str:
    """``bankgate.parsers.x`` is in the parsers layer, ``bankgate.x`` in the core, ``boto3.x`` is boto3."""
    parts = module.split(".")
    return parts[1] if parts[0] == "bankgate" and len(parts) > 1 and parts[1] in LINKED else parts[0]


def _imports(path: Path) -> set[str]:
    return {_layer_of(module) for module in _modules(path)}


def _sources(layer: str) -> list[Path]:
    """A layer's own files (the core's folder holds the links to the others, not their files)."""
    links = [ROOT / "bankgate" / name for name in LINKED]
    return sorted(p for p in (ROOT / layer).rglob("*.py") if not any(p.is_relative_to(link) for link in links))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_inward(layer: str) -> None:
    crossings = []
    for path in _sources(layer):
        relative = path.relative_to(ROOT).as_posix()
        crossings += [f"{relative} imports {name}" for name in sorted(_imports(path) & FORBIDDEN[layer])]
    assert crossings == []


def test_the_checker_sees_a_lazy_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from bankgate.plugins.bankgate_airflow import steps\n    import airflow.sdk\n")
    assert _imports(source) == {"plugins", "airflow"}


def test_the_checker_tells_the_core_from_the_linked_folders(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import bankgate.lambdas.process\nfrom bankgate.sftp import pull\nfrom bankgate import cli\n")
    assert _imports(source) == {"lambdas", "bankgate"}


def test_every_module_is_imported_by_its_bankgate_name() -> None:
    """``parsers``, ``lambdas`` and ``plugins`` are folders, not import names: a checkout's root is
    on ``sys.path`` in tests and tools, and a module imported under both names would be loaded
    twice (two copies of every class). Their ``__init__`` refuses the bare name at run time too."""
    found = []
    for path in sorted(ROOT.glob("[!.]*/**/*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(tuple(f"bankgate/{name}/" for name in LINKED)):
            continue
        bare = {module for module in _modules(path) if module.split(".")[0] in LINKED}
        found += [f"{relative} imports {name}" for name in sorted(bare)]
    assert found == []


@pytest.mark.parametrize("name", LINKED)
def test_a_bare_import_of_a_linked_folder_is_refused(name: str) -> None:
    result = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1 and f"import bankgate.{name}, not {name}" in result.stderr


def test_the_linked_folders_are_links() -> None:
    for name in LINKED:
        link = ROOT / "bankgate" / name
        assert link.is_symlink() and link.resolve() == ROOT / name


# -- the environment: read in one place ------------------------------------------------------

SETTINGS_MODULE = "bankgate/settings.py"
#: Modules that may touch ``os.environ`` besides the settings, each with its reason; none of
#: them names a BANKGATE_* variable (the next test proves it).
ENVIRON_ALLOWED = {
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
            if relative != SETTINGS_MODULE:
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
