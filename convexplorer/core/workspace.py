"""Where the user's things live, and how they are saved without ever being half-written.

Every save goes through :func:`atomic_write_bytes`: write a temporary file in
the same folder, flush it to disk, then ``os.replace`` it over the target, so
a crash, a full disk or a read-only folder leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ConvExplorerError

APP_NAME = "ConvExplorer"
#: Version of the workspace files we write (2: the design inside is a graph, format 2).
FORMAT_VERSION = 2


class SaveError(ConvExplorerError):
    """A file could not be saved; the previous version is untouched."""


class FormatError(ConvExplorerError):
    """A file is not one of ours, or was written by a newer ConvExplorer."""


def _design_as_graph(data: dict[str, Any]) -> dict[str, Any]:
    """Format 1 -> 2: the design (a stack of layers, design format 1) becomes a graph design
    (format 2): every layer gets a stable id, and stays a chain (each reads the one before)."""
    from .spec import ModelSpec

    upgraded = dict(data)
    if data.get("spec"):
        upgraded["spec"] = ModelSpec.from_dict(data["spec"]).to_dict()
    return upgraded


#: Upgrades of a workspace from format N to N + 1, applied in turn when an older file is opened
#: (each with a test that opens a file written by the release that wrote format N).
WORKSPACE_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _design_as_graph}


def upgrade_workspace(data: Any, name: str = "the workspace") -> dict[str, Any]:
    """``data`` read from a workspace file, checked and brought to the current format.

    A file from an older format goes through :data:`WORKSPACE_MIGRATIONS` step by step
    (the file itself is only rewritten when the user saves); a file from a newer
    ConvExplorer is refused with a message saying so.
    """
    version = data.get("format_version") if isinstance(data, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"{name} is not a ConvExplorer workspace (no format_version)")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{name} was saved by a newer ConvExplorer (workspace format {version}; "
            f"this version reads up to {FORMAT_VERSION}). Please update ConvExplorer to open it."
        )
    upgraded = dict(data)
    while version < FORMAT_VERSION:
        step = WORKSPACE_MIGRATIONS.get(version)
        if step is None:
            raise FormatError(f"{name} uses workspace format {version}, which this version cannot upgrade")
        upgraded = step(upgraded)
        version += 1
        upgraded["format_version"] = version
    return upgraded


def _dirs():
    import platformdirs

    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def _env_dir(var: str) -> Path | None:
    value = os.environ.get(var)
    return Path(value) if value else None


def user_data_dir() -> Path:
    """The user's ConvExplorer data folder (runs, designs); ``CONVEXPLORER_HOME`` overrides it."""
    path = _env_dir("CONVEXPLORER_HOME") or Path(_dirs().user_data_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Folder where every training run is kept."""
    path = user_data_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_log_dir() -> Path:
    """Folder of the application log."""
    base = _env_dir("CONVEXPLORER_HOME")
    path = base / "logs" if base else Path(_dirs().user_log_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def keras_home() -> Path:
    """Keras's cache folder: ``$KERAS_HOME`` or ``~/.keras`` (data sets and weights go below it)."""
    return _env_dir("KERAS_HOME") or Path.home() / ".keras"


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; raise :class:`SaveError` on failure."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise SaveError(f"cannot save {target.name}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:  # any interruption (Ctrl+C too) must not leave the temporary file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if not isinstance(exc, OSError):
            raise
        raise SaveError(f"cannot save {target.name}: {exc.strerror or exc}; the previous file is unchanged") from None


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 text atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file with a readable error when it is missing or malformed."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConvExplorerError(f"file not found: {p}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConvExplorerError(f"{p.name} is not a valid JSON file: {exc}") from None
    except OSError as exc:
        raise ConvExplorerError(f"cannot read {p.name}: {exc.strerror or exc}") from None
