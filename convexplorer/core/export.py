"""A runnable Python script that rebuilds and trains a design.

:func:`export_script` writes plain Keras code (no ConvExplorer import): a
``build_model()`` function with one line per layer, compile settings, and a
``main()`` that picks a ``tf.distribute`` strategy (``--strategy
default|mirrored|multiworker``), builds and compiles inside
``strategy.scope()``, prints the parameter count and, when ``--data`` is
given (a folder of class sub-folders or an ``.npz`` with ``x_train`` /
``y_train``), trains on it.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import SpecError
from .spec import LayerSpec, ModelSpec, pair
from .summary import summarize
from .workspace import atomic_write_text

_HEADER = '''#!/usr/bin/env python3
"""{title}

Made by ConvExplorer from the design "{name}" ({total:,} parameters).
Run:  python {filename} --data DATA [--epochs 10] [--strategy default|mirrored|multiworker]
DATA is a folder with one sub-folder of images per class, or an .npz file with
x_train, y_train (and optionally x_val, y_val) arrays.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras
from keras import layers

INPUT_SHAPE = {input_shape!r}
NUM_CLASSES = {num_classes!r}
LOSS = {loss!r}


def build_model(pretrained_weights={weights!r}):
    """The model, layer by layer."""
    inputs = keras.Input(shape=INPUT_SHAPE, name="input_layer")
    x = inputs
'''

_FOOTER = '''    return keras.Model(inputs, x, name={model_name!r})


def compile_model(model):
    """Optimizer, loss and metrics as designed."""
    model.compile(
        optimizer={optimizer},
        loss=LOSS,
        metrics={metrics},
    )
    return model


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


def load_data(path, batch_size):
    """(train, validation) tf.data datasets from a folder of class folders or an .npz file."""
    if os.path.isdir(path):
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
        return train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)
    data = np.load(path)

    def arrays(xk, yk):
        x = np.asarray(data[xk], dtype="float32")
        if x.ndim == 3:
            x = x[..., None]
        y = np.asarray(data[yk])
        if LOSS == "categorical_crossentropy" and y.ndim == 1:
            y = keras.utils.to_categorical(y, NUM_CLASSES)
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=1337)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    train = arrays("x_train", "y_train")
    val = arrays("x_val", "y_val") if "x_val" in data.files else None
    return train, val


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
        model = build_model(None if args.random_weights else {weights!r})
        compile_model(model)
    model.summary()
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


def _r(value: object) -> str:
    """A Python literal for a parameter value."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return repr(tuple(value))
    return repr(value)


def _layer_lines(layer: LayerSpec, name: str, spec: ModelSpec) -> list[str]:
    g = layer.get
    k = layer.kind
    n = f"name={name!r}"
    if k in ("Conv2D", "SeparableConv2D"):
        extra = f", depth_multiplier={g('depth_multiplier')}" if k == "SeparableConv2D" else ""
        return [
            f"x = layers.{k}({g('filters')}, {pair(g('kernel_size'))}, strides={pair(g('strides'))}, "
            f"padding={g('padding')!r}, dilation_rate={pair(g('dilation_rate'))}{extra}, "
            f"activation={g('activation')!r}, use_bias={g('use_bias')}, {n})(x)"
        ]
    if k in ("MaxPooling2D", "AveragePooling2D"):
        strides = pair(g("strides")) if g("strides") is not None else None
        return [f"x = layers.{k}({pair(g('pool_size'))}, strides={strides}, padding={g('padding')!r}, {n})(x)"]
    if k in ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten", "BatchNormalization"):
        return [f"x = layers.{k}({n})(x)"]
    if k == "Dense":
        units = "NUM_CLASSES" if g("units_from_classes") and spec.output_units() == spec.num_classes else (
            spec.output_units() if g("units_from_classes") else g("units"))
        return [f"x = layers.Dense({units}, activation={g('activation')!r}, use_bias={g('use_bias')}, {n})(x)"]
    if k == "Activation":
        return [f"x = layers.Activation({g('activation')!r}, {n})(x)"]
    if k == "Dropout":
        return [f"x = layers.Dropout({float(g('rate'))!r}, {n})(x)"]
    if k == "Rescaling":
        return [f"x = layers.Rescaling({float(g('scale'))!r}, offset={float(g('offset'))!r}, {n})(x)"]
    if k == "RandomFlip":
        return [f"x = layers.RandomFlip({g('mode')!r}, {n})(x)"]
    if k in ("RandomRotation", "RandomContrast"):
        return [f"x = layers.{k}({float(g('factor'))!r}, {n})(x)"]
    if k == "RandomZoom":
        return [f"x = layers.RandomZoom({float(g('height_factor'))!r}, {n})(x)"]
    if k == "RandomTranslation":
        return [f"x = layers.RandomTranslation({float(g('height_factor'))!r}, {float(g('width_factor'))!r}, {n})(x)"]
    if k == "ResidualBlock":
        f = g("filters")
        lines = [
            f"# residual block {name!r}: two 3x3 convs, then the input added back",
            "residual = x",
            f"x = layers.Conv2D({f}, 3, activation='relu', padding='same', name={name + '_conv1'!r})(x)",
            f"x = layers.Conv2D({f}, 3, activation='relu', padding='same', name={name + '_conv2'!r})(x)",
        ]
        if g("pooling"):
            lines += [
                f"x = layers.MaxPooling2D(2, padding='same', name={name + '_pool'!r})(x)",
                f"residual = layers.Conv2D({f}, 1, strides=2, name={name + '_residual'!r})(residual)",
            ]
        else:
            lines += [
                f"if residual.shape[-1] != {f}:",
                f"    residual = layers.Conv2D({f}, 1, name={name + '_residual'!r})(residual)",
            ]
        lines.append(f"x = layers.Add(name={name + '_add'!r})([x, residual])")
        return lines
    if k == "Pretrained":
        app = g("application")
        lines = [
            f"base = keras.applications.{app}(weights=pretrained_weights, include_top=False, "
            "input_shape=tuple(x.shape[1:]))",
        ]
        lines.append(f"base.name = {name!r}")
        mode = g("trainable")
        if mode == "frozen":
            lines.append("base.trainable = False")
        elif mode == "trainable":
            lines.append("base.trainable = True")
        else:
            lines += [
                "base.trainable = True",
                f"first = [layer.name for layer in base.layers].index({g('fine_tune_from')!r})",
                "for layer in base.layers[:first]:  # fine-tune from this layer on",
                "    layer.trainable = False",
            ]
        lines.append("x = base(x, training=False)  # batch-norm statistics stay fixed")
        return lines
    raise SpecError(f"cannot export layer type {k!r}")  # pragma: no cover


def _optimizer_code(spec: ModelSpec) -> str:
    c = spec.compile
    cls = {"rmsprop": "RMSprop", "adam": "Adam", "nadam": "Nadam", "sgd": "SGD"}[c.optimizer]
    extra = f", momentum={c.momentum!r}" if c.optimizer == "sgd" else ""
    return f"keras.optimizers.{cls}(learning_rate={c.learning_rate!r}{extra})"


def _metrics_code(spec: ModelSpec) -> str:
    names = {
        "accuracy": '"accuracy"',
        "top_k_categorical_accuracy": 'keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy")',
        "sparse_top_k_categorical_accuracy": 'keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy")',
        "auc": 'keras.metrics.AUC(name="auc")',
        "precision": 'keras.metrics.Precision(name="precision")',
        "recall": 'keras.metrics.Recall(name="recall")',
    }
    return "[" + ", ".join(names[m] for m in spec.compile.metrics) + "]"


def script_text(spec: ModelSpec, filename: str = "train.py", epochs: int = 10) -> str:
    """The Python source of a script that rebuilds and trains ``spec``; raises SpecError if invalid."""
    spec.validate()
    summary = summarize(spec)
    if summary.pending:  # the parameter count in the header needs the base measured
        from .builder import measure_base

        for application, shape in summary.pending:
            measure_base(application, shape)
        summary = summarize(spec)
    if not summary.valid:
        raise SpecError(summary.error)
    from .builder import keras_model_name

    weights = None
    for layer in spec.layers:
        if layer.kind == "Pretrained" and layer.get("weights") == "imagenet":
            weights = "imagenet"
    text = _HEADER.format(
        title=f"Build and train {spec.name} with Keras.",
        name=spec.name.replace('"', "'"),
        total=summary.total,
        filename=filename,
        input_shape=tuple(spec.input_shape),
        num_classes=int(spec.num_classes),
        loss=spec.compile.loss,
        weights=weights,
    )
    body: list[str] = []
    for layer, name in zip(spec.layers, spec.layer_names()):
        body += _layer_lines(layer, name, spec)
    text += "".join(f"    {line}\n" for line in body)
    text += _FOOTER.format(
        model_name=keras_model_name(spec.name),
        optimizer=_optimizer_code(spec),
        metrics=_metrics_code(spec),
        epochs=int(epochs),
        weights=weights,
    )
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
