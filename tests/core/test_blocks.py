"""Blocks and the presets made of them, against Keras models written by hand from the papers and textbooks.

Every reference below is written directly with ``keras.layers`` (not through our code),
following the book's or the paper's own code or tables; a block or preset matches it when
Keras gives the same layer classes in the same order, the same output shape and parameter
count for every layer, and the same trainable / non-trainable split.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from convexplorer.core.blocks import BLOCKS, BlockDef, channels_of, insert_block
from convexplorer.core.builder import build_model
from convexplorer.core.errors import SpecError
from convexplorer.core.layer_kinds import LAYER_KINDS, ParamDef
from convexplorer.core.presets import PRESETS, preset
from convexplorer.core.spec import (
    INPUT_ID,
    CompileSpec,
    LayerSpec,
    ModelSpec,
    make_layer,
)

keras = pytest.importorskip("keras")
layers = keras.layers


def _count(weights) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


def _shape(t):
    return tuple(t.shape)


def assert_same_model(ours, ref) -> None:
    """Same layer classes in order, same per-layer output shapes and parameters, same totals and split."""
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in ref.layers]
    assert [_shape(layer.output) for layer in ours.layers] == [_shape(layer.output) for layer in ref.layers]
    assert [layer.count_params() for layer in ours.layers] == [layer.count_params() for layer in ref.layers]
    assert ours.count_params() == ref.count_params()
    assert _count(ours.trainable_weights) == _count(ref.trainable_weights)
    assert _count(ours.non_trainable_weights) == _count(ref.non_trainable_weights)
    if isinstance(ref.output, dict):
        assert {k: _shape(v) for k, v in ours.output.items()} == {k: _shape(v) for k, v in ref.output.items()}
    else:
        assert _shape(ours.output) == _shape(ref.output)


def _block_spec(shape, name: str, **params) -> tuple[ModelSpec, object]:
    spec = ModelSpec("block", shape, 10, [], CompileSpec("adam", 0.001, 0.0, "sparse_categorical_crossentropy", ["accuracy"]))
    return spec, insert_block(spec, name, (INPUT_ID, 0), **params)


# --- hand-written references -------------------------------------------------------------------
# Géron, Hands-On Machine Learning (2nd/3rd ed.), ch. 14: "Implementing a ResNet-34 CNN Using Keras"
DefaultConv2D = partial(layers.Conv2D, kernel_size=3, strides=1, padding="same", kernel_initializer="he_normal",
                        use_bias=False)


def geron_residual_unit(inputs, filters, strides=1, force_projection=False):
    """Géron's ResidualUnit.call, written out as functional layers (the ReLU as an Activation layer)."""
    z = DefaultConv2D(filters, strides=strides)(inputs)
    z = layers.BatchNormalization()(z)
    z = layers.Activation("relu")(z)
    z = DefaultConv2D(filters)(z)
    z = layers.BatchNormalization()(z)
    skip_z = inputs
    if strides > 1 or force_projection:
        skip_z = DefaultConv2D(filters, kernel_size=1, strides=strides)(inputs)
        skip_z = layers.BatchNormalization()(skip_z)
    return layers.Activation("relu")(layers.Add()([z, skip_z]))


def geron_resnet34():
    inputs = keras.Input(shape=[224, 224, 3])
    x = DefaultConv2D(64, kernel_size=7, strides=2)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPool2D(pool_size=3, strides=2, padding="same")(x)
    prev_filters = 64
    for filters in [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3:
        strides = 1 if filters == prev_filters else 2
        x = geron_residual_unit(x, filters, strides=strides)
        prev_filters = filters
    x = layers.GlobalAvgPool2D()(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def bottleneck_unit(x, filters, strides=1, projection=False):
    """He et al. 2015, fig. 5 right (as keras.applications' ResNet50 block1, without biases: a BN follows)."""
    shortcut = x
    if projection:
        shortcut = layers.Conv2D(4 * filters, 1, strides=strides, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    y = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(4 * filters, 1, use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    return layers.Activation("relu")(layers.Add()([y, shortcut]))


def inception_module(x, f1, r3, f3, r5, f5, proj):
    """Szegedy et al. 2014: four branches, ReLU convs, concatenated in depth."""
    b1 = layers.Conv2D(f1, 1, padding="same", activation="relu")(x)
    b2 = layers.Conv2D(r3, 1, padding="same", activation="relu")(x)
    b2 = layers.Conv2D(f3, 3, padding="same", activation="relu")(b2)
    b3 = layers.Conv2D(r5, 1, padding="same", activation="relu")(x)
    b3 = layers.Conv2D(f5, 5, padding="same", activation="relu")(b3)
    b4 = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    b4 = layers.Conv2D(proj, 1, padding="same", activation="relu")(b4)
    return layers.Concatenate(axis=-1)([b1, b2, b3, b4])


def se_block(x, channels, ratio, conv=False):
    """Hu et al. 2017: squeeze (global average), excite (C/r ReLU, C sigmoid), scale."""
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    if conv:
        s = layers.Conv2D(channels // ratio, 1, activation="relu")(s)
        s = layers.Conv2D(channels, 1, activation="sigmoid")(s)
    else:
        s = layers.Dense(channels // ratio, activation="relu")(s)
        s = layers.Dense(channels, activation="sigmoid")(s)
    return layers.Multiply()([x, s])


def xception_block(x, filters, leading_relu=True):
    """keras.applications.Xception's entry-flow block (block3 / block4 pattern)."""
    residual = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    residual = layers.BatchNormalization()(residual)
    if leading_relu:
        x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same")(x)
    return layers.add([x, residual])


def unet_down(x, filters):
    c = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    c = layers.Conv2D(filters, 3, activation="relu", padding="same")(c)
    return layers.MaxPooling2D(2)(c), c


def unet_up(x, skip, filters):
    u = layers.Conv2DTranspose(filters, 2, strides=2, padding="same")(x)
    u = layers.concatenate([u, skip])
    u = layers.Conv2D(filters, 3, activation="relu", padding="same")(u)
    return layers.Conv2D(filters, 3, activation="relu", padding="same")(u)


def dlwp_residual_block(x, filters, pooling=False):
    """Deep Learning with Python (2nd ed.), ch. 9, listing 9.4."""
    residual = x
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    if pooling:
        x = layers.MaxPooling2D(2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2)(residual)
    elif filters != residual.shape[-1]:
        residual = layers.Conv2D(filters, 1)(residual)
    return layers.add([x, residual])


def _one_block(shape, fn):
    inputs = keras.Input(shape=shape)
    return keras.Model(inputs, fn(inputs))


# (block, params, input shape, reference)
BLOCK_CASES = [
    ("Residual unit", {"filters": 64}, (16, 16, 64), lambda x: geron_residual_unit(x, 64)),
    ("Residual unit", {"filters": 128, "strides": 2}, (16, 16, 64), lambda x: geron_residual_unit(x, 128, 2)),
    ("Residual unit", {"filters": 32}, (16, 16, 3), lambda x: geron_residual_unit(x, 32, force_projection=True)),
    ("Residual unit", {"filters": 8, "shortcut": "projection"}, (9, 9, 8),
     lambda x: geron_residual_unit(x, 8, force_projection=True)),
    ("Bottleneck residual unit", {"filters": 64}, (14, 14, 256), lambda x: bottleneck_unit(x, 64)),
    ("Bottleneck residual unit", {"filters": 64}, (14, 14, 64), lambda x: bottleneck_unit(x, 64, projection=True)),
    ("Bottleneck residual unit", {"filters": 32, "strides": 2}, (14, 14, 128),
     lambda x: bottleneck_unit(x, 32, 2, projection=True)),
    ("Inception module", {}, (28, 28, 192), lambda x: inception_module(x, 64, 96, 128, 16, 32, 32)),  # (3a): 256 out
    ("Inception module", {"filters_1x1": 8, "reduce_3x3": 4, "filters_3x3": 6, "reduce_5x5": 2, "filters_5x5": 3,
                          "pool_proj": 5}, (9, 7, 5), lambda x: inception_module(x, 8, 4, 6, 2, 3, 5)),
    ("SE block", {}, (8, 8, 64), lambda x: se_block(x, 64, 16)),
    ("SE block", {"ratio": 4, "squeeze": "conv1x1"}, (8, 8, 32), lambda x: se_block(x, 32, 4, conv=True)),
    ("Separable residual block", {"filters": 128}, (37, 37, 64), lambda x: xception_block(x, 128)),
    ("Separable residual block", {"filters": 16, "leading_relu": False}, (8, 8, 3),
     lambda x: xception_block(x, 16, False)),
    ("U-Net down stage", {"filters": 16}, (32, 32, 3), lambda x: unet_down(x, 16)[0]),
    ("Residual block", {"filters": 32, "pooling": True}, (32, 32, 3), lambda x: dlwp_residual_block(x, 32, True)),
    ("Residual block", {"filters": 16}, (8, 8, 16), lambda x: dlwp_residual_block(x, 16)),
    ("Residual block", {"filters": 16}, (8, 8, 4), lambda x: dlwp_residual_block(x, 16)),
    # YOLOv2's output: a 1x1 conv to anchors x (5 + classes), one row a cell and anchor (10 classes here)
    ("Detection head", {"num_anchors": 2}, (8, 8, 16), lambda x: layers.Reshape((8, 8, 2, 15))(layers.Conv2D(30, 1)(x))),
    ("Detection head", {"num_anchors": 1, "grid_size": 4}, (4, 4, 3), lambda x: layers.Reshape((4, 4, 1, 15))(layers.Conv2D(15, 1)(x))),
]


@pytest.mark.parametrize("name, params, shape, reference", BLOCK_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BLOCK_CASES)])
def test_every_block_builds_the_papers_layers(name, params, shape, reference):
    spec, result = _block_spec(shape, name, **params)
    spec.validate()
    assert result.output == (spec.layers[-1].id, 0)
    assert_same_model(build_model(spec, load_weights=False), _one_block(shape, reference))


def test_unet_up_stage_joins_the_skip_of_its_down_stage():
    spec = ModelSpec("unet", (32, 32, 3), 2)
    down = insert_block(spec, "U-Net down stage", (INPUT_ID, 0), filters=8)
    assert set(down.outputs) == {"output", "skip"} and down.skip != down.output
    assert spec.node(down.skip[0]).kind == "Conv2D" and spec.node(down.output[0]).kind == "MaxPooling2D"
    up = insert_block(spec, "U-Net up stage", down.output, down.skip, filters=8)
    concat = next(spec.node(i) for i in up.nodes if spec.node(i).kind == "Concatenate")
    assert concat.inputs[1] == down.skip
    spec.validate()

    inputs = keras.Input((32, 32, 3))
    x, skip = unet_down(inputs, 8)
    ref = keras.Model(inputs, unet_up(x, skip, 8))
    assert_same_model(build_model(spec, load_weights=False), ref)


def test_localization_head_adds_a_box_head_and_names_the_classes_head():
    spec = ModelSpec("loc", (32, 32, 3), 4, [make_layer("Conv2D", filters=8, padding="same"),
                                            make_layer("GlobalAveragePooling2D"),
                                            make_layer("Dense", units_from_classes=True, activation="softmax")])
    conv, dense = spec.layers[0].id, spec.layers[2].id
    result = insert_block(spec, "Localization head", (conv, 0))
    assert [(h.name, h.node) for h in spec.heads] == [("classes", dense), ("box", result.output[0])]
    assert result.heads == ["classes", "box"]
    box = spec.heads[1]
    assert (box.loss, box.loss_weight, box.metrics) == ("mean_squared_error", 1.0, ["mean_absolute_error", "iou"])
    assert spec.node(result.output[0]).name == "box"
    spec.validate()
    model = build_model(spec, load_weights=False)
    assert model.loss == {"classes": "sparse_categorical_crossentropy", "box": "mean_squared_error"}

    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(8, 3, padding="same")(inputs)
    classes = layers.Dense(4, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    box = layers.Dense(4, activation="sigmoid", name="box")(layers.GlobalAveragePooling2D()(x))
    assert_same_model(model, keras.Model(inputs, {"classes": classes, "box": box}))
    x_batch = np.zeros((2, 32, 32, 3), np.float32)
    logs = model.train_on_batch(x_batch, {"classes": np.array([0, 1]), "box": np.full((2, 4), 0.5, np.float32)},
                                return_dict=True)
    assert np.isfinite(logs["loss"])

    # a second one: Huber, flattened, with its own unique names; the heads already there stay
    again = insert_block(spec, "Localization head", (conv, 0), pooling="flatten", loss="huber", loss_weight=0.5)
    assert [h.name for h in spec.heads] == ["classes", "box", "box_1"] and again.heads == ["box_1"]
    assert spec.node(again.output[0]).name == "box_1" and spec.node(again.nodes[0]).kind == "Flatten"
    assert (spec.heads[2].loss, spec.heads[2].loss_weight) == ("huber", 0.5)
    assert [g.name for g in spec.groups] == ["Localization head", "Localization head 2"]
    spec.validate()


@pytest.mark.parametrize("name", list(BLOCKS))
def test_blocks_are_ordinary_editable_nodes_in_one_group(name):
    spec = ModelSpec("t", (16, 16, 8), 3, [make_layer("Conv2D", filters=8, padding="same")])
    first = spec.layers[0].id
    skip = (first, 0) if name == "U-Net up stage" else None
    src = (first, 0)
    if name == "U-Net up stage":
        src = (spec.add_node(make_layer("MaxPooling2D"), [(first, 0)]).id, 0)
    n_before = len(spec.layers)
    result = insert_block(spec, name, src, skip)
    new = [layer for layer in spec.layers if layer.id in result.nodes]
    assert len(new) == len(result.nodes) == len(spec.layers) - n_before
    assert all(layer.editable and layer.kind in LAYER_KINDS and layer.kind not in ("ResidualBlock", "KerasLayer")
               for layer in new)
    assert result.group in spec.groups and result.group.name == name and result.group.nodes == result.nodes
    assert result.output[0] in result.nodes
    spec.validate()
    # a second one has a group of its own, with a unique name
    # (a detection head reads feature maps, not another grid: the second one reads the same source)
    again = insert_block(spec, name, src if name == "Detection head" else result.output, skip)
    assert again.group.name == f"{name} 2" and not set(again.nodes) & set(result.nodes)
    # deleting the second group's nodes leaves the first block's output as the design's output again
    spec.remove_nodes(again.group.nodes)
    assert again.group not in spec.groups and result.group in spec.groups
    assert [h.node for h in spec.output_heads()][-1] == result.output[0]
    spec.validate()


def test_a_block_inserted_mid_chain_is_a_branch_until_connected():
    spec = ModelSpec("t", (16, 16, 3), 10, [make_layer("Conv2D", filters=16, padding="same"),
                                            make_layer("MaxPooling2D"), make_layer("Flatten"),
                                            make_layer("Dense", units_from_classes=True, activation="softmax")])
    conv, pool = spec.layers[0].id, spec.layers[1].id
    result = insert_block(spec, "Residual unit", (conv, 0), filters=16)
    assert [layer.id for layer in spec.layers[1:1 + len(result.nodes)]] == result.nodes  # right after its source
    with pytest.raises(SpecError, match="dead-end"):
        spec.validate()
    spec.connect(result.output[0], pool, port=0)  # the pool now reads the block
    spec.validate()
    assert spec.node(pool).inputs == [result.output]
    assert build_model(spec, load_weights=False).count_params() > 0
    # delete the block again and reconnect the pool to the conv: a valid chain again
    spec.remove_nodes(result.group.nodes)
    spec.connect(conv, pool)
    spec.validate()
    assert spec.is_chain() and spec.groups == []


def test_block_catalogue_describes_every_block():
    assert {"Residual unit", "Bottleneck residual unit", "Inception module", "SE block", "Separable residual block",
            "U-Net down stage", "U-Net up stage", "Localization head"} <= set(BLOCKS)
    for name, block in BLOCKS.items():
        assert isinstance(block, BlockDef) and block.name == name
        assert block.description and block.reference and callable(block.function)
        assert all(isinstance(p, ParamDef) for p in block.params)
        assert block.defaults() == {p.name: p.default for p in block.params}
    assert BLOCKS["U-Net up stage"].sources == ("input", "skip")
    assert BLOCKS["U-Net down stage"].outputs == ("output", "skip")


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("Dense block",), {}, 'unknown block "Dense block"'),
        (("Residual unit",), {"filter": 3}, "unknown parameter 'filter'"),
        (("Residual unit",), {"filters": 0}, "Filters must be at least 1"),
        (("Residual unit",), {"filters": 2.5}, "Filters must be a whole number"),
        (("SE block",), {"squeeze": "mlp"}, "Layers must be one of dense, conv1x1"),
        (("Separable residual block",), {"leading_relu": 1}, "ReLU first must be true or false"),
        (("U-Net up stage",), {}, "needs the skip tensor"),
    ],
)
def test_bad_blocks_say_what_is_wrong(args, kwargs, message):
    spec = ModelSpec("t", (8, 8, 3), 2)
    with pytest.raises(SpecError, match=message):
        insert_block(spec, args[0], (INPUT_ID, 0), **kwargs)
    assert spec.layers == [] and spec.groups == []


def test_bad_sources_are_refused():
    spec = ModelSpec("t", (8, 8, 3), 2, [make_layer("Conv2D")])
    with pytest.raises(SpecError, match='no node has the id "zz"'):
        insert_block(spec, "SE block", ("zz", 0))
    with pytest.raises(SpecError, match="a skip is only for the U-Net up stage"):
        insert_block(spec, "SE block", (INPUT_ID, 0), (INPUT_ID, 0))
    spec.layers.append(make_layer("Flatten"))
    spec.ensure_ids()
    flat = spec.layers[-1].id
    with pytest.raises(SpecError, match="channel count of its input cannot be told"):
        insert_block(spec, "SE block", (flat, 0))
    before = spec.to_dict()
    with pytest.raises(SpecError, match="choose the shortcut"):
        insert_block(spec, "Residual unit", (flat, 0))  # refused after its main branch was added
    assert spec.to_dict() == before and spec.is_chain()  # the design is as it was


def test_channels_follow_filters_units_and_concatenations():
    spec = ModelSpec("t", (16, 16, 3), 7)
    assert channels_of(spec, (INPUT_ID, 0)) == 3
    block = insert_block(spec, "Inception module", (INPUT_ID, 0))
    assert channels_of(spec, block.output) == 64 + 128 + 32 + 32
    dw = spec.add_node(make_layer("DepthwiseConv2D", depth_multiplier=2), [block.output])
    assert channels_of(spec, (dw.id, 0)) == 512
    dense = spec.add_node(make_layer("Dense", units_from_classes=True), [(dw.id, 0)])
    assert channels_of(spec, (dense.id, 0)) == 7
    flat = spec.add_node(make_layer("Flatten"), [(dw.id, 0)])
    assert channels_of(spec, (flat.id, 0)) is None


# --- the presets made of blocks ------------------------------------------------------------------
def test_resnet34_is_geron_s_textbook_model():
    spec = PRESETS["ResNet-34"]
    model = build_model(spec, load_weights=False)
    # the textbook's numbers for 224x224x3 and 10 classes
    assert model.count_params() == 21_306_826
    assert _count(model.trainable_weights) == 21_289_802
    assert _count(model.non_trainable_weights) == 17_024
    assert_same_model(model, geron_resnet34())
    units = [g for g in spec.groups if g.name.startswith("Residual unit")]
    assert len(units) == 16 == len(spec.groups)
    assert sum(spec.node(g.nodes[0]).get("strides") == [2, 2] for g in units) == 3


def _small_inception_ref():
    inputs = keras.Input((32, 32, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = inception_module(x, 64, 96, 128, 16, 32, 32)       # (3a)
    x = inception_module(x, 128, 128, 192, 32, 96, 64)     # (3b)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = inception_module(x, 192, 96, 208, 16, 48, 64)      # (4a)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.4)(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def _se_residual_unit(x, filters, strides, ratio):
    """SE-ResNet (Hu et al. 2017, fig. 3): the SE block scales the residual branch before the addition."""
    z = DefaultConv2D(filters, strides=strides)(x)
    z = layers.BatchNormalization()(z)
    z = layers.Activation("relu")(z)
    z = DefaultConv2D(filters)(z)
    z = layers.BatchNormalization()(z)
    z = se_block(z, filters, ratio)
    skip = x
    if strides > 1 or x.shape[-1] != filters:
        skip = layers.BatchNormalization()(DefaultConv2D(filters, kernel_size=1, strides=strides)(x))
    return layers.Activation("relu")(layers.Add()([z, skip]))


def _small_se_resnet_ref():
    inputs = keras.Input((32, 32, 3))
    x = DefaultConv2D(32)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    for filters, strides in ((32, 1), (64, 2), (128, 2)):
        x = _se_residual_unit(x, filters, strides, 8)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def _mini_xception_ref():
    inputs = keras.Input((150, 150, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False)(x)   # Xception's block1
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = xception_block(x, 128, leading_relu=False)
    x = xception_block(x, 256)
    x = xception_block(x, 512)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))


def _unet_ref():
    inputs = keras.Input((64, 64, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    skips = []
    for filters in (16, 32, 64):
        x, skip = unet_down(x, filters)
        skips.append(skip)
    x = layers.Conv2D(128, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(128, 3, activation="relu", padding="same")(x)
    for filters, skip in zip((64, 32, 16), reversed(skips)):
        x = unet_up(x, skip, filters)
    return keras.Model(inputs, layers.Conv2D(5, 1, activation="softmax")(x))


def _class_and_box_ref():
    inputs = keras.Input((64, 64, 3))
    x = inputs  # the Shapes images are already in [0, 1]
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    avg = layers.GlobalAveragePooling2D()(x)              # Géron ch. 14: the class reads the pooled features
    class_output = layers.Dense(4, activation="softmax")(avg)
    flat = layers.Flatten()(x)                            # the box reads where things are
    loc_output = layers.Dense(4, activation="sigmoid")(layers.Dense(128, activation="relu")(flat))
    return keras.Model(inputs, {"classes": class_output, "box": loc_output})


def _shapes_fcn_ref():
    inputs = keras.Input((64, 64, 3))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    mid = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(mid)
    x = layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    score = layers.Conv2D(5, 1)(x)
    up = layers.Conv2DTranspose(5, 4, strides=2, padding="same")(score)
    side = layers.Conv2D(5, 1)(mid)
    x = layers.UpSampling2D(2, interpolation="bilinear")(layers.Add()([up, side]))
    return keras.Model(inputs, layers.Activation("softmax")(x))


def _shapes_unet_ref():
    inputs = keras.Input((64, 64, 3))
    x, skips = inputs, []
    for filters in (16, 32):
        x, skip = unet_down(x, filters)
        skips.append(skip)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    for filters, skip in zip((32, 16), reversed(skips)):
        x = unet_up(x, skip, filters)
    return keras.Model(inputs, layers.Conv2D(5, 1, activation="softmax")(x))


def _shapes_yolo_ref():
    inputs = keras.Input((64, 64, 3))
    x = inputs
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.Activation("relu")(layers.BatchNormalization(momentum=0.9)(x))
        x = layers.MaxPooling2D()(x)
    for _ in range(2):
        x = layers.Conv2D(128, 3, padding="same", use_bias=False)(x)
        x = layers.Activation("relu")(layers.BatchNormalization(momentum=0.9)(x))
    x = layers.Conv2D(3 * 9, 1)(x)                        # YOLOv2: anchors x (objectness, x, y, w, h, classes)
    return keras.Model(inputs, layers.Reshape((8, 8, 3, 9))(x))


def _small_residual_net_ref():
    inputs = keras.Input((32, 32, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = dlwp_residual_block(x, filters=32, pooling=True)
    x = dlwp_residual_block(x, filters=64, pooling=True)
    x = dlwp_residual_block(x, filters=128, pooling=False)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


PRESET_REFS = {
    "Small inception net": (_small_inception_ref, ["Inception module"] * 3),
    "Small SE-ResNet": (_small_se_resnet_ref, ["Residual unit", "SE block"] * 3),
    "Mini Xception": (_mini_xception_ref, ["Separable residual block"] * 3),
    "U-Net (masks)": (_unet_ref, ["U-Net down stage"] * 3 + ["U-Net up stage"] * 3),
    "Shapes: class + box": (_class_and_box_ref, ["Localization head"]),
    "Shapes: FCN segmenter": (_shapes_fcn_ref, []),
    "Shapes: U-Net segmenter": (_shapes_unet_ref, ["U-Net down stage"] * 2 + ["U-Net up stage"] * 2),
    "Shapes: YOLO-style detector": (_shapes_yolo_ref, ["Detection head"]),
    "Small residual net": (_small_residual_net_ref, ["Residual block"] * 3),
}


@pytest.mark.parametrize("name", list(PRESET_REFS))
def test_block_presets_match_their_hand_written_models(name):
    reference, blocks = PRESET_REFS[name]
    spec = preset(name)
    spec.validate()
    assert spec.description
    assert_same_model(build_model(spec, load_weights=False), reference())
    # groups mark the blocks: one a block, disjoint, with unique names
    assert sorted(g.name.rstrip(" 0123456789") for g in spec.groups) == sorted(blocks)
    assert len({g.name for g in spec.groups}) == len(spec.groups)
    grouped = [n for g in spec.groups for n in g.nodes]
    assert len(grouped) == len(set(grouped))


def test_small_residual_net_builds_what_its_composite_block_built():
    """The preset keeps its model: the old ResidualBlock stack and the new graph have the same layers and counts."""
    old = ModelSpec("small_resnet", (32, 32, 3), 10, [
        LayerSpec("Rescaling", {"scale": 1 / 255}),
        LayerSpec("ResidualBlock", {"filters": 32, "pooling": True}),
        LayerSpec("ResidualBlock", {"filters": 64, "pooling": True}),
        LayerSpec("ResidualBlock", {"filters": 128, "pooling": False}),
        LayerSpec("GlobalAveragePooling2D"),
        LayerSpec("Dense", {"units": 10, "units_from_classes": True, "activation": "softmax"}),
    ])
    new = PRESETS["Small residual net"]
    assert not new.is_chain() and all(layer.kind != "ResidualBlock" for layer in new.layers)
    assert_same_model(build_model(new, load_weights=False), build_model(old, load_weights=False))
    assert build_model(new, load_weights=False).count_params() == 298_858


def test_shapes_class_and_box_has_two_heads():
    spec = PRESETS["Shapes: class + box"]
    assert [(h.name, h.loss, h.loss_weight, h.metrics) for h in spec.heads] == [
        ("classes", "sparse_categorical_crossentropy", 1.0, ["accuracy"]),
        ("box", "mean_squared_error", 5.0, ["mean_absolute_error", "iou"]),
    ]
    assert spec.input_shape == (64, 64, 3) and spec.num_classes == 4  # the Shapes set: 64x64, four shapes
    model = build_model(spec, load_weights=False)
    assert set(model.output) == {"classes", "box"}
    assert model.get_layer("box").activation.__name__ == "sigmoid"


def test_unet_head_is_a_per_pixel_softmax():
    spec = PRESETS["U-Net (masks)"]
    head = spec.layers[-1]
    assert (head.kind, head.get("kernel_size"), head.get("filters"), head.get("activation")) == (
        "Conv2D", [1, 1], spec.num_classes, "softmax")
    assert spec.compile.loss == "sparse_categorical_crossentropy" and spec.input_shape == (64, 64, 3)


def test_the_box_head_learns_boxes_and_the_class_head_labels():
    """The localization head says what it learns from the data set, so training feeds it the boxes."""
    spec = preset("Shapes: class + box")
    targets = {h.name: h.target for h in spec.heads}
    assert targets == {"classes": "labels", "box": "boxes"}
    back = ModelSpec.from_json(spec.to_json())
    assert {h.name: h.target for h in back.heads} == targets


@pytest.mark.parametrize("name, params, shape, reference", BLOCK_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BLOCK_CASES)])
def test_every_blocks_summary_equals_keras_digit_for_digit(name, params, shape, reference):
    """Our summary of each block (no TensorFlow) against Keras's own: rows, shapes, counts, Connected to, text."""
    from tests.core.test_summary import assert_graph_matches_keras

    spec, _ = _block_spec(shape, name, **params)
    assert_graph_matches_keras(spec)


def test_unet_stages_and_the_localization_heads_summary_equals_keras():
    from tests.core.test_summary import assert_graph_matches_keras

    spec = ModelSpec("unet", (32, 32, 3), 2)
    down = insert_block(spec, "U-Net down stage", (INPUT_ID, 0), filters=8)
    insert_block(spec, "U-Net up stage", down.output, down.skip, filters=8)
    assert_graph_matches_keras(spec)
    spec = ModelSpec("loc", (24, 24, 3), 4, [make_layer("Conv2D", filters=8, padding="same")])
    conv = spec.layers[0].id
    spec.add_node(make_layer("GlobalAveragePooling2D"), [(conv, 0)])
    spec.add_node(make_layer("Dense", units_from_classes=True, activation="softmax"))
    insert_block(spec, "Localization head", (conv, 0))
    assert_graph_matches_keras(spec)


@pytest.mark.parametrize("size, classes, grid", [(32, 4, 4), (96, 7, 12), (64, 4, 8)])
def test_a_detection_head_follows_the_input_size_and_the_classes(size, classes, grid):
    """The YOLO preset is drawn for 64x64 and 4 classes; another input or class count resizes its grid and depth,
    and Keras builds the design with exactly that output."""
    from convexplorer.core.blocks import refit_detection_heads

    spec = preset("Shapes: YOLO-style detector")
    spec.input_shape, spec.num_classes = (size, size, 3), classes
    changed = refit_detection_heads(spec)
    assert changed == ([] if (size, classes) == (64, 4) else ["grid"])
    model = build_model(spec, load_weights=False)
    assert tuple(model.output.shape[1:]) == (grid, grid, 3, 5 + classes)
    assert refit_detection_heads(spec) == []  # nothing left to change
