"""The "Boxes/masks" tab: a detector's boxes or a segmenter's mask over the image, ground truth beside it, and
Grad-CAM of a chosen box or class.

The model runs once per image (in a worker); the tab keeps its raw output (the
grid, or the per-pixel scores) and redraws at once when a slider or toggle
moves: the confidence and NMS-IoU sliders re-decode the kept grid with
``core.tasks.decode_detections`` (``decode_grid`` then class-wise NMS), with no
new model call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from convexplorer.core import tasks
from convexplorer.core.overlays import as_rgb, blend_mask, class_color, resize_mask
from convexplorer.ui.panels.inspect.task_canvas import TaskCanvas
from convexplorer.ui.widgets.box_painter import box_label
from convexplorer.ui.widgets.overlay_view import OverlayView


def _slider(value: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(0, 100)
    s.setValue(value)
    s.setFixedWidth(120)
    return s


class TaskTab(QWidget):
    """Sliders and toggles, the prediction and the ground truth side by side, Grad-CAM of a chosen box or class."""

    #: Grad-CAM asked for: a box (its index in :attr:`detections`) or a mask class.
    cam_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The last result (``task_jobs.task_prediction``) and the image it is for.
        self.result: dict | None = None
        #: Detections drawn now: boxes (fractions), scores, classes, cells (row, column, anchor).
        self.detections: dict[str, Any] = {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "classes": np.zeros(0, int),
                                           "cells": []}
        #: The predicted class mask drawn now (segmenters).
        self.mask: np.ndarray | None = None
        self._filling = False
        self.intro = QLabel("Open an image with a detector (grid output S x S x A x (5 + C)) or a segmenter "
                            "(H x W x classes) loaded: its boxes or mask appear here.")
        self.intro.setWordWrap(True)
        # detection controls
        self.det_row = QWidget()
        self.conf_slider, self.iou_slider = _slider(50), _slider(45)
        self.conf_value, self.iou_value = QLabel("0.50"), QLabel("0.45")
        self.conf_slider.setToolTip("Confidence: keep the boxes whose score (objectness x class probability) reaches it")
        self.iou_slider.setToolTip("Non-max suppression: a box overlapping a better one of its class by more than this "
                                   "IoU is dropped (1.00: none dropped)")
        self.grid_check = QCheckBox("Grid")
        self.heat_check = QCheckBox("Objectness")
        self.anchors_check = QCheckBox("Anchors")
        dl = QHBoxLayout(self.det_row)
        dl.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Confidence"), self.conf_slider, self.conf_value, QLabel("NMS IoU"), self.iou_slider,
                  self.iou_value, self.grid_check, self.heat_check, self.anchors_check):
            dl.addWidget(w)
        dl.addStretch(1)
        # segmentation controls
        self.seg_row = QWidget()
        self.opacity_slider = _slider(50)
        self.opacity_slider.setToolTip("How strongly the class colours cover the image")
        self.class_row = QHBoxLayout()
        self.class_checks: list[QCheckBox] = []
        sl = QHBoxLayout(self.seg_row)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("Opacity"))
        sl.addWidget(self.opacity_slider)
        sl.addWidget(QLabel("Classes"))
        sl.addLayout(self.class_row)
        sl.addStretch(1)
        # Grad-CAM target
        self.cam_row = QWidget()
        self.cam_label = QLabel("Grad-CAM of box")
        self.cam_combo = QComboBox()
        self.cam_combo.setMinimumWidth(220)
        cl = QHBoxLayout(self.cam_row)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.cam_label)
        cl.addWidget(self.cam_combo)
        cl.addStretch(1)
        # pictures
        self.pred_view = TaskCanvas("Prediction")
        self.truth_view = TaskCanvas("Ground truth")
        self.cam_view = OverlayView("Grad-CAM")
        views = QHBoxLayout()
        for v in (self.pred_view, self.truth_view, self.cam_view):
            views.addWidget(v, 1)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QVBoxLayout(self)
        for w in (self.intro, self.det_row, self.seg_row, self.cam_row):
            lay.addWidget(w)
        lay.addLayout(views, 1)
        lay.addWidget(self.caption)
        self.det_row.hide()
        self.seg_row.hide()
        self.cam_row.hide()
        for s in (self.conf_slider, self.iou_slider, self.opacity_slider):
            s.valueChanged.connect(self.redraw)
        for c in (self.grid_check, self.heat_check, self.anchors_check):
            c.toggled.connect(self.redraw)
        self.cam_combo.currentIndexChanged.connect(self._on_cam_choice)

    # --- settings read by the panel and tests ---------------------------------------------------
    def thresholds(self) -> tuple[float, float]:
        """(confidence, NMS IoU) set on the sliders."""
        return self.conf_slider.value() / 100.0, self.iou_slider.value() / 100.0

    def visible(self) -> np.ndarray:
        """The per-class toggles (segmenters): a bool per class."""
        return np.array([c.isChecked() for c in self.class_checks], bool)

    def opacity(self) -> float:
        """The mask opacity set."""
        return self.opacity_slider.value() / 100.0

    # --- results --------------------------------------------------------------------------------
    def clear(self, text: str = "") -> None:
        """Nothing to show (another model, no image)."""
        self.result = None
        self.mask = None
        self.pred_view.clear(text)
        self.truth_view.clear("")
        self.cam_view.set_base(None)
        self.caption.setText("")
        self.det_row.hide()
        self.seg_row.hide()
        self.cam_row.hide()
        self.intro.show()

    def show_result(self, result: dict) -> None:
        """Keep ``result`` (info, raw output, anchors, image, names, ground truth) and draw it."""
        self.result = result
        info = result["info"]
        self.intro.hide()
        det = info.task == "detection"
        self.det_row.setVisible(det)
        self.seg_row.setVisible(info.task == "segmentation")
        self.cam_row.setVisible(True)
        self.cam_label.setText("Grad-CAM of box" if det else "Grad-CAM of class")
        if info.task == "segmentation":
            self._fill_classes(result["names"])
        self.cam_view.set_base(result["image"])
        self.cam_view.set_heat(None)
        self.cam_view.set_subtitle("pick a box above: where its class logit comes from" if det
                                   else "pick a class above: where its pixels' scores come from")
        if det:  # a new image: no box chosen yet (box numbers mean other boxes now)
            self._filling = True
            self.cam_combo.setCurrentIndex(0)
            self._filling = False
        self.redraw()

    def _fill_classes(self, names: list[str]) -> None:
        if [c.text() for c in self.class_checks] == list(names):
            return
        for c in self.class_checks:
            self.class_row.removeWidget(c)
            c.hide()
            c.deleteLater()
        self.class_checks = []
        for k, name in enumerate(names):
            c = QCheckBox(name)
            r, g, b = class_color(k)
            c.setStyleSheet(f"QCheckBox {{ color: rgb({r},{g},{b}); font-weight: bold; }}")
            c.setChecked(k != 0)  # the background is left untinted
            c.setToolTip(f"Show or hide class {k} ({name}) in both masks")
            c.toggled.connect(self.redraw)
            self.class_row.addWidget(c)
            self.class_checks.append(c)

    def redraw(self, *_args: Any) -> None:
        """Draw the kept result with the sliders and toggles as they are now (no model call)."""
        r = self.result
        self.conf_value.setText(f"{self.thresholds()[0]:.2f}")
        self.iou_value.setText(f"{self.thresholds()[1]:.2f}")
        if r is None:
            return
        if r["info"].task == "detection":
            self._draw_detection(r)
        else:
            self._draw_segmentation(r)

    def _draw_detection(self, r: dict) -> None:
        info, names = r["info"], r["names"]
        grid = tasks.grid_of(r["raw"], info)
        conf, iou = self.thresholds()
        boxes, scores, classes = tasks.decode_detections(grid, r["anchors"], conf, iou)
        self.detections = {"boxes": boxes, "scores": scores, "classes": classes,
                           "cells": tasks.box_cells(grid, r["anchors"], boxes)}
        chosen = self.cam_combo.currentIndex() - 1 if self.cam_combo.count() else -1
        self._fill_boxes(names)
        chosen = chosen if 0 <= chosen < len(boxes) else -1
        centre = (0.5, 0.5)
        if chosen >= 0:
            b = boxes[chosen]
            centre = (float(b[0] + b[2]) / 2, float(b[1] + b[3]) / 2)
        rgb = as_rgb(r["image"])
        self.pred_view.draw(rgb, boxes, classes, scores, names,
                            grid_size=info.grid_size if self.grid_check.isChecked() else 0,
                            heat=tasks.objectness(grid) if self.heat_check.isChecked() else None,
                            anchors=r["anchors"] if self.anchors_check.isChecked() else None,
                            anchor_centre=centre, chosen=chosen)
        gt = r.get("truth")
        quality = ""
        if gt is not None and gt.get("boxes") is not None:
            m = tasks.matched_iou(gt["boxes"], gt["classes"], boxes, scores, classes)
            quality = f" · matched IoU {m:.2f}"
        self.pred_view.set_title(
            f"Prediction: {len(boxes)} boxes at confidence ≥ {conf:.2f}, NMS IoU {iou:.2f}{quality}")
        self._draw_truth(r, rgb)
        self.caption.setText(
            f"{info.describe()}. A box's score is objectness × its class probability; boxes below the confidence are "
            "hidden, and of two boxes of one class overlapping by more than the NMS IoU the weaker is dropped. "
            "The sliders re-read the same output: the model is not run again.")

    def _fill_boxes(self, names: list[str]) -> None:
        d = self.detections
        items = ["(none: pick a box)"] + [
            f"{n + 1}: {box_label(int(k), names, float(s))}" for n, (k, s) in enumerate(zip(d["classes"], d["scores"]))]
        if [self.cam_combo.itemText(i) for i in range(self.cam_combo.count())] == items:
            return
        keep = self.cam_combo.currentIndex()
        self._filling = True
        self.cam_combo.clear()
        self.cam_combo.addItems(items)
        self.cam_combo.setCurrentIndex(keep if 0 <= keep < len(items) else 0)
        self._filling = False

    def _draw_segmentation(self, r: dict) -> None:
        names = r["names"]
        rgb = as_rgb(r["image"])
        self.mask = tasks.mask_of(r["raw"])
        if self.mask.shape != rgb.shape[:2]:
            self.mask = resize_mask(self.mask, rgb.shape[:2])
        vis = self.visible()
        self.pred_view.draw(blend_mask(rgb, self.mask, self.opacity(), vis))
        miou = r.get("miou")
        self.pred_view.set_title("Prediction (argmax of the class scores)" +
                                 (f": mean IoU {miou:.2f}" if miou is not None else ""))
        self._draw_truth(r, rgb)
        if self.cam_combo.count() != len(names):
            self._filling = True
            self.cam_combo.clear()
            self.cam_combo.addItems([f"{k}: {n}" for k, n in enumerate(names)])
            self.cam_combo.setCurrentIndex(min(1, len(names) - 1))
            self._filling = False
        self.caption.setText(
            f"{r['info'].describe()}. Each pixel takes its most likely class; the toggles hide classes in both "
            "pictures." + (" Mean IoU: over the classes in either mask (255 = void is ignored)." if miou is not None
                           else ""))

    def _draw_truth(self, r: dict, rgb: np.ndarray) -> None:
        gt = r.get("truth")
        if gt is None:
            self.truth_view.clear(r.get("truth_note", "No ground truth: the image does not come from a data set with "
                                                      "boxes or masks (send one from the Data panel)."))
            return
        if gt.get("mask") is not None:
            m = resize_mask(gt["mask"], rgb.shape[:2])
            self.truth_view.draw(blend_mask(rgb, m, self.opacity(), self.visible() if self.class_checks else None))
        else:
            self.truth_view.draw(rgb, gt["boxes"], gt["classes"], None, r["names"])
        self.truth_view.set_title("Ground truth")

    def _on_cam_choice(self, index: int) -> None:
        if self._filling or self.result is None:
            return
        if self.result["info"].task == "detection":
            self.redraw()  # the chosen box is drawn thicker, the anchors centred on it
            if index >= 1:
                self.cam_requested.emit(index - 1)
        elif index >= 0:
            self.cam_requested.emit(index)

    def show_cam(self, cam: Any) -> None:
        """Draw a ``core.task_cam.TargetCam`` over the image, saying what it followed."""
        self.cam_view.set_heat(cam.heatmap)
        self.cam_view.set_subtitle(f"{cam.target} · layer {cam.layer_name}")
        self.caption.setText(self.caption.text().split(" Grad-CAM follows")[0] +
                             f" Grad-CAM follows {cam.target}, from layer {cam.layer_name}.")
