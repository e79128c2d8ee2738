"""One training run at a time on a worker thread: launch, stop, pause, its events, its outcome.

Training runs on a worker thread (``convexplorer.ui.workers``) through
:class:`convexplorer.core.training.TrainingSession`. Its events arrive on the
training thread: batch events go into a deque that a GUI timer drains (~30 Hz)
and delivers as lists (the live charts redraw on their own throttled timers);
epoch, error and done events come as queued Qt signals. Nothing is drawn per
batch. :class:`TrainingRunner` also keeps the run's bookkeeping: session, kept
run, result, newest batch, runs finished.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from PySide6.QtCore import QObject, QTimer, Signal

from convexplorer.core.training import BatchEvent, DoneEvent, EpochEvent, ErrorEvent, TrainingResult, TrainingSettings
from convexplorer.ui.panels.training.bridge import TrainingBridge, TrainingControl
from convexplorer.ui.panels.training.jobs import JobOutcome, TrainingJob, run_training_job
from convexplorer.ui.workers import StartWork

#: How often the GUI takes the training thread's latest batch events (ms).
DRAIN_MS = 33


class TrainingRunner(QObject):
    """Runs TrainingJobs one at a time and reports what they do, on the GUI thread."""

    #: Batch events drained since the last delivery (a non-empty list, newest last).
    batches = Signal(object)
    #: An epoch ended (EpochEvent); the batches before it were delivered first.
    epoch_ended = Signal(object)
    #: Training raised (its history is kept, the job still ends): the error message.
    error_reported = Signal(str)
    #: A job ended with a kept run (JobOutcome); the runner's bookkeeping is already updated.
    succeeded = Signal(object)
    #: A job could not run: the error message.
    failed = Signal(str)
    #: The worker finished (after ``succeeded`` or ``failed``): nothing runs now.
    idle = Signal()

    def __init__(self, start: StartWork, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._start = start
        self.bridge = TrainingBridge()
        self.bridge.event.connect(self.handle_event)
        self.control = TrainingControl()
        #: The session of the last run (continued by :meth:`continue_job`), its kept run and result.
        self.session: Any = None
        self.run_info: Any = None
        self.last_result: Optional[TrainingResult] = None
        #: The newest batch event delivered (None before the first batch of a run).
        self.last_batch: Optional[BatchEvent] = None
        #: The data set and design of the last job launched.
        self.dataset: Any = None
        self.spec: Any = None
        self.running = False
        self.finished_runs = 0
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)

    # --- jobs ----------------------------------------------------------------------------
    def new_job(self, **fields: Any) -> TrainingJob:
        """A job for a new run (the previous session is let go): TrainingJob's fields but the plumbing."""
        self.session = None
        self.run_info = None
        self.control = TrainingControl()
        return TrainingJob(bridge=self.bridge, control=self.control, **fields)

    def continue_job(self, form: TrainingSettings, epochs: int) -> TrainingJob:
        """A job that trains the last session for ``epochs`` more epochs, with the callbacks chosen in ``form``."""
        self.control.reset()
        # Early stopping, learning-rate reduction and checkpoints come from the form as it is now;
        # the batch size belongs to the run's input pipeline and stays.
        settings = replace(
            self.session.settings,
            early_stopping=form.early_stopping, early_stopping_patience=form.early_stopping_patience,
            reduce_lr=form.reduce_lr, reduce_lr_patience=form.reduce_lr_patience,
            reduce_lr_factor=form.reduce_lr_factor, checkpoint=form.checkpoint,
        )
        return TrainingJob(
            dataset=self.dataset, settings=settings, bridge=self.bridge,
            control=self.control, spec=self.spec, session=self.session,
            label=self.run_info.label if self.run_info else "", epochs=epochs,
        )

    def launch(self, job: TrainingJob) -> bool:
        """Start ``job`` on a worker thread; False if the panel has shut down (nothing started)."""
        worker = self._start(run_training_job, job)
        if worker is None:
            return False
        self.dataset = job.dataset
        self.spec = job.spec
        self.running = True
        worker.result.connect(self._on_result)
        worker.error.connect(lambda message, _details: self.failed.emit(message))
        worker.finished.connect(self._on_finished)
        self._timer.start()
        return True

    def keep_evaluation(self, res: Any, subset: str, head: str | None = None) -> None:
        """Store an EvaluationResult of ``subset`` (of ``head``, for several outputs) with the last kept run, if any
        (raises ConvExplorerError)."""
        if self.run_info is not None:
            from convexplorer.core.runs import update_evaluation

            d = res.to_dict()
            d["subset"] = subset
            if head:
                d["head"] = head
            update_evaluation(self.run_info, d)

    def stop(self) -> None:
        """Ask the run to stop after its current batch."""
        self.control.stop()

    def shutdown(self) -> None:
        """Stop the run (waking a pause) and the drain timer; the panel joins the worker."""
        self.control.stop()
        self._timer.stop()

    # --- events --------------------------------------------------------------------------
    def forget_batches(self) -> None:
        """Drop the batches not delivered yet (the charts start afresh)."""
        self.last_batch = None
        self.bridge.take_batches()

    def drain(self) -> None:
        """Deliver the batch events queued since the last call (the timer calls it)."""
        batches = self.bridge.take_batches()
        if not batches:
            return
        self.last_batch = batches[-1]
        self.batches.emit(batches)

    def handle_event(self, event: Any) -> None:
        """Route an epoch, error or done event from the training thread."""
        if isinstance(event, EpochEvent):
            self.drain()
            self.epoch_ended.emit(event)
        elif isinstance(event, ErrorEvent):
            self.error_reported.emit(event.message)
        elif isinstance(event, DoneEvent):
            self.drain()

    def _on_result(self, outcome: JobOutcome) -> None:
        self.finished_runs += 1
        self.session = outcome.session
        self.run_info = outcome.run
        self.last_result = outcome.result
        self.succeeded.emit(outcome)

    def _on_finished(self) -> None:
        self.running = False
        self._timer.stop()
        self.drain()
        self.idle.emit()
