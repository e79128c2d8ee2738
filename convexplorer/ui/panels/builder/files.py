"""Designs and models on disk: open a .json design, Keras JSON or a .keras/.h5 model; save JSON; export .keras,
Keras JSON or a script.

JSON is read and written on the GUI thread (instant, atomic); Keras work runs on
workers. :class:`DesignFiles` reports by signals and never touches the panel's
widgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.spec import ModelSpec
from convexplorer.ui.panels.builder import jobs
from convexplorer.ui.panels.builder.design import Design
from convexplorer.ui.state import AppState
from convexplorer.ui.workers import StartWork, Worker


@dataclass
class Opened:
    """What came with a design read from a model: why it is read-only (None: editable) and its kept weights."""

    read_only: str | None = None
    weights: dict[str, Any] = field(default_factory=dict)


class DesignFiles(QObject):
    """Open, save and export the design; the dialogs that ask where, and whether to allow unsafe code."""

    #: A design was opened: (the new spec, what to say, :class:`Opened` for a model or Keras JSON, else None).
    opened = Signal(object, str, object)
    #: Something to tell the user.
    info = Signal(str)
    #: Something went wrong: what to tell the user.
    error = Signal(str)
    #: Work started (True, what it is) or ended (False, "").
    busy = Signal(bool, str)

    def __init__(self, design: Design, state: AppState, start: StartWork, parent: QWidget) -> None:
        super().__init__(parent)
        self.design = design
        self.state = state
        self._start_work = start
        #: Asked before opening a model with safe mode off; replace in tests.
        self.confirm_unsafe: Callable[[str], bool] = self._ask_unsafe

    def _window(self) -> QWidget:
        return self.parent()  # type: ignore[return-value]

    def _start(self, fn: Callable[..., Any], *args: Any, message: str) -> Worker | None:
        worker = self._start_work(fn, *args)
        if worker is not None:
            self.busy.emit(True, message)
        return worker

    # ------------------------------------------------------------------ open
    def open_path(self, path: Path) -> bool:
        """Open a .json design or a .keras/.h5 model (the model also goes to Inspect)."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".json":
            self._open_design(p)
            return True
        if suffix in (".keras", ".h5"):
            self._open_keras(p, allow_unsafe=False)
            return True
        return False

    def _open_design(self, p: Path) -> None:
        """Our design JSON, or Keras JSON (an object with "class_name" and "config", read on a worker)."""
        import json

        from convexplorer.core.workspace import read_json

        try:
            data = read_json(p)
            if (isinstance(data, dict) and "format_version" not in data and "class_name" in data
                    and "config" in data):
                self._open_keras_json(p, json.dumps(data))
                return
            spec = ModelSpec.from_dict(data)
            spec.sort_topologically()  # SpecError for a cycle (naming its layers) or an edge to a missing node
        except ConvExplorerError as exc:
            self.error.emit(f"Cannot open {p.name}: {exc}. The design you had is unchanged.")
            return
        self.design.current_path = p
        self.opened.emit(spec, f"Design {p.name} opened", None)

    def _open_keras_json(self, p: Path, text: str) -> None:
        worker = self._start(jobs.import_keras_json, text, p.stem, message=f"Reading the Keras model JSON {p.name}…")
        if worker is None:
            return
        worker.result.connect(lambda result: self._imported(p, result, "Keras JSON"))
        worker.error.connect(lambda msg, det: self.error.emit(f"Cannot open {p.name}: {msg}. The design you had is unchanged."))
        worker.finished.connect(lambda: self.busy.emit(False, ""))

    def _open_keras(self, p: Path, allow_unsafe: bool) -> None:
        worker = self._start(jobs.open_and_import, str(p), allow_unsafe, p.stem, message=f"Opening {p.name}…")
        if worker is None:
            return
        worker.result.connect(lambda out: self._model_opened(p, *out))
        worker.error.connect(lambda msg, det: self._model_failed(p, msg, allow_unsafe))
        worker.finished.connect(lambda: self.busy.emit(False, ""))

    def _model_opened(self, p: Path, model: Any, result: Any, problem: str) -> None:
        self.state.set_model(model, p.name)
        if result is None:
            self.info.emit(f"{p.name} opened for inspection (see Inspect). It cannot be edited here: {problem}")
            return
        self._imported(p, result, "model")

    def _imported(self, p: Path, result: Any, what: str) -> None:
        """Open an ImportResult as the design: locked when read-only, its notes said, its weights kept."""
        if result.read_only:
            text = (f"{p.name} opened as a graph you can look at, but it cannot be edited here: "
                    f"{result.read_only}")
        else:
            kept = f" Trained weights are kept on the {len(result.weights)} layers that have them, as long as " \
                   "you leave those layers unchanged." if result.weights else ""
            text = f"{p.name} opened as an editable graph{' (the model is in Inspect)' if what == 'model' else ''}.{kept}"
        if result.notes:
            text += " Notes: " + " · ".join(result.notes)
        self.design.current_path = None
        self.opened.emit(result.spec, text, Opened(result.read_only, dict(result.weights)))

    def _model_failed(self, p: Path, message: str, was_unsafe: bool) -> None:
        if not was_unsafe and "Lambda" in message:
            from convexplorer.core.modelio import UNSAFE_WARNING

            if self.confirm_unsafe(f"{message}\n\n{UNSAFE_WARNING}\n\nOpen {p.name} with safe mode off?"):
                self._open_keras(p, allow_unsafe=True)
                return
        self.error.emit(message)

    def _ask_unsafe(self, text: str) -> bool:
        answer = QMessageBox.warning(self._window(), "Allow unsafe code?", text,
                                     QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                     QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------------ save and export
    def save_design(self, path: str | Path) -> None:
        """Save the design as JSON (atomic write)."""
        from convexplorer.core.workspace import atomic_write_text

        p = Path(path)
        try:
            atomic_write_text(p, self.design.spec.to_json())
        except ConvExplorerError as exc:
            self.error.emit(str(exc))
            return
        self.design.current_path = p
        self.info.emit(f"Design saved to {p}")

    def _exportable(self) -> bool:
        problem = self.design.export_problem()
        if problem:
            self.error.emit(problem)
        return not problem

    def export_keras(self, path: str | Path) -> Worker | None:
        """Build the model with Keras and save it as .keras on a worker; returns the worker."""
        if not self._exportable():
            return None
        worker = self._start(jobs.build_and_save, self.design.spec.copy(), str(path), self.design.initial_weights,
                             message="Building the model with Keras…")
        if worker is None:
            return None
        worker.result.connect(lambda p: self.info.emit(f"Model saved to {p}"))
        return self._report_errors(worker)

    def export_keras_json(self, path: str | Path) -> Worker | None:
        """Write the design as Keras JSON (``model.to_json()``, which Open reads back) on a worker."""
        if not self._exportable():
            return None
        worker = self._start(jobs.write_keras_json, self.design.spec.copy(), str(path),
                             message="Building the model to write its Keras JSON…")
        if worker is None:
            return None
        worker.result.connect(lambda p: self.info.emit(f"Keras JSON written to {p} (Open reads it back)"))
        return self._report_errors(worker)

    def export_script(self, path: str | Path) -> Worker | None:
        """Write the runnable training script on a worker; returns the worker."""
        if not self._exportable():
            return None
        worker = self._start(jobs.write_script, self.design.spec.copy(), str(path), message="Writing the script…")
        if worker is None:
            return None
        worker.result.connect(
            lambda p: self.info.emit(f"Script written to {p}: run it with  python {Path(p).name} --data DATA"))
        return self._report_errors(worker)

    def _report_errors(self, worker: Worker) -> Worker:
        worker.error.connect(lambda msg, det: self.error.emit(msg))
        worker.finished.connect(lambda: self.busy.emit(False, ""))
        return worker

    # ------------------------------------------------------------------ dialogs
    def ask_open(self) -> None:
        """Ask for a design or model to open, and open it."""
        path, _ = QFileDialog.getOpenFileName(self._window(), "Open a design or model",
                                              str(self.design.current_path or ""),
                                              "Designs, Keras JSON and models (*.json *.keras *.h5);;All files (*)")
        if path:
            self.open_path(Path(path))

    def ask_save(self) -> None:
        """Ask where to save the design as JSON, and save it."""
        default = str(self.design.current_path or f"{self.design.spec.name}.json")
        path, _ = QFileDialog.getSaveFileName(self._window(), "Save design", default, "Designs (*.json)")
        if path:
            self.save_design(path if path.endswith(".json") else path + ".json")

    def ask_export_keras(self) -> None:
        """Ask where to export the .keras model, and export it."""
        path, _ = QFileDialog.getSaveFileName(self._window(), "Export Keras model", f"{self.design.spec.name}.keras",
                                              "Keras models (*.keras)")
        if path:
            self.export_keras(path if path.endswith(".keras") else path + ".keras")

    def ask_export_keras_json(self) -> None:
        """Ask where to write the Keras JSON, and write it."""
        path, _ = QFileDialog.getSaveFileName(self._window(), "Export Keras JSON", f"{self.design.spec.name}.keras.json",
                                              "Keras JSON (*.json)")
        if path:
            self.export_keras_json(path if path.endswith(".json") else path + ".json")

    def ask_export_script(self) -> None:
        """Ask where to write the training script, and write it."""
        path, _ = QFileDialog.getSaveFileName(self._window(), "Export training script",
                                              f"train_{self.design.spec.name}.py", "Python (*.py)")
        if path:
            self.export_script(path if path.endswith(".py") else path + ".py")
