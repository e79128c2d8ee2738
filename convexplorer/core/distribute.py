"""tf.distribute strategies: one device, all local devices, or several machines.

Nothing home-made: :func:`make_strategy` returns TensorFlow's own strategy
objects. ``"default"`` is ``tf.distribute.get_strategy()`` (one device);
``"mirrored"`` is a ``MirroredStrategy`` over every local GPU or, when there is
none, every logical CPU device; ``"multiworker"`` is a
``MultiWorkerMirroredStrategy`` that reads the cluster from ``TF_CONFIG``
(checked first, with readable errors). Under a strategy the batch size given
to ``fit`` is the *global* batch: :func:`scaled_batch_size` multiplies a
per-device batch by the number of replicas, and :func:`build_in_scope` builds
and compiles a model inside ``strategy.scope()``.

TensorFlow is imported inside the functions, never at module import.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Callable, Iterator, Optional, Sequence

from .errors import ConvExplorerError

#: Strategy names, in the order the settings offer them.
STRATEGIES = ("default", "mirrored", "multiworker")
#: What each strategy does, for menus and help texts.
STRATEGY_LABELS = {
    "default": "One device (no distribution)",
    "mirrored": "Mirrored: all local GPUs (or logical CPU devices)",
    "multiworker": "Multi-worker: several machines, from TF_CONFIG",
}


class DistributeError(ConvExplorerError):
    """A strategy could not be made (unknown name, bad TF_CONFIG, devices already started)."""


def _tf() -> Any:
    import tensorflow as tf

    return tf


def configure_logical_cpus(n: int) -> list[str]:
    """Split the first CPU into ``n`` logical devices (for mirrored runs without GPUs); returns their names.

    Must run before TensorFlow initialises its devices; raises DistributeError after.
    """
    if int(n) < 1:
        raise DistributeError(f"expected at least 1 logical CPU device, received {n}")
    tf = _tf()
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if not (current and len(current) == n):
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(n))
        except RuntimeError as exc:
            raise DistributeError(
                f"cannot split the CPU into {n} logical devices: TensorFlow has already started its devices "
                f"(do it before the first TensorFlow op). TensorFlow said: {str(exc).strip()}"
            ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def check_tf_config(text: Optional[str] = None) -> dict[str, Any]:
    """Parse and check a TF_CONFIG cluster description (default: the environment's); returns it.

    Expected: ``{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}``.
    Raises DistributeError saying what is wrong.
    """
    if text is None:
        text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        raise DistributeError(
            "the multi-worker strategy needs TF_CONFIG: expected a JSON cluster description such as "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}, '
            "received nothing"
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({exc.msg} at character {exc.pos}): {text[:120]!r}") from None
    if not isinstance(config, dict):
        raise DistributeError(f"TF_CONFIG must be a JSON object, received {type(config).__name__}")
    cluster = config.get("cluster")
    if not isinstance(cluster, dict) or not cluster:
        raise DistributeError('TF_CONFIG needs a "cluster" object such as {"worker": ["host1:12345", "host2:12345"]}')
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses:
            raise DistributeError(f'TF_CONFIG cluster "{job}" must be a non-empty list of "host:port", received {addresses!r}')
        for a in addresses:
            if not isinstance(a, str) or ":" not in a or not a.rsplit(":", 1)[1].isdigit():
                raise DistributeError(f'TF_CONFIG cluster "{job}": expected "host:port", received {a!r}')
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise DistributeError('TF_CONFIG needs a "task" object such as {"type": "worker", "index": 0}')
    job, index = task["type"], task["index"]
    if job not in cluster:
        raise DistributeError(f'TF_CONFIG task type "{job}" is not in the cluster (which has: {", ".join(cluster)})')
    if not isinstance(index, int) or not 0 <= index < len(cluster[job]):
        raise DistributeError(
            f'TF_CONFIG task index must be 0..{len(cluster[job]) - 1} for the {len(cluster[job])} "{job}" '
            f"address(es), received {index!r}"
        )
    return config


def tf_config(workers: Sequence[str], index: int) -> str:
    """The TF_CONFIG JSON for worker ``index`` of a cluster of ``workers`` ("host:port" each)."""
    text = json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": int(index)}})
    check_tf_config(text)
    return text


def make_strategy(name: str = "default", devices: Optional[Sequence[str]] = None) -> Any:
    """TensorFlow's strategy for ``name`` ("default", "mirrored" or "multiworker").

    ``devices`` (mirrored only) names the devices to mirror over ("GPU:0", "/cpu:1"...);
    by default every local GPU, or every logical CPU device when there is no GPU.
    """
    tf = _tf()
    key = (name or "default").strip().lower()
    if key not in STRATEGIES:
        raise DistributeError(f'unknown strategy "{name}": expected one of {", ".join(STRATEGIES)}')
    if key == "default":
        if devices:
            raise DistributeError("the default strategy runs on one device: choose it with Settings ▸ Compute instead")
        return tf.distribute.get_strategy()
    if key == "mirrored":
        if devices is None:
            gpus = tf.config.list_logical_devices("GPU")
            devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        devices = list(devices)
        if not devices:
            raise DistributeError("the mirrored strategy needs at least one device, received none")
        try:
            return tf.distribute.MirroredStrategy(devices=devices)
        except (ValueError, RuntimeError) as exc:
            raise DistributeError(f"cannot mirror over {', '.join(devices)}: {str(exc).strip().splitlines()[0]}") from None
    if devices:
        raise DistributeError("the multi-worker strategy takes its devices from TF_CONFIG, not from a device list")
    check_tf_config()
    try:
        return _multi_worker_class()()
    except (ValueError, RuntimeError) as exc:
        raise DistributeError(
            "cannot start the multi-worker strategy (it must be made before any other TensorFlow op, "
            f"once per process): {str(exc).strip().splitlines()[0]}"
        ) from None


_MWMS_CLASS: Any = None


def _multi_worker_class() -> type:
    """``tf.distribute.MultiWorkerMirroredStrategy`` whose ``reduce`` accepts what Keras 3's ``fit`` passes it.

    Keras 3 (up to 3.15 at least, keras-team/keras#20585) calls ``strategy.reduce`` on a
    whole (x, y) batch when building and with ``axis=0`` on scalar metrics; the
    collective strategy takes neither ("Attempt to convert a value (PerReplica...)",
    "Invalid reduction dimension 0"). This subclass reduces leaf by leaf and
    drops the axis for scalars; everything else is TensorFlow's own strategy.
    """
    global _MWMS_CLASS
    if _MWMS_CLASS is None:
        tf = _tf()

        class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
            """TensorFlow's MultiWorkerMirroredStrategy, with ``reduce`` over nests and scalars (for Keras 3 fit)."""

            def reduce(self, reduce_op: Any, value: Any, axis: Any) -> Any:  # noqa: D102
                parent = super()

                def one(v: Any) -> Any:
                    local = self.experimental_local_results(v)[0]
                    rank = getattr(getattr(local, "shape", None), "rank", None)
                    return parent.reduce(reduce_op, v, axis if axis is not None and rank else None)

                return tf.nest.map_structure(one, value)

        _MWMS_CLASS = MultiWorkerMirroredStrategy
    return _MWMS_CLASS


def replicas(strategy: Any) -> int:
    """How many copies of the model train in step (``num_replicas_in_sync``)."""
    return int(getattr(strategy, "num_replicas_in_sync", 1) or 1)


def scaled_batch_size(batch: int, strategy: Any) -> int:
    """The global batch for a per-device ``batch``: ``batch * num_replicas_in_sync``."""
    if int(batch) < 1:
        raise DistributeError(f"expected a batch size of at least 1, received {batch}")
    return int(batch) * replicas(strategy)


def describe_strategy(strategy: Any) -> str:
    """One line for the log and status bar: "MirroredStrategy · 2 replicas (CPU:0, CPU:1)"."""
    n = replicas(strategy)
    devices = []
    extended = getattr(strategy, "extended", None)
    for d in getattr(extended, "worker_devices", ()) or ():
        devices.append(d.split("device:")[-1])
    text = f"{type(strategy).__name__} · {n} replica{'s' if n != 1 else ''}"
    if devices:
        text += f" ({', '.join(devices)})"
    return text


@contextlib.contextmanager
def strategy_scope(strategy: Any) -> Iterator[Any]:
    """``with strategy_scope(s):`` build and compile here so variables are mirrored; yields the strategy."""
    with strategy.scope():
        yield strategy


def build_in_scope(strategy: Any, build: Callable[..., Any], *args: Any,
                   compile: Optional[Callable[[Any], Any]] = None, **kwargs: Any) -> Any:
    """``build(*args, **kwargs)`` (and ``compile(model)`` if given) inside ``strategy.scope()``; returns the model.

    ``build`` may compile the model itself (``core.builder.build_model`` does);
    raises DistributeError if the model ends up not compiled.
    """
    with strategy.scope():
        model = build(*args, **kwargs)
        if compile is not None:
            result = compile(model)
            model = result if result is not None else model
    if getattr(model, "optimizer", None) is None:
        raise DistributeError("the model was built in the strategy scope but not compiled: pass compile=...")
    return model


def build_spec_in_scope(spec: Any, strategy: Any, load_weights: bool = True,
                        progress: Optional[Callable[[int, int, str], None]] = None,
                        cancel: Optional[Any] = None) -> Any:
    """The compiled model of a ``ModelSpec``, built inside ``strategy.scope()``.

    Under mixed precision (``core.devices.set_mixed_precision(True)``) the last
    layer is kept in float32 (``core.devices.keep_output_float32``) before
    compiling, so the softmax and the loss run in float32.
    """
    from .builder import build_model, compile_model
    from .devices import keep_output_float32, mixed_precision_enabled

    with strategy.scope():
        model = build_model(spec, compile=False, load_weights=load_weights, progress=progress, cancel=cancel,
                            initial_weights=getattr(spec, "initial_weights", None))  # an opened model's
        if mixed_precision_enabled():
            model = keep_output_float32(model)
        compile_model(model, spec.compile, spec.heads or None)
    return model


def rebuild_in_scope(model: Any, strategy: Any) -> Any:
    """A copy of an existing model (opened, pretrained) made inside ``strategy.scope()``: same weights, same compile.

    A Keras model trains under the strategy it was created in, so a model made
    elsewhere is cloned in the scope, given the same weights and compiled with
    the same optimizer, loss and metrics (when it was compiled).
    """
    import keras

    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
    try:
        with strategy.scope():
            new = keras.models.clone_model(model)
            new.set_weights(model.get_weights())
            if compile_config:
                new.compile_from_config(compile_config)
    except (ValueError, TypeError) as exc:
        raise DistributeError(
            f"cannot copy {getattr(model, 'name', 'the model')!r} into the {type(strategy).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
        ) from None
    return new


# --------------------------------------------------------------------------- results from elsewhere
def read_keras_history(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """Per-epoch columns from a ``history.history`` JSON file or a ``keras.callbacks.CSVLogger`` CSV."""
    import csv
    from pathlib import Path

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DistributeError(f"cannot read the history file {p}: {exc.strerror or exc}") from None
    columns: dict[str, list[float]] = {}
    if p.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        if not rows:
            raise DistributeError(f"{p.name}: expected a CSVLogger file with a header and one row per epoch, found no rows")
        for row in rows:
            for key, value in row.items():
                if key is None or key == "epoch":
                    continue
                columns.setdefault(key, []).append(_number(value, p.name, key))
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DistributeError(f"{p.name}: expected JSON like {{\"loss\": [0.9, 0.5]}}, ({exc.msg})") from None
        if isinstance(data, dict) and isinstance(data.get("history"), dict):
            data = data["history"]
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise DistributeError(f'{p.name}: expected a JSON object of metric lists like {{"loss": [0.9, 0.5]}}')
        for key, values in data.items():
            columns[str(key)] = [_number(v, p.name, key) for v in values]
    lengths = {len(v) for v in columns.values()}
    if not columns or len(lengths) != 1:
        raise DistributeError(f"{p.name}: expected metric columns of equal length, received lengths {sorted(lengths)}")
    return columns


def _number(value: Any, where: str, key: str) -> float:
    try:
        return float(value) if value not in (None, "") else float("nan")
    except (TypeError, ValueError):
        raise DistributeError(f"{where}: {key} should be a number, received {value!r}") from None


def import_run(model_path: str | os.PathLike[str] | None, history_path: str | os.PathLike[str] | None,
               label: str = "", root: str | os.PathLike[str] | None = None) -> Any:
    """Copy a model and history trained elsewhere (the exported script) into a new run folder; returns its RunInfo.

    The run then appears in the app's runs list like one trained in the app.
    """
    import shutil
    from pathlib import Path

    from . import runs
    from .training import History

    if model_path is None and history_path is None:
        raise DistributeError("nothing to import: expected a .keras model, a history file, or both")
    if model_path is not None:
        mp = Path(model_path)
        if not mp.is_file() or mp.suffix.lower() != ".keras":
            raise DistributeError(f"expected a .keras model file, received {mp}")
    columns = read_keras_history(history_path) if history_path is not None else {}
    history = History()
    n = len(next(iter(columns.values()))) if columns else 0
    for i in range(n):
        history.add_epoch({"epoch": float(i), **{k: v[i] for k, v in columns.items()}})
    folder = runs.new_run_dir(label or "imported", root)
    if model_path is not None:
        tmp = folder / (runs.MODEL_FILE + ".part")
        shutil.copyfile(mp, tmp)
        os.replace(tmp, folder / runs.MODEL_FILE)
    return runs.save_run(folder, history, {"source": "imported"}, label=label or "imported",
                         extra={"imported_from": str(model_path or history_path)})


def _main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m convexplorer.core.distribute import-run --model M --history H``: add a run trained elsewhere."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m convexplorer.core.distribute",
                                     description="Bring a model and history trained elsewhere into ConvExplorer's runs.")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-run", help="copy a .keras model and its history into the runs folder")
    imp.add_argument("--model", help="the trained .keras file")
    imp.add_argument("--history", help="history.json (history.history) or a CSVLogger .csv")
    imp.add_argument("--label", default="", help="name shown in the runs list")
    imp.add_argument("--root", help="runs folder (default: ConvExplorer's)")
    args = parser.parse_args(argv)
    try:
        info = import_run(args.model, args.history, args.label, args.root)
    except ConvExplorerError as exc:
        print(f"error: {exc}")
        return 2
    print(f"imported into {info.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
