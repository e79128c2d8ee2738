"""What every panel has: a title, the shared state, TF readiness, shutdown.

A panel subclasses :class:`Panel`, builds its widgets in ``__init__`` (cheap:
no TensorFlow import there) and, if it needs TensorFlow, sets
``needs_tensorflow = True``: until ``state.tensorflow_ready`` fires, the panel
shows a "loading TensorFlow..." banner and its ``on_tensorflow_ready`` runs
once TF is in. Long work starts with :meth:`Panel.run_in_thread` (a
tracked ``convexplorer.ui.workers`` worker); :meth:`Panel.shutdown` cancels
and joins that work, stops every timer of the panel and its widgets, and from
then on refuses new work, so a timer or a queued signal firing while the
window closes can never start a thread that outlives it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea, QVBoxLayout, QWidget

from convexplorer.ui import workers
from convexplorer.ui.state import AppState
from convexplorer.ui.style import apply_style, set_role
from convexplorer.ui.workers import Worker

log = logging.getLogger(__name__)


class Panel(QWidget):
    """Base class of the five main panels."""

    #: Shown on the tab and in the View menu.
    title = "Panel"
    #: Stable key used in settings, shortcuts and ``AppState.show_panel``.
    key = "panel"
    #: Whether the panel needs TensorFlow to work.
    needs_tensorflow = False

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._workers: list[Worker] = []
        self._shut_down = False
        self._outer = QVBoxLayout(self)
        self._outer.setContentsMargins(0, 0, 0, 0)
        self._outer.setSpacing(0)
        self.loading_banner = QLabel("Loading TensorFlow… this part of the app is ready in a few seconds.")
        self.loading_banner.setObjectName("loadingBanner")
        self.loading_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        set_role(self.loading_banner, "banner")
        self._outer.addWidget(self.loading_banner)
        self.body = QWidget(self)
        self._outer.addWidget(self.body, 1)
        self.loading_banner.setVisible(self.needs_tensorflow and not state.tf_ready)
        if self.needs_tensorflow and not state.tf_ready:
            state.tensorflow_ready.connect(self._tf_ready)

    def _tf_ready(self) -> None:
        self.loading_banner.hide()
        self.on_tensorflow_ready()

    # --- hooks for subclasses -------------------------------------------------
    def on_tensorflow_ready(self) -> None:
        """Called once when TensorFlow has been imported (only if ``needs_tensorflow``)."""

    def open_path(self, path: Path) -> bool:
        """Open a dropped or command-line path; return True if this panel took it."""
        return False

    def track(self, worker: Worker) -> Worker:
        """Remember a worker so that :meth:`shutdown` cancels and joins it."""
        self._workers = [w for w in self._workers if w.is_running()]
        self._workers.append(worker)
        return worker

    @property
    def is_shut_down(self) -> bool:
        """True once :meth:`shutdown` has run: the panel starts no more work."""
        return self._shut_down

    def run_in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker | None:
        """Run a core call on a tracked worker; ``None`` (nothing started) once the panel is shut down."""
        if self._shut_down:
            log.debug("%s is shut down: %s not started", self.key, getattr(fn, "__name__", fn))
            return None
        return self.track(workers.run_in_thread(fn, *args, **kwargs))

    def shutdown(self) -> None:
        """Refuse new work, stop every timer, cancel and join this panel's workers (window closing, tests)."""
        self._shut_down = True
        for timer in self.findChildren(QTimer):
            timer.stop()
        for w in self._workers:
            w.cancel()
        for w in self._workers:
            w.wait(10.0)
        self._workers.clear()


class _ColumnWidth(QObject):
    """Keeps a control column at least as wide as its controls need *plus* the vertical scroll bar.

    Without it, a column whose controls outgrow its height (the Data panel's Catalog box, say) shows the
    scroll bar inside the width the controls needed, and their right edge is cut off (horizontal scrolling
    is off)."""

    def __init__(self, scroll: QScrollArea, min_width: int, max_width: int | None) -> None:
        super().__init__(scroll)
        self._scroll, self._min, self._max = scroll, min_width, max_width
        self.update_width()

    def update_width(self) -> None:
        """Widen the column to the controls' minimum width, the scroll bar and the frame (within the maximum)."""
        controls = self._scroll.widget()
        need = self._min
        if controls is not None:
            bar = self._scroll.verticalScrollBar().sizeHint().width()
            need = max(need, controls.minimumSizeHint().width() + bar + 2 * self._scroll.frameWidth())
        if self._max is not None:
            need = min(need, max(self._max, self._min))
        if self._scroll.minimumWidth() != need:
            self._scroll.setMinimumWidth(need)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LayoutRequest:
            self.update_width()
        return False


def control_column(
    controls: QWidget, min_width: int, max_width: int | None = None, frame: bool = True
) -> QScrollArea:
    """A panel's column of controls: scrolls vertically, never sideways, between these widths."""
    scroll = QScrollArea()
    scroll.setWidget(controls)
    scroll.setWidgetResizable(True)
    if not frame:
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(min_width)
    if max_width is not None:
        scroll.setMaximumWidth(max_width)
    controls.installEventFilter(_ColumnWidth(scroll, min_width, max_width))
    return scroll


def preview(panel_cls: type[Panel], load_tensorflow: bool = True) -> int:
    """Show one panel alone, for development: ``python -m convexplorer.ui.panels.NAME``."""
    app = QApplication.instance() or QApplication(sys.argv)
    apply_style(app)
    state = AppState()
    panel = panel_cls(state)
    panel.setWindowTitle(f"ConvExplorer – {panel.title} (preview)")
    panel.resize(1200, 800)
    panel.show()
    if load_tensorflow and panel.needs_tensorflow:
        from convexplorer.ui.tfloader import load_tensorflow_async

        load_tensorflow_async(state)
    code = app.exec()
    panel.shutdown()
    return code
