"""A main window for a whole test module (scratch settings, TensorFlow loaded, joined work at the end), a shown
Data panel, and the pixels of what a widget drew."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from convexplorer.ui import workers
from convexplorer.ui.main_window import MainWindow
from convexplorer.ui.panels.data import DataPanel
from convexplorer.ui.state import AppState
from convexplorer.ui.tfloader import load_tensorflow_now


@contextlib.contextmanager
def scratch_window(
    qapp: QApplication, folder: Path, size: tuple[int, int] | None = None, keep_settings: bool = True
) -> Iterator[MainWindow]:
    """A shown :class:`MainWindow` with its settings in ``folder``; closed and its work joined afterwards."""
    w = MainWindow(settings=QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    if not keep_settings:
        w.save_settings = lambda: None  # type: ignore[method-assign]
    if size is not None:
        w.resize(*size)
    w.show()
    load_tensorflow_now(w.state)
    try:
        yield w
    finally:
        w.close()
        workers.shutdown_all(timeout_s=30)
        w.deleteLater()
        qapp.processEvents()


@contextlib.contextmanager
def shown_data_panel(qtbot, size: tuple[int, int] = (1280, 800)) -> Iterator[DataPanel]:
    """A shown :class:`DataPanel` of its own state, once its default Shapes set has loaded; shut down afterwards."""
    from convexplorer.core.datasets import ShapesDataset

    p = DataPanel(AppState())
    qtbot.addWidget(p)
    p.resize(*size)
    p.show()
    qtbot.waitUntil(lambda: isinstance(p.source, ShapesDataset) and p._load_worker is None, timeout=20_000)
    try:
        yield p
    finally:
        p.shutdown()


def visible_text(window: MainWindow, details: bool = False) -> str:
    """What the user can read right now: status bar, visible labels, the last error box (and its details)."""
    from PySide6.QtWidgets import QLabel, QMessageBox

    out = [window.statusBar().currentMessage()]
    out += [lbl.text() for lbl in window.findChildren(QLabel) if lbl.isVisibleTo(window)]
    box = getattr(window, "_last_error_box", None)
    if isinstance(box, QMessageBox):
        try:
            out.append(box.text() + (box.detailedText() if details else ""))
        except RuntimeError:  # already deleted
            pass
    return "\n".join(out)


def qimage_to_array(img) -> np.ndarray:
    """The RGB pixels of a QImage (or QPixmap) as an H x W x 3 uint8 array, for comparing drawings."""
    from PySide6.QtGui import QImage, QPixmap

    if isinstance(img, QPixmap):
        img = img.toImage()
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return buf[:, : 3 * w].reshape(h, w, 3).copy()
