"""Background work of the Compare panel: the core calls run in workers, and the runner that keeps one going.

The functions here run off the GUI thread (through :class:`JobRunner`, which
uses ``convexplorer.ui.workers``); they only call :mod:`convexplorer.core.compare`
and :mod:`convexplorer.core.evaluation` and return plain results.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal

from convexplorer.ui.workers import StartWork, Worker

#: Most test images evaluated per model for the confusion matrices.
MAX_EVAL_IMAGES = 1000


def load_pair(source_a: Any, source_b: Any, progress=None, cancel=None) -> tuple[Any, Any]:
    """Open both model sources (core.compare.load_source)."""
    from convexplorer.core.compare import load_source

    return load_source(source_a, progress, cancel), load_source(source_b, progress, cancel)


def _labels_for(model: Any, names: Optional[Sequence[str]]) -> Optional[list[str]]:
    try:
        n = int(model.output_shape[-1])
    except Exception:  # noqa: BLE001 - a model without a simple output shape: no labels
        return None
    return list(names) if names is not None and len(names) == n else None


def compare_models(loaded_a: Any, loaded_b: Any, image: np.ndarray, class_names: Optional[Sequence[str]] = None,
                   progress=None, cancel=None) -> Any:
    """Both loaded models on one image (core.compare.compare_on_image), labels from their own or the data set's names."""
    from convexplorer.core.compare import compare_on_image

    labels_a = loaded_a.class_names or _labels_for(loaded_a.model, class_names)
    labels_b = loaded_b.class_names or _labels_for(loaded_b.model, class_names)
    return compare_on_image(
        loaded_a.model, loaded_b.model, image, k=5, labels_a=labels_a, labels_b=labels_b,
        names=(loaded_a.label, loaded_b.label), preprocess_a=loaded_a.preprocess, preprocess_b=loaded_b.preprocess,
        progress=progress, cancel=cancel,
    )


def evaluation_images(dataset: Any, limit: int = MAX_EVAL_IMAGES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``limit`` test images of a data set (its test subset, else everything): images, labels, indices."""
    idx = dataset.subset_indices("test")
    if len(idx) == 0:
        idx = np.arange(len(dataset))
    idx = np.asarray(idx[:limit], np.int64)
    x = np.stack([dataset.image(int(i)) for i in idx]).astype(np.float32)
    y = np.asarray([dataset.label(int(i)) for i in idx], np.int64)
    return x, y, idx


def evaluate_pair(model_a: Any, model_b: Any, dataset: Any, progress=None, cancel=None) -> dict:
    """Evaluate two models on the data set's test images; their results and the confusion difference."""
    from convexplorer.core.compare import confusion_difference
    from convexplorer.core.evaluation import evaluate_model

    x, y, idx = evaluation_images(dataset)
    names = list(dataset.class_names)
    ra = evaluate_model(model_a, (x, y), names, idx, progress=progress, cancel=cancel)
    rb = evaluate_model(model_b, (x, y), names, idx, progress=progress, cancel=cancel)
    return {"a": ra, "b": rb, "diff": confusion_difference(ra.confusion, rb.confusion, names, names), "indices": idx}


def cams_for(model: Any, images: list[np.ndarray], true_class: int, pred_class: int, progress=None, cancel=None) -> list:
    """Grad-CAM of each image for the predicted and the true class (core.compare.cell_cams)."""
    from convexplorer.core.compare import cell_cams

    return cell_cams(model, images, true_class, pred_class, progress=progress, cancel=cancel)


class JobRunner(QObject):
    """One background job at a time: a new job cancels the running one, whose late result and error are dropped."""

    #: A job started; the text says what it does ("comparing…").
    started = Signal(str)
    #: The current job failed: (message, details).
    failed = Signal(str, str)
    #: The current job ended (with a result, an error, or cancelled).
    finished = Signal()

    def __init__(self, start: StartWork, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._start = start  # the panel's Panel.run_in_thread: joined at shutdown, refused after it
        self._worker: Optional[Worker] = None

    def start(self, fn: Callable[..., Any], on_result: Callable[[Any], None], busy: str) -> None:
        """Run ``fn(progress=, cancel=)`` in a worker; ``on_result`` gets its result on the GUI thread."""
        if self._worker is not None and self._worker.is_running():
            self._worker.cancel()
        worker = self._start(fn)
        if worker is None:
            return
        self.started.emit(busy)
        self._worker = worker
        worker.result.connect(lambda r, w=worker: on_result(r) if w is self._worker else None)
        worker.error.connect(lambda m, d, w=worker: self.failed.emit(m, d) if w is self._worker else None)
        worker.finished.connect(lambda w=worker: self._job_finished(w))

    def _job_finished(self, worker: Worker) -> None:
        if worker is not self._worker:
            return
        self._worker = None
        self.finished.emit()

    def cancel(self) -> None:
        """Ask the running job to stop."""
        if self._worker is not None:
            self._worker.cancel()

    def busy(self) -> bool:
        """True while a job runs."""
        return self._worker is not None and self._worker.is_running()
