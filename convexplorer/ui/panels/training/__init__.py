"""The Training panel: train the designed model on the chosen data set and watch it learn.

One part a file:

* ``panel.py``: :class:`TrainingPanel` builds the parts and wires their
  signals; it keeps the API that lessons, tests and the main window use;
* ``controls.py``: :class:`TrainingControls`, the left column's top: inputs
  summary, settings (``form.py``: :class:`SettingsForm`), timeline probes,
  start/pause/stop/continue, progress and messages;
* ``charts.py``: :class:`LiveCharts`, the chart options and the loss,
  accuracy and learning-rate charts (live, kept and compared runs);
* ``results.py``: :class:`ResultsView` evaluates a model on held-out images
  and draws it: confusion matrix, per-class table, misclassified gallery;
* ``runs.py``: :class:`RunsView`, the kept runs list, its buttons, exports;
* ``runner.py``: :class:`TrainingRunner`, one run at a time on a worker: the
  batch drain, stop/pause, and the run's bookkeeping (session, kept run);
* ``jobs.py``: what runs on worker threads (train, evaluate, load, export);
* ``bridge.py``: :class:`TrainingBridge` and :class:`TrainingControl`, the
  plumbing between the training thread and the GUI;
* ``formatting.py``: numbers, durations and run descriptions as text.

Screenshot preparation lives in ``convexplorer/ui/screenshots/training.py``.
Run ``python -m convexplorer.ui.panels.training`` to show the panel alone.
"""

from convexplorer.ui.panels.training.bridge import TrainingBridge, TrainingControl
from convexplorer.ui.panels.training.jobs import JobOutcome, TrainingJob, evaluate_job, run_training_job
from convexplorer.ui.panels.training.panel import TrainingPanel

__all__ = [
    "JobOutcome",
    "TrainingBridge",
    "TrainingControl",
    "TrainingJob",
    "TrainingPanel",
    "evaluate_job",
    "run_training_job",
]
