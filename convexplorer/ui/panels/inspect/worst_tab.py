"""The "Worst IoU" tab: the images of a subset on which the model's boxes or masks overlap the truth least,
worst first; a click opens one in Inspect (as the misclassified gallery and the dataset examples do)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from convexplorer.ui.panels.inspect.examples_grid import ExamplesGrid, ExampleTile
from convexplorer.ui.panels.inspect.job_bar import JobBar
from convexplorer.ui.panels.inspect.task_jobs import WORST_K


class WorstTab(QWidget):
    """Subset and count, a Find / Cancel bar with progress, and the gallery of the worst images with their IoU."""

    #: Find the worst images (the panel starts the worker).
    compute_requested = Signal()
    #: A tile was clicked: its position in the result's tiles.
    image_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The last result (``task_jobs.worst_gallery``).
        self.result: dict | None = None
        self.subset_combo = QComboBox()
        for text, key in (("Validation", "validation"), ("Test", "test"), ("Train", "train")):
            self.subset_combo.addItem(text, key)
        self.k_spin = QSpinBox(minimum=1, maximum=200, value=WORST_K)
        self.k_spin.setToolTip("How many images to show")
        self.job = JobBar("Find the worst images")
        self.data_label = QLabel("")
        self.data_label.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Subset"))
        bar.addWidget(self.subset_combo)
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.k_spin)
        bar.addWidget(self.job, 1)
        self.caption = QLabel("Scores every image of the subset: box IoU (class + box models), mean IoU over the "
                              "classes (segmenters) or matched IoU (detectors: each true box matched to the best "
                              "predicted box of its class, the IoUs summed over the larger of the two counts).")
        self.caption.setWordWrap(True)
        self.grid = ExamplesGrid()
        lay = QVBoxLayout(self)
        lay.addWidget(self.data_label)
        lay.addLayout(bar)
        lay.addWidget(self.caption)
        lay.addWidget(self.grid, 1)
        self.job.compute_requested.connect(self.compute_requested.emit)
        self.grid.tile_clicked.connect(self.image_clicked.emit)

    def set_tf_ready(self, ready: bool) -> None:
        """Enable Find once TensorFlow is in."""
        self.job.set_tf_ready(ready)

    def subset(self) -> str:
        """The subset picked."""
        return self.subset_combo.currentData()

    def show_worst(self, result: dict) -> None:
        """Draw the worst images, worst first, each captioned with its index and score."""
        self.result = result
        metric = result["metric"]
        tiles = [ExampleTile(t["drawn"], None, None, f"#{t['index']} · {t['score']:.2f}",
                             f"image #{t['index']}: {metric} {t['score']:.3f} (click to inspect it)")
                 for t in result["tiles"]]
        self.grid.set_tiles(tiles, side=96)
        self.caption.setText(
            f"The {len(tiles)} lowest {metric} of the {result['count']} {result['subset']} images "
            f"(mean {result['mean']:.2f}), worst first; the prediction is drawn on each. Click one to inspect it.")

    def shown(self) -> list[int]:
        """Data-set indices of the images shown, in order."""
        return [] if self.result is None else [t["index"] for t in self.result["tiles"]]
