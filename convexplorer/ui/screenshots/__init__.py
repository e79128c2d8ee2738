"""``convexplorer --screenshot DIR``: every panel, in a representative state, to PNG.

Screenshot preparation lives here, not in the panels: one module a panel
(``screenshots/<panel key>.py``) with two functions,

* ``prepare(panel) -> None`` puts the panel into a state worth looking at
  (it may block: it runs on the GUI thread with TensorFlow already loaded);
* ``variants(panel) -> list[(name, callable)]`` lists extra states, each taken
  after ``prepare`` in turn;
* ``finish(panel) -> None`` (optional) puts the panel back after its variants,
  so that the panels shot after it see the state ``prepare`` made.

:func:`prepare_panel` and :func:`panel_variants` find that module by the
panel's ``key``; a panel without one is shot as it is.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

Variant = tuple[str, Callable[[], None]]


def _module_for(panel: Any) -> ModuleType | None:
    key = getattr(panel, "key", "")
    if not key.isidentifier():
        return None
    try:
        return importlib.import_module(f"{__name__}.{key}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{key}":
            return None
        raise


def prepare_panel(panel: Any) -> None:
    """Put ``panel`` into the state its screenshot shows."""
    module = _module_for(panel)
    if module is not None:
        module.prepare(panel)


def panel_variants(panel: Any) -> list[Variant]:
    """The panel's extra screenshot states, as (name, prepare) pairs."""
    module = _module_for(panel)
    if module is None or not hasattr(module, "variants"):
        return []
    return list(module.variants(panel))


def finish_panel(panel: Any) -> None:
    """Put ``panel`` back after its variants (its module's ``finish``, if it has one)."""
    module = _module_for(panel)
    if module is not None and hasattr(module, "finish"):
        module.finish(panel)


def render_screenshots(directory: str | Path) -> list[Path]:
    """Render every panel (and each panel's extra views) to PNG files in ``directory``.

    The demo runs it trains go to a scratch data folder, never to the user's runs,
    and the user's settings are never read or written.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("CONVEXPLORER_HOME")
    with tempfile.TemporaryDirectory(prefix="convexplorer-screenshots-", ignore_cleanup_errors=True) as home:
        os.environ["CONVEXPLORER_HOME"] = home
        try:
            return _render(out)
        finally:
            if previous is None:
                os.environ.pop("CONVEXPLORER_HOME", None)
            else:
                os.environ["CONVEXPLORER_HOME"] = previous


def _render(out: Path) -> list[Path]:
    from PySide6.QtCore import QSettings

    from convexplorer.app import make_application
    from convexplorer.ui.errors import setup_logging
    from convexplorer.ui.main_window import MainWindow
    from convexplorer.ui.tfloader import load_tensorflow_now

    app = make_application([sys.argv[0]])
    setup_logging()
    # Screenshots start from the default layout and never touch the user's settings.
    scratch = QSettings(str(out / ".screenshot-settings.ini"), QSettings.Format.IniFormat)
    scratch.clear()
    window = MainWindow(settings=scratch)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    written: list[Path] = []

    def grab(name: str) -> None:
        for _ in range(5):
            app.processEvents()
        path = out / f"{len(written) + 1:02d}-{name}.png"
        window.grab().save(str(path))
        written.append(path)
        print(path)

    def attempt(what: str, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - still take the picture, and say what failed
            print(f"warning: {what}: {type(exc).__name__}: {exc}", file=sys.stderr)

    grab("startup")
    load_tensorflow_now(window.state)
    app.processEvents()
    for key, panel in window.panels.items():
        window.show_panel(key)
        attempt(f"{key}: prepare", lambda: prepare_panel(panel))
        grab(key)
        variants: list[Variant] = []
        attempt(f"{key}: variants", lambda: variants.extend(panel_variants(panel)))
        for variant, prepare in variants:
            attempt(f"{key}/{variant}", prepare)
            grab(f"{key}-{variant}")
        attempt(f"{key}: finish", lambda: finish_panel(panel))
    attempt("lessons", lambda: _lesson_steps(window, app, grab))
    window.close()
    scratch.sync()
    Path(scratch.fileName()).unlink(missing_ok=True)
    return written


def _lesson_steps(window: Any, app: Any, grab: Callable[[str], None]) -> None:
    """A lesson step, with its side bar and the highlighted widget."""
    window.start_lesson("02-shapes")
    window.lessons.go_to(1)
    grab("lesson-stride")
    window.lessons.show_me()
    for _ in range(5):
        app.processEvents()
    window.lessons.refresh_status()
    grab("lesson-stride-done")
    window.lessons.close_lesson()
    window.lessons_dock.hide()
