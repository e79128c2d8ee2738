"""The one place where threads are made.

``run_in_thread(fn, *args, **kwargs)`` runs a core call on a ``QThread`` and
returns a :class:`Worker` whose signals arrive on the GUI thread::

    worker = run_in_thread(core.inspect.filter_patterns, model, "conv1", range(16))
    worker.progress.connect(bar.update)          # (done, total, message)
    worker.result.connect(self._show_patterns)   # the return value
    worker.error.connect(self._show_error)       # (message, details)
    worker.cancel()                              # sets the threading.Event

If ``fn`` accepts ``progress`` and/or ``cancel`` keyword arguments, the worker
passes its own (a throttled callable and a ``threading.Event``). A
``ConvExplorerError`` arrives as its message; any other exception as
"TypeName: message" with the traceback in ``details``. :func:`shutdown_all`
cancels and joins every running worker (the main window calls it on close),
so no thread outlives the window.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import traceback
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from convexplorer.core.errors import Cancelled, ConvExplorerError

log = logging.getLogger(__name__)

#: Progress signals are emitted at most this often (besides the last one).
PROGRESS_INTERVAL_S = 1 / 30

_active: set["Worker"] = set()
_active_lock = threading.Lock()


def describe_exception(exc: BaseException) -> tuple[str, str]:
    """A user-facing message and the technical details for an exception."""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, ConvExplorerError):
        return str(exc), details
    if isinstance(exc, MemoryError):
        return "out of memory: try a smaller batch, image size or model", details
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__), details


class _Thread(QThread):
    def __init__(self, worker: "Worker") -> None:
        super().__init__()
        self._worker = worker

    def run(self) -> None:  # noqa: D401 - Qt override
        self._worker._run()


class Worker(QObject):
    """A core call running off the GUI thread, reporting through signals."""

    started = Signal()
    progress = Signal(int, int, str)
    result = Signal(object)
    error = Signal(str, str)
    cancelled = Signal()
    #: Always emitted last, after result, error or cancelled.
    finished = Signal()
    # The thread emits only this; it is queued to the GUI thread, where _dispatch
    # emits the public signals. So every public signal is emitted on the GUI thread
    # during event processing, after the caller of run_in_thread has connected.
    _relay = Signal(str, object)

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self.cancel_event = threading.Event()
        self._last_progress = 0.0
        self._thread = _Thread(self)
        self._relay.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._thread.finished.connect(self._on_thread_finished, Qt.ConnectionType.QueuedConnection)
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        if "progress" in params or accepts_any:
            self._kwargs.setdefault("progress", self._report)
        if "cancel" in params or accepts_any:
            self._kwargs.setdefault("cancel", self.cancel_event)

    def start(self) -> "Worker":
        """Start the thread; returns self for chaining."""
        with _active_lock:
            _active.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the core call to stop (it checks the event between units of work)."""
        self.cancel_event.set()

    def is_running(self) -> bool:
        """True while the thread runs."""
        return self._thread.isRunning()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the thread ends; True if it did within the timeout."""
        if timeout_s is None:
            return self._thread.wait()
        return self._thread.wait(int(timeout_s * 1000))

    def _report(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._relay.emit("progress", (int(done), int(total), str(message)))

    def _run(self) -> None:
        self._relay.emit("started", None)
        try:
            value = self._fn(*self._args, **self._kwargs)
        except Cancelled:
            self._relay.emit("cancelled", None)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user
            message, details = describe_exception(exc)
            log.warning("worker %s failed: %s\n%s", getattr(self._fn, "__name__", self._fn), message, details)
            self._relay.emit("error", (message, details))
        else:
            if self.cancel_event.is_set():
                self._relay.emit("cancelled", None)
            else:
                self._relay.emit("result", value)
        finally:
            self._fn = None  # drop references to big objects early
            self._args = ()
            self._kwargs = {}

    @Slot(str, object)
    def _dispatch(self, kind: str, payload: Any) -> None:
        if kind == "result":
            self.result.emit(payload)
        elif kind == "progress":
            self.progress.emit(*payload)
        elif kind == "error":
            self.error.emit(*payload)
        elif kind == "cancelled":
            self.cancelled.emit()
        elif kind == "started":
            self.started.emit()

    def _on_thread_finished(self) -> None:
        with _active_lock:
            _active.discard(self)
        self.finished.emit()


#: What a panel hands its parts to start work: ``Panel.run_in_thread``, which tracks the worker
#: and returns ``None`` (starting nothing) once the panel has shut down.
StartWork = Callable[..., Optional["Worker"]]


def run_in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker:
    """Run ``fn(*args, **kwargs)`` on a new thread and return the started :class:`Worker`.

    Connect to the worker's signals right after this call: they are emitted on
    the GUI thread during event processing, so none is missed.
    """
    return Worker(fn, *args, **kwargs).start()


def active_workers() -> list[Worker]:
    """Workers whose thread has not finished yet."""
    with _active_lock:
        return [w for w in _active if w.is_running()]


def shutdown_all(timeout_s: float = 10.0) -> bool:
    """Cancel every running worker and wait for them; True if all ended in time."""
    with _active_lock:
        workers = list(_active)
    for w in workers:
        w.cancel()
    deadline = time.monotonic() + timeout_s
    ok = True
    for w in workers:
        ok = w.wait(max(0.0, deadline - time.monotonic())) and ok
    return ok
