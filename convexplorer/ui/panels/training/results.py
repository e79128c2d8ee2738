"""The results of a run: evaluated on held-out images, drawn as accuracy, confusion matrix, per-class table, gallery."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convexplorer.ui.panels.training.formatting import fmt_value
from convexplorer.ui.panels.training.jobs import evaluate_job
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.confusion_matrix import ConfusionMatrixView
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap
from convexplorer.ui.workers import StartWork, Worker

#: Most misclassified examples shown in the gallery.
GALLERY_MAX = 120
EMPTY_TEXT = "Results: train a model; it is evaluated on the data set's test subset when training ends."


class ResultsView(QWidget):
    """Evaluates a model (on a worker) and draws the evaluation; a gallery click asks for Inspect."""

    #: An evaluation was drawn: the EvaluationResult.
    evaluated = Signal(object)
    #: A gallery example was clicked: (image array, label to show with it).
    example_chosen = Signal(object, str)

    def __init__(self, start: StartWork, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._start = start  # the panel's run_in_thread: its shutdown joins the evaluation
        #: The evaluation shown (None when cleared or showing a kept run's summary).
        self.evaluation: Any = None
        #: The data set and subset evaluated (the gallery reads its images).
        self.dataset: Any = None
        self.subset = "test"
        #: The head evaluated, for a model with several outputs (None: its only output).
        self.head: str | None = None
        #: The last evaluation worker (None before the first).
        self.worker: Optional[Worker] = None
        res_l = QVBoxLayout(self)
        res_l.setContentsMargins(0, 0, 0, 0)
        res_l.setSpacing(2)
        self.results_label = QLabel(EMPTY_TEXT)
        self.results_label.setWordWrap(True)
        set_role(self.results_label, "title")
        res_l.addWidget(self.results_label)
        rrow = QHBoxLayout()
        self.confusion_view = ConfusionMatrixView()
        rrow.addWidget(self.confusion_view, 3)
        self.class_table = QTableWidget(0, 5)
        self.class_table.setHorizontalHeaderLabels(["class", "precision", "recall", "F1", "support"])
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.class_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, 5):
            self.class_table.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.class_table.setMinimumWidth(250)
        rrow.addWidget(self.class_table, 3)
        gal = QVBoxLayout()
        self.gallery_label = QLabel("Misclassified examples (click one to inspect it)")
        gal.addWidget(self.gallery_label)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(56, 56))
        self.gallery.setGridSize(QSize(104, 96))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setMovement(QListWidget.Movement.Static)
        self.gallery.setWordWrap(True)
        gal.addWidget(self.gallery, 1)
        self.best_button = QPushButton("Best checkpoint to Inspect")
        self.best_button.setEnabled(False)
        gal.addWidget(self.best_button)
        rrow.addLayout(gal, 4)
        res_l.addLayout(rrow, 1)

        self.gallery.itemClicked.connect(self.open_item)
        self.confusion_view.cell_clicked.connect(self._on_cell_clicked)

    def clear(self) -> None:
        """Nothing evaluated yet."""
        self.evaluation = None
        self.confusion_view.set_matrix(None)
        self.class_table.setRowCount(0)
        self.gallery.clear()
        self.best_button.setEnabled(False)
        self.results_label.setText(EMPTY_TEXT)

    # --- evaluation -----------------------------------------------------------------------
    def evaluate(self, model: Any, dataset: Any, head: str | None = None) -> Optional[Worker]:
        """Evaluate ``model`` on the test subset (validation if there is none); the worker, if one started.

        ``head``: the labels head whose classes are evaluated, for a model with several outputs.
        """
        if dataset is None:
            return None
        subset = "test" if len(dataset.subset_indices("test")) else "validation"
        if len(dataset.subset_indices(subset)) == 0:
            self.results_label.setText("Results: the data set has no test or validation images to evaluate on.")
            return None
        worker = self._start(evaluate_job, model, dataset, subset, head=head) if head else self._start(
            evaluate_job, model, dataset, subset)
        if worker is None:
            return None
        self.dataset = dataset
        self.subset = subset
        self.head = head
        self.results_label.setText(f"Results{self._of_head()}: evaluating on the {subset} subset…")
        self.worker = worker
        worker.result.connect(self.show_evaluation)
        worker.error.connect(lambda m, d: self.results_label.setText(f"Results: evaluation failed: {m}"))
        return worker

    def _of_head(self) -> str:
        return f" of the “{self.head}” head" if self.head else ""

    def show_no_labels_head(self, heads: list[str]) -> None:
        """Say why there is no confusion matrix: none of the model's heads learns labels."""
        self.clear()
        self.results_label.setText(
            f"Results: none of this model's heads ({', '.join(heads)}) learns class labels, so there is no accuracy "
            "or confusion matrix to show; the charts show each head's loss and metrics."
        )

    def is_evaluating(self) -> bool:
        """True while an evaluation worker runs."""
        return self.worker is not None and self.worker.is_running()

    def show_evaluation(self, res: Any) -> None:
        """Draw an EvaluationResult of :attr:`subset` of :attr:`dataset`, then emit :attr:`evaluated`."""
        self.evaluation = res
        subset = self.subset
        loss = f" · loss {res.loss:.3f}" if math.isfinite(res.loss) else ""
        if getattr(res, "per_pixel", False):  # a segmentation: the matrix counts pixels
            images = len(self.dataset.subset_indices(subset)) if self.dataset is not None else 0
            self.results_label.setText(
                f"Results{self._of_head()} on the {subset} subset ({images} images, {int(res.confusion.sum()):,} "
                f"pixels): pixel accuracy {100 * res.accuracy:.1f}% · mean IoU {res.mean_iou:.3f} "
                "(the matrix counts pixels)"
            )
        else:
            self.results_label.setText(
                f"Results{self._of_head()} on the {subset} subset ({res.y_true.size} images): accuracy "
                f"{100 * res.accuracy:.1f}%{loss} · {res.misclassified.size} misclassified"
            )
        self.confusion_view.set_matrix(res.confusion, res.class_names)
        self.class_table.setRowCount(len(res.class_names))
        for i, name in enumerate(res.class_names):
            vals = [name, fmt_value(res.precision[i]), fmt_value(res.recall[i]), fmt_value(res.f1[i]),
                    str(int(res.support[i]))]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.class_table.setItem(i, c, item)
        self.fill_gallery(None)
        self.evaluated.emit(res)

    def show_kept(self, label: str, ev: dict) -> None:
        """Draw the evaluation summary stored with kept run ``label`` (no gallery: that needs the data set)."""
        cm = np.asarray(ev.get("confusion") or [], dtype=np.int64)
        if cm.ndim == 2 and cm.size:
            self.confusion_view.set_matrix(cm, ev.get("class_names") or [])
        acc = ev.get("accuracy")
        head = f" (its “{ev['head']}” head)" if ev.get("head") else ""
        self.results_label.setText(
            f"Results of “{label}”{head} on its {ev.get('subset', 'test')} subset: accuracy "
            f"{fmt_value(acc if acc is not None else math.nan, pct=True)} (kept run; the gallery needs the data set)"
        )
        names = ev.get("class_names") or []
        self.class_table.setRowCount(len(names))
        for i, name in enumerate(names):
            vals = [name] + [fmt_value(ev[k][i] if ev.get(k) and ev[k][i] is not None else math.nan)
                             for k in ("precision", "recall", "f1")] + [str((ev.get("support") or [0] * len(names))[i])]
            for c, v in enumerate(vals):
                self.class_table.setItem(i, c, QTableWidgetItem(v))

    # --- gallery --------------------------------------------------------------------------
    def fill_gallery(self, cell: tuple[int, int] | None) -> None:
        """Show the misclassified examples, all of them or those of one (true, predicted) cell."""
        res, ds = self.evaluation, self.dataset
        self.gallery.clear()
        if res is None or ds is None:
            return
        idx_all = res.misclassified
        pos = {int(i): k for k, i in enumerate(ds.subset_indices(self.subset))}
        shown = 0
        for i in idx_all:
            k = pos.get(int(i))
            if k is None:
                continue
            t, p = int(res.y_true[k]), int(res.y_pred[k])
            if cell is not None and (t, p) != cell:
                continue
            try:
                thumb = ds.thumbnail(int(i), 64)
            except Exception:  # noqa: BLE001 - a broken image must not stop the gallery
                continue
            text = f"{res.class_names[t]}\n→ {res.class_names[p]} {100 * res.confidence[k]:.0f}%"
            item = QListWidgetItem(QIcon(array_to_pixmap(thumb, 56)), text)
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            item.setToolTip(f"#{int(i)}: true {res.class_names[t]}, predicted {res.class_names[p]} "
                            f"with {100 * res.confidence[k]:.1f}% confidence. Click to open it in Inspect.")
            self.gallery.addItem(item)
            shown += 1
            if shown >= GALLERY_MAX:
                break
        what = "all classes" if cell is None else f"true {res.class_names[cell[0]]}, predicted {res.class_names[cell[1]]}"
        self.gallery_label.setText(f"Misclassified ({shown}, {what}); click one to inspect it")

    def open_item(self, item: QListWidgetItem) -> None:
        """Emit :attr:`example_chosen` for a gallery item."""
        i = item.data(Qt.ItemDataRole.UserRole)
        ds = self.dataset
        if i is None or ds is None:
            return
        res = self.evaluation
        k = {int(j): n for n, j in enumerate(ds.subset_indices(self.subset))}[int(i)]
        label = (f"{ds.name} #{int(i)}: {res.class_names[int(res.y_true[k])]} "
                 f"(predicted {res.class_names[int(res.y_pred[k])]})")
        self.example_chosen.emit(ds.image(int(i)), label)

    def _on_cell_clicked(self, true: int, pred: int) -> None:
        self.fill_gallery(None if true == pred else (true, pred))
