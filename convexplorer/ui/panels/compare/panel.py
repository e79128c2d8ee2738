"""ComparePanel: builds the three tabs (two models, confusion matrices, timeline) and wires them to the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from convexplorer.ui.panels.base import Panel
from convexplorer.ui.panels.compare.confusion_tab import ConfusionTab
from convexplorer.ui.panels.compare.jobs import JobRunner
from convexplorer.ui.panels.compare.models_tab import TwoModelsTab
from convexplorer.ui.panels.compare.timeline_tab import TimelineTab
from convexplorer.ui.state import AppState
from convexplorer.ui.style import set_role

#: Tab indices.
MODELS_TAB, CONFUSION_TAB, TIMELINE_TAB = 0, 1, 2


class ComparePanel(Panel):
    """Two models side by side on one image; two runs' confusion matrices; the learning timeline."""

    title = "Compare"
    key = "compare"
    needs_tensorflow = True

    #: A view was brought up to date: "models", "comparison", "confusion", "cell", "cams", "timeline", "error".
    updated = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.jobs = JobRunner(self.run_in_thread, self)
        self.models_tab = TwoModelsTab(self.jobs)
        self.confusion_tab = ConfusionTab(self.jobs)
        self.timeline_tab = TimelineTab()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.models_tab, "Two models")
        self.tabs.addTab(self.confusion_tab, "Confusion matrices")
        self.tabs.addTab(self.timeline_tab, "Timeline")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        set_role(self.message, "error")
        self.message.setVisible(False)
        root = QVBoxLayout(self.body)
        root.setContentsMargins(6, 6, 6, 6)
        root.addWidget(self.tabs, 1)
        root.addWidget(self.message)
        self._name_widgets()
        self._wire()
        self.refresh_sources()
        self._set_ready(state.tf_ready)

    def _name_widgets(self) -> None:
        """The parts' widgets under the names that tests, lessons and the screenshots use on the panel."""
        picker, row, side = self.models_tab.picker, self.models_tab.image_row, self.models_tab.side_by_side
        self.source_a_combo, self.source_b_combo, self.open_file_button = (
            picker.source_a_combo, picker.source_b_combo, picker.open_file_button)
        self.image_thumb, self.image_label, self.verdict_label = row.image_thumb, row.image_label, row.verdict_label
        self.open_image_button, self.sample_button = row.open_image_button, row.sample_button
        self.compare_button, self.cancel_button = row.compare_button, row.cancel_button
        self.column_a, self.column_b = side.column_a, side.column_b
        self.pair_combo, self.maps_a_grid, self.maps_b_grid = side.maps.pair_combo, side.maps.maps_a_grid, side.maps.maps_b_grid
        cm, cells = self.confusion_tab, self.confusion_tab.cell_images
        self.run_a_combo, self.run_b_combo, self.evaluate_button = cm.run_a_combo, cm.run_b_combo, cm.evaluate_button
        self.confusion_summary = cm.confusion_summary
        self.confusion_a_view, self.confusion_b_view, self.difference_view = (
            cm.confusion_a_view, cm.confusion_b_view, cm.difference_view)
        self.confusion_a_title, self.confusion_b_title = cm.confusion_a_title, cm.confusion_b_title
        self.cell_list, self.cell_hint = cells.cell_list, cells.cell_hint
        self.cam_pred_view, self.cam_true_view = cells.cam_pred_view, cells.cam_true_view
        tl = self.timeline_tab
        self.timeline_run_combo, self.open_timeline_button, self.timeline_view = (
            tl.timeline_run_combo, tl.open_timeline_button, tl.timeline_view)

    def _wire(self) -> None:
        for part in (self.models_tab, self.confusion_tab, self.timeline_tab):
            part.message.connect(self._set_message)
        self.models_tab.compared.connect(lambda: self.updated.emit("comparison"))
        self.confusion_tab.updated.connect(self.updated)
        self.timeline_tab.shown.connect(self._on_timeline_shown)
        self.jobs.started.connect(self._on_job_started)
        self.jobs.failed.connect(self._show_error)
        self.jobs.finished.connect(self._on_job_finished)
        self.sample_button.clicked.connect(self.use_dataset_sample)
        self.compare_button.clicked.connect(self.compare)
        self.cancel_button.clicked.connect(self.jobs.cancel)
        self.evaluate_button.clicked.connect(self.evaluate_runs)
        self.state.model_changed.connect(lambda *_a: self.refresh_sources())
        self.state.image_opened.connect(self.load_image_file)
        self.state.image_array_opened.connect(lambda array, label: self.set_image(np.asarray(array, np.float32), label))
        # (timeline, live) from training, once AppState has this signal (see the integration notes)
        timeline_signal = getattr(self.state, "timeline_changed", None)
        if timeline_signal is not None:
            timeline_signal.connect(lambda tl, live=False: self.show_timeline(tl, bool(live), "current training"))

    def _set_ready(self, ready: bool) -> None:
        for w in (self.compare_button, self.evaluate_button, self.open_file_button):
            w.setEnabled(ready)

    @property
    def _comparison(self) -> Any:
        """The ImageComparison shown (None before the first)."""
        return self.models_tab.side_by_side.comparison

    # --- Panel hooks -----------------------------------------------------------------
    def on_tensorflow_ready(self) -> None:
        """Enable the buttons that need TensorFlow."""
        self._set_ready(True)
        self.refresh_sources()

    def open_path(self, path: Path) -> bool:
        """Take images (for the comparison), .keras files (as a model source) and timeline files."""
        from convexplorer.core.images import is_image_path
        from convexplorer.core.timeline import TIMELINE_FILE

        p = Path(path)
        if p.suffix.lower() == ".keras":
            self.add_source_file(str(p))
            return True
        if p.name == TIMELINE_FILE or (p.is_dir() and (p / TIMELINE_FILE).is_file()):
            return self.open_timeline(p)
        if is_image_path(p):
            self.load_image_file(str(p))
            return True
        return False

    def shutdown(self) -> None:
        """Stop the timeline's timers and the workers."""
        self.timeline_tab.shutdown()
        super().shutdown()

    # --- sources, image, comparison (the "Two models" tab) ----------------------------------
    def refresh_sources(self) -> None:
        """Rebuild the model and run lists (current model, kept runs and checkpoints, files, applications)."""
        from convexplorer.core.runs import list_runs

        try:
            runs = list_runs()[:30]
        except Exception:  # noqa: BLE001 - an unreadable runs folder must not break the panel
            runs = []
        names = getattr(self.state.dataset, "class_names", None)
        self.models_tab.picker.refresh(self.state.model, self.state.model_label, names, runs)
        self.confusion_tab.set_runs(runs)
        self.timeline_tab.set_runs(runs)

    def add_source(self, source: Any) -> int:
        """Add a model source (a core.compare.ModelSource) to both lists; returns its index."""
        return self.models_tab.picker.add_source(source)

    def add_source_file(self, path: str) -> int:
        """Add a .keras file as a model source (also made model B)."""
        return self.models_tab.picker.add_source_file(path)

    def set_sources(self, a: int, b: int) -> None:
        """Choose models A and B by their index in the lists."""
        self.models_tab.picker.set_sources(a, b)

    def source_labels(self) -> list[str]:
        """The labels of the model sources offered."""
        return self.models_tab.picker.labels()

    def load_image_file(self, path: str) -> bool:
        """Open an image file for the comparison (errors shown inline)."""
        return self.models_tab.image_row.load_image_file(path)

    def set_image(self, image: np.ndarray, name: str) -> None:
        """The image both models look at (H x W x C float in [0, 1])."""
        self.models_tab.image_row.set_image(image, name)

    def use_dataset_sample(self) -> bool:
        """Use a random test image of the current data set."""
        return self.models_tab.image_row.use_dataset_sample(self.state.dataset)

    def compare(self) -> bool:
        """Load models A and B (if needed) and compare them on the image, in a worker."""
        return self.models_tab.compare(getattr(self.state.dataset, "class_names", None))

    def show_comparison(self, cmp: Any) -> None:
        """Draw an ImageComparison: overlays, bars, matched layers."""
        self.models_tab.show_comparison(cmp)

    # --- confusion matrices ----------------------------------------------------------------
    def show_confusions(self, diff: Any, label_a: str = "A", label_b: str = "B") -> None:
        """Draw two confusion matrices and their difference (a core.compare.ConfusionDiff)."""
        self.confusion_tab.show_confusions(diff, label_a, label_b)

    def evaluate_runs(self) -> bool:
        """Evaluate both selected runs' final models on the current data set (in a worker)."""
        return self.confusion_tab.evaluate_runs(self.state.dataset)

    def set_evaluation(self, model_a: Any, model_b: Any, evaluation: dict, dataset: Any,
                       label_a: str = "A", label_b: str = "B") -> None:
        """Show two models' evaluations (from :func:`evaluate_pair`) so that cells can be opened."""
        self.confusion_tab.set_evaluation(model_a, model_b, evaluation, dataset, label_a, label_b)

    def show_cell(self, which: str, true: int, pred: int) -> int:
        """List the images of cell (true, pred) of model ``which`` ("a" or "b"); returns how many."""
        return self.confusion_tab.show_cell(which, true, pred)

    def show_cell_image(self, row: int) -> None:
        """Grad-CAM for the predicted and true class of the ``row``-th image of the open cell (in a worker)."""
        self.confusion_tab.show_cell_image(row)

    # --- timeline ---------------------------------------------------------------------------
    def open_timeline(self, path: Path | str) -> bool:
        """Show the timeline saved in a run folder (or a timeline.npz file)."""
        return self.timeline_tab.open_timeline(path)

    def show_timeline(self, timeline: Any, live: bool = False, label: str = "") -> None:
        """Replay ``timeline`` in the Timeline tab (``live`` while it is still being recorded); ``label`` names it in the list."""
        self.timeline_tab.show_timeline(timeline, live, label)

    def _on_timeline_shown(self) -> None:
        self.tabs.setCurrentIndex(TIMELINE_TAB)
        self.updated.emit("timeline")

    # --- background jobs and messages -------------------------------------------------------
    def busy(self) -> bool:
        """True while a worker runs."""
        return self.jobs.busy()

    def _on_job_started(self, busy: str) -> None:
        self.compare_button.setEnabled(False)
        self.evaluate_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.state.status.emit(busy)

    def _on_job_finished(self) -> None:
        self.cancel_button.setVisible(False)
        self._set_ready(self.state.tf_ready)

    def _set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _show_error(self, message: str, details: str = "") -> None:
        self._set_message(message)
        self.updated.emit("error")
