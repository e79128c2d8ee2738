"""The Data panel's background work, one helper a kind: loading a data set, fetching a sample, previewing augmentation.

Each starts core calls through the panel's ``run_in_thread`` (so that
``shutdown`` joins them, and nothing starts after it), drops results that a newer request made stale, and reports by signals; the
panel connects those to the widgets that draw them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from convexplorer.core.datasets import AugmentationSpec, Dataset, FolderDataset, augment_preview
from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.overlays import has_annotations, sample_annotations
from convexplorer.ui.panels.data.preview import PREVIEW_INPUT_MAX, PREVIEW_VARIANTS
from convexplorer.ui.panels.data.selection import DataSelection
from convexplorer.ui.workers import StartWork, Worker


def sample_view(dataset: Dataset, i: int) -> tuple[int, np.ndarray, str, dict | None]:
    """Native image, description and targets (boxes, classes, mask in pixels of ``dataset.image_shape``; None for
    a classification set) of one sample (runs in a worker: folders read files)."""
    ann = sample_annotations(dataset, i) if has_annotations(dataset) else None
    return i, dataset.native_image(i), dataset.describe(i), ann


def preview_with_targets(dataset: Dataset, i: int, spec: AugmentationSpec, n: int, seed: int,
                         max_side: int) -> np.ndarray:
    """``n`` augmented copies of sample ``i`` (as models see it) with its boxes and mask moved by the same layers
    (Keras's box- and mask-aware augmentation) and drawn over them: ``n x H x W x 3`` floats, the original first."""
    from convexplorer.core.datasets.augment_targets import augment_with_targets
    from convexplorer.core.images import resize
    from convexplorer.core.overlays import annotate, resize_mask

    img = dataset.image(i)
    ann = sample_annotations(dataset, i)
    h, w = img.shape[:2]
    if max(h, w) > max_side:  # the preview tiles are small; keep the worker quick
        s = max_side / max(h, w)
        img = resize(img, (max(1, round(h * s)), max(1, round(w * s))))
    h2, w2 = img.shape[:2]
    boxes = None
    if ann["boxes"] is not None:
        boxes = np.asarray(ann["boxes"], np.float32).reshape(-1, 4) * np.array([w2 / w, h2 / h, w2 / w, h2 / h], np.float32)
    mask = None if ann["mask"] is None else resize_mask(ann["mask"], (h2, w2))
    out = augment_with_targets(img, boxes, ann["classes"], mask, spec, n=n, seed=seed)
    drawn = np.empty(out["images"].shape[:3] + (3,), np.float32)
    for q in range(n):
        targets = {"boxes": None if out["boxes"] is None else out["boxes"][q],
                   "classes": None if out["classes"] is None else out["classes"][q],
                   "mask": None if out["masks"] is None else out["masks"][q]}
        drawn[q] = annotate(out["images"][q], targets, (h2, w2))
    return drawn


class LoadJob(QObject):
    """One data-set load at a time: a build, download or folder scan, then a folder's check of every file."""

    #: A load finished with this data set.
    loaded = Signal(object)
    #: The check of a folder's files finished with this (possibly smaller) FolderDataset.
    checked = Signal(object)
    #: A load started (True) or ended (False).
    busy_changed = Signal(bool)
    #: done, total, message of the running load.
    progress = Signal(int, int, str)
    #: Something to tell the user, and whether it is an error.
    message = Signal(str, bool)
    #: The current load ended (after ``busy_changed(False)``).
    finished = Signal()

    def __init__(self, start: StartWork, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._start = start
        #: The running load or check, None when idle.
        self.worker: Worker | None = None
        self._cancel_note = "Cancelled."

    def start(self, fn: Callable[..., Dataset], *args: Any, label: str, cancel_note: str) -> Worker | None:
        """Run ``fn(*args)`` for the data set called ``label`` (cancelling the load before it);
        None when the panel has shut down (nothing started)."""
        if self.worker is not None:
            self.worker.cancel()
        worker = self._start(fn, *args)
        if worker is None:
            return None
        self.message.emit(f"Loading {label}…", False)
        self.busy_changed.emit(True)
        self.worker = worker
        self._cancel_note = cancel_note
        self._watch(worker, self._on_loaded)
        return worker

    def cancel(self) -> None:
        """Cancel the running load (the user pressed Cancel)."""
        if self.worker is not None:
            self.worker.cancel()

    def abandon(self, timeout_s: float) -> None:
        """Cancel the running load, wait up to ``timeout_s`` for it, and forget it."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(timeout_s)
            self.worker = None
            self.busy_changed.emit(False)

    def _check(self, ds: FolderDataset) -> None:
        worker = self._start(ds.verify)
        if worker is None:
            return
        self.worker = worker
        self._cancel_note = "Check of the files cancelled: the folder is shown as listed, its files unchecked."
        self.busy_changed.emit(True)
        self._watch(worker, self._on_checked)

    def _watch(self, worker: Worker, on_result: Callable[[Worker, Any], None]) -> None:
        worker.progress.connect(self.progress.emit)
        worker.result.connect(lambda value, w=worker: on_result(w, value))
        worker.error.connect(lambda msg, det, w=worker: self._on_error(w, msg))
        worker.cancelled.connect(lambda w=worker: self._on_cancelled(w))
        worker.finished.connect(lambda w=worker: self._on_finished(w))

    def _on_loaded(self, worker: Worker, ds: Dataset) -> None:
        if worker is not self.worker:
            return
        self.loaded.emit(ds)
        if isinstance(ds, FolderDataset) and not ds.verified:
            self._check(ds)

    def _on_checked(self, worker: Worker, checked: FolderDataset) -> None:
        if worker is self.worker:
            self.checked.emit(checked)

    def _on_error(self, worker: Worker, message: str) -> None:
        if worker is self.worker:
            self.message.emit(message, True)

    def _on_cancelled(self, worker: Worker) -> None:
        if worker is self.worker:
            self.message.emit(self._cancel_note, False)

    def _on_finished(self, worker: Worker) -> None:
        if worker is self.worker:
            self.worker = None
            self.busy_changed.emit(False)
            self.finished.emit()


class SampleJob(QObject):
    """Fetches the native image of the sample to show; only the latest request is shown."""

    #: index, native image, description of the sample, its targets (``sample_view``'s dict, or None).
    shown = Signal(int, object, str, object)
    #: Why the sample cannot be shown.
    failed = Signal(str)

    def __init__(self, start: StartWork, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._start = start
        self._token = 0

    def request(self, source: Dataset, i: int) -> None:
        """Fetch sample ``i`` of ``source`` in a worker."""
        self._token += 1
        token = self._token
        worker = self._start(sample_view, source, int(i))
        if worker is None:
            return
        worker.result.connect(lambda res, t=token: self.shown.emit(*res) if t == self._token else None)
        worker.error.connect(lambda msg, det, t=token: self.failed.emit(msg) if t == self._token else None)

    def show_now(self, source: Dataset, i: int) -> None:
        """Fetch sample ``i`` on this thread and show it (pending requests become stale)."""
        self._token += 1
        self.shown.emit(*sample_view(source, int(i)))


class PreviewJob(QObject):
    """Augments the current sample in a worker, one preview at a time; a request meanwhile runs after it."""

    #: The augmented copies (the original first) of a preview still current.
    ready = Signal(object)
    #: Why there is no preview.
    failed = Signal(str)

    def __init__(self, selection: DataSelection, tf_ready: Callable[[], bool], start: StartWork,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.selection = selection
        self._tf_ready = tf_ready
        self._start = start
        self.worker: Worker | None = None
        self._again = False
        self.timer = QTimer(self, singleShot=True, interval=120)
        self.timer.timeout.connect(self.request)

    def schedule(self) -> None:
        """Preview soon (requests within 120 ms make one preview)."""
        self.timer.start()

    def input_image(self) -> np.ndarray | None:
        """The current sample as models see it, shrunk for the small preview tiles (may raise)."""
        sel = self.selection
        ds = sel.dataset
        if ds is None or not 0 <= sel.current < len(ds):
            return None
        img = ds.image(sel.current)
        h, w = img.shape[:2]
        if max(h, w) > PREVIEW_INPUT_MAX:  # the preview tiles are small; keep the worker quick
            from convexplorer.core.images import resize

            s = PREVIEW_INPUT_MAX / max(h, w)
            img = resize(img, (max(1, round(h * s)), max(1, round(w * s))))
        return img

    def request(self) -> None:
        """Start a preview of the current sample and augmentation (after the running one, if any)."""
        sel = self.selection
        if not self._tf_ready() or sel.dataset is None:
            return
        if self.worker is not None:
            self._again = True
            return
        try:
            img = self.input_image()
        except ConvExplorerError as exc:
            self.failed.emit(str(exc))
            return
        if img is None:
            return
        key = self.key()
        if has_annotations(sel.dataset):
            worker = self._start(preview_with_targets, sel.dataset, sel.current, sel.augmentation, PREVIEW_VARIANTS,
                                 sel.current, PREVIEW_INPUT_MAX)
        else:
            worker = self._start(augment_preview, img, sel.augmentation, PREVIEW_VARIANTS, sel.current)
        if worker is None:
            return
        self.worker = worker
        worker.result.connect(lambda v, k=key: self.ready.emit(v) if k == self.key() else None)
        worker.error.connect(lambda msg, det: self.failed.emit(msg))
        worker.finished.connect(self._on_finished)

    def key(self) -> tuple:
        """What a preview shows: a result made for another sample or setting is stale."""
        sel = self.selection
        return (sel.current, sel.augmentation, id(sel.dataset))

    def settle(self, timeout_s: float) -> None:
        """Drop the scheduled preview and wait up to ``timeout_s`` for the running one."""
        self.timer.stop()
        if self.worker is not None:
            self.worker.wait(timeout_s)
        self._again = False

    def _on_finished(self) -> None:
        self.worker = None
        if self._again:
            self._again = False
            self.request()
