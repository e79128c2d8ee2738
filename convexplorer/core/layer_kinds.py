"""The layer kinds a design can use: their parameters, palette group, inputs and default names.

Every kind is a :class:`LayerKind` in :data:`LAYER_KINDS`, described by its
parameters (:class:`ParamDef`) so that forms can be generated and values
checked, and by how many inputs it takes (merges such as ``Add`` take two or
more; every other kind one). Plain data: no TensorFlow, no Qt.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from .errors import SpecError

ACTIVATIONS = (
    "relu", "linear", "sigmoid", "softmax", "tanh", "elu", "selu", "gelu", "swish", "leaky_relu", "hard_sigmoid",
    "softplus", "relu6", "silu", "hard_silu", "mish",
)
OPTIMIZERS = ("rmsprop", "adam", "nadam", "sgd")
LOSSES = (
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    # regression heads (a localization head regresses box coordinates)
    "mean_squared_error", "huber", "mean_absolute_error",
    # a YOLO-style detection grid (core.losses.YoloLoss): objectness, box and class per cell and anchor
    "yolo",
)
METRICS = (
    "accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "precision", "recall",
    "mean_absolute_error",
    # task metrics: box IoU of a localization head (core.losses.BoxIoU), mean IoU of a mask head (keras MeanIoU)
    "iou", "mean_iou",
)
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
    #: "int", "float", "float_or_none", "pair", "pair_or_none", "quad" (top, bottom, left, right),
    #: "shape" (a list of whole numbers, one may be -1), "choice", "bool", "str", "config" (Keras config, read-only)
    type: str
    default: Any
    label: str = ""
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


def _conv_params(separable: bool = False) -> tuple[ParamDef, ...]:
    params = [
        ParamDef("filters", "int", 32, "Filters", minimum=1, maximum=100_000, help="number of output channels"),
        ParamDef(
            "filters_from_classes",
            "bool",
            False,
            "Filters = classes",
            help="use the number of classes: the per-pixel classifier of a segmentation model",
        ),
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


def _global_pool_params() -> tuple[ParamDef, ...]:
    return (ParamDef("keepdims", "bool", False, "Keep 1x1 maps", help="output (1, 1, C) instead of a vector"),)


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
    #: Fewest and most inputs (None: no upper bound). Merges take two or more.
    min_inputs: int = 1
    max_inputs: int | None = 1
    #: Kinds a user cannot edit (a layer kept from an imported model as Keras config).
    editable: bool = True

    @property
    def is_merge(self) -> bool:
        """True for kinds that combine several inputs (Add, Concatenate, ...)."""
        return self.max_inputs is None or self.max_inputs > 1

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
        LayerKind(
            "DepthwiseConv2D",
            "Convolution",
            (
                ParamDef("kernel_size", "pair", (3, 3), "Kernel size", minimum=1, maximum=1000),
                ParamDef("strides", "pair", (1, 1), "Strides", minimum=1, maximum=1000),
                ParamDef("padding", "choice", "valid", "Padding", choices=("valid", "same")),
                ParamDef("depth_multiplier", "int", 1, "Depth multiplier", minimum=1, maximum=1000),
                ParamDef("dilation_rate", "pair", (1, 1), "Dilation", minimum=1, maximum=1000),
                ParamDef("activation", "choice", "linear", "Activation", choices=ACTIVATIONS),
                ParamDef("use_bias", "bool", True, "Use bias"),
            ),
            "one filter per input channel (no mixing between channels)",
        ),
        LayerKind(
            "Conv2DTranspose",
            "Convolution",
            (
                ParamDef("filters", "int", 32, "Filters", minimum=1, maximum=100_000, help="number of output channels"),
                ParamDef("kernel_size", "pair", (3, 3), "Kernel size", minimum=1, maximum=1000),
                ParamDef("strides", "pair", (2, 2), "Strides", minimum=1, maximum=1000, help="the upsampling factor"),
                ParamDef("padding", "choice", "same", "Padding", choices=("valid", "same")),
                ParamDef("activation", "choice", "relu", "Activation", choices=ACTIVATIONS),
                ParamDef("use_bias", "bool", True, "Use bias"),
            ),
            "transposed convolution: learns to upsample (segmentation decoders)",
        ),
        LayerKind("MaxPooling2D", "Pooling", _pool_params(), "keeps the largest value of each window"),
        LayerKind("AveragePooling2D", "Pooling", _pool_params(), "averages each window"),
        LayerKind("GlobalAveragePooling2D", "Pooling", _global_pool_params(), "one average per channel: image -> vector"),
        LayerKind("GlobalMaxPooling2D", "Pooling", _global_pool_params(), "one maximum per channel: image -> vector"),
        LayerKind(
            "UpSampling2D",
            "Pooling",
            (
                ParamDef("size", "pair", (2, 2), "Size", minimum=1, maximum=1000, help="repeat rows and columns this often"),
                ParamDef("interpolation", "choice", "nearest", "Interpolation", choices=("nearest", "bilinear")),
            ),
            "enlarges the feature maps (no weights)",
        ),
        LayerKind(
            "ZeroPadding2D",
            "Pooling",
            (ParamDef("padding", "quad", (1, 1, 1, 1), "Padding", minimum=0, maximum=10_000, help="top, bottom, left, right"),),
            "adds rows and columns of zeros around the maps",
        ),
        LayerKind(
            "Cropping2D",
            "Pooling",
            (ParamDef("cropping", "quad", (1, 1, 1, 1), "Cropping", minimum=0, maximum=10_000, help="top, bottom, left, right"),),
            "cuts rows and columns off the edges",
        ),
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
            "ReLU",
            "Core",
            (
                ParamDef("max_value", "float_or_none", None, "Max value", minimum=0.0, maximum=1e9, help="empty: no cap (6: ReLU6)"),
                ParamDef("negative_slope", "float", 0.0, "Negative slope", minimum=0.0, maximum=1e6),
                ParamDef("threshold", "float", 0.0, "Threshold", minimum=-1e9, maximum=1e9),
            ),
            "rectified linear unit, with an optional cap (ReLU6 in MobileNet)",
        ),
        LayerKind(
            "Reshape",
            "Core",
            (ParamDef("target_shape", "shape", (1, 1, -1), "Target shape", help="one entry may be -1: inferred"),),
            "rearranges the values into another shape (same count)",
        ),
        LayerKind(
            "Dropout",
            "Regularization",
            (ParamDef("rate", "float", 0.5, "Rate", minimum=0.0, maximum=0.99, help="fraction of inputs set to 0 in training"),),
            "randomly drops inputs while training",
        ),
        LayerKind(
            "BatchNormalization",
            "Regularization",
            (
                ParamDef("axis", "int", -1, "Axis", minimum=-4, maximum=3, help="the channel axis (-1: last)"),
                ParamDef("momentum", "float", 0.99, "Momentum", minimum=0.0, maximum=1.0),
                ParamDef("epsilon", "float", 1e-3, "Epsilon", minimum=0.0, maximum=1.0),
                ParamDef("center", "bool", True, "Learn an offset (beta)"),
                ParamDef("scale", "bool", True, "Learn a scale (gamma)"),
            ),
            "normalizes activations per channel",
        ),
        LayerKind(
            "LayerNormalization",
            "Regularization",
            (
                ParamDef("axis", "int", -1, "Axis", minimum=-4, maximum=3),
                ParamDef("epsilon", "float", 1e-3, "Epsilon", minimum=0.0, maximum=1.0),
                ParamDef("center", "bool", True, "Learn an offset (beta)"),
                ParamDef("scale", "bool", True, "Learn a scale (gamma)"),
            ),
            "normalizes each example over its last axis",
        ),
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
            "Normalization",
            "Preprocessing",
            (ParamDef("axis", "int", -1, "Axis", minimum=-4, maximum=3, help="a mean and variance per entry of this axis"),),
            "subtracts a mean and divides by a standard deviation learned from the data (adapt)",
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
        LayerKind("Add", "Merge", (), "adds its inputs element by element (residual shortcuts)", 2, None),
        LayerKind("Subtract", "Merge", (), "first input minus the second", 2, 2),
        LayerKind("Multiply", "Merge", (), "multiplies its inputs element by element (squeeze-and-excitation)", 2, None),
        LayerKind("Average", "Merge", (), "averages its inputs element by element", 2, None),
        LayerKind("Maximum", "Merge", (), "keeps the largest of its inputs element by element", 2, None),
        LayerKind(
            "Concatenate",
            "Merge",
            (ParamDef("axis", "int", -1, "Axis", minimum=-4, maximum=3, help="-1: stack the channels (inception)"),),
            "joins its inputs along an axis (in depth by default)",
            2,
            None,
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
        LayerKind(
            "KerasLayer",
            "Imported",
            (
                ParamDef("class_name", "str", "", "Keras class"),
                ParamDef("config", "config", None, "Keras config"),
                ParamDef("reason", "str", "", "Why it cannot be edited"),
            ),
            "a layer kept as its Keras configuration (a kind ConvExplorer cannot edit)",
            1,
            None,
            False,
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
    "LayerNormalization": "layer_normalization",
    "DepthwiseConv2D": "depthwise_conv2d",
    "Conv2DTranspose": "conv2d_transpose",
    "UpSampling2D": "up_sampling2d",
    "ZeroPadding2D": "zero_padding2d",
    "Cropping2D": "cropping2d",
    "ReLU": "re_lu",
    "ResidualBlock": "residual_block",
}

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def default_params(kind: str) -> dict[str, Any]:
    """The default parameter values of a layer kind."""
    if kind not in LAYER_KINDS:
        raise SpecError(f'unknown layer type "{kind}"; expected one of: {", ".join(LAYER_KINDS)}')
    return {p.name: copy.deepcopy(p.default) for p in LAYER_KINDS[kind].params}


def name_prefix(kind: str, class_name: str = "") -> str:
    """The prefix of automatic names for a kind, as Keras spells it ("conv2d", "dense")."""
    if kind == "KerasLayer" and class_name:
        kind = class_name
    if kind in _NAME_PREFIX:
        return _NAME_PREFIX[kind]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


