"""Where layouts come from: the shipped ones, the user's, and detection by content.

A layout is found by name in the user's directories (``dirs``, searched in order; the core
passes the ``BANKGATE_LAYOUTS`` setting) and then among the layouts shipped in
``parsers/fixed/layouts``; a user layout with the name of a shipped one takes its place. A layout can also be given as a
path to its ``.toml`` file. This module is the only part of ``parsers`` that reads files, and
it reads only layout files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from bankgate.parsers.fixed.layout import FixedLayout, LayoutError, read_layout

SHIPPED_DIR = Path(__file__).with_name("layouts")

log = logging.getLogger(__name__)

_cache: dict[str, tuple[tuple[int, int], FixedLayout]] = {}


#: User layout directories, searched before the shipped ones.
Dirs = Iterable[str | os.PathLike[str]]


def layout_dirs(dirs: Dirs = ()) -> list[Path]:
    """The directories searched for layouts by name, in order (user directories first)."""
    return [*(Path(d).expanduser() for d in dirs), SHIPPED_DIR]


def _layout_files(dirs: Dirs = ()) -> dict[str, Path]:
    """Layout name (file stem) -> file, the first directory in search order winning."""
    found: dict[str, Path] = {}
    for directory in layout_dirs(dirs):
        try:
            files = sorted(directory.glob("*.toml"))
        except OSError:
            continue
        for path in files:
            found.setdefault(path.stem, path)
    return found


def available_layouts(dirs: Dirs = ()) -> list[str]:
    """Names of every layout that ``load_layout`` can find by name, sorted."""
    return sorted(_layout_files(dirs))


def _is_path(name_or_path: str | os.PathLike[str]) -> bool:
    if isinstance(name_or_path, os.PathLike):
        return True
    return name_or_path.endswith(".toml") or "/" in name_or_path or os.sep in name_or_path


def load_layout(name_or_path: str | os.PathLike[str] | FixedLayout, dirs: Dirs = ()) -> FixedLayout:
    """A layout by name (user directories ``dirs``, then shipped) or by path to a ``.toml`` file.

    Raises ``LayoutError`` (a ``ValueError``) when it cannot be found or is not valid.
    Layouts are cached and re-read when their file changes.
    """
    if isinstance(name_or_path, FixedLayout):
        return name_or_path
    if _is_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise LayoutError(f"layout file {path}: not found")
        return _load(path)
    dirs = tuple(dirs)
    files = _layout_files(dirs)
    found = files.get(str(name_or_path))
    if found is None:
        known = ", ".join(sorted(files)) or "none"
        searched = ", ".join(str(d) for d in layout_dirs(dirs))
        raise LayoutError(f"unknown layout {name_or_path!r} (available: {known}; searched {searched})")
    layout = _load(found)
    if layout.name != found.stem:
        raise LayoutError(f"layout file {found}: declares name {layout.name!r} but the file is named {found.name!r}")
    return layout


def _load(path: Path) -> FixedLayout:
    key = str(path.resolve())
    try:
        stat = path.stat()
    except OSError as exc:
        raise LayoutError(f"layout file {path}: cannot be read: {exc.strerror or exc}") from None
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    layout = read_layout(path)
    _cache[key] = (version, layout)
    return layout


def match_layout(head: bytes, dirs: Dirs = ()) -> str | None:
    """The name of the layout whose signature matches the start of a file, or None.

    ``head`` is the first few KiB of the file. Layouts are tried in search order (user
    layouts first); a layout file that cannot be loaded is skipped with a logged warning, so
    one broken user layout does not stop the detection of every other file.
    """
    for name, path in _layout_files(dirs).items():
        try:
            layout = _load(path)
        except LayoutError as exc:
            log.warning("skipping layout %s in detection: %s", name, exc)
            continue
        if layout.matches(head):
            return name
    return None
