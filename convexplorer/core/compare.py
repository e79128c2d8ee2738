"""Two networks side by side: on one image, and on a whole test set.

- :func:`compare_on_image` runs two models on the same image: the top-k of
  each, the Grad-CAM of each, and the feature maps of comparable layers
  (matched by relative depth with :func:`match_by_depth`).
- :func:`confusion_difference` compares two confusion matrices: their
  difference (counts and row rates) and the cells that changed, largest first.
- :func:`cell_members` lists the examples in one confusion-matrix cell and
  :func:`cell_cams` gives each its Grad-CAM for the predicted and the true class.
- :func:`list_checkpoints` and :func:`load_source` find and open the models a
  user can pick: a run's final model, its best or per-epoch checkpoints, a
  ``.keras`` file or a ``keras.applications`` model.

TensorFlow and Keras are imported only inside the functions that need them.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .errors import ConvExplorerError
from .progress import ProgressFn, check_cancel, report


class CompareError(ConvExplorerError):
    """Two models or two results cannot be compared the way it was asked."""


# --------------------------------------------------------------------------- layer matching
def match_by_depth(names_a: Sequence[str], names_b: Sequence[str], max_pairs: int = 4) -> list[tuple[str, str]]:
    """Pair layers of two models by relative depth: first with first, last with last, evenly between.

    With ``n = min(len(a), len(b), max_pairs)`` pairs, pair ``i`` takes the
    layers at relative depth ``t = i / (n - 1)`` of each list, i.e. indices
    ``round(t * (len - 1))``. Equal-length lists of at most ``max_pairs``
    layers pair one to one.
    """
    la, lb = len(names_a), len(names_b)
    n = min(la, lb, int(max_pairs))
    if n <= 0:
        return []
    if n == 1:
        return [(names_a[-1], names_b[-1])]
    pairs = []
    for i in range(n):
        t = i / (n - 1)
        pairs.append((names_a[int(round(t * (la - 1)))], names_b[int(round(t * (lb - 1)))]))
    return pairs


def comparable_layers(
    model_a: Any, model_b: Any, shape_a: Sequence[int], shape_b: Sequence[int], max_pairs: int = 4
) -> list[tuple[str, str]]:
    """Pairs of convolution layers (spatial outputs) of two models, matched by relative depth."""
    from . import inspect as ins

    def convs(model: Any, shape: Sequence[int]) -> list[str]:
        infos = ins.layers(model, shape)
        names = [i.name for i in infos if i.is_conv and i.spatial]
        return names or [i.name for i in infos if i.spatial]

    return match_by_depth(convs(model_a, shape_a), convs(model_b, shape_b), max_pairs)


# --------------------------------------------------------------------------- one image
@dataclass
class ModelView:
    """What one model makes of the image."""

    name: str
    #: The image as the model got it, before ``preprocess`` (H x W x C in [0, 1]).
    image: np.ndarray
    #: (class index, label or None, probability), best first.
    topk: list[tuple[int, Optional[str], float]]
    #: Grad-CAM ``H x W`` in [0, 1] at the model's input size.
    cam: np.ndarray
    #: Grad-CAM at the conv layer's resolution (before upsampling).
    cam_coarse: np.ndarray
    cam_class: int
    cam_layer: str
    #: Feature maps ``H x W x C`` of the matched layers (at most ``max_channels`` channels each), in pair order.
    maps: list[tuple[str, np.ndarray]] = field(default_factory=list)
    #: Full class probabilities.
    probabilities: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def top_class(self) -> int:
        """Index of the most likely class."""
        return int(self.topk[0][0]) if self.topk else -1


@dataclass
class ImageComparison:
    """Two models on one image."""

    a: ModelView
    b: ModelView
    #: Matched layer names (layer of A, layer of B).
    pairs: list[tuple[str, str]]

    @property
    def same_top_class(self) -> bool:
        """True when both models predict the same class index."""
        return self.a.top_class == self.b.top_class

    def cam_difference(self) -> np.ndarray:
        """``cam_b - cam_a`` at a common size (A's), in [-1, 1]."""
        from .images import resize

        b = self.b.cam
        if b.shape != self.a.cam.shape:
            b = resize(b[..., None].astype(np.float32), self.a.cam.shape, keep_aspect=False)[..., 0]
        return np.clip(b, 0, 1) - self.a.cam


def _view(
    model: Any,
    name: str,
    image: np.ndarray,
    layers: Sequence[str],
    k: int,
    labels: Sequence[str] | None,
    preprocess: Callable[[np.ndarray], np.ndarray] | None,
    cam_class: int | None,
    max_channels: int,
) -> ModelView:
    from . import inspect as ins

    shown = ins.prepare_image(image, ins.input_shape(model))
    x = preprocess(shown) if preprocess is not None else shown
    probs = ins.predict(model, x)
    kk = max(1, min(int(k), probs.size))
    idx = np.argsort(-probs, kind="stable")[:kk]
    topk = [(int(i), (labels[i] if labels is not None and i < len(labels) else None), float(probs[i])) for i in idx]
    cls = cam_class if cam_class is not None and 0 <= cam_class < probs.size else None
    cam = ins.grad_cam_details(model, x, class_index=cls)
    maps = []
    if layers:
        for lname, fmap in ins.feature_maps(model, x, list(layers)):
            n = fmap.shape[-1]
            keep = np.arange(n) if n <= max_channels else np.unique(np.linspace(0, n - 1, max_channels).round().astype(int))
            maps.append((lname, fmap[..., keep]))
    return ModelView(name, shown, topk, cam.heatmap, cam.coarse, cam.class_index, cam.layer_name, maps, probs)


def compare_on_image(
    model_a: Any,
    model_b: Any,
    image: np.ndarray,
    k: int = 5,
    labels_a: Sequence[str] | None = None,
    labels_b: Sequence[str] | None = None,
    names: tuple[str, str] = ("A", "B"),
    preprocess_a: Callable[[np.ndarray], np.ndarray] | None = None,
    preprocess_b: Callable[[np.ndarray], np.ndarray] | None = None,
    cam_class: int | None = None,
    max_pairs: int = 4,
    max_channels: int = 16,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> ImageComparison:
    """Both models on one ``H x W x C`` image in [0, 1]: top-k, Grad-CAM and matched feature maps.

    The image is fitted to each model's input (size, channels) and then passed
    through that model's ``preprocess`` when given (e.g. a keras.applications
    ``preprocess_input``). Grad-CAM shows each model's top class, or
    ``cam_class`` for both when given (models with the same classes).
    """
    arr = np.asarray(image, np.float32)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise CompareError(f"expected one image H x W x C, received an array of shape {np.shape(image)}")
    shape_a = _shape_for(model_a, arr)
    shape_b = _shape_for(model_b, arr)
    report(progress, 0, 3, "matching layers")
    check_cancel(cancel)
    pairs = comparable_layers(model_a, model_b, shape_a, shape_b, max_pairs)
    report(progress, 1, 3, f"running {names[0]}")
    check_cancel(cancel)
    a = _view(model_a, names[0], arr, [p[0] for p in pairs], k, labels_a, preprocess_a, cam_class, max_channels)
    report(progress, 2, 3, f"running {names[1]}")
    check_cancel(cancel)
    b = _view(model_b, names[1], arr, [p[1] for p in pairs], k, labels_b, preprocess_b, cam_class, max_channels)
    report(progress, 3, 3, "done")
    return ImageComparison(a, b, pairs)


def _shape_for(model: Any, image: np.ndarray) -> tuple[int, int, int]:
    from . import inspect as ins

    fixed = ins.input_shape(model)
    if fixed is None:
        return tuple(int(v) for v in image.shape)  # type: ignore[return-value]
    h = fixed[0] if fixed[0] is not None else image.shape[0]
    w = fixed[1] if fixed[1] is not None else image.shape[1]
    c = fixed[2] if fixed[2] is not None else image.shape[2]
    return int(h), int(w), int(c)


# --------------------------------------------------------------------------- confusion matrices
@dataclass
class ConfusionDiff:
    """Two confusion matrices (A before, B after) and how B differs from A."""

    a: np.ndarray
    b: np.ndarray
    #: ``b - a`` in counts.
    diff: np.ndarray
    #: ``rates(b) - rates(a)``: row-normalised (fraction of each true class), robust to different test sizes.
    rate_diff: np.ndarray
    #: Cells whose count changed: (true, predicted, b - a), largest change first.
    changed: list[tuple[int, int, int]]
    class_names: list[str]

    @property
    def accuracy_a(self) -> float:
        """A's accuracy (trace / total)."""
        n = self.a.sum()
        return float(np.trace(self.a) / n) if n else float("nan")

    @property
    def accuracy_b(self) -> float:
        """B's accuracy (trace / total)."""
        n = self.b.sum()
        return float(np.trace(self.b) / n) if n else float("nan")

    def describe(self, limit: int = 3) -> str:
        """A sentence on the biggest changes, e.g. "square→circle −4, circle→circle +3"."""
        if not self.changed:
            return "the two confusion matrices are identical"
        bits = []
        for t, p, d in self.changed[:limit]:
            bits.append(f"{self.class_names[t]}→{self.class_names[p]} {'+' if d > 0 else '−'}{abs(d)}")
        return ", ".join(bits)


def _rates(cm: np.ndarray) -> np.ndarray:
    rows = cm.sum(axis=1, keepdims=True).astype(np.float64)
    return np.divide(cm, rows, out=np.zeros(cm.shape, np.float64), where=rows > 0)


def confusion_difference(
    cm_a: np.ndarray,
    cm_b: np.ndarray,
    class_names_a: Sequence[str] | None = None,
    class_names_b: Sequence[str] | None = None,
) -> ConfusionDiff:
    """Compare confusion matrices ``A`` and ``B`` (K x K counts, rows true, columns predicted)."""
    a = np.asarray(cm_a)
    b = np.asarray(cm_b)
    for name, m in (("first", a), ("second", b)):
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 1:
            raise CompareError(f"expected the {name} confusion matrix to be square (K x K), received shape {m.shape}")
        if np.any(m < 0) or not np.all(np.equal(np.mod(m, 1), 0)):
            raise CompareError(f"the {name} confusion matrix must hold counts (whole numbers of 0 or more)")
    if a.shape != b.shape:
        raise CompareError(
            f"the two runs have different numbers of classes: {a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]}; "
            "only runs on the same classes can be compared"
        )
    k = a.shape[0]
    na = [str(c) for c in class_names_a] if class_names_a else None
    nb = [str(c) for c in class_names_b] if class_names_b else None
    if na is not None and nb is not None and na != nb:
        raise CompareError(
            f"the two runs have different classes ({', '.join(na)} and {', '.join(nb)}); "
            "only runs on the same classes can be compared"
        )
    names = na or nb or [str(i) for i in range(k)]
    if len(names) != k:
        raise CompareError(f"expected {k} class names, received {len(names)}")
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    diff = b - a
    cells = [(int(t), int(p), int(diff[t, p])) for t, p in zip(*np.nonzero(diff))]
    cells.sort(key=lambda c: (-abs(c[2]), c[0], c[1]))
    return ConfusionDiff(a, b, diff, _rates(b) - _rates(a), cells, names)


def cell_members(
    y_true: Sequence[int], y_pred: Sequence[int], true_class: int, pred_class: int, indices: Sequence[int] | None = None
) -> np.ndarray:
    """The examples in one confusion-matrix cell: positions (or ``indices[...]``) with that true and predicted class."""
    t = np.asarray(y_true).reshape(-1)
    p = np.asarray(y_pred).reshape(-1)
    if t.shape != p.shape:
        raise CompareError(f"expected as many predictions as labels, received {p.size} and {t.size}")
    pos = np.flatnonzero((t == int(true_class)) & (p == int(pred_class)))
    if indices is None:
        return pos.astype(np.int64)
    idx = np.asarray(indices, np.int64).reshape(-1)
    if idx.size != t.size:
        raise CompareError(f"expected one index per example ({t.size}), received {idx.size}")
    return idx[pos]


@dataclass
class CellCam:
    """One example of a confusion-matrix cell with its two class maps."""

    image: np.ndarray
    true_class: int
    pred_class: int
    #: Grad-CAM for the predicted class and for the true class (H x W in [0, 1]).
    cam_pred: np.ndarray
    cam_true: np.ndarray
    probability_pred: float
    probability_true: float


def cell_cams(
    model: Any,
    images: Sequence[np.ndarray],
    true_class: int,
    pred_class: int,
    layer_name: str | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> list[CellCam]:
    """Grad-CAM of each image for the predicted and for the true class (one cell of a confusion matrix)."""
    from . import inspect as ins

    out = []
    n = len(images)
    for i, img in enumerate(images):
        check_cancel(cancel)
        x = np.asarray(img, np.float32)
        cp = ins.grad_cam_details(model, x, class_index=int(pred_class), layer_name=layer_name)
        ct = cp if int(true_class) == int(pred_class) else ins.grad_cam_details(model, x, int(true_class), layer_name)
        probs = cp.probabilities
        out.append(CellCam(x, int(true_class), int(pred_class), cp.heatmap, ct.heatmap,
                           float(probs[int(pred_class)]), float(probs[int(true_class)])))
        report(progress, i + 1, n, f"Grad-CAM {i + 1}/{n}")
    return out


# --------------------------------------------------------------------------- model sources
_EPOCH_RE = re.compile(r"^epoch_(\d+)\.keras$")


def list_checkpoints(run_dir: str | Path) -> list[tuple[str, Path]]:
    """The models kept in a run folder as (label, path): per-epoch checkpoints, the best one, the final one."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise CompareError(f"not a run folder: {folder}")
    out: list[tuple[str, Path]] = []
    epochs = []
    for p in folder.glob("*.keras"):
        m = _EPOCH_RE.match(p.name)
        if m:
            epochs.append((int(m.group(1)), p))
    for e, p in sorted(epochs):
        out.append((f"epoch {e}", p))
    if (folder / "best.keras").is_file():
        out.append(("best epoch", folder / "best.keras"))
    if (folder / "model.keras").is_file():
        out.append(("final model", folder / "model.keras"))
    return out


@dataclass
class ModelSource:
    """Where a model to compare comes from.

    ``kind`` is ``"file"`` (``path``: a .keras file, e.g. a run's checkpoint),
    ``"application"`` (``name``: a keras.applications model, ``weights``:
    None for random or "imagenet", ``input_shape`` optional) or ``"model"``
    (``model``: an in-memory keras.Model, e.g. the app's current model).
    """

    kind: str
    label: str = ""
    path: Optional[str] = None
    name: Optional[str] = None
    weights: Optional[str] = None
    input_shape: Optional[tuple[int, int, int]] = None
    model: Any = None
    class_names: Optional[list[str]] = None


@dataclass
class LoadedModel:
    """A model ready to compare: the model, its label, its class names and how to preprocess images."""

    model: Any
    label: str
    class_names: Optional[list[str]] = None
    preprocess: Optional[Callable[[np.ndarray], np.ndarray]] = None


def load_source(
    source: ModelSource, progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None
) -> LoadedModel:
    """Open the model a :class:`ModelSource` points at (safe mode for files; random or ImageNet weights for applications)."""
    check_cancel(cancel)
    if source.kind == "model":
        if source.model is None:
            raise CompareError("no current model: train, open or build one first")
        return LoadedModel(source.model, source.label or getattr(source.model, "name", "model"), source.class_names)
    if source.kind == "file":
        from .modelio import load_keras_model

        if not source.path:
            raise CompareError("no model file chosen")
        model = load_keras_model(source.path, compile=False, progress=progress, cancel=cancel)
        return LoadedModel(model, source.label or Path(source.path).name, source.class_names)
    if source.kind == "application":
        from . import zoo

        if not source.name:
            raise CompareError("no keras.applications model chosen")
        model = zoo.build_application(  # with its classifier: Grad-CAM and top-k need class scores
            source.name, weights=source.weights, include_top=True, input_shape=source.input_shape,
            progress=progress, cancel=cancel,
        )
        names = source.class_names
        name = source.name

        def prep(img: np.ndarray) -> np.ndarray:
            return zoo.preprocess(name, img)

        weights = "ImageNet" if source.weights else "random"
        return LoadedModel(model, source.label or f"{name} ({weights} weights)", names, prep)
    raise CompareError(f"model source must be 'model', 'file' or 'application', received {source.kind!r}")
