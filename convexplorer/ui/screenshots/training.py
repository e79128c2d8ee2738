"""Screenshots of the Training panel: a tiny convnet trained and evaluated, runs compared, a run paused.

Each step blocks on the GUI thread (processing events) until the panel's
workers are done: screenshots are taken with TensorFlow loaded.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from PySide6.QtWidgets import QApplication

from convexplorer.ui.panels.training import TrainingPanel


def _wait(condition: Callable[[], Any], timeout_s: float = 300.0) -> bool:
    """Process events until ``condition()`` holds or ``timeout_s`` passes; whether it holds."""
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    QApplication.processEvents()
    return bool(condition())


def _spec_fits(panel: TrainingPanel, ds: Any) -> bool:
    """Whether the Builder's design takes the data set's images and classes."""
    spec = panel.state.spec
    if spec is None:
        return False
    try:
        return tuple(spec.input_shape) == tuple(ds.image_shape) and int(spec.num_classes) == len(ds.class_names)
    except (AttributeError, TypeError, ValueError):
        return False


def prepare(panel: TrainingPanel) -> None:
    """Train a tiny convnet for a few epochs on a small shapes set and evaluate it (blocks)."""
    if not panel.state.tf_ready:
        from convexplorer.ui.tfloader import load_tensorflow_now

        load_tensorflow_now(panel.state)
    model = None
    if panel.state.dataset is None:
        from convexplorer.core.datasets.shapes import ShapesDataset

        panel.state.set_dataset(ShapesDataset(n=1200, size=32, seed=0))
    ds = panel.state.dataset
    if not _spec_fits(panel, ds):
        from convexplorer.core.training import tiny_convnet

        if ds.image_shape[0] > 32 and hasattr(ds, "with_options"):
            ds = ds.with_options(image_size=(32, 32))  # a tiny convnet learns these in seconds
        if getattr(ds, "augmentation", None) is not None and hasattr(ds, "with_augmentation"):
            ds = ds.with_augmentation(None)  # a few epochs are too few to learn through augmentation
        # width 32 at 1e-3 leaves the chance-level plateau sooner than the default (measured on shapes)
        model = tiny_convnet(ds.image_shape, len(ds.class_names), learning_rate=1e-3, width=32)
    panel.epochs_spin.setValue(12 if len(ds.subset_indices("train")) < 1000 else 10)
    panel.batch_spin.setValue(16)
    panel.checkpoint_combo.setCurrentIndex(0)
    panel.evaluate_check.setChecked(True)
    if not panel.start_training(model=model, dataset=ds):
        return
    _wait(lambda: not panel.is_training() and not panel.is_evaluating()
          and (panel.evaluation is not None or panel.last_result is None or panel._eval_worker is None))
    panel.live_charts.redraw_now()


def variants(panel: TrainingPanel) -> list[tuple[str, Callable[[], None]]]:
    """Runs compared on the charts (log scale), and a run paused half-way through an epoch."""
    return [("compare", lambda: _compare(panel)), ("paused", lambda: _paused(panel))]


def _compare(panel: TrainingPanel) -> None:
    """The four newest kept runs compared on the charts, log scale."""
    panel.refresh_runs()
    panel.runs_view.tick_first(4)
    panel.compare_runs(panel.runs_view.ticked_runs())
    panel.log_check.setChecked(True)
    panel.live_charts.redraw_now()


def _paused(panel: TrainingPanel) -> None:
    """The last run continued and paused half-way through its second new epoch."""
    panel.log_check.setChecked(False)
    panel.compare_runs([])
    if panel.session is None or panel.is_training():
        return
    start = panel.session.steps_done
    spe = panel.session.steps_per_epoch or 10
    if not panel.continue_training(4):
        return
    _wait(lambda: panel.last_batch is not None and panel.last_batch.step >= start + spe + spe // 2, 120)
    panel.pause()
    _wait(lambda: panel.live_session is not None and panel.live_session.waiting, 60)
    panel.drain()
    panel.live_charts.redraw_now()
