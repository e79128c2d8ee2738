"""The Builder's screenshots: the graph editor on the MNIST convnet, graph presets, invalid designs, transfer learning."""

from __future__ import annotations

from typing import Callable

from convexplorer.ui.panels.builder import SCREENSHOT_PRESET, BuilderPanel


def prepare(panel: BuilderPanel) -> None:
    """The MNIST convnet preset as in the textbook (28x28x1, 10 classes) on the graph, first conv selected."""
    panel.follow_dataset_check.setChecked(False)
    panel.load_preset(SCREENSHOT_PRESET)
    panel.layer_list.setCurrentRow(0)


def _graph(panel: BuilderPanel, name: str) -> None:
    panel.follow_dataset_check.setChecked(False)
    panel.load_preset(name)
    panel.layer_list.setCurrentRow(1)


def variants(panel: BuilderPanel) -> list[tuple[str, Callable[[], None]]]:
    """Graph presets (SE-ResNet, inception, ResNet-34), a red Add on a graph, an invalid row, transfer on VGG16."""
    return [("graph", lambda: _graph(panel, "Small SE-ResNet")),
            ("inception", lambda: _graph(panel, "Small inception net")),
            ("resnet34", lambda: _graph(panel, "ResNet-34")),
            ("graph-invalid", panel.show_invalid_graph_example),
            ("invalid", panel.show_invalid_example),
            ("transfer", lambda: panel.load_preset("VGG16 transfer: fine-tune block 5"))]
