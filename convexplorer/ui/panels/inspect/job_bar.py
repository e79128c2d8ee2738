"""A Compute / Cancel pair with a progress bar, for a tab whose work runs in a worker."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from convexplorer.ui.workers import Worker


class JobBar(QWidget):
    """The Compute button, a Cancel button (on while a worker runs) and its progress."""

    #: The user pressed Compute.
    compute_requested = Signal()
    #: The watched worker was cancelled.
    cancelled = Signal()

    def __init__(self, text: str = "Compute", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The worker in progress (or the last one).
        self.worker: Worker | None = None
        self._tf_ready = False
        self.compute_button = QPushButton(text)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.progress.setMinimumWidth(160)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.compute_button)
        lay.addWidget(self.cancel_button)
        lay.addWidget(self.progress, 1)
        self.compute_button.clicked.connect(lambda: self.compute_requested.emit())
        self.cancel_button.clicked.connect(self.cancel)

    def set_tf_ready(self, ready: bool) -> None:
        """Enable Compute once TensorFlow is in (and no worker runs)."""
        self._tf_ready = ready
        self.compute_button.setEnabled(ready and not self.running())

    def running(self) -> bool:
        """Whether the watched worker still runs."""
        return self.worker is not None and self.worker.is_running()

    def cancel(self) -> None:
        """Cancel the running worker (a no-op once it has ended)."""
        if self.worker is not None:
            self.worker.cancel()

    def watch(self, worker: Worker) -> None:
        """A worker starts: progress at zero, Compute off and Cancel on until it finishes."""
        self.worker = worker
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress.setFormat("%p%")
        self.compute_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        worker.progress.connect(self.show_progress)
        worker.cancelled.connect(lambda w=worker: w is self.worker and self.cancelled.emit())
        worker.finished.connect(lambda w=worker: self._finished(w))

    def show_progress(self, done: int, total: int, message: str) -> None:
        """Move the bar (``message`` beside the percentage)."""
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, max(1, total)))
        self.progress.setFormat(f"%p%  {message}" if message else "%p%")

    def _finished(self, worker: Worker) -> None:
        if worker is not self.worker:
            return
        if self.progress.maximum() == 0:  # no report came: done is done
            self.progress.setRange(0, 1)
            self.progress.setValue(0 if worker.cancel_event.is_set() else 1)
        self.compute_button.setEnabled(self._tf_ready)
        self.cancel_button.setEnabled(False)
