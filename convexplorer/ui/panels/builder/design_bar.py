"""The top bar: preset chooser, New/Open/Save/Export buttons, a busy indicator and the message line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMenu, QProgressBar, QPushButton, QVBoxLayout, QWidget

from convexplorer.core.presets import PRESETS
from convexplorer.ui.style import set_role


class DesignBar(QWidget):
    """Design-level controls above the columns, and the line where the Builder says what happened."""

    #: A preset was picked from the combo box (its name); the box then goes back to its prompt.
    preset_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)  # the panel's own spacing: bar and message line sit as its other rows do
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Preset:"))
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("Choose a textbook model…", None)
        for name in PRESETS:
            self.preset_combo.addItem(name, name)
        self.preset_combo.setMinimumContentsLength(28)
        self.preset_combo.setToolTip("Load a classic model (replaces the current design)")
        bar.addWidget(self.preset_combo)
        self.new_button = self._button(bar, "New", "Start an empty design")
        self.open_button = self._button(bar, "Open…", "Open a .json design, a Keras JSON file or a .keras/.h5 model")
        self.save_button = self._button(bar, "Save design…", "Save the design as JSON")
        self.export_button = self._button(bar, "Export ▸", "Export the model: .keras, Keras JSON or a Python script")
        menu = QMenu(self.export_button)
        self.export_keras_action = menu.addAction("Keras model (.keras)…")
        self.export_keras_action.setToolTip("Build the model with Keras and save it as a .keras file")
        self.export_json_action = menu.addAction("Keras JSON (model.to_json())…")
        self.export_json_action.setToolTip("The architecture as Keras JSON, without weights (Open reads it back)")
        self.export_script_action = menu.addAction("Python script…")
        self.export_script_action.setToolTip("Write a Python script that rebuilds and trains this model")
        self.export_button.setMenu(menu)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setVisible(False)
        bar.addWidget(self.busy_bar)
        bar.addStretch(1)
        outer.addLayout(bar)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.message_label)
        self.preset_combo.activated.connect(self._on_preset_activated)

    @staticmethod
    def _button(bar: QHBoxLayout, text: str, tip: str) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        bar.addWidget(b)
        return b

    def _on_preset_activated(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        if name:
            self.preset_chosen.emit(name)
        self.preset_combo.setCurrentIndex(0)

    def set_busy(self, on: bool) -> None:
        """Show the busy indicator and disable what would start more work (or the reverse)."""
        self.busy_bar.setVisible(on)
        for b in (self.export_button, self.open_button):
            b.setEnabled(not on)

    def show_info(self, text: str) -> None:
        """Say ``text`` on the message line."""
        set_role(self.message_label, "")
        self.message_label.setText(text)

    def show_error(self, text: str) -> None:
        """Say ``text`` on the message line, in red, as an error."""
        set_role(self.message_label, "error")
        self.message_label.setText("✖ " + text)
