"""The Step-through box: play, step and stop buttons, speed, zoom; it keeps which output pixel is shown."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from .fields import hint_label

#: What a click on an output view shows, for each operation.
HINTS = {
    "conv": "Click a feature-map pixel to see the window that made it.",
    "transposed": "Click an output pixel to see its window on the zero-inserted grid and the input pixels it reads.",
    "upsample": "Click a pixel of either result to see the input pixels it is made of.",
}


class StepThrough(QGroupBox):
    """The Step-through box and its position: output pixel :attr:`index` (row-major) while :attr:`active`."""

    #: Move the window by this many output pixels (buttons and the play timer).
    step_requested = Signal(int)
    #: The Stop button was pressed.
    stop_requested = Signal()
    #: Draw the current step again (zoom toggled, play started).
    redraw_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Step-through", parent)
        self.active = False
        self.index = 0
        col = QVBoxLayout(self)
        buttons = QHBoxLayout()
        self.step_play = QPushButton("▶ Play")
        self.step_play.setCheckable(True)
        self.step_back = QPushButton("◀ Step")
        self.step_next = QPushButton("Step ▶")
        self.step_stop = QPushButton("■ Stop")
        for b in (self.step_play, self.step_back, self.step_next, self.step_stop):
            buttons.addWidget(b)
        col.addLayout(buttons)
        row = QHBoxLayout()
        row.addWidget(QLabel("Speed"))
        self.step_speed = QSlider(Qt.Orientation.Horizontal)
        self.step_speed.setRange(1, 60)
        self.step_speed.setValue(8)
        self.step_speed.setToolTip("window positions per second")
        row.addWidget(self.step_speed, 1)
        self.step_zoom = QCheckBox("zoom in")
        self.step_zoom.setToolTip("zoom the input view onto the window so its values show")
        self.step_zoom.setChecked(True)
        row.addWidget(self.step_zoom)
        col.addLayout(row)
        self.hint = hint_label(HINTS["conv"])
        col.addWidget(self.hint)
        self.timer = QTimer(self)

        self.timer.timeout.connect(lambda: self.step_requested.emit(1))
        self.step_play.toggled.connect(self._on_play_toggled)
        self.step_next.clicked.connect(lambda: self.step_requested.emit(1))
        self.step_back.clicked.connect(lambda: self.step_requested.emit(-1))
        self.step_stop.clicked.connect(lambda: self.stop_requested.emit())
        self.step_speed.valueChanged.connect(self._on_speed)
        self.step_zoom.toggled.connect(lambda _on: self.redraw_requested.emit())

    def advance(self, delta: int, total: int) -> None:
        """Move by ``delta`` of ``total`` output pixels (wraps); the first step of a new walk shows pixel 0."""
        if not self.active:
            self.active = True
            delta = 0 if delta > 0 and self.index == 0 else delta
        self.index = (self.index + delta) % total

    def go_to(self, index: int) -> None:
        """Show output pixel ``index`` (row-major)."""
        self.active = True
        self.index = index

    def clamp(self, total: int) -> None:
        """Keep the position inside a feature map of ``total`` pixels (after the map shrank)."""
        self.index = min(self.index, total - 1)

    def position(self, width: int) -> tuple[int, int] | None:
        """(row, col) of the pixel shown in a map ``width`` pixels wide, or None when the step-through is off."""
        return divmod(self.index, width) if self.active else None

    def stop(self) -> None:
        """Stop playing and go back to the start, inactive."""
        self.step_play.setChecked(False)
        self.active = False
        self.index = 0

    def _on_play_toggled(self, on: bool) -> None:
        self.step_play.setText("❚❚ Pause" if on else "▶ Play")
        if on:
            if not self.active:
                self.active = True
                self.redraw_requested.emit()
            self.timer.start(int(1000 / self.step_speed.value()))
        else:
            self.timer.stop()

    def _on_speed(self, value: int) -> None:
        if self.timer.isActive():
            self.timer.start(int(1000 / value))
