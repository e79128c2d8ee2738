"""Import TensorFlow and Keras in the background, once, after the window is shown."""

from __future__ import annotations

import os

from convexplorer.ui.state import AppState
from convexplorer.ui.workers import Worker, run_in_thread


def _import_tensorflow() -> str:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # noqa: F401
    import scipy.signal  # noqa: F401 - the live charts' smoothing: 0.7 s to import, not on the GUI thread
    import tensorflow as tf

    # Memory growth and the device choice only work before anything starts the devices.
    from convexplorer.ui.settings_dialog import ensure_compute_settings_applied

    ensure_compute_settings_applied()
    return tf.__version__


def load_tensorflow_async(state: AppState) -> Worker | None:
    """Start importing TF on a worker; ``state.tensorflow_ready`` fires when done."""
    if state.tf_ready:
        return None
    worker = run_in_thread(_import_tensorflow)
    worker.result.connect(lambda _v: state.mark_tensorflow_ready())
    worker.error.connect(lambda msg, det: state.error.emit(f"TensorFlow could not be loaded: {msg}", det))
    return worker


def load_tensorflow_now(state: AppState) -> None:
    """Import TF on the calling thread (screenshots, self-test) and mark it ready."""
    _import_tensorflow()
    state.mark_tensorflow_ready()
