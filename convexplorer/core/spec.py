"""Model designs as plain data: ``ModelSpec`` (a graph of ``LayerSpec`` nodes), ``HeadSpec``, ``CompileSpec``.

A design is a directed acyclic graph over one image input of ``input_shape``
(height, width, channels). Its nodes are :class:`LayerSpec` objects (a layer
kind, its parameters, a stable ``id``, an optional name and canvas position),
kept in ``ModelSpec.layers`` in an order where every node comes after its
inputs. Edges are port-indexed: ``node.inputs[k] = (source id, output port)``
feeds input port ``k`` of the node; the source ``"input"`` is the image input.
A node whose ``inputs`` is ``None`` takes the output of the node before it in
the list (the first node takes the image), so a stack of layers is simply a
chain and every design written before graphs existed opens unchanged.

The model's outputs are named heads (:class:`HeadSpec`), each with its own
loss, loss weight and metrics; a design without heads has one, on its last
node, trained with the compile settings' loss and metrics. Named groups of
nodes (:class:`GroupSpec`) are what the canvas collapses into one box.

It round-trips through JSON (``to_json`` / ``from_json``, ``format_version``
2; version 1 files, plain stacks, are read as chains) and validates with
:class:`~convexplorer.core.errors.SpecError` messages that name the offending
node. No TensorFlow here: ``core.summary`` infers shapes and parameter counts
from a spec, ``core.builder`` turns it into a ``keras.Model``.

Every layer kind is described in :data:`LAYER_KINDS` (``core.layer_kinds``) by
its parameters (:class:`ParamDef`), so that forms can be generated and values
checked.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .errors import SpecError
from .layer_kinds import (  # noqa: F401 - re-exported: the catalogue used to live here
    ACTIVATIONS,
    APPLICATION_NAMES,
    KNOWN_APPLICATIONS,
    LAYER_KINDS,
    LOSS_FOR_LABELS,
    LOSSES,
    METRICS,
    NAME_RE,
    OPTIMIZERS,
    TRAINABLE_MODES,
    LayerKind,
    ParamDef,
    default_params,
    name_prefix,
)

#: Version of the JSON design format written by :meth:`ModelSpec.to_json`.
FORMAT_VERSION = 2
#: The id of the image input, as a source in ``LayerSpec.inputs``.
INPUT_ID = "input"
#: Largest design accepted (nodes): beyond this, forms and the canvas stop being usable.
MAX_NODES = 2000

#: The wiring problem of a node whose output goes nowhere.
DEAD_END = "a dead-end branch: its output goes nowhere (connect it to a layer or make it a head)"
#: What a head can learn from a data set.
HEAD_TARGETS = ("labels", "boxes", "masks")

#: A reference to one output of a node: (node id, output port).
PortRef = tuple[str, int]

@dataclass
class LayerSpec:
    """One node of a design: its kind, parameters, optional name, stable id, inputs and canvas position."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    #: Stable id ("n7"), given by the ModelSpec when empty; edges and heads refer to it.
    id: str = ""
    #: One (source id, output port) per input port; None: the previous node's output (a chain).
    inputs: list[PortRef] | None = None
    #: Where the canvas draws the node (scene coordinates); None: placed by the auto-layout.
    position: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.kind in LAYER_KINDS:
            merged = default_params(self.kind)
            merged.update(self.params)
            self.params = merged
        if self.inputs is not None:
            self.inputs = [(str(src), int(port)) for src, port in self.inputs]
        if self.position is not None:
            self.position = (float(self.position[0]), float(self.position[1]))

    def get(self, key: str) -> Any:
        """A parameter value, falling back to the kind's default."""
        if key in self.params:
            return self.params[key]
        return LAYER_KINDS[self.kind].param(key).default

    @property
    def editable(self) -> bool:
        """False for layers kept as Keras config (kinds ConvExplorer cannot edit)."""
        return LAYER_KINDS[self.kind].editable if self.kind in LAYER_KINDS else False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        params = {k: _jsonable(v) for k, v in self.params.items()}
        d: dict[str, Any] = {"kind": self.kind, "params": params}
        if self.name:
            d["name"] = self.name
        if self.id:
            d["id"] = self.id
        if self.inputs is not None:
            d["inputs"] = [[src, port] for src, port in self.inputs]
        if self.position is not None:
            d["position"] = [round(self.position[0], 2), round(self.position[1], 2)]
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
        node_id = d.get("id", "")
        if not isinstance(node_id, str) or (node_id and not NAME_RE.match(node_id)) or node_id == INPUT_ID:
            raise SpecError(f"layer {index + 1} ({kind}): the id {node_id!r:.40} must be a short name of letters and digits")
        inputs = d.get("inputs")
        if inputs is not None:
            inputs = _parse_inputs(inputs, f"layer {index + 1} ({kind})")
        position = d.get("position")
        if position is not None:
            if (not isinstance(position, (list, tuple)) or len(position) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position)):
                raise SpecError(f"layer {index + 1} ({kind}): position must be [x, y], got {position!r:.60}")
        name = d.get("name", "") or ""
        if not isinstance(name, str):
            raise SpecError(f"layer {index + 1} ({kind}): the name must be text, got {name!r:.40}")
        return cls(kind, dict(params), name, node_id, inputs, tuple(position) if position is not None else None)


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
        if self.loss == "yolo":
            raise SpecError('compile settings: the loss "yolo" trains a detection grid: make the output a head '
                            "whose target is boxes and give it that loss there")
        for m in self.metrics:
            if m in ("iou", "mean_iou"):
                raise SpecError(f'compile settings: the metric "{m}" measures boxes or masks: give it to a head '
                                "whose target is boxes or masks")


def _as_float(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise SpecError(f"{what} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{what} must be a number, got {value!r:.40}") from None


@dataclass
class HeadSpec:
    """One named output of the model: the node it reads, its loss, loss weight and metrics."""

    name: str
    node: str
    loss: str = "sparse_categorical_crossentropy"
    loss_weight: float = 1.0
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    #: What the head learns from the data set: its class "labels", its "boxes" ([x0, y0, x1, y1]
    #: as fractions of the image) or per-pixel "masks".
    target: str = "labels"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"name": self.name, "node": self.node, "loss": self.loss, "loss_weight": self.loss_weight,
                "metrics": list(self.metrics), "target": self.target}

    @classmethod
    def from_dict(cls, d: Any, index: int = 0) -> "HeadSpec":
        """A head from a dict made by :meth:`to_dict`."""
        where = f"head {index + 1}"
        if not isinstance(d, dict):
            raise SpecError(f"{where}: expected an object with a name and a node, got {d!r:.60}")
        unknown = sorted(set(d) - {"name", "node", "loss", "loss_weight", "metrics", "target"})
        if unknown:
            raise SpecError(f"{where}: unknown field {unknown[0]!r}")
        name, node = d.get("name"), d.get("node")
        if not isinstance(name, str) or not isinstance(node, str):
            raise SpecError(f"{where}: name and node must be text, got {name!r:.40} and {node!r:.40}")
        metrics = d.get("metrics", ["accuracy"])
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            raise SpecError(f"{where} ({name}): metrics must be a list of names, got {metrics!r:.60}")
        target = d.get("target", "labels")
        if target not in HEAD_TARGETS:
            raise SpecError(f'{where} ({name}): target must be one of {", ".join(HEAD_TARGETS)}, got {target!r:.40}')
        return cls(name, node, str(d.get("loss", cls.loss)), _as_float(d.get("loss_weight", 1.0), f"{where}: loss weight"),
                   [str(m) for m in metrics], target)


@dataclass
class GroupSpec:
    """Named nodes that the canvas can collapse into one box (a block)."""

    name: str
    nodes: list[str] = field(default_factory=list)
    collapsed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"name": self.name, "nodes": list(self.nodes), "collapsed": self.collapsed}

    @classmethod
    def from_dict(cls, d: Any, index: int = 0) -> "GroupSpec":
        """A group from a dict made by :meth:`to_dict`."""
        if (not isinstance(d, dict) or not isinstance(d.get("name"), str) or not isinstance(d.get("nodes", []), list)
                or not all(isinstance(n, str) for n in d.get("nodes", []))):
            raise SpecError(f"group {index + 1}: expected a name and a list of node ids, got {d!r:.60}")
        return cls(d["name"], list(d.get("nodes", [])), bool(d.get("collapsed", False)))


@dataclass(frozen=True)
class Edge:
    """A connection: output ``source_port`` of ``source`` feeds input ``target_port`` of ``target``."""

    source: str
    source_port: int
    target: str
    target_port: int


@dataclass
class ModelSpec:
    """A whole design: name, input shape (H, W, C), classes, nodes, heads, groups, compile settings."""

    name: str = "model"
    input_shape: tuple[int, int, int] = (28, 28, 1)
    num_classes: int = 10
    layers: list[LayerSpec] = field(default_factory=list)
    compile: CompileSpec = field(default_factory=CompileSpec)
    description: str = ""
    heads: list[HeadSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.input_shape = tuple(int(v) for v in self.input_shape)  # type: ignore[assignment]
        self.ensure_ids()

    # --- JSON ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with a ``format_version``."""
        self.ensure_ids()
        d: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "layers": [layer.to_dict() for layer in self.layers],
            "compile": self.compile.to_dict(),
        }
        if self.heads:
            d["heads"] = [h.to_dict() for h in self.heads]
        if self.groups:
            d["groups"] = [g.to_dict() for g in self.groups]
        if self.description:
            d["description"] = self.description
        return d

    def to_json(self) -> str:
        """The design as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, d: Any) -> "ModelSpec":
        """A design from a dict made by :meth:`to_dict` (format 1 or 2); raises SpecError when it is not one."""
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
        if len(layers) > MAX_NODES:
            raise SpecError(f"the design has {len(layers):,} layers; ConvExplorer edits designs of up to {MAX_NODES:,}")
        heads, groups = d.get("heads", []), d.get("groups", [])
        if not isinstance(heads, list) or not isinstance(groups, list):
            raise SpecError('"heads" and "groups" must be lists')
        name, description = d.get("name", "model"), d.get("description", "")
        if not isinstance(name, str) or not isinstance(description, str):
            raise SpecError("the design's name and description must be text")
        nodes = [LayerSpec.from_dict(item, i) for i, item in enumerate(layers)]
        ids = [n.id for n in nodes if n.id]
        if len(ids) != len(set(ids)):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise SpecError(f'the node id "{twice[0]}" is used twice; ids must be unique')
        spec = cls(
            name=name,
            input_shape=shape_t,  # type: ignore[arg-type]
            num_classes=_as_int(d.get("num_classes", 10), "num_classes"),
            layers=nodes,
            compile=CompileSpec.from_dict(d.get("compile", {})),
            description=description,
            heads=[HeadSpec.from_dict(h, i) for i, h in enumerate(heads)],
            groups=[GroupSpec.from_dict(g, i) for i, g in enumerate(groups)],
        )
        spec.check_references()
        return spec

    @classmethod
    def from_json(cls, text: str | bytes) -> "ModelSpec":
        """A design from JSON text; raises SpecError on malformed input."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"not valid JSON: {exc}") from None
        except RecursionError:
            raise SpecError("not a model design: the JSON is nested too deeply") from None
        return cls.from_dict(data)

    # --- helpers -----------------------------------------------------------------
    def copy(self) -> "ModelSpec":
        """A deep copy (fast: parameters are numbers, strings, booleans or short lists)."""
        layers = []
        for layer in self.layers:
            twin = object.__new__(LayerSpec)
            twin.kind, twin.name, twin.id, twin.position = layer.kind, layer.name, layer.id, layer.position
            twin.inputs = None if layer.inputs is None else list(layer.inputs)
            twin.params = {k: (list(v) if isinstance(v, (list, tuple)) else copy.deepcopy(v) if isinstance(v, dict) else v)
                           for k, v in layer.params.items()}
            layers.append(twin)
        comp = CompileSpec(self.compile.optimizer, self.compile.learning_rate, self.compile.momentum,
                           self.compile.loss, list(self.compile.metrics))
        heads = [HeadSpec(h.name, h.node, h.loss, h.loss_weight, list(h.metrics), h.target) for h in self.heads]
        groups = [GroupSpec(g.name, list(g.nodes), g.collapsed) for g in self.groups]
        return ModelSpec(self.name, tuple(self.input_shape), self.num_classes, layers, comp, self.description, heads, groups)

    def output_units(self) -> int:
        """Units of a Dense layer with ``units_from_classes``: 1 for binary cross-entropy, else the classes."""
        return 1 if self.compile.loss == "binary_crossentropy" else int(self.num_classes)

    def filters_of(self, layer: LayerSpec) -> int:
        """A convolution's filters: its own, or the classes when ``filters_from_classes`` is set."""
        return self.output_units() if layer.params.get("filters_from_classes") else int(layer.get("filters"))

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
            prefix = name_prefix(layer.kind, str(layer.params.get("class_name", "")))
            while True:
                n = counters.get(prefix, 0)
                counters[prefix] = n + 1
                candidate = prefix if n == 0 else f"{prefix}_{n}"
                if candidate not in taken:
                    break
            taken.add(candidate)
            names.append(candidate)
        return names

    # --- the graph ------------------------------------------------------------------
    def ensure_ids(self) -> None:
        """Give every node without an id a fresh one ("n1", "n2", ...)."""
        if all(layer.id for layer in self.layers):
            return
        taken = {layer.id for layer in self.layers if layer.id}
        k = 0
        for layer in self.layers:
            if not layer.id:
                while True:
                    k += 1
                    if f"n{k}" not in taken:
                        break
                layer.id = f"n{k}"
                taken.add(layer.id)

    def new_id(self) -> str:
        """An id no node has yet."""
        taken = {layer.id for layer in self.layers}
        k = len(self.layers) + 1
        while f"n{k}" in taken:
            k += 1
        return f"n{k}"

    @property
    def nodes(self) -> list[LayerSpec]:
        """The nodes (the same list as ``layers``)."""
        return self.layers

    def index_of(self, node_id: str) -> int:
        """Position of a node in ``layers``; SpecError when no node has that id."""
        for i, layer in enumerate(self.layers):
            if layer.id == node_id:
                return i
        raise SpecError(f'no node has the id "{node_id}"')

    def node(self, node_id: str) -> LayerSpec:
        """The node with this id."""
        return self.layers[self.index_of(node_id)]

    def node_by_name(self, name: str) -> LayerSpec:
        """The node whose Keras name (its own or the automatic one) is ``name``."""
        for layer, layer_name in zip(self.layers, self.layer_names()):
            if layer_name == name:
                return layer
        raise SpecError(f'no layer is named "{name}"')

    def inputs_of(self, index: int) -> list[PortRef]:
        """The resolved inputs of the node at ``index`` (a chain node reads the node before it)."""
        layer = self.layers[index]
        if layer.inputs is not None:
            return list(layer.inputs)
        return [(INPUT_ID, 0)] if index == 0 else [(self.layers[index - 1].id, 0)]

    def edges(self) -> list[Edge]:
        """Every connection, chain links included, in node order."""
        self.ensure_ids()
        return [Edge(src, port, layer.id, k)
                for i, layer in enumerate(self.layers) for k, (src, port) in enumerate(self.inputs_of(i))]

    def consumers(self) -> dict[str, list[str]]:
        """For each node id (and the input), the ids of the nodes that read it."""
        out: dict[str, list[str]] = {INPUT_ID: []}
        out.update({layer.id: [] for layer in self.layers})
        for e in self.edges():
            out.setdefault(e.source, []).append(e.target)
        return out

    def is_chain(self) -> bool:
        """True when the design is a plain stack: each node reads the one before it, one output on the last."""
        for i in range(len(self.layers)):
            expected = [(INPUT_ID, 0)] if i == 0 else [(self.layers[i - 1].id, 0)]
            if self.inputs_of(i) != expected:
                return False
        if not self.heads:
            return True
        return len(self.heads) == 1 and bool(self.layers) and self.heads[0].node == self.layers[-1].id

    def make_explicit(self) -> None:
        """Write every node's inputs out (before an edit that breaks the chain order)."""
        resolved = [self.inputs_of(i) for i in range(len(self.layers))]
        for layer, ins in zip(self.layers, resolved):
            layer.inputs = ins

    def pin_heads(self) -> None:
        """Make the implied head (the last node) explicit, so that a node added later does not
        become the output by being last; the canvas does this before the first edit."""
        if not self.heads:
            self.heads = self.output_heads()

    def output_heads(self) -> list[HeadSpec]:
        """The heads, or the one implied head of a design without any (the last node, compile's loss/metrics)."""
        if self.heads:
            return list(self.heads)
        if not self.layers:
            return []
        names = self.layer_names()
        return [HeadSpec(names[-1], self.layers[-1].id, self.compile.loss, 1.0, list(self.compile.metrics))]

    def check_references(self) -> None:
        """Every edge, head and group refers to nodes that exist; raise SpecError naming the first that does not."""
        self.ensure_ids()
        ids = {layer.id for layer in self.layers}
        names = self.layer_names()
        for i, layer in enumerate(self.layers):
            for k, (src, port) in enumerate(self.inputs_of(i)):
                if src != INPUT_ID and src not in ids:
                    raise SpecError(f'{_where(layer, names[i])}: input {k + 1} comes from "{src}", which is not a node of this design')
                if port != 0 and not (src != INPUT_ID and self.node(src).kind == "KerasLayer"):
                    raise SpecError(f"{_where(layer, names[i])}: input {k + 1} reads output {port} of {src!r}, which has only one output")
        for h in self.heads:
            if h.node not in ids:
                raise SpecError(f'head "{h.name}" reads "{h.node}", which is not a node of this design')
        for g in self.groups:
            missing = [n for n in g.nodes if n not in ids]
            if missing:
                raise SpecError(f'group "{g.name}" holds "{missing[0]}", which is not a node of this design')

    def topological_order(self) -> list[int]:
        """Node indices with every node after its inputs (stable: list order where free); SpecError on a cycle."""
        self.check_references()
        index = {layer.id: i for i, layer in enumerate(self.layers)}
        pending = [0] * len(self.layers)
        readers: list[list[int]] = [[] for _ in self.layers]
        for i in range(len(self.layers)):
            for src, _ in self.inputs_of(i):
                if src != INPUT_ID:
                    pending[i] += 1
                    readers[index[src]].append(i)
        import heapq

        ready = [i for i, n in enumerate(pending) if n == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for j in readers[i]:
                pending[j] -= 1
                if pending[j] == 0:
                    heapq.heappush(ready, j)
        if len(order) < len(self.layers):
            names = self.layer_names()
            cycle = self._find_cycle({i for i, n in enumerate(pending) if n > 0}, index)
            path = " -> ".join(names[i] for i in cycle + cycle[:1])
            raise SpecError(f"the connections form a cycle ({path}): a layer cannot feed its own input")
        return order

    def _find_cycle(self, stuck: set[int], index: dict[str, int]) -> list[int]:
        """One cycle among the nodes a topological sort could not place, in data-flow order."""
        start = min(stuck)
        seen: dict[int, int] = {}
        path: list[int] = []
        i = start
        while i not in seen:  # every stuck node has a stuck input: walk upstream until a node repeats
            seen[i] = len(path)
            path.append(i)
            i = next(index[src] for src, _ in self.inputs_of(i) if src != INPUT_ID and index[src] in stuck)
        return list(reversed(path[seen[i]:]))

    def sort_topologically(self) -> None:
        """Reorder ``layers`` so every node comes after its inputs (chain links are made explicit first)."""
        order = self.topological_order()
        if order == list(range(len(self.layers))):
            return
        self.make_explicit()
        self.layers = [self.layers[i] for i in order]

    def validate(self) -> None:
        """Check everything that does not need shapes; raise SpecError naming the offending node."""
        h, w, c = self.input_shape
        if min(h, w, c) < 1:
            raise SpecError(f"input shape must be at least 1x1x1, got {h}x{w}x{c}")
        if self.num_classes < 1:
            raise SpecError(f"number of classes must be at least 1, got {self.num_classes}")
        if len(self.layers) > MAX_NODES:
            raise SpecError(f"the design has {len(self.layers):,} layers; ConvExplorer edits designs of up to {MAX_NODES:,}")
        names = self.layer_names()
        seen: set[str] = set()
        for i, (layer, name) in enumerate(zip(self.layers, names)):
            if name in seen:
                raise SpecError(f'{describe_layer(layer, i)}: the name "{name}" is used twice; layer names must be unique')
            seen.add(name)
            validate_layer(layer, i)
        order = self.topological_order()
        if order != list(range(len(self.layers))):
            raise SpecError("the layers are not in an order where each comes after its inputs (sort_topologically fixes it)")
        self._validate_wiring(names)
        if self.heads:
            head_names = [hd.name for hd in self.heads]
            for hd in self.heads:
                if not NAME_RE.match(hd.name):
                    raise SpecError(f"head {hd.name!r:.40}: a head name may only use letters, digits, _ . - and cannot start with a digit")
                if head_names.count(hd.name) > 1:
                    raise SpecError(f'two heads are named "{hd.name}"; head names must be unique')
                _validate_training(hd.loss, hd.metrics, f'head "{hd.name}"')
                _validate_task(hd)
                if not (0 <= hd.loss_weight <= 1e6):
                    raise SpecError(f'head "{hd.name}": the loss weight must be between 0 and 1,000,000, got {hd.loss_weight:g}')
        self.compile.validate()

    def _validate_wiring(self, names: list[str]) -> None:
        """Arity of every node, and no branch that leads nowhere: the first problem, named."""
        problems = self.wiring_problems()
        # a missing input first: the dead end it leaves upstream is its consequence
        found = sorted((DEAD_END in problems[layer.id], i) for i, layer in enumerate(self.layers) if layer.id in problems)
        if found:
            i = found[0][1]
            raise SpecError(f"{_where(self.layers[i], names[i])}: {problems[self.layers[i].id]}")

    def wiring_problems(self) -> dict[str, str]:
        """Every node that cannot be built as wired (too few or too many inputs, a dead-end branch), with
        what was expected and what was received; ``validate`` raises the first, the canvas draws them all."""
        out: dict[str, str] = {}
        readers = self.consumers()
        outputs = {hd.node for hd in self.output_heads()}
        for i, layer in enumerate(self.layers):
            kind = LAYER_KINDS.get(layer.kind)
            if kind is None:
                continue
            n = len(self.inputs_of(i))
            if n < kind.min_inputs:
                need = "two or more inputs" if kind.min_inputs == 2 and kind.max_inputs is None else (
                    f"{kind.min_inputs} input{'s' if kind.min_inputs > 1 else ''}")
                got = "none is connected" if not n else f"{n} {'is' if n == 1 else 'are'} connected"
                out[layer.id] = f"{layer.kind} needs {need}; {got}"
            elif kind.max_inputs is not None and n > kind.max_inputs:
                out[layer.id] = (f"{layer.kind} takes {kind.max_inputs} input{'s' if kind.max_inputs > 1 else ''}; "
                                 f"{n} are connected")
            elif not readers.get(layer.id) and layer.id not in outputs:
                out[layer.id] = DEAD_END
        return out

    # --- editing (used by the canvas; each keeps the node order topological) ------------
    def add_node(self, layer: LayerSpec, inputs: Sequence[PortRef] | None = None, index: int | None = None) -> LayerSpec:
        """Insert ``layer`` (with explicit ``inputs`` if given) at ``index`` or the end; returns it with its id."""
        if inputs is not None or any(node.inputs is not None for node in self.layers):
            self.make_explicit()
            if inputs is not None:
                layer.inputs = [(str(s), int(p)) for s, p in inputs]
        if not layer.id or any(node.id == layer.id for node in self.layers):
            layer.id = self.new_id()
        self.layers.insert(len(self.layers) if index is None else index, layer)
        return layer

    def remove_nodes(self, node_ids: Iterable[str]) -> None:
        """Delete nodes, the edges into and out of them, their heads and their group memberships."""
        gone = set(node_ids)
        self.make_explicit()
        self.layers = [layer for layer in self.layers if layer.id not in gone]
        for layer in self.layers:
            layer.inputs = [ref for ref in (layer.inputs or []) if ref[0] not in gone]
        self.heads = [h for h in self.heads if h.node not in gone]
        for g in self.groups:
            g.nodes = [n for n in g.nodes if n not in gone]
        self.groups = [g for g in self.groups if g.nodes]

    def connect(self, source: str, target: str, port: int | None = None, source_port: int = 0) -> None:
        """Feed ``source``'s output into ``target`` (at input ``port``, or a new last port); reorders if needed."""
        self.make_explicit()
        node = self.node(target)
        if source != INPUT_ID:
            self.node(source)  # raises for an unknown id
        if source == target:
            raise SpecError(f"{node.name or node.kind} cannot be connected to itself")
        ins = list(node.inputs or [])
        ref = (source, int(source_port))
        if port is None or port >= len(ins):
            ins.append(ref)
        else:
            ins[port] = ref
        before = list(node.inputs or [])
        node.inputs = ins
        try:
            self.sort_topologically()
        except SpecError:
            node.inputs = before
            raise

    def disconnect(self, target: str, port: int) -> None:
        """Remove input ``port`` of ``target`` (the ports after it move up by one)."""
        self.make_explicit()
        node = self.node(target)
        ins = list(node.inputs or [])
        if 0 <= port < len(ins):
            del ins[port]
        node.inputs = ins


def _where(layer: LayerSpec, name: str) -> str:
    return f'{layer.kind} "{name}"'


def _validate_training(loss: str, metrics: Sequence[str], where: str) -> None:
    if loss not in LOSSES:
        raise SpecError(f'{where}: unknown loss "{loss}"; expected one of {", ".join(LOSSES)}')
    for m in metrics:
        if m not in METRICS:
            raise SpecError(f'{where}: unknown metric "{m}"; expected some of {", ".join(METRICS)}')


#: Losses and metrics that belong to one head target (designs made before them keep any other pairing).
TASK_LOSSES = {"yolo": "boxes"}
TASK_METRICS = {"iou": "boxes", "mean_iou": "masks"}
#: The losses a "masks" head can learn its per-pixel classes with.
MASK_LOSSES = ("sparse_categorical_crossentropy",)


def _validate_task(hd: HeadSpec) -> None:
    """The task losses and metrics must fit what the head learns (a YOLO loss on boxes, mean IoU on masks...)."""
    where = f'head "{hd.name}"'
    need = TASK_LOSSES.get(hd.loss)
    if need is not None and hd.target != need:
        raise SpecError(f'{where}: the loss "{hd.loss}" trains a detection grid on boxes, but the head learns '
                        f'{hd.target}; set its target to boxes or choose another loss')
    if hd.target == "masks" and hd.loss not in MASK_LOSSES:
        raise SpecError(f'{where} learns masks (a class a pixel), and the loss "{hd.loss}" does not fit them; '
                        f'expected {", ".join(MASK_LOSSES)}')
    for m in hd.metrics:
        if hd.loss == "yolo":
            raise SpecError(f'{where} is a YOLO grid: the metric "{m}" cannot read it; its AP@0.5 and AP@[.5:.95] '
                            "are computed on the validation data after each epoch (leave its metrics empty)")
        need = TASK_METRICS.get(m)
        if need is not None and hd.target != need:
            raise SpecError(f'{where}: the metric "{m}" measures {need}, but the head learns {hd.target}')


def _parse_inputs(inputs: Any, where: str) -> list[PortRef]:
    if not isinstance(inputs, list):
        raise SpecError(f'{where}: "inputs" must be a list of [node id, output] pairs, got {inputs!r:.60}')
    out: list[PortRef] = []
    for ref in inputs:
        if isinstance(ref, str):
            ref = [ref, 0]
        if (not isinstance(ref, (list, tuple)) or len(ref) != 2 or not isinstance(ref[0], str)
                or isinstance(ref[1], bool) or not isinstance(ref[1], int) or ref[1] < 0):
            raise SpecError(f'{where}: each input must be [node id, output number], got {ref!r:.60}')
        out.append((ref[0], ref[1]))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


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


def normalize_quad(value: Any) -> tuple[int, int, int, int] | None:
    """Padding or cropping as (top, bottom, left, right): from n, (rows, cols), ((t, b), (l, r)) or 4 numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value,) * 4
    if isinstance(value, (list, tuple)):
        if len(value) == 4 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return tuple(value)  # type: ignore[return-value]
        if len(value) == 2:
            if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                return (value[0], value[0], value[1], value[1])
            a, b = normalize_pair(value[0]), normalize_pair(value[1])
            if a is not None and b is not None and all(isinstance(v, (list, tuple)) for v in value):
                return (a[0], a[1], b[0], b[1])
    return None


def validate_layer(layer: LayerSpec, index: int = 0) -> None:
    """Check one layer's parameter values against its kind; raise SpecError naming it."""
    where = describe_layer(layer, index)
    if layer.kind not in LAYER_KINDS:
        raise SpecError(f'{where}: unknown layer type; expected one of: {", ".join(LAYER_KINDS)}')
    if layer.name and not NAME_RE.match(layer.name):
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
        elif p.type in ("float", "float_or_none"):
            if value is None and p.type == "float_or_none":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                what = "a number" if p.type == "float" else "a number or empty"
                raise SpecError(f"{where}: {label} must be {what}, got {value!r:.40}")
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
        elif p.type == "quad":
            q = normalize_quad(value)
            if q is None:
                raise SpecError(f"{where}: {label} must be a whole number or [top, bottom, left, right], got {value!r:.40}")
            if min(q) < 0:
                raise SpecError(f"{where}: {label} cannot be negative, got {list(q)}")
        elif p.type == "shape":
            if (not isinstance(value, (list, tuple)) or not value or len(value) > 4
                    or any(isinstance(v, bool) or not isinstance(v, int) or (v < 1 and v != -1) for v in value)
                    or list(value).count(-1) > 1):
                raise SpecError(f"{where}: {label} must be 1 to 4 whole numbers of at least 1 (one may be -1), got {value!r:.40}")
        elif p.type == "config":
            if value is not None and not isinstance(value, dict):
                raise SpecError(f"{where}: {label} must be a Keras layer configuration (an object), got {value!r:.40}")
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
