"""Training panel: train the designed model on the chosen data set and watch it learn.

The panel builds the parts (controls, live charts, results, runs list, and the
runner that trains on a worker and keeps the run) and wires their signals; the
parts draw. When a run ends the model goes to Inspect, the run is kept in the
workspace, and the test subset is evaluated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidgetItem, QSplitter, QVBoxLayout, QWidget

from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.training import BatchEvent, EpochEvent, History, TrainingSettings
from convexplorer.ui.panels.base import Panel, control_column
from convexplorer.ui.panels.training.charts import LiveCharts
from convexplorer.ui.panels.training.controls import TrainingControls
from convexplorer.ui.panels.training.formatting import describe_run
from convexplorer.ui.panels.training.jobs import JobOutcome, TrainingJob, load_model_job
from convexplorer.ui.panels.training.results import ResultsView
from convexplorer.ui.panels.training.runner import TrainingRunner
from convexplorer.ui.panels.training.runs import RunsView
from convexplorer.ui.state import AppState


def _forward(part: str, name: str, doc: str, settable: bool = False) -> property:
    """A panel attribute that reads (and, if ``settable``, writes) ``name`` of one of its parts."""

    def get(self: Any) -> Any:
        return getattr(getattr(self, part), name)

    def set_(self: Any, value: Any) -> None:
        setattr(getattr(self, part), name, value)

    return property(get, set_ if settable else None, doc=doc)


class TrainingPanel(Panel):
    """Train with live charts, stop/pause/continue, evaluation and kept runs."""

    title = "Training"
    key = "training"
    needs_tensorflow = True

    #: A run (or continuation) ended: payload is the TrainingResult.
    training_finished = Signal(object)
    #: An evaluation finished: payload is the EvaluationResult.
    evaluation_finished = Signal(object)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.runner = TrainingRunner(self.run_in_thread, self)
        self._model_override: Any = None  # a model object to train instead of the design (once)
        self._run_desc = ""
        self._recorder: Any = None
        self._mark = 0
        self._compared = 0

        self.controls = TrainingControls()
        self.runs_view = RunsView(self.run_in_thread)
        self.live_charts = LiveCharts()
        self.results_view = ResultsView(self.run_in_thread)
        self._lay_out()
        self._keep_names()
        self._connect()
        self.controls.form.load()
        state.dataset_changed.connect(lambda _d: self._update_inputs())
        state.dataset_changed.connect(self._probe_dataset)
        state.spec_changed.connect(lambda _s: self._update_inputs())
        self._update_inputs()
        self.refresh_runs()

    # --- parts ---------------------------------------------------------------------------
    def _lay_out(self) -> None:
        """Controls over the runs on the left; charts over results on the right."""
        root = QHBoxLayout(self.body)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(6)
        left = QWidget()
        left.setMinimumWidth(300)
        left.setMaximumWidth(340)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 4, 0)
        lv.setSpacing(6)
        lv.addWidget(self.controls)
        lv.addWidget(self.runs_view, 1)
        root.addWidget(control_column(left, 318, 360, frame=False))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.live_charts)
        split.addWidget(self.results_view)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([430, 320])
        root.addWidget(split, 1)

    def _keep_names(self) -> None:
        """The parts' widgets under the names that lessons, tests and the main window use."""
        c, f, r, v, ch = self.controls, self.controls.form, self.runs_view, self.results_view, self.live_charts
        self.inputs_label, self.probe_picker, self.message_label = c.inputs_label, c.probe_picker, c.message_label
        self.start_button, self.pause_button, self.stop_button = c.start_button, c.pause_button, c.stop_button
        self.continue_button, self.continue_spin = c.continue_button, c.continue_spin
        self.epoch_label, self.progress_bar, self.speed_label = c.epoch_label, c.progress_bar, c.speed_label
        self.epochs_spin, self.batch_spin, self.validation_combo = f.epochs_spin, f.batch_spin, f.validation_combo
        self.early_check, self.early_patience = f.early_check, f.early_patience
        self.reduce_check, self.reduce_patience, self.reduce_factor = f.reduce_check, f.reduce_patience, f.reduce_factor
        self.checkpoint_combo, self.evaluate_check = f.checkpoint_combo, f.evaluate_check
        self.runs_list, self.show_run_button, self.compare_button = r.runs_list, r.show_run_button, r.compare_button
        self.inspect_run_button, self.delete_run_button = r.inspect_run_button, r.delete_run_button
        self.csv_button, self.tensorboard_button = r.csv_button, r.tensorboard_button
        self.charts = ch.charts
        self.smoothing_slider, self.log_check, self.batches_check = ch.smoothing_slider, ch.log_check, ch.batches_check
        self.results_label, self.confusion_view, self.class_table = v.results_label, v.confusion_view, v.class_table
        self.gallery_label, self.gallery, self.best_button = v.gallery_label, v.gallery, v.best_button

    def _connect(self) -> None:
        c, r, t = self.controls, self.runs_view, self.runner
        t.batches.connect(self._on_batches)
        t.epoch_ended.connect(self._on_epoch)
        t.error_reported.connect(
            lambda m: self._message(f"Training stopped with an error: {m}. The history up to then is kept.", "error"))
        t.succeeded.connect(self._on_job_result)
        t.failed.connect(self._on_job_error)
        t.idle.connect(self._on_job_finished)
        c.start_button.clicked.connect(self._on_start)
        c.pause_button.toggled.connect(self._on_pause_toggled)
        c.stop_button.clicked.connect(self.stop)
        c.continue_button.clicked.connect(self._on_continue)
        self.results_view.evaluated.connect(self._keep_evaluation)
        self.results_view.example_chosen.connect(self._open_in_inspect)
        self.results_view.best_button.clicked.connect(self._on_best_to_inspect)
        r.show_requested.connect(self._on_show_run)
        r.compare_requested.connect(self.compare_runs)
        r.inspect_requested.connect(lambda run: self._load_run_model(run, "final"))
        r.delete_requested.connect(self._on_delete_run)
        r.message.connect(self._message)

    # --- settings, inputs, buttons, messages ---------------------------------------------
    def current_settings(self) -> TrainingSettings:
        """The settings shown in the form."""
        return self.controls.form.settings()

    def _update_inputs(self) -> None:
        self.controls.show_inputs(self.state.dataset, self.state.spec, self._model_override, self._run_desc)
        self._update_buttons()

    def _ready_reason(self) -> str:
        if not self.state.tf_ready:
            return "TensorFlow is still loading"
        if self.state.dataset is None:
            return "choose a data set in the Data panel first"
        if self.state.spec is None and self._model_override is None:
            return "design a model in the Builder first"
        return ""

    def _update_buttons(self) -> None:
        busy = self.runner.running
        self.controls.set_state(busy, self.is_evaluating(), self._ready_reason(), self.runner.session is not None)
        self.runs_view.set_busy(busy)

    def on_tensorflow_ready(self) -> None:
        """TF is in: training can start."""
        self._update_buttons()

    def _message(self, text: str, kind: str = "info") -> None:
        self.controls.show_message(text, kind)
        if text:
            self.state.status.emit(text)

    def _probe_dataset(self, dataset: Any) -> None:
        try:
            self.probe_picker.set_dataset(dataset)
        except Exception as exc:  # noqa: BLE001 - probes are optional; say why and go on
            self._message(f"Probe images unavailable for this data set: {exc}", "warn")

    def _finish_timeline(self) -> None:
        rec = self._recorder
        if rec is None:
            return
        if getattr(rec, "error", None):
            self._message(f"The learning timeline stopped recording: {rec.error}", "warn")
        self.state.timeline_changed.emit(rec.timeline, False)

    # --- read-outs for lessons and tests ------------------------------------------------
    def best_val(self, key: str) -> float:
        """Best value of the epoch metric ``key`` (e.g. "val_accuracy") in the last finished run (0 when none)."""
        r = self.last_result
        if r is None:
            return 0.0
        values = [v for v in r.history.epoch.get(key, []) if v == v]
        return max(values) if values else 0.0

    def best_val_accuracy(self) -> float:
        """Best validation accuracy of the last finished run (0 when there is none)."""
        return self.best_val("val_accuracy")

    def best_val_iou(self) -> float:
        """Best validation box IoU (a box head's ``val_iou``) of the last finished run."""
        return self.best_val("val_iou")

    def best_val_mean_iou(self) -> float:
        """Best validation mean IoU (a mask head's ``val_mean_iou``) of the last finished run."""
        return self.best_val("val_mean_iou")

    def mark(self) -> None:
        """Remember how many runs have finished (see :meth:`runs_since_mark`)."""
        self._mark = self.runner.finished_runs

    def runs_since_mark(self) -> int:
        """Runs finished since the last :meth:`mark`."""
        return self.runner.finished_runs - self._mark

    def compare_last_runs(self, n: int = 2) -> None:
        """Compare the ``n`` most recent kept runs on the charts."""
        from convexplorer.core.runs import list_runs

        self.compare_runs(list_runs()[:n])

    def runs_compared(self) -> int:
        """How many runs the charts compare now (0 when showing one run)."""
        return self._compared

    # The runner's and the results' bookkeeping, under the names the panel always had.
    session = _forward("runner", "session", "The last run's TrainingSession (None before the first run ends).")
    run_info = _forward("runner", "run_info", "The last run as kept in the workspace (None before the first run ends).")
    last_result = _forward("runner", "last_result", "The TrainingResult of the last run or continuation.")
    control = _forward("runner", "control", "Stop/pause requests of the current run.")
    last_batch = _last_batch = _forward("runner", "last_batch", "The newest batch event drawn (None before the first).")
    evaluation = _forward("results_view", "evaluation", "The evaluation shown in the results (None when there is none).")
    _eval_dataset = _forward("results_view", "dataset", "The data set evaluated.", settable=True)
    _eval_subset = _forward("results_view", "subset", "The subset evaluated.", settable=True)
    _eval_worker = _forward("results_view", "worker", "The last evaluation worker.")

    @property
    def live_session(self) -> Any:
        """The session training now (or last), as soon as the worker made it."""
        return self.runner.control.session

    def is_training(self) -> bool:
        """True while a training worker runs."""
        return self.runner.running

    def is_evaluating(self) -> bool:
        """True while an evaluation worker runs."""
        return self.results_view.is_evaluating()

    # --- start / continue / stop / pause -------------------------------------------------
    def _on_start(self) -> None:
        self.start_training()

    def start_training(self, model: Any = None, epochs: int | None = None, dataset: Any = None) -> bool:
        """Start a new run (from the design, or ``model`` if given) on the current (or given) data set.

        Returns False, with a message, if it cannot start.
        """
        if self.runner.running:
            return False
        if model is not None:
            self._model_override = model
        reason = self._ready_reason()
        if reason:
            self._message(f"Cannot start: {reason}.", "warn")
            return False
        settings = self.current_settings()
        if epochs is not None:
            settings.epochs = int(epochs)
        try:
            settings.validate()
        except ConvExplorerError as exc:
            self._message(str(exc), "error")
            return False
        self.controls.form.save()
        ds = dataset if dataset is not None else self.state.dataset
        spec = self.state.spec if self._model_override is None else None
        name = self._model_override.name if self._model_override is not None else getattr(spec, "name", "model")
        label = f"{name} on {ds.name}"
        self._reset_live()
        self.live_charts.set_heads(self._head_names(spec, self._model_override))
        from convexplorer.core.runs import new_run_dir
        from convexplorer.core.timeline import TIMELINE_FILE
        from convexplorer.ui.settings_dialog import compute_settings

        run_dir = new_run_dir(label)
        self._recorder = None
        try:
            self._recorder = self.probe_picker.make_recorder(list(ds.class_names), save_to=run_dir / TIMELINE_FILE)
        except Exception as exc:  # noqa: BLE001 - the timeline is optional: train without it, say why
            self._message(f"Training without a timeline: {exc}", "warn")
        job = self.runner.new_job(
            dataset=ds, settings=settings, spec=spec,
            model=self._model_override, label=label, use_validation=self.validation_combo.currentIndex() == 0,
            run_dir=run_dir, callbacks=(self._recorder,) if self._recorder is not None else (),
            strategy=str(compute_settings().get("strategy", "default")),
        )
        if self._recorder is not None:
            self.state.timeline_changed.emit(self._recorder.timeline, True)
        self._run_desc = describe_run(label, ds, self._model_override)
        self._model_override = None  # a model object trains once; a new Start builds a fresh one
        self._update_inputs()
        self._launch(job, f"Training {label}…")
        return True

    @staticmethod
    def _head_names(spec: Any, model: Any) -> list[str]:
        """The heads of the design or model about to train, in its order ([] for one output)."""
        if model is not None:
            from convexplorer.core.targets import model_output_names

            return model_output_names(model)
        heads = list(getattr(spec, "heads", None) or [])
        return [h.name for h in heads] if len(heads) > 1 else []

    def continue_training(self, epochs: int | None = None) -> bool:
        """Train the current model for more epochs, appending to its history and run."""
        if self.runner.running or self.session is None:
            return False
        n = int(epochs or self.continue_spin.value())
        form = self.current_settings()
        job = self.runner.continue_job(form, n)
        kept = job.settings.batch_size
        note = f" (batch size stays {kept}, the run's)" if form.batch_size != kept else ""
        self._launch(job, f"Continuing for {n} more epoch(s){note}…")
        return True

    def _on_continue(self) -> None:
        self.continue_training()

    def _launch(self, job: TrainingJob, message: str) -> None:
        if not self.runner.launch(job):
            return
        self.pause_button.setChecked(False)
        self._message(message)
        self._update_buttons()

    def stop(self) -> None:
        """Stop the current run after its current batch (model and history kept)."""
        if self.runner.running:
            self.runner.stop()
            self._message("Stopping after the current batch…")

    def pause(self) -> None:
        """Pause the current run after its current batch."""
        if self.runner.running:
            self.pause_button.setChecked(True)

    def resume(self) -> None:
        """Resume a paused run."""
        self.pause_button.setChecked(False)

    def _on_pause_toggled(self, on: bool) -> None:
        if on:
            self.runner.control.pause()
        else:
            self.runner.control.resume()
        self.controls.show_paused(on)
        if self.runner.running:
            self._message("Paused: press Resume to go on, or Stop." if on else "Training…")

    # --- live data ------------------------------------------------------------------------
    def _reset_live(self) -> None:
        self.runner.forget_batches()
        self.live_charts.clear_live()
        self.controls.reset_progress()
        self.results_view.clear()

    def drain(self) -> None:
        """Draw the batches the training thread queued so far now (not on the runner's next tick)."""
        self.runner.drain()

    def _on_event(self, event: Any) -> None:
        self.runner.handle_event(event)

    def _on_batches(self, batches: list[BatchEvent]) -> None:
        self.live_charts.add_batches(batches)
        self.controls.show_batch(batches[-1])

    def _on_epoch(self, event: EpochEvent) -> None:
        self.live_charts.add_epoch(event)
        self.controls.show_epoch(event)

    def _on_job_result(self, outcome: JobOutcome) -> None:
        self._finish_timeline()
        r = outcome.result
        kind = {"completed": "ok", "early_stopping": "ok", "stopped": "warn"}.get(r.reason, "error")
        text = r.message[:1].upper() + r.message[1:]
        if r.reason == "error":
            text = f"Training stopped with an error: {r.message}. The history up to then is kept."
        self._message(f"{text}. Run saved as “{outcome.run.label}”.", kind)
        if r.reason == "completed":
            self.controls.show_completed()
        self.best_button.setEnabled(bool(r.best_checkpoint))
        if r.steps_done > 0 and r.reason != "error":
            label = f"{outcome.run.label} ({r.epochs_done} epochs)"
            self.state.set_model(outcome.model, label)
        self.refresh_runs(select=outcome.run.id)
        self._update_inputs()
        self.training_finished.emit(r)
        if r.steps_done > 0 and r.reason in ("completed", "stopped", "early_stopping") and self.evaluate_check.isChecked():
            self.evaluate(outcome.model, self.runner.dataset)

    def _on_job_error(self, message: str) -> None:
        self._finish_timeline()
        self._message(f"Training could not run: {message}", "error")
        self.training_finished.emit(None)

    def _on_job_finished(self) -> None:
        self.pause_button.setChecked(False)
        self._update_buttons()

    # --- evaluation ------------------------------------------------------------------------
    def evaluate(self, model: Any, dataset: Any) -> None:
        """Evaluate ``model`` on the data set's test subset (or validation if there is no test subset)."""
        heads = getattr(self.runner.session, "heads", None) or []
        head = next((h.name for h in heads if h.target == "labels"), None)
        if head is None:  # a segmenter: its confusion matrix counts pixels
            head = next((h.name for h in heads if h.target == "masks"), None)
        if heads and head is None:
            self.results_view.show_no_labels_head([h.name for h in heads])
            return
        worker = self.results_view.evaluate(model, dataset, head=head)
        if worker is not None:
            worker.finished.connect(self._update_buttons)
            self._update_buttons()

    def _on_evaluated(self, res: Any) -> None:
        self.results_view.show_evaluation(res)

    def _keep_evaluation(self, res: Any) -> None:
        try:
            self.runner.keep_evaluation(res, self.results_view.subset, self.results_view.head)
        except ConvExplorerError as exc:
            self._message(f"Could not store the evaluation: {exc}", "warn")
        self.evaluation_finished.emit(res)

    def _on_gallery_clicked(self, item: QListWidgetItem) -> None:
        self.results_view.open_item(item)

    def _open_in_inspect(self, image: Any, label: str) -> None:
        self.state.image_array_opened.emit(image, label)
        self.state.show_panel.emit("inspect")

    def _on_best_to_inspect(self) -> None:
        if self.run_info is not None and self.run_info.has_best:
            self._load_run_model(self.run_info, "best")

    # --- runs -----------------------------------------------------------------------------
    def refresh_runs(self, select: str | None = None) -> None:
        """Re-read the runs folder into the list."""
        self.runs_view.refresh(select)

    def _on_show_run(self, run: Any) -> None:
        if not self.runner.running:
            self.show_run(run)

    def show_run(self, run: Any) -> None:
        """Draw a kept run's history on the charts and its stored evaluation summary."""
        from convexplorer.core.runs import load_history

        try:
            h = load_history(run)
        except ConvExplorerError as exc:
            self._message(str(exc), "error")
            return
        self._reset_live()
        self.live_charts.draw_history(h)
        if run.evaluation:
            self.results_view.show_kept(run.label, run.evaluation)
        self._message(f"Showing kept run “{run.label}”: {run.message}")

    def draw_history(self, h: History) -> None:
        """Put a whole history on the charts (reopened runs)."""
        self.live_charts.draw_history(h)

    def compare_runs(self, runs: list[Any]) -> None:
        """Overlay the per-epoch curves (validation if kept, else training) of ``runs`` on the charts."""
        from convexplorer.core.runs import load_history

        self.live_charts.clear_compared()
        self._compared = len(runs)
        for n, run in enumerate(runs):
            try:
                h = load_history(run)
            except ConvExplorerError as exc:
                self._message(str(exc), "warn")
                continue
            self.live_charts.overlay(n, run, h)
        if runs:
            self._message(f"Comparing {len(runs)} run(s) on the charts (coloured dots).")

    def _load_run_model(self, run: Any, which: str) -> None:
        worker = self.run_in_thread(load_model_job, run, which)
        if worker is None:
            return
        label = f"{run.label or run.id} ({'best checkpoint' if which == 'best' else 'final'})"
        worker.result.connect(lambda model: (self.state.set_model(model, label), self.state.show_panel.emit("inspect")))
        worker.error.connect(lambda m, d: self._message(m, "error"))

    def export_csv(self, run: Any, path: str | Path, per: str = "epoch") -> Path:
        """Write a run's history as CSV."""
        return self.runs_view.export_csv(run, path, per)

    def export_tensorboard(self, run: Any, folder: str | Path) -> Any:
        """Write a run's history as TensorBoard logs (on a worker); returns the worker."""
        return self.runs_view.export_tensorboard(run, folder)

    def _on_delete_run(self, run: Any) -> None:
        from convexplorer.core.runs import delete_run

        if self.runner.running:
            return
        if self.run_info is not None and run.id == self.run_info.id:
            self._message("This run is the current one: start a new run before deleting it.", "warn")
            return
        try:
            delete_run(run)
        except (ConvExplorerError, OSError) as exc:
            self._message(f"Could not delete the run: {exc}", "error")
        self.refresh_runs()

    # --- lifecycle -------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop training cleanly (window closing, tests): stop, wake a pause, join the workers."""
        self.runner.shutdown()
        super().shutdown()
