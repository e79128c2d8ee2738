"""Shapes and parameter counts of a design, inferred without building Keras.

:func:`summarize` walks a :class:`~convexplorer.core.spec.ModelSpec` layer by
layer with the same arithmetic Keras uses (``core.arithmetic`` for conv and
pooling sizes) and returns one :class:`SummaryRow` per Keras layer (the input,
each layer, the parts of a residual block, a pretrained base as one row), with
output shape, parameters and the trainable / non-trainable split, plus totals
and a memory estimate. The numbers equal ``model.summary()`` of the model
:func:`convexplorer.core.builder.build_model` makes, digit for digit (tests
check it). An invalid design does not raise: the offending row carries the
reason and the rows after it have no shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from .arithmetic import conv_geometry
from .errors import ShapeError, SpecError
from .spec import LAYER_KINDS, LayerSpec, ModelSpec, describe_layer, pair, validate_layer

Shape = tuple  # (None, ...) like Keras


@dataclass
class SummaryRow:
    """One Keras layer of the built model: name, type, output shape, parameters, or an error."""

    name: str
    kind: str
    layer_index: int | None
    output_shape: Shape | None
    params: int = 0
    trainable: int = 0
    non_trainable: int = 0
    error: str = ""
    #: True while the row waits for a pretrained base to be measured (not a design error).
    pending: bool = False

    @property
    def shape_text(self) -> str:
        """The output shape as Keras prints it: ``(None, 26, 26, 32)``."""
        if self.output_shape is None:
            return "?"
        return "(" + ", ".join("None" if v is None else str(v) for v in self.output_shape) + ")"


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
        """The model's output shape (None if invalid)."""
        return self.rows[-1].output_shape if self.valid and self.rows else None

    @property
    def weight_bytes(self) -> int:
        """Memory of the weights in float32."""
        return 4 * self.total

    @property
    def activation_values(self) -> int:
        """Values computed per image in one forward pass (every layer's output, input excluded)."""
        n = 0
        for r in self.rows[1:]:
            if r.output_shape is not None and r.kind != "InputLayer":
                n += math.prod(v for v in r.output_shape if v is not None)
        return n

    def totals_lines(self) -> list[str]:
        """The three total lines exactly as Keras prints them."""
        return [
            f"Total params: {self.total:,} ({readable_memory_size(4 * self.total)})",
            f"Trainable params: {self.trainable:,} ({readable_memory_size(4 * self.trainable)})",
            f"Non-trainable params: {self.non_trainable:,} ({readable_memory_size(4 * self.non_trainable)})",
        ]

    def memory_text(self, batch_size: int = 32) -> str:
        """A training memory estimate: weights, gradients and two optimizer slots, plus activations of a batch."""
        weights = 4 * self.total
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


# --- inference ----------------------------------------------------------------------

class _RowError(Exception):
    pass


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


def _layer_rows(spec: ModelSpec, layer: LayerSpec, idx: int, name: str, shape: Shape, prev: str) -> list[SummaryRow]:
    kind = layer.kind
    what = f"{kind} {name!r}"
    if kind in ("Conv2D", "SeparableConv2D"):
        h, w, c = _need_image(shape, what, prev)
        oh, ow = _window((h, w), layer, "kernel_size", "strides", True)
        filters = layer.get("filters")
        kh, kw = pair(layer.get("kernel_size"))
        bias = filters if layer.get("use_bias") else 0
        if kind == "Conv2D":
            params = kh * kw * c * filters + bias
        else:
            dm = layer.get("depth_multiplier")
            params = kh * kw * c * dm + c * dm * filters + bias
        return [SummaryRow(name, kind, idx, (None, oh, ow, filters), params, params, 0)]
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        h, w, c = _need_image(shape, what, prev)
        oh, ow = _window((h, w), layer, "pool_size", "strides", False)
        return [SummaryRow(name, kind, idx, (None, oh, ow, c))]
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        _, _, c = _need_image(shape, what, prev)
        return [SummaryRow(name, kind, idx, (None, c))]
    if kind == "Flatten":
        return [SummaryRow(name, kind, idx, (None, math.prod(shape[1:])))]
    if kind == "Dense":
        if len(shape) != 2:
            raise _RowError(
                f"Dense {name!r} receives a {len(shape)}-D tensor {_fmt(shape)} from {prev}:"
                " add a Flatten or GlobalAveragePooling2D layer before it"
            )
        units = spec.output_units() if layer.get("units_from_classes") else layer.get("units")
        params = shape[1] * units + (units if layer.get("use_bias") else 0)
        return [SummaryRow(name, kind, idx, (None, units), params, params, 0)]
    if kind in ("Dropout", "Activation", "Rescaling"):
        return [SummaryRow(name, kind, idx, shape)]
    if kind.startswith("Random"):
        _need_image(shape, what, prev)
        return [SummaryRow(name, kind, idx, shape)]
    if kind == "BatchNormalization":
        c = shape[-1]
        return [SummaryRow(name, kind, idx, shape, 4 * c, 2 * c, 2 * c)]
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


class _Pending(_RowError):
    def __init__(self, message: str, key: tuple[str, tuple[int, int, int]]) -> None:
        super().__init__(message)
        self.key = key


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


def summarize(spec: ModelSpec) -> Summary:
    """Per-layer output shapes and parameters of ``spec``, equal to Keras's summary; errors go on rows."""
    summary = Summary()
    h, w, c = spec.input_shape
    shape: Shape = (None, h, w, c)
    summary.rows.append(SummaryRow("input_layer", "InputLayer", None, shape))
    if min(h, w, c) < 1:
        summary.rows[0].error = f"the input must be at least 1x1x1, got {h}x{w}x{c}"
        summary.rows[0].output_shape = None
        summary.error, summary.error_index = summary.rows[0].error, None
    names = spec.layer_names()
    seen: set[str] = {"input_layer"}
    prev = "the input"
    for i, (layer, name) in enumerate(zip(spec.layers, names)):
        kind_name = layer.kind if layer.kind != "Pretrained" else "Functional"
        if summary.error:
            summary.rows.append(SummaryRow(name, kind_name, i, None))
            continue
        try:
            try:
                validate_layer(layer, i)
            except SpecError as exc:
                raise _RowError(str(exc).replace(describe_layer(layer, i) + ": ", "")) from None
            if name in seen:
                raise _RowError(f'the name "{name}" is already used by another layer')
            rows = _layer_rows(spec, layer, i, name, shape, prev)
            for r in rows:
                if r.name in seen and r.name != name:
                    raise _RowError(f'the name "{r.name}" is already used by another layer')
                seen.add(r.name)
            seen.add(name)
        except _RowError as exc:
            message = str(exc)
            pending = isinstance(exc, _Pending)
            if pending:
                summary.pending.append(exc.key)  # type: ignore[attr-defined]
            summary.rows.append(SummaryRow(name, kind_name, i, None, error=message, pending=pending))
            summary.error = f"{describe_layer(layer, i)}: {message}"
            summary.error_index = i
            continue
        summary.rows.extend(rows)
        shape = rows[-1].output_shape
        prev = f"{layer.kind} {name!r}"
    if summary.valid:
        try:
            spec.compile.validate()
        except SpecError as exc:
            summary.warnings.append(str(exc))
        if spec.compile.loss == "binary_crossentropy" and spec.num_classes > 2:
            summary.warnings.append(
                f"binary cross-entropy tells two classes apart, but there are {spec.num_classes}: "
                "choose integer or one-hot labels"
            )
        out = summary.output_shape
        if spec.layers and out is not None:
            if len(out) != 2:
                summary.warnings.append(
                    f"the model outputs {_fmt(out)}: end with Flatten/global pooling and a Dense layer to classify"
                )
            elif out[1] != spec.output_units():
                summary.warnings.append(
                    f"the last layer outputs {out[1]} values but {spec.output_units()} are expected"
                    f" ({spec.num_classes} classes, {spec.compile.loss})"
                )
    return summary


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
