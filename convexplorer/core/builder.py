"""A :class:`~convexplorer.core.spec.ModelSpec` turned into a ``keras.Model``.

:func:`build_model` makes a functional model that starts with ``keras.Input``
(so ``model.inputs`` / ``model.outputs`` exist for Grad-CAM and feature maps),
names every layer as :func:`convexplorer.core.summary.summarize` does, and
compiles it with the spec's optimizer, learning rate, loss and metrics.
Keras is imported inside the functions.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Optional

from .errors import ConvExplorerError, SpecError
from .progress import ProgressFn, check_cancel, report
from .spec import INPUT_ID, LAYER_KINDS, CompileSpec, HeadSpec, LayerSpec, ModelSpec, normalize_quad, pair
from .summary import (
    KerasLayerKey,
    MeasuredBase,
    MeasuredLayer,
    register_measured_base,
    register_measured_layer,
    summarize,
)


def keras_model_name(name: str) -> str:
    """A model name Keras accepts (letters, digits, _ . -)."""
    clean = re.sub(r"[^A-Za-z0-9_.\-]+", "_", name.strip()).strip("_")
    return clean or "model"


def application_base(name: str, weights: str | None, input_shape: tuple[int, int, int],
                     progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> Any:
    """A keras.applications conv base without its top (through core.zoo when present)."""
    weights = None if weights in (None, "none", "") else weights
    try:
        from . import zoo
    except ImportError:  # pragma: no cover - zoo ships with the app
        zoo = None  # type: ignore[assignment]
    if zoo is not None and hasattr(zoo, "build_application"):
        return zoo.build_application(name, weights=weights, include_top=False, input_shape=input_shape,
                                     progress=progress, cancel=cancel)
    import keras  # pragma: no cover

    return getattr(keras.applications, name)(weights=weights, include_top=False, input_shape=input_shape)


def _set_base_trainable(base: Any, mode: str, from_layer: str) -> None:
    if mode == "frozen":
        base.trainable = False
        return
    base.trainable = True
    if mode == "fine_tune":
        names = [layer.name for layer in base.layers]
        if from_layer not in names:
            raise SpecError(f'{base.name} has no layer named "{from_layer}" to fine-tune from')
        k = names.index(from_layer)
        for layer in base.layers[:k]:
            layer.trainable = False


def _activation(layer: LayerSpec) -> str:
    return layer.get("activation")


#: Kinds that combine a list of inputs.
MERGE_LAYERS = tuple(k for k, kind in LAYER_KINDS.items() if kind.is_merge and kind.editable)


def _keras_layer(layer: LayerSpec, name: str) -> Any:
    """A layer kept as Keras config (imported, not editable), rebuilt with Keras's own deserializer.

    ``safe_mode`` stays on: a Lambda's bytecode is refused unless the user allowed it when opening.
    """
    import keras

    config = layer.get("config")
    if not isinstance(config, dict) or not layer.get("class_name"):
        raise SpecError(f'{name}: a kept Keras layer needs its class name and configuration')
    payload = {"class_name": layer.get("class_name"), "config": dict(config, name=name)}
    try:
        rebuilt = keras.layers.deserialize(payload, custom_objects=_kept_layer_classes())
    except Exception as exc:  # noqa: BLE001 - Keras raises many types here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f'{name}: Keras cannot rebuild this {layer.get("class_name")} layer: {first}') from None
    return rebuilt


def _kept_layer_classes() -> dict[str, Any]:
    """Classes a kept layer may name: keras.layers, registered custom classes by bare name, nested models.

    ``keras.layers.deserialize`` finds a class by its name only through ``custom_objects`` when the
    config carries no ``module``, as a kept layer's does.
    """
    import keras

    found: dict[str, Any] = {k: v for k, v in vars(keras.layers).items() if isinstance(v, type)}
    found.update({k.split(">")[-1]: v for k, v in keras.saving.get_custom_objects().items()})
    found.update({"Functional": keras.Model, "Model": keras.Model, "Sequential": keras.Sequential})
    return found


def _apply(layer: LayerSpec, name: str, x: Any, spec: ModelSpec, load_weights: bool,
           progress: Optional[ProgressFn], cancel: Optional[threading.Event]) -> Any:
    from keras import layers as L

    k = layer.kind
    g = layer.get
    if k == "Conv2D":
        return L.Conv2D(spec.filters_of(layer), pair(g("kernel_size")), strides=pair(g("strides")), padding=g("padding"),
                        dilation_rate=pair(g("dilation_rate")), activation=_activation(layer),
                        use_bias=g("use_bias"), name=name)(x)
    if k == "SeparableConv2D":
        return L.SeparableConv2D(spec.filters_of(layer), pair(g("kernel_size")), strides=pair(g("strides")),
                                 padding=g("padding"), dilation_rate=pair(g("dilation_rate")),
                                 depth_multiplier=g("depth_multiplier"), activation=_activation(layer),
                                 use_bias=g("use_bias"), name=name)(x)
    if k in ("MaxPooling2D", "AveragePooling2D"):
        cls = L.MaxPooling2D if k == "MaxPooling2D" else L.AveragePooling2D
        strides = pair(g("strides")) if g("strides") is not None else None
        return cls(pair(g("pool_size")), strides=strides, padding=g("padding"), name=name)(x)
    if k == "GlobalAveragePooling2D":
        return L.GlobalAveragePooling2D(keepdims=bool(g("keepdims")), name=name)(x)
    if k == "GlobalMaxPooling2D":
        return L.GlobalMaxPooling2D(keepdims=bool(g("keepdims")), name=name)(x)
    if k == "DepthwiseConv2D":
        return L.DepthwiseConv2D(pair(g("kernel_size")), strides=pair(g("strides")), padding=g("padding"),
                                 depth_multiplier=g("depth_multiplier"), dilation_rate=pair(g("dilation_rate")),
                                 activation=_activation(layer), use_bias=g("use_bias"), name=name)(x)
    if k == "Conv2DTranspose":
        return L.Conv2DTranspose(g("filters"), pair(g("kernel_size")), strides=pair(g("strides")), padding=g("padding"),
                                 activation=_activation(layer), use_bias=g("use_bias"), name=name)(x)
    if k == "UpSampling2D":
        return L.UpSampling2D(pair(g("size")), interpolation=g("interpolation"), name=name)(x)
    if k in ("ZeroPadding2D", "Cropping2D"):
        t, b, left, right = normalize_quad(g("padding" if k == "ZeroPadding2D" else "cropping"))  # type: ignore[misc]
        cls = L.ZeroPadding2D if k == "ZeroPadding2D" else L.Cropping2D
        return cls(((t, b), (left, right)), name=name)(x)
    if k == "Reshape":
        return L.Reshape(tuple(int(v) for v in g("target_shape")), name=name)(x)
    if k == "ReLU":
        max_value = g("max_value")
        return L.ReLU(max_value=None if max_value is None else float(max_value),
                      negative_slope=float(g("negative_slope")), threshold=float(g("threshold")), name=name)(x)
    if k == "LayerNormalization":
        return L.LayerNormalization(axis=int(g("axis")), epsilon=float(g("epsilon")), center=bool(g("center")),
                                    scale=bool(g("scale")), name=name)(x)
    if k == "Normalization":
        return L.Normalization(axis=int(g("axis")), name=name)(x)
    if k in MERGE_LAYERS:
        if k == "Concatenate":
            return L.Concatenate(axis=int(g("axis")), name=name)(list(x))
        return getattr(L, k)(name=name)(list(x))
    if k == "KerasLayer":  # one input: the tensor itself, as the layer was called in the imported model
        return _keras_layer(layer, name)(x[0] if isinstance(x, list) and len(x) == 1 else x)
    if k == "Flatten":
        return L.Flatten(name=name)(x)
    if k == "Dense":
        units = spec.output_units() if g("units_from_classes") else g("units")
        return L.Dense(units, activation=_activation(layer), use_bias=g("use_bias"), name=name)(x)
    if k == "Activation":
        return L.Activation(_activation(layer), name=name)(x)
    if k == "Dropout":
        return L.Dropout(float(g("rate")), name=name)(x)
    if k == "BatchNormalization":
        return L.BatchNormalization(axis=int(g("axis")), momentum=float(g("momentum")), epsilon=float(g("epsilon")),
                                    center=bool(g("center")), scale=bool(g("scale")), name=name)(x)
    if k == "Rescaling":
        return L.Rescaling(float(g("scale")), offset=float(g("offset")), name=name)(x)
    if k == "RandomFlip":
        return L.RandomFlip(g("mode"), name=name)(x)
    if k == "RandomRotation":
        return L.RandomRotation(float(g("factor")), name=name)(x)
    if k == "RandomZoom":
        return L.RandomZoom(float(g("height_factor")), name=name)(x)
    if k == "RandomTranslation":
        return L.RandomTranslation(float(g("height_factor")), float(g("width_factor")), name=name)(x)
    if k == "RandomContrast":
        return L.RandomContrast(float(g("factor")), name=name)(x)
    if k == "ResidualBlock":
        filters = g("filters")
        residual = x
        y = L.Conv2D(filters, 3, activation="relu", padding="same", name=f"{name}_conv1")(x)
        y = L.Conv2D(filters, 3, activation="relu", padding="same", name=f"{name}_conv2")(y)
        if g("pooling"):
            y = L.MaxPooling2D(2, padding="same", name=f"{name}_pool")(y)
            residual = L.Conv2D(filters, 1, strides=2, name=f"{name}_residual")(residual)
        elif filters != x.shape[-1]:
            residual = L.Conv2D(filters, 1, name=f"{name}_residual")(residual)
        return L.Add(name=f"{name}_add")([y, residual])
    if k == "Pretrained":
        weights = g("weights") if load_weights else None
        base = application_base(g("application"), weights, tuple(int(v) for v in x.shape[1:]), progress, cancel)
        base.name = name  # Keras names some bases by size ("mobilenetv2_1.00_224"); ours is stable
        _set_base_trainable(base, g("trainable"), g("fine_tune_from"))
        # training=False keeps batch-norm statistics fixed while fine-tuning (Keras transfer-learning guide)
        return base(x, training=False)
    raise SpecError(f"unknown layer type {k!r}")  # pragma: no cover - validated before


def measure_base(application: str, input_shape: tuple[int, int, int], progress: Optional[ProgressFn] = None,
                 cancel: Optional[threading.Event] = None) -> MeasuredBase:
    """Build a keras.applications base once (random weights) and record its per-layer parameters and output shape.

    The summary then knows it without TensorFlow; run it on a worker (a few seconds for big bases).
    """
    import numpy as np

    shape = tuple(int(v) for v in input_shape)
    base = application_base(application, None, shape, progress, cancel)  # type: ignore[arg-type]
    check_cancel(cancel)
    rows = []
    for layer in base.layers:
        t = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
        n = sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights)
        if t or n:
            rows.append((layer.name, t, n))
    measured = MeasuredBase(application, shape, tuple(rows), tuple(base.output.shape))  # type: ignore[arg-type]
    register_measured_base(measured)
    return measured


def measure_keras_layer(key: KerasLayerKey, progress: Optional[ProgressFn] = None,
                        cancel: Optional[threading.Event] = None) -> MeasuredLayer:
    """Build a layer kept as Keras config once on its input shapes and record its outputs and parameters.

    ``key`` comes from ``Summary.pending_layers``. The summary then knows the layer without TensorFlow; run it
    on a worker. When Keras refuses the layer on these inputs, the refusal is recorded and shown on its row.
    """
    import json

    import keras
    import numpy as np

    class_name, config_text, input_shapes = key
    check_cancel(cancel)
    report(progress, 0, 1, f"measuring {class_name}")
    layer = LayerSpec("KerasLayer", {"class_name": class_name, "config": json.loads(config_text)})
    try:
        rebuilt = _keras_layer(layer, "measured")
        inputs = [keras.Input(shape=tuple(s[1:]), batch_size=s[0]) for s in input_shapes]
        out = rebuilt(inputs[0] if len(inputs) == 1 else inputs)
    except SpecError as exc:
        measured = MeasuredLayer(key, class_name, error=str(exc).replace("measured: ", ""))
    except Exception as exc:  # noqa: BLE001 - Keras raises many types here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        measured = MeasuredLayer(key, class_name, error=f"Keras refused this {class_name} on its inputs: {first}")
    else:
        outs = out if isinstance(out, (list, tuple)) else [out]
        measured = MeasuredLayer(
            key, type(rebuilt).__name__, tuple(tuple(t.shape) for t in outs),
            sum(int(np.prod(w.shape)) for w in rebuilt.trainable_weights),
            sum(int(np.prod(w.shape)) for w in rebuilt.non_trainable_weights))
    register_measured_layer(measured)
    report(progress, 1, 1, f"{class_name} measured")
    return measured


def make_optimizer(settings: CompileSpec) -> Any:
    """The Keras optimizer for the compile settings."""
    import keras

    lr = float(settings.learning_rate)
    if settings.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr)
    if settings.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    if settings.optimizer == "nadam":
        return keras.optimizers.Nadam(learning_rate=lr)
    if settings.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=float(settings.momentum))
    raise SpecError(f'unknown optimizer "{settings.optimizer}"')


def make_metrics(settings: CompileSpec) -> list[Any]:
    """Keras metric objects/names for the compile settings."""
    return metric_objects(settings.metrics)


def loss_object(name: str) -> Any:
    """The Keras loss for a loss name of ``spec.LOSSES`` (a name Keras knows, or our YOLO loss)."""
    if name == "yolo":
        from .losses import YoloLoss

        return YoloLoss()
    return name


def metric_objects(names: list[str], num_classes: int | None = None) -> list[Any]:
    """Keras metric objects/names for metric names of ``spec.METRICS`` (``num_classes``: a mask head's, for mean IoU)."""
    import keras

    out: list[Any] = []
    for m in names:
        if m == "accuracy":
            out.append("accuracy")
        elif m == "top_k_categorical_accuracy":
            out.append(keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy"))
        elif m == "sparse_top_k_categorical_accuracy":
            out.append(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy"))
        elif m == "auc":
            out.append(keras.metrics.AUC(name="auc"))
        elif m == "precision":
            out.append(keras.metrics.Precision(name="precision"))
        elif m == "recall":
            out.append(keras.metrics.Recall(name="recall"))
        elif m == "mean_absolute_error":
            out.append(keras.metrics.MeanAbsoluteError(name="mae"))
        elif m == "iou":
            from .losses import BoxIoU

            out.append(BoxIoU(name="iou"))
        elif m == "mean_iou":
            if not num_classes or num_classes < 2:
                raise SpecError('the metric "mean_iou" needs a mask head with one output channel a class (2 or more)')
            out.append(keras.metrics.MeanIoU(int(num_classes), sparse_y_pred=False, name="mean_iou"))
        else:
            raise SpecError(f'unknown metric "{m}"')
    return out


def compile_model(model: Any, settings: CompileSpec, heads: list[HeadSpec] | None = None) -> Any:
    """Compile ``model`` with the spec's optimizer and learning rate; returns it.

    One output: the compile settings' loss and metrics. Several heads (a model whose outputs
    are a dict keyed by head name): each head's own loss, loss weight and metrics.
    """
    settings.validate()
    if heads and len(heads) > 1:
        model.compile(
            optimizer=make_optimizer(settings),
            loss={h.name: loss_object(h.loss) for h in heads},
            loss_weights={h.name: float(h.loss_weight) for h in heads},
            metrics={h.name: metric_objects(h.metrics, _channels(model, h.name)) for h in heads},
        )
        return model
    if heads and not model_has_dict_outputs(model):
        head = heads[0]
        model.compile(optimizer=make_optimizer(settings), loss=loss_object(head.loss),
                      metrics=metric_objects(head.metrics, _channels(model, None)))
        return model
    model.compile(optimizer=make_optimizer(settings), loss=settings.loss, metrics=make_metrics(settings))
    return model


def _channels(model: Any, head: str | None) -> int | None:
    """The last dimension of a model's output (``head`` of a dict of outputs); None when unknown."""
    out = getattr(model, "output", None)
    if isinstance(out, dict):
        out = out.get(head) if head is not None else None
    elif isinstance(out, (list, tuple)):
        out = None
    try:
        return int(out.shape[-1]) if out is not None and out.shape[-1] is not None else None
    except (AttributeError, TypeError):
        return None


def model_has_dict_outputs(model: Any) -> bool:
    """True when the model's outputs are a dict (one entry per head)."""
    return isinstance(getattr(model, "_outputs_struct", None), dict) or isinstance(getattr(model, "output", None), dict)


def build_model(spec: ModelSpec, compile: bool = True, load_weights: bool = True,
                progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None,
                initial_weights: dict[str, Any] | None = None) -> Any:
    """Build (and compile) the ``keras.Model`` of ``spec``; raises SpecError for an invalid design.

    ``load_weights=False`` builds pretrained bases with random weights (tests, quick previews).
    ``initial_weights`` (``ImportResult.weights`` of an opened model) go back onto every node left
    unchanged since it was opened; the others start fresh (pretrained bases are then not downloaded:
    their weights come from the opened model).
    """
    if initial_weights:
        load_weights = False
    spec.validate()
    summary = summarize(spec)  # shapes are checked without Keras, so errors read as ours, not Keras's
    while summary.pending or summary.pending_layers:  # not measured yet: measure now (we build with Keras anyway)
        for application, shape in summary.pending:
            measure_base(application, shape, cancel=cancel)
        for key in summary.pending_layers:
            measure_keras_layer(key, cancel=cancel)
        summary = summarize(spec)
    if not summary.valid:
        raise SpecError(summary.error)
    if not spec.layers:
        raise SpecError("the design has no layers: add at least one layer")
    check_cancel(cancel)
    import keras

    names = spec.layer_names()
    n = len(spec.layers)
    inputs = keras.Input(shape=tuple(spec.input_shape), name="input_layer")
    tensors: dict[str, Any] = {INPUT_ID: inputs}
    try:
        for i, (layer, name) in enumerate(zip(spec.layers, names)):
            check_cancel(cancel)
            report(progress, i, n, f"adding {name}")
            sources = []
            for src, port in spec.inputs_of(i):
                t = tensors[src]
                sources.append(t[port] if isinstance(t, (list, tuple)) else t)
            # merges take a list; a kept Keras layer (merge-capable) with one input takes the tensor itself
            x = sources if layer.kind in MERGE_LAYERS or (layer.kind == "KerasLayer" and len(sources) > 1) else sources[0]
            tensors[layer.id] = _apply(layer, name, x, spec, load_weights, progress, cancel)
    except ConvExplorerError:
        raise
    except (ValueError, TypeError) as exc:  # Keras refused something the summary let through
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"{layer.kind} {name!r}: Keras refused it: {first}") from None
    heads = spec.output_heads()
    if len(heads) > 1:
        outputs: Any = {h.name: tensors[h.node] for h in heads}
    else:
        outputs = tensors[heads[0].node]
    model = keras.Model(inputs, outputs, name=keras_model_name(spec.name))
    if initial_weights:
        from .importer import apply_weights

        apply_weights(model, spec, initial_weights)
    if compile:
        compile_model(model, spec.compile, spec.heads or None)
    report(progress, n, n, "model built")
    return model
