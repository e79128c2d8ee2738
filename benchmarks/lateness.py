"""GUI event-loop lateness: a 10 ms QTimer on the GUI thread and how late each tick comes.

Shared by the benchmarks that report GUI latency (``training.py``, ``soak.py``).
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QTimer


class LatenessProbe:
    """Appends to :attr:`values` how many ms each tick of a 10 ms timer came late."""

    def __init__(self, values: list[float] | None = None, interval_ms: int = 10) -> None:
        self.values: list[float] = values if values is not None else []
        self.interval_ms = interval_ms
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._last = 0

    def start(self) -> None:
        self._clock.start()
        self._last = 0
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def forget_pause(self) -> None:
        """The time since the last tick is not the app's (the benchmark itself paused): do not count it."""
        self._last = self._clock.elapsed()

    def _tick(self) -> None:
        now = self._clock.elapsed()
        self.values.append(max(0.0, now - self._last - self.interval_ms))
        self._last = now
