"""Work-arounds for TensorFlow memory that a long working session would otherwise lose.

Only what was measured in ``benchmarks/soak.py`` and traced to its cause is here;
every function is a no-op where TensorFlow's internals are not as expected.
"""

from __future__ import annotations

import contextlib
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
    about 20 MB a model for a small convnet (tensorflow/tensorflow#97697 and #80895,
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
