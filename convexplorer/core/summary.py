"""Shapes and parameter counts of a design, inferred without building Keras.

:func:`summarize` walks the graph of a :class:`~convexplorer.core.spec.ModelSpec`
node by node (each node's input shapes come from the nodes it reads, merges
combine them with Keras's rules) with the same arithmetic Keras uses
(``core.arithmetic`` for conv and pooling sizes) and returns one
:class:`SummaryRow` per Keras layer (the input, each node, the parts of a
residual block, a pretrained base as one row), in the order of
``model.layers`` of the functional model, with output shape, parameters, the
trainable / non-trainable split and the "Connected to" column, plus totals
and a memory estimate. The numbers equal ``model.summary()`` of the model
:func:`convexplorer.core.builder.build_model` makes, digit for digit (tests
check it). An invalid design does not raise: the offending rows carry the
reason (:meth:`Summary.node_errors`) and the rows that depend on them have no
shape. Layers whose parameters only Keras knows (pretrained bases outside the
three tabulated ones, layers kept as Keras config) are measured once by
``core.builder`` on a worker and cached here; until then their rows are
``pending``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Callable

from .arithmetic import conv_geometry
from .errors import ShapeError, SpecError
from .spec import INPUT_ID, LAYER_KINDS, LayerSpec, ModelSpec, describe_layer, normalize_quad, pair, validate_layer

Shape = tuple  # (None, ...) like Keras
#: What identifies a measured Keras layer: (class name, its config as sorted JSON without the name, input shapes).
KerasLayerKey = tuple[str, str, tuple[tuple, ...]]


@dataclass
class SummaryRow:
    """One Keras layer of the built model: name, type, output shape, parameters, inbound layers, or an error."""

    name: str
    kind: str
    layer_index: int | None
    output_shape: Shape | None
    params: int = 0
    trainable: int = 0
    non_trainable: int = 0
    error: str = ""
    #: True while the row waits for a pretrained base or a kept Keras layer to be measured (not a design error).
    pending: bool = False
    #: Keras's "Connected to" column, one entry per inbound tensor ("conv2d[0][0]"); empty for the input.
    connected_to: list[str] = field(default_factory=list)
    #: The design node the row belongs to ("input" for the input row; a block's inner rows carry the block's id).
    node_id: str = ""
    #: Parameters stored in 8 bytes (Normalization's sample count), part of ``non_trainable``; for memory sizes.
    wide_params: int = 0

    @property
    def shape_text(self) -> str:
        """The output shape as Keras prints it: ``(None, 26, 26, 32)``."""
        if self.output_shape is None:
            return "?"
        return "(" + ", ".join("None" if v is None else str(v) for v in self.output_shape) + ")"

    @property
    def connected_text(self) -> str:
        """The "Connected to" cell as Keras prints it: ``conv2d[0][0], add[0][0]`` or ``-``."""
        return ", ".join(self.connected_to) or "-"


def readable_memory_size(size: float) -> str:
    """Bytes as Keras's summary prints them (``364.54 KB``), base 1024."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


@dataclass
class Summary:
    """What Keras's ``model.summary()`` would print, plus errors and a memory estimate."""

    rows: list[SummaryRow] = field(default_factory=list)
    error: str = ""
    error_index: int | None = None
    warnings: list[str] = field(default_factory=list)
    #: Pretrained bases to measure with Keras before the summary can be complete: (name, input shape).
    pending: list[tuple[str, tuple[int, int, int]]] = field(default_factory=list)
    #: Layers kept as Keras config to measure (``core.builder.measure_keras_layer``) before the summary is complete.
    pending_layers: list[KerasLayerKey] = field(default_factory=list)
    #: The output shape of every head, by head name (None where unknown).
    outputs: dict[str, Shape | None] = field(default_factory=dict)
    #: The output shape of every node, by node id (None where unknown).
    node_shapes: dict[str, Shape | None] = field(default_factory=dict)
    #: False when Keras prints the "Connected to" column (branches, merges: not a plain stack).
    sequential_like: bool = True

    @property
    def valid(self) -> bool:
        """True if every layer could be placed."""
        return not self.error

    @property
    def total(self) -> int:
        """Total parameters (``model.count_params()``)."""
        return sum(r.params for r in self.rows)

    @property
    def trainable(self) -> int:
        """Trainable parameters."""
        return sum(r.trainable for r in self.rows)

    @property
    def non_trainable(self) -> int:
        """Non-trainable parameters (frozen layers, batch-norm statistics)."""
        return sum(r.non_trainable for r in self.rows)

    @property
    def output_shape(self) -> Shape | None:
        """The model's output shape (the first head's with several heads; None if invalid)."""
        if not self.valid or not self.rows:
            return None
        if self.outputs:
            return next(iter(self.outputs.values()))
        return self.rows[-1].output_shape

    @property
    def weight_bytes(self) -> int:
        """Memory of the weights (float32, 8 bytes for integer counters)."""
        return 4 * self.total + 4 * sum(r.wide_params for r in self.rows)

    @property
    def activation_values(self) -> int:
        """Values computed per image in one forward pass (every layer's output, input excluded)."""
        n = 0
        for r in self.rows[1:]:
            if r.output_shape is not None and r.kind != "InputLayer":
                n += math.prod(v for v in r.output_shape if v is not None)
        return n

    def node_errors(self) -> dict[str, str]:
        """The design errors by node id (``"input"`` for the input), for drawing red nodes; pending rows excluded."""
        out: dict[str, str] = {}
        for r in self.rows:
            if r.error and not r.pending and r.node_id not in out:
                out[r.node_id] = r.error
        return out

    def pending_nodes(self) -> set[str]:
        """Ids of the nodes waiting to be measured with Keras."""
        return {r.node_id for r in self.rows if r.pending}

    def rows_of(self, node_id: str) -> list[SummaryRow]:
        """The rows of one node (several for a residual block)."""
        return [r for r in self.rows if r.node_id == node_id]

    def totals_lines(self) -> list[str]:
        """The three total lines exactly as Keras prints them."""
        wide = 4 * sum(r.wide_params for r in self.rows)
        return [
            f"Total params: {self.total:,} ({readable_memory_size(4 * self.total + wide)})",
            f"Trainable params: {self.trainable:,} ({readable_memory_size(4 * self.trainable)})",
            f"Non-trainable params: {self.non_trainable:,} ({readable_memory_size(4 * self.non_trainable + wide)})",
        ]

    def memory_text(self, batch_size: int = 32) -> str:
        """A training memory estimate: weights, gradients and two optimizer slots, plus activations of a batch."""
        weights = self.weight_bytes
        activations = 4 * self.activation_values * batch_size
        # weights + gradients + up to two optimizer slots (Adam) for the trainable part
        train = weights + 3 * 4 * self.trainable + 2 * activations
        return (
            f"weights {readable_memory_size(weights)}; activations {readable_memory_size(4 * self.activation_values)}"
            f" per image; training with batch {batch_size} ≈ {readable_memory_size(train)}"
        )


# --- pretrained bases -------------------------------------------------------------

@dataclass(frozen=True)
class BaseInfo:
    """Per-layer parameters of a keras.applications base (include_top=False, 3 channels)."""

    name: str
    keras_name: str
    layers: tuple[tuple[str, int, int], ...]  # (layer name or "_" if automatic, trainable, non-trainable)
    min_size: int
    output_channels: int
    output_hw: Callable[[int, int], tuple[int, int]]

    @property
    def total(self) -> int:
        """All parameters of the base."""
        return sum(t + n for _, t, n in self.layers)

    def tunable_layers(self) -> list[str]:
        """Names of the layers with weights one may fine-tune from, in order."""
        return [name for name, _, _ in self.layers if name != "_"]

    def split(self, mode: str, from_layer: str = "") -> tuple[int, int]:
        """(trainable, non-trainable) parameters for "frozen", "trainable" or "fine_tune" from a layer."""
        return _split(self.layers, self.name, mode, from_layer)


def _split(layers: tuple[tuple[str, int, int], ...], name: str, mode: str, from_layer: str) -> tuple[int, int]:
    """(trainable, non-trainable) of a base's weighted layers for a training mode."""
    total = sum(t + n for _, t, n in layers)
    if mode == "frozen":
        return 0, total
    if mode == "trainable":
        return sum(t for _, t, _ in layers), sum(n for _, _, n in layers)
    names = [layer for layer, _, _ in layers]
    if from_layer not in names or from_layer == "_":
        some = ", ".join([n for n in names if n != "_"][-4:])
        raise SpecError(f'{name} has no layer with weights named "{from_layer}"; expected one like {some}')
    k = names.index(from_layer)
    frozen = sum(t + n for _, t, n in layers[:k])
    return sum(t for _, t, _ in layers[k:]), frozen + sum(n for _, _, n in layers[k:])


@dataclass(frozen=True)
class MeasuredBase:
    """A keras.applications base measured once with Keras for one input shape."""

    name: str
    input_shape: tuple[int, int, int]
    layers: tuple[tuple[str, int, int], ...]
    output_shape: tuple

    @property
    def total(self) -> int:
        """All parameters of the base."""
        return sum(t + n for _, t, n in self.layers)

    def tunable_layers(self) -> list[str]:
        """Names of the layers with weights one may fine-tune from, in order."""
        return [name for name, _, _ in self.layers if name != "_"]


_MEASURED: dict[tuple[str, tuple[int, int, int]], MeasuredBase] = {}


def register_measured_base(base: MeasuredBase) -> None:
    """Remember a measured base (``core.builder.measure_base`` calls this)."""
    _MEASURED[(base.name, tuple(base.input_shape))] = base


def measured_base(name: str, input_shape: tuple[int, int, int]) -> MeasuredBase | None:
    """The measured facts of a base for an input shape, if measured already."""
    return _MEASURED.get((name, tuple(int(v) for v in input_shape)))


def tunable_layers(application: str, input_shape: tuple[int, int, int] | None = None) -> list[str]:
    """Layers with weights one may fine-tune from (empty while an unknown base is not measured)."""
    if application in _APP_TABLES:
        return base_info(application).tunable_layers()
    for (name, shape), base in _MEASURED.items():
        if name == application and (input_shape is None or shape == tuple(input_shape)):
            return base.tunable_layers()
    return []


def _halve_floor(n: int) -> int:
    return n // 2


def _ceil_half(n: int) -> int:
    return (n + 1) // 2


def _vgg_hw(h: int, w: int) -> tuple[int, int]:
    for _ in range(5):  # five 2x2/2 valid max-pools
        h, w = _halve_floor(h), _halve_floor(w)
    return h, w


def _xception_hw(h: int, w: int) -> tuple[int, int]:
    def one(n: int) -> int:
        n = (n - 3) // 2 + 1  # 3x3/2 valid conv
        n = n - 2  # 3x3 valid conv
        for _ in range(4):  # four 3x3/2 "same" max-pools
            n = _ceil_half(n)
        return n

    return one(h), one(w)


def _resnet_hw(h: int, w: int) -> tuple[int, int]:
    def one(n: int) -> int:
        for _ in range(5):  # 7x7/2 conv (pad 3), 3x3/2 pool (pad 1), three strided 1x1 convs
            n = (n - 1) // 2 + 1
        return n

    return one(h), one(w)


def _parse_table(text: str) -> tuple[tuple[str, int, int], ...]:
    rows = []
    for item in text.split():
        name, t, n = item.split(":")
        rows.append((name, int(t), int(n)))
    return tuple(rows)


_BASES: dict[str, BaseInfo] = {}


def base_info(application: str) -> BaseInfo:
    """Known per-layer facts of a pretrained base (VGG16, Xception, ResNet50)."""
    if not _BASES:
        for name, keras_name, min_size, channels, hw in (
            ("VGG16", "vgg16", 32, 512, _vgg_hw),
            ("Xception", "xception", 71, 2048, _xception_hw),
            ("ResNet50", "resnet50", 32, 2048, _resnet_hw),
        ):
            _BASES[name] = BaseInfo(name, keras_name, _parse_table(_APP_TABLES[name]), min_size, channels, hw)
    try:
        return _BASES[application]
    except KeyError:
        raise SpecError(f'unknown pretrained base "{application}"; expected one of {", ".join(_APP_TABLES)}') from None


# --- layers kept as Keras config ----------------------------------------------------

@dataclass(frozen=True)
class MeasuredLayer:
    """A layer kept as Keras config, built once with Keras on given input shapes: its outputs and parameters."""

    key: KerasLayerKey
    #: The Python class Keras rebuilt (what ``model.summary()`` prints as the type).
    class_name: str
    output_shapes: tuple[tuple, ...] = ()
    trainable: int = 0
    non_trainable: int = 0
    #: Why Keras refused to build it on these inputs ("" when it built).
    error: str = ""


_MEASURED_LAYERS: dict[KerasLayerKey, MeasuredLayer] = {}


def keras_layer_key(layer: LayerSpec, input_shapes: list[Shape] | tuple[Shape, ...]) -> KerasLayerKey:
    """What a kept Keras layer is measured by: its class, config (without its name) and input shapes."""
    config = layer.get("config")
    config = {k: v for k, v in config.items() if k != "name"} if isinstance(config, dict) else config
    text = json.dumps(config, sort_keys=True, default=str)
    return (str(layer.get("class_name")), text, tuple(tuple(s) for s in input_shapes))


def register_measured_layer(measured: MeasuredLayer) -> None:
    """Remember a measured Keras layer (``core.builder.measure_keras_layer`` calls this)."""
    _MEASURED_LAYERS[measured.key] = measured


def measured_layer(key: KerasLayerKey) -> MeasuredLayer | None:
    """The measured facts of a kept Keras layer, if measured already."""
    return _MEASURED_LAYERS.get(key)


# --- inference ----------------------------------------------------------------------

class _RowError(Exception):
    pass


class _Pending(_RowError):
    def __init__(self, message: str, key: tuple[str, tuple[int, int, int]]) -> None:
        super().__init__(message)
        self.key = key


class _PendingLayer(_RowError):
    def __init__(self, message: str, key: KerasLayerKey) -> None:
        super().__init__(message)
        self.key = key


def _need_image(shape: Shape, what: str, prev: str) -> tuple[int, int, int]:
    if len(shape) != 4:
        raise _RowError(
            f"{what} needs an image-shaped input (height, width, channels) but receives {_fmt(shape)}"
            f" from {prev}: move it before the Flatten / global pooling"
        )
    return shape[1], shape[2], shape[3]


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join("None" if v is None else str(v) for v in shape) + ")"


def _window(hw: tuple[int, int], layer: LayerSpec, kernel_key: str, stride_key: str, dilation: bool) -> tuple[int, int]:
    kernel = pair(layer.get(kernel_key))
    s = layer.get(stride_key)
    strides = pair(s) if s is not None else kernel
    dil = pair(layer.get("dilation_rate")) if dilation else (1, 1)
    try:
        geo = conv_geometry(hw, kernel, strides, layer.get("padding"), dil)
    except ShapeError as exc:
        raise _RowError(f"{exc}: the feature map would shrink below 1x1; use padding \"same\", a smaller kernel or fewer pooling steps") from None
    return geo.output_hw


def _conv_row(name: str, kind: str, idx: int, shape: Shape, filters: int, kernel: tuple[int, int],
              strides: tuple[int, int], padding: str, use_bias: bool = True) -> SummaryRow:
    h, w, c = shape[1], shape[2], shape[3]
    try:
        oh, ow = conv_geometry((h, w), kernel, strides, padding).output_hw
    except ShapeError as exc:
        raise _RowError(str(exc)) from None
    params = kernel[0] * kernel[1] * c * filters + (filters if use_bias else 0)
    return SummaryRow(name, kind, idx, (None, oh, ow, filters), params, params, 0)


def _axis_size(shape: Shape, axis: int, what: str) -> int:
    """The size of the axis a normalization layer keeps (Keras refuses the batch axis and missing axes)."""
    rank = len(shape)
    if not -rank <= axis < rank:
        raise _RowError(f"{what} has no axis {axis} on its {rank}-D input {_fmt(shape)}: "
                        f"expected an axis from {-rank} to {rank - 1} (-1: the channels)")
    size = shape[axis]
    if size is None:
        raise _RowError(f"{what} cannot use axis {axis} of {_fmt(shape)}: it is the batch axis, whose size is unknown;"
                        " use -1 (the channels)")
    return int(size)


def _transpose_size(n: int, k: int, s: int, padding: str) -> int:
    """Output length of a transposed convolution (Keras, no output padding)."""
    return n * s if padding == "same" else (n - 1) * s + max(k, s)


def _layer_rows(spec: ModelSpec, layer: LayerSpec, idx: int, name: str, shape: Shape, prev: str) -> list[SummaryRow]:
    """The rows of a node with one input of ``shape``."""
    kind = layer.kind
    what = f"{kind} {name!r}"
    if kind in ("Conv2D", "SeparableConv2D"):
        h, w, c = _need_image(shape, what, prev)
        oh, ow = _window((h, w), layer, "kernel_size", "strides", True)
        filters = spec.filters_of(layer)
        kh, kw = pair(layer.get("kernel_size"))
        bias = filters if layer.get("use_bias") else 0
        if kind == "Conv2D":
            params = kh * kw * c * filters + bias
        else:
            dm = layer.get("depth_multiplier")
            params = kh * kw * c * dm + c * dm * filters + bias
        return [SummaryRow(name, kind, idx, (None, oh, ow, filters), params, params, 0)]
    if kind == "DepthwiseConv2D":
        h, w, c = _need_image(shape, what, prev)
        oh, ow = _window((h, w), layer, "kernel_size", "strides", True)
        kh, kw = pair(layer.get("kernel_size"))
        out = c * layer.get("depth_multiplier")
        params = kh * kw * out + (out if layer.get("use_bias") else 0)
        return [SummaryRow(name, kind, idx, (None, oh, ow, out), params, params, 0)]
    if kind == "Conv2DTranspose":
        h, w, c = _need_image(shape, what, prev)
        (kh, kw), (sh, sw), padding = pair(layer.get("kernel_size")), pair(layer.get("strides")), layer.get("padding")
        filters = layer.get("filters")
        params = kh * kw * c * filters + (filters if layer.get("use_bias") else 0)
        out = (None, _transpose_size(h, kh, sh, padding), _transpose_size(w, kw, sw, padding), filters)
        return [SummaryRow(name, kind, idx, out, params, params, 0)]
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        h, w, c = _need_image(shape, what, prev)
        oh, ow = _window((h, w), layer, "pool_size", "strides", False)
        return [SummaryRow(name, kind, idx, (None, oh, ow, c))]
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        _, _, c = _need_image(shape, what, prev)
        return [SummaryRow(name, kind, idx, (None, 1, 1, c) if layer.get("keepdims") else (None, c))]
    if kind == "UpSampling2D":
        h, w, c = _need_image(shape, what, prev)
        sh, sw = pair(layer.get("size"))
        return [SummaryRow(name, kind, idx, (None, h * sh, w * sw, c))]
    if kind == "ZeroPadding2D":
        h, w, c = _need_image(shape, what, prev)
        t, b, left, right = normalize_quad(layer.get("padding"))  # type: ignore[misc]
        return [SummaryRow(name, kind, idx, (None, h + t + b, w + left + right, c))]
    if kind == "Cropping2D":
        h, w, c = _need_image(shape, what, prev)
        t, b, left, right = normalize_quad(layer.get("cropping"))  # type: ignore[misc]
        if t + b >= h or left + right >= w:
            raise _RowError(f"cropping {t}+{b} rows and {left}+{right} columns off {h}x{w} maps {_fmt(shape)} leaves"
                            " nothing: each side must keep at least one row and one column")
        return [SummaryRow(name, kind, idx, (None, h - t - b, w - left - right, c))]
    if kind == "Flatten":
        return [SummaryRow(name, kind, idx, (None, math.prod(shape[1:])))]
    if kind == "Reshape":
        target = tuple(int(v) for v in layer.get("target_shape"))
        n = math.prod(shape[1:])
        known = math.prod(v for v in target if v != -1)
        if (-1 not in target and known != n) or (-1 in target and n % known):
            raise _RowError(f"Reshape cannot arrange the {n:,} values of {_fmt(shape)} as {_fmt(target)}: "
                            f"the sizes must multiply to {n:,}")
        return [SummaryRow(name, kind, idx, (None, *(n // known if v == -1 else v for v in target)))]
    if kind == "Dense":
        # Keras applies Dense to the last axis of any tensor; a design allows it on a vector, or on
        # 1x1 maps (a squeeze-and-excitation side branch): on real feature maps it is a forgotten Flatten.
        if len(shape) != 2 and not (len(shape) == 4 and shape[1] == shape[2] == 1):
            raise _RowError(
                f"Dense {name!r} receives a {len(shape)}-D tensor {_fmt(shape)} from {prev}:"
                " add a Flatten or GlobalAveragePooling2D layer before it"
            )
        units = spec.output_units() if layer.get("units_from_classes") else layer.get("units")
        params = shape[-1] * units + (units if layer.get("use_bias") else 0)
        return [SummaryRow(name, kind, idx, (*shape[:-1], units), params, params, 0)]
    if kind in ("Dropout", "Activation", "Rescaling", "ReLU"):
        return [SummaryRow(name, kind, idx, shape)]
    if kind.startswith("Random"):
        _need_image(shape, what, prev)
        return [SummaryRow(name, kind, idx, shape)]
    if kind == "BatchNormalization":
        c = _axis_size(shape, int(layer.get("axis")), what)
        learned = c * (bool(layer.get("center")) + bool(layer.get("scale")))
        return [SummaryRow(name, kind, idx, shape, learned + 2 * c, learned, 2 * c)]
    if kind == "LayerNormalization":
        c = _axis_size(shape, int(layer.get("axis")), what)
        learned = c * (bool(layer.get("center")) + bool(layer.get("scale")))
        return [SummaryRow(name, kind, idx, shape, learned, learned, 0)]
    if kind == "Normalization":  # mean and variance per entry of the axis, and the sample count (an int64)
        c = _axis_size(shape, int(layer.get("axis")), what)
        return [SummaryRow(name, kind, idx, shape, 2 * c + 1, 0, 2 * c + 1, wide_params=1)]
    if kind == "ResidualBlock":
        h, w, c = _need_image(shape, what, prev)
        filters = layer.get("filters")
        rows = [
            _conv_row(f"{name}_conv1", "Conv2D", idx, shape, filters, (3, 3), (1, 1), "same"),
        ]
        rows.append(_conv_row(f"{name}_conv2", "Conv2D", idx, rows[-1].output_shape, filters, (3, 3), (1, 1), "same"))
        out = rows[-1].output_shape
        if layer.get("pooling"):
            oh, ow = conv_geometry((h, w), (2, 2), (2, 2), "same").output_hw
            out = (None, oh, ow, filters)
            rows.append(SummaryRow(f"{name}_pool", "MaxPooling2D", idx, out))
            rows.append(_conv_row(f"{name}_residual", "Conv2D", idx, shape, filters, (1, 1), (2, 2), "valid"))
        elif filters != c:
            rows.append(_conv_row(f"{name}_residual", "Conv2D", idx, shape, filters, (1, 1), (1, 1), "valid"))
        rows.append(SummaryRow(f"{name}_add", "Add", idx, out))
        return rows
    if kind == "Pretrained" and layer.get("application") not in _APP_TABLES:
        return [_measured_row(layer, idx, name, shape, what, prev)]
    if kind == "Pretrained":
        info = base_info(layer.get("application"))
        h, w, c = _need_image(shape, what, prev)
        if c != 3:
            raise _RowError(f"{info.name} needs colour images with 3 channels; it receives {c} channel{'s' if c != 1 else ''}")
        if h < info.min_size or w < info.min_size:
            raise _RowError(f"{info.name} needs images of at least {info.min_size}x{info.min_size}; it receives {h}x{w}")
        try:
            trainable, frozen = info.split(layer.get("trainable"), layer.get("fine_tune_from"))
        except SpecError as exc:
            raise _RowError(str(exc)) from None
        oh, ow = info.output_hw(h, w)
        return [SummaryRow(name, "Functional", idx, (None, oh, ow, info.output_channels), info.total, trainable, frozen)]
    raise _RowError(f"unknown layer type {kind!r}")  # pragma: no cover - validate_layer catches it


def _merge_row(layer: LayerSpec, idx: int, name: str, shapes: list[Shape]) -> SummaryRow:
    """The row of a merge (Add, Subtract, Multiply, Average, Maximum, Concatenate), with Keras's shape rules."""
    kind = layer.kind
    if kind == "Concatenate":
        axis = int(layer.get("axis"))
        for s in shapes:
            if not -len(s) <= axis < len(s):
                raise _RowError(f"Concatenate has no axis {axis} on its {len(s)}-D input {_fmt(s)}: "
                                f"expected an axis from {-len(s)} to {len(s) - 1} (-1: the channels)")
        reduced = [tuple(v for k, v in enumerate(s) if k != axis % len(s)) for s in shapes]
        for s, r in zip(shapes[1:], reduced[1:]):
            if r != reduced[0]:
                raise _RowError(f"Concatenate needs equal shapes except along axis {axis}: "
                                f"{_fmt(shapes[0])} and {_fmt(s)}")
        out = list(shapes[0])
        if out[axis] is not None:
            out[axis] = sum(s[axis] for s in shapes)
        return SummaryRow(name, kind, idx, tuple(out))
    acc: tuple | None = tuple(shapes[0][1:])
    for s in shapes[1:]:
        acc2 = _broadcast(acc, tuple(s[1:]))  # type: ignore[arg-type]
        if acc2 is None:
            raise _RowError(f"{kind} needs equal shapes: {_fmt((None, *acc))} and {_fmt(s)}")  # type: ignore[misc]
        acc = acc2
    return SummaryRow(name, kind, idx, (None, *acc))  # type: ignore[misc]


def _broadcast(a: tuple, b: tuple) -> tuple | None:
    """Keras's element-wise merge shape (trailing axes aligned, a size of 1 stretches); None when incompatible."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return a
    out = list(a[: len(a) - len(b)])
    for i, j in zip(a[len(a) - len(b):], b):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            return None
    return tuple(out)


def _keras_layer_row(layer: LayerSpec, idx: int, name: str, shapes: list[Shape]) -> tuple[SummaryRow, tuple]:
    """The row of a layer kept as Keras config (once measured) and its output shapes."""
    class_name = str(layer.get("class_name"))
    if not class_name or not isinstance(layer.get("config"), dict):
        raise _RowError("a kept Keras layer needs its class name and configuration")
    key = keras_layer_key(layer, shapes)
    m = measured_layer(key)
    if m is None:
        raise _PendingLayer(f"measuring {class_name} {name!r} with Keras (once, a moment)…", key)
    if m.error:
        raise _RowError(m.error)
    row = SummaryRow(name, m.class_name, idx, tuple(m.output_shapes[0]) if m.output_shapes else None,
                     m.trainable + m.non_trainable, m.trainable, m.non_trainable)
    return row, tuple(tuple(s) for s in m.output_shapes)


def _measured_row(layer: LayerSpec, idx: int, name: str, shape: Shape, what: str, prev: str) -> SummaryRow:
    app = layer.get("application")
    h, w, c = _need_image(shape, what, prev)
    try:
        from .zoo import APPLICATIONS

        min_size = APPLICATIONS[app].min_size
    except (ImportError, KeyError):
        min_size = 32
    if c != 3:
        raise _RowError(f"{app} needs colour images with 3 channels; it receives {c} channel{'s' if c != 1 else ''}")
    if h < min_size or w < min_size:
        raise _RowError(f"{app} needs images of at least {min_size}x{min_size}; it receives {h}x{w}")
    base = measured_base(app, (h, w, c))
    if base is None:
        raise _Pending(f"measuring {app} on {h}x{w}x{c} inputs with Keras (once, a few seconds)…", (app, (h, w, c)))
    if layer.get("trainable") == "fine_tune" and not layer.get("fine_tune_from"):
        raise _RowError("choose the layer of the base to fine-tune from")
    try:
        trainable, frozen = _split(base.layers, app, layer.get("trainable"), layer.get("fine_tune_from"))
    except SpecError as exc:
        raise _RowError(str(exc)) from None
    return SummaryRow(name, "Functional", idx, tuple(base.output_shape), base.total, trainable, frozen)


def _arity_error(layer: LayerSpec, count: int) -> str:
    kind = LAYER_KINDS[layer.kind]
    if count < kind.min_inputs:
        need = "two or more inputs" if kind.min_inputs == 2 and kind.max_inputs is None else (
            f"{kind.min_inputs} input{'s' if kind.min_inputs > 1 else ''}")
        got = "none is connected" if not count else f"{count} {'is' if count == 1 else 'are'} connected"
        return f"{layer.kind} needs {need}; {got}"
    if kind.max_inputs is not None and count > kind.max_inputs:
        return f"{layer.kind} takes {kind.max_inputs} input{'s' if kind.max_inputs > 1 else ''}; {count} are connected"
    return ""


def _block_wiring(rows: list[SummaryRow], name: str, first: int, ext: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Inbound (op, tensor) of each row of a node: one row reads the node's inputs; a residual block is wired inside."""
    if len(rows) == 1:
        return [ext]
    op = {r.name[len(name) + 1:]: first + k for k, r in enumerate(rows)}
    x = ext[0]
    wiring = []
    for r in rows:
        part = r.name[len(name) + 1:]
        if part in ("conv1", "residual"):
            wiring.append([x])
        elif part == "conv2":
            wiring.append([(op["conv1"], 0)])
        elif part == "pool":
            wiring.append([(op["conv2"], 0)])
        else:  # add: [main path, shortcut]
            main = op.get("pool", op["conv2"])
            wiring.append([(main, 0), (op["residual"], 0) if "residual" in op else x])
    return wiring


def _keras_order(inbound: list[list[tuple[int, int]]], roots: list[int]) -> tuple[list[int], dict[int, int]]:
    """The order of ``model.layers`` of a functional model (keras.src.ops.function.map_graph), and each op's depth.

    A depth-first walk from the outputs (in flattened order) numbers each op when first reached and lists
    the ops in post-order; an op's depth is the longest path from it to an output; ops are sorted by
    decreasing depth, ties by their number. Ops no output reaches (dead ends) follow, in creation order.
    """
    n = len(inbound)
    number: dict[int, int] = {}
    finished = [False] * n
    post: list[int] = []
    for root in roots:
        if finished[root]:
            continue
        number.setdefault(root, len(number))
        stack = [(root, 0)]
        on_stack = {root}
        while stack:
            op, k = stack[-1]
            ins = inbound[op]
            if k < len(ins):
                stack[-1] = (op, k + 1)
                child = ins[k][0]
                if finished[child] or child in on_stack:
                    continue
                number.setdefault(child, len(number))
                on_stack.add(child)
                stack.append((child, 0))
            else:
                stack.pop()
                on_stack.discard(op)
                finished[op] = True
                post.append(op)
    depth: dict[int, int] = {}
    for op in reversed(post):
        d = depth.setdefault(op, 0)
        for src, _ in inbound[op]:
            if depth.get(src, -1) < d + 1:
                depth[src] = d + 1
    order = sorted(post, key=lambda op: (-depth[op], number[op]))
    reached = set(order)
    return order + [op for op in range(n) if op not in reached], depth


def _sequential_like(inbound: list[list[tuple[int, int]]], depth: dict[int, int]) -> bool:
    """Keras prints a plain table (no "Connected to") when each depth holds one layer with at most one input."""
    if any(len(inbound[op]) > 1 for op in depth):
        return False
    return len(set(depth.values())) == len(depth)


def summarize(spec: ModelSpec) -> Summary:
    """Per-layer output shapes and parameters of ``spec``, equal to Keras's summary; errors go on rows."""
    spec.ensure_ids()
    summary = Summary()
    h, w, c = spec.input_shape
    input_row = SummaryRow("input_layer", "InputLayer", None, (None, h, w, c), node_id=INPUT_ID)
    if min(h, w, c) < 1:
        input_row.error = f"the input must be at least 1x1x1, got {h}x{w}x{c}"
        input_row.output_shape = None
        summary.error, summary.error_index = input_row.error, None
    ops: list[SummaryRow] = [input_row]
    inbound: list[list[tuple[int, int]]] = [[]]
    #: node id -> (op index of its output, its output shapes by port; None when unknown)
    produced: dict[str, tuple[int, tuple | None]] = {INPUT_ID: (0, (input_row.output_shape,))}
    descr: dict[str, str] = {INPUT_ID: "the input"}
    names = spec.layer_names()
    ids = {layer.id for layer in spec.layers}
    seen: set[str] = {"input_layer"}
    first_error: tuple[str, int] | None = None
    first_pending: tuple[str, int] | None = None
    for i, (layer, name) in enumerate(zip(spec.layers, names)):
        kind_name = "Functional" if layer.kind == "Pretrained" else (
            str(layer.params.get("class_name") or layer.kind) if layer.kind == "KerasLayer" else layer.kind)
        refs = spec.inputs_of(i)
        ext: list[tuple[int, int]] = []
        shapes: list[Shape | None] = []
        outputs: tuple | None = None
        rows: list[SummaryRow] | None = None
        wiring_error = ""
        for k, (src, port) in enumerate(refs):  # wire first: a row with an error still hangs where it belongs
            if src not in produced:
                if not wiring_error:
                    wiring_error = (
                        f"input {k + 1} comes from {descr.get(src, repr(src))}, which comes after it: the layers are "
                        "not in an order where each comes after its inputs" if src in ids
                        else f'input {k + 1} comes from "{src}", which is not a node of this design')
                continue
            op, outs = produced[src]
            if outs is not None and port >= len(outs) and not wiring_error:
                wiring_error = (f"input {k + 1} reads output {port} of {descr[src]}, which has only "
                                f"{len(outs)} output{'s' if len(outs) != 1 else ''}")
            ext.append((op, port))
            shapes.append(None if outs is None or port >= len(outs) else outs[port])
        try:
            try:
                validate_layer(layer, i)
            except SpecError as exc:
                raise _RowError(str(exc).replace(describe_layer(layer, i) + ": ", "")) from None
            if name in seen:
                raise _RowError(f'the name "{name}" is already used by another layer')
            if wiring_error:
                raise _RowError(wiring_error)
            arity = _arity_error(layer, len(refs))
            if arity:
                raise _RowError(arity)
            if any(s is None for s in shapes):
                rows = None  # an input is unknown (an error upstream): no shape, no error of its own
            elif layer.kind == "KerasLayer":
                row, outputs = _keras_layer_row(layer, i, name, shapes)  # type: ignore[arg-type]
                rows = [row]
            elif LAYER_KINDS[layer.kind].is_merge:
                rows = [_merge_row(layer, i, name, shapes)]  # type: ignore[arg-type]
            else:
                rows = _layer_rows(spec, layer, i, name, shapes[0], descr[refs[0][0]])  # type: ignore[arg-type]
            for r in rows or ():
                if r.name in seen and r.name != name:
                    raise _RowError(f'the name "{r.name}" is already used by another layer')
        except _RowError as exc:
            message = str(exc)
            pending = isinstance(exc, (_Pending, _PendingLayer))
            if isinstance(exc, _Pending):
                summary.pending.append(exc.key)
            elif isinstance(exc, _PendingLayer):
                summary.pending_layers.append(exc.key)
            rows = [SummaryRow(name, kind_name, i, None, error=message, pending=pending)]
            outputs = None
            if pending and first_pending is None:
                first_pending = (f"{describe_layer(layer, i)}: {message}", i)
            elif not pending and first_error is None:
                first_error = (f"{describe_layer(layer, i)}: {message}", i)
        if rows is None:
            rows = [SummaryRow(name, kind_name, i, None)]
        seen.add(name)
        seen.update(r.name for r in rows)
        first = len(ops)
        for r, wires in zip(rows, _block_wiring(rows, name, first, ext) if rows[0].output_shape is not None
                            else [ext] + [[]] * (len(rows) - 1)):
            r.node_id = layer.id
            ops.append(r)
            inbound.append(wires)
        if outputs is None and rows[-1].output_shape is not None:
            outputs = (rows[-1].output_shape,)
        produced[layer.id] = (len(ops) - 1, outputs)
        descr[layer.id] = f"{layer.kind} {name!r}"
        summary.node_shapes[layer.id] = rows[-1].output_shape
    if not summary.error:
        chosen = first_error or first_pending
        if chosen is not None:
            summary.error, summary.error_index = chosen

    heads = spec.output_heads()
    known_heads = [hd for hd in heads if hd.node in produced and hd.node != INPUT_ID]
    flat = sorted(known_heads, key=lambda hd: hd.name) if len(known_heads) > 1 else known_heads
    roots = [produced[hd.node][0] for hd in flat]
    consumed = {src for ins in inbound for src, _ in ins}
    roots += [op for op in range(len(ops)) if op not in consumed and op not in roots]  # dead ends, while editing
    order, depth = _keras_order(inbound, roots)
    for op in order:
        ops[op].connected_to = [f"{ops[src].name}[0][{port}]" for src, port in inbound[op]]
    summary.rows = [ops[op] for op in order]
    summary.outputs = {hd.name: summary.node_shapes.get(hd.node) for hd in known_heads}
    summary.sequential_like = _sequential_like(inbound, depth)
    if summary.valid:
        _warn(spec, summary, known_heads)
    return summary


_CLASSIFICATION_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy")


def _warn(spec: ModelSpec, summary: Summary, heads: list) -> None:
    try:
        spec.compile.validate()
    except SpecError as exc:
        summary.warnings.append(str(exc))
    named = bool(spec.heads)
    for hd in heads:
        loss = hd.loss if named else spec.compile.loss
        if loss not in _CLASSIFICATION_LOSSES:
            continue
        where = f'head "{hd.name}": ' if named and len(heads) > 1 else ""
        if loss == "binary_crossentropy" and spec.num_classes > 2:
            summary.warnings.append(
                f"{where}binary cross-entropy tells two classes apart, but there are {spec.num_classes}: "
                "choose integer or one-hot labels"
            )
        out = summary.node_shapes.get(hd.node)
        expected = 1 if loss == "binary_crossentropy" else int(spec.num_classes)
        if out is None:
            continue
        if len(out) != 2:
            summary.warnings.append(
                f"{where}the model outputs {_fmt(out)}: end with Flatten/global pooling and a Dense layer to classify"
            )
        elif out[1] != expected:
            summary.warnings.append(
                f"{where}the last layer outputs {out[1]} values but {expected} are expected"
                f" ({spec.num_classes} classes, {loss})"
            )


def layer_kinds() -> list[str]:
    """The layer kinds the summary understands (all of them)."""
    return list(LAYER_KINDS)


_APP_TABLES = {
    "VGG16": (
        "block1_conv1:1792:0 block1_conv2:36928:0 block2_conv1:73856:0 block2_conv2:147584:0 "
        "block3_conv1:295168:0 block3_conv2:590080:0 block3_conv3:590080:0 block4_conv1:1180160:0 "
        "block4_conv2:2359808:0 block4_conv3:2359808:0 block5_conv1:2359808:0 block5_conv2:2359808:0 "
        "block5_conv3:2359808:0 "
    ),
    "Xception": (
        "block1_conv1:864:0 block1_conv1_bn:64:64 block1_conv2:18432:0 block1_conv2_bn:128:128 "
        "block2_sepconv1:8768:0 block2_sepconv1_bn:256:256 block2_sepconv2:17536:0 block2_sepconv2_bn:256:256 "
        "_:8192:0 _:256:256 block3_sepconv1:33920:0 block3_sepconv1_bn:512:512 block3_sepconv2:67840:0 "
        "block3_sepconv2_bn:512:512 _:32768:0 _:512:512 block4_sepconv1:188672:0 block4_sepconv1_bn:1456:1456 "
        "block4_sepconv2:536536:0 block4_sepconv2_bn:1456:1456 _:186368:0 _:1456:1456 block5_sepconv1:536536:0 "
        "block5_sepconv1_bn:1456:1456 block5_sepconv2:536536:0 block5_sepconv2_bn:1456:1456 "
        "block5_sepconv3:536536:0 block5_sepconv3_bn:1456:1456 block6_sepconv1:536536:0 "
        "block6_sepconv1_bn:1456:1456 block6_sepconv2:536536:0 block6_sepconv2_bn:1456:1456 "
        "block6_sepconv3:536536:0 block6_sepconv3_bn:1456:1456 block7_sepconv1:536536:0 "
        "block7_sepconv1_bn:1456:1456 block7_sepconv2:536536:0 block7_sepconv2_bn:1456:1456 "
        "block7_sepconv3:536536:0 block7_sepconv3_bn:1456:1456 block8_sepconv1:536536:0 "
        "block8_sepconv1_bn:1456:1456 block8_sepconv2:536536:0 block8_sepconv2_bn:1456:1456 "
        "block8_sepconv3:536536:0 block8_sepconv3_bn:1456:1456 block9_sepconv1:536536:0 "
        "block9_sepconv1_bn:1456:1456 block9_sepconv2:536536:0 block9_sepconv2_bn:1456:1456 "
        "block9_sepconv3:536536:0 block9_sepconv3_bn:1456:1456 block10_sepconv1:536536:0 "
        "block10_sepconv1_bn:1456:1456 block10_sepconv2:536536:0 block10_sepconv2_bn:1456:1456 "
        "block10_sepconv3:536536:0 block10_sepconv3_bn:1456:1456 block11_sepconv1:536536:0 "
        "block11_sepconv1_bn:1456:1456 block11_sepconv2:536536:0 block11_sepconv2_bn:1456:1456 "
        "block11_sepconv3:536536:0 block11_sepconv3_bn:1456:1456 block12_sepconv1:536536:0 "
        "block12_sepconv1_bn:1456:1456 block12_sepconv2:536536:0 block12_sepconv2_bn:1456:1456 "
        "block12_sepconv3:536536:0 block12_sepconv3_bn:1456:1456 block13_sepconv1:536536:0 "
        "block13_sepconv1_bn:1456:1456 block13_sepconv2:752024:0 block13_sepconv2_bn:2048:2048 _:745472:0 "
        "_:2048:2048 block14_sepconv1:1582080:0 block14_sepconv1_bn:3072:3072 block14_sepconv2:3159552:0 "
        "block14_sepconv2_bn:4096:4096 "
    ),
    "ResNet50": (
        "conv1_conv:9472:0 conv1_bn:128:128 conv2_block1_1_conv:4160:0 conv2_block1_1_bn:128:128 "
        "conv2_block1_2_conv:36928:0 conv2_block1_2_bn:128:128 conv2_block1_0_conv:16640:0 "
        "conv2_block1_3_conv:16640:0 conv2_block1_0_bn:512:512 conv2_block1_3_bn:512:512 "
        "conv2_block2_1_conv:16448:0 conv2_block2_1_bn:128:128 conv2_block2_2_conv:36928:0 "
        "conv2_block2_2_bn:128:128 conv2_block2_3_conv:16640:0 conv2_block2_3_bn:512:512 "
        "conv2_block3_1_conv:16448:0 conv2_block3_1_bn:128:128 conv2_block3_2_conv:36928:0 "
        "conv2_block3_2_bn:128:128 conv2_block3_3_conv:16640:0 conv2_block3_3_bn:512:512 "
        "conv3_block1_1_conv:32896:0 conv3_block1_1_bn:256:256 conv3_block1_2_conv:147584:0 "
        "conv3_block1_2_bn:256:256 conv3_block1_0_conv:131584:0 conv3_block1_3_conv:66048:0 "
        "conv3_block1_0_bn:1024:1024 conv3_block1_3_bn:1024:1024 conv3_block2_1_conv:65664:0 "
        "conv3_block2_1_bn:256:256 conv3_block2_2_conv:147584:0 conv3_block2_2_bn:256:256 "
        "conv3_block2_3_conv:66048:0 conv3_block2_3_bn:1024:1024 conv3_block3_1_conv:65664:0 "
        "conv3_block3_1_bn:256:256 conv3_block3_2_conv:147584:0 conv3_block3_2_bn:256:256 "
        "conv3_block3_3_conv:66048:0 conv3_block3_3_bn:1024:1024 conv3_block4_1_conv:65664:0 "
        "conv3_block4_1_bn:256:256 conv3_block4_2_conv:147584:0 conv3_block4_2_bn:256:256 "
        "conv3_block4_3_conv:66048:0 conv3_block4_3_bn:1024:1024 conv4_block1_1_conv:131328:0 "
        "conv4_block1_1_bn:512:512 conv4_block1_2_conv:590080:0 conv4_block1_2_bn:512:512 "
        "conv4_block1_0_conv:525312:0 conv4_block1_3_conv:263168:0 conv4_block1_0_bn:2048:2048 "
        "conv4_block1_3_bn:2048:2048 conv4_block2_1_conv:262400:0 conv4_block2_1_bn:512:512 "
        "conv4_block2_2_conv:590080:0 conv4_block2_2_bn:512:512 conv4_block2_3_conv:263168:0 "
        "conv4_block2_3_bn:2048:2048 conv4_block3_1_conv:262400:0 conv4_block3_1_bn:512:512 "
        "conv4_block3_2_conv:590080:0 conv4_block3_2_bn:512:512 conv4_block3_3_conv:263168:0 "
        "conv4_block3_3_bn:2048:2048 conv4_block4_1_conv:262400:0 conv4_block4_1_bn:512:512 "
        "conv4_block4_2_conv:590080:0 conv4_block4_2_bn:512:512 conv4_block4_3_conv:263168:0 "
        "conv4_block4_3_bn:2048:2048 conv4_block5_1_conv:262400:0 conv4_block5_1_bn:512:512 "
        "conv4_block5_2_conv:590080:0 conv4_block5_2_bn:512:512 conv4_block5_3_conv:263168:0 "
        "conv4_block5_3_bn:2048:2048 conv4_block6_1_conv:262400:0 conv4_block6_1_bn:512:512 "
        "conv4_block6_2_conv:590080:0 conv4_block6_2_bn:512:512 conv4_block6_3_conv:263168:0 "
        "conv4_block6_3_bn:2048:2048 conv5_block1_1_conv:524800:0 conv5_block1_1_bn:1024:1024 "
        "conv5_block1_2_conv:2359808:0 conv5_block1_2_bn:1024:1024 conv5_block1_0_conv:2099200:0 "
        "conv5_block1_3_conv:1050624:0 conv5_block1_0_bn:4096:4096 conv5_block1_3_bn:4096:4096 "
        "conv5_block2_1_conv:1049088:0 conv5_block2_1_bn:1024:1024 conv5_block2_2_conv:2359808:0 "
        "conv5_block2_2_bn:1024:1024 conv5_block2_3_conv:1050624:0 conv5_block2_3_bn:4096:4096 "
        "conv5_block3_1_conv:1049088:0 conv5_block3_1_bn:1024:1024 conv5_block3_2_conv:2359808:0 "
        "conv5_block3_2_bn:1024:1024 conv5_block3_3_conv:1050624:0 conv5_block3_3_bn:4096:4096 "
    ),
}
