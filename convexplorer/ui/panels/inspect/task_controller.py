"""Wires the "Boxes/masks" and "Worst IoU" tabs into the Inspect panel: reads the model's task, runs the
model once per image in a worker, Grad-CAM of a chosen box or class, and the worst-images search with progress."""

from __future__ import annotations

from typing import Any

from convexplorer.core import tasks
from convexplorer.core.errors import ConvExplorerError
from convexplorer.ui.panels.inspect.task_jobs import class_names, task_cam, task_prediction, truth_of, worst_gallery
from convexplorer.ui.panels.inspect.task_tab import TaskTab
from convexplorer.ui.panels.inspect.worst_tab import WorstTab


class TaskInspector:
    """The task tabs of one Inspect panel and what they ask of it (the panel calls the ``model_changed``,
    ``image_changed`` and ``refresh`` hooks)."""

    def __init__(self, panel: Any) -> None:
        self.panel = panel
        self.tab = TaskTab()
        self.worst = WorstTab()
        #: The model's task (None: no model, or one that cannot be read).
        self.info: tasks.TaskInfo | None = None
        self.anchors: Any = None
        #: Explicit anchors (A x 2 fractions) set by code; None: the model's attribute or the data set's.
        self.given_anchors: Any = None
        #: Where the image comes from: (data set, index) or None.
        self.origin: tuple[Any, int] | None = None
        #: The name of the data set whose boxes gave the anchors (they are found again for another set).
        self._anchors_from: str | None = None
        #: A gallery position to open once the worst images are found (``show_worst_image``).
        self._open_when_found: int | None = None
        self.tab_index = panel.tabs.addTab(self.tab, "Boxes/masks")
        self.worst_index = panel.tabs.addTab(self.worst, "Worst IoU")
        panel.tabs.setTabToolTip(self.tab_index, "A detector's boxes or a segmenter's mask, ground truth beside it")
        panel.tabs.setTabToolTip(self.worst_index, "The images whose boxes or masks overlap the truth least")
        self._show_tabs()
        self.tab.cam_requested.connect(self._on_cam)
        self.worst.compute_requested.connect(self._on_worst)
        self.worst.image_clicked.connect(self._on_worst_clicked)

    # --- hooks -------------------------------------------------------------------------------------
    def dataset(self) -> Any:
        """The Data panel's data set (names, anchors, ground truth, the worst-images search)."""
        return getattr(self.panel.state, "dataset", None)

    def model_changed(self, model: Any) -> None:
        """Read the new model's task (from its output shapes and the data set's task) and its anchors."""
        self.tab.clear()
        self.worst.grid.clear()
        self.worst.result = None
        self.info, self.anchors = None, None
        ds = self.dataset()
        self.worst.data_label.setText(
            f"Data set: {getattr(ds, 'name', '')} (from the Data panel)" if ds is not None
            else "Load a data set with boxes or masks in the Data panel.")
        if model is None:
            self._show_tabs()
            return
        try:
            self.info = tasks.model_task(model, self.dataset())
        except ConvExplorerError as exc:
            self.panel._set_message(str(exc))
        if self.info is not None and self.info.task == "detection":
            try:
                self.anchors = tasks.detection_anchors(model, self.dataset(), self.given_anchors, self.info.num_anchors)
                self._anchors_from = getattr(self.dataset(), "name", None)
            except ConvExplorerError as exc:
                self.panel._set_message(str(exc))
        self._show_tabs()

    def dataset_changed(self) -> None:
        """The Data panel's set changed: read the task again (anchors only when there were none)."""
        model = self.panel.subject.model
        if model is None:
            return
        try:
            info = tasks.model_task(model, self.dataset())
        except ConvExplorerError:
            return
        from_data = info.task == "detection" and self.given_anchors is None and getattr(model, "anchors", None) is None
        other_boxes = from_data and getattr(self.dataset(), "name", None) != self._anchors_from
        if info != self.info or (info.task == "detection" and self.anchors is None) or other_boxes:
            self.model_changed(model)
            self.refresh()

    def image_changed(self, origin: tuple[Any, int] | None) -> None:
        """The image changed: remember where it comes from (its ground truth)."""
        self.origin = origin

    def true_box(self) -> Any:
        """The image's true box (fractions) when it comes from a data set with one box an image, else None."""
        if self.origin is None or self.panel.subject.image is None:
            return None
        truth = self._truth()
        if truth is None or truth.get("boxes") is None or len(truth["boxes"]) != 1:
            return None
        return truth["boxes"][0]

    def active(self) -> bool:
        """Whether the model is a detector or a segmenter (the "Boxes/masks" tab is on)."""
        return self.info is not None and self.info.task in ("detection", "segmentation")

    def summary(self) -> str:
        """What the side column says instead of the top 5."""
        if self.info is None:
            return ""
        what = "boxes are" if self.info.task == "detection" else "mask is"
        return f"{self.info.describe()}: its {what} in the “Boxes/masks” tab."

    def refresh(self) -> None:
        """Run the model on the current image (in a worker) and draw its boxes or mask."""
        s, info = self.panel.subject, self.info
        if not self.active() or not s.ready():
            return
        if info.task == "detection" and self.anchors is None:
            self.tab.clear("No anchors to decode the grid with: load the detector's data set in the Data panel.")
            return
        truth = self._truth()
        note = "" if truth is not None or self.origin is None else (
            "Ground truth not drawn: the image was letterboxed to fit the model's input, so its boxes or mask would "
            "not line up. Set the Data panel's image size to the model's.")
        names = class_names(info, self.origin[0] if self.origin is not None else self.dataset())
        self.panel.requests.submit("task", task_prediction, s.model, s.x, s.image, info, self.anchors, names, truth,
                                   note, on_result=self.tab.show_result)

    def _truth(self) -> dict | None:
        """The image's ground truth, unless the image was letterboxed (its aspect differs from the model input's)."""
        if self.origin is None:
            return None
        ds, i = self.origin
        h, w = ds.image_shape[:2]
        fh, fw = self.panel.subject.image.shape[:2]
        if abs(h / w - fh / fw) > 0.02:
            return None  # padded to fit the model: the true boxes and mask would not line up with the picture
        return truth_of(ds, i)

    # --- Grad-CAM of a box or class ------------------------------------------------------------------
    def _on_cam(self, choice: int) -> None:
        s, r = self.panel.subject, self.tab.result
        if r is None or not s.ready():
            return
        d = self.tab.detections
        self.panel.requests.submit("task_cam", task_cam, s.model, s.x, r, choice, list(d["cells"]),
                                   list(d["classes"]), on_result=self.tab.show_cam)

    # --- the worst images -----------------------------------------------------------------------------
    def _on_worst(self) -> None:
        s, info = self.panel.subject, self.info
        if s.model is None or info is None or info.task == "classification":
            self.panel._set_message("The worst-images gallery needs a class + box model, a detector or a segmenter.")
            return
        conf, iou = self.tab.thresholds()
        self.panel._start_job("worst", self.worst.job, worst_gallery, s.model, self.dataset(), info, self.anchors,
                              conf, iou, self.worst.k_spin.value(), self.worst.subset(),
                              on_result=self._on_worst_found)

    def show_worst_image(self, position: int = 0) -> None:
        """Open the ``position``-th worst image, finding the worst images first when the gallery is empty."""
        if self.worst.result is not None and position < len(self.worst.shown()):
            self._on_worst_clicked(position)
            return
        self._open_when_found = position
        if not self.worst.job.running():
            self._on_worst()

    def _on_worst_found(self, result: dict) -> None:
        self.worst.show_worst(result)
        position, self._open_when_found = self._open_when_found, None
        if position is not None and position < len(self.worst.shown()):
            self._on_worst_clicked(position)

    def _on_worst_clicked(self, position: int) -> None:
        r = self.worst.result
        if r is None:
            return
        t = r["tiles"][position]
        ds = r["source"]
        self.panel.set_image(t["image"], f"{getattr(ds, 'name', 'data set')} #{t['index']}", origin=(ds, t["index"]))
        if self.active():
            self.panel.tabs.setCurrentWidget(self.tab)

    def _show_tabs(self) -> None:
        tabs = self.panel.tabs
        tabs.setTabVisible(self.tab_index, self.active())
        tabs.setTabVisible(self.worst_index, self.info is not None and self.info.task != "classification")
