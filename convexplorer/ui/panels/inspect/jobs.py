"""What the Inspect panel runs in workers: plain functions of ``core`` calls, numpy and dicts out.

TensorFlow and Keras are imported inside the functions (lazily), never when
the panel is built.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from convexplorer.core.errors import ConvExplorerError


def analyse(model: Any, x: np.ndarray, layer: str | None, cam_class: int | None, cam_layer: str | None,
            labels: list[str] | None, k: int = 5, head: str | None = None) -> dict:
    """Everything the panel shows for one model and image; ``head``: the output of a model with several (None: default).

    For a classifier head: top-k and Grad-CAM of a class; for a box head: the predicted box
    (``out["box"]``) and Grad-CAM of a box coordinate (``cam_class``; None: the sum of the four).
    """
    from convexplorer.core import inspect as ins

    infos = ins.layers(model, x.shape)
    spatial = [i.name for i in infos if i.spatial]
    convs = [i.name for i in infos if i.spatial and i.is_conv]
    out: dict[str, Any] = {"spatial": spatial, "convs": convs, "topk": None, "probs": None, "box": None}
    heads = ins.output_heads(model, x.shape)
    out["heads"] = [(h.name, h.kind) for h in heads]
    names = [h.name for h in heads]
    head = head if head in names else ins.default_head(model, x.shape)
    kind = dict(out["heads"])[head]
    out["head"], out["head_kind"] = head, kind
    if kind == "boxes":
        out["box"] = ins.predict_box(model, x, head)
    else:
        try:
            probs = ins.predict(model, x, head)
            out["probs"] = probs
            out["topk"] = ins.predict_topk(model, x, k=k, labels=labels, head=head)
        except ConvExplorerError as exc:
            out["topk_error"] = str(exc)
    layer = layer if layer in spatial else (spatial[0] if spatial else None)
    out["maps"] = ins.feature_maps(model, x, [layer])[0] if layer else None
    try:
        out["kernels"] = ins.first_layer_kernels(model, x.shape)
    except ConvExplorerError:
        out["kernels"] = None
    out["cam"] = out["saliency"] = None
    if (out["probs"] is not None or out["box"] is not None) and spatial:
        out.update(cam_and_saliency(model, x, cam_class, cam_layer if cam_layer in spatial else None, head))
    return out


def cam_and_saliency(model: Any, x: np.ndarray, cam_class: int | None, cam_layer: str | None,
                     head: str | None = None) -> dict:
    """Grad-CAM of ``cam_class`` (None: the top class, or a box head's sum of coordinates) from ``cam_layer``,
    and the gradient saliency of the same score."""
    from convexplorer.core import inspect as ins

    cam = ins.grad_cam_details(model, x, cam_class, cam_layer, head=head)
    index = cam.class_index if cam.kind == "classes" or cam.class_index >= 0 else None
    return {"cam": cam, "saliency": ins.saliency(model, x, index, head=head)}


def layer_maps(model: Any, x: np.ndarray, layer: str) -> tuple[str, np.ndarray]:
    """The feature maps of one layer: (layer name, H x W x C)."""
    from convexplorer.core import inspect as ins

    return ins.feature_maps(model, x, [layer])[0]


def filter_count(model: Any, layer: str) -> int | None:
    """Channels of ``layer``'s output in ``model`` (None if unknown)."""
    from convexplorer.core import inspect as ins

    try:
        info = next((i for i in ins.layers(model) if i.name == layer), None)
    except Exception:  # noqa: BLE001 - the worker will explain a model it cannot trace
        return None
    last = info.output_shape[-1] if info is not None and info.output_shape else None
    return int(last) if isinstance(last, int) else None


def load_application(name: str, weights: str | None, include_top: bool, input_shape: tuple | None = None,
                     progress=None, cancel=None) -> dict:
    """Build a keras.applications model; ImageNet class names when they are (or may be) available."""
    from convexplorer.core import zoo
    from convexplorer.core.workspace import keras_home

    model = zoo.build_application(name, weights=weights, include_top=include_top, input_shape=input_shape,
                                  progress=progress, cancel=cancel)
    labels = None
    if include_top:
        cached = (keras_home() / "models" / zoo.CLASS_INDEX_FILE).is_file()
        if cached or weights == "imagenet":
            try:
                labels = zoo.imagenet_class_names(progress, cancel)
            except ConvExplorerError:
                labels = None
    return {"model": model, "labels": labels, "name": name, "weights": zoo.weights_label(model)}


def open_model_file(path: str, progress: Optional[Callable[[int, int, str], None]] = None,
                    cancel: Optional[Any] = None) -> Any:
    """Open a .keras model in safe mode (core.modelio when present, else Keras directly)."""
    try:
        from convexplorer.core.modelio import load_keras_model
    except ImportError:  # pragma: no cover - the Builder's module is missing
        import keras

        return keras.saving.load_model(path, safe_mode=True)
    return load_keras_model(path, allow_unsafe=False, compile=False, progress=progress, cancel=cancel)
