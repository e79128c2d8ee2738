"""The "Two models" tab: pick models A and B and an image, compare them in a worker, show them side by side."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from convexplorer.ui.panels.compare.image_row import ImageRow
from convexplorer.ui.panels.compare.jobs import JobRunner, compare_models
from convexplorer.ui.panels.compare.side_by_side import SideBySideView, same_prediction
from convexplorer.ui.panels.compare.sources import LoadedModels, ModelSourcePicker


class TwoModelsTab(QWidget):
    """The model picker, the image row and the side-by-side view; :meth:`compare` runs the comparison."""

    #: Something to tell the user; "" clears.
    message = Signal(str)
    #: A comparison was drawn.
    compared = Signal()

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.loaded = LoadedModels()
        self.picker = ModelSourcePicker()
        self.image_row = ImageRow()
        self.side_by_side = SideBySideView()
        lay = QVBoxLayout(self)
        lay.addWidget(self.picker)
        lay.addWidget(self.image_row)
        lay.addWidget(self.side_by_side, 1)
        self.image_row.message.connect(self.message)

    def compare(self, class_names: Optional[Sequence[str]]) -> bool:
        """Load models A and B (if needed) and compare them on the image, in a worker; False if something is missing."""
        image = self.image_row.image
        if image is None:
            self.message.emit("no image to compare on: open one, drop one, or use a data-set sample")
            return False
        chosen = self.picker.chosen()
        if chosen is None:
            self.message.emit("pick two models first")
            return False
        self.message.emit("")
        sa, sb = chosen

        def job(progress=None, cancel=None):
            la = self.loaded.get(sa)
            lb = self.loaded.get(sb)
            if la is None or lb is None:
                from convexplorer.core.compare import load_source

                la = la or load_source(sa, progress, cancel)
                lb = lb or load_source(sb, progress, cancel)
            return la, lb, compare_models(la, lb, image, class_names, progress, cancel)

        def done(result: Any) -> None:
            la, lb, cmp = result
            self.loaded.keep([(sa, la), (sb, lb)])
            self.show_comparison(cmp)

        self._runner.start(job, done, "comparing…")
        return True

    def show_comparison(self, cmp: Any) -> None:
        """Draw an ImageComparison: overlays, bars, matched layers, and the verdict."""
        self.side_by_side.show_comparison(cmp)
        self.image_row.set_verdict(same_prediction(cmp))
        self.compared.emit()
