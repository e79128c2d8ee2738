"""Model designs as plain data: ``ModelSpec``, ``LayerSpec`` and ``CompileSpec``.

A design is a list of layers applied one after the other to an image input of
``input_shape`` (height, width, channels), plus compile settings. It round-trips
through JSON (``to_json`` / ``from_json``, with a ``format_version`` field) and
validates with :class:`~convexplorer.core.errors.SpecError` messages that name
the offending layer. No TensorFlow here: ``core.summary`` infers shapes and
parameter counts from a spec, ``core.builder`` turns it into a ``keras.Model``.

Every layer kind is described in :data:`LAYER_KINDS` by its parameters
(:class:`ParamDef`), so that forms can be generated and values checked.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from .errors import SpecError

#: Version of the JSON design format written by :meth:`ModelSpec.to_json`.
FORMAT_VERSION = 1

ACTIVATIONS = ("relu", "linear", "sigmoid", "softmax", "tanh", "elu", "selu", "gelu", "swish", "leaky_relu")
OPTIMIZERS = ("rmsprop", "adam", "nadam", "sgd")
LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy")
METRICS = ("accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "precision", "recall")
#: Which loss fits which kind of label.
LOSS_FOR_LABELS = {
    "integer": "sparse_categorical_crossentropy",
    "one-hot": "categorical_crossentropy",
    "binary": "binary_crossentropy",
}
#: Conv bases from keras.applications whose shapes and parameters are known without building them.
KNOWN_APPLICATIONS = ("VGG16", "Xception", "ResNet50")


def _application_names() -> tuple[str, ...]:
    try:
        from .zoo import APPLICATIONS
    except ImportError:  # pragma: no cover - the zoo ships with the app
        return KNOWN_APPLICATIONS
    return KNOWN_APPLICATIONS + tuple(n for n in APPLICATIONS if n not in KNOWN_APPLICATIONS)


#: Every base the builder offers: the known three first, then the rest of keras.applications (measured once).
APPLICATION_NAMES = _application_names()
TRAINABLE_MODES = ("frozen", "trainable", "fine_tune")


@dataclass(frozen=True)
class ParamDef:
    """One parameter of a layer kind: its type, default and allowed values."""

    name: str
    type: str  # "int", "float", "pair", "choice", "bool", "str", "pair_or_none"
    default: Any
    label: str = ""
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


def _conv_params(separable: bool = False) -> tuple[ParamDef, ...]:
    params = [
        ParamDef("filters", "int", 32, "Filters", minimum=1, maximum=100_000, help="number of output channels"),
        ParamDef("kernel_size", "pair", (3, 3), "Kernel size", minimum=1, maximum=1000),
        ParamDef("strides", "pair", (1, 1), "Strides", minimum=1, maximum=1000),
        ParamDef("padding", "choice", "valid", "Padding", choices=("valid", "same")),
        ParamDef("dilation_rate", "pair", (1, 1), "Dilation", minimum=1, maximum=1000),
    ]
    if separable:
        params.append(ParamDef("depth_multiplier", "int", 1, "Depth multiplier", minimum=1, maximum=1000))
    params += [
        ParamDef("activation", "choice", "relu", "Activation", choices=ACTIVATIONS),
        ParamDef("use_bias", "bool", True, "Use bias"),
    ]
    return tuple(params)


def _pool_params() -> tuple[ParamDef, ...]:
    return (
        ParamDef("pool_size", "pair", (2, 2), "Pool size", minimum=1, maximum=1000),
        ParamDef("strides", "pair_or_none", None, "Strides", minimum=1, maximum=1000, help="empty: same as the pool size"),
        ParamDef("padding", "choice", "valid", "Padding", choices=("valid", "same")),
    )


@dataclass(frozen=True)
class LayerKind:
    """A kind of layer the builder offers, with its parameters and palette group."""

    kind: str
    group: str
    params: tuple[ParamDef, ...]
    description: str

    def param(self, name: str) -> ParamDef:
        """The definition of one parameter."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


#: Every layer kind, in palette order.
LAYER_KINDS: dict[str, LayerKind] = {
    k.kind: k
    for k in (
        LayerKind("Conv2D", "Convolution", _conv_params(), "2-D convolution: slides learned filters over the image"),
        LayerKind(
            "SeparableConv2D", "Convolution", _conv_params(True), "depthwise then pointwise convolution: fewer parameters"
        ),
        LayerKind("MaxPooling2D", "Pooling", _pool_params(), "keeps the largest value of each window"),
        LayerKind("AveragePooling2D", "Pooling", _pool_params(), "averages each window"),
        LayerKind("GlobalAveragePooling2D", "Pooling", (), "one average per channel: image -> vector"),
        LayerKind("GlobalMaxPooling2D", "Pooling", (), "one maximum per channel: image -> vector"),
        LayerKind("Flatten", "Core", (), "unrolls the feature maps into one vector"),
        LayerKind(
            "Dense",
            "Core",
            (
                ParamDef("units", "int", 64, "Units", minimum=1, maximum=1_000_000),
                ParamDef(
                    "units_from_classes",
                    "bool",
                    False,
                    "Units = classes",
                    help="use the number of classes (1 with binary cross-entropy): for the output layer",
                ),
                ParamDef("activation", "choice", "relu", "Activation", choices=ACTIVATIONS),
                ParamDef("use_bias", "bool", True, "Use bias"),
            ),
            "fully connected layer",
        ),
        LayerKind("Activation", "Core", (ParamDef("activation", "choice", "relu", "Activation", choices=ACTIVATIONS),), "applies an activation function"),
        LayerKind(
            "Dropout",
            "Regularization",
            (ParamDef("rate", "float", 0.5, "Rate", minimum=0.0, maximum=0.99, help="fraction of inputs set to 0 in training"),),
            "randomly drops inputs while training",
        ),
        LayerKind("BatchNormalization", "Regularization", (), "normalizes activations per channel"),
        LayerKind(
            "Rescaling",
            "Preprocessing",
            (
                ParamDef("scale", "float", 1 / 255, "Scale", minimum=-1e6, maximum=1e6),
                ParamDef("offset", "float", 0.0, "Offset", minimum=-1e6, maximum=1e6),
            ),
            "multiplies the pixels by a scale and adds an offset",
        ),
        LayerKind(
            "RandomFlip",
            "Augmentation",
            (ParamDef("mode", "choice", "horizontal", "Mode", choices=("horizontal", "vertical", "horizontal_and_vertical")),),
            "random mirror images while training",
        ),
        LayerKind(
            "RandomRotation",
            "Augmentation",
            (ParamDef("factor", "float", 0.1, "Factor", minimum=0.0, maximum=1.0, help="fraction of a full turn"),),
            "random rotations while training",
        ),
        LayerKind(
            "RandomZoom",
            "Augmentation",
            (ParamDef("height_factor", "float", 0.2, "Factor", minimum=-0.99, maximum=1.0),),
            "random zoom while training",
        ),
        LayerKind(
            "RandomTranslation",
            "Augmentation",
            (
                ParamDef("height_factor", "float", 0.1, "Height factor", minimum=0.0, maximum=1.0),
                ParamDef("width_factor", "float", 0.1, "Width factor", minimum=0.0, maximum=1.0),
            ),
            "random shifts while training",
        ),
        LayerKind(
            "RandomContrast",
            "Augmentation",
            (ParamDef("factor", "float", 0.2, "Factor", minimum=0.0, maximum=1.0),),
            "random contrast changes while training",
        ),
        LayerKind(
            "ResidualBlock",
            "Blocks",
            (
                ParamDef("filters", "int", 32, "Filters", minimum=1, maximum=100_000),
                ParamDef("pooling", "bool", False, "Max-pool (halve the size)"),
            ),
            "two 3x3 convs plus a shortcut added back (Chollet, DLwP ch. 9)",
        ),
        LayerKind(
            "Pretrained",
            "Blocks",
            (
                ParamDef("application", "choice", "VGG16", "Base", choices=APPLICATION_NAMES),
                ParamDef("weights", "choice", "imagenet", "Weights", choices=("imagenet", "none")),
                ParamDef("trainable", "choice", "frozen", "Training", choices=TRAINABLE_MODES),
                ParamDef("fine_tune_from", "str", "", "Fine-tune from layer", help="first trainable layer of the base"),
            ),
            "a keras.applications conv base (no top), frozen or fine-tuned",
        ),
    )
}

#: Keras's default layer-name prefix per kind (snake case of the class name).
_NAME_PREFIX = {
    "Conv2D": "conv2d",
    "SeparableConv2D": "separable_conv2d",
    "MaxPooling2D": "max_pooling2d",
    "AveragePooling2D": "average_pooling2d",
    "GlobalAveragePooling2D": "global_average_pooling2d",
    "GlobalMaxPooling2D": "global_max_pooling2d",
    "BatchNormalization": "batch_normalization",
    "ResidualBlock": "residual_block",
}

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def default_params(kind: str) -> dict[str, Any]:
    """The default parameter values of a layer kind."""
    if kind not in LAYER_KINDS:
        raise SpecError(f'unknown layer type "{kind}"; expected one of: {", ".join(LAYER_KINDS)}')
    return {p.name: copy.deepcopy(p.default) for p in LAYER_KINDS[kind].params}


def name_prefix(kind: str) -> str:
    """The prefix of automatic names for a kind, as Keras spells it ("conv2d", "dense")."""
    if kind in _NAME_PREFIX:
        return _NAME_PREFIX[kind]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


@dataclass
class LayerSpec:
    """One layer of a design: its kind, parameters and an optional name."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind in LAYER_KINDS:
            merged = default_params(self.kind)
            merged.update(self.params)
            self.params = merged

    def get(self, key: str) -> Any:
        """A parameter value, falling back to the kind's default."""
        if key in self.params:
            return self.params[key]
        return LAYER_KINDS[self.kind].param(key).default

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params.items()}
        d: dict[str, Any] = {"kind": self.kind, "params": params}
        if self.name:
            d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, d: Any, index: int = 0) -> "LayerSpec":
        """The layer from a dict made by :meth:`to_dict`."""
        if not isinstance(d, dict) or "kind" not in d:
            raise SpecError(f"layer {index + 1}: expected an object with a \"kind\", got {d!r:.80}")
        kind = d["kind"]
        if kind not in LAYER_KINDS:
            raise SpecError(f'layer {index + 1}: unknown layer type "{kind}"; expected one of: {", ".join(LAYER_KINDS)}')
        params = d.get("params", {})
        if not isinstance(params, dict):
            raise SpecError(f"layer {index + 1} ({kind}): \"params\" must be an object, got {params!r:.80}")
        known = {p.name for p in LAYER_KINDS[kind].params}
        unknown = sorted(set(params) - known)
        if unknown:
            raise SpecError(
                f"layer {index + 1} ({kind}): unknown parameter {unknown[0]!r}; expected: {', '.join(sorted(known)) or 'none'}"
            )
        return cls(kind, dict(params), str(d.get("name", "") or ""))


@dataclass
class CompileSpec:
    """Compile settings: optimizer, learning rate, momentum (SGD), loss and metrics."""

    optimizer: str = "rmsprop"
    learning_rate: float = 0.001
    momentum: float = 0.0
    loss: str = "sparse_categorical_crossentropy"
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "loss": self.loss,
            "metrics": list(self.metrics),
        }

    @classmethod
    def from_dict(cls, d: Any) -> "CompileSpec":
        """The settings from a dict made by :meth:`to_dict`."""
        if not isinstance(d, dict):
            raise SpecError(f'"compile" must be an object, got {d!r:.80}')
        unknown = sorted(set(d) - {"optimizer", "learning_rate", "momentum", "loss", "metrics"})
        if unknown:
            raise SpecError(f"compile settings: unknown field {unknown[0]!r}")
        c = cls()
        c.optimizer = str(d.get("optimizer", c.optimizer))
        c.learning_rate = _as_float(d.get("learning_rate", c.learning_rate), "compile settings: learning rate")
        c.momentum = _as_float(d.get("momentum", c.momentum), "compile settings: momentum")
        c.loss = str(d.get("loss", c.loss))
        metrics = d.get("metrics", c.metrics)
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            raise SpecError(f"compile settings: metrics must be a list of names, got {metrics!r:.80}")
        c.metrics = [str(m) for m in metrics]
        return c

    def validate(self) -> None:
        """Raise SpecError if a setting is not one we can build."""
        if self.optimizer not in OPTIMIZERS:
            raise SpecError(f'compile settings: unknown optimizer "{self.optimizer}"; expected one of {", ".join(OPTIMIZERS)}')
        if not (0 < self.learning_rate <= 10):
            raise SpecError(f"compile settings: learning rate must be between 0 and 10 (exclusive of 0), got {self.learning_rate}")
        if not (0 <= self.momentum < 1):
            raise SpecError(f"compile settings: momentum must be in [0, 1), got {self.momentum}")
        if self.loss not in LOSSES:
            raise SpecError(f'compile settings: unknown loss "{self.loss}"; expected one of {", ".join(LOSSES)}')
        for m in self.metrics:
            if m not in METRICS:
                raise SpecError(f'compile settings: unknown metric "{m}"; expected some of {", ".join(METRICS)}')


def _as_float(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise SpecError(f"{what} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{what} must be a number, got {value!r:.40}") from None


@dataclass
class ModelSpec:
    """A whole design: name, input shape (H, W, C), number of classes, layers, compile settings."""

    name: str = "model"
    input_shape: tuple[int, int, int] = (28, 28, 1)
    num_classes: int = 10
    layers: list[LayerSpec] = field(default_factory=list)
    compile: CompileSpec = field(default_factory=CompileSpec)
    description: str = ""

    def __post_init__(self) -> None:
        self.input_shape = tuple(int(v) for v in self.input_shape)  # type: ignore[assignment]

    # --- JSON ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with a ``format_version``."""
        d: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "layers": [layer.to_dict() for layer in self.layers],
            "compile": self.compile.to_dict(),
        }
        if self.description:
            d["description"] = self.description
        return d

    def to_json(self) -> str:
        """The design as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, d: Any) -> "ModelSpec":
        """A design from a dict made by :meth:`to_dict`; raises SpecError when it is not one."""
        if not isinstance(d, dict):
            raise SpecError(f"a model design must be a JSON object, got {type(d).__name__}")
        version = d.get("format_version")
        if version is None:
            raise SpecError('not a ConvExplorer model design: the "format_version" field is missing')
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SpecError(f"format_version must be a positive whole number, got {version!r}")
        if version > FORMAT_VERSION:
            raise SpecError(
                f"this design was written by a newer ConvExplorer (format {version}); this version reads format {FORMAT_VERSION}"
            )
        shape = d.get("input_shape")
        if not isinstance(shape, (list, tuple)) or len(shape) != 3:
            raise SpecError(f"input_shape must be [height, width, channels], got {shape!r:.80}")
        try:
            shape_t = tuple(_as_int(v, "input_shape") for v in shape)
        except SpecError:
            raise SpecError(f"input_shape must be three whole numbers [height, width, channels], got {shape!r:.80}") from None
        layers = d.get("layers", [])
        if not isinstance(layers, list):
            raise SpecError(f'"layers" must be a list, got {type(layers).__name__}')
        spec = cls(
            name=str(d.get("name", "model")),
            input_shape=shape_t,  # type: ignore[arg-type]
            num_classes=_as_int(d.get("num_classes", 10), "num_classes"),
            layers=[LayerSpec.from_dict(item, i) for i, item in enumerate(layers)],
            compile=CompileSpec.from_dict(d.get("compile", {})),
            description=str(d.get("description", "")),
        )
        return spec

    @classmethod
    def from_json(cls, text: str | bytes) -> "ModelSpec":
        """A design from JSON text; raises SpecError on malformed input."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"not valid JSON: {exc}") from None
        return cls.from_dict(data)

    # --- helpers -----------------------------------------------------------------
    def copy(self) -> "ModelSpec":
        """A deep copy (fast: parameters are numbers, strings, booleans or short lists)."""
        layers = []
        for layer in self.layers:
            twin = object.__new__(LayerSpec)
            twin.kind, twin.name = layer.kind, layer.name
            twin.params = {k: (list(v) if isinstance(v, (list, tuple)) else copy.deepcopy(v) if isinstance(v, dict) else v)
                           for k, v in layer.params.items()}
            layers.append(twin)
        comp = CompileSpec(self.compile.optimizer, self.compile.learning_rate, self.compile.momentum,
                           self.compile.loss, list(self.compile.metrics))
        return ModelSpec(self.name, tuple(self.input_shape), self.num_classes, layers, comp, self.description)

    def output_units(self) -> int:
        """Units of a Dense layer with ``units_from_classes``: 1 for binary cross-entropy, else the classes."""
        return 1 if self.compile.loss == "binary_crossentropy" else int(self.num_classes)

    def layer_names(self) -> list[str]:
        """The Keras name of every layer: its own name or an automatic one, as Keras would number them."""
        taken = {layer.name for layer in self.layers if layer.name} | {"input_layer"}
        counters: dict[str, int] = {}
        names = []
        for layer in self.layers:
            if layer.kind == "Pretrained":  # Keras names the base itself ("vgg16")
                names.append(str(layer.get("application")).lower())
                continue
            if layer.name:
                names.append(layer.name)
                continue
            prefix = name_prefix(layer.kind)
            while True:
                n = counters.get(prefix, 0)
                counters[prefix] = n + 1
                candidate = prefix if n == 0 else f"{prefix}_{n}"
                if candidate not in taken:
                    break
            taken.add(candidate)
            names.append(candidate)
        return names

    def validate(self) -> None:
        """Check everything that does not need shapes; raise SpecError naming the offending layer."""
        h, w, c = self.input_shape
        if min(h, w, c) < 1:
            raise SpecError(f"input shape must be at least 1x1x1, got {h}x{w}x{c}")
        if self.num_classes < 1:
            raise SpecError(f"number of classes must be at least 1, got {self.num_classes}")
        names = self.layer_names()
        seen: set[str] = set()
        for i, (layer, name) in enumerate(zip(self.layers, names)):
            if name in seen:
                raise SpecError(f'{describe_layer(layer, i)}: the name "{name}" is used twice; layer names must be unique')
            seen.add(name)
            validate_layer(layer, i)
        self.compile.validate()


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise SpecError(f"{what} must be a whole number, got {value!r:.40}")
    return int(value)


def describe_layer(layer: LayerSpec, index: int) -> str:
    """How errors name a layer: 'layer 3 (Conv2D "conv2d_1")'."""
    return f'layer {index + 1} ({layer.kind}{" " + repr(layer.name) if layer.name else ""})'


def normalize_pair(value: Any) -> tuple[int, int] | None:
    """An int or a pair as a pair of ints (None if it is neither)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, float) and value.is_integer():
        return (int(value), int(value))
    if isinstance(value, (list, tuple)) and len(value) == 2:
        out = []
        for v in value:
            if isinstance(v, bool):
                return None
            if isinstance(v, int):
                out.append(v)
            elif isinstance(v, float) and v.is_integer():
                out.append(int(v))
            else:
                return None
        return (out[0], out[1])
    return None


def validate_layer(layer: LayerSpec, index: int = 0) -> None:
    """Check one layer's parameter values against its kind; raise SpecError naming it."""
    where = describe_layer(layer, index)
    if layer.kind not in LAYER_KINDS:
        raise SpecError(f'{where}: unknown layer type; expected one of: {", ".join(LAYER_KINDS)}')
    if layer.name and not _NAME_RE.match(layer.name):
        raise SpecError(f"{where}: the name {layer.name!r} may only use letters, digits, _ . - and cannot start with a digit")
    kind = LAYER_KINDS[layer.kind]
    for p in kind.params:
        value = layer.get(p.name)
        label = p.label or p.name
        if p.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(f"{where}: {label} must be a whole number, got {value!r:.40}")
            if p.minimum is not None and value < p.minimum:
                raise SpecError(f"{where}: {label} must be at least {p.minimum:g}, got {value}")
            if p.maximum is not None and value > p.maximum:
                raise SpecError(f"{where}: {label} must be at most {p.maximum:g}, got {value}")
        elif p.type == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(f"{where}: {label} must be a number, got {value!r:.40}")
            if p.minimum is not None and value < p.minimum:
                raise SpecError(f"{where}: {label} must be at least {p.minimum:g}, got {value:g}")
            if p.maximum is not None and value > p.maximum:
                raise SpecError(f"{where}: {label} must be at most {p.maximum:g}, got {value:g}")
        elif p.type in ("pair", "pair_or_none"):
            if value is None and p.type == "pair_or_none":
                continue
            pair = normalize_pair(value)
            if pair is None:
                raise SpecError(f"{where}: {label} must be a whole number or a pair like [3, 3], got {value!r:.40}")
            if min(pair) < 1:
                raise SpecError(f"{where}: {label} must be at least 1, got {pair[0]}x{pair[1]}")
        elif p.type == "choice":
            if value not in p.choices:
                raise SpecError(f'{where}: {label} must be one of {", ".join(map(str, p.choices))}; got {value!r:.40}')
        elif p.type == "bool":
            if not isinstance(value, bool):
                raise SpecError(f"{where}: {label} must be true or false, got {value!r:.40}")
        elif p.type == "str":
            if not isinstance(value, str):
                raise SpecError(f"{where}: {label} must be text, got {value!r:.40}")
    if layer.kind in ("Conv2D", "SeparableConv2D"):
        strides = normalize_pair(layer.get("strides"))
        dilation = normalize_pair(layer.get("dilation_rate"))
        if strides != (1, 1) and dilation != (1, 1):
            raise SpecError(f"{where}: strides and dilation cannot both be above 1 (Keras refuses it)")
    if (layer.kind == "Pretrained" and layer.get("trainable") == "fine_tune" and not layer.get("fine_tune_from")
            and layer.get("application") in KNOWN_APPLICATIONS):  # other bases: checked once measured (summary)
        raise SpecError(f"{where}: choose the layer of the base to fine-tune from")


def pair(value: Any) -> tuple[int, int]:
    """A validated pair (call after :func:`validate_layer`)."""
    p = normalize_pair(value)
    if p is None:
        raise SpecError(f"expected a whole number or a pair of them, got {value!r:.40}")
    return p


def make_layer(kind: str, name: str = "", **params: Any) -> LayerSpec:
    """A LayerSpec of ``kind`` with the given parameters over the defaults."""
    default_params(kind)  # raises for unknown kinds
    return LayerSpec(kind, params, name)


def loss_for_labels(label_type: str) -> str:
    """The loss that fits a label type ("integer", "one-hot", "binary")."""
    try:
        return LOSS_FOR_LABELS[label_type]
    except KeyError:
        raise SpecError(f'unknown label type "{label_type}"; expected one of {", ".join(LOSS_FOR_LABELS)}') from None


def spec_layers(kinds: Sequence[tuple[str, dict[str, Any]]]) -> list[LayerSpec]:
    """Layers from (kind, params) pairs."""
    return [LayerSpec(kind, dict(params)) for kind, params in kinds]
