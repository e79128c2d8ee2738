"""The main window: one dock per panel, menus, shortcuts, drag-and-drop, status bar, settings."""

from __future__ import annotations

import importlib
import json
import logging
import platform
import sys
from pathlib import Path
from typing import Iterable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from convexplorer import __version__
from convexplorer.core.images import IMAGE_EXTENSIONS, is_image_path
from convexplorer.ui import workers
from convexplorer.ui.errors import log_path, show_error_dialog
from convexplorer.ui.panels.base import Panel
from convexplorer.ui.state import AppState

log = logging.getLogger(__name__)

#: (key, module, class) of the panels in their default tab order.
PANELS: tuple[tuple[str, str, str], ...] = (
    ("data", "convexplorer.ui.panels.data", "DataPanel"),
    ("playground", "convexplorer.ui.panels.playground", "PlaygroundPanel"),
    ("builder", "convexplorer.ui.panels.builder", "BuilderPanel"),
    ("training", "convexplorer.ui.panels.training", "TrainingPanel"),
    ("inspect", "convexplorer.ui.panels.inspect", "InspectPanel"),
    ("compare", "convexplorer.ui.panels.compare", "ComparePanel"),
)
MODEL_SUFFIXES = (".keras", ".h5")
DESIGN_SUFFIXES = (".json",)
WORKSPACE_SUFFIX = ".cxw"
MAX_RECENT = 10
#: Bump when the saved dock layout is no longer compatible.
LAYOUT_VERSION = 1


class UnavailablePanel(Panel):
    """Stands in for a panel whose module failed to import, saying why."""

    def __init__(self, state: AppState, key: str, title: str, reason: str) -> None:
        self.key, self.title = key, title
        super().__init__(state)
        layout = QVBoxLayout(self.body)
        label = QLabel(f"The {title} panel could not be loaded:\n{reason}")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        layout.addWidget(label)


class MainWindow(QMainWindow):
    """ConvExplorer's main window."""

    def __init__(
        self, state: AppState | None = None, settings: QSettings | None = None, lazy_panels: bool = False
    ) -> None:
        """``lazy_panels``: build only the visible panel now; call :meth:`construct_panels_in_background`."""
        super().__init__()
        self.state = state or AppState()
        self.settings = settings or QSettings()
        self.state.settings = self.settings
        self.setWindowTitle(f"ConvExplorer {__version__}")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AnimatedDocks
        )
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        self.resize(1280, 820)
        central = QWidget()
        central.setMaximumSize(0, 0)
        self.setCentralWidget(central)

        self.panels: dict[str, Panel] = {}
        self._shut_down = False
        self._current_key: str | None = None
        self.docks: dict[str, QDockWidget] = {}
        self._build_panels(lazy_panels)
        self._build_lessons()
        self._build_status_bar()
        self._build_menus()
        self._restore_settings()

        self.state.status.connect(self.show_status)
        self.state.error.connect(self.show_error)
        self.state.show_panel.connect(self.show_panel)
        self.state.tensorflow_ready.connect(self._on_tensorflow_ready)

    # --- construction -----------------------------------------------------------
    def _build_panels(self, lazy: bool) -> None:
        first: QDockWidget | None = None
        for key, _module, _class in PANELS:
            dock = QDockWidget(key.capitalize(), self)
            dock.setObjectName(f"dock_{key}")
            placeholder = QLabel("Loading…")
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            dock.setWidget(placeholder)
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
            )
            self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, dock)
            if first is None:
                first = dock
            else:
                self.tabifyDockWidget(first, dock)
            self.docks[key] = dock
            dock.visibilityChanged.connect(lambda visible, k=key: self._dock_visibility(k, visible))
        self._default_layout = self.saveState(LAYOUT_VERSION)
        if first is not None:
            first.raise_()
        if not lazy:
            self.construct_remaining_panels()

    def panel(self, key: str) -> Panel | None:
        """The panel for ``key``, constructed now if it was not yet (None for an unknown key)."""
        if key in self.panels:
            return self.panels[key]
        entry = next((e for e in PANELS if e[0] == key), None)
        if entry is None:
            return None
        _key, module_name, class_name = entry
        try:
            module = importlib.import_module(module_name)
            panel: Panel = getattr(module, class_name)(self.state)
        except Exception as exc:  # noqa: BLE001 - one broken panel must not stop the app
            log.exception("panel %s failed to load", key)
            panel = UnavailablePanel(self.state, key, key.capitalize(), f"{type(exc).__name__}: {exc}")
        dock = self.docks[key]
        old = dock.widget()
        dock.setWidget(panel)
        dock.setWindowTitle(panel.title)
        if old is not None:
            old.deleteLater()
        self.panels[key] = panel
        if self._shut_down:  # asked for by something still queued when the window closed
            panel.shutdown()
        return panel

    def construct_remaining_panels(self) -> None:
        """Construct every panel not built yet (synchronously)."""
        for key in self.docks:
            self.panel(key)

    def construct_panels_in_background(self) -> None:
        """Construct the remaining panels one per event-loop turn, so the window stays responsive."""
        missing = [k for k in self.docks if k not in self.panels]
        if missing and not self._shut_down:
            self.panel(missing[0])
            if len(missing) > 1:
                QTimer.singleShot(0, self.construct_panels_in_background)

    def _build_lessons(self) -> None:
        from convexplorer.ui.lessons import LessonsDock

        self.lessons = LessonsDock(self, self.settings)
        self.lessons_dock = QDockWidget("Lessons", self)
        self.lessons_dock.setObjectName("dock_lessons")
        self.lessons_dock.setWidget(self.lessons)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.lessons_dock)
        self.lessons_dock.hide()

    def show_lessons(self) -> None:
        """Lessons ▸ Course: show the lessons side bar."""
        self.lessons_dock.show()
        self.lessons_dock.raise_()

    def start_lesson(self, lesson_id: str) -> None:
        """Open the side bar and start (or resume) a lesson."""
        self.show_lessons()
        self.lessons.start(lesson_id)

    def _build_status_bar(self) -> None:
        from convexplorer.ui.widgets.device_label import DeviceLabel

        self.tf_label = QLabel("Loading TensorFlow…")
        self.tf_label.setObjectName("tfStatus")
        self.device_label = DeviceLabel(self.state)
        self.device_label.setToolTip("Compute devices: click for Settings ▸ Compute")
        self.device_label.clicked.connect(self.show_settings)
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.tf_label)
        self.show_status("Ready. Drop an image, a folder or a .keras model anywhere on the window.")

    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.action_open_image = self._action("Open &Image…", self.open_image_dialog, QKeySequence.StandardKey.Open)
        self.action_open_folder = self._action("Open &Folder…", self.open_folder_dialog, "Ctrl+Shift+O")
        self.action_open_model = self._action("Open &Model…", self.open_model_dialog, "Ctrl+Shift+M")
        self.action_save_workspace = self._action("&Save Workspace…", self.save_workspace_dialog, QKeySequence.StandardKey.Save)
        self.action_open_workspace = self._action("Open &Workspace…", self.open_workspace_dialog, "Ctrl+Shift+W")
        for a in (self.action_open_image, self.action_open_folder, self.action_open_model):
            file_menu.addAction(a)
        self.samples_menu = file_menu.addMenu("Open Sa&mple Image")
        for path in sample_image_paths():
            title = path.stem.replace("-", " ").capitalize()
            self.samples_menu.addAction(self._action(title, lambda _=False, p=path: self.open_paths([p]), tip=str(path)))
        file_menu.addSeparator()
        file_menu.addAction(self.action_save_workspace)
        file_menu.addAction(self.action_open_workspace)
        file_menu.addSeparator()
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._refresh_recent_menu()
        file_menu.addSeparator()
        self.action_settings = self._action("Se&ttings…", self.show_settings, QKeySequence.StandardKey.Preferences)
        if self.action_settings.shortcut().isEmpty():
            self.action_settings.setShortcut(QKeySequence("Ctrl+,"))
        file_menu.addAction(self.action_settings)
        file_menu.addSeparator()
        self.action_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        file_menu.addAction(self.action_quit)

        view_menu = bar.addMenu("&View")
        self.panel_actions: dict[str, QAction] = {}
        for i, key in enumerate(self.panels, start=1):
            action = self._action(
                f"&{i} {self.panels[key].title}", lambda _=False, k=key: self.show_panel(k), f"Ctrl+{i}"
            )
            view_menu.addAction(action)
            self.panel_actions[key] = action
        view_menu.addSeparator()
        view_menu.addAction(self._action("&Reset Layout", self.reset_layout))
        view_menu.addAction(self._action("&Full Screen", self._toggle_full_screen, QKeySequence.StandardKey.FullScreen))

        lessons_menu = bar.addMenu("&Lessons")
        self.action_lessons = self._action("&Course…", self.show_lessons, "Ctrl+L", "guided tours through the panels")
        lessons_menu.addAction(self.action_lessons)
        lessons_menu.addSeparator()
        for lesson in self.lessons.lessons:
            lessons_menu.addAction(self._action(lesson.title, lambda _=False, i=lesson.id: self.start_lesson(i)))

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&Keyboard Shortcuts", self.show_shortcuts, "F1"))
        help_menu.addAction(self._action("&About ConvExplorer", self.show_about))

    # --- settings -------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        layout = self.settings.value("window/state")
        if isinstance(layout, QByteArray):
            self.restoreState(layout, LAYOUT_VERSION)
        current = self.settings.value("window/panel")
        if isinstance(current, str) and current in self.docks:
            self.show_panel(current)
        else:
            self.show_panel(next(iter(self.docks)))

    def save_settings(self) -> None:
        """Remember geometry, dock layout and the visible panel."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        visible = self.current_panel_key()
        if visible:
            self.settings.setValue("window/panel", visible)
        self.settings.sync()

    def reset_layout(self) -> None:
        """Put every panel back as a tab in the default order."""
        self.restoreState(self._default_layout, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()
        self.show_panel(next(iter(self.docks)))

    # --- panels ---------------------------------------------------------------------
    @Slot(str)
    def show_panel(self, key: str) -> None:
        """Bring a panel to the front (shows it if it was closed)."""
        dock = self.docks.get(key)
        if dock is None:
            return
        self.panel(key)
        dock.show()
        dock.raise_()
        dock.widget().setFocus()
        self._current_key = key

    def _dock_visibility(self, key: str, visible: bool) -> None:
        if visible:
            self._current_key = key
        elif self._current_key == key:
            self._current_key = None

    def current_panel_key(self) -> str | None:
        """Key of the panel the user saw come to the front last (the raised tab)."""
        return self._current_key

    def _on_tensorflow_ready(self) -> None:
        try:
            import keras
            import tensorflow as tf

            self.tf_label.setText(f"TensorFlow {tf.__version__} · Keras {keras.__version__} ready")
        except Exception:  # noqa: BLE001
            self.tf_label.setText("TensorFlow ready")
        self.show_status("TensorFlow is loaded: every panel is ready.")

    # --- opening things ---------------------------------------------------------------
    def open_paths(self, paths: Iterable[str | Path]) -> list[str]:
        """Open images, folders, models or designs; returns messages for paths nobody took."""
        refused: list[str] = []
        for raw in paths:
            path = Path(raw)
            message = self._open_one(path)
            if message:
                refused.append(message)
        if refused:
            self.show_status("; ".join(refused))
        return refused

    def _route(self, path: Path) -> tuple[str, ...]:
        suffix = path.suffix.lower()
        if path.is_dir():
            return ("data",)
        if suffix in MODEL_SUFFIXES:
            return ("inspect", "builder")
        if suffix in DESIGN_SUFFIXES:
            return ("builder",)
        if is_image_path(path):
            return ("inspect", "playground")
        return ()

    def _open_one(self, path: Path) -> str | None:
        if not path.exists():
            return f"not found: {path}"
        if path.suffix.lower() == WORKSPACE_SUFFIX:
            self.open_workspace(path)
            return None
        targets = self._route(path)
        if not targets:
            kinds = ", ".join(IMAGE_EXTENSIONS[:4]) + ", …"
            return f"cannot open {path.name}: expected an image ({kinds}), a folder of images, a .keras model or a .json design"
        taken = False
        for key in targets:
            panel = self.panel(key)
            if panel is None:
                continue
            try:
                if panel.open_path(path):
                    if not taken:
                        self.show_panel(key)
                    taken = True
            except Exception as exc:  # noqa: BLE001 - a panel's failure is shown, never fatal
                message, details = workers.describe_exception(exc)
                self.show_error(message, details)
                return None
        if is_image_path(path) and not path.is_dir():
            self.state.image_opened.emit(str(path))
        if taken:
            self._add_recent(path)
            self.show_status(f"Opened {path.name}")
            return None
        return f"{path.name}: no panel could open it yet"

    def open_image_dialog(self) -> None:
        """File ▸ Open Image."""
        pattern = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self._last_dir(), f"Images ({pattern});;All files (*)")
        if path:
            self._remember_dir(path)
            self.open_paths([path])

    def open_folder_dialog(self) -> None:
        """File ▸ Open Folder (one sub-folder per class)."""
        path = QFileDialog.getExistingDirectory(self, "Open image folder (one sub-folder per class)", self._last_dir())
        if path:
            self._remember_dir(path)
            self.open_paths([path])

    def open_model_dialog(self) -> None:
        """File ▸ Open Model."""
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._last_dir(), "Keras models (*.keras *.h5);;Designs (*.json)")
        if path:
            self._remember_dir(path)
            self.open_paths([path])

    def _last_dir(self) -> str:
        value = self.settings.value("paths/last_dir", "")
        return value if isinstance(value, str) else ""

    def _remember_dir(self, path: str) -> None:
        p = Path(path)
        self.settings.setValue("paths/last_dir", str(p if p.is_dir() else p.parent))

    # --- recent files ---------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """Most recent first."""
        value = self.settings.value("recent/files", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def _add_recent(self, path: Path) -> None:
        entry = str(path.resolve())
        items = [entry] + [p for p in self.recent_files() if p != entry]
        self.settings.setValue("recent/files", items[:MAX_RECENT])
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = self.recent_files()
        for i, p in enumerate(items, start=1):
            self.recent_menu.addAction(self._action(f"&{i % 10} {Path(p).name}", lambda _=False, p=p: self.open_paths([p]), tip=p))
        if not items:
            empty = self.recent_menu.addAction("(none yet)")
            empty.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(self._action("Clear List", self._clear_recent))

    def _clear_recent(self) -> None:
        self.settings.setValue("recent/files", [])
        self._refresh_recent_menu()

    # --- workspace ------------------------------------------------------------------
    def workspace_dict(self) -> dict:
        """The user's work as a JSON-able dict: the design and each panel's own state."""
        from convexplorer.core.workspace import FORMAT_VERSION

        spec = self.state.spec
        spec_json = None
        if spec is not None and hasattr(spec, "to_json"):
            spec_json = json.loads(spec.to_json())
        panels = {}
        for key, panel in self.panels.items():
            getter = getattr(panel, "workspace_state", None)
            if callable(getter):
                panels[key] = getter()
        return {"format_version": FORMAT_VERSION, "app_version": __version__, "spec": spec_json, "panels": panels}

    def save_workspace(self, path: str | Path) -> None:
        """Save the workspace atomically; errors are shown, the previous file stays intact."""
        from convexplorer.core.workspace import atomic_write_json

        atomic_write_json(path, self.workspace_dict())
        self._add_recent(Path(path))
        self.show_status(f"Workspace saved to {Path(path).name}")

    def open_workspace(self, path: str | Path) -> None:
        """Open a workspace written by this or an older version."""
        from convexplorer.core.workspace import read_json, upgrade_workspace

        try:
            data = upgrade_workspace(read_json(path), Path(path).name)
            if data.get("spec"):
                from convexplorer.core.spec import ModelSpec

                self.state.set_spec(ModelSpec.from_json(json.dumps(data["spec"])))
            for key, panel_state in (data.get("panels") or {}).items():
                setter = getattr(self.panel(key), "restore_workspace_state", None)
                if callable(setter):
                    setter(panel_state)
        except Exception as exc:  # noqa: BLE001
            message, details = workers.describe_exception(exc)
            self.show_error(f"Cannot open workspace: {message}", details)
            return
        self._add_recent(Path(path))
        self.show_status(f"Workspace {Path(path).name} opened")

    def save_workspace_dialog(self) -> None:
        """File ▸ Save Workspace."""
        path, _ = QFileDialog.getSaveFileName(self, "Save workspace", self._last_dir(), f"ConvExplorer workspace (*{WORKSPACE_SUFFIX})")
        if not path:
            return
        if not path.endswith(WORKSPACE_SUFFIX):
            path += WORKSPACE_SUFFIX
        try:
            self.save_workspace(path)
        except Exception as exc:  # noqa: BLE001
            self.show_error(*workers.describe_exception(exc))

    def open_workspace_dialog(self) -> None:
        """File ▸ Open Workspace."""
        path, _ = QFileDialog.getOpenFileName(self, "Open workspace", self._last_dir(), f"ConvExplorer workspace (*{WORKSPACE_SUFFIX})")
        if path:
            self.open_workspace(path)

    # --- messages -------------------------------------------------------------------
    @Slot(str)
    def show_status(self, message: str) -> None:
        """Show a message in the status bar for a while."""
        self.statusBar().showMessage(message, 8000)

    @Slot(str, str)
    def show_error(self, message: str, details: str = "") -> None:
        """Tell the user something failed; the app keeps running."""
        log.warning("%s\n%s", message, details)
        self.statusBar().showMessage(message, 15000)
        self._last_error_box = show_error_dialog(self, message, details)

    def show_settings(self) -> None:
        """File ▸ Settings (compute devices, precision, strategy)."""
        from convexplorer.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.state, self.settings, self)
        self._settings_dialog = dialog
        dialog.exec()
        self._settings_dialog = None

    def show_about(self) -> None:
        """Help ▸ About, with the versions of everything that matters."""
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        tf_version = keras_version = "loading…"
        if self.state.tf_ready:
            import keras
            import tensorflow as tf

            tf_version, keras_version = tf.__version__, keras.__version__
        text = (
            f"<h3>ConvExplorer {__version__}</h3>"
            "<p>See how convolutional neural networks work, and build your own.</p>"
            f"<p>Python {platform.python_version()}<br>Qt {qVersion()} (PySide6 {pyside_version})<br>"
            f"TensorFlow {tf_version}<br>Keras {keras_version}</p>"
            f"<p>Log file: {log_path() or 'not written'}</p>"
        )
        QMessageBox.about(self, "About ConvExplorer", text)

    def shortcuts_text(self) -> str:
        """A table of the keyboard shortcuts of every menu action."""
        rows = []
        for menu_action in self.menuBar().actions():
            menu = menu_action.menu()
            for action in menu.actions() if menu else []:
                if not action.shortcut().isEmpty():
                    rows.append((action.text().replace("&", ""), action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)))
        return "\n".join(f"{key:<14} {name}" for name, key in rows)

    def show_shortcuts(self) -> None:
        """Help ▸ Keyboard Shortcuts."""
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setText(f"<pre>{self.shortcuts_text()}</pre>")
        box.show()

    def _toggle_full_screen(self) -> None:
        self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)

    # --- drag and drop --------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        urls = event.mimeData().urls()
        local = [u.toLocalFile() for u in urls if u.isLocalFile()]
        if not local:
            self.show_status("Only files and folders from this computer can be dropped here.")
            return
        event.acceptProposedAction()
        # Let the drop finish before opening (a dialog inside dropEvent freezes some desktops).
        QTimer.singleShot(0, lambda: self.open_paths(local))

    # --- closing ----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every panel's work and every worker thread, and refuse new work; safe to call twice.

        After it, panels, their timers and the device label start nothing: an event still
        queued when the window closed cannot start a thread that outlives it."""
        self._shut_down = True
        for panel in self.panels.values():
            try:
                panel.shutdown()
            except Exception:  # noqa: BLE001
                log.exception("panel %s failed to shut down", panel.key)
        self.device_label.shutdown()
        if not workers.shutdown_all(timeout_s=15.0):
            log.warning("some workers did not stop in time")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.save_settings()
        self.shutdown()
        # Floating docks are top-level windows of their own: they close with the main window.
        for dock in self.docks.values():
            if dock.isFloating():
                dock.close()
        super().closeEvent(event)


def sample_image_paths() -> list[Path]:
    """The sample images shipped in ``resources/samples`` (made by packaging/make_samples.py)."""
    from convexplorer.ui.resources import resources_dir

    folder = resources_dir() / "samples"
    return sorted(folder.glob("*.png")) if folder.is_dir() else []


def python_versions() -> str:
    """One line of versions, for logs and --version."""
    return f"Python {sys.version.split()[0]} on {platform.system()}"
