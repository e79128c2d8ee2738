"""The "Training" settings form: epochs, batch size, validation, callbacks, checkpoints, evaluation."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from convexplorer.core.training import TrainingSettings

#: Checkpoint combo rows, in order, as TrainingSettings spells them.
CHECKPOINTS = ("best", "every_epoch", "none")


class SettingsForm(QGroupBox):
    """The settings a new run trains with; remembered between sessions (QSettings)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        form = QFormLayout(self)
        form.setContentsMargins(6, 2, 6, 2)
        form.setVerticalSpacing(3)

        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10000)
        self.epochs_spin.setValue(10)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 4096)
        self.batch_spin.setValue(32)
        row = QHBoxLayout()
        row.addWidget(self.epochs_spin, 1)
        row.addSpacing(6)
        row.addWidget(QLabel("Batch size"))
        row.addWidget(self.batch_spin, 1)
        form.addRow("Epochs", row)

        self.validation_combo = QComboBox()
        self.validation_combo.addItems(["validation subset", "none"])
        self.validation_combo.setToolTip("Validation data: the data set's validation subset (set its size in the Data panel)")
        form.addRow("Validation", self.validation_combo)

        self.early_check = QCheckBox("Early stopping")
        self.early_check.setToolTip("Stop when the validation loss has not improved for this many epochs (keeps the best weights)")
        self.early_patience = QSpinBox()
        self.early_patience.setRange(0, 1000)
        self.early_patience.setValue(3)
        self.early_patience.setPrefix("patience ")
        self.early_patience.setSuffix(" ep")
        form.addRow(self.early_check, self.early_patience)

        self.reduce_check = QCheckBox("Reduce LR")
        self.reduce_check.setToolTip("Multiply the learning rate by the factor when the validation loss stalls for this many epochs")
        self.reduce_patience = QSpinBox()
        self.reduce_patience.setRange(0, 1000)
        self.reduce_patience.setValue(2)
        self.reduce_patience.setPrefix("after ")
        self.reduce_patience.setSuffix(" ep")
        self.reduce_factor = QDoubleSpinBox()
        self.reduce_factor.setRange(0.01, 0.99)
        self.reduce_factor.setSingleStep(0.1)
        self.reduce_factor.setValue(0.5)
        self.reduce_factor.setPrefix("× ")
        row = QHBoxLayout()
        row.addWidget(self.reduce_patience, 1)
        row.addWidget(self.reduce_factor, 1)
        form.addRow(self.reduce_check, row)

        self.checkpoint_combo = QComboBox()
        self.checkpoint_combo.addItems(["best epoch", "every epoch", "none"])
        self.checkpoint_combo.setToolTip("Model checkpoints kept in the run folder")
        form.addRow("Checkpoint", self.checkpoint_combo)

        self.evaluate_check = QCheckBox("Evaluate on the test subset when training ends")
        self.evaluate_check.setChecked(True)
        form.addRow(self.evaluate_check)

    def settings(self) -> TrainingSettings:
        """The settings shown in the form."""
        return TrainingSettings(
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            early_stopping=self.early_check.isChecked(),
            early_stopping_patience=self.early_patience.value(),
            reduce_lr=self.reduce_check.isChecked(),
            reduce_lr_patience=self.reduce_patience.value(),
            reduce_lr_factor=self.reduce_factor.value(),
            checkpoint=CHECKPOINTS[self.checkpoint_combo.currentIndex()],
        )

    def set_busy(self, busy: bool) -> None:
        """Lock the fields that a running training uses (everything but the evaluation choice)."""
        for w in (self.epochs_spin, self.batch_spin, self.validation_combo, self.early_check, self.early_patience,
                  self.reduce_check, self.reduce_patience, self.reduce_factor, self.checkpoint_combo):
            w.setEnabled(not busy)

    def load(self) -> None:
        """Restore the remembered epochs, batch size and callbacks."""
        s = QSettings()
        self.epochs_spin.setValue(int(s.value("training/epochs", self.epochs_spin.value())))
        self.batch_spin.setValue(int(s.value("training/batch_size", self.batch_spin.value())))
        self.early_check.setChecked(str(s.value("training/early_stopping", "false")).lower() == "true")
        self.reduce_check.setChecked(str(s.value("training/reduce_lr", "false")).lower() == "true")

    def save(self) -> None:
        """Remember the epochs, batch size and callbacks for the next session."""
        s = QSettings()
        s.setValue("training/epochs", self.epochs_spin.value())
        s.setValue("training/batch_size", self.batch_spin.value())
        s.setValue("training/early_stopping", self.early_check.isChecked())
        s.setValue("training/reduce_lr", self.reduce_check.isChecked())
