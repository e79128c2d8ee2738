"""The "Confusion matrices" tab: two runs' matrices, their difference, and the images behind a cell."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from convexplorer.ui.panels.compare.cell_images import CellImages
from convexplorer.ui.panels.compare.diff_matrix import DiffMatrixView
from convexplorer.ui.panels.compare.jobs import JobRunner, cams_for, evaluate_pair
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.confusion_matrix import ConfusionMatrixView


class ConfusionTab(QWidget):
    """Runs A and B, their confusion matrices and difference; a clicked cell lists its images, a clicked image its Grad-CAMs."""

    #: Something to tell the user; "" clears.
    message = Signal(str)
    #: A view was brought up to date: "confusion", "cell" or "cams".
    updated = Signal(str)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.runs: list[Any] = []  # core.runs.RunInfo per run combo entry
        self.evaluation: Optional[dict] = None  # from evaluate_pair, when the two models were evaluated here
        self.eval_models: tuple[Any, Any] = (None, None)
        self.eval_dataset: Any = None
        self.cell: Optional[tuple[str, int, int]] = None  # (model "a" or "b", true, predicted) listed
        self.cell_indices = np.zeros(0, np.int64)  # data-set indices of the images of that cell
        self._build()
        self.run_a_combo.currentIndexChanged.connect(lambda _i: self.show_stored_confusions())
        self.run_b_combo.currentIndexChanged.connect(lambda _i: self.show_stored_confusions())
        self.confusion_a_view.cell_clicked.connect(lambda t, p: self.show_cell("a", t, p))
        self.confusion_b_view.cell_clicked.connect(lambda t, p: self.show_cell("b", t, p))
        self.difference_view.cell_clicked.connect(lambda t, p: self.show_cell("b", t, p))
        self.cell_images.cell_list.currentRowChanged.connect(self._on_cell_image)

    def _build(self) -> None:
        self.run_a_combo = QComboBox()
        self.run_b_combo = QComboBox()
        for combo in (self.run_a_combo, self.run_b_combo):
            combo.setMinimumWidth(240)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.evaluate_button = QPushButton("Evaluate both on the data set")
        self.evaluate_button.setToolTip("Run both runs' models on the current data set's test images (needed to see the images in a cell)")
        self.confusion_summary = QLabel("Pick two runs: their stored confusion matrices are compared; evaluate them to see the images.")
        self.confusion_summary.setWordWrap(True)
        self.confusion_a_view = ConfusionMatrixView()
        self.confusion_b_view = ConfusionMatrixView()
        self.difference_view = DiffMatrixView()
        self.confusion_a_title = QLabel("A")
        self.confusion_b_title = QLabel("B")
        self.cell_images = CellImages()
        lay = QVBoxLayout(self)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Run A"))
        pick.addWidget(self.run_a_combo, 1)
        pick.addWidget(QLabel("Run B"))
        pick.addWidget(self.run_b_combo, 1)
        pick.addWidget(self.evaluate_button)
        lay.addLayout(pick)
        lay.addWidget(self.confusion_summary)
        mats = QGridLayout()
        diff_title = QLabel("B − A (green better, red worse)")
        for col, (title, view) in enumerate(((self.confusion_a_title, self.confusion_a_view),
                                             (self.confusion_b_title, self.confusion_b_view),
                                             (diff_title, self.difference_view))):
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            set_role(title, "title")
            mats.addWidget(title, 0, col)
            mats.addWidget(view, 1, col)
        lay.addLayout(mats, 3)
        lay.addWidget(self.cell_images, 2)

    # --- runs and their matrices -------------------------------------------------------------
    def set_runs(self, runs: Sequence[Any]) -> None:
        """Offer ``runs`` as A and B (keeping the choice where it still exists); show their stored matrices."""
        self.runs = list(runs)
        for combo, default in ((self.run_a_combo, 1), (self.run_b_combo, 0)):
            keep = combo.currentIndex()
            combo.blockSignals(True)
            combo.clear()
            for r in runs:
                combo.addItem(r.title)
            if runs:
                combo.setCurrentIndex(keep if 0 <= keep < len(runs) else min(default, len(runs) - 1))
            combo.blockSignals(False)
        if runs and self.evaluation is None:
            self.show_stored_confusions()

    def selected_runs(self) -> tuple[Any, Any]:
        """The runs chosen as A and B (None where there is no choice)."""
        ia, ib = self.run_a_combo.currentIndex(), self.run_b_combo.currentIndex()
        ra = self.runs[ia] if 0 <= ia < len(self.runs) else None
        rb = self.runs[ib] if 0 <= ib < len(self.runs) else None
        return ra, rb

    def show_stored_confusions(self) -> None:
        """Show the confusion matrices stored with the two runs (when they were evaluated)."""
        from convexplorer.core.compare import confusion_difference
        from convexplorer.core.errors import ConvExplorerError

        ra, rb = self.selected_runs()
        ea = (ra.evaluation or {}) if ra is not None else {}
        eb = (rb.evaluation or {}) if rb is not None else {}
        if not ea.get("confusion") or not eb.get("confusion"):
            self.confusion_summary.setText("These runs have no stored evaluation: press “Evaluate both on the data set”.")
            return
        try:
            diff = confusion_difference(np.asarray(ea["confusion"]), np.asarray(eb["confusion"]),
                                        ea.get("class_names"), eb.get("class_names"))
        except ConvExplorerError as exc:
            self.confusion_summary.setText(str(exc))
            return
        self.evaluation = None
        self.show_confusions(diff, ra.label or ra.id, rb.label or rb.id)

    def show_confusions(self, diff: Any, label_a: str = "A", label_b: str = "B") -> None:
        """Draw two confusion matrices and their difference (a core.compare.ConfusionDiff)."""
        self.confusion_a_view.set_matrix(diff.a, diff.class_names)
        self.confusion_b_view.set_matrix(diff.b, diff.class_names)
        self.difference_view.set_difference(diff.diff, diff.class_names)
        self.confusion_a_title.setText(f"A: {label_a} · accuracy {100 * diff.accuracy_a:.1f} %")
        self.confusion_b_title.setText(f"B: {label_b} · accuracy {100 * diff.accuracy_b:.1f} %")
        self.confusion_summary.setText(f"Biggest changes from A to B: {diff.describe(4)}.")
        self.cell_images.cell_list.clear()
        self.updated.emit("confusion")

    def evaluate_runs(self, dataset: Any) -> bool:
        """Evaluate both selected runs' final models on ``dataset`` (in a worker); False if a run or the data is missing."""
        ra, rb = self.selected_runs()
        if ra is None or rb is None:
            self.message.emit("pick two kept runs first (train and keep runs in the Training panel)")
            return False
        if dataset is None:
            self.message.emit("no data set: choose the data set the runs were trained on in the Data panel")
            return False

        def job(progress=None, cancel=None):
            from convexplorer.core.runs import load_run_model

            ma, mb = load_run_model(ra), load_run_model(rb)
            return ma, mb, evaluate_pair(ma, mb, dataset, progress, cancel)

        self._runner.start(job, lambda r: self.set_evaluation(r[0], r[1], r[2], dataset, ra.label or ra.id, rb.label or rb.id),
                           "evaluating…")
        return True

    def set_evaluation(self, model_a: Any, model_b: Any, evaluation: dict, dataset: Any,
                       label_a: str = "A", label_b: str = "B") -> None:
        """Show two models' evaluations (from :func:`evaluate_pair`) so that cells can be opened."""
        self.evaluation = evaluation
        self.eval_models = (model_a, model_b)
        self.eval_dataset = dataset
        self.show_confusions(evaluation["diff"], label_a, label_b)

    # --- one cell, one image -------------------------------------------------------------------
    def class_names(self) -> list[str]:
        """The class names of the matrices shown (as the matrix view completed them)."""
        return self.confusion_a_view._names

    def show_cell(self, which: str, true: int, pred: int) -> int:
        """List the images of cell (true, pred) of model ``which`` ("a" or "b"); returns how many."""
        from convexplorer.core.compare import cell_members

        self.cell_images.clear()
        ev = self.evaluation
        diff = self.difference_view.difference()
        names = self.class_names()
        if ev is None:
            self.cell_images.cell_hint.setText("Evaluate both runs on the data set to see the images behind the counts.")
            return 0
        res = ev[which]
        members = cell_members(res.y_true, res.y_pred, true, pred, ev["indices"])
        self.cell = (which, true, pred)
        self.cell_indices = members
        change = ""
        if diff.size:
            change = f" (A→B {int(diff[true, pred]):+d})".replace("-", "−")
        self.cell_images.show_members(
            f"Model {which.upper()}: true {names[true]}, predicted {names[pred]}: {len(members)} image(s){change}.",
            members, self.eval_dataset)
        self.updated.emit("cell")
        return len(members)

    def cell_image(self, row: int) -> tuple[Any, np.ndarray, int, int, int]:
        """The ``row``-th image of the open cell: (its model, the image, true class, predicted class, data-set index)."""
        which, true, pred = self.cell  # type: ignore[misc]
        model = self.eval_models[0 if which == "a" else 1]
        idx = int(self.cell_indices[row])
        return model, self.eval_dataset.image(idx), true, pred, idx

    def show_cell_image(self, row: int) -> None:
        """Grad-CAM for the predicted and true class of the ``row``-th image of the open cell (in a worker)."""
        model, image, true, pred, idx = self.cell_image(row)
        names = self.class_names()

        def done(cams: list) -> None:
            self.cell_images.show_cams(cams[0], idx, names)
            self.updated.emit("cams")

        self._runner.start(lambda progress=None, cancel=None: cams_for(model, [image], true, pred, progress, cancel),
                           done, "Grad-CAM…")

    def _on_cell_image(self, row: int) -> None:
        if row < 0 or self.cell is None or row >= len(self.cell_indices):
            return
        self.show_cell_image(row)
