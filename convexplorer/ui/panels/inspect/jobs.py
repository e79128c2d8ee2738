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


def prediction(model: Any, x: np.ndarray, labels: list[str] | None, k: int = 5, head: str | None = None) -> dict:
    """Only the top ``k`` classes of a classifier head (the first thing drawn; :func:`analyse` does the rest).

    ``out["topk"]`` is None for a head that does not predict classes (a box head, a regressor).
    """
    from convexplorer.core import inspect as ins

    out: dict[str, Any] = {"topk": None}
    try:
        out["topk"] = ins.predict_topk(model, x, k=k, labels=labels, head=head)
    except ConvExplorerError:
        pass
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
        shipped = zoo.shipped_class_index().is_file() or (keras_home() / "models" / zoo.CLASS_INDEX_FILE).is_file()
        if shipped or weights == "imagenet":
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


# --- dataset examples, attributions, the sanity check, feature visualization ------------------------------------

#: Filters shown at most in the "all filters" grid (one image each).
MAX_ALL_FILTERS = 512
#: The built-in set used for dataset examples when no data set is loaded: (images, side).
BUILTIN_EXAMPLES = (200, 64)


def builtin_examples_set() -> Any:
    """The offline Shapes set the examples tab scans when the Data panel has none."""
    from convexplorer.core.datasets.shapes import ShapesDataset

    n, side = BUILTIN_EXAMPLES
    return ShapesDataset(n=n, size=side, seed=0)


def dataset_examples(model: Any, layer: str, images: Any, k: int, filter_index: int | None,
                     app_name: str | None = None, progress=None, cancel=None) -> dict:
    """The top-``k`` images of ``images`` for one filter of ``layer`` (``filter_index`` None: the best image of
    every filter), with the images as fed to the model and their receptive-field crops."""
    from convexplorer.core import examples as ex

    if images is None:
        images = builtin_examples_set()
    found = ex.top_examples_for_layer(model, layer, images, k, progress, cancel, app_name=app_name)
    if filter_index is None:
        items = [(f, e) for f, e in enumerate(found.best())][:MAX_ALL_FILTERS]
    else:
        items = [(int(filter_index), e) for e in found.examples(int(filter_index))]
    tiles = []
    for f, e in items:
        img = ex.example_image(model, images, e.index)
        tiles.append({"filter": f, "index": int(e.index), "activation": float(e.activation), "box": tuple(e.box),
                      "image": img, "crop": ex.crop_box(img, e.box)})
    return {"layer": found.layer_name, "filter": filter_index, "k": k, "tiles": tiles, "filters": found.num_filters,
            "images": found.num_images, "map_shape": found.map_shape, "source": images}


def _baseline(value: float, x: np.ndarray, app_name: str | None) -> np.ndarray:
    """A flat image of ``value`` (in [0, 1] image terms), preprocessed as the model's input is."""
    from convexplorer.core import zoo

    flat = np.full(x.shape, float(value), np.float32)
    return zoo.preprocess(app_name, flat) if app_name else flat


def _method_options(method: str, options: dict, x: np.ndarray, app_name: str | None) -> dict:
    opts = dict(options)
    if "baseline" in opts and opts["baseline"] is not None and np.isscalar(opts["baseline"]):
        opts["baseline"] = _baseline(float(opts["baseline"]), x, app_name)
    return opts


def _top_class(model: Any, x: np.ndarray, class_index: int | None, head: str | None) -> int | None:
    """The class (or box coordinate) the map follows; None for a box head's sum."""
    from convexplorer.core import inspect as ins

    if class_index is not None:
        return int(class_index)
    kinds = {h.name: h.kind for h in ins.output_heads(model, x.shape)}
    name = head if head in kinds else ins.default_head(model, x.shape)
    if kinds.get(name) == "boxes":
        return None
    return int(np.argmax(ins.predict(model, x, name)))


def attribution_map(model: Any, x: np.ndarray, method: str, class_index: int | None, head: str | None,
                    options: dict, app_name: str | None = None, progress=None, cancel=None) -> dict:
    """One attribution map (``method`` as ``inspect.attribution`` names it) of the class picked (None: the top);
    for Integrated Gradients also the sum of the raw attributions and f(x) - f(baseline)."""
    from convexplorer.core import attribution as at
    from convexplorer.core import inspect as ins

    cls = _top_class(model, x, class_index, head)
    opts = _method_options(method, options, x, app_name)
    if head is not None:
        opts["head"] = head
    out: dict[str, Any] = {"method": method, "class_index": cls, "options": dict(options), "ig": None}
    if method in at.LOOPING_METHODS:
        opts.update(progress=progress, cancel=cancel)
    if method == "integrated_gradients":
        ig = at.integrated_gradients(model, x, cls, **opts)
        out["heatmap"] = ig.heatmap
        out["ig"] = {"total": ig.total, "delta": ig.delta, "score": ig.score, "baseline_score": ig.baseline_score}
    else:
        out["heatmap"] = ins.attribution(model, x, method, cls, **opts)
    return out


def sanity_check(model: Any, x: np.ndarray, method: str, class_index: int | None, head: str | None,
                 options: dict, layers: int, app_name: str | None = None, progress=None, cancel=None) -> dict:
    """The randomization check of ``method``: the top ``layers`` layers re-initialised one after another."""
    from convexplorer.core import inspect as ins

    cls = _top_class(model, x, class_index, head)
    opts = _method_options(method, options, x, app_name)
    if head is not None:
        opts["head"] = head
    steps = ins.randomization_check(model, x, method, layers=int(layers), class_index=cls, progress=progress,
                                    cancel=cancel, **opts)
    return {"method": method, "class_index": cls, "steps": steps}


def feature_vis(model: Any, objective: str, layer: str | None, start: int, count: int, preset: str,
                changes: dict, per_objective: int = 1, head: str | None = None, progress=None, cancel=None) -> dict:
    """Feature visualization of ``count`` filters (or classes) from ``start`` with a preset and its changes.

    ``objective``: "filter" (the centre neuron of a filter), "channel" (a filter's whole map) or "logit".
    """
    from convexplorer.core import featvis as fv

    if objective == "logit":
        objs = [fv.Objective.logit(start + i, head) for i in range(count)]
    else:
        where = "neuron" if objective == "filter" else "channel"
        objs = [fv.Objective.filter(str(layer), start + i, where) for i in range(count)]
    settings = fv.FeatureVisSettings.preset(preset, **changes)
    res = fv.feature_visualization(model, objs, settings, images_per_objective=per_objective, progress=progress,
                                   cancel=cancel)
    return {"images": res.images, "final": res.final, "labels": [o.label for o in res.objectives],
            "indices": [o.index for o in res.objectives],
            "layer": res.layer, "preset": preset, "objective": objective}
