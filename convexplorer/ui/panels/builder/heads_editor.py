"""The model's outputs (heads): one line each, and a small form for the chosen head's loss, weight, target, metrics."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.layer_kinds import LOSSES, METRICS
from convexplorer.core.spec import HEAD_TARGETS, ModelSpec
from convexplorer.ui.panels.builder.editors import compact_combo
from convexplorer.ui.style import set_role


class HeadsEditor(QGroupBox):
    """Lists the heads of a design; reports edits by signals and never changes the design itself."""

    #: A field of a head was edited: (head index, field name, new value).
    head_edited = Signal(int, str, object)
    #: Make the selected layer a head.
    add_requested = Signal()
    #: Stop using this head (its index) as an output.
    remove_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Outputs (heads)", parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 4)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        set_role(self.hint, "hint")
        v.addWidget(self.hint)
        self.head_list = QListWidget()
        self.head_list.setMaximumHeight(74)
        v.addWidget(self.head_list)
        self.form_box = QWidget()
        form = QFormLayout(self.form_box)
        form.setContentsMargins(0, 0, 0, 0)
        self.name_edit = QLineEdit()
        self.loss_combo = compact_combo(QComboBox())
        self.loss_combo.addItems(list(LOSSES))
        self.weight_spin = QDoubleSpinBox()
        self.weight_spin.setRange(0.0, 1000.0)
        self.weight_spin.setDecimals(3)
        self.weight_spin.setSingleStep(0.1)
        self.target_combo = compact_combo(QComboBox())
        self.target_combo.addItems(list(HEAD_TARGETS))
        self.target_combo.setToolTip("What the head learns from the data set: class labels, boxes or masks")
        self.metrics_edit = QLineEdit()
        self.metrics_edit.setToolTip("Metric names, separated by commas: " + ", ".join(METRICS))
        form.addRow("Name", self.name_edit)
        form.addRow("Loss", self.loss_combo)
        form.addRow("Loss weight", self.weight_spin)
        form.addRow("Target", self.target_combo)
        form.addRow("Metrics", self.metrics_edit)
        v.addWidget(self.form_box)
        row = QHBoxLayout()
        self.add_button = QToolButton()
        self.add_button.setText("Make selected a head")
        self.add_button.setToolTip("The selected layer becomes another output of the model, with its own loss")
        self.remove_button = QToolButton()
        self.remove_button.setText("Remove head")
        self.remove_button.setToolTip("The chosen head is no longer an output (a model keeps at least one)")
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        v.addLayout(row)
        self._filling = False
        self._heads: list[Any] = []
        self.head_list.currentRowChanged.connect(self._show_form)
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self.head_list.currentRow()))
        self.name_edit.editingFinished.connect(lambda: self._emit("name", self.name_edit.text().strip()))
        self.loss_combo.currentTextChanged.connect(lambda t: self._emit("loss", t))
        self.weight_spin.valueChanged.connect(lambda x: self._emit("loss_weight", float(x)))
        self.target_combo.currentTextChanged.connect(lambda t: self._emit("target", t))
        self.metrics_edit.editingFinished.connect(
            lambda: self._emit("metrics", [m.strip() for m in self.metrics_edit.text().split(",") if m.strip()]))

    def show_heads(self, spec: ModelSpec, editable: bool = True) -> None:
        """Show the heads of ``spec`` (the implied one of a single-output design as a hint)."""
        self._filling = True
        try:
            row = max(self.head_list.currentRow(), 0)
            self._heads = list(spec.heads)
            names = dict(zip((layer.id for layer in spec.layers), spec.layer_names()))
            self.head_list.clear()
            for h in self._heads:
                self.head_list.addItem(f"{h.name} ← {names.get(h.node, h.node)} · {h.target} · "
                                       f"{h.loss} ×{h.loss_weight:g}")
            several = len(self._heads) > 1
            self.head_list.setVisible(several)
            self.form_box.setVisible(several)
            if several:
                self.hint.setText("Each output has its own loss; Keras adds them, each times its weight.")
            else:
                self.hint.setText("One output: the last layer, trained with the compile settings' loss. "
                                  "Select another layer and make it a head for a model with several outputs.")
            self.add_button.setEnabled(editable)
            self.remove_button.setEnabled(editable and several)
            self.form_box.setEnabled(editable)
            if self._heads:
                self.head_list.setCurrentRow(min(row, len(self._heads) - 1))
        finally:
            self._filling = False
        self._show_form(self.head_list.currentRow())

    def _show_form(self, row: int) -> None:
        if not 0 <= row < len(self._heads):
            return
        h = self._heads[row]
        was, self._filling = self._filling, True
        try:
            self.name_edit.setText(h.name)
            self.loss_combo.setCurrentText(h.loss)
            self.weight_spin.setValue(float(h.loss_weight))
            self.target_combo.setCurrentText(h.target)
            self.metrics_edit.setText(", ".join(h.metrics))
        finally:
            self._filling = was

    def _emit(self, field: str, value: Any) -> None:
        row = self.head_list.currentRow()
        if self._filling or not 0 <= row < len(self._heads):
            return
        if getattr(self._heads[row], field) != value:
            self.head_edited.emit(row, field, value)
