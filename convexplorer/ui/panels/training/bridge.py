"""Thread plumbing between a TrainingSession and the GUI: its events one way, stop/pause the other.

:class:`TrainingBridge` carries the session's events from the training thread
to the GUI thread (batch events queued for a timer to drain, the rare epoch,
error and done events as queued signals); :class:`TrainingControl` carries
stop/pause requests to a session that may not exist yet.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, Signal

from convexplorer.core.training import BatchEvent


class TrainingBridge(QObject):
    """Carries a TrainingSession's events from the training thread to the GUI thread.

    Batch events are only queued (the GUI drains them on a timer); the rare
    epoch, error and done events are emitted as queued signals.
    """

    event = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.batches: deque[BatchEvent] = deque()

    def on_event(self, event: Any) -> None:
        """Called on the training thread for every event."""
        if isinstance(event, BatchEvent):
            self.batches.append(event)
        else:
            self.event.emit(event)

    def take_batches(self) -> list[BatchEvent]:
        """Every batch event queued so far (GUI thread)."""
        out = []
        while True:
            try:
                out.append(self.batches.popleft())
            except IndexError:
                return out


class TrainingControl:
    """Stop/pause requests that reach the session even if it does not exist yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.session: Any = None
        self.stop_requested = False
        self.pause_requested = False

    def attach(self, session: Any) -> None:
        """Called by the job once the session exists; applies pending requests."""
        with self._lock:
            self.session = session
            if self.pause_requested:
                session.pause()
            if self.stop_requested:
                session.stop()

    def reset(self) -> None:
        """Forget requests (a new run or a continuation starts)."""
        with self._lock:
            self.stop_requested = False
            self.pause_requested = False
            if self.session is not None:
                self.session.resume()

    def stop(self) -> None:
        """Ask the run to stop after the current batch."""
        with self._lock:
            self.stop_requested = True
            if self.session is not None:
                self.session.stop()

    def pause(self) -> None:
        """Ask the run to pause after the current batch."""
        with self._lock:
            self.pause_requested = True
            if self.session is not None:
                self.session.pause()

    def resume(self) -> None:
        """Let a paused run go on."""
        with self._lock:
            self.pause_requested = False
            if self.session is not None:
                self.session.resume()
