"""``python -m convexplorer.ui.panels.data``: the Data panel alone, for development."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from convexplorer.ui.panels.base import preview
from convexplorer.ui.panels.data.panel import DataPanel
from convexplorer.ui.state import AppState


class _StandaloneDataPanel(DataPanel):
    """The panel run alone: it starts the TensorFlow import itself (the main window does otherwise)."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        from convexplorer.ui.tfloader import load_tensorflow_async

        worker = load_tensorflow_async(state)
        if worker is not None:
            self.track(worker)


if __name__ == "__main__":
    raise SystemExit(preview(_StandaloneDataPanel))
