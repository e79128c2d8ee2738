"""Training with live events, stop, pause, continue and an honest history.

A :class:`TrainingSession` wraps ``model.fit`` on a compiled Keras model. It
reports what happens through a plain callable ``on_event(event)`` that
receives small frozen dataclasses (:class:`BatchEvent`, :class:`EpochEvent`,
:class:`ErrorEvent`, :class:`DoneEvent`) holding copied Python floats, never
tensors, so that any thread may keep them. It is called on the training
thread: a GUI must hand the events over to its own thread and draw from the
latest values on a timer.

Control follows the known pitfalls of Keras (DESIGN.md): ``stop()`` sets a
``threading.Event`` that the callback turns into ``model.stop_training`` at
the end of the current batch (Keras resets the flag when ``fit`` starts);
``pause()`` blocks inside that callback until ``resume()`` or ``stop()``.
``run(epochs)`` may be called again to continue for more epochs. The history
is kept whatever happens: stop, early stopping, a NaN loss or an exception.

TensorFlow and Keras are imported inside the functions that need them.
"""

from __future__ import annotations

import math
import os
import threading
import time
import traceback
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .errors import ConvExplorerError
from .progress import ProgressFn, report
from .memory import custom_gradients_released


class TrainingError(ConvExplorerError):
    """Training could not start or could not go on (bad settings or data)."""


# --------------------------------------------------------------------------- settings
CHECKPOINT_MODES = ("none", "best", "every_epoch")


@dataclass
class TrainingSettings:
    """What the user chose for a run: epochs, batch size, validation and callbacks."""

    epochs: int = 5
    batch_size: int = 32
    #: Fraction of the training arrays held out for validation (arrays only).
    validation_split: float = 0.0
    shuffle: bool = True
    early_stopping: bool = False
    early_stopping_patience: int = 3
    restore_best_weights: bool = True
    reduce_lr: bool = False
    reduce_lr_patience: int = 2
    reduce_lr_factor: float = 0.5
    min_lr: float = 1e-6
    #: "none", "best" (keep the best epoch's model) or "every_epoch".
    checkpoint: str = "none"

    def validate(self) -> None:
        """Raise :class:`TrainingError` naming the first setting out of range."""
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise TrainingError(f"epochs must be a whole number of at least 1, received {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise TrainingError(f"batch size must be a whole number of at least 1, received {self.batch_size!r}")
        if not 0.0 <= float(self.validation_split) < 1.0:
            raise TrainingError(
                f"validation split must be between 0 and 1 (e.g. 0.2), received {self.validation_split!r}"
            )
        if self.early_stopping_patience < 0 or self.reduce_lr_patience < 0:
            raise TrainingError("patience must be 0 or more epochs")
        if not 0.0 < float(self.reduce_lr_factor) < 1.0:
            raise TrainingError(
                f"learning-rate reduction factor must be between 0 and 1 (e.g. 0.5), received {self.reduce_lr_factor!r}"
            )
        if self.checkpoint not in CHECKPOINT_MODES:
            raise TrainingError(
                f"checkpoint must be one of {', '.join(CHECKPOINT_MODES)}, received {self.checkpoint!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainingSettings":
        """Build from a dict, ignoring unknown keys (files from newer versions)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# --------------------------------------------------------------------------- history
@dataclass
class History:
    """Every recorded value: per batch and per epoch, as columns of floats.

    ``batch`` has the columns ``step`` (1-based, counted over every run of the
    session), ``epoch`` (0-based), ``learning_rate`` and one per training
    metric (``loss``, ``accuracy``...). ``epoch`` has ``epoch``, the training
    metrics, the validation metrics (``val_loss``...), ``learning_rate``,
    ``time_s`` (seconds the epoch took) and ``batches``.
    """

    batch: dict[str, list[float]] = field(default_factory=dict)
    epoch: dict[str, list[float]] = field(default_factory=dict)

    @staticmethod
    def _append(table: dict[str, list[float]], row: dict[str, float]) -> None:
        n = len(next(iter(table.values()))) if table else 0
        for key in row:
            if key not in table:
                table[key] = [math.nan] * n
        for key, column in table.items():
            column.append(float(row.get(key, math.nan)))

    def add_batch(self, row: dict[str, float]) -> None:
        """Append one batch row (missing columns are filled with NaN)."""
        self._append(self.batch, row)

    def add_epoch(self, row: dict[str, float]) -> None:
        """Append one epoch row (missing columns are filled with NaN)."""
        self._append(self.epoch, row)

    @property
    def num_batches(self) -> int:
        """Number of batch rows."""
        return len(self.batch.get("step", []))

    @property
    def num_epochs(self) -> int:
        """Number of epoch rows."""
        return len(self.epoch.get("epoch", []))

    def metric_names(self) -> list[str]:
        """Training metric names (without ``val_``), in recorded order."""
        skip = {"step", "epoch", "learning_rate", "time_s", "batches"}
        names = [k for k in self.epoch if k not in skip and not k.startswith("val_")]
        for k in self.batch:
            if k not in skip and k not in names:
                names.append(k)
        return names

    def head_names(self) -> list[str]:
        """The heads of a model with several outputs, from Keras's per-head keys (``<head>_loss``); [] for one output."""
        keys = list(self.epoch) + [k for k in self.batch if k not in self.epoch]
        return head_names_of(keys)

    def copy(self) -> "History":
        """A deep copy (columns are new lists)."""
        return History({k: list(v) for k, v in self.batch.items()}, {k: list(v) for k, v in self.epoch.items()})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; NaN/inf become None (JSON has no NaN)."""

        def clean(table: dict[str, list[float]]) -> dict[str, list[float | None]]:
            return {k: [v if math.isfinite(v) else None for v in col] for k, col in table.items()}

        return {"batch": clean(self.batch), "epoch": clean(self.epoch)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        """Inverse of :meth:`to_dict` (None becomes NaN)."""

        def load(table: dict[str, list[Any]] | None) -> dict[str, list[float]]:
            out = {}
            for k, col in (table or {}).items():
                out[str(k)] = [math.nan if v is None else float(v) for v in col]
            return out

        return cls(load(data.get("batch")), load(data.get("epoch")))


def head_names_of(keys: Sequence[str]) -> list[str]:
    """Head names in metric keys: Keras logs ``<head>_loss`` for each output of a model with several."""
    out: list[str] = []
    for k in keys:
        if k.startswith("val_") or not k.endswith("_loss") or k == "loss":
            continue
        name = k[: -len("_loss")]
        if name and name not in out:
            out.append(name)
    return out


def split_head_key(key: str, heads: Sequence[str]) -> tuple[Optional[str], str]:
    """``"box_mae"`` with heads ``["classes", "box"]`` -> ``("box", "mae")``; ``"loss"`` -> ``(None, "loss")``.

    A ``val_`` prefix stays on the metric (``"val_box_loss"`` -> ``("box", "val_loss")``); the
    longest head name that fits wins (heads may contain underscores).
    """
    val = key.startswith("val_")
    base = key[4:] if val else key
    for h in sorted(heads, key=len, reverse=True):
        if base.startswith(h + "_") and len(base) > len(h) + 1:
            metric = base[len(h) + 1 :]
            return h, ("val_" + metric if val else metric)
    return None, key


def batch_positions(history: History) -> np.ndarray:
    """Where each batch row sits on an epoch axis: epoch ``e``, batch ``b`` of ``n`` -> ``e + b / n``.

    ``n`` is the epoch's batch count from the epoch rows (or, for an epoch not
    finished yet, the largest count seen so far); epoch rows sit at ``e + 1``.
    """
    epochs = np.asarray(history.batch.get("epoch", []), dtype=np.float64)
    if epochs.size == 0:
        return np.zeros(0, np.float64)
    per_epoch = dict(zip(history.epoch.get("epoch", []), history.epoch.get("batches", [])))
    out = np.empty_like(epochs)
    start = 0
    while start < epochs.size:
        e = epochs[start]
        stop = start
        while stop < epochs.size and epochs[stop] == e:
            stop += 1
        count = stop - start
        n = per_epoch.get(e) or max([count, *[v for v in per_epoch.values() if v == v]])
        out[start:stop] = e + np.arange(1, count + 1) / max(n, count)
        start = stop
    return out


# --------------------------------------------------------------------------- events
@dataclass(frozen=True)
class BatchEvent:
    """One training batch ended."""

    step: int
    epoch: int
    batch: int
    steps_per_epoch: Optional[int]
    epochs: int
    logs: dict[str, float]
    learning_rate: float
    samples_per_s: float
    eta_s: Optional[float]
    elapsed_s: float


@dataclass(frozen=True)
class EpochEvent:
    """One epoch ended (with validation metrics when there is validation data)."""

    epoch: int
    epochs: int
    logs: dict[str, float]
    learning_rate: float
    elapsed_s: float
    samples_per_s: float


@dataclass(frozen=True)
class ErrorEvent:
    """Training failed; the history up to the failure is kept."""

    message: str
    details: str


#: Why a run ended.
REASONS = ("completed", "stopped", "early_stopping", "non_finite", "error")


@dataclass(frozen=True)
class TrainingResult:
    """How a call of :meth:`TrainingSession.run` ended."""

    reason: str
    message: str
    epochs_done: int
    steps_done: int
    elapsed_s: float
    history: History
    best_checkpoint: Optional[str] = None
    error_details: str = ""

    @property
    def ok(self) -> bool:
        """True unless the run ended with an error or a non-finite loss."""
        return self.reason in ("completed", "stopped", "early_stopping")


@dataclass(frozen=True)
class DoneEvent:
    """Always the last event of a run."""

    result: TrainingResult


Event = BatchEvent | EpochEvent | ErrorEvent | DoneEvent
EventFn = Callable[[Event], None]


# --------------------------------------------------------------------------- helpers
def describe_training_error(exc: BaseException) -> str:
    """A short message a user can act on for an exception raised inside ``fit``."""
    if isinstance(exc, ConvExplorerError):
        return str(exc)
    name = type(exc).__name__
    if isinstance(exc, MemoryError) or name == "ResourceExhaustedError":
        return "out of memory while training: try a smaller batch size, smaller images or a smaller model"
    text = getattr(exc, "message", None) or str(exc)
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    skip = ("graph execution error", "detected at node", "file \"", "[[", "traceback", "stack trace")
    useful = [ln for ln in lines if not ln.lower().startswith(skip) and not ln.startswith("  ")]
    chosen = ""
    for ln in useful:  # TF puts the real cause after the node trace
        if "received" in ln.lower() or "expected" in ln.lower() or "incompatible" in ln.lower():
            chosen = ln
            break
    if not chosen and useful:
        chosen = useful[-1] if name.endswith("Error") and "Graph execution" in str(text) else useful[0]
    chosen = chosen.split("[[")[0].strip().rstrip(".")
    if len(chosen) > 300:
        chosen = chosen[:297] + "..."
    return f"training failed ({name}): {chosen}" if chosen else f"training failed ({name})"


def _float(value: Any) -> float:
    try:
        return float(np.asarray(value).reshape(-1)[0]) if np.ndim(value) else float(value)
    except (TypeError, ValueError):
        return math.nan


def read_learning_rate(model: Any) -> float:
    """The optimizer's current learning rate as a float (NaN if it has none)."""
    opt = getattr(model, "optimizer", None)
    if opt is None:
        return math.nan
    try:
        lr = opt.learning_rate
        if hasattr(lr, "numpy"):
            return float(lr.numpy())
        import keras

        return float(keras.ops.convert_to_numpy(lr))
    except Exception:  # noqa: BLE001 - a schedule we cannot read is not fatal
        return math.nan


def tiny_convnet(
    input_shape: Sequence[int], num_classes: int, learning_rate: float = 3e-3, seed: int = 0, width: int = 16
) -> Any:
    """A small compiled convnet (three conv blocks, global max pooling): for tests, demos and screenshots."""
    import keras

    keras.utils.set_random_seed(seed)
    w = int(width)
    model = keras.Sequential(
        [
            keras.Input(tuple(int(s) for s in input_shape)),
            keras.layers.Conv2D(w, 3, activation="relu", padding="same", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(2 * w, 3, activation="relu", padding="same", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.Conv2D(2 * w, 3, activation="relu", padding="same", name="conv3"),
            keras.layers.GlobalMaxPooling2D(name="global_max"),
            keras.layers.Dense(int(num_classes), activation="softmax", name="classes"),
        ],
        name="tiny_convnet",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def mnist_convnet(input_shape: Sequence[int] = (28, 28, 1), num_classes: int = 10) -> Any:
    """The keras.io MNIST convnet (two conv/pool blocks, dropout, dense), compiled with Adam."""
    import keras

    model = keras.Sequential(
        [
            keras.Input(tuple(int(s) for s in input_shape)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(int(num_classes), activation="softmax"),
        ],
        name="mnist_convnet",
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _is_tf_dataset(obj: Any) -> bool:
    return type(obj).__module__.startswith("tensorflow") and hasattr(obj, "element_spec")


def _as_arrays(data: Any, what: str) -> tuple[np.ndarray, Any]:
    """(images, labels) as arrays; the labels may be a dict of arrays, one per head of the model."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TrainingError(
            f"{what} must be a tf.data.Dataset of (images, labels) batches or a pair (images, labels), "
            f"received {type(data).__name__}"
        )
    x = np.asarray(data[0])
    if x.ndim < 2:
        raise TrainingError(f"{what} images must be an array of images, received shape {x.shape}")
    if isinstance(data[1], dict):
        y: Any = {str(k): np.asarray(v) for k, v in data[1].items()}
        for k, v in y.items():
            if len(v) != len(x):
                raise TrainingError(
                    f"{what}: expected as many targets as images for the head \"{k}\", received {len(x)} images "
                    f"and {len(v)} targets"
                )
    else:
        y = np.asarray(data[1])
        if len(x) != len(y):
            raise TrainingError(f"{what}: expected as many labels as images, received {len(x)} images and {len(y)} labels")
    if len(x) == 0:
        raise TrainingError(f"{what} is empty: there are no images to train on")
    return x, y


def _rows(y: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of labels, or of each head's targets."""
    if isinstance(y, dict):
        return {k: v[start:stop] for k, v in y.items()}
    return y[start:stop]


# --------------------------------------------------------------------------- session
class TrainingSession:
    """Fit a compiled Keras model with events, stop, pause/resume and continue.

    ``train`` is a batched ``tf.data.Dataset`` of ``(images, labels)`` or a
    pair of numpy arrays; ``validation`` is ``None``, another of those, or
    (for arrays) ``settings.validation_split``. A model with several heads (outputs
    keyed by head name) trains on ``(images, {head: targets})`` (see
    ``core.targets.head_dataset``); its history then holds Keras's per-head keys
    (``classes_loss``, ``box_mae``...) beside the total ``loss``. ``num_samples`` (the number
    of training images, when ``train`` is a data set) makes samples/s exact
    for the last, smaller batch. Checkpoints go to ``checkpoint_dir``. ``metric_callbacks`` (e.g.
    ``core.taskmetrics.task_metrics_callback``) write more values into each epoch's logs before they are recorded.
    """

    def __init__(
        self,
        model: Any,
        train: Any,
        validation: Any = None,
        settings: TrainingSettings | None = None,
        on_event: EventFn | None = None,
        checkpoint_dir: str | Path | None = None,
        num_samples: int | None = None,
        callbacks: Sequence[Any] = (),
        metric_callbacks: Sequence[Any] = (),
    ) -> None:
        self.settings = settings or TrainingSettings()
        self.settings.validate()
        if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
            raise TrainingError("the model must be compiled (optimizer, loss, metrics) before training")
        if self.settings.checkpoint != "none" and checkpoint_dir is None:
            raise TrainingError("a checkpoint folder is needed to keep checkpoints")
        self.model = model
        self.on_event = on_event
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        #: More Keras callbacks (e.g. the learning-timeline recorder), run after our monitor.
        self.extra_callbacks = list(callbacks)
        #: Keras callbacks that add values to each epoch's logs (``core.taskmetrics``: IoU, mean IoU, AP), run
        #: before our monitor so that the history, the events and early stopping see them.
        self.metric_callbacks = list(metric_callbacks)
        self.history = History()
        self.epochs_done = 0
        self.steps_done = 0
        self.best_checkpoint: Optional[str] = None
        #: True while a paused run is blocked waiting for resume or stop.
        self.waiting = False
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self._running = threading.Lock()
        self._prepare_data(train, validation, num_samples)

    # --- data ------------------------------------------------------------------
    def _prepare_data(self, train: Any, validation: Any, num_samples: int | None) -> None:
        s = self.settings
        self._fit_kwargs: dict[str, Any] = {}
        if _is_tf_dataset(train):
            if s.validation_split:
                raise TrainingError(
                    "a validation split works on image arrays only; for a data set pass a validation data set"
                )
            self._fit_kwargs.update(x=train, shuffle=False)  # a data set shuffles itself
            card = int(train.cardinality().numpy())
            self.steps_per_epoch: Optional[int] = card if card > 0 else None
            if self.steps_per_epoch is None and num_samples:
                # e.g. after ignore_errors(): trust the caller's count of images
                self.steps_per_epoch = math.ceil(num_samples / s.batch_size)
            self.num_samples = num_samples
        else:
            x, y = _as_arrays(train, "training data")
            n_train = len(x)
            if s.validation_split:
                n_val = int(round(n_train * s.validation_split))
                if n_val < 1 or n_val >= n_train:
                    raise TrainingError(
                        f"validation split {s.validation_split} of {n_train} images leaves "
                        f"{n_val} for validation and {n_train - n_val} for training: both need at least one"
                    )
                if validation is None:
                    # Keras's validation_split takes the *last* samples without shuffling;
                    # we split explicitly so that the counts (and samples/s) are known.
                    validation = (x[n_train - n_val :], _rows(y, n_train - n_val, n_train))
                x, y = x[: n_train - n_val], _rows(y, 0, n_train - n_val)
            self._fit_kwargs.update(x=x, y=y, batch_size=s.batch_size, shuffle=s.shuffle)
            self.num_samples = len(x)
            self.steps_per_epoch = math.ceil(len(x) / s.batch_size)
        if validation is None:
            self._validation = None
        elif _is_tf_dataset(validation):
            self._validation = validation
        else:
            self._validation = _as_arrays(validation, "validation data")
        if self._validation is not None:
            self._fit_kwargs["validation_data"] = self._validation
        self.has_validation = self._validation is not None

    # --- control ---------------------------------------------------------------
    def stop(self) -> None:
        """Stop at the end of the current batch (also wakes a paused run)."""
        self._stop.set()
        self._unpaused.set()

    def pause(self) -> None:
        """Block training at the end of the current batch until :meth:`resume` or :meth:`stop`."""
        self._unpaused.clear()

    def resume(self) -> None:
        """Let a paused run go on."""
        self._unpaused.set()

    @property
    def paused(self) -> bool:
        """True while a pause is requested."""
        return not self._unpaused.is_set()

    @property
    def stop_requested(self) -> bool:
        """True once :meth:`stop` was called (reset when a new run starts)."""
        return self._stop.is_set()

    # --- running ---------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _monitor(self) -> str:
        return "val_loss" if self.has_validation else "loss"

    def _keras_callbacks(self) -> list[Any]:
        import keras

        s = self.settings
        cbs: list[Any] = []
        if s.early_stopping:
            cbs.append(
                keras.callbacks.EarlyStopping(
                    monitor=self._monitor(),
                    patience=s.early_stopping_patience,
                    restore_best_weights=s.restore_best_weights,
                    verbose=0,
                )
            )
        if s.reduce_lr:
            cbs.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor=self._monitor(),
                    factor=s.reduce_lr_factor,
                    patience=s.reduce_lr_patience,
                    min_lr=s.min_lr,
                    verbose=0,
                )
            )
        if s.checkpoint != "none" and self.checkpoint_dir is not None:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            if s.checkpoint == "best":
                path = self.checkpoint_dir / "best.keras"
                # when continuing, the best so far must be beaten, not just the continuation's first epoch
                seen = [v for v in self.history.epoch.get(self._monitor(), []) if math.isfinite(v)]
                cbs.append(
                    atomic_model_checkpoint(
                        path,
                        monitor=self._monitor(),
                        save_best_only=True,
                        initial_value_threshold=min(seen) if seen and path.exists() else None,
                        verbose=0,
                    )
                )
            else:
                path = self.checkpoint_dir / "epoch_{epoch:03d}.keras"
                cbs.append(atomic_model_checkpoint(path, save_best_only=False, verbose=0))
        return cbs

    def run(
        self,
        epochs: int | None = None,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> TrainingResult:
        """Train for ``epochs`` more epochs (default: the settings'); always returns a result.

        Errors inside ``fit`` do not raise: they end the run with reason
        ``"error"`` (and an :class:`ErrorEvent`), keeping the history. Setting
        ``cancel`` acts as :meth:`stop`.
        """
        n = self.settings.epochs if epochs is None else int(epochs)
        if n < 1:
            raise TrainingError(f"epochs must be at least 1, received {n}")
        if not self._running.acquire(blocking=False):
            raise TrainingError("this session is already training")
        try:
            return self._run(n, progress, cancel)
        finally:
            self._running.release()

    def _run(self, n_epochs: int, progress: ProgressFn | None, cancel: threading.Event | None) -> TrainingResult:
        import keras

        self._stop.clear()
        first = self.epochs_done
        target = first + n_epochs
        keras_cbs = self._keras_callbacks()
        monitor = _Monitor(self, first, target, progress, cancel)
        start = time.perf_counter()
        reason, message, details = "completed", "", ""
        try:
            with custom_gradients_released():
                self.model.fit(
                    epochs=target,
                    initial_epoch=first,
                    callbacks=[*self.metric_callbacks, monitor, *keras_cbs, *self.extra_callbacks],
                    verbose=0,
                    **self._fit_kwargs,
                )
        except Exception as exc:  # noqa: BLE001 - the history must survive any failure
            reason = "error"
            message = describe_training_error(exc)
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self._emit(ErrorEvent(message, details))
        elapsed = time.perf_counter() - start - monitor.paused_s
        if reason != "error":
            early = next((c for c in keras_cbs if isinstance(c, keras.callbacks.EarlyStopping)), None)
            if monitor.non_finite:
                reason, message = "non_finite", monitor.non_finite
            elif monitor.stopped:
                reason = "stopped"
                message = f"stopped by you after {self.epochs_done} epoch(s), {self.steps_done} batches"
            elif early is not None and early.stopped_epoch > 0:
                reason = "early_stopping"
                message = (
                    f"early stopping: {self._monitor()} did not improve for "
                    f"{self.settings.early_stopping_patience} epoch(s); stopped after epoch {self.epochs_done}"
                )
                if self.settings.restore_best_weights:
                    message += " and restored the best weights"
            else:
                message = f"finished {n_epochs} epoch(s)"
        if self.settings.checkpoint == "best" and self.checkpoint_dir is not None:
            best = self.checkpoint_dir / "best.keras"
            self.best_checkpoint = str(best) if best.exists() else None
        result = TrainingResult(
            reason=reason,
            message=message,
            epochs_done=self.epochs_done,
            steps_done=self.steps_done,
            elapsed_s=elapsed,
            history=self.history.copy(),
            best_checkpoint=self.best_checkpoint,
            error_details=details,
        )
        self._emit(DoneEvent(result))
        return result


#: Checkpoints are written under this prefix and renamed when complete.
PARTIAL_PREFIX = ".partial-"
_CheckpointClass: Any = None


def atomic_model_checkpoint(path: Path, **kwargs: Any) -> Any:
    """Keras's own ``ModelCheckpoint`` for ``path``, but atomic: each file is written under a
    temporary name and renamed only when complete.

    A save that fails (full disk, read-only folder) removes the partial file, leaves the
    previous checkpoint as it was and ends the training with a :class:`TrainingError`
    saying so (the model and its history stay in memory).
    """
    global _CheckpointClass
    if _CheckpointClass is None:
        import keras

        class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
            def __init__(self, final: Path, **kw: Any) -> None:
                super().__init__(str(final.parent / (PARTIAL_PREFIX + final.name)), **kw)
                self.folder = final.parent

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                if self.save_best_only and self.monitor not in (logs or {}):
                    # a validation cut short by Stop: nothing to judge this epoch by (Keras would
                    # warn and save it as the best anyway)
                    return
                try:
                    super().on_epoch_end(epoch, logs)
                    for part in self.folder.glob(PARTIAL_PREFIX + "*.keras"):
                        os.replace(part, self.folder / part.name[len(PARTIAL_PREFIX):])
                except Exception as exc:
                    for part in self.folder.glob(PARTIAL_PREFIX + "*.keras"):
                        part.unlink(missing_ok=True)
                    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().split("\n")[0]
                    raise TrainingError(
                        f"could not save the checkpoint of epoch {epoch + 1} in {self.folder}: {why}; "
                        "training stopped, the previous checkpoint is unchanged and the model is still here"
                    ) from exc

        _CheckpointClass = AtomicModelCheckpoint
    return _CheckpointClass(Path(path), **kwargs)


_MonitorClass: Any = None


def _Monitor(  # noqa: N802 - acts as a class
    session: TrainingSession, first: int, target: int, progress: ProgressFn | None, cancel: threading.Event | None
) -> Any:
    """The per-batch callback: a keras Callback subclass made on first use (keras imported lazily)."""
    global _MonitorClass
    if _MonitorClass is None:
        import keras

        _MonitorClass = _make_monitor_class(keras.callbacks.Callback)
    return _MonitorClass(session, first, target, progress, cancel)


def _make_monitor_class(base: type) -> type:
    class Monitor(base):  # type: ignore[misc, valid-type]
        """Records history, emits events, honours stop/pause/cancel, catches non-finite loss."""

        def __init__(self, session, first, target, progress, cancel) -> None:
            super().__init__()
            self.session = session
            self.first = first
            self.target = target
            self.progress = progress
            self.cancel = cancel
            self.stopped = False
            self.non_finite = ""
            self.paused_s = 0.0
            self.t0 = time.perf_counter()
            self.window: deque[tuple[float, int]] = deque(maxlen=30)
            self.samples = 0
            self.epoch = first
            self.epoch_t0 = self.t0
            self.epoch_samples = 0
            self.val_time_s = 0.0
            self.batch_in_epoch = 0
            self.val_cut = False
            s = session
            self.bs = s.settings.batch_size
            self.spe = s.steps_per_epoch

        def _active_time(self) -> float:
            return time.perf_counter() - self.t0 - self.paused_s

        def _batch_samples(self, batch: int) -> int:
            n = self.session.num_samples
            if n is None:
                return self.bs
            return max(0, min(self.bs, n - (batch - 1) * self.bs))

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.epoch_t0 = time.perf_counter()
            self.epoch_paused0 = self.paused_s
            self.epoch_samples = 0
            self.batch_in_epoch = 0

        def on_train_batch_end(self, batch, logs=None):
            s = self.session
            self.batch_in_epoch += 1
            s.steps_done += 1
            nb = self._batch_samples(self.batch_in_epoch)
            self.samples += nb
            self.epoch_samples += nb
            clean = {k: _float(v) for k, v in (logs or {}).items()}
            lr = read_learning_rate(self.model)
            s.history.add_batch({"step": s.steps_done, "epoch": self.epoch, **clean, "learning_rate": lr})
            now = self._active_time()
            self.window.append((now, self.samples))
            t_old, n_old = self.window[0]
            if now > t_old and self.samples > n_old:
                rate = (self.samples - n_old) / (now - t_old)
            else:
                rate = self.samples / now if now > 0 else 0.0
            eta = None
            if self.spe and rate > 0:
                left_batches = (self.target - self.epoch) * self.spe - self.batch_in_epoch
                eta = left_batches * self.bs / rate + self.val_time_s * (self.target - self.epoch)
            if self.spe:
                total = (self.target - self.first) * self.spe
                report(self.progress, min(total, (self.epoch - self.first) * self.spe + self.batch_in_epoch), total,
                       f"epoch {self.epoch + 1}/{self.target}")
            s._emit(
                BatchEvent(
                    step=s.steps_done,
                    epoch=self.epoch,
                    batch=self.batch_in_epoch,
                    steps_per_epoch=self.spe,
                    epochs=self.target,
                    logs=clean,
                    learning_rate=lr,
                    samples_per_s=rate,
                    eta_s=eta,
                    elapsed_s=now,
                )
            )
            loss = clean.get("loss")
            if loss is not None and not math.isfinite(loss):
                self.non_finite = (
                    f"training stopped: the loss became {'NaN' if math.isnan(loss) else 'infinite'} "
                    f"at epoch {self.epoch + 1}, batch {self.batch_in_epoch}. The history up to then is kept; "
                    "try a lower learning rate, normalised inputs or a smaller model"
                )
                self.model.stop_training = True
                return
            self._check_stop()
            if not s._unpaused.is_set():
                t = time.perf_counter()
                s.waiting = True
                try:
                    while not s._unpaused.wait(0.05):
                        if self.cancel is not None and self.cancel.is_set():
                            break
                finally:
                    s.waiting = False
                self.paused_s += time.perf_counter() - t
                self._check_stop()

        def _check_stop(self) -> None:
            s = self.session
            if s._stop.is_set() or (self.cancel is not None and self.cancel.is_set()):
                self.stopped = True
                self.model.stop_training = True

        def on_test_batch_end(self, batch, logs=None):
            self._check_stop()
            if self.stopped:  # do not make the user wait for a full validation pass
                self.val_cut = True
                self.model.stop_evaluating = True

        def on_test_begin(self, logs=None):
            self.val_t0 = time.perf_counter()

        def on_test_end(self, logs=None):
            self.val_time_s = time.perf_counter() - getattr(self, "val_t0", time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            s = self.session
            if self.spe is None and not self.stopped:
                self.spe = self.batch_in_epoch  # learned from the first full epoch
            clean = {k: _float(v) for k, v in (logs or {}).items()}
            if self.val_cut:
                # validation of a cut-short pass is partial: do not pass it off as a result, here nor
                # to the callbacks after this one (Keras hands them this same dict: "best" checkpoints,
                # early stopping, learning-rate reduction, the timeline)
                clean = {k: v for k, v in clean.items() if not k.startswith("val_")}
                for key in [k for k in (logs or {}) if k.startswith("val_")]:
                    del logs[key]
            lr = read_learning_rate(self.model)
            t = time.perf_counter() - self.epoch_t0 - (self.paused_s - self.epoch_paused0)
            s.history.add_epoch(
                {"epoch": epoch, **clean, "learning_rate": lr, "time_s": t, "batches": self.batch_in_epoch}
            )
            s.epochs_done = epoch + 1
            rate = self.epoch_samples / t if t > 0 else 0.0
            s._emit(EpochEvent(epoch=epoch, epochs=self.target, logs=clean, learning_rate=lr, elapsed_s=self._active_time(), samples_per_s=rate))

    return Monitor
