"""Any functional or sequential Keras model opened as an editable graph design.

:func:`import_model` reads a model's own ``get_config()`` (never private
attributes) and returns an :class:`ImportResult`: the
:class:`~convexplorer.core.spec.ModelSpec`, why the design is read-only (or
None), notes for the user, and the model's trained weights by node.
:func:`import_config` does the same from a config dict alone (a ``.json``
file, a Keras 2 ``.h5`` config), without weights.

Configs understood:

* Functional (Keras 3): each layer's ``inbound_nodes`` is a list of calls
  ``{"args": [...], "kwargs": {...}}`` whose ``__keras_tensor__`` entries carry
  ``keras_history = [layer, node, tensor]``; a merge layer nests its inputs in
  a list.
* Functional (Keras 2, ``.h5`` files): each call is a list of plain
  ``[layer, node, tensor, kwargs]`` entries.
* Sequential: a chain of layers (an ``InputLayer`` first, or a
  ``build_input_shape``, or a first layer with ``batch_input_shape``).

Every Keras layer becomes one node named as the Keras layer, so Keras rebuilds
the same names. A layer maps to an editable kind when our parameters rebuild
exactly its configuration: the check instantiates the layer ConvExplorer would
build and compares the two configs, ignoring what changes neither the graph
nor the parameter count (initializers, dtype, seeds). Anything else (Lambda,
custom classes, a regularizer, a frozen layer, a kind we do not have) becomes
a read-only ``KerasLayer`` node holding the class name, the config and the
reason. A Lambda also makes the whole design read-only: designs are rebuilt in
Keras safe mode, which refuses the Python code it stores. A nested model is one node: ``Pretrained`` for a keras.applications
base we know, else a ``KerasLayer`` holding the nested config; it is shown
collapsed. A layer called at two places (shared weights) cannot be a design
(each node owns its weights): the design then opens read-only.

Weights: :attr:`ImportResult.weights` maps node id to a fingerprint (kind,
parameters and input shapes of the node) and the layer's weights;
:func:`apply_weights` copies them onto a model built from the design for
every node whose fingerprint is unchanged and says which nodes start fresh.
No Qt here; Keras and numpy are imported inside the functions.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError
from .layer_kinds import ACTIVATIONS, APPLICATION_NAMES, LAYER_KINDS, NAME_RE
from .spec import (
    INPUT_ID,
    CompileSpec,
    GroupSpec,
    HeadSpec,
    LayerSpec,
    ModelSpec,
    normalize_pair,
    normalize_quad,
    validate_layer,
)

#: Class names of nested models in configs.
MODEL_CLASSES = ("Functional", "Sequential", "Model")
#: Config keys that change neither the graph nor the parameter count: not compared, dropped.
_IGNORED_KEYS = {"name", "dtype", "seed", "build_config", "autocast", "trainable"}
#: Keras 2 config keys that Keras 3 layers no longer have and that change nothing we model.
_KERAS2_IGNORED = {"batch_input_shape", "input_dim", "input_shape", "batch_size", "fused", "renorm_momentum",
                   "virtual_batch_size", "adjustment", "implementation", "ragged", "sparse", "groups"}
#: Keras's defaults where ours differ (a hand-written or old config may leave a setting out).
_KERAS_DEFAULTS: dict[Any, Any] = {
    "activation": "linear",
    ("Conv2DTranspose", "strides"): (1, 1),
    ("Conv2DTranspose", "padding"): "valid",
    ("RandomFlip", "mode"): "horizontal_and_vertical",
    ("Cropping2D", "cropping"): (0, 0, 0, 0),
}
#: Augmentation factors: how Keras reads one number f (as the pair (lo, hi)).
_FACTOR_PAIRS = {"RandomContrast": lambda f: [f, f]}


@dataclass
class ImportResult:
    """A model opened as a design: the spec, why it is read-only (None: editable), notes, kept weights."""

    spec: ModelSpec
    #: Why the design cannot be edited (a shared layer...), naming the layer; None when it can.
    read_only: str | None = None
    #: What the user should know: layers kept as Keras config, renamed bases, dropped settings.
    notes: list[str] = field(default_factory=list)
    #: node id -> (fingerprint, weights): the model's weights for nodes that have any.
    weights: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)

    @property
    def editable(self) -> bool:
        """True when the design can be edited (no shared layer)."""
        return self.read_only is None

    def message(self) -> str:
        """One text for the user: the read-only reason first, then the notes."""
        parts = ([self.read_only] if self.read_only else []) + list(self.notes)
        return "\n".join(parts)


@dataclass
class WeightsApplied:
    """What :func:`apply_weights` did: nodes that got their kept weights, nodes that start fresh."""

    kept: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading configs
@dataclass
class _Call:
    """One call of a Keras layer: its inputs as (layer name, node index, tensor index), input shapes."""

    inputs: list[tuple[str, int, int]]
    shapes: list[tuple | None]
    merge: bool = False
    kwarg_tensors: bool = False


@dataclass
class _Entry:
    name: str
    class_name: str
    config: dict[str, Any]
    registered_name: str | None
    calls: list[_Call]


def _is_keras_tensor(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__"


def _tensors_in(obj: Any) -> Iterator[dict[str, Any]]:
    if _is_keras_tensor(obj):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors_in(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors_in(item)


def _shape(value: Any) -> tuple | None:
    if not isinstance(value, (list, tuple)):
        return None
    return tuple(None if v is None else int(v) for v in value[1:])


def _parse_call(node: Any) -> _Call:
    """One entry of ``inbound_nodes``, Keras 3 (dict with args/kwargs) or Keras 2 (list of triples)."""
    if isinstance(node, dict):  # Keras 3
        args = list(node.get("args", []))
        merge = bool(args) and isinstance(args[0], (list, tuple)) and not _is_keras_tensor(args[0])
        tensors = list(_tensors_in(args))
        inputs, shapes = [], []
        for t in tensors:
            cfg = t.get("config", {})
            layer, node_index, tensor_index = cfg["keras_history"]
            inputs.append((str(layer), int(node_index), int(tensor_index)))
            shapes.append(_shape(cfg.get("shape")))
        kwarg_tensors = any(True for _ in _tensors_in(node.get("kwargs", {})))
        return _Call(inputs, shapes, merge, kwarg_tensors)
    if isinstance(node, (list, tuple)):  # Keras 2: [[layer, node, tensor, kwargs], ...]
        entries = [node] if node and isinstance(node[0], str) else list(node)
        inputs = []
        for e in entries:
            if not isinstance(e, (list, tuple)) or len(e) < 3:
                raise SpecError(f"cannot read this Keras connection: {e!r:.80}")
            inputs.append((str(e[0]), int(e[1]), int(e[2])))
        return _Call(inputs, [None] * len(inputs), len(inputs) > 1)
    raise SpecError(f"cannot read this Keras connection: {node!r:.80}")


def _refs(value: Any) -> list[tuple[str, int, int]]:
    """``input_layers`` / ``output_layers``: one triple, a list of them, or a dict of them."""
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str):
        return [(value[0], int(value[1]), int(value[2]))]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _refs(v)]
    raise SpecError(f"cannot read the model's inputs or outputs: {value!r:.80}")


def _unwrap(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(class name, inner config) from a wrapped ``{"class_name", "config"}`` dict or an inner config."""
    if "config" in config and "class_name" in config and isinstance(config["config"], dict):
        return str(config["class_name"]), config["config"]
    is_functional = any("inbound_nodes" in layer for layer in config.get("layers", []) if isinstance(layer, dict))
    return ("Functional" if is_functional or "input_layers" in config else "Sequential"), config


def _layer_name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or entry.get("config", {}).get("name") or "")


def _batch_shape(config: dict[str, Any]) -> Any:
    for key in ("batch_shape", "batch_input_shape"):
        if config.get(key) is not None:
            return config[key]
    if config.get("input_shape") is not None:
        return [None, *config["input_shape"]]
    return None


def _read_graph(class_name: str, config: dict[str, Any]) -> tuple[list[_Entry], list[tuple[str, Any]], Any, str]:
    """The layers with their calls, the inputs (name, batch shape), the outputs and the input layer name."""
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise SpecError("not a Keras model configuration: it has no list of layers")
    entries: list[_Entry] = []
    inputs: list[tuple[str, Any]] = []
    if class_name == "Sequential" or not any("inbound_nodes" in layer for layer in layers if isinstance(layer, dict)):
        prev: tuple[str, int, int] | None = None
        shape = config.get("build_input_shape")
        input_name = "input_layer"
        for layer in layers:
            cls, cfg = str(layer.get("class_name")), dict(layer.get("config") or {})
            name = _layer_name(layer)
            if cls == "InputLayer":
                shape, input_name = _batch_shape(cfg), name or input_name
                prev = (input_name, 0, 0)
                continue
            if prev is None:
                shape = _batch_shape(cfg) if _batch_shape(cfg) is not None else shape
                prev = (input_name, 0, 0)
            entries.append(_Entry(name, cls, cfg, layer.get("registered_name"), [_Call([prev], [None])]))
            prev = (name, 0, 0)
        inputs.append((input_name, shape))
        outputs = [prev] if prev is not None else []
        return entries, inputs, outputs, input_name
    input_refs = _refs(config.get("input_layers", []))
    input_names = {r[0] for r in input_refs}
    for layer in layers:
        cls, cfg = str(layer.get("class_name")), dict(layer.get("config") or {})
        name = _layer_name(layer)
        if cls == "InputLayer" or name in input_names:
            inputs.append((name, _batch_shape(cfg)))
            continue
        calls = [_parse_call(node) for node in layer.get("inbound_nodes", [])]
        entries.append(_Entry(name, cls, cfg, layer.get("registered_name"), calls))
    input_name = inputs[0][0] if inputs else ""
    return entries, inputs, config.get("output_layers", []), input_name


# --------------------------------------------------------------------------- layers to kinds
class _Keep(Exception):
    """The layer cannot be an editable kind: it is kept as Keras config (the message says why)."""


def _as_activation(value: Any, class_name: str) -> str:
    if value is None:
        return "linear"
    if isinstance(value, str) and value in ACTIVATIONS:
        return value
    shown = value if isinstance(value, str) else value.get("config", value) if isinstance(value, dict) else value
    raise _Keep(f"its activation {shown!r:.40} is not one ConvExplorer offers")


def _symmetric_factor(class_name: str, value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = float(value[0]), float(value[1])
        if class_name in _FACTOR_PAIRS and lo == hi:
            return hi
        if class_name not in _FACTOR_PAIRS and lo == -hi:
            return hi
    raise _Keep(f"its factor {value!r:.40} is not symmetric")


def _params_for(class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Our parameters for a Keras layer config (raises _Keep when a value has no place in them)."""
    kind = LAYER_KINDS[class_name]
    params: dict[str, Any] = {}
    for p in kind.params:
        if p.name in config:
            v = config[p.name]
        elif (class_name, p.name) in _KERAS_DEFAULTS or p.name in _KERAS_DEFAULTS:
            v = _KERAS_DEFAULTS.get((class_name, p.name), _KERAS_DEFAULTS.get(p.name))
        else:
            v = p.default
        if p.name == "activation":
            v = _as_activation(v, class_name)
        elif p.type in ("pair", "pair_or_none"):
            if v is not None:
                pair = normalize_pair(v)
                if pair is None:
                    raise _Keep(f"its {p.name} {v!r:.40} is not a pair of whole numbers")
                v = list(pair)
        elif p.type == "quad":
            quad = normalize_quad(v)
            if quad is None:
                raise _Keep(f"its {p.name} {v!r:.40} is not top, bottom, left, right")
            v = list(quad)
        elif p.type == "int":
            if isinstance(v, (list, tuple)) and len(v) == 1:
                v = v[0]
            if isinstance(v, float) and v.is_integer():
                v = int(v)
        elif p.type in ("float", "float_or_none"):
            if p.name in ("factor", "height_factor", "width_factor"):
                v = _symmetric_factor(class_name, v)
            elif v is not None:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise _Keep(f"its {p.name} {v!r:.40} is not one number")
                v = float(v)
        elif p.type == "shape":
            v = [int(x) for x in v]
        params[p.name] = v
    if class_name == "Dense":
        params["units_from_classes"] = False
    return params


def _keras_layer_for(kind: str, params: dict[str, Any]) -> Any:
    """The Keras layer core.builder makes for ``kind`` with ``params`` (to compare configs)."""
    from keras import layers as L

    g = params.get
    if kind in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose"):
        kw: dict[str, Any] = {"strides": tuple(g("strides")), "padding": g("padding"),
                              "activation": g("activation"), "use_bias": g("use_bias")}
        if kind != "Conv2DTranspose":
            kw["dilation_rate"] = tuple(g("dilation_rate"))
        if kind in ("SeparableConv2D", "DepthwiseConv2D"):
            kw["depth_multiplier"] = g("depth_multiplier")
        if kind == "DepthwiseConv2D":
            return L.DepthwiseConv2D(tuple(g("kernel_size")), **kw)
        return getattr(L, kind)(g("filters"), tuple(g("kernel_size")), **kw)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        strides = tuple(g("strides")) if g("strides") is not None else None
        return getattr(L, kind)(tuple(g("pool_size")), strides=strides, padding=g("padding"))
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return getattr(L, kind)(keepdims=bool(g("keepdims")))
    if kind == "UpSampling2D":
        return L.UpSampling2D(tuple(g("size")), interpolation=g("interpolation"))
    if kind in ("ZeroPadding2D", "Cropping2D"):
        t, b, left, right = g("padding" if kind == "ZeroPadding2D" else "cropping")
        return getattr(L, kind)(((t, b), (left, right)))
    if kind == "Reshape":
        return L.Reshape(tuple(g("target_shape")))
    if kind == "ReLU":
        return L.ReLU(max_value=g("max_value"), negative_slope=g("negative_slope"), threshold=g("threshold"))
    if kind == "LayerNormalization":
        return L.LayerNormalization(axis=g("axis"), epsilon=g("epsilon"), center=g("center"), scale=g("scale"))
    if kind == "Normalization":
        return L.Normalization(axis=g("axis"))
    if kind == "Concatenate":
        return L.Concatenate(axis=g("axis"))
    if kind in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Flatten"):
        return getattr(L, kind)()
    if kind == "Dense":
        return L.Dense(g("units"), activation=g("activation"), use_bias=g("use_bias"))
    if kind == "Activation":
        return L.Activation(g("activation"))
    if kind == "Dropout":
        return L.Dropout(g("rate"))
    if kind == "BatchNormalization":
        return L.BatchNormalization(axis=g("axis"), momentum=g("momentum"), epsilon=g("epsilon"), center=g("center"),
                                    scale=g("scale"))
    if kind == "Rescaling":
        return L.Rescaling(g("scale"), offset=g("offset"))
    if kind == "RandomFlip":
        return L.RandomFlip(g("mode"))
    if kind in ("RandomRotation", "RandomContrast"):
        return getattr(L, kind)(g("factor"))
    if kind == "RandomZoom":
        return L.RandomZoom(g("height_factor"))
    if kind == "RandomTranslation":
        return L.RandomTranslation(g("height_factor"), g("width_factor"))
    raise _Keep(f"ConvExplorer has no {kind} kind")  # pragma: no cover - every importable kind is listed


def _norm(value: Any, key: str = "", class_name: str = "") -> Any:
    """A config value in a form where equal settings compare equal."""
    if key in ("factor", "height_factor", "width_factor") and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = _FACTOR_PAIRS.get(class_name, lambda f: [-f, f])(float(value))
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        items = [_norm(v) for v in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 9)
    return value


_REFERENCE_CONFIGS: dict[str, dict[str, Any]] = {}


def _differences(class_name: str, kind: str, params: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """Config keys where the layer ConvExplorer would build differs from the original."""
    key = kind + json.dumps(params, sort_keys=True, default=str)
    ours = _REFERENCE_CONFIGS.get(key)
    if ours is None:
        ours = _keras_layer_for(kind, params).get_config()
        _REFERENCE_CONFIGS[key] = ours
    diffs = []
    for k, v in config.items():
        if k in _IGNORED_KEYS or k.endswith("_initializer"):
            continue
        if k not in ours:
            empty = v is None or v is False or (isinstance(v, (int, float, str, list, tuple, dict)) and not v)
            if empty or k in _KERAS2_IGNORED or (k == "data_format" and v == "channels_last"):
                continue
            diffs.append(k)
        elif _norm(v, k, class_name) != _norm(ours[k], k, class_name):
            if k == "activation" and _norm(v) in (None, "linear") and ours[k] in (None, "linear"):
                continue
            diffs.append(k)
    return diffs


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a config (tuples to lists, numpy values to numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _kept(class_name: str, config: dict[str, Any], reason: str) -> LayerSpec:
    return LayerSpec("KerasLayer", {"class_name": class_name, "config": _plain(config), "reason": reason})


def _map_layer(entry: _Entry) -> tuple[LayerSpec, str | None]:
    """The node for a plain (not nested) Keras layer, and a note when it is kept as Keras config."""
    cls, cfg, name = entry.class_name, entry.config, entry.name
    if entry.registered_name and entry.registered_name != cls and ">" in str(entry.registered_name):
        reason = f"a custom class ({entry.registered_name}) that ConvExplorer cannot edit"
    elif cls == "Lambda":
        reason = "a Lambda layer (Python code) that ConvExplorer cannot edit"
    elif cls not in LAYER_KINDS or not LAYER_KINDS[cls].editable or cls in ("ResidualBlock", "Pretrained"):
        reason = f"ConvExplorer has no {cls} kind"
    elif cfg.get("trainable") is False:
        reason = "it is frozen (not trainable), which ConvExplorer cannot set on one layer"
    else:
        try:
            params = _params_for(cls, cfg)
            node = LayerSpec(cls, params)
            validate_layer(node)
            diffs = _differences(cls, cls, params, cfg)
            if diffs:
                raise _Keep(f"its {', '.join(diffs)} setting{'s' if len(diffs) > 1 else ''} cannot be edited here")
            return node, None
        except _Keep as exc:
            reason = str(exc)
        except SpecError as exc:
            reason = str(exc).split(": ", 1)[-1]
        except (TypeError, ValueError, KeyError) as exc:
            reason = f"its configuration is not one ConvExplorer can rebuild ({exc})"
    note = f'{cls} "{name}" is kept as a read-only Keras layer: {reason}'
    return _kept(cls, cfg, reason), note


_APP_KEYS = {re.sub(r"[^a-z0-9]", "", a.lower()): a for a in APPLICATION_NAMES}


def application_of(model_name: str) -> str | None:
    """The keras.applications base a nested model's name stands for ("resnet50" -> "ResNet50"), if any."""
    name = model_name.lower()
    m = re.match(r"^(mobilenet(?:v2)?)_(\d+\.\d+)_\d+$", name)  # "mobilenetv2_1.00_224": only alpha 1.0 is ours
    if m:
        if float(m.group(2)) != 1.0:
            return None
        name = m.group(1)
    return _APP_KEYS.get(re.sub(r"[^a-z0-9]", "", name))


def _map_nested(entry: _Entry) -> tuple[LayerSpec, str]:
    """A nested model: a Pretrained node for a known base without its top, else a KerasLayer holding it."""
    cfg = entry.config
    app = application_of(entry.name) or application_of(str(cfg.get("name", "")))
    sub = [s for s in cfg.get("layers", []) if isinstance(s, dict) and s.get("class_name") != "InputLayer"]
    has_top = bool(sub) and sub[-1].get("class_name") in ("Dense", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                                                              "Flatten", "Activation")
    if app is not None and not has_top and sub:
        if cfg.get("trainable") is False:
            mode, start = "frozen", ""
        else:
            flags = [s.get("config", {}).get("trainable", True) is not False for s in sub]
            if all(flags):
                mode, start = "trainable", ""
            elif not any(flags):
                mode, start = "frozen", ""
            else:
                first = flags.index(True)
                mode, start = "fine_tune", _layer_name(sub[first])
        node = LayerSpec("Pretrained", {"application": app, "weights": "imagenet", "trainable": mode,
                                        "fine_tune_from": start})
        renamed = "" if entry.name == app.lower() else f', renamed "{app.lower()}"'
        return node, f'the nested model "{entry.name}" is the {app} base (one node{renamed}); its weights come from the file'
    reason = f"a nested {entry.class_name} model with {len(sub)} layers, kept whole as Keras config"
    node = _kept(entry.class_name, cfg, reason)
    return node, f'the nested model "{entry.name}" is one read-only node: {reason}'


# --------------------------------------------------------------------------- the importer
def import_config(config: dict[str, Any], name: str = "", model: Any = None) -> ImportResult:
    """A design from a Keras model config (Keras 3 or Keras 2, functional or sequential); weights from ``model``.

    Raises SpecError, saying why, when the model cannot be a design at all (several inputs, inputs
    that are not fixed-size images, a config that is not a model's).
    """
    try:
        return _import_config(config, name, model)
    except SpecError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise SpecError(f"not a Keras model configuration this version can read ({type(exc).__name__}: {exc})") from None


def _import_config(config: dict[str, Any], name: str, model: Any) -> ImportResult:
    if not isinstance(config, dict):
        raise SpecError(f"not a Keras model configuration: expected an object, got {type(config).__name__}")
    class_name, inner = _unwrap(config)
    entries, inputs, outputs, input_name = _read_graph(class_name, inner)
    if len(inputs) != 1:
        raise SpecError(f"the model has {len(inputs)} inputs; ConvExplorer designs have one image input")
    shape = inputs[0][1]
    dims = list(shape)[1:] if isinstance(shape, (list, tuple)) else None
    if dims is None:
        raise SpecError("the model has no known input shape, so it cannot be edited as a design")
    if len(dims) != 3:
        raise SpecError(f"the builder edits image models with (height, width, channels) inputs; this one takes {tuple(dims)}")
    if any(d is None for d in dims):
        raise SpecError(f"the model takes images of any size {tuple(dims)}; ConvExplorer designs need a fixed "
                        "height, width and channels")
    notes: list[str] = []
    read_only: list[str] = []
    nodes: list[LayerSpec] = []
    groups: list[GroupSpec] = []
    ref_of: dict[tuple[str, int], str] = {(input_name, 0): INPUT_ID}
    origin: dict[str, tuple[str, int]] = {}  # node id -> (keras layer name, call index)
    kind_of: dict[str, str] = {}
    taken_names: set[str] = {e.name for e in entries} | {"input_layer"}
    counter = 0
    for entry in entries:
        if not entry.calls:
            continue  # a layer of the config that this model never calls
        if entry.class_name in MODEL_CLASSES or "layers" in entry.config:
            base, note = _map_nested(entry)
        else:
            base, note = _map_layer(entry)
        if note:
            notes.append(note)
        if base.kind == "KerasLayer" and _has_lambda(entry):
            read_only.append(f'the layer "{entry.name}" {"is" if entry.class_name == "Lambda" else "holds"} a Lambda '
                             "(Python code stored with the model); designs are rebuilt in Keras safe mode, which "
                             "refuses such code")
        if len(entry.calls) > 1:
            read_only.append(f'the layer "{entry.name}" is used at {len(entry.calls)} places (a shared layer: '
                             "one set of weights); a ConvExplorer design gives each node its own weights")
        for k, call in enumerate(entry.calls):
            counter += 1
            node = base if k == 0 else LayerSpec(base.kind, json.loads(json.dumps(base.params)))
            node.id = f"n{counter}"
            node_name = entry.name if k == 0 else _fresh_name(f"{entry.name}_{k}", taken_names)
            if node.kind != "Pretrained":
                if NAME_RE.match(node_name):
                    node.name = node_name
                else:
                    notes.append(f'the layer "{entry.name}" gets an automatic name: its own is not one ConvExplorer accepts')
            if call.kwarg_tensors:
                read_only.append(f'the layer "{entry.name}" takes tensors as keyword arguments, which a design cannot wire')
            srcs = []
            for layer, node_index, tensor_index in call.inputs:
                if (layer, node_index) not in ref_of:
                    raise SpecError(f'the layer "{entry.name}" reads "{layer}", which comes later in the configuration '
                                    "or is not part of the model")
                srcs.append((ref_of[(layer, node_index)], tensor_index))
            if not srcs:
                raise SpecError(f'the layer "{entry.name}" has no input; ConvExplorer designs start from the image input')
            if any(port != 0 and kind_of.get(src) != "KerasLayer" for src, port in srcs):
                read_only.append(f'the layer "{entry.name}" reads a second output of a layer, which a design cannot wire')
            is_merge = LAYER_KINDS[node.kind].is_merge
            if not is_merge and len(srcs) > 1 and node.kind != "KerasLayer":
                raise SpecError(f'the layer "{entry.name}" ({entry.class_name}) has {len(srcs)} inputs')
            node.inputs = srcs
            nodes.append(node)
            kind_of[node.id] = node.kind
            ref_of[(entry.name, k)] = node.id
            origin[node.id] = (entry.name, k)
            if entry.class_name in MODEL_CLASSES or "layers" in entry.config:
                groups.append(GroupSpec(entry.name, [node.id], collapsed=True))
    if not nodes:
        raise SpecError("the model has no layers after its input: there is nothing to edit")
    out_refs = _refs(outputs) if outputs else []
    head_nodes = []
    for layer, node_index, tensor_index in out_refs:
        src = ref_of.get((layer, node_index))
        if src is None or src == INPUT_ID:
            raise SpecError(f'the model\'s output "{layer}" is not a layer of the model')
        if tensor_index != 0:
            read_only.append(f'the model\'s output is output {tensor_index} of "{layer}", which a design cannot name as a head')
        head_nodes.append((layer, src))
    spec = ModelSpec(name or str(inner.get("name", "model")), tuple(int(d) for d in dims), 10, nodes,
                     CompileSpec(), groups=groups)
    spec.sort_topologically()
    _set_heads(spec, head_nodes, outputs)
    if spec.is_chain():
        for node in spec.layers:
            node.inputs = None  # a plain stack stays a chain
    result = ImportResult(spec, "; ".join(dict.fromkeys(read_only)) or None, notes)
    if result.read_only:
        result.read_only = f"this design opens read-only: {result.read_only}. The model itself can still be inspected and trained."
    if model is not None:
        result.weights = _collect_weights(model, spec, origin, entries)
    return result


def _has_lambda(entry: _Entry) -> bool:
    """True for a Lambda layer, or a nested model with one inside."""
    def walk(obj: Any) -> bool:
        if isinstance(obj, dict):
            return obj.get("class_name") == "Lambda" or any(walk(v) for v in obj.values())
        if isinstance(obj, (list, tuple)):
            return any(walk(v) for v in obj)
        return False

    return entry.class_name == "Lambda" or walk(entry.config.get("layers", []))


def _fresh_name(candidate: str, taken: set[str]) -> str:
    name, k = candidate, 1
    while name in taken:
        k += 1
        name = f"{candidate}_{k}"
    taken.add(name)
    return name


def _set_heads(spec: ModelSpec, head_nodes: list[tuple[str, str]], outputs: Any) -> None:
    """Heads for the model's outputs (none when the one output is the last node), and the classes."""
    if not head_nodes:
        return
    keys = list(outputs.keys()) if isinstance(outputs, dict) else [layer for layer, _ in head_nodes]
    if len(head_nodes) == 1 and head_nodes[0][1] == spec.layers[-1].id:
        spec.heads = []
    else:
        used: set[str] = set()
        heads = []
        for key, (_, node_id) in zip(keys, head_nodes):
            hname = key if NAME_RE.match(str(key)) else "output"
            hname = _fresh_name(str(hname), used)
            heads.append(HeadSpec(hname, node_id, spec.compile.loss, 1.0, list(spec.compile.metrics)))
        spec.heads = heads
    if len(head_nodes) == 1:
        last = spec.node(head_nodes[0][1])
        if last.kind == "Dense":
            units = int(last.get("units"))
            binary = units == 1 and last.get("activation") == "sigmoid"
            if units > 1 or binary:
                spec.num_classes = 2 if units == 1 else units
                if binary:
                    spec.compile.loss = "binary_crossentropy"
                last.params["units_from_classes"] = True


def _input_shapes_by_layer(config: dict[str, Any]) -> dict[str, list[list[tuple | None]]]:
    """For every layer of a functional config, the input shapes (no batch) of each call."""
    _, inner = _unwrap(config)
    out: dict[str, list[list[tuple | None]]] = {}
    for layer in inner.get("layers", []):
        if isinstance(layer, dict) and "inbound_nodes" in layer:
            try:
                out[_layer_name(layer)] = [_parse_call(n).shapes for n in layer["inbound_nodes"]]
            except (SpecError, KeyError, TypeError, ValueError):
                continue
    return out


def _public_input_shapes(layer: Any) -> list[tuple | None]:
    """Input shapes of a layer's first call through its public ``input`` (configs without shapes)."""
    try:
        tensors = layer.input
    except (AttributeError, ValueError, RuntimeError):
        return []
    items = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    return [_shape(list(t.shape)) for t in items]


def node_fingerprint(spec: ModelSpec, node: LayerSpec, input_shapes: list[tuple | None]) -> str:
    """A hash of what decides a node's weights: kind, parameters (not its name or training mode), input shapes."""
    params = dict(node.params)
    if node.kind == "Pretrained":  # freezing or fine-tuning does not change what the weights are
        params.pop("trainable", None)
        params.pop("fine_tune_from", None)
    if node.kind == "KerasLayer" and isinstance(params.get("config"), dict):
        params["config"] = {k: v for k, v in params["config"].items() if k not in ("name", "trainable")}
    if node.kind == "Dense" and params.get("units_from_classes"):
        params["units"] = spec.output_units()
    shapes = [list(s) if s is not None else None for s in input_shapes]
    text = json.dumps([node.kind, _plain(params), shapes], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _collect_weights(model: Any, spec: ModelSpec, origin: dict[str, tuple[str, int]],
                     entries: list[_Entry]) -> dict[str, tuple[str, list[Any]]]:
    """node id -> (fingerprint, weights) from the imported model's layers."""
    shapes_by_call = {e.name: [c.shapes for c in e.calls] for e in entries}
    out: dict[str, tuple[str, list[Any]]] = {}
    for node in spec.layers:
        layer_name, k = origin[node.id]
        try:
            layer = model.get_layer(layer_name)
        except ValueError:
            continue
        if not layer.weights:
            continue
        shapes = shapes_by_call.get(layer_name, [[]])[k]
        if not shapes or any(s is None for s in shapes):
            shapes = _public_input_shapes(layer)
        out[node.id] = (node_fingerprint(spec, node, shapes), layer.get_weights())
    return out


def import_model(model: Any, name: str = "") -> ImportResult:
    """A design from a Keras model (its ``get_config()``), with its weights by node."""
    try:
        config = model.get_config()
    except NotImplementedError:
        raise SpecError(f"the model {getattr(model, 'name', '')!r} is a subclassed model: Keras cannot describe its "
                        "layers, so it can be inspected but not opened as a design") from None
    cls = "Sequential" if type(model).__name__ == "Sequential" else "Functional"
    return import_config({"class_name": cls, "config": config}, name or model.name, model)


def apply_weights(model: Any, spec: ModelSpec, weights: dict[str, tuple[str, list[Any]]]) -> WeightsApplied:
    """Copy kept weights onto ``model`` (built from ``spec``) for every unchanged node; report which start fresh."""
    result = WeightsApplied()
    shapes_by_layer = _input_shapes_by_layer({"class_name": "Functional", "config": model.get_config()})
    for node, keras_name in zip(spec.layers, spec.layer_names()):
        try:
            layer = model.get_layer(keras_name)
        except ValueError:
            continue
        if not layer.weights:
            continue
        kept = weights.get(node.id)
        if kept is not None:
            shapes = (shapes_by_layer.get(keras_name) or [[]])[0]
            if not shapes or any(s is None for s in shapes):
                shapes = _public_input_shapes(layer)
            fingerprint, values = kept
            current = layer.get_weights()
            if (fingerprint == node_fingerprint(spec, node, shapes) and len(current) == len(values)
                    and all(tuple(a.shape) == tuple(b.shape) for a, b in zip(current, values))):
                layer.set_weights(values)
                finalize = getattr(layer, "finalize_state", None)
                if callable(finalize):  # Normalization recomputes its mean and variance from its weights
                    finalize()
                result.kept.append(node.id)
                continue
        result.fresh.append(node.id)
    return result


def import_keras_json(text: str | bytes, name: str = "") -> ImportResult:
    """A design from a model's Keras JSON (``model.to_json()``), read through ``keras.models.model_from_json``."""
    import keras

    try:
        json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SpecError(f"not valid JSON: {exc}") from None
    try:
        model = keras.models.model_from_json(text if isinstance(text, str) else text.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a config it cannot rebuild
        # Lambda code (safe mode) or a class not registered here: read the configuration itself, which
        # runs nothing; such layers become read-only nodes (JSON holds no weights anyway)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        data = json.loads(text)
        if not isinstance(data, dict) or "config" not in data:
            raise SpecError(f"Keras cannot read this model JSON: {first}") from None
        result = import_config(data, name)
        result.notes.insert(0, f"Keras could not rebuild this model ({first[:200]}); the design was read from its "
                               "configuration, and building it needs the same layers")
        return result
    return import_model(model, name)


def keras_json_from_spec(spec: ModelSpec) -> str:
    """The design as Keras JSON (built with random weights, then ``model.to_json()``)."""
    from .builder import build_model

    return build_model(spec, compile=False, load_weights=False).to_json()
