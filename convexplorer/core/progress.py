"""Cooperative progress and cancellation for long core calls.

Long core functions take ``progress: ProgressFn | None`` and
``cancel: threading.Event | None``. They call ``report(progress, done, total,
message)`` now and then and ``check_cancel(cancel)`` between units of work,
which raises :class:`~convexplorer.core.errors.Cancelled` once the event is set.
Core never knows about Qt: ``convexplorer.ui.workers`` turns these calls into
signals.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

from .errors import Cancelled

ProgressFn = Callable[[int, int, str], None]


def report(progress: Optional[ProgressFn], done: int, total: int, message: str = "") -> None:
    """Call ``progress(done, total, message)`` if a callback was given."""
    if progress is not None:
        progress(int(done), int(total), message)


def check_cancel(cancel: Optional[threading.Event]) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()
