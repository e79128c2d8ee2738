"""Compare panel: two networks side by side, two confusion matrices, and the learning timeline.

- **Two models**: pick models A and B (the current model, any kept run's final
  model, best or per-epoch checkpoint, a ``.keras`` file, or a
  ``keras.applications`` network), and one image (opened, dropped, or picked in
  the Data panel). Each model's top-k, its Grad-CAM overlay and the feature
  maps of comparable layers (matched by relative depth) are shown next to
  each other.
- **Confusion matrices**: two runs' matrices side by side and their difference
  (green: better, red: worse). Click a cell to list its images; click an image
  to see its Grad-CAM for the predicted and for the true class.
- **Timeline**: replay a run's recorded timeline (:class:`TimelineView`).

All TensorFlow work runs in workers (``convexplorer.ui.workers``); this package
only draws results of :mod:`convexplorer.core.compare`.

Which file holds what:

- ``panel.py``: :class:`ComparePanel`, builds the three tabs and wires them to the app state;
- ``models_tab.py``: the "Two models" tab, and the comparison job it starts;
- ``sources.py``: the model-source picker (A and B), the sources offered, the loaded models kept;
- ``image_row.py``: the image compared on, the verdict, the Open / sample / Compare / Cancel buttons;
- ``side_by_side.py``: each model's Grad-CAM and top-k, and the feature maps of matched layers;
- ``confusion_tab.py``: the "Confusion matrices" tab: runs A and B, evaluation, opening a cell;
- ``diff_matrix.py``: :class:`DiffMatrixView`, the difference of two confusion matrices;
- ``cell_images.py``: the images behind a cell and one image's two Grad-CAMs;
- ``timeline_tab.py``: the "Timeline" tab around :class:`TimelineView`;
- ``jobs.py``: the functions that run in workers, and :class:`JobRunner` (one job at a time).

Its screenshot state is prepared in :mod:`convexplorer.ui.screenshots.compare`.
"""

from convexplorer.ui.panels.compare.cell_images import MAX_CELL_IMAGES
from convexplorer.ui.panels.compare.diff_matrix import DiffMatrixView
from convexplorer.ui.panels.compare.jobs import (
    MAX_EVAL_IMAGES,
    cams_for,
    compare_models,
    evaluate_pair,
    evaluation_images,
    load_pair,
)
from convexplorer.ui.panels.compare.panel import ComparePanel
from convexplorer.ui.panels.compare.sources import APPLICATION_CHOICES

__all__ = [
    "APPLICATION_CHOICES",
    "MAX_CELL_IMAGES",
    "MAX_EVAL_IMAGES",
    "ComparePanel",
    "DiffMatrixView",
    "cams_for",
    "compare_models",
    "evaluate_pair",
    "evaluation_images",
    "load_pair",
]
