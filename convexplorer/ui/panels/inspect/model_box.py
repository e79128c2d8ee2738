"""The "Model" box: which model is inspected, a .keras file, the applications zoo and its weights."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from convexplorer.ui.style import set_role
from convexplorer.ui.workers import Worker

WEIGHT_CHOICES = ("Random weights", "ImageNet (download)", "From file…")


class ModelBox(QGroupBox):
    """Model source (trained, .keras file or pretrained network), with the progress of a load."""

    #: The user picked a .keras file to open: its path.
    open_file_requested = Signal(str)
    #: The user asked for a pretrained network: (name, weights: None, "imagenet" or a file, include_top).
    application_requested = Signal(str, object, bool)
    #: What the running load says it is doing ("" when it ends).
    busy = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        from convexplorer.core.zoo import APPLICATIONS

        super().__init__("Model", parent)
        #: The model load in progress (or the last one until it finishes).
        self.worker: Worker | None = None
        self._tf_ready = False
        self.model_label = QLabel("No model yet: train one, open a .keras file or load a pretrained network.")
        self.model_label.setWordWrap(True)
        set_role(self.model_label, "title")
        self.open_model_button = QPushButton("Open .keras…")
        self.open_model_button.setToolTip("Open a saved Keras model (in safe mode: no Python code is run)")
        self.app_combo = QComboBox()
        self.app_combo.addItems(list(APPLICATIONS))
        self.app_combo.setCurrentText("MobileNetV2")
        self.weights_combo = QComboBox()
        self.weights_combo.addItems(WEIGHT_CHOICES)
        self.include_top_check = QCheckBox("with its ImageNet classifier (1000 classes)")
        self.include_top_check.setChecked(True)
        self.load_app_button = QPushButton("Load pretrained network")
        self.model_progress = QProgressBar()
        self.model_progress.setVisible(False)
        self.model_cancel_button = QPushButton("Cancel")
        self.model_cancel_button.setVisible(False)
        self._lay_out()
        self.app_combo.currentTextChanged.connect(lambda _n: self.default_weights())
        self.include_top_check.toggled.connect(lambda _on: self.default_weights())
        self.open_model_button.clicked.connect(self._on_open_model)
        self.load_app_button.clicked.connect(self._on_load_app)
        self.model_cancel_button.clicked.connect(self.cancel)

    def _lay_out(self) -> None:
        app_form = QFormLayout()
        app_form.addRow("Pretrained", self.app_combo)
        app_form.addRow("Weights", self.weights_combo)
        prow = QHBoxLayout()
        prow.addWidget(self.model_progress, 1)
        prow.addWidget(self.model_cancel_button)
        ml = QVBoxLayout(self)
        ml.addWidget(self.model_label)
        ml.addWidget(self.open_model_button)
        ml.addLayout(app_form)
        ml.addWidget(self.include_top_check)
        ml.addWidget(self.load_app_button)
        ml.addLayout(prow)

    def set_tf_ready(self, ready: bool) -> None:
        """Enable the buttons that need TensorFlow."""
        self._tf_ready = ready
        for w in (self.open_model_button, self.load_app_button):
            w.setEnabled(ready)
        if ready:
            self.default_weights()

    def default_weights(self) -> None:
        """Weights default to ImageNet when the chosen network's ImageNet weights are on this machine
        (Keras's cache or a release's bundled weights), else to random weights ("From file…" stays)."""
        if not self._tf_ready or self.weights_combo.currentIndex() == 2:
            return
        from convexplorer.core import zoo
        from convexplorer.core.errors import ConvExplorerError

        try:
            cached = zoo.cached_weights(self.app_combo.currentText(), self.include_top_check.isChecked())
        except ConvExplorerError:
            cached = None
        self.weights_combo.setCurrentIndex(1 if cached is not None else 0)

    def show_model(self, label: str, input_shape: tuple | None) -> None:
        """Name the model being inspected and its input size (None: unknown, set by the image)."""
        if input_shape:
            desc = f"input {'x'.join('?' if v is None else str(v) for v in input_shape)}"
        else:
            desc = "input size set by the image"
        self.model_label.setText(f"{label}\n{desc}")

    # --- a load in a worker ------------------------------------------------------------------
    def begin(self) -> None:
        """A new load starts: cancel the running one, show a busy bar and the cancel button."""
        if self.worker is not None and self.worker.is_running():
            self.worker.cancel()
        self.model_progress.setRange(0, 0)
        self.model_progress.setVisible(True)
        self.model_cancel_button.setVisible(True)
        self.load_app_button.setEnabled(False)

    def watch(self, worker: Worker) -> None:
        """Show ``worker``'s progress until it finishes; the cancel button cancels it."""
        self.worker = worker
        worker.progress.connect(self._on_progress)
        worker.finished.connect(lambda w=worker: self._finished(w))

    def cancel(self) -> None:
        """Cancel the running load."""
        if self.worker is not None:
            self.worker.cancel()

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.model_progress.setRange(0, 1000)
            self.model_progress.setValue(int(1000 * done / total))
        else:
            self.model_progress.setRange(0, 0)
        self.model_progress.setFormat(message[:60] or "%p%")
        self.busy.emit(message)

    def _finished(self, worker: Worker) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        self.model_progress.setVisible(False)
        self.model_cancel_button.setVisible(False)
        self.load_app_button.setEnabled(self._tf_ready)
        self.default_weights()  # a download may have just put the weights in the cache
        self.busy.emit("")

    # --- user actions --------------------------------------------------------------------------
    def _on_open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a Keras model", "", "Keras models (*.keras *.h5)")
        if path:
            self.open_file_requested.emit(path)

    def _on_load_app(self) -> None:
        name = self.app_combo.currentText()
        choice = self.weights_combo.currentIndex()
        weights: str | None = None
        if choice == 1:
            weights = "imagenet"
        elif choice == 2:
            path, _ = QFileDialog.getOpenFileName(self, f"Weights for {name}", "", "Keras weights (*.h5 *.weights.h5)")
            if not path:
                return
            weights = path
        self.application_requested.emit(name, weights, self.include_top_check.isChecked())
