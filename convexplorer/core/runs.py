"""Every training run kept on disk: history, design, settings, model, best checkpoint.

A run is a folder in :func:`convexplorer.core.workspace.runs_dir` (or another
``root``)::

    20261123-171502-shapes-tiny/
        run.json        # label, dates, why it ended, settings, last metrics, evaluation summary
        history.json    # per-batch and per-epoch columns (training.History)
        spec.json       # the model design, when there is one
        model.keras     # the trained model
        best.keras      # the best epoch's checkpoint, when asked for

JSON files are written atomically; the model through a temporary file and
``os.replace``. Runs can be listed, reopened, deleted, and exported as CSV or
as TensorBoard logs (``tf.summary``, imported lazily).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import ConvExplorerError, ModelFileError
from .training import History, TrainingResult, TrainingSettings
from .workspace import atomic_write_json, atomic_write_text, read_json, runs_dir

#: Version of the run.json files we write.
RUN_FORMAT_VERSION = 1

RUN_FILE = "run.json"
HISTORY_FILE = "history.json"
SPEC_FILE = "spec.json"
MODEL_FILE = "model.keras"
BEST_FILE = "best.keras"


class RunError(ConvExplorerError):
    """A run folder is missing, damaged or cannot be written."""


@dataclass
class RunInfo:
    """What ``run.json`` says about a run, and where it is."""

    id: str
    path: Path
    label: str = ""
    created: float = 0.0
    reason: str = ""
    message: str = ""
    epochs_done: int = 0
    steps_done: int = 0
    elapsed_s: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    #: Last epoch's metrics (loss, accuracy, val_loss...).
    final: dict[str, float] = field(default_factory=dict)
    evaluation: Optional[dict[str, Any]] = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_model(self) -> bool:
        """True if the trained model was saved."""
        return (self.path / MODEL_FILE).exists()

    @property
    def has_best(self) -> bool:
        """True if a best-epoch checkpoint exists."""
        return (self.path / BEST_FILE).exists()

    @property
    def title(self) -> str:
        """A one-line description for lists: date, label, epochs, last metrics."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created)) if self.created else "?"
        bits = [when, self.label or self.id, f"{self.epochs_done} ep"]
        for key in ("val_accuracy", "accuracy", "val_loss", "loss"):
            v = self.final.get(key)
            if v is not None and math.isfinite(v):
                bits.append(f"{key} {v:.3f}")
                break
        if self.reason and self.reason != "completed":
            bits.append(self.reason.replace("_", " "))
        return " · ".join(bits)


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return s[:40]


def new_run_dir(label: str = "", root: str | os.PathLike[str] | None = None) -> Path:
    """Create and return an empty, uniquely named run folder (checkpoints go there while training)."""
    base = Path(root) if root is not None else runs_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = stamp + (f"-{_slug(label)}" if _slug(label) else "")
    for i in range(1000):
        path = base / (name if i == 0 else f"{name}-{i + 1}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunError(f"cannot create a run folder in {base}: {exc.strerror or exc}") from None
    raise RunError(f"cannot find a free run folder name in {base}")


def _spec_to_dict(spec: Any) -> Any:
    if spec is None or isinstance(spec, dict):
        return spec
    for name in ("to_dict", "to_json_dict", "asdict"):
        fn = getattr(spec, name, None)
        if callable(fn):
            return fn()
    to_json = getattr(spec, "to_json", None)
    if callable(to_json):
        import json

        return json.loads(to_json())
    raise RunError(f"cannot save the design: expected a ModelSpec or a dict, received {type(spec).__name__}")


def save_model_atomic(model: Any, path: str | os.PathLike[str]) -> None:
    """Save a Keras model to ``path`` (.keras) through a temporary file, so an old file survives a failure."""
    target = Path(path)
    tmp = target.with_name(f".{target.stem}-{os.getpid()}-{time.monotonic_ns()}.keras")
    try:
        model.save(str(tmp))
        os.replace(tmp, target)
    except BaseException as exc:  # noqa: BLE001 - report any save failure in words; Ctrl+C too removes the temp file
        tmp.unlink(missing_ok=True)
        if not isinstance(exc, Exception):
            raise
        raise RunError(f"cannot save the model to {target.name}: {exc}") from None


def save_run(
    path: str | os.PathLike[str],
    history: History,
    settings: TrainingSettings | dict[str, Any],
    result: TrainingResult | None = None,
    spec: Any = None,
    model: Any = None,
    label: str = "",
    evaluation: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> RunInfo:
    """Write (or update) a run folder; returns its :class:`RunInfo`. The model is optional."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    old: dict[str, Any] = {}
    if (folder / RUN_FILE).exists():
        try:
            old = read_json(folder / RUN_FILE)
        except ConvExplorerError:
            old = {}
    settings_dict = settings.to_dict() if isinstance(settings, TrainingSettings) else dict(settings)
    final: dict[str, float] = {}
    for key, col in history.epoch.items():
        if key in ("epoch", "time_s", "batches") or not col:
            continue
        if math.isfinite(col[-1]):
            final[key] = col[-1]
    info = RunInfo(
        id=folder.name,
        path=folder,
        label=label or old.get("label", ""),
        created=float(old.get("created", time.time())),
        reason=result.reason if result else old.get("reason", ""),
        message=result.message if result else old.get("message", ""),
        epochs_done=result.epochs_done if result else history.num_epochs,
        steps_done=result.steps_done if result else history.num_batches,
        elapsed_s=float(result.elapsed_s) if result else float(old.get("elapsed_s", 0.0)),
        settings=settings_dict,
        final=final,
        evaluation=evaluation if evaluation is not None else old.get("evaluation"),
        extra={**old.get("extra", {}), **(extra or {})},
    )
    atomic_write_json(folder / HISTORY_FILE, history.to_dict())
    spec_dict = _spec_to_dict(spec)
    if spec_dict is not None:
        atomic_write_json(folder / SPEC_FILE, spec_dict)
    if model is not None:
        save_model_atomic(model, folder / MODEL_FILE)
    atomic_write_json(folder / RUN_FILE, _info_to_dict(info))
    return info


def _info_to_dict(info: RunInfo) -> dict[str, Any]:
    return {
        "format_version": RUN_FORMAT_VERSION,
        "id": info.id,
        "label": info.label,
        "created": info.created,
        "reason": info.reason,
        "message": info.message,
        "epochs_done": info.epochs_done,
        "steps_done": info.steps_done,
        "elapsed_s": info.elapsed_s,
        "settings": info.settings,
        "final": info.final,
        "evaluation": info.evaluation,
        "extra": info.extra,
    }


def update_evaluation(info: RunInfo, evaluation: dict[str, Any]) -> RunInfo:
    """Store an evaluation summary in an existing run's ``run.json``."""
    info.evaluation = evaluation
    atomic_write_json(info.path / RUN_FILE, _info_to_dict(info))
    return info


def read_run(path: str | os.PathLike[str]) -> RunInfo:
    """Read a run folder's ``run.json``; :class:`RunError` if it is not a run."""
    folder = Path(path)
    if not (folder / RUN_FILE).is_file():
        raise RunError(f"not a training run folder (no {RUN_FILE}): {folder}")
    try:
        d = read_json(folder / RUN_FILE)
    except ConvExplorerError as exc:
        raise RunError(f"damaged run {folder.name}: {exc}") from None
    if not isinstance(d, dict):
        raise RunError(f"damaged run {folder.name}: {RUN_FILE} is not an object")
    return RunInfo(
        id=folder.name,
        path=folder,
        label=str(d.get("label", "")),
        created=float(d.get("created", 0.0) or 0.0),
        reason=str(d.get("reason", "")),
        message=str(d.get("message", "")),
        epochs_done=int(d.get("epochs_done", 0) or 0),
        steps_done=int(d.get("steps_done", 0) or 0),
        elapsed_s=float(d.get("elapsed_s", 0.0) or 0.0),
        settings=dict(d.get("settings") or {}),
        final={k: float(v) for k, v in (d.get("final") or {}).items() if v is not None},
        evaluation=d.get("evaluation"),
        extra=dict(d.get("extra") or {}),
    )


def list_runs(root: str | os.PathLike[str] | None = None) -> list[RunInfo]:
    """Every readable run under ``root`` (default: the workspace's runs folder), newest first."""
    base = Path(root) if root is not None else runs_dir()
    if not base.is_dir():
        return []
    runs = []
    for child in base.iterdir():
        if child.is_dir() and (child / RUN_FILE).is_file():
            try:
                runs.append(read_run(child))
            except RunError:
                continue  # a damaged run does not hide the others
    runs.sort(key=lambda r: (r.created, r.id), reverse=True)
    return runs


def load_history(run: RunInfo | str | os.PathLike[str]) -> History:
    """The run's :class:`History`."""
    folder = run.path if isinstance(run, RunInfo) else Path(run)
    try:
        return History.from_dict(read_json(folder / HISTORY_FILE))
    except ConvExplorerError as exc:
        raise RunError(f"cannot read the history of run {folder.name}: {exc}") from None
    except (AttributeError, TypeError, ValueError):
        raise RunError(f"the history of run {folder.name} is damaged") from None


def load_spec(run: RunInfo) -> Optional[dict[str, Any]]:
    """The saved design as a dict, or None if the run has none."""
    p = run.path / SPEC_FILE
    return read_json(p) if p.exists() else None


def load_run_model(run: RunInfo, which: str = "final", safe_mode: bool = True) -> Any:
    """Load the run's final model (``"final"``) or best checkpoint (``"best"``) with Keras ``safe_mode``."""
    if which not in ("final", "best"):
        raise RunError(f"which model: expected 'final' or 'best', received {which!r}")
    p = run.path / (MODEL_FILE if which == "final" else BEST_FILE)
    if not p.exists():
        raise RunError(f"run {run.label or run.id} has no {'saved model' if which == 'final' else 'best checkpoint'}")
    import keras

    from . import losses  # noqa: F401 - registers the YOLO loss and box IoU metric a task model was compiled with

    try:
        return keras.models.load_model(str(p), safe_mode=safe_mode)
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"cannot open {p.name} of run {run.label or run.id}: {exc}") from None


def delete_run(run: RunInfo) -> None:
    """Remove a run folder (only if it looks like a run)."""
    if not (run.path / RUN_FILE).is_file():
        raise RunError(f"refusing to delete {run.path}: it is not a training run folder")
    shutil.rmtree(run.path)


# --------------------------------------------------------------------------- export
def history_csv(history: History, per: str = "epoch") -> str:
    """The history as CSV text: one row per epoch (``per="epoch"``) or per batch; NaN as empty cells."""
    if per not in ("epoch", "batch"):
        raise RunError(f"CSV rows: expected 'epoch' or 'batch', received {per!r}")
    table = history.epoch if per == "epoch" else history.batch
    keys = list(table)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    n = len(table[keys[0]]) if keys else 0
    for i in range(n):
        row = []
        for k in keys:
            v = table[k][i]
            if not math.isfinite(v):
                row.append("")
            elif k in ("epoch", "step", "batches") and float(v).is_integer():
                row.append(str(int(v) + (1 if k == "epoch" else 0)))
            else:
                row.append(repr(float(v)))
        w.writerow(row)
    return buf.getvalue()


def export_csv(history: History, path: str | os.PathLike[str], per: str = "epoch") -> Path:
    """Write the history as CSV (epochs counted from 1, like Keras's CSVLogger... and people)."""
    target = Path(path)
    atomic_write_text(target, history_csv(history, per))
    return target


def export_tensorboard(history: History, logdir: str | os.PathLike[str]) -> Path:
    """Write the history as TensorBoard scalars: ``train/`` and ``validation/`` runs, like Keras's callback.

    Per epoch: ``epoch_<metric>`` (validation values under the same tag in
    ``validation/`` so TensorBoard overlays them) and ``epoch_learning_rate``;
    per batch: ``batch_<metric>`` at the global step.
    """
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    # What tensorboard's tf.summary.scalar writes, without needing the tensorboard package installed.
    meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    meta.data_class = summary_pb2.DATA_CLASS_SCALAR

    def scalar(tag: str, value: float, step: int) -> None:
        tf.summary.write(tag, tf.constant(value, tf.float32), step=step, metadata=meta)

    base = Path(logdir)
    base.mkdir(parents=True, exist_ok=True)
    train_w = tf.summary.create_file_writer(str(base / "train"))
    val_w = tf.summary.create_file_writer(str(base / "validation"))
    try:
        ep = history.epoch
        for i in range(history.num_epochs):
            step = int(ep["epoch"][i])
            for key, col in ep.items():
                v = col[i]
                if key in ("epoch", "batches") or not math.isfinite(v):
                    continue
                if key.startswith("val_"):
                    with val_w.as_default():
                        scalar(f"epoch_{key[4:]}", v, step)
                else:
                    with train_w.as_default():
                        scalar(f"epoch_{key}", v, step)
        b = history.batch
        with train_w.as_default():
            for i in range(history.num_batches):
                step = int(b["step"][i])
                for key, col in b.items():
                    v = col[i]
                    if key in ("step", "epoch") or not math.isfinite(v):
                        continue
                    scalar(f"batch_{key}", v, step)
    finally:
        train_w.flush()
        val_w.flush()
        train_w.close()
        val_w.close()
    return base
