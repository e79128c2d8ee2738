"""The classic convnets, as designs (:class:`~convexplorer.core.spec.ModelSpec`).

``PRESETS`` maps a name to a design; use :func:`preset` for a copy you can edit.
Parameter counts are those of the textbooks (checked against Keras in the
tests): the MNIST convnet of *Deep Learning with Python* (conv base 55,744,
with its classifier 93,322), the small cats-vs-dogs convnet (3,453,121), LeNet-5
(61,706), and transfer learning on VGG16 / Xception / ResNet50.
"""

from __future__ import annotations

from .errors import SpecError
from .spec import CompileSpec, LayerSpec, ModelSpec


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
    p["Small residual net"] = ModelSpec(
        "small_resnet", (32, 32, 3), 10,
        [
            _L("Rescaling", scale=1 / 255),
            _L("ResidualBlock", filters=32, pooling=True),
            _L("ResidualBlock", filters=64, pooling=True),
            _L("ResidualBlock", filters=128, pooling=False),
            _L("GlobalAveragePooling2D"), _classes(),
        ],
        CompileSpec("adam", 0.001, 0.0, _SPARSE, ["accuracy"]),
        "Deep Learning with Python, ch. 9: three residual blocks (32, 64 with pooling, 128) and global average pooling.",
    )
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
    return p


#: Name -> design. Treat as read-only; :func:`preset` gives an editable copy.
PRESETS: dict[str, ModelSpec] = _make()


def preset(name: str) -> ModelSpec:
    """An editable copy of the preset called ``name``."""
    try:
        return PRESETS[name].copy()
    except KeyError:
        raise SpecError(f'unknown preset "{name}"; expected one of: {", ".join(PRESETS)}') from None
