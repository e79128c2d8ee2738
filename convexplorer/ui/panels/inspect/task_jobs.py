"""What the "Boxes/masks" and "Worst IoU" tabs run in workers: ``core.tasks`` / ``core.task_cam`` calls,
numpy and dicts out (no Qt)."""

from __future__ import annotations

from typing import Any

import numpy as np

from convexplorer.core import tasks
from convexplorer.core.overlays import annotate, resize_mask, sample_annotations

#: Images the worst-images gallery shows by default.
WORST_K = 24


def truth_of(dataset: Any, i: int) -> dict | None:
    """Sample ``i``'s ground truth for drawing: boxes as fractions of the image, classes, mask; None without any."""
    ann = sample_annotations(dataset, i)
    if ann["boxes"] is None and ann["mask"] is None:
        return None
    h, w = dataset.image_shape[:2]
    if ann["boxes"] is not None:
        ann["boxes"] = np.asarray(ann["boxes"], np.float32).reshape(-1, 4) / np.array([w, h, w, h], np.float32)
    return ann


def class_names(info: tasks.TaskInfo, dataset: Any) -> list[str]:
    """The data set's class names when they fit the model's classes, else "class k"."""
    names = list(getattr(dataset, "class_names", []) or [])
    if len(names) == info.num_classes:
        return names
    return [f"class {k}" for k in range(info.num_classes)]


def task_prediction(model: Any, x: np.ndarray, image: np.ndarray, info: tasks.TaskInfo, anchors: Any,
                    names: list[str], truth: dict | None, truth_note: str = "") -> dict:
    """One model call on ``x``: the raw output kept for redrawing, and (with a true mask) the image's mean IoU."""
    from convexplorer.core.metrics import segmentation_iou

    raw = tasks.raw_output(model, x, info.head)
    out = {"info": info, "raw": raw, "anchors": anchors, "image": image, "names": names, "truth": truth, "miou": None}
    if truth_note:
        out["truth_note"] = truth_note
    if info.task == "detection":
        tasks.grid_of(raw, info)  # a wrong shape is said now, not at the first redraw
    if info.task == "segmentation" and truth is not None and truth.get("mask") is not None:
        pred = tasks.mask_of(raw)
        true = resize_mask(truth["mask"], pred.shape)
        k = max(info.num_classes, int(true[true != 255].max(initial=0)) + 1)
        res = segmentation_iou(true, pred, k, ignore_class=255)
        out["miou"] = None if np.isnan(res["mean"]) else float(res["mean"])
    return out


def task_cam(model: Any, x: np.ndarray, result: dict, choice: int, cells: list, classes: Any) -> Any:
    """Grad-CAM of detection ``choice`` (its class logit at its cell and anchor) or of mask class ``choice``."""
    from convexplorer.core import task_cam as tc

    info = result["info"]
    head = info.head if tasks.output_count(model) > 1 else None  # one output: the trace's only head
    if info.task == "detection":
        grid = tasks.grid_of(result["raw"], info)
        return tc.box_grad_cam(model, x, grid.shape, cells[choice], int(classes[choice]), head=head)
    return tc.mask_grad_cam(model, x, result["raw"], int(choice), head=head)


def _pick_subset(dataset: Any, subset: str) -> tuple[str, np.ndarray]:
    for name in (subset, "validation", "test", "train"):
        idx = dataset.subset_indices(name)
        if len(idx):
            return name, idx
    return subset, np.zeros(0, np.int64)


def worst_gallery(model: Any, dataset: Any, info: tasks.TaskInfo, anchors: Any, score_threshold: float,
                  iou_threshold: float, k: int = WORST_K, subset: str = "validation", progress=None,
                  cancel=None) -> dict:
    """Score every image of ``subset`` (box IoU, mean IoU, or matched IoU for detections) and return the ``k`` worst
    with the prediction drawn on them (the mask tinted, boxes outlined in class colours)."""
    if dataset is None:
        raise tasks.TaskError("load a data set with boxes or masks in the Data panel first")
    want = tuple(int(v) for v in model.inputs[0].shape[1:3])
    have = tuple(dataset.image_shape[:2])
    if all(want) and want != have:
        raise tasks.TaskError(f"the model takes {want[1]}x{want[0]} images but the data set delivers "
                              f"{have[1]}x{have[0]}: set the Data panel's image size to {want[1]}x{want[0]}")
    used, idx = _pick_subset(dataset, subset)
    scores = tasks.image_scores(model, dataset, idx, info, anchors, score_threshold, iou_threshold,
                                progress=progress, cancel=cancel)
    worst = tasks.worst_images(idx, scores, k)
    tiles = []
    if worst:
        batch = np.stack([dataset.image(i) for i, _s in worst])
        raw = tasks.raw_outputs(model, batch, info.head)
        h, w = dataset.image_shape[:2]
        for (i, score), r in zip(worst, raw):
            img = batch[len(tiles)]
            if info.task == "segmentation":
                drawn = annotate(img, {"mask": tasks.mask_of(r)}, (h, w))
            elif info.task == "detection":
                b, _s, c = tasks.decode_detections(tasks.grid_of(r, info), anchors, score_threshold, iou_threshold)
                drawn = annotate(img, {"boxes": b * np.array([w, h, w, h]), "classes": c}, (h, w))
            else:
                drawn = annotate(img, {"boxes": np.asarray(r).reshape(1, 4) * np.array([w, h, w, h]),
                                       "classes": [0]}, (h, w))
            tiles.append({"index": i, "score": score, "image": img, "drawn": drawn})
    what = {"segmentation": "mean IoU", "detection": "matched IoU", "localization": "box IoU"}[info.task]
    return {"tiles": tiles, "subset": used, "count": len(idx), "metric": what, "scores": scores, "indices": idx,
            "mean": float(scores.mean()) if len(scores) else float("nan"), "source": dataset}
