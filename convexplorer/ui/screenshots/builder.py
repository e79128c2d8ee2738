"""The Builder's screenshots: the MNIST convnet as in the textbook, then an invalid row and transfer learning."""

from __future__ import annotations

from typing import Callable

from convexplorer.ui.panels.builder import SCREENSHOT_PRESET, BuilderPanel


def prepare(panel: BuilderPanel) -> None:
    """The MNIST convnet preset as in the textbook (28x28x1, 10 classes), first conv selected."""
    panel.follow_dataset_check.setChecked(False)
    panel.load_preset(SCREENSHOT_PRESET)
    panel.layer_list.setCurrentRow(0)


def variants(panel: BuilderPanel) -> list[tuple[str, Callable[[], None]]]:
    """An invalid row, and transfer learning on VGG16."""
    return [("invalid", panel.show_invalid_example),
            ("transfer", lambda: panel.load_preset("VGG16 transfer: fine-tune block 5"))]
