"""Open and save ``.keras`` model files safely, and turn a model back into a design.

:func:`load_keras_model` opens with Keras ``safe_mode=True``: a model with
``Lambda`` layers (arbitrary Python code) is refused with a
:class:`~convexplorer.core.errors.ModelFileError` that explains why, unless the
user explicitly allows it. :func:`save_keras_model` writes a temporary file in
the same folder and ``os.replace``-s it over the target, so a failed save never
leaves half a file. :func:`spec_from_model` recovers an editable
:class:`~convexplorer.core.spec.ModelSpec` from a model made of layers the
builder knows.
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
import zipfile
from pathlib import Path
from typing import Any, Optional

from .errors import ModelFileError, SpecError
from .progress import ProgressFn, check_cancel, report
from .spec import APPLICATION_NAMES, CompileSpec, LayerSpec, ModelSpec, OPTIMIZERS, LOSSES

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


def _pair(v: Any) -> list[int]:
    return [int(v[0]), int(v[1])] if isinstance(v, (list, tuple)) else [int(v), int(v)]


def _activation_name(layer: Any) -> str:
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", None) or str(act)
    return "linear" if name in ("linear", "None") else name


def _layer_spec(layer: Any, app_names: dict[str, str]) -> LayerSpec:
    cls = type(layer).__name__
    cfg = layer.get_config()
    name = layer.name
    if cls in ("Conv2D", "SeparableConv2D"):
        params: dict[str, Any] = {
            "filters": int(cfg["filters"]),
            "kernel_size": _pair(cfg["kernel_size"]),
            "strides": _pair(cfg["strides"]),
            "padding": cfg["padding"],
            "dilation_rate": _pair(cfg["dilation_rate"]),
            "activation": _activation_name(layer),
            "use_bias": bool(cfg["use_bias"]),
        }
        if cls == "SeparableConv2D":
            params["depth_multiplier"] = int(cfg["depth_multiplier"])
        return LayerSpec(cls, params, name)
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        strides = cfg.get("strides")
        return LayerSpec(cls, {
            "pool_size": _pair(cfg["pool_size"]),
            "strides": _pair(strides) if strides is not None else None,
            "padding": cfg["padding"],
        }, name)
    if cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten", "BatchNormalization"):
        return LayerSpec(cls, {}, name)
    if cls == "Dense":
        return LayerSpec(cls, {"units": int(cfg["units"]), "activation": _activation_name(layer),
                               "use_bias": bool(cfg["use_bias"])}, name)
    if cls == "Activation":
        return LayerSpec(cls, {"activation": _activation_name(layer)}, name)
    if cls == "Dropout":
        return LayerSpec(cls, {"rate": float(cfg["rate"])}, name)
    if cls == "Rescaling":
        scale, offset = cfg["scale"], cfg["offset"]
        if not isinstance(scale, (int, float)) or not isinstance(offset, (int, float)):
            raise SpecError(f'layer "{name}" (Rescaling) uses per-channel values, which the builder cannot edit')
        return LayerSpec(cls, {"scale": float(scale), "offset": float(offset)}, name)
    if cls == "RandomFlip":
        return LayerSpec(cls, {"mode": cfg["mode"]}, name)
    if cls in ("RandomRotation", "RandomContrast"):
        f = cfg["factor"]
        return LayerSpec(cls, {"factor": float(f[1] if isinstance(f, (list, tuple)) else f)}, name)
    if cls == "RandomZoom":
        f = cfg["height_factor"]
        return LayerSpec(cls, {"height_factor": float(f[1] if isinstance(f, (list, tuple)) else f)}, name)
    if cls == "RandomTranslation":
        h, w = cfg["height_factor"], cfg["width_factor"]
        return LayerSpec(cls, {"height_factor": float(h[1] if isinstance(h, (list, tuple)) else h),
                               "width_factor": float(w[1] if isinstance(w, (list, tuple)) else w)}, name)
    if hasattr(layer, "layers") and layer.name in app_names:
        app = app_names[layer.name]
        weighted = [sub for sub in layer.layers if sub.weights]
        if all(sub.trainable for sub in weighted) and layer.trainable:
            mode, start = "trainable", ""
        elif not layer.trainable or not any(sub.trainable for sub in weighted):
            mode, start = "frozen", ""
        else:
            mode, start = "fine_tune", next(sub.name for sub in weighted if sub.trainable)
        return LayerSpec("Pretrained", {"application": app, "weights": "imagenet", "trainable": mode,
                                        "fine_tune_from": start})
    raise SpecError(f'layer "{name}" ({cls}) is not one the builder can edit; the model can still be inspected')


def spec_from_model(model: Any, name: str = "") -> ModelSpec:
    """An editable design from a straight chain of known layers; SpecError says what cannot be edited."""
    app_names = {a.lower(): a for a in APPLICATION_NAMES}
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    try:
        shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    except Exception:  # noqa: BLE001 - a model without known inputs
        raise SpecError("the model has no known input shape, so it cannot be edited as a design") from None
    if len(shape) != 3:
        raise SpecError(f"the builder edits image models with (height, width, channels) inputs; this one takes {shape}")
    # a straight chain: every layer takes exactly the previous layer's output
    prev = None
    for layer in layers:
        nodes = getattr(layer, "_inbound_nodes", [])
        inbound = [t._keras_history[0] for n in nodes[:1] for t in n.input_tensors] if nodes else []
        if len(inbound) != 1 or (prev is not None and inbound[0] is not prev):
            raise SpecError(
                f'layer "{layer.name}" ({type(layer).__name__}) is part of a branch (e.g. a residual connection); '
                "only straight stacks of layers can be edited, but the model can still be inspected"
            )
        prev = layer
    specs = [_layer_spec(layer, app_names) for layer in layers]
    compile_spec = CompileSpec()
    loss = getattr(model, "loss", None)
    if isinstance(loss, str) and loss in LOSSES:
        compile_spec.loss = loss
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        opt_name = type(opt).__name__.lower()
        if opt_name in OPTIMIZERS:
            compile_spec.optimizer = opt_name
        try:
            compile_spec.learning_rate = float(opt.learning_rate.numpy())
        except Exception:  # noqa: BLE001
            pass
        if opt_name == "sgd":
            compile_spec.momentum = float(getattr(opt, "momentum", 0.0) or 0.0)
    num_classes = 10
    last = layers[-1] if layers else None
    if last is not None and type(last).__name__ == "Dense":
        units = int(last.get_config()["units"])
        if units == 1 and compile_spec.loss != "binary_crossentropy" and _activation_name(last) == "sigmoid":
            compile_spec.loss = "binary_crossentropy"
        num_classes = 2 if units == 1 else units
        if compile_spec.loss == "binary_crossentropy" and units != 1:
            compile_spec.loss = "sparse_categorical_crossentropy"
        specs[-1].params["units_from_classes"] = True
    spec = ModelSpec(name or model.name, shape, num_classes, specs, compile_spec)  # type: ignore[arg-type]
    return spec
