"""Compile settings: optimizer, learning rate, momentum, label type (hence the loss) and metrics."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QLabel, QWidget

from convexplorer.core.spec import LOSS_FOR_LABELS, OPTIMIZERS, CompileSpec
from convexplorer.ui.panels.builder.editors import compact_combo
from convexplorer.ui.style import set_role

LABEL_TYPES = {
    "integer": "Integer labels (sparse categorical)",
    "one-hot": "One-hot labels (categorical)",
    "binary": "Two classes, one sigmoid output (binary)",
}
METRIC_BOXES = (("accuracy", "Accuracy"), ("top5", "Top-5 accuracy"), ("auc", "AUC"), ("precision", "Precision"),
                ("recall", "Recall"))
#: The Keras metric names a metric box stands for (top-5: sparse or one-hot labels).
TOP5_METRICS = ("top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy")


class CompileSettings(QGroupBox):
    """The "Compile settings" box; reads into and shows a design's compile settings."""

    #: The user changed a setting.
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Compile settings", parent)
        c = QFormLayout(self)
        self.optimizer_combo = compact_combo(QComboBox())
        self.optimizer_combo.addItems(list(OPTIMIZERS))
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(0.000001, 10.0)
        self.lr_spin.setSingleStep(0.0001)
        self.momentum_spin = QDoubleSpinBox()
        self.momentum_spin.setDecimals(3)
        self.momentum_spin.setRange(0.0, 0.999)
        self.momentum_spin.setSingleStep(0.05)
        self.momentum_spin.setToolTip("SGD momentum (other optimizers ignore it)")
        self.labels_combo = compact_combo(QComboBox())
        for key, text in LABEL_TYPES.items():
            self.labels_combo.addItem(text, key)
        self.loss_label = QLabel("")
        set_role(self.loss_label, "hint")
        metrics_row = QGridLayout()
        self.metric_checks: dict[str, QCheckBox] = {}
        for i, (key, text) in enumerate(METRIC_BOXES):
            box = QCheckBox(text)
            self.metric_checks[key] = box
            metrics_row.addWidget(box, i // 2, i % 2)
        c.addRow("Optimizer", self.optimizer_combo)
        c.addRow("Learning rate", self.lr_spin)
        c.addRow("Momentum", self.momentum_spin)
        c.addRow("Labels", self.labels_combo)
        c.addRow("Loss", self.loss_label)
        c.addRow("Metrics", metrics_row)
        self.optimizer_combo.currentTextChanged.connect(self.edited)
        self.lr_spin.valueChanged.connect(self.edited)
        self.momentum_spin.valueChanged.connect(self.edited)
        self.labels_combo.currentIndexChanged.connect(self.edited)
        for box in self.metric_checks.values():
            box.toggled.connect(self.edited)

    def show_settings(self, comp: CompileSpec) -> None:
        """Show a design's compile settings."""
        self.optimizer_combo.setCurrentText(comp.optimizer)
        self.lr_spin.setValue(comp.learning_rate)
        self.momentum_spin.setValue(comp.momentum)
        label = next((k for k, v in LOSS_FOR_LABELS.items() if v == comp.loss), "integer")
        self.labels_combo.setCurrentIndex(self.labels_combo.findData(label))
        for key, box in self.metric_checks.items():
            names = TOP5_METRICS if key == "top5" else (key,)
            box.setChecked(any(n in comp.metrics for n in names))

    def read_into(self, comp: CompileSpec) -> None:
        """Write the settings shown into ``comp`` (the loss follows the label type)."""
        comp.optimizer = self.optimizer_combo.currentText()
        comp.learning_rate = float(self.lr_spin.value())
        comp.momentum = float(self.momentum_spin.value())
        comp.loss = LOSS_FOR_LABELS[self.labels_combo.currentData()]
        metrics = []
        for key, box in self.metric_checks.items():
            if box.isChecked():
                if key == "top5":
                    sparse = comp.loss == "sparse_categorical_crossentropy"
                    key = TOP5_METRICS[1] if sparse else TOP5_METRICS[0]
                metrics.append(key)
        comp.metrics = metrics

    def refresh(self, loss: str) -> None:
        """Enable momentum for SGD only and show the loss in use."""
        self.momentum_spin.setEnabled(self.optimizer_combo.currentText() == "sgd")
        self.loss_label.setText(loss)
