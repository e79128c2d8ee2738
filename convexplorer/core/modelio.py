"""Open and save ``.keras`` model files safely, and turn a model back into a design.

:func:`load_keras_model` opens with Keras ``safe_mode=True``: a model with
``Lambda`` layers (arbitrary Python code) is refused with a
:class:`~convexplorer.core.errors.ModelFileError` that explains why, unless the
user explicitly allows it. :func:`save_keras_model` writes a temporary file in
the same folder and ``os.replace``-s it over the target, so a failed save never
leaves half a file. :func:`import_model` / :func:`spec_from_model` open any functional or
sequential model as a graph design (through :mod:`convexplorer.core.importer`,
from the model's own ``get_config()``), :func:`apply_weights` puts its trained
weights back on a model built from the design, and :func:`spec_from_keras_json`
/ :func:`keras_json_from_spec` read and write Keras JSON.
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
import zipfile
from pathlib import Path
from typing import Any, Optional

from . import importer
from .errors import ModelFileError, SpecError
from .importer import ImportResult, WeightsApplied, apply_weights  # noqa: F401 - public API
from .progress import ProgressFn, check_cancel, report
from .spec import LOSSES, OPTIMIZERS, ModelSpec

#: Shown when a user turns safe mode off.
UNSAFE_WARNING = (
    "Opening with safe mode off runs Python code stored in the file (Lambda layers). "
    "Do this only for files you made yourself or fully trust: safe mode is not a sandbox."
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_keras_model(path: str | os.PathLike[str], allow_unsafe: bool = False, compile: bool = True,
                     progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> Any:
    """Open a ``.keras`` (or legacy ``.h5``) model with ``safe_mode=True`` unless ``allow_unsafe``."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"model file not found: {p}")
    suffix = p.suffix.lower()
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise ModelFileError(f"expected a Keras model file ending in .keras (or .h5), got {p.name}")
    if suffix == ".keras" and not zipfile.is_zipfile(p):
        raise ModelFileError(
            f"{p.name} is not a valid .keras file: it should be a zip archive made by model.save(); "
            "the file may be damaged or only partly downloaded"
        )
    check_cancel(cancel)
    report(progress, 0, 1, f"opening {p.name}")
    import keras

    from . import losses  # noqa: F401 - registers the YOLO loss and box IoU metric a task model was compiled with

    try:
        with warnings.catch_warnings():  # "Skipping variable loading for optimizer": harmless, it is rebuilt
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model = keras.saving.load_model(str(p), compile=compile, safe_mode=not allow_unsafe)
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message the user can act on
        text = str(exc)
        if "safe_mode" in text or "unsafe" in text.lower() or "Lambda" in text:
            raise ModelFileError(
                f"{p.name} contains a Lambda layer (Python code saved in the file). ConvExplorer opens models in "
                "Keras safe mode, which refuses such code because it could do anything on your computer. "
                "If you made this file yourself or trust its source, open it again with "
                "\"allow unsafe code\" turned on."
            ) from None
        if "Could not locate" in text or "Unknown layer" in text or "custom" in text.lower():
            raise ModelFileError(
                f"{p.name} uses a custom layer or function that ConvExplorer does not know ({_first_line(exc)}); "
                "only models made of standard Keras layers can be opened"
            ) from None
        if isinstance(exc, (zipfile.BadZipFile, OSError, KeyError, EOFError)) or "zip" in text.lower():
            raise ModelFileError(f"{p.name} is damaged or not a Keras model file ({_first_line(exc)})") from None
        raise ModelFileError(f"{p.name} could not be opened as a Keras model: {_first_line(exc)}") from None
    report(progress, 1, 1, f"opened {p.name}")
    return model


def save_keras_model(model: Any, path: str | os.PathLike[str], progress: Optional[ProgressFn] = None,
                     cancel: Optional[threading.Event] = None) -> Path:
    """Save ``model`` to a ``.keras`` file atomically (temp file + ``os.replace``); returns the path."""
    target = Path(path)
    if target.suffix.lower() != ".keras":
        raise ModelFileError(f"Keras model files must end in .keras, got {target.name}")
    check_cancel(cancel)
    report(progress, 0, 1, f"saving {target.name}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".keras", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise ModelFileError(f"cannot save {target.name}: {exc.strerror or exc}") from None
    try:
        model.save(tmp, overwrite=True)
        os.replace(tmp, target)
    except BaseException as exc:  # noqa: BLE001 - any interruption (Ctrl+C too) removes the temporary file
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if not isinstance(exc, Exception):
            raise
        raise ModelFileError(f"cannot save {target.name}: {_first_line(exc)}; the previous file is unchanged") from None
    report(progress, 1, 1, f"saved {target.name}")
    return target


def import_model(model: Any, name: str = "") -> ImportResult:
    """A Keras model opened as a graph design: spec, read-only reason, notes, kept weights (see core.importer).

    The compile settings (loss, optimizer, learning rate) come from the model when it was compiled.
    """
    result = importer.import_model(model, name)
    _read_compile(model, result.spec)
    return result


def spec_from_model(model: Any, name: str = "") -> ModelSpec:
    """An editable design from any functional or sequential model of image inputs.

    Layers ConvExplorer cannot edit become read-only ``KerasLayer`` nodes; a design that cannot be
    edited at all (a shared layer) raises SpecError with the reason: use :func:`import_model` for the
    read-only spec, the notes and the weights.
    """
    result = import_model(model, name)
    if result.read_only:
        raise SpecError(result.read_only)
    return result.spec


def spec_from_keras_json(text: str | bytes, name: str = "") -> ModelSpec:
    """An editable design from Keras JSON (``model.to_json()``); SpecError says why when it cannot be one."""
    result = importer.import_keras_json(text, name)
    if result.read_only:
        raise SpecError(result.read_only)
    return result.spec


def keras_json_from_spec(spec: ModelSpec) -> str:
    """The design as Keras JSON (``model.to_json()`` of the built model), which :func:`spec_from_keras_json` opens."""
    return importer.keras_json_from_spec(spec)


def _read_compile(model: Any, spec: ModelSpec) -> None:
    """Loss, optimizer and learning rate of a compiled model into the design's compile settings."""
    compile_spec = spec.compile
    loss = getattr(model, "loss", None)
    if isinstance(loss, str) and loss in LOSSES:
        binary_head = spec.output_units() == 1 if any(
            layer.kind == "Dense" and layer.get("units_from_classes") for layer in spec.layers) else None
        if binary_head is None or binary_head == (loss == "binary_crossentropy"):
            compile_spec.loss = loss
            for head in spec.heads:
                head.loss = loss
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        opt_name = type(opt).__name__.lower()
        if opt_name in OPTIMIZERS:
            compile_spec.optimizer = opt_name
        try:
            compile_spec.learning_rate = float(opt.learning_rate.numpy())
        except Exception:  # noqa: BLE001 - a schedule or an optimizer without one
            pass
        if opt_name == "sgd":
            compile_spec.momentum = float(getattr(opt, "momentum", 0.0) or 0.0)
