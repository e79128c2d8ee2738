"""How the training panel writes numbers, durations and a run's one-line description."""

from __future__ import annotations

import math
from typing import Any, Optional


def fmt_time(seconds: Optional[float]) -> str:
    """``m:ss`` (or ``h:mm:ss``), "–" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def fmt_value(v: float, pct: bool = False) -> str:
    """A metric with three decimals (or a percentage), "–" when missing."""
    if v is None or not math.isfinite(v):
        return "–"
    return f"{100 * v:.1f}%" if pct else f"{v:.3f}"


def describe_run(label: str, dataset: Any, model: Any = None) -> str:
    """What a new run trains on what: the model (or design label), the data set, image size, augmentation."""
    if model is not None:
        text = f"{model.name} ({model.count_params():,} parameters) on {label.split(' on ', 1)[1]}"
    else:
        text = label
    h, w, c = dataset.image_shape
    text += f", {w}x{h}x{c}"
    text += ", augmented" if getattr(dataset, "augmentation", None) is not None else ", no augmentation"
    return text
