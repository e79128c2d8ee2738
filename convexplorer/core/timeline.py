"""The learning timeline: what a network sees of a few pinned images, epoch after epoch.

A :class:`TimelineRecorder` is a ``keras.callbacks.Callback`` (made on first
use, so this module imports without TensorFlow). Given a few *probe* images,
it records at the start of training and at the end of each epoch (or every
``every_n_batches`` batches):

- the class probabilities of each probe,
- its Grad-CAM map (for its true class when labels are given, else the top class),
- the feature maps of a couple of layers (downsampled, float16, a limited number of channels),
- the first convolution's kernels,
- and, only when asked (slower), the filter patterns of a few filters.

Recording runs in the training thread between batches, through the cached
extractors of :mod:`convexplorer.core.inspect` (never ``model.predict``). A
failure while recording never stops training: the recorder turns itself off
and keeps the message in :attr:`TimelineRecorder.error`.

The snapshots live in a :class:`Timeline`, saved compactly with
``np.savez_compressed`` (atomically: a temporary file, then ``os.replace``)
as ``timeline.npz`` in a run folder and loaded back by :meth:`Timeline.load`::

    rec = make_recorder(probes, probe_labels=labels, class_names=names, save_to=run_dir / TIMELINE_FILE)
    session = TrainingSession(model, train, callbacks=[rec])   # or model.fit(..., callbacks=[rec])
    timeline = Timeline.load(run_dir / TIMELINE_FILE)
"""

from __future__ import annotations

import io
import json
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .errors import Cancelled, ConvExplorerError

#: The timeline's file name in a run folder.
TIMELINE_FILE = "timeline.npz"
#: Version of the saved format.
TIMELINE_FORMAT = 1


class TimelineError(ConvExplorerError):
    """A timeline cannot be recorded, saved or read."""


# --------------------------------------------------------------------------- data
@dataclass
class Snapshot:
    """What the network made of the probes at one moment of training."""

    #: Where on the epoch axis: 0 before training, ``e + 1`` after epoch ``e``, ``e + b/n`` mid-epoch.
    position: float
    #: 0-based epoch during which it was taken (-1 before training).
    epoch: int
    #: Batches trained so far (over every ``fit`` of the model).
    step: int
    #: ``P x K`` class probabilities (float32).
    probabilities: np.ndarray
    #: ``P x h x w`` Grad-CAM maps in [0, 1] at the conv layer's resolution (float16).
    cams: np.ndarray
    #: Class each Grad-CAM map is for (``P`` ints).
    cam_classes: np.ndarray
    #: Layer name -> ``P x h x w x c`` feature maps (downsampled, float16).
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    #: First-layer kernels ``kh x kw x c_in x f`` (float16), or None.
    kernels: Optional[np.ndarray] = None
    #: ``N x s x s x C`` filter patterns in [0, 1] (uint8 / 255), or None when not asked for.
    patterns: Optional[np.ndarray] = None
    #: Keras logs at that moment (loss, accuracy, val_loss...) as floats.
    logs: dict[str, float] = field(default_factory=dict)
    #: Seconds the recording took.
    record_s: float = 0.0

    @property
    def label(self) -> str:
        """A short description: "before training", "epoch 3", "epoch 3, batch 40"."""
        if self.position <= 0:
            return "before training"
        if float(self.position).is_integer():
            return f"epoch {int(self.position)}"
        return f"epoch {self.epoch + 1} ({100 * (self.position - self.epoch):.0f} %)"


class Timeline:
    """The probes and their snapshots over training; saved as one compressed ``.npz``.

    Thread-safe for one writer (the training thread) and readers (the GUI):
    :meth:`append` and :meth:`snapshots` hold a lock.
    """

    def __init__(
        self,
        probes: np.ndarray,
        probe_labels: Sequence[int] | None = None,
        class_names: Sequence[str] | None = None,
        probe_names: Sequence[str] | None = None,
        model_name: str = "",
        kernel_layer: str = "",
        cam_layer: str = "",
        pattern_layer: str = "",
        pattern_filters: Sequence[int] = (),
    ) -> None:
        self.probes = display_probes(probes)
        n = self.probes.shape[0]
        self.probe_labels = None if probe_labels is None else np.asarray(probe_labels, np.int64).reshape(-1)
        if self.probe_labels is not None and self.probe_labels.size != n:
            raise TimelineError(f"expected one label per probe image ({n}), received {self.probe_labels.size}")
        self.class_names = [str(c) for c in (class_names or [])]
        self.probe_names = [str(p) for p in probe_names] if probe_names is not None else [f"probe {i + 1}" for i in range(n)]
        if len(self.probe_names) != n:
            raise TimelineError(f"expected one name per probe image ({n}), received {len(self.probe_names)}")
        self.model_name = model_name
        self.kernel_layer = kernel_layer
        self.cam_layer = cam_layer
        self.pattern_layer = pattern_layer
        self.pattern_filters = [int(f) for f in pattern_filters]
        #: Epoch-end metrics: key -> list of (position, value); filled even between snapshots.
        self.curve: dict[str, list[tuple[float, float]]] = {}
        self._snaps: list[Snapshot] = []
        self._lock = threading.Lock()

    # --- access -----------------------------------------------------------------
    def __len__(self) -> int:
        with self._lock:
            return len(self._snaps)

    @property
    def num_probes(self) -> int:
        """Number of probe images."""
        return int(self.probes.shape[0])

    def snapshots(self) -> list[Snapshot]:
        """A copy of the list of snapshots, oldest first."""
        with self._lock:
            return list(self._snaps)

    def __getitem__(self, i: int) -> Snapshot:
        with self._lock:
            return self._snaps[i]

    def append(self, snap: Snapshot) -> None:
        """Add a snapshot (positions must not go backwards)."""
        with self._lock:
            if self._snaps and snap.position < self._snaps[-1].position:
                raise TimelineError(
                    f"snapshots must come in training order: position {snap.position} after {self._snaps[-1].position}"
                )
            self._snaps.append(snap)

    def add_curve_point(self, position: float, logs: dict[str, float]) -> None:
        """Record epoch-end metrics (for the loss/accuracy curve)."""
        with self._lock:
            for k, v in logs.items():
                self.curve.setdefault(k, []).append((float(position), float(v)))

    def positions(self) -> np.ndarray:
        """Each snapshot's position on the epoch axis."""
        with self._lock:
            return np.array([s.position for s in self._snaps], np.float64)

    def layers(self) -> list[str]:
        """Names of the layers whose feature maps were recorded."""
        with self._lock:
            return list(self._snaps[0].maps) if self._snaps else []

    def class_name(self, index: int) -> str:
        """The class's name, or "class N"."""
        return self.class_names[index] if 0 <= index < len(self.class_names) else f"class {index}"

    def curve_arrays(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Positions and values of one metric of the curve (empty if never recorded)."""
        with self._lock:
            pts = list(self.curve.get(key, []))
        if not pts:
            return np.zeros(0), np.zeros(0)
        a = np.asarray(pts, np.float64)
        return a[:, 0], a[:, 1]

    def nearest(self, position: float) -> int:
        """Index of the snapshot closest to ``position`` (-1 when empty)."""
        pos = self.positions()
        if pos.size == 0:
            return -1
        return int(np.argmin(np.abs(pos - float(position))))

    # --- saving ---------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything as named numpy arrays (the ``.npz`` content)."""
        with self._lock:
            snaps = list(self._snaps)
            curve = {k: [list(p) for p in v] for k, v in self.curve.items()}
        meta = {
            "format": TIMELINE_FORMAT,
            "class_names": self.class_names,
            "probe_names": self.probe_names,
            "model_name": self.model_name,
            "kernel_layer": self.kernel_layer,
            "cam_layer": self.cam_layer,
            "pattern_layer": self.pattern_layer,
            "pattern_filters": self.pattern_filters,
            "layers": list(snaps[0].maps) if snaps else [],
            "logs": [s.logs for s in snaps],
            "curve": curve,
            "saved": time.time(),
        }
        out: dict[str, np.ndarray] = {
            "meta": np.frombuffer(json.dumps(_json_safe(meta)).encode("utf-8"), np.uint8),
            "probes": self.probes,
            "position": np.array([s.position for s in snaps], np.float64),
            "epoch": np.array([s.epoch for s in snaps], np.int64),
            "step": np.array([s.step for s in snaps], np.int64),
            "record_s": np.array([s.record_s for s in snaps], np.float32),
        }
        if self.probe_labels is not None:
            out["probe_labels"] = self.probe_labels
        if snaps:
            out["probabilities"] = np.stack([s.probabilities for s in snaps]).astype(np.float32)
            out["cams"] = _stack([s.cams for s in snaps], "Grad-CAM maps").astype(np.float16)
            out["cam_classes"] = np.stack([s.cam_classes for s in snaps]).astype(np.int64)
            for j, name in enumerate(meta["layers"]):
                out[f"map_{j}"] = _stack([s.maps[name] for s in snaps], f"maps of {name}").astype(np.float16)
            if all(s.kernels is not None for s in snaps):
                out["kernels"] = _stack([s.kernels for s in snaps], "kernels").astype(np.float16)
            with_patterns = [i for i, s in enumerate(snaps) if s.patterns is not None]
            if with_patterns:
                out["pattern_at"] = np.array(with_patterns, np.int64)
                out["patterns"] = _stack([snaps[i].patterns for i in with_patterns], "patterns")
        return out

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the timeline to ``path`` (``.npz``) atomically; returns the path."""
        target = Path(path)
        arrays = self.to_arrays()
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(buf.getvalue())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException as exc:  # any interruption (Ctrl+C too) must not leave the temporary file behind
            tmp.unlink(missing_ok=True)
            if not isinstance(exc, OSError):
                raise
            raise TimelineError(f"cannot save the timeline to {target}: {exc.strerror or exc}") from None
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Timeline":
        """Read a timeline written by :meth:`save`; :class:`TimelineError` if it is missing or damaged."""
        p = Path(path)
        if p.is_dir():
            p = p / TIMELINE_FILE
        if not p.is_file():
            raise TimelineError(f"no timeline recorded: {p} does not exist")
        try:
            with np.load(p, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise TimelineError(f"the timeline file {p.name} is damaged ({type(exc).__name__}: {exc})") from None
        if int(meta.get("format", 0)) > TIMELINE_FORMAT:
            raise TimelineError(
                f"{p.name} was written by a newer ConvExplorer (format {meta.get('format')}, this one reads {TIMELINE_FORMAT})"
            )
        try:
            tl = cls(
                data["probes"],
                data.get("probe_labels"),
                meta.get("class_names") or None,
                meta.get("probe_names"),
                meta.get("model_name", ""),
                meta.get("kernel_layer", ""),
                meta.get("cam_layer", ""),
                meta.get("pattern_layer", ""),
                meta.get("pattern_filters", ()),
            )
            tl.curve = {k: [(float(a), float(b)) for a, b in v] for k, v in (meta.get("curve") or {}).items()}
            layer_names = list(meta.get("layers") or [])
            logs = list(meta.get("logs") or [])
            pattern_at = {int(i): j for j, i in enumerate(data.get("pattern_at", np.zeros(0, np.int64)))}
            for i in range(int(data["position"].size)):
                tl._snaps.append(
                    Snapshot(
                        position=float(data["position"][i]),
                        epoch=int(data["epoch"][i]),
                        step=int(data["step"][i]),
                        probabilities=data["probabilities"][i],
                        cams=data["cams"][i],
                        cam_classes=data["cam_classes"][i],
                        maps={name: data[f"map_{j}"][i] for j, name in enumerate(layer_names)},
                        kernels=data["kernels"][i] if "kernels" in data else None,
                        patterns=data["patterns"][pattern_at[i]] if i in pattern_at else None,
                        logs={k: (math.nan if v is None else float(v)) for k, v in (logs[i] if i < len(logs) else {}).items()},
                        record_s=float(data["record_s"][i]),
                    )
                )
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise TimelineError(f"the timeline file {p.name} is damaged ({type(exc).__name__}: {exc})") from None
        return tl


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _stack(arrays: list[np.ndarray], what: str) -> np.ndarray:
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise TimelineError(f"the {what} changed shape during training ({', '.join(map(str, sorted(shapes)))}); cannot save them together")
    return np.stack(arrays)


def display_probes(probes: np.ndarray, max_side: int = 128) -> np.ndarray:
    """Probe images as ``uint8 P x H x W x C`` for display and saving (shrunk to ``max_side`` at most)."""
    arr = np.asarray(probes)
    if arr.ndim == 3:
        arr = arr[..., None] if arr.shape[-1] not in (1, 3) else arr[None]
    if arr.ndim != 4 or arr.shape[0] < 1 or arr.shape[-1] not in (1, 3):
        raise TimelineError(
            f"expected probe images as an array P x H x W x C (C = 1 or 3), received shape {np.shape(probes)}"
        )
    if arr.dtype != np.uint8:
        arr = (np.clip(np.asarray(arr, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    h, w = arr.shape[1:3]
    if max(h, w) > max_side:
        arr = np.stack([_resize_u8(im, max_side) for im in arr])
    return arr


def _resize_u8(img: np.ndarray, max_side: int) -> np.ndarray:
    from PIL import Image

    h, w = img.shape[:2]
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    pil = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
    out = np.asarray(pil.resize(size, Image.BILINEAR))
    return out[..., None] if out.ndim == 2 else out


def downsample_maps(maps: np.ndarray, max_side: int) -> np.ndarray:
    """Average-pool ``H x W x C`` maps by a whole factor until both sides are at most ``max_side``."""
    a = np.asarray(maps, np.float32)
    h, w = a.shape[:2]
    f = max(1, math.ceil(max(h, w) / max(1, int(max_side))))
    if f == 1:
        return a
    hh, ww = math.ceil(h / f) * f, math.ceil(w / f) * f
    if (hh, ww) != (h, w):
        a = np.pad(a, ((0, hh - h), (0, ww - w), (0, 0)), mode="edge")
    return a.reshape(hh // f, f, ww // f, f, a.shape[2]).mean(axis=(1, 3))


def channels_to_keep(n_channels: int, limit: int) -> np.ndarray:
    """Which channels to record: all when few, else ``limit`` spread evenly over the layer."""
    if n_channels <= limit:
        return np.arange(n_channels)
    return np.unique(np.linspace(0, n_channels - 1, int(limit)).round().astype(np.int64))


# --------------------------------------------------------------------------- recording
@dataclass
class RecorderSettings:
    """What a :class:`TimelineRecorder` records and how much of it (defaults are cheap)."""

    #: Record every N training batches instead of once per epoch (None: at each epoch end).
    every_n_batches: Optional[int] = None
    #: Layers whose feature maps are kept (None: the first and the last convolution).
    layers: Optional[list[str]] = None
    #: Feature maps are average-pooled down to at most this many pixels a side.
    map_size: int = 16
    #: At most this many channels of each layer are kept (spread evenly).
    max_channels: int = 16
    #: At most this many first-layer kernels are kept.
    max_kernels: int = 32
    #: Compute filter patterns (slow; off by default).
    patterns: bool = False
    #: Layer for the filter patterns (None: the Grad-CAM layer).
    pattern_layer: Optional[str] = None
    #: How many filters get a pattern.
    pattern_filters: int = 4
    #: Gradient-ascent steps per pattern.
    pattern_steps: int = 20
    #: Side of a pattern image (None: the model's input, at most 64).
    pattern_size: Optional[int] = None
    #: Grad-CAM layer (None: the last convolution).
    cam_layer: Optional[str] = None
    #: Take a snapshot before the first batch.
    record_initial: bool = True

    def validate(self) -> None:
        """Raise :class:`TimelineError` for a value out of range."""
        if self.every_n_batches is not None and int(self.every_n_batches) < 1:
            raise TimelineError(f"record every N batches: N must be at least 1, received {self.every_n_batches}")
        if self.map_size < 1 or self.max_channels < 1 or self.max_kernels < 1:
            raise TimelineError("map size, channel and kernel limits must be at least 1")
        if self.patterns and (self.pattern_filters < 1 or self.pattern_steps < 1):
            raise TimelineError("filter patterns need at least 1 filter and 1 step")


def record_snapshot(
    model: Any,
    probes: np.ndarray,
    settings: RecorderSettings,
    layers: Sequence[str],
    cam_layer: str,
    probe_labels: np.ndarray | None = None,
    position: float = 0.0,
    epoch: int = -1,
    step: int = 0,
    logs: dict[str, float] | None = None,
    cancel: Optional[threading.Event] = None,
) -> Snapshot:
    """One snapshot of ``model`` on the (model-ready, float) ``probes``."""
    from . import inspect as ins

    t0 = time.perf_counter()
    try:
        probs, cams, classes, raw = _batched_pass(model, probes, layers, cam_layer, probe_labels)
    except Exception:  # noqa: BLE001 - an inspect internal changed or a model we cannot batch: the public path
        probs, cams, classes, raw = _per_probe_pass(model, probes, layers, cam_layer, probe_labels)
    maps: dict[str, np.ndarray] = {}
    for name, batch in zip(layers, raw):
        keep = channels_to_keep(batch.shape[-1], settings.max_channels)
        maps[name] = np.stack([downsample_maps(m[..., keep], settings.map_size) for m in batch]).astype(np.float16)
    kernels = None
    try:
        _name, k = ins.first_layer_kernels(model, probes.shape[1:])
        kernels = np.asarray(k[..., : settings.max_kernels], np.float16)
    except ins.InspectError:
        kernels = None
    patterns = None
    if settings.patterns:
        fixed = ins.input_shape(model)
        size = settings.pattern_size or min(64, int(fixed[0]) if fixed and fixed[0] else int(probes.shape[1]))
        pl = settings.pattern_layer or cam_layer
        n = ins.feature_maps(model, probes[0], [pl])[0][1].shape[-1]
        filt = list(channels_to_keep(n, settings.pattern_filters))
        try:
            pats = ins.filter_patterns(model, pl, filt, steps=settings.pattern_steps, size=size, cancel=cancel)
            patterns = (np.clip(pats, 0, 1) * 255 + 0.5).astype(np.uint8)
        except Cancelled:
            patterns = None
    return Snapshot(
        position=float(position),
        epoch=int(epoch),
        step=int(step),
        probabilities=np.asarray(probs, np.float32),
        cams=np.asarray(cams, np.float16),
        cam_classes=np.asarray(classes, np.int64),
        maps=maps,
        kernels=kernels,
        patterns=patterns,
        logs=dict(logs or {}),
        record_s=time.perf_counter() - t0,
    )


def _per_probe_pass(
    model: Any, probes: np.ndarray, layers: Sequence[str], cam_layer: str, labels: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Probabilities, coarse Grad-CAMs, their classes and raw maps, one probe at a time (public inspect API)."""
    from . import inspect as ins

    probs, cams, classes = [], [], []
    raw: list[list[np.ndarray]] = [[] for _ in layers]
    for i, img in enumerate(probes):
        label = None if labels is None else int(labels[i])
        cam = ins.grad_cam_details(model, img, class_index=label, layer_name=cam_layer)
        probs.append(cam.probabilities.astype(np.float32))
        cams.append(cam.coarse)
        classes.append(cam.class_index)
        if layers:
            for j, (_name, fmap) in enumerate(ins.feature_maps(model, img, list(layers))):
                raw[j].append(fmap)
    return np.stack(probs), np.stack(cams), np.asarray(classes), [np.stack(r) for r in raw]


_batched_models: "weakref.WeakKeyDictionary[Any, dict[Any, Any]]" = weakref.WeakKeyDictionary()


def _batched_pass(
    model: Any, probes: np.ndarray, layers: Sequence[str], cam_layer: str, labels: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """The same as :func:`_per_probe_pass` in ONE forward/backward pass over all probes (a cached tf.function).

    Grad-CAM as in :func:`convexplorer.core.inspect.grad_cam_details` (class
    score before the softmax, gradients averaged per channel, weighted sum,
    ReLU, divided by its maximum), on inspect's re-traced graph. One batched
    function instead of two per probe: a single trace at the first snapshot.
    """
    import keras
    import tensorflow as tf

    from . import inspect as ins

    shape = tuple(int(v) for v in probes.shape[1:])
    key = (shape, cam_layer, tuple(layers))
    per_model = _batched_models.setdefault(model, {})
    fn = per_model.get(key)
    if fn is None:
        trace = ins._get_trace(model, shape)
        i_cam = trace.index(cam_layer)
        if len(trace.logits.shape) != 2:
            raise TimelineError(f"expected a classifier with output (batch, classes), received {tuple(trace.output.shape)}")
        outs = [trace.records[i_cam].tensor, trace.logits, trace.output] + [trace.records[trace.index(n)].tensor for n in layers]
        sub = keras.Model(trace.inp, outs)

        def run(x: Any, cls: Any) -> Any:
            with tf.GradientTape() as tape:
                conv, scores, out, *maps = sub(x, training=False)
                top = tf.argmax(scores, axis=-1, output_type=tf.int32)
                c = tf.where(cls < 0, top, cls)
                score = tf.reduce_sum(tf.gather(scores, c, batch_dims=1))
            grads = tape.gradient(score, conv)
            weights = tf.reduce_mean(grads, axis=(1, 2))
            cam = tf.nn.relu(tf.reduce_sum(conv * weights[:, None, None, :], axis=-1))
            return cam, c, out, maps

        fn = per_model[key] = tf.function(run, reduce_retracing=True)
    cls_in = np.full(len(probes), -1, np.int32) if labels is None else np.asarray(labels, np.int32)
    cam_t, cls_t, out, maps = fn(tf.constant(np.asarray(probes, np.float32)), tf.constant(cls_in))
    cam = np.asarray(cam_t)
    cls = np.asarray(cls_t)
    peak = cam.reshape(len(cam), -1).max(axis=1)
    cam = np.where(peak[:, None, None] > 0, cam / np.where(peak > 0, peak, 1.0)[:, None, None], 0.0)
    probs = np.stack([ins._probabilities(row) for row in np.asarray(out)]).astype(np.float32)
    maps_np = [np.asarray(m) for m in maps]
    maps_np = [m[:, None, None, :] if m.ndim == 2 else m for m in maps_np]
    return probs, cam.astype(np.float32), np.asarray(cls), maps_np


def default_layers(model: Any, image_shape: Sequence[int]) -> list[str]:
    """The layers recorded by default: the first and the last convolution (one when there is only one)."""
    from . import inspect as ins

    convs = [info.name for info in ins.layers(model, image_shape) if info.is_conv and info.spatial]
    if not convs:
        spatial = [info.name for info in ins.layers(model, image_shape) if info.spatial]
        return spatial[:1]
    return convs[:1] if len(convs) == 1 else [convs[0], convs[-1]]


def _floats(logs: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for k, v in (logs or {}).items():
        try:
            out[str(k)] = float(np.asarray(v).reshape(-1)[0]) if np.ndim(v) else float(v)
        except (TypeError, ValueError):
            continue
    return out


_RecorderClass: Any = None


def TimelineRecorder(  # noqa: N802 - acts as a class
    probes: np.ndarray,
    every_n_batches: int | None = None,
    layers: list[str] | None = None,
    patterns: bool = False,
    probe_labels: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    probe_names: Sequence[str] | None = None,
    save_to: str | os.PathLike[str] | None = None,
    settings: RecorderSettings | None = None,
    timeline: Timeline | None = None,
    cancel: Optional[threading.Event] = None,
) -> Any:
    """A ``keras.callbacks.Callback`` recording a :class:`Timeline` of the ``probes`` while a model trains.

    ``probes`` are model-ready float images ``P x H x W x C``; ``probe_labels``
    (their true classes) make Grad-CAM show the evidence for the right class.
    ``save_to`` (a ``.npz`` path, e.g. ``run_dir / TIMELINE_FILE``) is
    rewritten after every epoch, so the timeline survives a crash. Pass an
    existing ``timeline`` to go on recording into it (a continued run).
    The callback class is created on first use (Keras is imported lazily).
    """
    global _RecorderClass
    if _RecorderClass is None:
        import keras

        _RecorderClass = _make_recorder_class(keras.callbacks.Callback)
    plain, per_batch = _RecorderClass
    s = settings or RecorderSettings()
    if settings is None or every_n_batches is not None:
        s.every_n_batches = every_n_batches
    if settings is None or layers is not None:
        s.layers = layers
    if settings is None or patterns:
        s.patterns = bool(patterns)
    s.validate()
    cls = per_batch if s.every_n_batches else plain
    return cls(probes, probe_labels, class_names, probe_names, save_to, s, timeline, cancel)


def _make_recorder_class(base: type) -> type:
    class _TimelineRecorder(base):  # type: ignore[misc, valid-type]
        """Keras callback recording snapshots of the probes (see :func:`TimelineRecorder`)."""

        def __init__(self, probes, probe_labels, class_names, probe_names, save_to, settings, timeline, cancel) -> None:
            super().__init__()
            arr = np.asarray(probes, np.float32)
            if arr.ndim == 3:
                arr = arr[None]
            if arr.ndim != 4 or arr.shape[0] < 1:
                raise TimelineError(f"expected probe images P x H x W x C, received shape {np.shape(probes)}")
            if arr.shape[0] > 16:
                raise TimelineError(f"pin at most 16 probe images, received {arr.shape[0]}")
            self.probes = arr
            self.probe_labels = None if probe_labels is None else np.asarray(probe_labels, np.int64).reshape(-1)
            self.settings: RecorderSettings = settings
            self.save_to = Path(save_to) if save_to is not None else None
            self.cancel = cancel
            if timeline is None:
                timeline = Timeline(arr, self.probe_labels, class_names, probe_names)
            elif timeline.num_probes != arr.shape[0]:
                raise TimelineError(
                    f"the timeline has {timeline.num_probes} probe images but {arr.shape[0]} were given to go on recording"
                )
            self.timeline: Timeline = timeline
            #: The message of a failure that turned recording off (None while fine).
            self.error: Optional[str] = None
            self._layers: list[str] | None = None
            self._cam_layer = ""
            self._steps = 0
            self._epoch = 0
            self._batch = 0
            self._spe: Optional[int] = None
            #: Seconds spent recording (and saving) in this recorder's life.
            self.record_s = 0.0

        # --- set-up --------------------------------------------------------------------
        def _prepare(self) -> None:
            from . import inspect as ins

            model = self.model
            shape = tuple(int(v) for v in self.probes.shape[1:])
            fixed = ins.input_shape(model)
            if fixed is not None and any(w is not None and w != g for w, g in zip(fixed, shape)):
                raise TimelineError(
                    f"the probe images are {'x'.join(map(str, shape))} but the model takes "
                    f"{'x'.join('?' if v is None else str(v) for v in fixed)}: prepare them for the model first"
                )
            self._cam_layer = self.settings.cam_layer or ins.default_conv_layer(model, shape)
            self._layers = list(self.settings.layers) if self.settings.layers is not None else default_layers(model, shape)
            tl = self.timeline
            tl.model_name = getattr(model, "name", "") or tl.model_name
            tl.cam_layer = self._cam_layer
            try:
                tl.kernel_layer = ins.first_layer_kernels(model, shape)[0]
            except ins.InspectError:
                tl.kernel_layer = ""
            if self.settings.patterns:
                tl.pattern_layer = self.settings.pattern_layer or self._cam_layer

        def _fail(self, exc: BaseException) -> None:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.error = f"timeline recording stopped: {text}"

        def _record(self, position: float, epoch: int, logs: dict[str, Any] | None) -> None:
            if self.error is not None:
                return
            t0 = time.perf_counter()
            try:
                if self._layers is None:
                    self._prepare()
                snap = record_snapshot(
                    self.model, self.probes, self.settings, self._layers or [], self._cam_layer,
                    self.probe_labels, position, epoch, self._steps, _floats(logs), self.cancel,
                )
                if self.settings.patterns and not self.timeline.pattern_filters and snap.patterns is not None:
                    from . import inspect as ins

                    n = ins.feature_maps(self.model, self.probes[0], [self.timeline.pattern_layer])[0][1].shape[-1]
                    self.timeline.pattern_filters = [int(f) for f in channels_to_keep(n, self.settings.pattern_filters)]
                self.timeline.append(snap)
            except Exception as exc:  # noqa: BLE001 - recording must never break training
                self._fail(exc)
            finally:
                self.record_s += time.perf_counter() - t0

        def _save(self) -> None:
            if self.save_to is None or not len(self.timeline):
                return
            t0 = time.perf_counter()
            try:
                self.timeline.save(self.save_to)
            except ConvExplorerError as exc:
                self._fail(exc)
            finally:
                self.record_s += time.perf_counter() - t0

        # --- keras hooks ---------------------------------------------------------------
        def _iterations(self) -> int:
            try:
                return int(np.asarray(self.model.optimizer.iterations))
            except Exception:  # noqa: BLE001 - no optimizer (not compiled): count ourselves
                return self._steps

        def on_train_begin(self, logs=None):
            self._spe = (self.params or {}).get("steps")
            self._steps = self._iterations()
            if self.settings.record_initial and not len(self.timeline):
                self._record(0.0, -1, None)

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = int(epoch)
            self._batch = 0

        def on_epoch_end(self, epoch, logs=None):
            if self._spe is None and self._batch:
                self._spe = self._batch
            self._steps = self._iterations()
            clean = _floats(logs)
            self.timeline.add_curve_point(epoch + 1.0, clean)
            self._record(epoch + 1.0, int(epoch), clean)
            self._save()

        def on_train_end(self, logs=None):
            self._save()

    class _BatchTimelineRecorder(_TimelineRecorder):
        """The recorder with a per-batch hook, for ``every_n_batches``.

        Kept separate because any ``on_train_batch_end`` makes Keras run the
        batch callbacks synchronously (no async dispatch), which costs
        throughput even when nothing is recorded.
        """

        def on_train_batch_end(self, batch, logs=None):
            self._steps += 1
            self._batch += 1
            self._seen = getattr(self, "_seen", 0) + 1
            n = self.settings.every_n_batches
            if n and self._seen % int(n) == 0:
                spe = self._spe or None
                if spe and self._batch >= spe:
                    return  # the epoch end records this moment
                frac = self._batch / spe if spe else 0.5
                self._record(self._epoch + min(frac, 0.999), self._epoch, logs)

    return _TimelineRecorder, _BatchTimelineRecorder


def make_recorder(probes: np.ndarray, **kwargs: Any) -> Any:
    """Same as :func:`TimelineRecorder` (a readable alias for call sites)."""
    return TimelineRecorder(probes, **kwargs)


def pick_probes(labels: Sequence[int], per_class: int = 1, max_probes: int = 8, seed: int = 0) -> np.ndarray:
    """Indices of a few probe samples: ``per_class`` of each class, at most ``max_probes`` (reproducible)."""
    y = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    by_class = {int(c): list(rng.permutation(np.flatnonzero(y == c))) for c in np.unique(y)}
    picked: list[int] = []
    for r in range(int(per_class)):
        for c in sorted(by_class):
            if r < len(by_class[c]) and len(picked) < max_probes:
                picked.append(int(by_class[c][r]))
    return np.asarray(picked, np.int64)


def probes_from_dataset(
    dataset: Any, per_class: int = 1, max_probes: int = 8, subset: str = "validation", seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Pin probe images from a data set: ``per_class`` of each class from ``subset`` (all samples if it is empty).

    Returns model-ready images ``P x H x W x C`` (the data set's delivered
    size and colour mode), their labels and names such as ``"#42 circle"``.
    """
    idx = np.asarray(dataset.subset_indices(subset), np.int64)
    if idx.size == 0:
        idx = np.arange(len(dataset), dtype=np.int64)
    if idx.size == 0:
        raise TimelineError("the data set is empty: there are no images to pin as probes")
    labels = np.asarray([dataset.label(int(i)) for i in idx], np.int64)
    chosen = idx[pick_probes(labels, per_class, max_probes, seed)]
    images = np.stack([np.asarray(dataset.image(int(i)), np.float32) for i in chosen])
    y = np.asarray([dataset.label(int(i)) for i in chosen], np.int64)
    names = [f"#{int(i)} {dataset.class_names[int(c)]}" for i, c in zip(chosen, y)]
    return images, y, names
