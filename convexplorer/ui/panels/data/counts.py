"""Images per class: one stacked bar a class, coloured by subset."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from convexplorer.core.datasets import Dataset
from convexplorer.ui.panels.data.selection import SUBSETS

SUBSET_COLOURS: dict[str, str] = dict(zip(SUBSETS, ("#4c72b0", "#dd8452", "#55a868")))


class ClassCountsChart(pg.PlotWidget):
    """Stacked bars of the train, validation and test images of each class."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setTitle("Images per class", color="#333", size="10pt")
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setLabel("left", "images")
        self.addLegend(offset=(-10, 10), labelTextColor="#333")
        self.count_bars: dict[str, pg.BarGraphItem] = {}
        for subset, colour in SUBSET_COLOURS.items():
            item = pg.BarGraphItem(x=[], height=[], width=0.7, brush=colour, pen=pg.mkPen(colour), name=subset)
            self.addItem(item)
            self.count_bars[subset] = item
        self.setMinimumHeight(170)

    def show_counts(self, ds: Dataset) -> None:
        """Draw the class counts of ``ds``, split by subset."""
        k = len(ds.class_names)
        labels = ds.labels()
        bottom = np.zeros(k)
        x = np.arange(k, dtype=np.float64)
        for subset, item in self.count_bars.items():
            h = np.bincount(labels[ds.subset_indices(subset)], minlength=k).astype(np.float64)
            item.setOpts(x=x, height=h, y0=bottom.copy(), width=0.7)
            bottom += h
        axis = self.getAxis("bottom")
        step = max(1, k // 12)
        axis.setTicks([[(i, ds.class_names[i][:14]) for i in range(0, k, step)]])
        self.setXRange(-0.6, k - 0.4, padding=0)
        self.setYRange(0, max(1.0, float(bottom.max())) * 1.45, padding=0)  # room for the legend
