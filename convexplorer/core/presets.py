"""The classic convnets, as designs (:class:`~convexplorer.core.spec.ModelSpec`).

``PRESETS`` maps a name to a design; use :func:`preset` for a copy you can edit.
Parameter counts are those of the textbooks (checked against Keras in the
tests): the MNIST convnet of *Deep Learning with Python* (conv base 55,744,
with its classifier 93,322), the small cats-vs-dogs convnet (3,453,121), LeNet-5
(61,706), transfer learning on VGG16 / Xception / ResNet50, and the graphs
made of blocks (``core.blocks``, each block a group of ordinary nodes): Géron's
ResNet-34 (21,306,826 parameters, 17,024 of them non-trainable), a small
inception net, a small SE-ResNet, a mini Xception, a U-Net for masks, a
classifier with a localization head (two heads) and DLwP's small residual net; for the Shapes task sets,
an FCN-style and a U-Net-style segmenter and a YOLO-style detector.
"""

from __future__ import annotations

from .blocks import BlockResult, insert_block
from .errors import SpecError
from .spec import INPUT_ID, CompileSpec, HeadSpec, LayerSpec, ModelSpec, PortRef


def _L(kind: str, **params: object) -> LayerSpec:
    return LayerSpec(kind, dict(params))


def _conv(filters: int, k: int = 3, **kw: object) -> LayerSpec:
    return _L("Conv2D", filters=filters, kernel_size=[k, k], **kw)


def _pool(**kw: object) -> LayerSpec:
    return _L("MaxPooling2D", **kw)


def _classes(activation: str = "softmax") -> LayerSpec:
    return _L("Dense", units=10, units_from_classes=True, activation=activation)


_SPARSE = "sparse_categorical_crossentropy"
_BINARY = "binary_crossentropy"


def _augment() -> list[LayerSpec]:
    return [
        _L("RandomFlip", mode="horizontal"),
        _L("RandomRotation", factor=0.1),
        _L("RandomZoom", height_factor=0.2),
    ]


def _mnist_base() -> list[LayerSpec]:
    return [_conv(32), _pool(), _conv(64), _pool(), _conv(64)]


def _cats_dogs(dropout: bool) -> list[LayerSpec]:
    layers = _augment() if dropout else []
    layers += [_conv(32), _pool(), _conv(64), _pool(), _conv(128), _pool(), _conv(128), _pool(), _L("Flatten")]
    if dropout:
        layers.append(_L("Dropout", rate=0.5))
    layers += [_L("Dense", units=512), _classes("sigmoid")]
    return layers


def _transfer(app: str, trainable: str, from_layer: str, head: str) -> list[LayerSpec]:
    layers = _augment() + [_L("Pretrained", application=app, weights="imagenet", trainable=trainable, fine_tune_from=from_layer)]
    if head == "flatten":
        layers += [_L("Flatten"), _L("Dense", units=256), _L("Dropout", rate=0.5)]
    else:
        layers += [_L("GlobalAveragePooling2D"), _L("Dropout", rate=0.5)]
    return layers + [_classes("sigmoid")]


def _make() -> dict[str, ModelSpec]:
    p: dict[str, ModelSpec] = {}
    p["MNIST convnet"] = ModelSpec(
        "mnist_convnet", (28, 28, 1), 10, _mnist_base() + [_L("Flatten"), _L("Dense", units=64), _classes()],
        CompileSpec("rmsprop", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "Deep Learning with Python, ch. 5: conv 32-64-64 with max-pooling and a Dense 64 + Dense 10 classifier (93,322 parameters).",
    )
    p["MNIST convnet: conv base only"] = ModelSpec(
        "mnist_conv_base", (28, 28, 1), 10, _mnist_base(), CompileSpec("rmsprop", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "The MNIST convnet without its classifier: 55,744 parameters, output 3x3x64.",
    )
    p["Cats vs dogs: small convnet"] = ModelSpec(
        "cats_vs_dogs", (150, 150, 3), 2, _cats_dogs(False), CompileSpec("rmsprop", 1e-4, 0.0, _BINARY, ["accuracy"]),
        "Deep Learning with Python, ch. 5: four conv/pool stages on 150x150 images, Dense 512, one sigmoid output (3,453,121 parameters).",
    )
    p["Cats vs dogs: augmentation + dropout"] = ModelSpec(
        "cats_vs_dogs_dropout", (150, 150, 3), 2, _cats_dogs(True), CompileSpec("rmsprop", 1e-4, 0.0, _BINARY, ["accuracy"]),
        "The same convnet with data augmentation and Dropout(0.5) before the classifier, against overfitting (3,453,121 parameters).",
    )
    p["LeNet-5"] = ModelSpec(
        "lenet5", (32, 32, 1), 10,
        [
            _conv(6, 5, activation="tanh"), _L("AveragePooling2D"),
            _conv(16, 5, activation="tanh"), _L("AveragePooling2D"),
            _conv(120, 5, activation="tanh"), _L("Flatten"),
            _L("Dense", units=84, activation="tanh"), _classes(),
        ],
        CompileSpec("sgd", 0.01, 0.9, _SPARSE, ["accuracy"]),
        "LeCun et al. 1998 on 32x32 grey images: C1-S2-C3-S4-C5-F6-output, tanh and average pooling (61,706 parameters).",
    )
    p["Fashion-MNIST CNN"] = ModelSpec(
        "fashion_mnist_cnn", (28, 28, 1), 10,
        [
            _conv(64, 2, padding="same"), _pool(), _L("Dropout", rate=0.3),
            _conv(32, 2, padding="same"), _pool(), _L("Dropout", rate=0.3),
            _L("Flatten"), _L("Dense", units=256), _L("Dropout", rate=0.5), _classes(),
        ],
        CompileSpec("adam", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "The TensorFlow blog's Fashion-MNIST CNN: two 2x2 conv/pool/dropout stages and Dense 256 (412,778 parameters).",
    )
    p["Small VGG-style net"] = ModelSpec(
        "small_vgg", (32, 32, 3), 10,
        [
            _conv(32, padding="same"), _conv(32, padding="same"), _pool(),
            _conv(64, padding="same"), _conv(64, padding="same"), _pool(),
            _conv(128, padding="same"), _conv(128, padding="same"), _pool(),
            _L("Flatten"), _L("Dense", units=128), _L("Dropout", rate=0.5), _classes(),
        ],
        CompileSpec("adam", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "Three VGG blocks (two 3x3 'same' convs and a max-pool each) for 32x32 colour images such as CIFAR-10.",
    )
    p["Small residual net"] = _small_residual_net()
    p["VGG16 transfer: frozen base"] = ModelSpec(
        "vgg16_feature_extraction", (180, 180, 3), 2, _transfer("VGG16", "frozen", "", "flatten"),
        CompileSpec("rmsprop", 0.001, 0.0, _BINARY, ["accuracy"]),
        "Deep Learning with Python, ch. 8: augmentation, a frozen VGG16 conv base and a new Dense 256 classifier.",
    )
    p["VGG16 transfer: fine-tune block 5"] = ModelSpec(
        "vgg16_fine_tuning", (180, 180, 3), 2, _transfer("VGG16", "fine_tune", "block5_conv1", "flatten"),
        CompileSpec("rmsprop", 1e-5, 0.0, _BINARY, ["accuracy"]),
        "The same model with the last VGG16 block (block5_conv1 onwards) unfrozen and a small learning rate.",
    )
    p["Xception transfer: frozen base"] = ModelSpec(
        "xception_transfer", (150, 150, 3), 2, _transfer("Xception", "frozen", "", "gap"),
        CompileSpec("adam", 0.001, 0.0, _BINARY, ["accuracy"]),
        "The Keras transfer-learning guide: a frozen Xception base, global average pooling, dropout and a new classifier.",
    )
    p["Xception transfer: fine-tune from block 14"] = ModelSpec(
        "xception_fine_tuning", (150, 150, 3), 2, _transfer("Xception", "fine_tune", "block14_sepconv1", "gap"),
        CompileSpec("adam", 1e-5, 0.0, _BINARY, ["accuracy"]),
        "Xception with its last block (block14) fine-tuned.",
    )
    p["ResNet50 transfer: frozen base"] = ModelSpec(
        "resnet50_transfer", (224, 224, 3), 2, _transfer("ResNet50", "frozen", "", "gap"),
        CompileSpec("adam", 0.001, 0.0, _BINARY, ["accuracy"]),
        "A frozen ResNet50 base with global average pooling and a new classifier.",
    )
    p["ResNet50 transfer: fine-tune stage 5"] = ModelSpec(
        "resnet50_fine_tuning", (224, 224, 3), 2, _transfer("ResNet50", "fine_tune", "conv5_block1_1_conv", "gap"),
        CompileSpec("adam", 1e-5, 0.0, _BINARY, ["accuracy"]),
        "ResNet50 with its last stage (conv5) fine-tuned.",
    )
    p["ResNet-34"] = _resnet34()
    p["Small inception net"] = _small_inception()
    p["Small SE-ResNet"] = _small_se_resnet()
    p["Mini Xception"] = _mini_xception()
    p["U-Net (masks)"] = _unet()
    p["Shapes: class + box"] = _class_and_box()
    p["Shapes: FCN segmenter"] = _fcn()
    p["Shapes: U-Net segmenter"] = _shapes_unet()
    p["Shapes: YOLO-style detector"] = _yolo()
    return p


# --- graphs made of blocks ---------------------------------------------------------------------
class _Graph:
    """Builds a design node by node: ``add`` appends a layer reading the current output, ``block`` a block."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.x: PortRef = (INPUT_ID, 0)

    def add(self, kind: str, source: PortRef | None = None, name: str = "", **params: object) -> PortRef:
        node = self.spec.add_node(LayerSpec(kind, dict(params), name), [source or self.x])
        self.x = (node.id, 0)
        return self.x

    def block(self, name: str, source: PortRef | None = None, **params: object) -> BlockResult:
        result = insert_block(self.spec, name, source or self.x, **params)  # type: ignore[arg-type]
        self.x = result.output
        return result


def _resnet34() -> ModelSpec:
    spec = ModelSpec(
        "resnet34", (224, 224, 3), 10, [], CompileSpec("sgd", 0.01, 0.9, _SPARSE, ["accuracy"]),
        "Géron, Hands-On Machine Learning, ch. 14: ResNet-34 from residual units (3 x 64, 4 x 128, 6 x 256, "
        "3 x 512; strides 2 where the filters change), 224x224x3, 10 classes: 21,306,826 parameters, "
        "17,024 of them non-trainable (batch-norm statistics).",
    )
    g = _Graph(spec)
    g.add("Conv2D", filters=64, kernel_size=[7, 7], strides=[2, 2], padding="same", activation="linear", use_bias=False)
    g.add("BatchNormalization")
    g.add("Activation", activation="relu")
    g.add("MaxPooling2D", pool_size=[3, 3], strides=[2, 2], padding="same")
    prev = 64
    for filters in [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3:
        g.block("Residual unit", filters=filters, strides=1 if filters == prev else 2)
        prev = filters
    g.add("GlobalAveragePooling2D")
    g.add("Flatten")
    g.add("Dense", units=10, units_from_classes=True, activation="softmax")
    return spec


def _small_inception() -> ModelSpec:
    spec = ModelSpec(
        "small_inception", (32, 32, 3), 10, [], CompileSpec("adam", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "A small GoogLeNet for 32x32 colour images: a 3x3 conv stem, inception modules (3a), (3b) and (4a) "
        "with the paper's filter counts, global average pooling and dropout.",
    )
    g = _Graph(spec)
    g.add("Rescaling", scale=1 / 255)
    g.add("Conv2D", filters=64, kernel_size=[3, 3], padding="same")
    g.add("MaxPooling2D", pool_size=[2, 2])
    g.block("Inception module", filters_1x1=64, reduce_3x3=96, filters_3x3=128, reduce_5x5=16, filters_5x5=32, pool_proj=32)
    g.block("Inception module", filters_1x1=128, reduce_3x3=128, filters_3x3=192, reduce_5x5=32, filters_5x5=96, pool_proj=64)
    g.add("MaxPooling2D", pool_size=[3, 3], strides=[2, 2], padding="same")
    g.block("Inception module", filters_1x1=192, reduce_3x3=96, filters_3x3=208, reduce_5x5=16, filters_5x5=48, pool_proj=64)
    g.add("GlobalAveragePooling2D")
    g.add("Dropout", rate=0.4)
    g.add("Dense", units=10, units_from_classes=True, activation="softmax")
    return spec


def _small_se_resnet() -> ModelSpec:
    spec = ModelSpec(
        "small_se_resnet", (32, 32, 3), 10, [], CompileSpec("adam", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "Residual units (32, 64 and 128 filters) each with a squeeze-and-excitation block (ratio 8) on its "
        "residual branch, before the addition, as in SE-ResNet (Hu et al. 2017).",
    )
    g = _Graph(spec)
    g.add("Conv2D", filters=32, kernel_size=[3, 3], padding="same", activation="linear", use_bias=False)
    g.add("BatchNormalization")
    g.add("Activation", activation="relu")
    for filters, strides in ((32, 1), (64, 2), (128, 2)):
        unit = g.block("Residual unit", filters=filters, strides=strides)
        add = next(spec.node(i) for i in unit.nodes if spec.node(i).kind == "Add")
        branch = add.inputs[0]  # type: ignore[index] - the residual branch's last batch norm
        se = insert_block(spec, "SE block", branch, ratio=8)
        spec.connect(se.output[0], add.id, port=0)
    g.add("GlobalAveragePooling2D")
    g.add("Dense", units=10, units_from_classes=True, activation="softmax")
    return spec


def _mini_xception() -> ModelSpec:
    spec = ModelSpec(
        "mini_xception", (150, 150, 3), 2, [], CompileSpec("adam", 0.001, 0.0, _BINARY, ["accuracy"]),
        "Xception's entry flow in small (Chollet 2017): two conv/batch-norm/ReLU stems, three separable residual "
        "blocks (128, 256, 512), global average pooling, dropout and one sigmoid output, for cats vs dogs.",
    )
    g = _Graph(spec)
    g.add("Rescaling", scale=1 / 255)
    g.add("Conv2D", filters=32, kernel_size=[3, 3], strides=[2, 2], activation="linear", use_bias=False)
    g.add("BatchNormalization")
    g.add("Activation", activation="relu")
    g.add("Conv2D", filters=64, kernel_size=[3, 3], activation="linear", use_bias=False)
    g.add("BatchNormalization")
    g.add("Activation", activation="relu")
    g.block("Separable residual block", filters=128, leading_relu=False)
    g.block("Separable residual block", filters=256)
    g.block("Separable residual block", filters=512)
    g.add("Activation", activation="relu")
    g.add("GlobalAveragePooling2D")
    g.add("Dropout", rate=0.5)
    g.add("Dense", units=1, units_from_classes=True, activation="sigmoid")
    return spec


#: Classes of the U-Net preset's masks: the background and the four shapes of the Shapes set.
_MASK_CLASSES = 5


def _unet() -> ModelSpec:
    spec = ModelSpec(
        "unet_masks", (64, 64, 3), _MASK_CLASSES, [], CompileSpec("adam", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "A small U-Net (Ronneberger et al. 2015, 'same' padding) on 64x64 images: three down stages (16, 32, 64), "
        "a 128-filter bottom, three up stages joined to their skips, and a per-pixel softmax (1x1 conv, one "
        "filter per mask class), trained with sparse categorical cross-entropy on integer masks.",
    )
    g = _Graph(spec)
    g.add("Rescaling", scale=1 / 255)
    skips = []
    for filters in (16, 32, 64):
        skips.append(g.block("U-Net down stage", filters=filters).skip)
    g.add("Conv2D", filters=128, kernel_size=[3, 3], padding="same")
    g.add("Conv2D", filters=128, kernel_size=[3, 3], padding="same")
    for filters, skip in zip((64, 32, 16), reversed(skips)):
        result = insert_block(spec, "U-Net up stage", g.x, skip, filters=filters)
        g.x = result.output
    g.add("Conv2D", name="mask", filters=_MASK_CLASSES, filters_from_classes=True, kernel_size=[1, 1], activation="softmax")
    return spec


def _class_and_box() -> ModelSpec:
    spec = ModelSpec(
        "shapes_class_and_box", (64, 64, 3), 4, [], CompileSpec("adam", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "Classification and localization on the Shapes set (Géron, ch. 14): a conv base (three ReLU conv and "
        "max-pool stages, images in [0, 1]) feeds two heads, \"classes\" (global average pooling, "
        "softmax, cross-entropy, weight 1) and \"box\" (the 8x8 map flattened, so that where the shape is stays "
        "known, a Dense 128; four sigmoid coordinates, mean squared error or Huber, weight 5 as a box's error is far smaller "
        "than a cross-entropy; its IoU with the true box as metric).",
    )
    g = _Graph(spec)
    for filters in (32, 64, 128):
        g.add("Conv2D", filters=filters, kernel_size=[3, 3], padding="same")
        features = g.add("MaxPooling2D")
    g.add("GlobalAveragePooling2D")
    classes = g.add("Dense", name="classes", units=4, units_from_classes=True, activation="softmax")
    spec.heads = [HeadSpec("classes", classes[0], _SPARSE, 1.0, ["accuracy"])]
    g.x = features
    g.add("Flatten")
    hidden = g.add("Dense", units=128, activation="relu")
    insert_block(spec, "Localization head", hidden, pooling="none", loss_weight=5.0)
    return spec


#: Classes of the Shapes segmentation masks: the background and the four shapes.
_SEG_CLASSES = 5


def _fcn() -> ModelSpec:
    spec = ModelSpec(
        "shapes_fcn", (64, 64, 3), _SEG_CLASSES, [], CompileSpec("adam", 0.002, 0.0, _SPARSE, ["accuracy"]),
        "An FCN-style segmenter (Long et al. 2015) for the Shapes masks: a conv base down to 16x16, a 1x1 conv "
        "scoring each class there, a 2x Conv2DTranspose fused (added) with the scores of the 32x32 stage, a 2x "
        "bilinear UpSampling2D back to 64x64 and a per-pixel softmax over background + 4 shapes; sparse "
        "cross-entropy on the class masks, pixel accuracy and mean IoU.",
    )
    g = _Graph(spec)
    g.add("Conv2D", filters=32, kernel_size=[3, 3], padding="same")
    g.add("Conv2D", filters=32, kernel_size=[3, 3], padding="same")
    g.add("MaxPooling2D")
    g.add("Conv2D", filters=64, kernel_size=[3, 3], padding="same")
    mid = g.add("Conv2D", filters=64, kernel_size=[3, 3], padding="same")
    g.add("MaxPooling2D")
    g.add("Conv2D", filters=128, kernel_size=[3, 3], padding="same")
    g.add("Conv2D", filters=128, kernel_size=[3, 3], padding="same")
    g.add("Conv2D", filters=_SEG_CLASSES, filters_from_classes=True, kernel_size=[1, 1], activation="linear")
    up = g.add("Conv2DTranspose", filters=_SEG_CLASSES, kernel_size=[4, 4], strides=[2, 2], padding="same",
               activation="linear")
    side = g.add("Conv2D", mid, filters=_SEG_CLASSES, filters_from_classes=True, kernel_size=[1, 1],
                 activation="linear")
    fused = spec.add_node(LayerSpec("Add", {}), [up, side])
    g.x = (fused.id, 0)
    g.add("UpSampling2D", size=[2, 2], interpolation="bilinear")
    mask = g.add("Activation", name="mask", activation="softmax")
    spec.heads = [HeadSpec("mask", mask[0], _SPARSE, 1.0, ["accuracy", "mean_iou"], target="masks")]
    return spec


def _shapes_unet() -> ModelSpec:
    spec = ModelSpec(
        "shapes_unet", (64, 64, 3), _SEG_CLASSES, [], CompileSpec("adam", 0.002, 0.0, _SPARSE, ["accuracy"]),
        "A U-Net-style segmenter (Ronneberger et al. 2015, 'same' padding) for the Shapes masks: two down stages "
        "(16, 32), a 64-filter bottom, two up stages (2x2 Conv2DTranspose joined to their skips) and a per-pixel "
        "softmax over background + 4 shapes; sparse cross-entropy on the class masks, pixel accuracy and mean IoU.",
    )
    g = _Graph(spec)
    skips = [g.block("U-Net down stage", filters=f).skip for f in (16, 32)]
    g.add("Conv2D", filters=64, kernel_size=[3, 3], padding="same")
    g.add("Conv2D", filters=64, kernel_size=[3, 3], padding="same")
    for filters, skip in zip((32, 16), reversed(skips)):
        g.x = insert_block(spec, "U-Net up stage", g.x, skip, filters=filters).output
    mask = g.add("Conv2D", name="mask", filters=_SEG_CLASSES, filters_from_classes=True, kernel_size=[1, 1],
                 activation="softmax")
    spec.heads = [HeadSpec("mask", mask[0], _SPARSE, 1.0, ["accuracy", "mean_iou"], target="masks")]
    return spec


def _yolo() -> ModelSpec:
    spec = ModelSpec(
        "shapes_yolo", (64, 64, 3), 4, [], CompileSpec("adam", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "A YOLO-style single-stage detector (YOLOv2, Redmon and Farhadi 2016) for the Shapes detection set: a conv "
        "base with batch norm down to an 8x8 grid (two more 3x3 convs there), and a detection head (1x1 conv, reshaped to 8 x 8 x 3 anchors x "
        "(objectness, x, y, w, h, 4 class scores)); the anchors are k-means sizes of the set's boxes, the YOLO "
        "loss trains objectness, boxes and classes, AP@0.5 and AP@[.5:.95] are measured after each epoch.",
    )
    g = _Graph(spec)

    def conv_bn(filters: int) -> None:
        g.add("Conv2D", filters=filters, kernel_size=[3, 3], padding="same", activation="linear", use_bias=False)
        g.add("BatchNormalization", momentum=0.9)  # short runs: the moving statistics must settle in a few hundred steps
        g.add("Activation", activation="relu")

    for filters in (32, 64, 128):
        conv_bn(filters)
        g.add("MaxPooling2D")
    conv_bn(128)
    conv_bn(128)
    g.block("Detection head", num_anchors=3, grid_size=8)
    return spec


def _small_residual_net() -> ModelSpec:
    spec = ModelSpec(
        "small_resnet", (32, 32, 3), 10, [], CompileSpec("adam", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "Deep Learning with Python, ch. 9: three residual blocks (32, 64 with pooling, 128) and global average pooling.",
    )
    g = _Graph(spec)
    g.add("Rescaling", scale=1 / 255)
    g.block("Residual block", filters=32, pooling=True)
    g.block("Residual block", filters=64, pooling=True)
    g.block("Residual block", filters=128, pooling=False)
    g.add("GlobalAveragePooling2D")
    g.add("Dense", units=10, units_from_classes=True, activation="softmax")
    return spec


#: Name -> design. Treat as read-only; :func:`preset` gives an editable copy.
PRESETS: dict[str, ModelSpec] = _make()


def preset(name: str) -> ModelSpec:
    """An editable copy of the preset called ``name``."""
    try:
        return PRESETS[name].copy()
    except KeyError:
        raise SpecError(f'unknown preset "{name}"; expected one of: {", ".join(PRESETS)}') from None
