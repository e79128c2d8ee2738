"""See inside a convnet: predictions, feature maps, Grad-CAM, saliency, filter patterns, receptive fields.

Every function takes a Keras model and an image ``H x W x C`` (float, already
sized and preprocessed for the model; :func:`prepare_image` does the sizing).
It works for Sequential models without an ``Input``, functional models and
nested models (a ``keras.applications`` base inside a Sequential): the model's
layers are re-run on a fresh ``keras.Input`` (same layers, same weights),
walking into nested models, so every inner layer has a name such as
``"mobilenetv2_1.00_96/Conv_1"``. That trace, and the extractors built on it
(wrapped in ``tf.function``), are made once per model and input shape and
cached; interactive calls never use ``model.predict``.

Models with several outputs (a dict keyed by head name, as the Builder makes
for graph designs, or a list) are inspected one head at a time: every
prediction and map takes ``head`` (a name from :func:`output_heads`; None: the
first classifier head). A head is a classifier ("classes"), a box regressor
("boxes": four numbers ``[x0, y0, x1, y1]``, fractions of the image) or
something else ("values"); for a box head, Grad-CAM and saliency follow one
box coordinate, or the sum of the four.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .arithmetic import effective_kernel, same_padding
from .errors import ConvExplorerError, ShapeError
from .progress import ProgressFn, check_cancel, report

Shape = tuple[int, int, int]

_CONV_CLASSES = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Convolution2D")
_POOL_CLASSES = ("MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D")


class InspectError(ConvExplorerError):
    """A model or layer cannot be inspected the way it was asked."""


#: What each of a box head's four outputs is (Grad-CAM and saliency can follow one of them).
BOX_COORDINATES: tuple[str, ...] = ("x0 (left edge)", "y0 (top edge)", "x1 (right edge)", "y1 (bottom edge)")
#: Kinds of head: a classifier, a box regressor, anything else.
HEAD_KINDS: tuple[str, ...] = ("classes", "boxes", "values")


@dataclass(frozen=True)
class HeadInfo:
    """One output of the model: its name, output shape and kind ("classes", "boxes" or "values")."""

    name: str
    output_shape: tuple[int | None, ...]
    kind: str


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the re-traced model, in execution order."""

    name: str
    kind: str
    output_shape: tuple[int | None, ...]

    @property
    def spatial(self) -> bool:
        """True when the output is a feature map (batch x H x W x C)."""
        return len(self.output_shape) == 4

    @property
    def is_conv(self) -> bool:
        """True for convolution layers (Conv2D, DepthwiseConv2D, SeparableConv2D)."""
        return self.kind in _CONV_CLASSES


@dataclass
class _Record:
    name: str
    layer: Any
    tensor: Any
    inputs: list[int]  # indices of records feeding it; -1 is the image


class _StopTrace(Exception):
    pass


@dataclass
class _Trace:
    shape: Shape
    inp: Any
    records: list[_Record]
    #: The default head's output tensor and its pre-softmax scores (the only head of most models).
    output: Any
    logits: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    fns: dict = field(default_factory=dict)
    #: Every head: name -> output tensor, pre-softmax scores and kind, in the model's order.
    outputs: dict = field(default_factory=dict)
    head_logits: dict = field(default_factory=dict)
    head_kinds: dict = field(default_factory=dict)
    default_head: str = ""

    def head(self, name: str | None) -> str:
        """The head called ``name`` (None: the default head); InspectError naming the heads if there is none."""
        if name is None or name == "":
            return self.default_head
        if name in self.outputs:
            return name
        raise InspectError(f"the model has no output (head) named {name!r}; its heads are: {', '.join(self.outputs)}")

    def index(self, name: str) -> int:
        for i, r in enumerate(self.records):
            if r.name == name:
                return i
        short = [i for i, r in enumerate(self.records) if r.name.rsplit("/", 1)[-1] == name]
        if len(short) == 1:
            return short[0]
        known = ", ".join(r.name for r in self.records[:12]) + (" ..." if len(self.records) > 12 else "")
        raise InspectError(f"the model has no layer named {name!r}; its layers are: {known}")

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        with self.lock:
            fn = self.fns.get(key)
            if fn is None:
                fn = self.fns[key] = make()
            return fn


_traces: "weakref.WeakKeyDictionary[Any, dict[Any, _Trace]]" = weakref.WeakKeyDictionary()
_traces_lock = threading.RLock()


def _is_model(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.Model)


def _flat_tensors(obj: Any) -> list[Any]:
    import keras

    return [t for t in keras.tree.flatten(obj) if isinstance(t, keras.KerasTensor)]


def _rank(t: Any) -> int:
    """Rank of a tensor's shape; -1 for a structure (a nested model's dict or list of outputs)."""
    shape = getattr(t, "shape", None)
    return len(shape) if shape is not None else -1


def _trace_model(model: Any, x: Any, prefix: str, records: list[_Record], ids: dict[int, int], stop_at: str | None) -> Any:
    """Run ``model``'s layers on the symbolic ``x``, appending one record per layer."""
    import keras

    def apply(layer: Any, *args: Any, **kwargs: Any) -> Any:
        name = prefix + layer.name
        if _is_model(layer) and len(_flat_tensors((args, kwargs))) == 1:
            (inner,) = _flat_tensors((args, kwargs))
            out = _trace_model(layer, inner, name + "/", records, ids, stop_at)
            # Make the nested model's own output addressable by its name too (its inputs: the inner
            # layers that made its outputs; a nested model with several outputs keeps them theirs).
            flat = _flat_tensors(out)
            records.append(_Record(name, layer, out, [ids.get(id(t), -1) for t in flat]))
            if len(flat) == 1:
                ids[id(flat[0])] = len(records) - 1
        else:
            inputs = _flat_tensors((args, kwargs))
            out = layer(*args, **kwargs)
            records.append(_Record(name, layer, out, [ids.get(id(t), -1) for t in inputs]))
            for t in _flat_tensors(out):
                ids[id(t)] = len(records) - 1
        if stop_at is not None and name == stop_at:
            raise _StopTrace()
        return out

    if isinstance(model, keras.Sequential):
        for layer in model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            x = apply(layer, x)
        return x
    if hasattr(model, "_run_through_graph") and getattr(model, "_inputs_struct", None) is not None:
        n_inputs = len(model.inputs)
        if n_inputs != 1:
            raise InspectError(f"only models with one image input can be inspected; {model.name} has {n_inputs} inputs")

        def operation_fn(op: Any) -> Callable[..., Any]:
            return lambda *a, **k: apply(op, *a, **k)

        return model._run_through_graph(x, operation_fn=operation_fn)
    # A subclassed model: a black box with a single record.
    out = model(x)
    records.append(_Record(prefix.rstrip("/") or model.name, model, out, [-1]))
    return out


def input_shape(model: Any) -> Shape | None:
    """The model's input ``(H, W, C)`` when it is fixed (``None`` entries for free sizes), else None."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        shape = tuple(inputs[0].shape[1:])
        if len(shape) == 3:
            return tuple(None if v is None else int(v) for v in shape)  # type: ignore[return-value]
        raise InspectError(f"expected a model taking images (batch, H, W, C), received input shape {inputs[0].shape}")
    return None


def _producer(records: list[_Record], ids: dict[int, int], tensor: Any) -> int:
    """Index of the record (a layer, not a nested model) that made ``tensor``; -1 if unknown."""
    i = ids.get(id(tensor), -1)
    while 0 <= i < len(records) and _is_model(records[i].layer) and len(records[i].inputs) == 1:
        i = records[i].inputs[0]
    return i


def _activation_name(record: _Record) -> str:
    layer = record.layer
    kind = type(layer).__name__
    if kind == "Softmax":
        return "softmax"
    return getattr(getattr(layer, "activation", None), "__name__", "")


def _logits_for(records: list[_Record], output: Any, producer: int | None = None) -> Any:
    """The pre-softmax scores when ``output`` comes from a softmax we can undo, else the output."""
    import keras

    if not records:
        return output
    last = records[-1] if producer is None else (records[producer] if producer >= 0 else None)
    if last is None:
        return output
    layer = last.layer
    kind = type(layer).__name__
    act = getattr(layer, "activation", None)
    act_name = getattr(act, "__name__", "")
    if kind == "Softmax" or (kind == "Activation" and act_name == "softmax"):
        src = last.inputs[0] if last.inputs else -1
        return records[src].tensor if src >= 0 else output
    if kind == "Dense" and act_name == "softmax" and last.inputs and last.inputs[0] >= 0:
        h = records[last.inputs[0]].tensor
        z = keras.ops.matmul(h, layer.kernel)
        return keras.ops.add(z, layer.bias) if getattr(layer, "use_bias", False) else z
    return output


def _get_trace(model: Any, shape: Sequence[int | None], stop_at: str | None = None) -> _Trace:
    """The cached re-trace of ``model`` for inputs of ``shape`` (H, W, C)."""
    import keras

    key = (tuple(shape), stop_at)
    with _traces_lock:
        per_model = _traces.get(model)
        if per_model is None:
            per_model = _traces[model] = {}
        trace = per_model.get(key)
        if trace is not None:
            return trace
        inp = keras.Input(shape=tuple(shape))
        records: list[_Record] = []
        ids: dict[int, int] = {id(inp): -1}
        try:
            output = _trace_model(model, inp, "", records, ids, stop_at)
        except _StopTrace:
            output = records[-1].tensor
        except InspectError:
            raise
        except Exception as exc:  # noqa: BLE001 - keras raises many kinds on shape mismatch
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            fixed = input_shape(model)
            want = f" it expects {fixed[0]}x{fixed[1]}x{fixed[2]}" if fixed else ""
            raise ShapeError(
                f"the model cannot take an image of {shape[0]}x{shape[1]}x{shape[2]};{want} ({first})"
            ) from None
        if not records:
            raise InspectError("the model has no layers to inspect")
        if stop_at is not None:
            trace = _Trace(tuple(shape), inp, records, output, output)  # type: ignore[arg-type]
        else:
            trace = _trace_with_heads(model, tuple(shape), inp, records, ids, output)  # type: ignore[arg-type]
        per_model[key] = trace
        return trace


def _head_tensors(model: Any, records: list[_Record], ids: dict[int, int], output: Any) -> dict[str, Any]:
    """The model's outputs by head name, in the model's order (a single output: named after its layer)."""
    if isinstance(output, dict):
        struct = getattr(model, "_outputs_struct", None)
        order = [k for k in struct if k in output] if isinstance(struct, dict) else []
        return {str(k): output[k] for k in order + [k for k in output if k not in order]}
    flat = _flat_tensors(output)
    if len(flat) > 1:
        try:
            names = [str(n) for n in (getattr(model, "output_names", None) or [])]
        except Exception:  # noqa: BLE001 - a model that cannot name its outputs
            names = []
        if len(names) != len(flat) or len(set(names)) != len(names):
            names = [f"output_{k + 1}" for k in range(len(flat))]
        return dict(zip(names, flat))
    if not flat:
        return {}
    i = _producer(records, ids, flat[0])
    name = records[i].name.rsplit("/", 1)[-1] if i >= 0 else (getattr(model, "name", "") or "output")
    return {name: flat[0]}


def _head_kind(records: list[_Record], producer: int, tensor: Any, several: bool) -> str:
    """"classes" for a classifier, "boxes" for four box numbers, else "values" (one-output models: as before)."""
    if _rank(tensor) != 2:
        return "values"
    if not several:
        return "classes"  # one output of rank 2: treated as class scores, as always
    act = _activation_name(records[producer]) if producer >= 0 else ""
    units = tensor.shape[-1]
    if act == "softmax" or (units == 1 and act == "sigmoid"):
        return "classes"
    if units == 4:
        return "boxes"
    return "classes"


def _trace_with_heads(model: Any, shape: Shape, inp: Any, records: list[_Record], ids: dict[int, int],
                      output: Any) -> _Trace:
    heads = _head_tensors(model, records, ids, output)
    if not heads:
        raise InspectError("the model has no output to inspect")
    several = len(heads) > 1
    logits, kinds = {}, {}
    for name, t in heads.items():
        prod = _producer(records, ids, t)
        kinds[name] = _head_kind(records, prod, t, several)
        if not several:
            logits[name] = _logits_for(records, t)  # as always: the last layer's softmax undone
        else:
            logits[name] = _logits_for(records, t, prod) if kinds[name] == "classes" else t
    default = next((n for n in heads if kinds[n] == "classes"), next(iter(heads)))
    return _Trace(shape, inp, records, heads[default], logits[default], outputs=heads, head_logits=logits,
                  head_kinds=kinds, default_head=default)


def _image_batch(model: Any, image: np.ndarray) -> tuple[np.ndarray, Shape]:
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ShapeError(f"expected one image H x W x C, received an array of shape {np.shape(image)}")
    fixed = input_shape(model)
    if fixed is not None:
        for got, want, what in zip(arr.shape, fixed, ("height", "width", "channels")):
            if want is not None and got != want:
                raise ShapeError(
                    f"the model expects images of {_fmt(fixed)}, received {_fmt(arr.shape)} ({what} differs); "
                    "resize the image first"
                )
    shape = tuple(int(v) for v in arr.shape)
    return arr[None], shape  # type: ignore[return-value]


def _fmt(shape: Sequence[int | None]) -> str:
    return "x".join("?" if v is None else str(v) for v in shape)


def _tf_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    import tensorflow as tf

    return tf.function(fn, reduce_retracing=True)


def layers(model: Any, image_shape: Sequence[int] | None = None) -> list[LayerInfo]:
    """Every layer (nested ones as ``outer/inner``) with its kind and output shape."""
    shape = _default_shape(model, image_shape)
    trace = _get_trace(model, shape)
    return [LayerInfo(r.name, type(r.layer).__name__, tuple(r.tensor.shape)) for r in trace.records if hasattr(r.tensor, "shape")]


def output_heads(model: Any, image_shape: Sequence[int] | None = None) -> list[HeadInfo]:
    """The model's outputs (heads) in its order: one for most models, one per head for graph designs.

    The kind is read from the model: a softmax (or one sigmoid unit) is a classifier
    ("classes"); among several outputs, four numbers without a softmax are a box
    ("boxes"); an output that is not ``(batch, n)`` is "values". A model with a single
    ``(batch, n)`` output is a classifier, as it always was here.
    """
    trace = _get_trace(model, _default_shape(model, image_shape))
    return [HeadInfo(n, tuple(t.shape), trace.head_kinds[n]) for n, t in trace.outputs.items()]


def default_head(model: Any, image_shape: Sequence[int] | None = None) -> str:
    """The head used when none is named: the first classifier head, else the first head."""
    return _get_trace(model, _default_shape(model, image_shape)).default_head


def _default_shape(model: Any, image_shape: Sequence[int] | None) -> Shape:
    if image_shape is not None:
        return tuple(int(v) for v in image_shape)  # type: ignore[return-value]
    fixed = input_shape(model)
    if fixed is None or any(v is None for v in fixed):
        raise InspectError("this model does not fix its input size: give the image shape")
    return fixed  # type: ignore[return-value]


def default_conv_layer(model: Any, image_shape: Sequence[int] | None = None) -> str:
    """The last convolution layer with a spatial output larger than 1x1 (Grad-CAM's default)."""
    infos = layers(model, image_shape)

    def area(info: LayerInfo) -> int:
        h, w = info.output_shape[1:3]
        return (h or 2) * (w or 2)

    # Prefer maps larger than 1x1: a 1x1 conv classifier after global pooling (MobileNet's
    # conv_preds) is a conv layer, but a class map from it would have one pixel.
    for wanted in (lambda i: i.is_conv and area(i) > 1, lambda i: i.is_conv, lambda i: area(i) > 1, lambda i: True):
        for info in reversed(infos):
            if info.spatial and wanted(info):
                return info.name
    raise InspectError("the model has no layer with a spatial (H x W x C) output, so there is nothing to map")


# --- predictions ------------------------------------------------------------------------------


def _probabilities(raw: np.ndarray) -> np.ndarray:
    """Turn a model's output row into probabilities (softmax when it is not one already)."""
    v = np.asarray(raw, dtype=np.float64).ravel()
    if v.size == 1:
        p = float(v[0]) if 0.0 <= v[0] <= 1.0 else 1.0 / (1.0 + np.exp(-float(v[0])))
        return np.array([1.0 - p, p])
    if np.all(v >= 0) and np.all(v <= 1) and abs(v.sum() - 1.0) < 1e-3:
        return v
    e = np.exp(v - v.max())
    return e / e.sum()


def predict_outputs(model: Any, image: np.ndarray) -> dict[str, np.ndarray]:
    """Every head's raw output for one image, by head name (one cached tf.function call for all)."""
    batch, shape = _image_batch(model, image)
    trace = _get_trace(model, shape)
    names = list(trace.outputs)

    def make() -> Callable[..., Any]:
        import keras

        m = keras.Model(trace.inp, [trace.outputs[n] for n in names])
        return _tf_function(lambda x: m(x, training=False))

    fn = trace.cached("predict", make)
    outs = fn(batch)
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    return {n: np.asarray(o)[0] for n, o in zip(names, outs)}


def predict(model: Any, image: np.ndarray, head: str | None = None) -> np.ndarray:
    """Class probabilities of one image from a classifier head (a cached tf.function; never ``model.predict``)."""
    _batch, shape = _image_batch(model, image)
    trace = _get_trace(model, shape)
    name = trace.head(head)
    out = predict_outputs(model, image)[name][None]
    if out.ndim != 2:
        raise InspectError(f"expected a classifier with output (batch, classes), received output shape {out.shape}")
    if trace.head_kinds[name] != "classes":
        raise InspectError(f"head {name!r} predicts {_kind_words(trace.head_kinds[name])}, not classes")
    return _probabilities(out[0])


def _kind_words(kind: str) -> str:
    return {"boxes": "a box [x0, y0, x1, y1]", "classes": "classes"}.get(kind, "values")


def predict_box(model: Any, image: np.ndarray, head: str | None = None) -> np.ndarray:
    """The box ``[x0, y0, x1, y1]`` (fractions of the image, as the head learnt them) a box head predicts."""
    _batch, shape = _image_batch(model, image)
    trace = _get_trace(model, shape)
    name = trace.head(head) if head is not None else next(
        (n for n, k in trace.head_kinds.items() if k == "boxes"), trace.default_head)
    if trace.head_kinds[name] != "boxes":
        raise InspectError(f"head {name!r} is not a box head (it predicts {_kind_words(trace.head_kinds[name])})")
    return np.asarray(predict_outputs(model, image)[name], np.float32).reshape(4)


def predict_topk(
    model: Any, image: np.ndarray, k: int = 5, labels: Sequence[str] | None = None, head: str | None = None
) -> list[tuple[int, Optional[str], float]]:
    """The ``k`` most likely classes as (class index, label or None, probability), best first."""
    probs = predict(model, image, head)
    k = max(1, min(int(k), probs.size))
    idx = np.argsort(-probs, kind="stable")[:k]
    return [(int(i), (labels[i] if labels is not None and i < len(labels) else None), float(probs[i])) for i in idx]


# --- feature maps -----------------------------------------------------------------------------


def feature_maps(
    model: Any, image: np.ndarray, layers: Sequence[str] | None = None
) -> list[tuple[str, np.ndarray]]:
    """Activations ``H x W x C`` of the named layers (default: every layer with a spatial output).

    A layer without a spatial output, when named, comes back as ``1 x 1 x units``.
    """
    batch, shape = _image_batch(model, image)
    trace = _get_trace(model, shape)
    if layers is None:
        idx = [i for i, r in enumerate(trace.records) if _rank(r.tensor) == 4]
    else:
        idx = [trace.index(n) for n in layers]
    if not idx:
        return []
    key = ("maps", tuple(idx))

    def make() -> Callable[..., Any]:
        import keras

        m = keras.Model(trace.inp, [trace.records[i].tensor for i in idx])
        return _tf_function(lambda x: m(x, training=False))

    fn = trace.cached(key, make)
    outs = fn(batch)
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    result = []
    for i, out in zip(idx, outs):
        a = np.asarray(out)[0]
        if a.ndim == 1:
            a = a[None, None, :]
        elif a.ndim == 2:
            a = a[None]
        result.append((trace.records[i].name, a))
    return result


# --- class activation maps --------------------------------------------------------------------


@dataclass(frozen=True)
class GradCam:
    """A Grad-CAM result: the map at the image's size and what it was computed for."""

    heatmap: np.ndarray  # H x W in [0, 1] at the image's size
    coarse: np.ndarray  # the map at the conv layer's resolution, before upsampling
    #: The class (classifier head) or box coordinate (box head; -1: the sum of the four) followed.
    class_index: int
    layer_name: str
    #: Class probabilities (classifier head) or the head's raw output (the box of a box head).
    probabilities: np.ndarray
    #: The head the map was computed for and its kind ("classes", "boxes", "values").
    head: str = ""
    kind: str = "classes"

    @property
    def target(self) -> str:
        """What the map follows, in words: "class 2", "x0 (left edge)", "the sum of the four box coordinates"."""
        if self.kind == "classes":
            return f"class {self.class_index}"
        if self.class_index < 0:
            return "the sum of the four box coordinates" if self.kind == "boxes" else "the sum of the outputs"
        if self.kind == "boxes" and self.class_index < len(BOX_COORDINATES):
            return BOX_COORDINATES[self.class_index]
        return f"output {self.class_index}"


def _spatial_record(trace: _Trace, layer_name: str, purpose: str) -> int:
    i = trace.index(layer_name)
    rank = _rank(trace.records[i].tensor)
    if rank != 4:
        shape = getattr(trace.records[i].tensor, "shape", None)
        what = f"shape {tuple(shape)}" if shape is not None else "several tensors"
        raise ShapeError(
            f"{purpose} needs a layer with a spatial (H x W x channels) output; "
            f"{trace.records[i].name!r} outputs {what}"
        )
    return i


def _resize_map(m: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    img = Image.fromarray(np.asarray(m, dtype=np.float32), mode="F").resize((hw[1], hw[0]), Image.BILINEAR)
    return np.asarray(img, dtype=np.float32)


def _class_scores(trace: _Trace, head: str) -> Any:
    scores = trace.head_logits[head]
    if _rank(scores) != 2:
        raise InspectError(
            f"class maps need a head with output (batch, classes), received output shape "
            f"{tuple(trace.outputs[head].shape)}"
        )
    return scores


def _check_target(trace: _Trace, head: str, index: int | None) -> None:
    n = int(trace.outputs[head].shape[-1])
    kind = trace.head_kinds[head]
    if index is None or (kind != "classes" and int(index) == -1):
        return
    if not 0 <= int(index) < n:
        what = "box coordinate" if kind == "boxes" else ("class index" if kind == "classes" else "output")
        raise InspectError(f"{what} must be between 0 and {n - 1}, received {index}")


def _pick_score(kind: str, scores: Any, cls: Any) -> tuple[Any, Any]:
    """The scalar a map follows and its index: a class (argmax when ``cls`` < 0), a box coordinate or the sum."""
    import tensorflow as tf

    if kind == "classes":
        c = tf.where(cls < 0, tf.argmax(scores[0], output_type=tf.int32), cls)
        return scores[0, c], c
    total = tf.reduce_sum(scores[0])
    one = scores[0, tf.maximum(cls, 0)]
    return tf.where(cls < 0, total, one), cls


def grad_cam_details(
    model: Any, image: np.ndarray, class_index: int | None = None, layer_name: str | None = None,
    head: str | None = None,
) -> GradCam:
    """Grad-CAM (Selvaraju et al.): d score / d conv output, GAP weights, weighted sum, ReLU, normalised.

    ``head`` picks the output of a model with several (None: the first classifier head).
    For a classifier head the score is the class's pre-softmax score (``class_index``;
    None: the top class); for a box head it is box coordinate ``class_index``
    (0-3: x0, y0, x1, y1) or, for None, the sum of the four.
    """
    batch, shape = _image_batch(model, image)
    trace = _get_trace(model, shape)
    hname = trace.head(head)
    kind = trace.head_kinds[hname]
    name = layer_name or default_conv_layer(model, shape)
    i = _spatial_record(trace, name, "Grad-CAM")
    scores_t = _class_scores(trace, hname)
    out_t = trace.outputs[hname]

    def make() -> Callable[..., Any]:
        import keras
        import tensorflow as tf

        conv_t = trace.records[i].tensor
        try:
            # Split at the conv layer: the part before it runs without a tape, so the
            # gradient costs only the head (falls back when a skip connection jumps it).
            body = keras.Model(trace.inp, conv_t)
            head = keras.Model(conv_t, [scores_t, out_t])
        except Exception:  # noqa: BLE001 - "graph disconnected": a branch bypasses the layer
            body = head = None
        whole = keras.Model(trace.inp, [conv_t, scores_t, out_t])

        def cam_from(conv: Any, grads: Any) -> Any:
            weights = tf.reduce_mean(grads, axis=(1, 2))
            return tf.nn.relu(tf.reduce_sum(conv * weights[:, None, None, :], axis=-1))

        def run(x: Any, cls: Any) -> Any:
            if head is not None:
                conv = body(x, training=False)
                with tf.GradientTape() as tape:
                    tape.watch(conv)
                    scores, out = head(conv, training=False)
                    score, c = _pick_score(kind, scores, cls)
            else:
                with tf.GradientTape() as tape:
                    conv, scores, out = whole(x, training=False)
                    score, c = _pick_score(kind, scores, cls)
            grads = tape.gradient(score, conv)
            return cam_from(conv, grads)[0], c, out[0]

        return _tf_function(run)

    fn = trace.cached(("gradcam", i, hname), make)
    _check_target(trace, hname, class_index)
    import tensorflow as tf

    cam, c, out = fn(batch, tf.constant(-1 if class_index is None else int(class_index), tf.int32))
    cam = np.asarray(cam, dtype=np.float32)
    top = float(cam.max()) if cam.size else 0.0
    cam = cam / top if top > 0 else np.zeros_like(cam)
    heat = np.clip(_resize_map(cam, shape[:2]), 0.0, 1.0)
    values = _probabilities(np.asarray(out)) if kind == "classes" else np.asarray(out, np.float32).ravel()
    return GradCam(heat, cam, int(c), trace.records[i].name, values, hname, kind)


def grad_cam(model: Any, image: np.ndarray, class_index: int | None = None, layer_name: str | None = None,
             head: str | None = None) -> np.ndarray:
    """Grad-CAM heat map ``H x W`` in [0, 1] at the image's size (top class and last conv layer by default)."""
    return grad_cam_details(model, image, class_index, layer_name, head).heatmap


def saliency(model: Any, image: np.ndarray, class_index: int | None = None, head: str | None = None) -> np.ndarray:
    """Gradient saliency: |d score / d pixel|, max over channels, normalised to [0, 1].

    The score is chosen as in :func:`grad_cam_details`: a class of a classifier head (None:
    the top class), a coordinate of a box head (None: the sum of the four).
    """
    batch, shape = _image_batch(model, image)
    trace = _get_trace(model, shape)
    hname = trace.head(head)
    kind = trace.head_kinds[hname]
    scores_t = _class_scores(trace, hname)
    _check_target(trace, hname, class_index)

    def make() -> Callable[..., Any]:
        import keras
        import tensorflow as tf

        m = keras.Model(trace.inp, scores_t)

        def run(x: Any, cls: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                scores = m(x, training=False)
                score, _c = _pick_score(kind, scores, cls)
            g = tape.gradient(score, x)
            return tf.reduce_max(tf.abs(g[0]), axis=-1)

        return _tf_function(run)

    fn = trace.cached(("saliency", hname), make)
    import tensorflow as tf

    sal = np.asarray(fn(tf.constant(batch), tf.constant(-1 if class_index is None else int(class_index), tf.int32)))
    top = float(sal.max())
    return (sal / top if top > 0 else np.zeros_like(sal)).astype(np.float32)


# --- attribution methods and their sanity check (convexplorer.core.attribution) --------------


def attribution(model: Any, image: np.ndarray, method: str, class_index: int | None = None, **options: Any) -> np.ndarray:
    """An attribution map of one image: float32 ``H x W`` at the image's size, in [0, 1] unless ``normalize=False``.

    ``method`` is one of "saliency", "smoothgrad", "integrated_gradients", "gradcam",
    "gradcam++", "scorecam", "occlusion" (``attribution.METHODS``). The map follows one
    score: the pre-softmax score of class ``class_index`` (None: the top class) of a
    classifier head, or box coordinate ``class_index`` (0-3; None: the sum of the four) of
    a box head, as :func:`grad_cam_details`. Unknown methods or options raise
    ``AttributionError`` (an :class:`InspectError`) naming the accepted ones.

    Options (``attribution.OPTIONS`` lists them per method), with their defaults:

    * every method: ``head=None`` (a head name from :func:`output_heads`; None: the first
      classifier head), ``normalize=True`` (False: the raw map; "saliency" and "gradcam"
      come normalised only and refuse False), ``progress=None`` (``progress(done, total,
      message)``; one-pass methods report (1, 1) when done) and ``cancel=None`` (a
      ``threading.Event``; once set, ``Cancelled`` is raised before the next batch).
    * "saliency": ``max_c |d score / d pixel|`` over its max (:func:`saliency`).
    * "gradcam", "gradcam++", "scorecam": ``layer_name=None`` (the last conv layer,
      :func:`default_conv_layer`). Maps are ReLU'd, upsampled bilinearly, over their max.
    * "scorecam": ``channels=None`` (all; k: the k channels whose activations vary most).
    * "smoothgrad": ``samples=25``, ``noise=0.15`` (sigma as a fraction of the image's
      max - min), ``seed=0``; the mean of the noisy copies' saliency maps, over its max.
    * "integrated_gradients": ``baseline=None`` (a black image; or a number, or an image
      of the input's shape), ``steps=32`` (midpoint rule). ``normalize=False`` returns the
      signed attributions summed over channels: they add up to about f(x) - f(baseline)
      (``attribution.integrated_gradients`` returns both with the gap).
    * "occlusion": ``patch=None`` (int or (h, w); None: 1/8 of the shorter side),
      ``stride=None`` (half the patch), ``fill=0.0`` (or "mean"); raw = the mean drop of
      the score over the patches covering each pixel.
    * signed methods ("integrated_gradients", "occlusion"): ``sign="positive"`` (the
      normalised map is ``max(raw, 0) / max``: evidence for the score) or "absolute"
      (``|raw| / max |raw|``).
    * looping methods ("smoothgrad", "integrated_gradients", "scorecam", "occlusion"):
      ``batch_size=None`` (images per batch; None: as many as fit 64 MB of activations on
      a CPU, 1 GB on a GPU, at most 64: ``attribution.auto_batch_size``); they report
      progress after every batch.
    """
    from .attribution import attribution as _attribution

    return _attribution(model, image, method, class_index, **options)


def randomization_check(model: Any, image: np.ndarray, method: str, layers: Sequence[str] | int | None = None,
                        **options: Any) -> list:
    """Model-randomization sanity check (Adebayo et al. 2018): how far a map moves when weights are made random.

    A copy of the model (``keras.models.clone_model`` + the weights; the model itself is
    never changed) has its layers re-initialised from the output down, each with its own
    initializers, seeded (weights without one are shuffled). ``layers``: None (every layer
    with weights, nested ones as ``outer/inner``, top first: ``attribution.weighted_layers``),
    an int k (the top k of those) or names (randomized in the order given).
    Keyword options: ``cascading=True`` (False: each layer alone on otherwise intact
    weights), ``seed=0``, ``class_index=None`` (resolved once on the original model and
    kept), ``progress``, ``cancel``, and the method's own options as in :func:`attribution`.

    Returns a list of ``attribution.RandomizationStep(layer, randomized, correlation,
    heatmap)``: first the copy before any change (layer "", correlation about 1), then one
    per layer in ``layers``; ``correlation`` is the Spearman rank correlation of the
    step's map with the original map (nan when either map is constant), ``heatmap`` the
    map as :func:`attribution` returns it.
    """
    from .attribution import randomization_check as _check

    return _check(model, image, method, layers, **options)


# --- weights and filters ----------------------------------------------------------------------


def first_layer_kernels(model: Any, image_shape: Sequence[int] | None = None) -> tuple[str, np.ndarray]:
    """The first convolution's kernels as ``kh x kw x c_in x filters`` (its name too)."""
    shape = _default_shape(model, image_shape)
    trace = _get_trace(model, shape)
    for r in trace.records:
        if type(r.layer).__name__ in ("Conv2D", "Convolution2D"):
            return r.name, np.asarray(r.layer.kernel)
        if type(r.layer).__name__ == "DepthwiseConv2D":
            return r.name, np.asarray(r.layer.kernel)
    raise InspectError("the model has no convolution layer, so there are no kernels to show")


def filter_patterns(
    model: Any,
    layer_name: str,
    filters: Sequence[int] | int,
    steps: int = 40,
    size: int | None = None,
    step_size: float = 10.0,
    batch_size: int | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
    seed: int = 0,
) -> np.ndarray:
    """Inputs that maximise each filter (gradient ascent), ``N x size x size x C`` in [0, 1].

    Up to ``batch_size`` filters are optimised together in one batch: each image
    in the batch climbs the mean activation of its own filter (borders excluded).
    ``None`` picks it from the activation memory (:func:`auto_batch_size`).
    """
    import tensorflow as tf

    if isinstance(filters, int):
        filters = range(filters)
    filt = [int(f) for f in filters]
    fixed = input_shape(model)
    channels = fixed[2] if fixed and fixed[2] else 3
    if size is None:
        size = fixed[0] if fixed and fixed[0] else 128
    size = int(size)
    if size < 8:
        raise ShapeError(f"the pattern size must be at least 8 pixels, received {size}")
    steps = int(steps)
    if steps < 1:
        raise ShapeError(f"the number of steps must be at least 1, received {steps}")
    shape = (size, size, channels)
    own = fixed if fixed is not None and None not in fixed else shape
    full = _get_trace(model, own)  # the model's own size: clear layer names and errors
    name = full.records[_spatial_record(full, layer_name, "Filter patterns")].name
    # Only the layers up to the chosen one run, so any pattern size works.
    trace = _get_trace(model, shape, stop_at=name)
    i = trace.index(name)
    n_filters = int(trace.records[i].tensor.shape[-1])
    bad = [f for f in filt if not 0 <= f < n_filters]
    if bad:
        raise InspectError(f"{name} has filters 0 to {n_filters - 1}, received {bad[0]}")

    def make() -> Callable[..., Any]:
        import keras

        m = keras.Model(trace.inp, trace.records[i].tensor)

        def step(images: Any, onehot: Any, lr: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(images)
                act = m(images, training=False)
                sel = tf.reduce_sum(act * onehot[:, None, None, :], axis=-1)
                h, w = act.shape[1], act.shape[2]
                if h is not None and w is not None and h > 4 and w > 4:
                    sel = sel[:, 2:-2, 2:-2]
                loss = tf.reduce_mean(sel, axis=(1, 2))
                total = tf.reduce_sum(loss)
            g = tape.gradient(total, images)
            g = tf.math.l2_normalize(g, axis=(1, 2, 3))
            return images + lr * g, loss

        return _tf_function(step)

    fn = trace.cached(("patterns", i), make)
    rng = np.random.default_rng(seed)
    out = np.empty((len(filt), size, size, channels), np.float32)
    bs = max(1, int(batch_size)) if batch_size else auto_batch_size(trace, i, len(filt))
    total = len(filt) * steps
    done = 0
    lr = tf.constant(float(step_size), tf.float32)
    for start in range(0, len(filt), bs):
        chunk = filt[start : start + bs]
        check_cancel(cancel)
        images = tf.constant(rng.uniform(0.4, 0.6, (len(chunk), *shape)).astype(np.float32))
        onehot = tf.constant(np.eye(n_filters, dtype=np.float32)[chunk])
        for _s in range(steps):
            check_cancel(cancel)
            images, _loss = fn(images, onehot, lr)
            done += len(chunk)
            report(progress, done, total, f"{name}: filters {start + 1}-{start + len(chunk)} of {len(filt)}")
        out[start : start + len(chunk)] = _deprocess(np.asarray(images))
    return out


#: Activation bytes per batch (largest layer) below which batching pays off. Measured with
#: benchmarks/inspect.py on a 2-core CPU: batching 16 filters of the MNIST preset was 4.7x
#: faster than one at a time, but 0.6x for VGG16 block3 at 64x64 (1 MB per image and
#: layer: the batch falls out of the cache). A GPU gets a far larger budget.
CPU_BATCH_BYTES = 1 << 20
GPU_BATCH_BYTES = 256 << 20


def auto_batch_size(trace: _Trace, upto: int, n_filters: int) -> int:
    """Filters per gradient-ascent batch: as many as fit the activation budget (1 to 64)."""
    import tensorflow as tf

    per_image = 4
    for r in trace.records[: upto + 1]:
        if _rank(r.tensor) < 0:
            continue
        dims = [d for d in r.tensor.shape[1:] if d is not None]
        per_image = max(per_image, 4 * int(np.prod(dims)) if dims else 4)
    budget = GPU_BATCH_BYTES if tf.config.list_logical_devices("GPU") else CPU_BATCH_BYTES
    return int(max(1, min(64, n_filters, budget // per_image)))


def _deprocess(images: np.ndarray) -> np.ndarray:
    """Standardise each pattern and map it to [0, 1] for display (as in Chollet's recipe)."""
    x = images.astype(np.float64)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = x.std(axis=(1, 2, 3), keepdims=True)
    x = (x - mean) / np.where(std > 0, std, 1.0)
    return np.clip(x * 0.25 + 0.5, 0.0, 1.0).astype(np.float32)


# --- receptive fields -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geo:
    start: float
    jump: float
    size: float
    full: bool = False


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    return int(v[0]), int(v[1])


def _layer_geo(layer: Any, geos: list[tuple[_Geo, _Geo]], in_shape: tuple, axis_full: tuple[_Geo, _Geo]) -> tuple[_Geo, _Geo]:
    kind = type(layer).__name__
    if not geos:
        return axis_full
    if any(g.full for pair in geos for g in pair):
        return axis_full
    if len(geos) > 1:
        merged = []
        for ax in range(2):
            gs = [p[ax] for p in geos]
            if len({g.jump for g in gs}) != 1:
                return axis_full
            lo = min(g.start for g in gs)
            hi = max(g.start + g.size for g in gs)
            merged.append(_Geo(lo, gs[0].jump, hi - lo))
        return merged[0], merged[1]
    gy, gx = geos[0]
    if len(in_shape) != 4:
        return axis_full
    if kind in _CONV_CLASSES or kind in _POOL_CLASSES:
        if kind in _POOL_CLASSES:
            k = _pair(layer.pool_size)
            s = _pair(layer.strides if layer.strides is not None else layer.pool_size)
            d = (1, 1)
        else:
            k, s, d = _pair(layer.kernel_size), _pair(layer.strides), _pair(layer.dilation_rate)
        pad = str(getattr(layer, "padding", "valid")).lower()
        out = []
        for ax, g in enumerate((gy, gx)):
            n = in_shape[1 + ax]
            if n is None:
                return axis_full
            p = same_padding(int(n), k[ax], s[ax], d[ax])[0] if pad == "same" else 0
            keff = effective_kernel(k[ax], d[ax])
            out.append(_Geo(g.start - p * g.jump, g.jump * s[ax], g.size + (keff - 1) * g.jump))
        return out[0], out[1]
    if kind == "ZeroPadding2D":
        (t, _b), (l, _r) = layer.padding
        return _Geo(gy.start - t * gy.jump, gy.jump, gy.size), _Geo(gx.start - l * gx.jump, gx.jump, gx.size)
    if kind == "Cropping2D":
        (t, _b), (l, _r) = layer.cropping
        return _Geo(gy.start + t * gy.jump, gy.jump, gy.size), _Geo(gx.start + l * gx.jump, gx.jump, gx.size)
    if kind in ("UpSampling2D", "Resizing", "Conv2DTranspose", "Reshape", "Flatten", "Dense") or kind.startswith("Global"):
        return axis_full
    return gy, gx  # element-wise layers: activations, normalisation, dropout, rescaling...


def receptive_field(
    model: Any, layer_name: str, y: int, x: int, image_shape: Sequence[int] | None = None
) -> tuple[int, int, int, int]:
    """The input region ``(top, left, bottom, right)`` (end exclusive, clipped) that feeds ``layer_name[y, x]``."""
    shape = _default_shape(model, image_shape)
    trace = _get_trace(model, shape)
    target = _spatial_record(trace, layer_name, "The receptive field")
    h, w = int(shape[0]), int(shape[1])
    full = (_Geo(0, 1, h, True), _Geo(0, 1, w, True))
    oh, ow = trace.records[target].tensor.shape[1:3]
    if not (0 <= y < (oh or 0) and 0 <= x < (ow or 0)):
        raise InspectError(f"location ({y}, {x}) is outside {trace.records[target].name}'s {oh}x{ow} map")
    geos: dict[int, tuple[_Geo, _Geo]] = {-1: (_Geo(0, 1, 1), _Geo(0, 1, 1))}
    for idx in range(target + 1):
        rec = trace.records[idx]
        ins = [geos[j] for j in rec.inputs if j in geos]
        src = trace.records[rec.inputs[0]].tensor if rec.inputs and rec.inputs[0] >= 0 else None
        in_shape = tuple(src.shape) if src is not None and _rank(src) >= 0 else (None, *shape)
        if _is_model(rec.layer):
            geos[idx] = ins[0] if ins else full  # the nested model's output record repeats its last layer
            continue
        geos[idx] = _layer_geo(rec.layer, ins, in_shape, full)
    gy, gx = geos[target]
    if gy.full:
        return 0, 0, h, w
    top, left = gy.start + y * gy.jump, gx.start + x * gx.jump
    bottom, right = top + gy.size, left + gx.size
    return (int(max(0, top)), int(max(0, left)), int(min(h, bottom)), int(min(w, right)))


# --- dataset examples (convexplorer.core.examples) --------------------------------------------


def top_activating_examples(
    model: Any,
    layer_name: str,
    filter_index: int,
    images: Any,
    k: int = 9,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
    **options: Any,
) -> list:
    """The ``k`` images (array ``N x H x W x C`` or Dataset) that activate one filter most: a list of
    ``(image index, activation, (y0, x0, y1, x1) box)``, best first; see :mod:`convexplorer.core.examples`."""
    from .examples import top_activating_examples as _top

    return _top(model, layer_name, filter_index, images, k, progress, cancel, **options)


# --- images -----------------------------------------------------------------------------------


def prepare_image(image: np.ndarray, shape: Sequence[int | None] | None, keep_aspect: bool = True) -> np.ndarray:
    """Fit a float ``H x W x C`` image in [0, 1] to a model's input ``(H, W, C)`` (resize/pad, channels)."""
    from .images import resize

    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ShapeError(f"expected an image H x W x C, received an array of shape {np.shape(image)}")
    if arr.shape[-1] == 4:
        arr = arr[..., :3] * arr[..., 3:] + (1.0 - arr[..., 3:])
    if shape is None:
        return arr
    th, tw, tc = shape
    if tc is not None and arr.shape[-1] != tc:
        if tc == 3 and arr.shape[-1] == 1:
            arr = np.repeat(arr, 3, axis=-1)
        elif tc == 1 and arr.shape[-1] == 3:
            arr = (arr @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
        else:
            raise ShapeError(f"the model takes {tc}-channel images, received {arr.shape[-1]} channels")
    if th is not None and tw is not None and (arr.shape[0], arr.shape[1]) != (th, tw):
        arr = resize(arr, (int(th), int(tw)), keep_aspect=keep_aspect)
    return arr.astype(np.float32)
