"""The "Timeline" tab: pick a run (or open a timeline file) and replay its learning timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from convexplorer.ui.widgets.timeline_view import TimelineView


class TimelineTab(QWidget):
    """The runs with a recorded timeline, an Open button, and the :class:`TimelineView` that replays one."""

    #: Something to tell the user (a folder without a timeline).
    message = Signal(str)
    #: A timeline was put into the view.
    shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline_runs: list[Any] = []  # core.runs.RunInfo per combo entry; None for a timeline given directly
        self.timeline_run_combo = QComboBox()
        self.timeline_run_combo.setMinimumWidth(300)
        self.open_timeline_button = QPushButton("Open timeline…")
        self.open_timeline_button.setToolTip("Open a run folder's timeline.npz")
        self.timeline_view = TimelineView()
        lay = QVBoxLayout(self)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Run"))
        pick.addWidget(self.timeline_run_combo, 1)
        pick.addWidget(self.open_timeline_button)
        lay.addLayout(pick)
        lay.addWidget(self.timeline_view, 1)
        self.timeline_run_combo.activated.connect(self._on_timeline_run)
        self.open_timeline_button.clicked.connect(self._on_open_timeline)

    def set_runs(self, runs: Sequence[Any]) -> None:
        """Offer those of ``runs`` that recorded a timeline."""
        from convexplorer.core.timeline import TIMELINE_FILE

        self.timeline_runs = [r for r in runs if (r.path / TIMELINE_FILE).is_file()]
        self.timeline_run_combo.clear()
        for r in self.timeline_runs:
            self.timeline_run_combo.addItem(r.title)
        if not self.timeline_runs:
            self.timeline_run_combo.addItem("no run with a recorded timeline yet")

    def open_timeline(self, path: Path | str) -> bool:
        """Show the timeline saved in a run folder (or a timeline.npz file)."""
        from convexplorer.core.errors import ConvExplorerError
        from convexplorer.core.timeline import Timeline

        try:
            tl = Timeline.load(path)
        except ConvExplorerError as exc:
            self.message.emit(str(exc))
            return False
        self.show_timeline(tl)
        return True

    def show_timeline(self, timeline: Any, live: bool = False, label: str = "") -> None:
        """Replay ``timeline`` (``live`` while it is still being recorded); ``label`` names it first in the list."""
        if label:
            self.timeline_run_combo.blockSignals(True)
            if self.timeline_run_combo.count() and not self.timeline_runs:
                self.timeline_run_combo.clear()  # drop the "no run ..." placeholder
            self.timeline_run_combo.insertItem(0, label)
            self.timeline_run_combo.setCurrentIndex(0)
            self.timeline_runs = [None, *self.timeline_runs]
            self.timeline_run_combo.blockSignals(False)
        self.timeline_view.set_timeline(timeline, live=live)
        self.shown.emit()

    def shutdown(self) -> None:
        """Stop the timeline's timers."""
        self.timeline_view.shutdown()

    def _on_timeline_run(self, i: int) -> None:
        if 0 <= i < len(self.timeline_runs) and self.timeline_runs[i] is not None:
            self.open_timeline(self.timeline_runs[i].path)

    def _on_open_timeline(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a timeline", "", "Timeline (timeline.npz *.npz)")
        if path:
            self.open_timeline(path)
