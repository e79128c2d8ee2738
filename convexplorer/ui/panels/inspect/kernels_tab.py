"""The "First-layer kernels" tab: the weights of the first convolution, one tile a kernel."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QWidget

from convexplorer.ui.widgets.feature_grid import FeatureGrid


class KernelGrid(FeatureGrid):
    """The first convolution's kernels: colour tiles for RGB inputs, else input channel 0."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("CET-D1", parent)

    def show_kernels(self, kernels: tuple[str, np.ndarray] | None) -> None:
        """Draw (layer name, kh x kw x cin x cout weights), or say there is no convolution."""
        if kernels is None:
            self.set_maps(None, caption="This model has no convolution layer.")
            return
        name, k = kernels
        kh, kw, cin, cout = k.shape
        if cin == 3:
            self.set_maps(np.moveaxis(k, -1, 0), rgb=True,
                          caption=f"{name}: {cout} kernels {kh}x{kw}x3 shown as colour (weights scaled per kernel)")
        else:
            self.set_maps(k[:, :, 0, :], caption=f"{name}: {cout} kernels {kh}x{kw} (input channel 0 of {cin})")
