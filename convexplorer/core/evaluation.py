"""Honest results after training: test accuracy, confusion matrix, per-class precision/recall, mistakes.

Plain numpy (no scikit-learn). :func:`evaluate_model` runs the model on
batches by calling it directly (``model(x, training=False)``) so that it can
report progress and be cancelled between batches.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from .errors import ConvExplorerError
from .progress import ProgressFn, check_cancel, report


class EvaluationError(ConvExplorerError):
    """The model could not be evaluated on the given data."""


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of true class ``i`` predicted as class ``j`` (int64)."""
    t = np.asarray(y_true).astype(np.int64).reshape(-1)
    p = np.asarray(y_pred).astype(np.int64).reshape(-1)
    if t.shape != p.shape:
        raise EvaluationError(f"expected as many predictions as labels, received {p.size} predictions and {t.size} labels")
    k = int(num_classes)
    if k < 1:
        raise EvaluationError(f"number of classes must be at least 1, received {num_classes}")
    for name, arr in (("label", t), ("prediction", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            bad = int(arr[(arr < 0) | (arr >= k)][0])
            raise EvaluationError(f"{name} {bad} is outside the {k} classes (expected 0 to {k - 1})")
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def precision_recall(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 and support from a confusion matrix.

    A class never predicted has an undefined precision and a class with no
    examples an undefined recall: those are NaN (shown as "–"), not 0.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / denom, 0.0)
        f1 = np.where(np.isnan(denom), np.nan, f1)
    return precision, recall, f1, support.astype(np.int64)


@dataclass
class EvaluationResult:
    """Predictions of a model on a labelled set, and what follows from them."""

    y_true: np.ndarray
    y_pred: np.ndarray
    #: Probability the model gave to its predicted class, per example.
    confidence: np.ndarray
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    class_names: list[str] = field(default_factory=list)
    #: Mean loss (sparse categorical cross-entropy on the model's outputs), NaN if unknown.
    loss: float = math.nan
    #: Positions (into the evaluated order, or ``indices`` if given) of wrong predictions, most confident first.
    misclassified: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: True for a segmentation: the confusion matrix counts pixels (``y_true``/``y_pred`` are then empty).
    per_pixel: bool = False
    #: Per-class IoU (segmentation; NaN for a class in neither masks) and their mean over the classes present.
    iou: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mean_iou: float = math.nan

    @property
    def accuracy(self) -> float:
        """Fraction of correct predictions (of pixels, for a segmentation)."""
        n = int(self.confusion.sum()) if self.per_pixel else int(self.y_true.size)
        return float(np.trace(self.confusion)) / n if n else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (no per-example arrays except the misclassified indices)."""

        def lst(a: np.ndarray) -> list[Any]:
            return [None if isinstance(v, float) and not math.isfinite(v) else v for v in a.tolist()]

        return {
            "accuracy": self.accuracy,
            "loss": self.loss if math.isfinite(self.loss) else None,
            "class_names": list(self.class_names),
            "confusion": self.confusion.tolist(),
            "precision": lst(self.precision),
            "recall": lst(self.recall),
            "f1": lst(self.f1),
            "support": self.support.tolist(),
            "misclassified": self.misclassified.tolist(),
            "n": int(self.confusion.sum()) if self.per_pixel else int(self.y_true.size),
            **({"per_pixel": True, "iou": lst(self.iou), "mean_iou": self.mean_iou if math.isfinite(self.mean_iou) else None}
               if self.per_pixel else {}),
        }


def summarize(
    y_true: Sequence[int],
    probabilities: np.ndarray,
    class_names: Sequence[str] | None = None,
    indices: Sequence[int] | None = None,
) -> EvaluationResult:
    """Build an :class:`EvaluationResult` from labels and the model's class scores (N x K)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    t = np.asarray(y_true).astype(np.int64).reshape(-1)
    if probs.ndim != 2 or probs.shape[0] != t.size:
        raise EvaluationError(
            f"expected class scores of shape ({t.size}, number of classes), received {tuple(probs.shape)}"
        )
    k = probs.shape[1]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise EvaluationError(f"the model outputs {k} classes but the data set has {len(names)} class names")
    pred = probs.argmax(axis=1) if probs.size else np.zeros(0, np.int64)
    conf = probs[np.arange(t.size), pred] if t.size else np.zeros(0)
    cm = confusion_matrix(t, pred, k)
    precision, recall, f1, support = precision_recall(cm)
    loss = math.nan
    if t.size and np.all(probs >= 0) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        loss = float(-np.mean(np.log(np.clip(probs[np.arange(t.size), t], 1e-7, 1.0))))
    wrong = np.flatnonzero(pred != t)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")]
    if indices is not None:
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size != t.size:
            raise EvaluationError(f"expected {t.size} indices, received {idx.size}")
        wrong = idx[wrong]
    return EvaluationResult(
        y_true=t,
        y_pred=pred.astype(np.int64),
        confidence=conf,
        confusion=cm,
        precision=precision,
        recall=recall,
        f1=f1,
        support=support,
        class_names=names,
        loss=loss,
        misclassified=wrong.astype(np.int64),
    )


def _batches(data: Any, batch_size: int) -> tuple[Iterable[tuple[Any, Any]], Optional[int]]:
    if isinstance(data, (tuple, list)) and len(data) == 2 and not hasattr(data[0], "element_spec"):
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if len(x) != len(y):
            raise EvaluationError(f"expected as many labels as images, received {len(x)} images and {len(y)} labels")
        n = len(x)
        return ((x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, n, batch_size)), math.ceil(n / batch_size)
    if hasattr(data, "element_spec"):
        card = int(data.cardinality().numpy())
        return data, (card if card > 0 else None)
    raise EvaluationError(
        f"expected a tf.data.Dataset of (images, labels) batches or a pair (images, labels), received {type(data).__name__}"
    )


def evaluate_model(
    model: Any,
    data: Any,
    class_names: Sequence[str] | None = None,
    indices: Sequence[int] | None = None,
    batch_size: int = 64,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> EvaluationResult:
    """Run ``model`` on labelled ``data`` (arrays or a batched tf.data set) and summarize.

    ``indices`` (e.g. the data set's test-subset indices, in the order the
    data is served) map the misclassified positions back to data-set indices.
    """
    import keras

    batches, total = _batches(data, int(batch_size))
    labels: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    done = 0
    for xb, yb in batches:
        check_cancel(cancel)
        out = model(xb, training=False)
        out = keras.ops.convert_to_numpy(out)
        if out.ndim != 2:
            raise EvaluationError(f"expected the model to output class scores (batch, classes), received shape {out.shape}")
        if out.shape[1] == 1:  # a single sigmoid unit: two classes
            out = np.concatenate([1.0 - out, out], axis=1)
        elif not (np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0, atol=1e-3)):
            out = keras.ops.convert_to_numpy(keras.ops.softmax(out, axis=-1))  # logits
        scores.append(out)
        labels.append(np.asarray(yb).reshape(-1))
        done += 1
        report(progress, done, total or done, "evaluating")
    if not scores:
        raise EvaluationError("there are no test images to evaluate on")
    return summarize(np.concatenate(labels), np.concatenate(scores), class_names, indices)


def pixel_confusion(true_masks: Any, pred_masks: Any, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of pixels of true class ``i`` predicted as class ``j`` (int64), over any number of masks."""
    t = np.asarray(true_masks).astype(np.int64).reshape(-1)
    p = np.asarray(pred_masks).astype(np.int64).reshape(-1)
    if t.shape != p.shape:
        raise EvaluationError(
            f"expected predicted masks of the same shape as the true ones, received {np.shape(pred_masks)} and "
            f"{np.shape(true_masks)}"
        )
    return confusion_matrix(t, p, num_classes)


def summarize_pixels(cm: np.ndarray, class_names: Sequence[str] | None = None) -> EvaluationResult:
    """A segmentation's :class:`EvaluationResult` from its per-pixel confusion matrix (IoU per class and mean)."""
    cm = np.asarray(cm, np.int64)
    k = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise EvaluationError(f"the model outputs {k} classes a pixel but the data set has {len(names)} class names")
    precision, recall, f1, support = precision_recall(cm)
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / np.where(union > 0, union, 1), np.nan)
    present = ~np.isnan(iou)
    empty = np.zeros(0, np.int64)
    return EvaluationResult(
        y_true=empty, y_pred=empty, confidence=np.zeros(0), confusion=cm, precision=precision, recall=recall,
        f1=f1, support=support, class_names=names, per_pixel=True, iou=iou,
        mean_iou=float(iou[present].mean()) if present.any() else math.nan,
    )


def evaluate_segmentation(
    model: Any,
    data: Any,
    class_names: Sequence[str] | None = None,
    batch_size: int = 64,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> EvaluationResult:
    """Run a segmenter on ``data`` (batches of (images, class masks)): the per-pixel confusion matrix, IoU per class."""
    import keras

    batches, total = _batches(data, int(batch_size))
    cm: np.ndarray | None = None
    done = 0
    for xb, yb in batches:
        check_cancel(cancel)
        out = keras.ops.convert_to_numpy(model(xb, training=False))
        if out.ndim != 4:
            raise EvaluationError(
                f"expected the model to output class scores a pixel (batch, height, width, classes), received shape {out.shape}"
            )
        part = pixel_confusion(np.asarray(yb), out.argmax(-1), out.shape[-1])
        cm = part if cm is None else cm + part
        done += 1
        report(progress, done, total or done, "evaluating")
    if cm is None:
        raise EvaluationError("there are no test images to evaluate on")
    return summarize_pixels(cm, class_names)
