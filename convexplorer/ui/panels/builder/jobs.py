"""The Builder's long jobs, run on workers: they import TensorFlow/Keras lazily, inside the call."""

from __future__ import annotations

from typing import Any

from convexplorer.core.spec import ModelSpec


def build_and_save(spec: ModelSpec, path: str, weights: dict[str, Any] | None = None,
                   progress: Any = None, cancel: Any = None) -> str:
    """Build, compile and save the design as .keras (runs on a worker); kept weights go on unchanged nodes."""
    from convexplorer.core.builder import build_model
    from convexplorer.core.modelio import save_keras_model

    model = build_model(spec, compile=True, progress=progress, cancel=cancel, initial_weights=weights)
    save_keras_model(model, path, cancel=cancel)
    return path


def write_keras_json(spec: ModelSpec, path: str) -> str:
    """Write the design as Keras JSON (``model.to_json()``, atomic write); returns the path."""
    from convexplorer.core.modelio import keras_json_from_spec
    from convexplorer.core.workspace import atomic_write_text

    atomic_write_text(path, keras_json_from_spec(spec))
    return path


def write_script(spec: ModelSpec, path: str) -> str:
    """Write the runnable training script of the design; returns its path."""
    from convexplorer.core.export import export_script

    return str(export_script(spec, path))


def measure(application: str, shape: tuple[int, int, int], progress: Any = None, cancel: Any = None) -> Any:
    """Measure a pretrained base (shapes, parameters) for an input shape."""
    from convexplorer.core.builder import measure_base

    return measure_base(application, shape, progress=progress, cancel=cancel)


def measure_layer(key: Any, progress: Any = None, cancel: Any = None) -> Any:
    """Measure a layer kept as Keras config on its input shapes (``Summary.pending_layers``)."""
    from convexplorer.core.builder import measure_keras_layer

    return measure_keras_layer(key, progress=progress, cancel=cancel)


def open_model(path: str, allow_unsafe: bool, progress: Any = None, cancel: Any = None) -> Any:
    """Load a .keras/.h5 model (safe mode unless ``allow_unsafe``)."""
    from convexplorer.core.modelio import load_keras_model

    return load_keras_model(path, allow_unsafe=allow_unsafe, progress=progress, cancel=cancel)


def open_and_import(path: str, allow_unsafe: bool, name: str, progress: Any = None, cancel: Any = None) -> Any:
    """Load a model and read it as a design: (model, ImportResult or None, why it cannot be a design)."""
    from convexplorer.core.errors import SpecError
    from convexplorer.core.modelio import import_model

    model = open_model(path, allow_unsafe, progress=progress, cancel=cancel)
    try:
        return model, import_model(model, name), ""
    except SpecError as exc:
        return model, None, str(exc)


def import_keras_json(text: str, name: str) -> Any:
    """Read Keras JSON (``model.to_json()``) as a design: an ImportResult (Keras rebuilds it, no weights)."""
    from convexplorer.core.importer import import_keras_json as read

    return read(text, name)
