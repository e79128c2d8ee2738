"""The Builder's long jobs, run on workers: they import TensorFlow/Keras lazily, inside the call."""

from __future__ import annotations

from typing import Any

from convexplorer.core.spec import ModelSpec


def build_and_save(spec: ModelSpec, path: str, progress: Any = None, cancel: Any = None) -> str:
    """Build, compile and save the design as .keras (runs on a worker)."""
    from convexplorer.core.builder import build_model
    from convexplorer.core.modelio import save_keras_model

    model = build_model(spec, compile=True, progress=progress, cancel=cancel)
    save_keras_model(model, path, cancel=cancel)
    return path


def write_script(spec: ModelSpec, path: str) -> str:
    """Write the runnable training script of the design; returns its path."""
    from convexplorer.core.export import export_script

    return str(export_script(spec, path))


def measure(application: str, shape: tuple[int, int, int], progress: Any = None, cancel: Any = None) -> Any:
    """Measure a pretrained base (shapes, parameters) for an input shape."""
    from convexplorer.core.builder import measure_base

    return measure_base(application, shape, progress=progress, cancel=cancel)


def open_model(path: str, allow_unsafe: bool, progress: Any = None, cancel: Any = None) -> Any:
    """Load a .keras/.h5 model (safe mode unless ``allow_unsafe``)."""
    from convexplorer.core.modelio import load_keras_model

    return load_keras_model(path, allow_unsafe=allow_unsafe, progress=progress, cancel=cancel)
