"""Side-by-side predictions: each model's Grad-CAM and top-k, and the feature maps of matched layers between them."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from convexplorer.ui.widgets.feature_grid import FeatureGrid
from convexplorer.ui.widgets.overlay_view import OverlayView
from convexplorer.ui.widgets.topk_chart import TopKChart


def same_prediction(cmp: Any) -> bool:
    """Whether both models of an ImageComparison predict the same class (by label when both have labels)."""
    ta, tb = cmp.a.topk[0], cmp.b.topk[0]
    if ta[1] is not None and tb[1] is not None:
        return ta[1] == tb[1]
    return cmp.same_top_class


def class_text(view: Any, cls: int) -> str:
    """The label of class ``cls`` among a model view's top-k, else "class N"."""
    for i, label, _p in view.topk:
        if i == cls and label:
            return label
    return f"class {cls}"


class ModelColumn(QWidget):
    """One side of the image comparison: name, Grad-CAM overlay, top-k bars."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.cam_view = OverlayView(title)
        self.cam_view.setMinimumSize(200, 200)
        self.topk_chart = TopKChart()
        self.topk_chart.clear("Pick two models and an image, then press Compare.")
        lay.addWidget(self.cam_view, 1)
        lay.addWidget(self.topk_chart)

    def show_view(self, view: Any) -> None:
        """Draw one model's side of an ImageComparison: its image with the Grad-CAM, its top-k."""
        self.cam_view.set_base(view.image[..., :3] if view.image.shape[-1] >= 3 else view.image)
        self.cam_view.set_heat(view.cam)
        self.cam_view.set_title(view.name)
        self.cam_view.set_subtitle(f"Grad-CAM for {class_text(view, view.cam_class)} · {view.cam_layer}")
        self.topk_chart.set_predictions(view.topk)
        self.topk_chart.set_highlight(view.cam_class)


class MatchedMaps(QWidget):
    """The feature maps of A and B for one pair of comparable layers, the pair chosen in a list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: Any = None
        self.pair_combo = QComboBox()
        self.pair_combo.setToolTip("Layers of A and B at the same relative depth (first with first, last with last)")
        self.maps_a_grid = FeatureGrid()
        self.maps_b_grid = FeatureGrid()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Comparable layers"))
        pick.addWidget(self.pair_combo, 1)
        lay.addLayout(pick)
        grids = QHBoxLayout()
        grids.addWidget(self.maps_a_grid)
        grids.addWidget(self.maps_b_grid)
        lay.addLayout(grids, 1)
        self.pair_combo.currentIndexChanged.connect(self.show_pair)

    def set_comparison(self, cmp: Any) -> None:
        """List the comparison's layer pairs and show the first."""
        self.comparison = cmp
        self.pair_combo.blockSignals(True)
        self.pair_combo.clear()
        for la, lb in cmp.pairs:
            self.pair_combo.addItem(f"{la}  ↔  {lb}")
        self.pair_combo.blockSignals(False)
        self.pair_combo.setCurrentIndex(0 if cmp.pairs else -1)
        self.show_pair(self.pair_combo.currentIndex())

    def show_pair(self, i: int) -> None:
        """Show the maps of layer pair ``i`` (an index out of range clears both grids)."""
        cmp = self.comparison
        if cmp is None or not 0 <= i < len(cmp.pairs):
            self.maps_a_grid.set_maps(None, caption="")
            self.maps_b_grid.set_maps(None, caption="")
            return
        for grid, view in ((self.maps_a_grid, cmp.a), (self.maps_b_grid, cmp.b)):
            name, maps = view.maps[i]
            grid.set_maps(maps, caption=f"{view.name}: {name} · {maps.shape[0]}x{maps.shape[1]}, {maps.shape[-1]} channels shown")


class SideBySideView(QSplitter):
    """Model A's column, the matched feature maps, model B's column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.column_a = ModelColumn("A")
        self.maps = MatchedMaps()
        self.column_b = ModelColumn("B")
        self.addWidget(self.column_a)
        self.addWidget(self.maps)
        self.addWidget(self.column_b)
        self.setSizes([300, 620, 300])

    @property
    def comparison(self) -> Any:
        """The ImageComparison shown (None before the first)."""
        return self.maps.comparison

    def show_comparison(self, cmp: Any) -> None:
        """Draw an ImageComparison: overlays, bars, matched layers."""
        self.column_a.show_view(cmp.a)
        self.column_b.show_view(cmp.b)
        self.maps.set_comparison(cmp)
