"""Blocks: the classic building units of convnets, inserted as ordinary, editable nodes.

A block is not a layer kind. :func:`insert_block` expands it into real nodes
of a :class:`~convexplorer.core.spec.ModelSpec` (Conv2D, BatchNormalization,
Add...), wired to read from a source port, and wraps them in a
:class:`~convexplorer.core.spec.GroupSpec` named after the block, so that the
canvas can collapse them into one box and the user can still edit, rewire or
delete any of them. :data:`BLOCKS` is the catalogue: for each block a
description, its parameters (:class:`~convexplorer.core.layer_kinds.ParamDef`,
so forms can be generated as for layers) and the function that adds its nodes.

The blocks follow their sources:

- residual unit: Géron, *Hands-On Machine Learning*, ch. 14 (ResNet-34's unit);
- bottleneck residual unit: He et al. 2015, ResNet-50 and deeper (1x1, 3x3, 1x1 x4);
- inception module: Szegedy et al. 2014 (GoogLeNet), with its 1x1 reductions;
- squeeze-and-excitation: Hu et al. 2017;
- separable residual block: Chollet 2017 (Xception's entry flow);
- U-Net down and up stages: Ronneberger et al. 2015 ("same" padding, so no cropping);
- localization head: Géron ch. 14 (a box regressed beside the class);
- detection head: Redmon and Farhadi 2016 (YOLOv2's grid of anchors);
- residual block: Chollet, *Deep Learning with Python*, ch. 9.

Plain data, no TensorFlow, no Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError
from .layer_kinds import ParamDef
from .spec import INPUT_ID, GroupSpec, HeadSpec, LayerSpec, ModelSpec, PortRef

__all__ = ["BLOCKS", "BlockDef", "BlockResult", "channels_of", "insert_block"]


@dataclass(frozen=True)
class BlockDef:
    """A block of the catalogue: what it is, its parameters and the function that adds its nodes."""

    name: str
    description: str
    params: tuple[ParamDef, ...]
    #: ``function(nodes, sources, **params) -> {output name: port}``; ``sources`` maps the names of :attr:`sources`.
    function: Callable[..., dict[str, PortRef]]
    #: The inputs it reads: every block reads "input"; the U-Net up stage also reads "skip".
    sources: tuple[str, ...] = ("input",)
    #: The outputs it gives: "output" first; the U-Net down stage also gives "skip".
    outputs: tuple[str, ...] = ("output",)
    #: Where it comes from (book, chapter or paper).
    reference: str = ""

    def param(self, name: str) -> ParamDef:
        """The definition of one parameter."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        """The default value of every parameter."""
        return {p.name: p.default for p in self.params}


@dataclass
class BlockResult:
    """What :func:`insert_block` added: the new node ids, their group and the block's outputs."""

    block: str
    nodes: list[str]
    group: GroupSpec
    #: The block's main output port (what the next layer reads).
    output: PortRef
    #: Every named output: "output", and "skip" for a U-Net down stage.
    outputs: dict[str, PortRef] = field(default_factory=dict)
    #: Heads the block added (the localization head adds "box", and "classes" when the design had no head).
    heads: list[str] = field(default_factory=list)

    @property
    def skip(self) -> PortRef | None:
        """The skip tensor of a U-Net down stage (None for other blocks)."""
        return self.outputs.get("skip")


# --- channel counts, without shapes or TensorFlow -------------------------------------
_SAME_CHANNELS = {
    "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "UpSampling2D",
    "ZeroPadding2D", "Cropping2D", "Activation", "ReLU", "Dropout", "BatchNormalization", "LayerNormalization",
    "Rescaling", "Normalization", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
    "RandomContrast", "Add", "Subtract", "Multiply", "Average", "Maximum",
}


def channels_of(spec: ModelSpec, ref: PortRef) -> int | None:
    """The channel count (last axis) of output ``ref``, or None when it cannot be told without building.

    Follows the filters, units and concatenations from the image input; a Flatten, a Reshape to
    an inferred size, a pretrained base or a kept Keras layer make it unknown.
    """
    src = ref[0]
    if src == INPUT_ID:
        return int(spec.input_shape[2])
    known: dict[str, int | None] = {INPUT_ID: int(spec.input_shape[2])}
    for i, layer in enumerate(spec.layers):
        ins = [known.get(s) for s, _ in spec.inputs_of(i)]
        first = ins[0] if ins else None
        k, g = layer.kind, layer.get
        c: int | None
        if k in ("Conv2D", "SeparableConv2D", "Conv2DTranspose", "ResidualBlock"):
            c = int(g("filters"))
        elif k == "DepthwiseConv2D":
            c = None if first is None else first * int(g("depth_multiplier"))
        elif k == "Dense":
            c = spec.output_units() if g("units_from_classes") else int(g("units"))
        elif k == "Concatenate" and int(g("axis")) in (-1, 3):
            c = None if any(v is None for v in ins) else sum(ins)  # type: ignore[arg-type]
        elif k == "Concatenate":
            c = first
        elif k == "Reshape":
            last = list(g("target_shape"))[-1]
            c = None if last == -1 else int(last)
        elif k in _SAME_CHANNELS:
            c = first
        else:  # Flatten, Pretrained, KerasLayer
            c = None
        known[layer.id] = c
        if layer.id == src:
            return c
    spec.node(src)  # raises SpecError for an unknown id
    return None  # pragma: no cover - node() raised


# --- adding nodes ---------------------------------------------------------------------------
class _Nodes:
    """Adds a block's nodes to a spec, one after the other, from a given index."""

    def __init__(self, spec: ModelSpec, index: int) -> None:
        self.spec = spec
        self.index = index
        self.ids: list[str] = []

    def add(self, kind: str, inputs: list[PortRef], name: str = "", **params: Any) -> PortRef:
        """Add one node of ``kind`` reading ``inputs``; returns its output port."""
        layer = self.spec.add_node(LayerSpec(kind, dict(params), name), inputs, index=self.index)
        self.index += 1
        self.ids.append(layer.id)
        return (layer.id, 0)

    def conv(self, x: PortRef, filters: int, kernel: int, strides: int = 1, *, activation: str = "linear",
             use_bias: bool = False, padding: str = "same", kind: str = "Conv2D") -> PortRef:
        """A square convolution (linear and without bias by default: a batch norm follows)."""
        return self.add(kind, [x], filters=int(filters), kernel_size=[kernel, kernel], strides=[strides, strides],
                        padding=padding, activation=activation, use_bias=use_bias)

    def bn(self, x: PortRef) -> PortRef:
        """A batch normalization with Keras's defaults."""
        return self.add("BatchNormalization", [x])

    def relu(self, x: PortRef) -> PortRef:
        """A ReLU activation layer."""
        return self.add("Activation", [x], activation="relu")

    def channels(self, x: PortRef) -> int | None:
        """The channel count of ``x`` (None when unknown)."""
        return channels_of(self.spec, x)


def _needs_projection(nodes: _Nodes, x: PortRef, out_channels: int, strides: int, shortcut: str, block: str) -> bool:
    if shortcut == "projection":
        return True
    if shortcut == "identity":
        return False
    if strides > 1:
        return True
    c = nodes.channels(x)
    if c is None:
        raise SpecError(f"{block}: the channel count of its input cannot be told here (after a Flatten, a base or a "
                        "kept Keras layer); choose the shortcut (identity or projection) yourself")
    return c != out_channels


# --- the blocks ------------------------------------------------------------------------------
def _residual_unit(n: _Nodes, s: dict[str, PortRef], filters: int, strides: int, shortcut: str) -> dict[str, PortRef]:
    x = s["input"]
    y = n.relu(n.bn(n.conv(x, filters, 3, strides)))
    y = n.bn(n.conv(y, filters, 3))
    skip = x
    if _needs_projection(n, x, filters, strides, shortcut, "Residual unit"):
        skip = n.bn(n.conv(x, filters, 1, strides))
    return {"output": n.relu(n.add("Add", [y, skip]))}


def _bottleneck(n: _Nodes, s: dict[str, PortRef], filters: int, strides: int, expansion: int,
                shortcut: str) -> dict[str, PortRef]:
    x = s["input"]
    out = filters * expansion
    y = n.relu(n.bn(n.conv(x, filters, 1, strides)))
    y = n.relu(n.bn(n.conv(y, filters, 3)))
    y = n.bn(n.conv(y, out, 1))
    skip = x
    if _needs_projection(n, x, out, strides, shortcut, "Bottleneck residual unit"):
        skip = n.bn(n.conv(x, out, 1, strides))
    return {"output": n.relu(n.add("Add", [y, skip]))}


def _inception(n: _Nodes, s: dict[str, PortRef], filters_1x1: int, reduce_3x3: int, filters_3x3: int,
               reduce_5x5: int, filters_5x5: int, pool_proj: int) -> dict[str, PortRef]:
    x = s["input"]

    def conv(src: PortRef, f: int, k: int) -> PortRef:
        return n.conv(src, f, k, activation="relu", use_bias=True)

    b1 = conv(x, filters_1x1, 1)
    b2 = conv(conv(x, reduce_3x3, 1), filters_3x3, 3)
    b3 = conv(conv(x, reduce_5x5, 1), filters_5x5, 5)
    pool = n.add("MaxPooling2D", [x], pool_size=[3, 3], strides=[1, 1], padding="same")
    b4 = conv(pool, pool_proj, 1)
    return {"output": n.add("Concatenate", [b1, b2, b3, b4], axis=-1)}


def _squeeze_excite(n: _Nodes, s: dict[str, PortRef], ratio: int, squeeze: str, channels: int) -> dict[str, PortRef]:
    x = s["input"]
    c = channels or n.channels(x)
    if c is None:
        raise SpecError("SE block: the channel count of its input cannot be told here; set its channels yourself")
    units = max(1, c // ratio)
    z = n.add("GlobalAveragePooling2D", [x], keepdims=True)
    if squeeze == "conv1x1":
        z = n.conv(z, units, 1, activation="relu", use_bias=True)
        z = n.conv(z, c, 1, activation="sigmoid", use_bias=True)
    else:
        z = n.add("Dense", [z], units=units, activation="relu")
        z = n.add("Dense", [z], units=c, activation="sigmoid")
    return {"output": n.add("Multiply", [x, z])}


def _xception(n: _Nodes, s: dict[str, PortRef], filters: int, leading_relu: bool) -> dict[str, PortRef]:
    x = s["input"]
    y = n.relu(x) if leading_relu else x
    y = n.relu(n.bn(n.conv(y, filters, 3, kind="SeparableConv2D")))
    y = n.bn(n.conv(y, filters, 3, kind="SeparableConv2D"))
    y = n.add("MaxPooling2D", [y], pool_size=[3, 3], strides=[2, 2], padding="same")
    skip = n.bn(n.conv(x, filters, 1, 2))
    return {"output": n.add("Add", [y, skip])}


def _unet_down(n: _Nodes, s: dict[str, PortRef], filters: int) -> dict[str, PortRef]:
    y = n.conv(s["input"], filters, 3, activation="relu", use_bias=True)
    skip = n.conv(y, filters, 3, activation="relu", use_bias=True)
    return {"output": n.add("MaxPooling2D", [skip], pool_size=[2, 2]), "skip": skip}


def _unet_up(n: _Nodes, s: dict[str, PortRef], filters: int) -> dict[str, PortRef]:
    up = n.add("Conv2DTranspose", [s["input"]], filters=int(filters), kernel_size=[2, 2], strides=[2, 2],
               padding="same", activation="linear", use_bias=True)
    y = n.add("Concatenate", [up, s["skip"]], axis=-1)
    y = n.conv(y, filters, 3, activation="relu", use_bias=True)
    return {"output": n.conv(y, filters, 3, activation="relu", use_bias=True)}


def _unique(name: str, taken: set[str], sep: str = "_", first: int = 1) -> str:
    """``name``, or ``name_1``, ``name_2``... (``sep`` and ``first`` change the suffix), whichever is free."""
    if name not in taken:
        return name
    k = first
    while f"{name}{sep}{k}" in taken:
        k += 1
    return f"{name}{sep}{k}"


def _localization(n: _Nodes, s: dict[str, PortRef], pooling: str, loss: str, loss_weight: float) -> dict[str, PortRef]:
    spec = n.spec
    x = s["input"]
    if pooling == "global_average":
        x = n.add("GlobalAveragePooling2D", [x])
    elif pooling == "flatten":
        x = n.add("Flatten", [x])
    name = _unique("box", set(spec.layer_names()))
    return {"output": n.add("Dense", [x], name=name, units=4, activation="sigmoid")}


def _grid_size(spec: ModelSpec, x: PortRef) -> int:
    """The height of output ``x`` when it is square (the grid of a detection head), from the summary."""
    from .summary import summarize

    shape = None
    if x[0] != INPUT_ID:
        try:
            rows = summarize(spec).rows_of(x[0])
            shape = rows[-1].output_shape if rows else None
        except Exception:  # noqa: BLE001 - an unfinished design: ask for the size instead
            shape = None
    else:
        shape = (None, *spec.input_shape)
    if shape is None or len(shape) != 4 or shape[1] is None or shape[1] != shape[2]:
        raise SpecError("Detection head: the size of its input cannot be told here (it must be a square feature map); "
                        "set its grid size yourself")
    return int(shape[1])


def _detection(n: _Nodes, s: dict[str, PortRef], num_anchors: int, grid_size: int, loss_weight: float) -> dict[str, PortRef]:
    spec = n.spec
    x = s["input"]
    size = int(grid_size) or _grid_size(spec, x)
    depth = 5 + int(spec.num_classes)
    y = n.conv(x, int(num_anchors) * depth, 1, activation="linear", use_bias=True)
    name = _unique("grid", set(spec.layer_names()))
    return {"output": n.add("Reshape", [y], name=name, target_shape=[size, size, int(num_anchors), depth])}


def refit_detection_heads(spec: ModelSpec) -> list[str]:
    """Resize each detection head (a 1x1 Conv2D reshaped to S x S x anchors x (5 + classes)) to the design's
    input and classes, as the Builder does when the input or the classes change; returns the heads' names changed.

    The grid follows the feature map under the head (a 64x64 design's 8x8 grid becomes 4x4 at 32x32) and the
    depth follows the classes; a head whose input size cannot be told is left as it is.
    """
    changed = []
    names = spec.layer_names()
    for i, layer in enumerate(spec.layers):
        shape = layer.get("target_shape") if layer.kind == "Reshape" else None
        if not isinstance(shape, (list, tuple)) or len(shape) != 4:
            continue
        ins = spec.inputs_of(i)
        if len(ins) != 1 or ins[0][0] == INPUT_ID:
            continue
        conv_index = spec.index_of(ins[0][0])
        conv = spec.layers[conv_index]
        size, _same, anchors, depth = (int(v) for v in shape)
        if (conv.kind != "Conv2D" or [int(v) for v in conv.get("kernel_size")] != [1, 1]
                or int(conv.get("filters")) != anchors * depth):
            continue
        try:
            new_size = _grid_size(spec, spec.inputs_of(conv_index)[0])
        except SpecError:
            continue
        new_depth = 5 + int(spec.num_classes)
        if (new_size, new_depth) != (size, depth):
            conv.params["filters"] = anchors * new_depth
            layer.params["target_shape"] = [new_size, new_size, anchors, new_depth]
            changed.append(names[i])
    return changed


def _dlwp_residual(n: _Nodes, s: dict[str, PortRef], filters: int, pooling: bool, shortcut: str) -> dict[str, PortRef]:
    x = s["input"]
    y = n.conv(x, filters, 3, activation="relu", use_bias=True)
    y = n.conv(y, filters, 3, activation="relu", use_bias=True)
    skip = x
    if pooling:
        y = n.add("MaxPooling2D", [y], pool_size=[2, 2], padding="same")
        skip = n.conv(x, filters, 1, 2, activation="linear", use_bias=True, padding="valid")
    elif _needs_projection(n, x, filters, 1, shortcut, "Residual block"):
        skip = n.conv(x, filters, 1, activation="linear", use_bias=True, padding="valid")
    return {"output": n.add("Add", [y, skip])}


def _filters(default: int, label: str = "Filters", help: str = "") -> ParamDef:
    return ParamDef("filters", "int", default, label, minimum=1, maximum=100_000, help=help)


def _strides(help: str = "2 halves the size (and the shortcut gets a 1x1 projection)") -> ParamDef:
    return ParamDef("strides", "int", 1, "Strides", minimum=1, maximum=8, help=help)


_SHORTCUT = ParamDef("shortcut", "choice", "auto", "Shortcut", choices=("auto", "identity", "projection"),
                     help="auto: a 1x1 conv + batch norm when the strides or the channels change, else the input itself")


#: Every block, in palette order.
BLOCKS: dict[str, BlockDef] = {
    b.name: b
    for b in (
        BlockDef(
            "Residual unit",
            "two 3x3 convs with batch norm, plus a shortcut added back (ResNet-34's unit)",
            (_filters(64), _strides(), _SHORTCUT),
            _residual_unit,
            reference="Géron, Hands-On Machine Learning, ch. 14 (ResNet-34)",
        ),
        BlockDef(
            "Bottleneck residual unit",
            "1x1 reduce, 3x3, 1x1 expand (x4), batch norm after each, plus a shortcut (ResNet-50 and deeper)",
            (_filters(64, "Bottleneck filters", "the 1x1 and 3x3 convs; the output has filters x expansion channels"),
             _strides(), ParamDef("expansion", "int", 4, "Expansion", minimum=1, maximum=64), _SHORTCUT),
            _bottleneck,
            reference="He et al. 2015, Deep Residual Learning, fig. 5",
        ),
        BlockDef(
            "Inception module",
            "1x1, 3x3 and 5x5 convs and a max-pool side by side (with 1x1 reductions), stacked in depth",
            (
                ParamDef("filters_1x1", "int", 64, "1x1 filters", minimum=1, maximum=100_000),
                ParamDef("reduce_3x3", "int", 96, "3x3 reduction", minimum=1, maximum=100_000, help="1x1 filters before the 3x3"),
                ParamDef("filters_3x3", "int", 128, "3x3 filters", minimum=1, maximum=100_000),
                ParamDef("reduce_5x5", "int", 16, "5x5 reduction", minimum=1, maximum=100_000, help="1x1 filters before the 5x5"),
                ParamDef("filters_5x5", "int", 32, "5x5 filters", minimum=1, maximum=100_000),
                ParamDef("pool_proj", "int", 32, "Pool projection", minimum=1, maximum=100_000, help="1x1 filters after the max-pool"),
            ),
            _inception,
            reference="Szegedy et al. 2014, Going Deeper with Convolutions (GoogLeNet), table 1: inception (3a)",
        ),
        BlockDef(
            "SE block",
            "squeeze (global average) and excitation (two small layers, sigmoid): reweights the channels",
            (
                ParamDef("ratio", "int", 16, "Reduction ratio", minimum=1, maximum=1024, help="the squeeze has channels / ratio units"),
                ParamDef("squeeze", "choice", "dense", "Layers", choices=("dense", "conv1x1"), help="Dense layers or 1x1 convs"),
                ParamDef("channels", "int", 0, "Channels", minimum=0, maximum=100_000,
                         help="0: those of the input (set it when they cannot be told)"),
            ),
            _squeeze_excite,
            reference="Hu et al. 2017, Squeeze-and-Excitation Networks",
        ),
        BlockDef(
            "Separable residual block",
            "ReLU, separable conv, batch norm twice, a 3x3 max-pool of stride 2, and a 1x1 strided shortcut (Xception)",
            (_filters(128), ParamDef("leading_relu", "bool", True, "ReLU first", help="off for the first block after a ReLU")),
            _xception,
            reference="Chollet 2017, Xception, fig. 5 (entry flow)",
        ),
        BlockDef(
            "U-Net down stage",
            "two 3x3 convs (their output is the skip to the up stage), then a 2x2 max-pool",
            (_filters(64),),
            _unet_down,
            outputs=("output", "skip"),
            reference="Ronneberger et al. 2015, U-Net (contracting path, 'same' padding)",
        ),
        BlockDef(
            "U-Net up stage",
            "a 2x2 transposed conv (stride 2), joined in depth with the skip of its down stage, then two 3x3 convs",
            (_filters(64),),
            _unet_up,
            sources=("input", "skip"),
            reference="Ronneberger et al. 2015, U-Net (expansive path, 'same' padding)",
        ),
        BlockDef(
            "Localization head",
            "a second output: four box coordinates in [0, 1] (sigmoid), regressed with its own loss",
            (
                ParamDef("pooling", "choice", "global_average", "Pooling", choices=("global_average", "flatten", "none"),
                         help="none: the source is already a vector"),
                ParamDef("loss", "choice", "mean_squared_error", "Loss", choices=("mean_squared_error", "huber")),
                ParamDef("loss_weight", "float", 1.0, "Loss weight", minimum=0.0, maximum=1e6),
            ),
            _localization,
            reference="Géron, Hands-On Machine Learning, ch. 14 (classification and localization)",
        ),
        BlockDef(
            "Detection head",
            "a YOLO-style output: a 1x1 conv to anchors x (5 + classes) per cell, reshaped to S x S x anchors x "
            "(objectness, x, y, w, h, class scores); trained with the YOLO loss on grid targets",
            (
                ParamDef("num_anchors", "int", 3, "Anchors", minimum=1, maximum=32,
                         help="boxes each cell predicts; their sizes come from k-means over the data set's boxes"),
                ParamDef("grid_size", "int", 0, "Grid size", minimum=0, maximum=1024,
                         help="cells a side; 0: the size of the input feature map"),
                ParamDef("loss_weight", "float", 1.0, "Loss weight", minimum=0.0, maximum=1e6),
            ),
            _detection,
            reference="Redmon and Farhadi 2016, YOLO9000 (YOLOv2): anchors, sigmoid offsets, log sizes",
        ),
        BlockDef(
            "Residual block",
            "two 3x3 ReLU convs, an optional 2x2 max-pool, and a shortcut (1x1 conv when the size or channels change)",
            (_filters(32), ParamDef("pooling", "bool", False, "Max-pool (halve the size)"), _SHORTCUT),
            _dlwp_residual,
            reference="Chollet, Deep Learning with Python, ch. 9",
        ),
    )
}


def _check_params(block: BlockDef, params: dict[str, Any]) -> dict[str, Any]:
    known = {p.name for p in block.params}
    unknown = sorted(set(params) - known)
    if unknown:
        raise SpecError(f"{block.name}: unknown parameter {unknown[0]!r}; expected: {', '.join(sorted(known))}")
    values = block.defaults()
    values.update(params)
    for p in block.params:
        v = values[p.name]
        label = p.label or p.name
        if p.type == "int":
            if isinstance(v, bool) or not isinstance(v, int):
                raise SpecError(f"{block.name}: {label} must be a whole number, got {v!r:.40}")
        elif p.type == "float":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise SpecError(f"{block.name}: {label} must be a number, got {v!r:.40}")
        elif p.type == "bool":
            if not isinstance(v, bool):
                raise SpecError(f"{block.name}: {label} must be true or false, got {v!r:.40}")
        elif p.type == "choice" and v not in p.choices:
            raise SpecError(f"{block.name}: {label} must be one of {', '.join(map(str, p.choices))}; got {v!r:.40}")
        if p.type in ("int", "float"):
            if p.minimum is not None and v < p.minimum:
                raise SpecError(f"{block.name}: {label} must be at least {p.minimum:g}, got {v}")
            if p.maximum is not None and v > p.maximum:
                raise SpecError(f"{block.name}: {label} must be at most {p.maximum:g}, got {v}")
    return values


def _port(spec: ModelSpec, ref: Any, what: str) -> PortRef:
    if isinstance(ref, str):
        ref = (ref, 0)
    if not isinstance(ref, (tuple, list)) or len(ref) != 2:
        raise SpecError(f"{what} must be a (node id, output) pair, got {ref!r:.40}")
    src, port = str(ref[0]), int(ref[1])
    if src != INPUT_ID:
        spec.node(src)  # SpecError for an unknown id
    return (src, port)


def insert_block(spec: ModelSpec, name: str, source: PortRef, skip: PortRef | None = None,
                 **params: Any) -> BlockResult:
    """Add block ``name`` to ``spec`` as ordinary nodes reading ``source``; returns the new nodes, group and outputs.

    The nodes go right after the source (after the later of source and skip), so the node
    order stays topological; a design without heads whose source is its last node gets the
    block's output as its new output. The U-Net up stage reads the skip tensor of its down
    stage as ``skip``. Raises SpecError for an unknown block, source or parameter.
    """
    if name not in BLOCKS:
        raise SpecError(f'unknown block "{name}"; expected one of: {", ".join(BLOCKS)}')
    block = BLOCKS[name]
    values = _check_params(block, params)
    sources = {"input": _port(spec, source, f"{name}: the source")}
    if "skip" in block.sources:
        if skip is None:
            raise SpecError(f"{name}: it needs the skip tensor of its down stage as a second source")
        sources["skip"] = _port(spec, skip, f"{name}: the skip source")
    elif skip is not None:
        raise SpecError(f"{name}: it reads one source; a skip is only for the U-Net up stage")
    spec.ensure_ids()
    index = max((spec.index_of(src) for src, _ in sources.values() if src != INPUT_ID), default=-1) + 1
    saved = (list(spec.layers), [layer.inputs for layer in spec.layers], list(spec.heads))
    before_heads = [h.name for h in spec.heads]
    if name == "Localization head" and not spec.heads and spec.layers:
        spec.heads = [HeadSpec("classes", spec.layers[-1].id, spec.compile.loss, 1.0, list(spec.compile.metrics))]
    nodes = _Nodes(spec, index)
    try:
        outputs = block.function(nodes, sources, **values)
    except SpecError:  # half a block is no block: leave the design as it was
        spec.layers, spec.heads = saved[0], saved[2]
        for layer, inputs in zip(saved[0], saved[1]):
            layer.inputs = inputs
        raise
    if name == "Detection head":
        head_name = _unique("grid", {h.name for h in spec.heads})
        spec.heads.append(HeadSpec(head_name, outputs["output"][0], "yolo", float(values["loss_weight"]), [],
                                   target="boxes"))
    if name == "Localization head":
        head_name = _unique("box", {h.name for h in spec.heads})
        spec.heads.append(HeadSpec(head_name, outputs["output"][0], values["loss"], float(values["loss_weight"]),
                                   ["mean_absolute_error", "iou"], target="boxes"))
    group = GroupSpec(_unique(name, {g.name for g in spec.groups}, " ", 2), list(nodes.ids))
    spec.groups.append(group)
    added = [h.name for h in spec.heads if h.name not in before_heads]
    return BlockResult(name, list(nodes.ids), group, outputs["output"], dict(outputs), added)

