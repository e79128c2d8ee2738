"""Showing failures to the user: a dialog with details, a log file, and the app keeps running."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from convexplorer.ui.workers import describe_exception

log = logging.getLogger("convexplorer")

_log_path: Path | None = None


def setup_logging() -> Path | None:
    """Log to ``convexplorer.log`` in the user's log folder (rotating); returns its path."""
    global _log_path
    if _log_path is not None:
        return _log_path
    from convexplorer.core.workspace import user_log_dir

    try:
        path = user_log_dir() / "convexplorer.log"
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    _log_path = path
    return path


def log_path() -> Path | None:
    """Where the log is written, once :func:`setup_logging` ran."""
    return _log_path


def show_error_dialog(parent: QWidget | None, message: str, details: str = "") -> QMessageBox:
    """A non-blocking error box: the short message, the traceback under "Show Details"."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("ConvExplorer")
    box.setText(message)
    where = f"\n\nThe details are also in the log: {_log_path}" if _log_path else ""
    box.setInformativeText("The app is still running; nothing you made was lost." + where)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setModal(False)
    box.show()
    return box


class ExceptionRelay(QObject):
    """Routes uncaught exceptions from any thread to the GUI thread as (message, details)."""

    caught = Signal(str, str)

    def install(self) -> None:
        """Replace ``sys.excepthook`` and ``threading.excepthook``."""
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(args.exc_type, args.exc_value, args.exc_traceback)

    def _hook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        if exc.__traceback__ is None and tb is not None:
            exc = exc.with_traceback(tb)
        message, details = describe_exception(exc)
        log.error("unexpected error: %s\n%s", message, details)
        self.caught.emit(message, details)
