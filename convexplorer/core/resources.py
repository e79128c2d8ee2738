"""Where the top-level ``resources/`` folder is, in every kind of install (no Qt).

It installs as the package ``convexplorer.resources`` (see setup.py); a
PyInstaller build carries it at ``convexplorer/resources``; a source checkout
used without installing has it at the repository's root.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def resources_dir() -> Path:
    """The resources folder, also inside a PyInstaller build."""
    base = getattr(sys, "_MEIPASS", None)
    if base:
        frozen = Path(base) / "convexplorer" / "resources"
        if frozen.is_dir():
            return frozen
    try:
        spec = importlib.util.find_spec("convexplorer.resources")
    except ImportError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if Path(location).is_dir():
            return Path(location)
    return Path(__file__).resolve().parents[2] / "resources"
