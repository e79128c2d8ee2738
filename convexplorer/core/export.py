"""A runnable Python script that rebuilds and trains a design.

:func:`export_script` writes plain Keras code (no ConvExplorer import) in the
functional API: a ``build_model()`` function with one line per layer (a chain
reads ``x = layers.Conv2D(...)(x)``; a graph names each tensor after its node
and passes lists to merges; several heads give a dict of outputs), a
``compile_model()`` with the design's optimizer, loss(es), loss weights and
metrics, and a ``main()`` that picks a ``tf.distribute`` strategy
(``--strategy default|mirrored|multiworker``), builds and compiles inside
``strategy.scope()``, prints the parameter count and, when ``--data`` is given
(a folder of class sub-folders or an ``.npz`` with ``x_train`` / ``y_train``),
trains on it.

Designs may come from someone else, so no string of a design (model, node,
head and group names, the description, parameters, a kept Keras config) is
ever pasted into the code as it is: values reach the text only through
:func:`_lit` (the base-class ``repr`` of plain data: ``None``, booleans,
numbers, text, lists and dicts of them), tensor variable names are made from
node names by :func:`_identifier` (ASCII letters, digits and ``_`` only), and
the docstring holds no design text at all: the name and description are the
``MODEL_NAME`` and ``DESCRIPTION`` constants.
"""

from __future__ import annotations

import builtins
import keyword
import math
import numbers
import operator
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import SpecError
from .layer_kinds import APPLICATION_NAMES, LAYER_KINDS
from .spec import INPUT_ID, HeadSpec, LayerSpec, ModelSpec, normalize_quad, pair
from .summary import summarize
from .workspace import atomic_write_text

#: Deepest nesting of lists/dicts written as a literal (Python's parser stops near 200 levels).
_MAX_DEPTH = 40
#: Longest whole number written as a literal (Python refuses to read more than 4,300 digits).
_MAX_DIGITS = 400

_HEADER = '''#!/usr/bin/env python3
"""Build and train a ConvExplorer design with Keras.

Made by ConvExplorer ({total:,} parameters); the design's name and description
are MODEL_NAME and DESCRIPTION below.
Run:  python {filename} --data DATA [--epochs 10] [--strategy default|mirrored|multiworker]
DATA is a folder with one sub-folder of images per class, or an .npz file with
x_train, y_train (and optionally x_val, y_val) arrays; with several heads, the
.npz may hold y_train_HEAD (and y_val_HEAD) per head, else every head learns y_train.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras
from keras import layers

MODEL_NAME = {model_name}
DESCRIPTION = {description}
INPUT_SHAPE = {input_shape}
NUM_CLASSES = {num_classes}
LOSS = {loss}
'''

_PICK = '''

def _pick(tensor, port):
    """One output of a kept Keras layer that has several."""
    return tensor[port] if isinstance(tensor, (list, tuple)) else tensor
'''

_REST = '''

def make_strategy(name):
    """The tf.distribute strategy: one device, all local devices, or several workers (TF_CONFIG)."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":

        class Strategy(tf.distribute.MultiWorkerMirroredStrategy):
            """Keras 3 fit() calls reduce() on a whole batch and with axis=0 on scalars (keras-team/keras#20585)."""

            def reduce(self, reduce_op, value, axis):
                parent = super()

                def one(v):
                    local = self.experimental_local_results(v)[0]
                    return parent.reduce(reduce_op, v, axis if axis is not None and local.shape.rank else None)

                return tf.nest.map_structure(one, value)

        return Strategy()
    return tf.distribute.get_strategy()


def _labels(y, loss):
    """Labels as a loss expects them: one-hot for categorical cross-entropy."""
    y = np.asarray(y)
    if loss == "categorical_crossentropy" and y.ndim == 1:
        return keras.utils.to_categorical(y, NUM_CLASSES)
    return y


def load_data(path, batch_size):
    """(train, validation) tf.data datasets from a folder of class folders or an .npz file."""
    heads = LOSS if isinstance(LOSS, dict) else None
    if os.path.isdir(path):
        label_mode = "int"
        if not heads:
            label_mode = {{"binary_crossentropy": "binary", "categorical_crossentropy": "categorical"}}.get(LOSS, "int")
        common = dict(
            image_size=INPUT_SHAPE[:2],
            color_mode={{1: "grayscale", 3: "rgb", 4: "rgba"}}[INPUT_SHAPE[2]],
            label_mode=label_mode,
            batch_size=batch_size,
            validation_split=0.2,
            seed=1337,
        )
        train = keras.utils.image_dataset_from_directory(path, subset="training", **common)
        val = keras.utils.image_dataset_from_directory(path, subset="validation", **common)
        if heads:  # every head learns the class of the folder, in the form its loss expects

            def per_head(x, y):
                return x, {{
                    head: tf.one_hot(y, NUM_CLASSES) if loss == "categorical_crossentropy"
                    else y if loss == "sparse_categorical_crossentropy" else tf.cast(y, "float32")
                    for head, loss in heads.items()
                }}

            train, val = train.map(per_head), val.map(per_head)
        return train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)
    data = np.load(path)

    def arrays(xk, yk):
        x = np.asarray(data[xk], dtype="float32")
        if x.ndim == 3:
            x = x[..., None]
        if heads:
            y = {{}}
            for head, loss in heads.items():
                key = f"{{yk}}_{{head}}" if f"{{yk}}_{{head}}" in data.files else yk
                if key not in data.files:
                    raise SystemExit(f"{{path}}: no {{yk}}_{{head}} or {{yk}} array for the head {{head!r}}")
                y[head] = _labels(data[key], loss)
        else:
            y = _labels(data[yk], LOSS)
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=1337)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    train = arrays("x_train", "y_train")
    val = arrays("x_val", "y_val") if "x_val" in data.files else None
    return train, val


def main(argv=None):
    about = "".join(c if c.isprintable() else " " for c in DESCRIPTION)  # no terminal control characters
    parser = argparse.ArgumentParser(
        description=f"Build and train the ConvExplorer design {{MODEL_NAME!r}} with Keras.".replace("%", "%%"),
        epilog=about.replace("%", "%%") or None,
    )
    parser.add_argument("--data", help="folder of class sub-folders, or .npz with x_train/y_train")
    parser.add_argument("--epochs", type=int, default={epochs})
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--strategy", choices=["default", "mirrored", "multiworker"], default="default")
    parser.add_argument("--random-weights", action="store_true", help="do not download pretrained weights")
    parser.add_argument("--save", help="save the trained model to this .keras file")
    parser.add_argument("--history", help="write the training history (Keras History.history) to this JSON file")
    args = parser.parse_args(argv)

    strategy = make_strategy(args.strategy)
    with strategy.scope():
        model = build_model(None if args.random_weights else {weights})
        compile_model(model)
    model.summary()
    print(f"design: {{MODEL_NAME!r}}")
    print(f"strategy: {{args.strategy}} ({{strategy.num_replicas_in_sync}} replica(s))")
    print(f"parameters: {{model.count_params()}}")
    if args.data:
        train, val = load_data(args.data, args.batch_size)
        history = model.fit(train, validation_data=val, epochs=args.epochs, shuffle=False)  # already shuffled
        last = {{k: round(float(v[-1]), 4) for k, v in history.history.items()}}
        print(f"final: {{last}}")
        if args.history:
            with open(args.history, "w", encoding="utf-8") as fh:
                json.dump({{k: [float(x) for x in v] for k, v in history.history.items()}}, fh, indent=1)
            print(f"history written to {{args.history}}")
    if args.save:
        model.save(args.save)
        print(f"saved {{args.save}}")
    return model


if __name__ == "__main__":
    main()
'''

# --- literals: the only way a value of the design reaches the code -----------------------


def _lit(value: Any, depth: int = 0) -> str:
    """A Python literal for plain data: None, booleans, numbers, text, lists, tuples and dicts of them.

    The base classes' ``repr`` is used, so a subclass cannot change what is written;
    anything else raises SpecError.
    """
    if depth > _MAX_DEPTH:
        raise SpecError("a parameter is nested too deeply to be written into a script")
    if value is None or value is True or value is False:
        return repr(value)
    if isinstance(value, numbers.Integral):  # numpy integers too
        try:
            text = int.__repr__(operator.index(value))
        except ValueError:  # more digits than Python converts
            text = ""
        if not text or len(text) > _MAX_DIGITS:
            raise SpecError("a whole number in the design is too long to be written into a script")
        return text
    if isinstance(value, numbers.Real):  # float, numpy floats
        v = float.__float__(value) if isinstance(value, float) else float(value)
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "-float('inf')"
        return float.__repr__(v)
    if isinstance(value, str):
        return str.__repr__(value)
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v, depth + 1) for v in list.__iter__(value)) + "]"
    if isinstance(value, tuple):
        items = [_lit(v, depth + 1) for v in tuple.__iter__(value)]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        parts = []
        for k, v in dict.items(value):
            if not isinstance(k, str):
                raise SpecError(f"a configuration key must be text, got a {type(k).__name__}")
            parts.append(f"{_lit(k, depth + 1)}: {_lit(v, depth + 1)}")
        return "{" + ", ".join(parts) + "}"
    raise SpecError(f"a {type(value).__name__} value cannot be written into a script (only numbers, text, lists, objects)")


def _int(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError(f"expected a whole number, got {value!r:.40}")
    return _lit(value)


def _float(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"expected a number, got {value!r:.40}")
    return _lit(float(value))


def _bool(value: Any) -> str:
    return "True" if value is True or (value is not False and bool(value)) else "False"


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise SpecError(f"expected text, got {value!r:.40}")
    return _lit(value)


def _comment(text: str, limit: int = 120) -> str:
    """Design text shown in a comment: its repr (no line break can survive it), shortened."""
    if not isinstance(text, str):
        text = ""
    shown = str.__repr__(text[:limit] + ("…" if len(text) > limit else ""))
    assert "\n" not in shown and "\r" not in shown
    return shown


#: Names a tensor variable may not take: keywords, builtins and every name the script defines or uses.
_RESERVED = (
    set(keyword.kwlist) | set(getattr(keyword, "softkwlist", ())) | set(dir(builtins))
    | {"argparse", "json", "os", "np", "tf", "keras", "layers", "inputs", "outputs", "x", "residual", "base", "first",
       "layer", "pretrained_weights", "model", "MODEL_NAME", "DESCRIPTION", "INPUT_SHAPE", "NUM_CLASSES", "LOSS",
       "build_model", "compile_model", "make_strategy", "load_data", "main", "_labels", "_pick"}
)


def _identifier(name: str, taken: set[str]) -> str:
    """A Python variable named after a node: ASCII letters, digits and _ only, not reserved, not taken."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name if isinstance(name, str) else "", flags=re.ASCII)[:60] or "t"
    if base[0].isdigit():
        base = "t_" + base
    ident, k = base, 1
    while ident in _RESERVED or ident in taken or keyword.iskeyword(ident):
        k += 1
        ident = f"{base}_{k}"
    assert ident.isidentifier() and ident.isascii()
    taken.add(ident)
    return ident


# --- one node -----------------------------------------------------------------------------


def _units(layer: LayerSpec, spec: ModelSpec) -> str:
    if layer.get("units_from_classes"):
        return "NUM_CLASSES" if spec.output_units() == spec.num_classes else _int(spec.output_units())
    return _int(layer.get("units"))


def _pair(value: Any) -> str:
    return _lit(pair(value))


#: Merges without parameters: the class names are ours, never the design's text.
_MERGES = {k: k for k in ("Add", "Subtract", "Multiply", "Average", "Maximum")}


def _constructor(layer: LayerSpec, name: str, spec: ModelSpec) -> str | None:
    """The Keras layer expression of a one-layer kind (None for blocks written as several lines)."""
    g = layer.get
    k = layer.kind
    n = f"name={_text(name)}"
    if k in ("Conv2D", "SeparableConv2D"):
        extra = f", depth_multiplier={_int(g('depth_multiplier'))}" if k == "SeparableConv2D" else ""
        cls = "Conv2D" if k == "Conv2D" else "SeparableConv2D"
        filters = "NUM_CLASSES" if g("filters_from_classes") and spec.output_units() == spec.num_classes else _int(
            spec.filters_of(layer))
        return (f"layers.{cls}({filters}, {_pair(g('kernel_size'))}, strides={_pair(g('strides'))}, "
                f"padding={_text(g('padding'))}, dilation_rate={_pair(g('dilation_rate'))}{extra}, "
                f"activation={_text(g('activation'))}, use_bias={_bool(g('use_bias'))}, {n})")
    if k == "DepthwiseConv2D":
        return (f"layers.DepthwiseConv2D({_pair(g('kernel_size'))}, strides={_pair(g('strides'))}, "
                f"padding={_text(g('padding'))}, depth_multiplier={_int(g('depth_multiplier'))}, "
                f"dilation_rate={_pair(g('dilation_rate'))}, activation={_text(g('activation'))}, "
                f"use_bias={_bool(g('use_bias'))}, {n})")
    if k == "Conv2DTranspose":
        return (f"layers.Conv2DTranspose({_int(g('filters'))}, {_pair(g('kernel_size'))}, strides={_pair(g('strides'))}, "
                f"padding={_text(g('padding'))}, activation={_text(g('activation'))}, use_bias={_bool(g('use_bias'))}, {n})")
    if k in ("MaxPooling2D", "AveragePooling2D"):
        cls = "MaxPooling2D" if k == "MaxPooling2D" else "AveragePooling2D"
        strides = _pair(g("strides")) if g("strides") is not None else "None"
        return f"layers.{cls}({_pair(g('pool_size'))}, strides={strides}, padding={_text(g('padding'))}, {n})"
    if k in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        cls = "GlobalAveragePooling2D" if k == "GlobalAveragePooling2D" else "GlobalMaxPooling2D"
        keep = ", keepdims=True" if g("keepdims") else ""
        return f"layers.{cls}({n}{keep})"
    if k == "UpSampling2D":
        return f"layers.UpSampling2D({_pair(g('size'))}, interpolation={_text(g('interpolation'))}, {n})"
    if k in ("ZeroPadding2D", "Cropping2D"):
        quad = normalize_quad(g("padding" if k == "ZeroPadding2D" else "cropping"))
        if quad is None:
            raise SpecError(f"{k} {name!r}: expected [top, bottom, left, right]")
        t, b, left, right = quad
        cls = "ZeroPadding2D" if k == "ZeroPadding2D" else "Cropping2D"
        return f"layers.{cls}((({_int(t)}, {_int(b)}), ({_int(left)}, {_int(right)})), {n})"
    if k == "Reshape":
        shape = g("target_shape")
        if not isinstance(shape, (list, tuple)):
            raise SpecError(f"Reshape {name!r}: expected a list of whole numbers")
        return f"layers.Reshape({_lit(tuple(int(_int(v)) for v in shape))}, {n})"
    if k == "ReLU":
        mv = g("max_value")
        return (f"layers.ReLU(max_value={'None' if mv is None else _float(mv)}, "
                f"negative_slope={_float(g('negative_slope'))}, threshold={_float(g('threshold'))}, {n})")
    if k == "LayerNormalization":
        return (f"layers.LayerNormalization(axis={_int(g('axis'))}, epsilon={_float(g('epsilon'))}, "
                f"center={_bool(g('center'))}, scale={_bool(g('scale'))}, {n})")
    if k == "BatchNormalization":
        return (f"layers.BatchNormalization(axis={_int(g('axis'))}, momentum={_float(g('momentum'))}, "
                f"epsilon={_float(g('epsilon'))}, center={_bool(g('center'))}, scale={_bool(g('scale'))}, {n})")
    if k == "Normalization":
        return f"layers.Normalization(axis={_int(g('axis'))}, {n})"
    if k in _MERGES:
        return f"layers.{_MERGES[k]}({n})"
    if k == "Concatenate":
        return f"layers.Concatenate(axis={_int(g('axis'))}, {n})"
    if k == "Flatten":
        return f"layers.Flatten({n})"
    if k == "Dense":
        return f"layers.Dense({_units(layer, spec)}, activation={_text(g('activation'))}, use_bias={_bool(g('use_bias'))}, {n})"
    if k == "Activation":
        return f"layers.Activation({_text(g('activation'))}, {n})"
    if k == "Dropout":
        return f"layers.Dropout({_float(g('rate'))}, {n})"
    if k == "Rescaling":
        return f"layers.Rescaling({_float(g('scale'))}, offset={_float(g('offset'))}, {n})"
    if k == "RandomFlip":
        return f"layers.RandomFlip({_text(g('mode'))}, {n})"
    if k in ("RandomRotation", "RandomContrast"):
        cls = "RandomRotation" if k == "RandomRotation" else "RandomContrast"
        return f"layers.{cls}({_float(g('factor'))}, {n})"
    if k == "RandomZoom":
        return f"layers.RandomZoom({_float(g('height_factor'))}, {n})"
    if k == "RandomTranslation":
        return f"layers.RandomTranslation({_float(g('height_factor'))}, {_float(g('width_factor'))}, {n})"
    return None


def _has_lambda(value: Any, depth: int = 0) -> bool:
    """True when a Keras config holds Python code (a Lambda layer or a ``__lambda__`` function)."""
    if depth > _MAX_DEPTH:
        return False  # _lit refuses it anyway
    if isinstance(value, dict):
        if value.get("class_name") in ("Lambda", "__lambda__"):
            return True
        return any(_has_lambda(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_lambda(v, depth + 1) for v in value)
    return False


def _keras_layer_config(layer: LayerSpec, name: str) -> str:
    """The literal given to keras.layers.deserialize for a kept Keras layer (named as the design names it)."""
    class_name, config = layer.get("class_name"), layer.get("config")
    if not isinstance(class_name, str) or not class_name or not isinstance(config, dict):
        raise SpecError(f"{name}: a kept Keras layer needs its class name and configuration")
    if class_name == "Lambda" or _has_lambda(config):
        raise SpecError(f"{name}: a Lambda layer holds Python code; ConvExplorer does not write it into a script")
    # Keras 3 finds a class by its module: the layers of keras.layers (the design does not keep another module)
    return _lit({"module": "keras.layers", "class_name": class_name, "config": dict(dict.items(config), name=name),
                 "registered_name": None})


def _node_lines(layer: LayerSpec, name: str, spec: ModelSpec, inp: str, out: str) -> list[str]:
    """Lines that compute the node's output ``out`` from the input expression ``inp``."""
    k = layer.kind
    call = _constructor(layer, name, spec)
    if call is not None:
        return [f"{out} = {call}({inp})"]
    g = layer.get
    if k == "KerasLayer":
        return [
            "# a layer kept as its Keras configuration (Keras's safe mode refuses Python code)"
            + (f": {_comment(layer.get('reason'))}" if layer.get("reason") else ""),
            f"{out} = keras.layers.deserialize({_keras_layer_config(layer, name)})({inp})",
        ]
    if k == "ResidualBlock":
        f = _int(g("filters"))
        lines = [
            f"# residual block {_comment(name)}: two 3x3 convs, then the input added back",
            f"residual = {inp}",
            f"{out} = layers.Conv2D({f}, 3, activation='relu', padding='same', name={_text(name + '_conv1')})({inp})",
            f"{out} = layers.Conv2D({f}, 3, activation='relu', padding='same', name={_text(name + '_conv2')})({out})",
        ]
        if g("pooling"):
            lines += [
                f"{out} = layers.MaxPooling2D(2, padding='same', name={_text(name + '_pool')})({out})",
                f"residual = layers.Conv2D({f}, 1, strides=2, name={_text(name + '_residual')})(residual)",
            ]
        else:
            lines += [
                f"if residual.shape[-1] != {f}:",
                f"    residual = layers.Conv2D({f}, 1, name={_text(name + '_residual')})(residual)",
            ]
        lines.append(f"{out} = layers.Add(name={_text(name + '_add')})([{out}, residual])")
        return lines
    if k == "Pretrained":
        app = g("application")
        if not isinstance(app, str) or app not in APPLICATION_NAMES or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", app):
            raise SpecError(f"{name}: unknown pretrained base {app!r:.40}")
        weights = "pretrained_weights" if g("weights") == "imagenet" else "None"
        lines = [
            f"base = keras.applications.{app}(weights={weights}, include_top=False, input_shape=tuple({inp}.shape[1:]))",
            f"base.name = {_text(name)}",
        ]
        mode = g("trainable")
        if mode == "frozen":
            lines.append("base.trainable = False")
        elif mode == "trainable":
            lines.append("base.trainable = True")
        elif mode == "fine_tune":
            lines += [
                "base.trainable = True",
                f"first = [layer.name for layer in base.layers].index({_text(g('fine_tune_from'))})",
                "for layer in base.layers[:first]:  # fine-tune from this layer on",
                "    layer.trainable = False",
            ]
        else:
            raise SpecError(f"{name}: unknown training mode {mode!r:.40}")
        lines.append(f"{out} = base({inp}, training=False)  # batch-norm statistics stay fixed")
        return lines
    raise SpecError(f"cannot export layer type {k!r:.40}")


# --- the whole model ----------------------------------------------------------------------


def _group_comments(spec: ModelSpec) -> dict[str, list[str]]:
    """Comment lines to write before the first node of each group (group names are shown as repr)."""
    out: dict[str, list[str]] = {}
    order = {layer.id: i for i, layer in enumerate(spec.layers)}
    for group in spec.groups:
        members = [n for n in group.nodes if n in order]
        if members:
            first = min(members, key=order.__getitem__)
            count = f"{len(members)} layer{'s' if len(members) != 1 else ''}"
            out.setdefault(first, []).append(f"# group {_comment(group.name)} ({count})")
    return out


def _build_function(spec: ModelSpec, weights: str) -> tuple[str, bool]:
    """The source of ``build_model()`` and whether it uses ``_pick`` (kept layers with several outputs)."""
    names = spec.layer_names()
    kinds = {layer.id: layer.kind for layer in spec.layers}
    groups = _group_comments(spec)
    body: list[str] = [
        'inputs = keras.Input(shape=INPUT_SHAPE, name="input_layer")',
    ]
    uses_pick = False

    def merge_input(layer: LayerSpec, sources: list[str]) -> str:
        # merges take a list; a kept Keras layer takes a list when it has several inputs
        if LAYER_KINDS[layer.kind].is_merge and (layer.kind != "KerasLayer" or len(sources) > 1):
            return "[" + ", ".join(sources) + "]"
        return sources[0]

    heads = spec.output_heads()
    if spec.is_chain():
        body.append("x = inputs")
        previous = INPUT_ID
        for layer, name in zip(spec.layers, names):
            body += groups.get(layer.id, [])
            if kinds.get(previous) == "KerasLayer":  # its first output, when it has several
                body.append("x = _pick(x, 0)")
                uses_pick = True
            body += _node_lines(layer, name, spec, merge_input(layer, ["x"]), "x")
            previous = layer.id
        output = "x"
    else:
        taken: set[str] = set()
        var: dict[str, str] = {INPUT_ID: "inputs"}
        for i, (layer, name) in enumerate(zip(spec.layers, names)):
            body += groups.get(layer.id, [])
            sources = []
            for src, port in spec.inputs_of(i):
                if src not in var:
                    raise SpecError(f"{layer.kind} {name!r}: reads {src!r:.40}, which comes later or does not exist")
                if kinds.get(src) == "KerasLayer":
                    sources.append(f"_pick({var[src]}, {_int(port)})")
                    uses_pick = True
                else:
                    sources.append(var[src])
            var[layer.id] = _identifier(name, taken)
            body += _node_lines(layer, name, spec, merge_input(layer, sources), var[layer.id])
        if len(heads) > 1:
            body.append("outputs = {  # one output per head, by head name")
            body += [f"    {_text(h.name)}: {var[h.node]}," for h in heads]
            body.append("}")
            output = "outputs"
        else:
            output = var[heads[0].node]
    lines = [
        "",
        "",
        f"def build_model(pretrained_weights={weights}):",
        '    """The model, layer by layer (Keras functional API)."""',
    ]
    lines += [f"    {line}" for line in body]
    lines.append(f"    return keras.Model(inputs, {output}, name={_text(_keras_model_name(spec.name))})")
    return "\n".join(lines) + "\n", uses_pick


def _keras_model_name(name: str) -> str:
    from .builder import keras_model_name

    return keras_model_name(name if isinstance(name, str) else "model")


_OPTIMIZERS = {"rmsprop": "RMSprop", "adam": "Adam", "nadam": "Nadam", "sgd": "SGD"}

_METRICS = {
    "accuracy": '"accuracy"',
    "top_k_categorical_accuracy": 'keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy")',
    "sparse_top_k_categorical_accuracy": 'keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy")',
    "auc": 'keras.metrics.AUC(name="auc")',
    "precision": 'keras.metrics.Precision(name="precision")',
    "recall": 'keras.metrics.Recall(name="recall")',
    "mean_absolute_error": 'keras.metrics.MeanAbsoluteError(name="mae")',
}


def _optimizer_code(spec: ModelSpec) -> str:
    c = spec.compile
    if c.optimizer not in _OPTIMIZERS:
        raise SpecError(f"unknown optimizer {c.optimizer!r:.40}")
    extra = f", momentum={_float(c.momentum)}" if c.optimizer == "sgd" else ""
    return f"keras.optimizers.{_OPTIMIZERS[c.optimizer]}(learning_rate={_float(c.learning_rate)}{extra})"


def _metrics_code(metrics: Sequence[str]) -> str:
    unknown = [m for m in metrics if m not in _METRICS]
    if unknown:
        raise SpecError(f"unknown metric {unknown[0]!r:.40}")
    return "[" + ", ".join(_METRICS[m] for m in metrics) + "]"


def _training(spec: ModelSpec) -> tuple[str, str]:
    """(the LOSS constant, the source of ``compile_model()``), as ``builder.compile_model`` compiles."""
    heads = spec.heads
    lines = [
        "",
        "",
        "def compile_model(model):",
        '    """Optimizer, loss and metrics as designed."""',
        "    model.compile(",
        f"        optimizer={_optimizer_code(spec)},",
        "        loss=LOSS,",
    ]
    if len(heads) > 1:  # a dict of outputs: each head its own loss, weight and metrics
        loss = "{" + ", ".join(f"{_text(h.name)}: {_text(h.loss)}" for h in heads) + "}"
        lines.append("        loss_weights={" + ", ".join(f"{_text(h.name)}: {_float(h.loss_weight)}" for h in heads) + "},")
        lines.append("        metrics={" + ", ".join(f"{_text(h.name)}: {_metrics_code(h.metrics)}" for h in heads) + "},")
    else:
        one: HeadSpec | None = heads[0] if heads else None
        loss = _text(one.loss if one else spec.compile.loss)
        lines.append(f"        metrics={_metrics_code(one.metrics if one else spec.compile.metrics)},")
    lines += ["    )", "    return model"]
    return loss, "\n".join(lines) + "\n"


def _parameter_count(spec: ModelSpec) -> int:
    """The design's parameters, measured as ``build_model`` checks it: the summary for a chain, Keras for a graph."""
    if spec.is_chain():
        summary = summarize(spec)
        if summary.pending:  # the parameter count in the header needs the base measured
            from .builder import measure_base

            for application, shape in summary.pending:
                measure_base(application, shape)
            summary = summarize(spec)
        if not summary.valid:
            raise SpecError(summary.error)
        return summary.total
    from .builder import build_model

    return int(build_model(spec, compile=False, load_weights=False).count_params())


def _check_kept_layers(spec: ModelSpec, names: list[str]) -> None:
    """Refuse kept Keras layers that hold Python code before anything builds them."""
    for layer, name in zip(spec.layers, names):
        if layer.kind == "KerasLayer":
            _keras_layer_config(layer, name)


def _script_filename(filename: str) -> str:
    """The script's file name as the docstring shows it (a generic one when it has unusual characters)."""
    return filename if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}", filename or "", flags=re.ASCII) else "THIS_SCRIPT.py"


def script_text(spec: ModelSpec, filename: str = "train.py", epochs: int = 10) -> str:
    """The Python source of a script that rebuilds and trains ``spec``; raises SpecError if invalid.

    The design is validated here (not only by the caller), and every value of it is
    written through :func:`_lit`, so a design made by someone else cannot add code.
    """
    spec.validate()
    if not spec.layers:
        raise SpecError("the design has no layers: add at least one layer")
    for text, what in ((spec.name, "name"), (spec.description, "description")):
        if not isinstance(text, str):
            raise SpecError(f"the design's {what} must be text")
    names = spec.layer_names()
    _check_kept_layers(spec, names)
    total = _parameter_count(spec)
    weights = "None"
    for layer in spec.layers:
        if layer.kind == "Pretrained" and layer.get("weights") == "imagenet":
            weights = "'imagenet'"
    loss, compile_source = _training(spec)
    build_source, uses_pick = _build_function(spec, weights)
    text = _HEADER.format(
        total=int(total),
        filename=_script_filename(filename),
        model_name=_lit(spec.name),
        description=_lit(spec.description),
        input_shape=_lit(tuple(int(_int(v)) for v in spec.input_shape)),
        num_classes=_int(spec.num_classes),
        loss=loss,
    )
    # design-made text is joined after formatting: braces in it are never read as fields
    if uses_pick:
        text += _PICK
    text += build_source + compile_source + _REST.format(epochs=int(epochs), weights=weights)
    return text


def export_script(spec: ModelSpec, path: str | os.PathLike[str], epochs: int = 10) -> Path:
    """Write the training script for ``spec`` to ``path`` atomically; returns the path."""
    p = Path(path)
    atomic_write_text(p, script_text(spec, p.name, epochs))
    try:
        os.chmod(p, 0o755)
    except OSError:
        pass
    return p
