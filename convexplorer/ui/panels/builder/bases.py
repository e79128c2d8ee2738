"""What the summary cannot know offline is measured with Keras, one worker each: pretrained bases, kept Keras layers."""

from __future__ import annotations


from PySide6.QtCore import QObject, Signal

from convexplorer.ui.panels.builder import jobs
from convexplorer.ui.panels.builder.design import MeasureKey as BaseKey
from convexplorer.ui.workers import StartWork


class BaseMeasurer(QObject):
    """Measures pretrained bases (application, shape) and kept Keras layers (class, config, input shapes) on workers.

    Each key is measured at most once at a time; it says when one is done or failed.
    """

    #: A base was measured (its key): its shapes and parameters are now known to the summary.
    measured = Signal(object)
    #: A base could not be measured: (its key, the message).
    failed = Signal(object, str)
    #: Measuring started (True) or no measurement is left (False); the text is always "".
    busy = Signal(bool, str)

    def __init__(self, start: StartWork, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._start = start
        self._measuring: set[BaseKey] = set()

    def measure(self, keys: set[BaseKey]) -> None:
        """Start measuring every base in ``keys`` that is not being measured already."""
        for key in keys - self._measuring:
            worker = self._start(jobs.measure, *key) if len(key) == 2 else self._start(jobs.measure_layer, key)
            if worker is None:
                return
            self._measuring.add(key)
            self.busy.emit(True, "")
            worker.result.connect(lambda _m, key=key: self._done(key))
            worker.error.connect(lambda msg, det, key=key: self._failed(key, msg))
            worker.finished.connect(lambda: self.busy.emit(bool(self._measuring), ""))

    def _done(self, key: BaseKey) -> None:
        self._measuring.discard(key)
        self.measured.emit(key)

    def _failed(self, key: BaseKey, message: str) -> None:
        self._measuring.discard(key)
        self.failed.emit(key, message)
