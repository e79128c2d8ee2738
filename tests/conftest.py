"""Test set-up: offscreen Qt, private folders for settings/caches, and a leak check after every test."""

from __future__ import annotations

import os
import tempfile
import threading

# Before any QApplication exists (DESIGN.md pitfalls).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_SANDBOX = tempfile.mkdtemp(prefix="convexplorer-tests-")
os.environ["CONVEXPLORER_HOME"] = os.path.join(_SANDBOX, "home")
os.environ["KERAS_HOME"] = os.path.join(_SANDBOX, "keras")
os.environ["TFDS_DATA_DIR"] = os.path.join(_SANDBOX, "tfds")  # the catalog's cache, never ~/tensorflow_datasets

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def qapp_args():
    """pytest-qt's QApplication arguments."""
    return ["convexplorer-tests"]


@pytest.fixture(scope="session", autouse=True)
def _private_settings():
    """QSettings go to a temporary INI folder, never the developer's real settings."""
    from PySide6.QtCore import QCoreApplication, QSettings

    QCoreApplication.setOrganizationName("ConvExplorerTests")
    QCoreApplication.setApplicationName("ConvExplorerTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.path.join(_SANDBOX, "settings"))
    yield


@pytest.fixture(scope="session", autouse=True)
def _app_style(_private_settings, qapp):
    """Widgets in tests wear the app's style sheet (roles such as "error"), as in the app."""
    from convexplorer.ui.style import apply_style

    apply_style(qapp)
    yield


def _python_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_leaks(request):
    """Fail a test that leaves running workers, extra Python threads or visible windows behind."""
    threads_before = _python_threads()
    yield
    from convexplorer.ui import workers

    leaks = []
    running = workers.active_workers()
    if running:
        workers.shutdown_all(timeout_s=10)
        leaks.append(f"{len(running)} worker(s) still running")
    # Give threads that are finishing a moment to end (no blind sleep: join with a deadline).
    extra = _python_threads() - threads_before
    for t in extra:
        t.join(timeout=5)
    extra = {t for t in _python_threads() - threads_before if t.is_alive()}
    if extra:
        leaks.append("threads left running: " + ", ".join(sorted(t.name for t in extra)))
    try:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
    except ImportError:  # pragma: no cover
        app = None
    if app is not None:
        visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
        if visible:
            names = ", ".join(type(w).__name__ for w in visible)
            for w in visible:
                w.close()
            leaks.append(f"windows left open: {names}")
    if leaks and not request.node.get_closest_marker("allow_leaks"):
        pytest.fail("leak after test: " + "; ".join(leaks), pytrace=False)
