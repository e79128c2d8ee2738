"""Keeping a long working session's memory flat.

Only what was measured with ``benchmarks/soak.py`` and traced to its cause is here:
TensorFlow keeping every trained model's train graph alive, and glibc's per-thread
malloc arenas fragmenting as worker threads come and go. Every function is a no-op
where the platform or TensorFlow's internals are not as expected.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

_PREFIX = "CustomGradient-"
_lock = threading.Lock()


def _gradient_registry() -> dict[str, Any] | None:
    """TensorFlow's global table of gradient functions, or None if it is not where expected."""
    try:
        from tensorflow.python.framework import ops
    except ImportError:  # pragma: no cover - TensorFlow without the private module
        return None
    table = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return table if isinstance(table, dict) else None


def custom_gradient_names() -> set[str]:
    """Names under which ``tf.custom_gradient`` has registered gradient functions so far."""
    table = _gradient_registry()
    if table is None:
        return set()
    return {name for name in list(table) if name.startswith(_PREFIX)}


def forget_custom_gradients(names: set[str]) -> int:
    """Remove these custom-gradient registrations; returns how many were removed."""
    table = _gradient_registry()
    if table is None:
        return 0
    removed = 0
    with _lock:
        for name in names:
            if table.pop(name, None) is not None:
                removed += 1
    return removed


@contextlib.contextmanager
def custom_gradients_released() -> Iterator[None]:
    """Drop the gradient functions ``tf.custom_gradient`` registers while the block runs.

    When a ``tf.function`` is traced, ``tf.custom_gradient`` registers its gradient under a
    fresh name in TensorFlow's global gradient registry and never removes it; the closure
    holds the traced graph. Keras's TensorFlow optimizer goes through it on every training
    trace (``ReplicaContext.all_reduce`` sums the gradients with a custom gradient, even on
    one device), so every model ever trained keeps its whole train-function graph alive:
    11 MB a model for a small convnet in a bare loop (tensorflow/tensorflow#97697 and #80895,
    keras-team/keras#20245). A registration is only read when a graph is differentiated
    symbolically, which never happens to a finished train function, so the names
    registered during the block are removed when it ends (calling the traced function
    again, as "Continue" does, needs none of them).
    """
    before = custom_gradient_names()
    try:
        yield
    finally:
        forget_custom_gradients(custom_gradient_names() - before)


#: glibc's ``mallopt`` parameter number for the most arenas (malloc.h: M_ARENA_MAX).
_M_ARENA_MAX = -8
#: Arenas allowed when the user has not chosen (``MALLOC_ARENA_MAX``).
DEFAULT_ARENAS = 4


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process; True if the cap was set.

    glibc gives threads their own arenas (up to eight per core); each worker thread
    the app starts (an inspection, an evaluation, a training) frees its memory into an
    arena that stays fragmented after the thread ends: the soak grew by 5 MB a cycle on
    glibc's default arenas against 0.7 MB on 4. Call before threads are made.
    A ``MALLOC_ARENA_MAX`` set by the user wins (glibc reads it itself); elsewhere than
    glibc this does nothing.
    """
    if arenas < 1:
        raise ValueError(f"arenas must be at least 1, received {arenas}")
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's soname (find_library would run ldconfig at start-up)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, int(arenas)))
