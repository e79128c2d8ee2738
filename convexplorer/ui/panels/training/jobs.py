"""What runs on worker threads: train (or continue) a model, evaluate it, load a kept model, export logs.

Plain functions of their arguments (no widgets); the panel starts them through
``convexplorer.ui.workers.run_in_thread`` and draws what they return.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from convexplorer.core.training import History, TrainingError, TrainingResult, TrainingSettings
from convexplorer.ui.panels.training.bridge import TrainingBridge, TrainingControl

log = logging.getLogger(__name__)


@dataclass
class TrainingJob:
    """Everything a training worker needs (built on the GUI thread)."""

    dataset: Any
    settings: TrainingSettings
    bridge: TrainingBridge
    control: TrainingControl
    spec: Any = None
    model: Any = None
    label: str = ""
    use_validation: bool = True
    session: Any = None
    run_dir: Optional[Path] = None
    epochs: Optional[int] = None
    seed: int = 0
    #: Keras callbacks to add (the learning-timeline recorder).
    callbacks: tuple = ()
    #: tf.distribute strategy name from Settings ▸ Compute ("default", "mirrored").
    strategy: str = "default"


@dataclass
class JobOutcome:
    """What a training worker returns."""

    session: Any
    result: TrainingResult
    run: Any
    model: Any


def _head_units(model: Any, names: list[str]) -> dict[str, Any]:
    """The last dimension of each named output of a model with several outputs."""
    out = getattr(model, "output", None)
    if isinstance(out, dict):
        return {n: out[n].shape[-1] for n in names if n in out}
    outputs = list(getattr(model, "outputs", None) or [])
    return {n: t.shape[-1] for n, t in zip(names, outputs)}


def _check_fit(model: Any, dataset: Any, heads: list | None = None) -> None:
    """Raise a TrainingError a student can act on if ``model`` does not fit ``dataset``."""
    want = tuple(int(v) for v in dataset.image_shape)
    got = tuple(model.input_shape[1:]) if getattr(model, "input_shape", None) else None
    if got is not None and None not in got and tuple(int(v) for v in got) != want:
        raise TrainingError(
            f"the model expects {'x'.join(map(str, got))} images but the data set gives "
            f"{'x'.join(map(str, want))}: set the design's input shape to match the data set"
        )
    k = len(dataset.class_names)
    if heads:
        from convexplorer.core.targets import output_shapes

        units = _head_units(model, [h.name for h in heads])
        shapes = output_shapes(model, heads)
        for h in heads:
            n = units.get(h.name)
            if n is None:
                continue
            if h.target == "labels" and not (n == k or (n == 1 and k == 2)):
                raise TrainingError(
                    f'the head "{h.name}" has {n} outputs but the data set has {k} classes: '
                    f"give it {k} units (or the design's number of classes)"
                )
            shape = shapes.get(h.name, ())
            if h.target == "boxes" and len(shape) == 4:  # a detection grid: S x S x A x (5 + C)
                if n != 5 + k:
                    raise TrainingError(
                        f'the head "{h.name}" is a detection grid of {n} values an anchor but the data set has {k} '
                        f"classes: give it 5 + {k} = {5 + k} (objectness, x, y, w, h and a score a class)"
                    )
                if not getattr(dataset, "has_objects", lambda: False)():
                    raise TrainingError(
                        f'the head "{h.name}" is a detection grid: choose a data set with several objects an image '
                        "(Shapes detection, VOC, COCO)"
                    )
            elif h.target == "boxes" and n != 4:
                raise TrainingError(
                    f'the head "{h.name}" learns boxes [x0, y0, x1, y1] but has {n} outputs: give it 4 units'
                )
            if h.target == "masks" and n != k:
                raise TrainingError(
                    f'the head "{h.name}" learns masks of {k} classes ({", ".join(map(str, dataset.class_names[:6]))}'
                    f'{"..." if k > 6 else ""}) but has {n} channels: give it {k} filters'
                )
        return
    out = model.output_shape[-1] if getattr(model, "output_shape", None) else None
    if out is not None and not (out == k or (out == 1 and k == 2)):
        raise TrainingError(
            f"the model has {out} outputs but the data set has {k} classes: set the design's number of classes to {k}"
        )


def labels_head(model: Any, heads: list | None = None) -> str | None:
    """The head the confusion matrix shows for a model with several outputs: the first "labels" head (None: one output)."""
    from convexplorer.core.targets import heads_for_training

    if heads is None:
        try:
            heads = heads_for_training(model)
        except Exception:  # noqa: BLE001 - a head we cannot read: evaluate as one output
            return None
    return next((h.name for h in heads if h.target == "labels"), None) if heads else None


def run_training_job(job: TrainingJob, progress: Any = None, cancel: threading.Event | None = None) -> JobOutcome:
    """Build the model, train (or continue), save the run; runs on a worker thread."""
    try:
        return _run_training_job(job, cancel)
    except BaseException:
        # Cancelled or failed before anything was trained: no empty run folder is left behind.
        if job.session is None and job.run_dir is not None:
            try:
                job.run_dir.rmdir()  # only if empty
            except OSError:
                pass
        raise


def _run_training_job(job: TrainingJob, cancel: threading.Event | None) -> JobOutcome:
    from convexplorer.core.progress import check_cancel
    from convexplorer.core.runs import new_run_dir, save_run
    from convexplorer.core.training import TrainingSession

    ds = job.dataset
    session = job.session
    if session is None:
        model = job.model
        strategy = None
        if job.strategy not in ("", "default"):
            from convexplorer.core import distribute

            strategy = distribute.make_strategy(job.strategy)
        if model is None:
            if strategy is not None:
                from convexplorer.core.distribute import build_spec_in_scope

                model = build_spec_in_scope(job.spec, strategy)
            else:
                from convexplorer.core.builder import build_model

                # an opened model's weights (the Builder's Design) go back on the nodes left unchanged
                model = build_model(job.spec, compile=True, cancel=cancel,
                                    initial_weights=getattr(job.spec, "initial_weights", None))
        elif strategy is not None:
            from convexplorer.core.distribute import rebuild_in_scope

            model = rebuild_in_scope(model, strategy)
        check_cancel(cancel)
        from convexplorer.core.targets import heads_for_training, training_inputs, with_grids
        from convexplorer.core.taskmetrics import task_heads, task_metrics_callback

        heads = heads_for_training(model, job.spec)
        _check_fit(model, ds, heads)
        heads = with_grids(model, heads, ds, seed=job.seed)  # a detection grid: anchors by k-means over the boxes
        n_train = len(ds.subset_indices("train"))
        if n_train == 0:
            raise TrainingError(f"the training subset of {ds.name} is empty: lower the validation/test fractions")
        bs, replicas = job.settings.batch_size, 1
        if strategy is not None:  # the batch size set is per device
            from convexplorer.core.distribute import replicas as replica_count
            from convexplorer.core.distribute import scaled_batch_size

            bs, replicas = scaled_batch_size(bs, strategy), replica_count(strategy)
        # One output: (images, labels) exactly as always; several heads: (images, {head: target}).
        # Several replicas: batches that split evenly between them (inputs.note says what was left out).
        inputs = training_inputs(ds, heads, bs, seed=job.seed, replicas=replicas, use_validation=job.use_validation)
        train, val = inputs.train, inputs.validation
        if inputs.note:
            log.info("training under %s: %s", job.strategy, inputs.note)
        if replicas > 1:
            n_train -= n_train % bs
        run_dir = job.run_dir or new_run_dir(job.label)
        metric_cbs = []
        if val is not None and task_heads(heads):
            # boxes, masks, grids: IoU, mean IoU or AP on the validation data after each epoch, charted as val_*
            metric_cbs.append(task_metrics_callback(val, heads, list(getattr(ds, "class_names", []))))
        session = TrainingSession(
            model, train, val, job.settings, on_event=job.bridge.on_event, checkpoint_dir=run_dir,
            num_samples=n_train, callbacks=job.callbacks, metric_callbacks=metric_cbs,
        )
        session.run_dir = run_dir  # type: ignore[attr-defined]
        session.heads = heads  # type: ignore[attr-defined]
    else:
        job.settings.validate()
        session.settings = job.settings  # a continued run takes the callbacks chosen now
    job.control.attach(session)
    result = session.run(epochs=job.epochs, cancel=cancel)
    spec = job.spec
    extra = {
        "dataset": getattr(ds, "name", ""),
        "class_names": list(getattr(ds, "class_names", [])),
        "image_shape": list(getattr(ds, "image_shape", [])),
        "model_name": getattr(session.model, "name", ""),
    }
    heads = getattr(session, "heads", None)
    if heads:
        extra["heads"] = [{"name": h.name, "target": h.target} for h in heads]
        for entry, h in zip(extra["heads"], heads):
            if getattr(h, "grid_size", 0):  # what decodes the grid again (overlays, evaluation)
                entry.update(grid_size=h.grid_size, anchors=[list(a) for a in h.anchors])
    info = save_run(
        session.run_dir, result.history, job.settings, result, spec=spec, model=session.model, label=job.label, extra=extra
    )
    return JobOutcome(session, result, info, session.model)


class _OneHead:
    """Calls a model with several outputs and hands on one head's output (what evaluation reads)."""

    def __init__(self, model: Any, head: str) -> None:
        self.model, self.head = model, head

    def __call__(self, x: Any, training: bool = False) -> Any:
        out = self.model(x, training=training)
        if isinstance(out, dict):
            return out[self.head]
        from convexplorer.core.targets import model_output_names

        names = model_output_names(self.model)
        if not names:  # one output: it is the head
            return out
        return out[names.index(self.head)]


def _output_shape(model: Any, head: str | None) -> tuple:
    """The shape of the model's output (of ``head``'s, for a dict of outputs), without the batch axis."""
    out = getattr(model, "output", None)
    if isinstance(out, dict):
        out = out.get(head) if head else None
    elif isinstance(out, (list, tuple)):
        return ()
    return tuple(out.shape[1:]) if out is not None else ()


def evaluate_job(model: Any, dataset: Any, subset: str, progress: Any = None, cancel: threading.Event | None = None,
                 head: str | None = None) -> Any:
    """Evaluate ``model`` on a subset of ``dataset`` (worker thread); ``head``: the labels head of a model with several."""
    from convexplorer.core.evaluation import evaluate_model, evaluate_segmentation

    target = _OneHead(model, head) if head else model
    if getattr(dataset, "has_masks", lambda: False)() and len(_output_shape(model, head)) == 3:
        # a segmenter: the confusion matrix counts pixels
        from convexplorer.core.targets import HeadTarget, head_dataset

        data = head_dataset(dataset, [HeadTarget(head or "mask", "masks")], subset, batch_size=32, shuffle=False)
        return evaluate_segmentation(target, data, class_names=dataset.class_names, progress=progress, cancel=cancel)
    idx = dataset.subset_indices(subset)
    ds = dataset.to_tf_dataset(subset, batch_size=64, shuffle=False)
    return evaluate_model(target, ds, class_names=dataset.class_names, indices=idx, progress=progress, cancel=cancel)


def load_model_job(run: Any, which: str, progress: Any = None, cancel: Any = None) -> Any:
    """Load a kept run's final or best model (worker thread)."""
    from convexplorer.core.runs import load_run_model

    return load_run_model(run, which)


def export_tensorboard_job(history: History, path: str, progress: Any = None, cancel: Any = None) -> str:
    """Write ``history`` as TensorBoard logs under ``path`` (worker thread)."""
    from convexplorer.core.runs import export_tensorboard

    return str(export_tensorboard(history, path))
