"""Attribution maps beside Grad-CAM and saliency, and the randomization sanity check.

Methods (``METHODS``): gradient saliency and Grad-CAM (computed by
:mod:`convexplorer.core.inspect`), SmoothGrad (Smilkov et al. 2017), Integrated
Gradients (Sundararajan et al. 2017), Grad-CAM++ (Chattopadhay et al. 2018),
Score-CAM (Wang et al. 2020) and occlusion sensitivity (Zeiler & Fergus 2014).
Every map follows one score of one head: the pre-softmax score of a class
(None: the top class) of a classifier head, or a box coordinate (None: the sum
of the four) of a box head, exactly as :func:`inspect.grad_cam_details` does.

The models are re-traced by :mod:`convexplorer.core.inspect` (Sequential models
without an Input, functional models, nested bases, several heads); the loops
(noise samples, path steps, masks, patches) run in batches through cached
``tf.function`` calls, never ``model.predict``.

:func:`randomization_check` is the model-randomization test of Adebayo et al.
2018 ("Sanity checks for saliency maps"): re-initialise the weights of a copy
of the model from the top layer down and see how far the map moves (Spearman
rank correlation with the original map).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import inspect as ins
from .errors import ShapeError
from .progress import ProgressFn, check_cancel, report

#: The attribution methods, by the name :func:`attribution` takes.
METHODS: tuple[str, ...] = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "gradcam++", "scorecam",
                            "occlusion")
#: Methods whose map is signed before normalisation (``sign`` chooses what the [0, 1] map shows).
SIGNED_METHODS: tuple[str, ...] = ("integrated_gradients", "occlusion")
#: Methods that loop in batches (and take ``batch_size``; they report progress per batch).
LOOPING_METHODS: tuple[str, ...] = ("smoothgrad", "integrated_gradients", "scorecam", "occlusion")

_COMMON = ("head", "normalize", "progress", "cancel")
_LOOP = ("batch_size",)
OPTIONS: dict[str, tuple[str, ...]] = {
    "saliency": _COMMON,
    "gradcam": _COMMON + ("layer_name",),
    "gradcam++": _COMMON + ("layer_name",),
    "smoothgrad": _COMMON + _LOOP + ("samples", "noise", "seed"),
    "integrated_gradients": _COMMON + _LOOP + ("baseline", "steps", "sign"),
    "scorecam": _COMMON + _LOOP + ("layer_name", "channels"),
    "occlusion": _COMMON + _LOOP + ("patch", "stride", "fill", "sign"),
}


class AttributionError(ins.InspectError):
    """An attribution method or option that does not exist or cannot be used as asked."""


# --- shared machinery ------------------------------------------------------------------------


@dataclass
class _Target:
    trace: Any
    head: str
    kind: str
    index: int  # class / coordinate followed; -1: the sum of a box head's outputs
    weights: np.ndarray  # the score is scores @ weights (one-hot, or ones for the sum)


def _score_fn(trace: Any, head: str) -> Callable[..., Any]:
    """Cached tf.function: a batch of images -> the head's pre-softmax scores (B x n)."""
    scores_t = ins._class_scores(trace, head)

    def make() -> Callable[..., Any]:
        import keras

        m = keras.Model(trace.inp, scores_t)
        return ins._tf_function(lambda x: m(x, training=False))

    return trace.cached(("attr_scores", head), make)


def _grad_fn(trace: Any, head: str) -> Callable[..., Any]:
    """Cached tf.function: (images B x H x W x C, weights n) -> (d score_b / d image_b, scores)."""
    scores_t = ins._class_scores(trace, head)

    def make() -> Callable[..., Any]:
        import keras
        import tensorflow as tf

        m = keras.Model(trace.inp, scores_t)

        def run(x: Any, w: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                scores = m(x, training=False)
                total = tf.reduce_sum(scores * w[None, :])  # samples are independent: per-sample gradients
            return tape.gradient(total, x), scores

        return ins._tf_function(run)

    return trace.cached(("attr_grads", head), make)


def _conv_grad_fn(trace: Any, head: str, i: int) -> Callable[..., Any]:
    """Cached tf.function: (image, weights) -> (activations of record ``i``, d score / d activations, scores)."""
    scores_t = ins._class_scores(trace, head)

    def make() -> Callable[..., Any]:
        import keras
        import tensorflow as tf

        conv_t = trace.records[i].tensor
        try:  # as Grad-CAM: only the part above the layer runs under the tape
            body = keras.Model(trace.inp, conv_t)
            top = keras.Model(conv_t, scores_t)
        except Exception:  # noqa: BLE001 - a skip connection jumps the layer
            body = top = None
        whole = keras.Model(trace.inp, [conv_t, scores_t])

        def run(x: Any, w: Any) -> Any:
            if top is not None:
                conv = body(x, training=False)
                with tf.GradientTape() as tape:
                    tape.watch(conv)
                    scores = top(conv, training=False)
                    total = tf.reduce_sum(scores * w[None, :])
            else:
                with tf.GradientTape() as tape:
                    conv, scores = whole(x, training=False)
                    total = tf.reduce_sum(scores * w[None, :])
            return conv, tape.gradient(total, conv), scores

        return ins._tf_function(run)

    return trace.cached(("attr_conv_grads", head, i), make)


def _target(model: Any, batch: np.ndarray, shape: Any, head: str | None, class_index: int | None) -> _Target:
    trace = ins._get_trace(model, shape)
    hname = trace.head(head)
    kind = trace.head_kinds[hname]
    ins._class_scores(trace, hname)  # refuses heads that are not (batch, n)
    ins._check_target(trace, hname, class_index)
    n = int(trace.outputs[hname].shape[-1])
    if kind == "classes":
        if class_index is None:
            scores = np.asarray(_score_fn(trace, hname)(batch))[0]
            class_index = int(np.argmax(scores))
        w = np.zeros(n, np.float32)
        w[int(class_index)] = 1.0
        return _Target(trace, hname, kind, int(class_index), w)
    if class_index is None or int(class_index) < 0:
        return _Target(trace, hname, kind, -1, np.ones(n, np.float32))
    w = np.zeros(n, np.float32)
    w[int(class_index)] = 1.0
    return _Target(trace, hname, kind, int(class_index), w)


#: Activation bytes per batch for the attribution loops. Measured with benchmarks/inspect_speed.py
#: on a 2-core CPU: VGG16 at 224x224 (12.8 MB per image) ran occlusion at ~100 ms a patch in
#: batches of 4-8 against ~235 ms one at a time, and IG 220 vs 315 ms a step in batches of 4;
#: these loops batch well beyond the 1 MB that suits filter patterns' gradient ascent.
CPU_BATCH_BYTES = 64 << 20
GPU_BATCH_BYTES = 1 << 30
MAX_BATCH = 64


def auto_batch_size(trace: Any, n: int) -> int:
    """Images per batch for an attribution loop of ``n`` images: as many as fit the activation budget (1 to 64)."""
    import tensorflow as tf

    per_image = 4
    for r in trace.records:
        if ins._rank(r.tensor) < 0:
            continue
        dims = [d for d in r.tensor.shape[1:] if d is not None]
        per_image = max(per_image, 4 * int(np.prod(dims)) if dims else 4)
    budget = GPU_BATCH_BYTES if tf.config.list_logical_devices("GPU") else CPU_BATCH_BYTES
    return int(max(1, min(MAX_BATCH, n, budget // per_image)))


def _batch_size(trace: Any, n: int, batch_size: int | None) -> int:
    if batch_size is not None:
        if int(batch_size) < 1:
            raise AttributionError(f"the batch size must be at least 1, received {batch_size}")
        return int(batch_size)
    return auto_batch_size(trace, n)


def _normalise(m: np.ndarray, sign: str = "positive") -> np.ndarray:
    """A signed map -> [0, 1]: its positive part (``sign="positive"``) or magnitude (``"absolute"``) over its max."""
    if sign == "absolute":
        m = np.abs(m)
    elif sign == "positive":
        m = np.maximum(m, 0.0)
    else:
        raise AttributionError(f'sign must be "positive" or "absolute", received {sign!r}')
    top = float(m.max()) if m.size else 0.0
    return (m / top if top > 0 else np.zeros_like(m)).astype(np.float32)


def _upsample(coarse: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if coarse.shape == tuple(hw):
        return coarse.astype(np.float32)
    return ins._resize_map(coarse, hw)


def _conv_layer(model: Any, trace: Any, layer_name: str | None, purpose: str) -> int:
    name = layer_name or ins.default_conv_layer(model, trace.shape)
    return ins._spatial_record(trace, name, purpose)


# --- the methods -----------------------------------------------------------------------------


def smoothgrad(
    model: Any, image: np.ndarray, class_index: int | None = None, head: str | None = None, samples: int = 25,
    noise: float = 0.15, seed: int = 0, normalize: bool = True, batch_size: int | None = None,
    progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None,
) -> np.ndarray:
    """SmoothGrad: the mean of the saliency maps ``max_c |d score / d pixel|`` of noisy copies of the image.

    The noise is ``np.random.default_rng(seed).normal(0, sigma, (samples, H, W, C))`` with
    ``sigma = noise * (image.max() - image.min())`` (Smilkov et al. suggest 10-20 %).
    """
    batch, shape = ins._image_batch(model, image)
    tgt = _target(model, batch, shape, head, class_index)
    samples = int(samples)
    if samples < 1:
        raise AttributionError(f"SmoothGrad needs at least 1 sample, received {samples}")
    if noise < 0:
        raise AttributionError(f"the noise level must be 0 or more, received {noise}")
    x = batch[0]
    sigma = float(noise) * float(x.max() - x.min())
    eps = np.random.default_rng(seed).normal(0.0, sigma, (samples, *x.shape)).astype(np.float32)
    fn = _grad_fn(tgt.trace, tgt.head)
    bs = _batch_size(tgt.trace, samples, batch_size)
    total = np.zeros(x.shape[:2], np.float64)
    for start in range(0, samples, bs):
        check_cancel(cancel)
        g, _s = fn(x[None] + eps[start : start + bs], tgt.weights)
        total += np.abs(np.asarray(g)).max(axis=-1).sum(axis=0)
        report(progress, min(start + bs, samples), samples, f"SmoothGrad: {min(start + bs, samples)} of {samples} samples")
    m = (total / samples).astype(np.float32)
    return _normalise(m) if normalize else m


@dataclass(frozen=True)
class IntegratedGradients:
    """Integrated Gradients of one image: the raw signed map and the completeness figures."""

    #: Signed attributions summed over channels, H x W (unnormalised): they add up to about ``delta``.
    raw: np.ndarray
    #: The [0, 1] map (``sign``: its positive part or magnitude over the max).
    heatmap: np.ndarray
    score: float  # f(x): the followed pre-softmax score of the image
    baseline_score: float  # f(baseline)
    class_index: int
    steps: int

    @property
    def delta(self) -> float:
        """f(x) - f(baseline): what the attributions should add up to."""
        return self.score - self.baseline_score

    @property
    def total(self) -> float:
        """The sum of the raw attributions."""
        return float(np.sum(self.raw, dtype=np.float64))

    @property
    def gap(self) -> float:
        """|sum of attributions - (f(x) - f(baseline))|: how far the path integral is from complete."""
        return abs(self.total - self.delta)


def _baseline_array(baseline: Any, x: np.ndarray) -> np.ndarray:
    if baseline is None:
        return np.zeros_like(x)
    if np.isscalar(baseline):
        return np.full_like(x, float(baseline))
    b = np.asarray(baseline, np.float32)
    if b.ndim == 2 and x.ndim == 3 and x.shape[-1] == 1:
        b = b[..., None]
    try:
        return np.broadcast_to(b, x.shape).astype(np.float32)
    except ValueError:
        raise ShapeError(
            f"the baseline must be a number or an image of the input's shape {ins._fmt(x.shape)}, "
            f"received shape {ins._fmt(b.shape)}"
        ) from None


def integrated_gradients(
    model: Any, image: np.ndarray, class_index: int | None = None, head: str | None = None, baseline: Any = None,
    steps: int = 32, sign: str = "positive", batch_size: int | None = None, progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> IntegratedGradients:
    """Integrated Gradients along the straight path from ``baseline`` to the image (midpoint rule, ``steps`` points).

    ``raw[y, x] = sum_c (x - baseline)[y, x, c] * mean_k d score / d pixel at baseline + a_k (x - baseline)``
    with ``a_k = (k + 0.5) / steps``; the baseline is an image of the input's shape or a
    number (None: 0, a black image). ``raw`` sums to about f(x) - f(baseline); the gap
    shrinks as the steps grow.
    """
    batch, shape = ins._image_batch(model, image)
    tgt = _target(model, batch, shape, head, class_index)
    steps = int(steps)
    if steps < 1:
        raise AttributionError(f"Integrated Gradients needs at least 1 step, received {steps}")
    x = batch[0]
    base = _baseline_array(baseline, x)
    diff = x - base
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    fn = _grad_fn(tgt.trace, tgt.head)
    bs = _batch_size(tgt.trace, steps, batch_size)
    acc = np.zeros(x.shape, np.float64)
    for start in range(0, steps, bs):
        check_cancel(cancel)
        a = alphas[start : start + bs, None, None, None]
        g, _s = fn(base[None] + a * diff[None], tgt.weights)
        acc += np.asarray(g, np.float64).sum(axis=0)
        report(progress, min(start + bs, steps), steps, f"Integrated Gradients: {min(start + bs, steps)} of {steps} steps")
    raw = (diff * acc / steps).sum(axis=-1).astype(np.float32)
    ends = np.asarray(_score_fn(tgt.trace, tgt.head)(np.stack([x, base])), np.float64) @ tgt.weights
    return IntegratedGradients(raw, _normalise(raw, sign), float(ends[0]), float(ends[1]), tgt.index, steps)


def gradcam_plus_plus(
    model: Any, image: np.ndarray, class_index: int | None = None, head: str | None = None,
    layer_name: str | None = None, normalize: bool = True,
) -> np.ndarray:
    """Grad-CAM++ with the closed-form weights of Chattopadhay et al. (exponential of the score).

    With ``g = d score / d A`` at the conv layer: ``alpha = g^2 / (2 g^2 + sum_ij A * g^3)``
    (0 where ``g = 0``), ``w_k = sum_ij alpha * relu(g)``, map ``= relu(sum_k w_k A_k)``,
    upsampled bilinearly to the image.
    """
    batch, shape = ins._image_batch(model, image)
    tgt = _target(model, batch, shape, head, class_index)
    i = _conv_layer(model, tgt.trace, layer_name, "Grad-CAM++")
    conv, g, _s = _conv_grad_fn(tgt.trace, tgt.head, i)(batch, tgt.weights)
    a = np.asarray(conv, np.float64)[0]
    g = np.asarray(g, np.float64)[0]
    g2, g3 = g**2, g**3
    denom = 2.0 * g2 + a.sum(axis=(0, 1), keepdims=True) * g3
    alpha = np.where(g != 0, g2 / np.where(denom != 0, denom, 1.0), 0.0)
    w = (alpha * np.maximum(g, 0.0)).sum(axis=(0, 1))
    cam = np.maximum((a * w).sum(axis=-1), 0.0).astype(np.float32)
    heat = np.maximum(_upsample(cam, shape[:2]), 0.0)
    return _normalise(heat) if normalize else heat


def _scorecam_fn(trace: Any, head: str) -> Callable[..., Any]:
    """Cached tf.function: (image 1xHxWxC, coarse channel maps B x h x w, weights) -> the scores of the masked images."""
    scores_t = ins._class_scores(trace, head)

    def make() -> Callable[..., Any]:
        import keras
        import tensorflow as tf

        m = keras.Model(trace.inp, scores_t)

        def run(x: Any, maps: Any, w: Any) -> Any:
            up = tf.image.resize(maps[..., None], tf.shape(x)[1:3], method="bilinear")
            lo = tf.reduce_min(up, axis=(1, 2, 3), keepdims=True)
            hi = tf.reduce_max(up, axis=(1, 2, 3), keepdims=True)
            span = hi - lo
            masks = tf.where(span > 0, (up - lo) / tf.where(span > 0, span, 1.0), 0.0)
            scores = m(x * masks, training=False)
            return tf.reduce_sum(scores * w[None, :], axis=-1)

        return ins._tf_function(run)

    return trace.cached(("attr_scorecam", head), make)


def scorecam(
    model: Any, image: np.ndarray, class_index: int | None = None, head: str | None = None,
    layer_name: str | None = None, channels: int | None = None, normalize: bool = True,
    batch_size: int | None = None, progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None,
) -> np.ndarray:
    """Score-CAM: each channel of the conv layer, upsampled and scaled to [0, 1], masks the image.

    ``s_k`` = the score of ``image * mask_k`` (one forward pass per channel, batched),
    ``w = softmax(s)`` over the channels, map ``= relu(sum_k w_k A_k)`` upsampled to the
    image. ``channels`` (None: all) keeps the k channels whose activations vary most
    (as Faster Score-CAM does), for big layers on a CPU.
    """
    batch, shape = ins._image_batch(model, image)
    tgt = _target(model, batch, shape, head, class_index)
    i = _conv_layer(model, tgt.trace, layer_name, "Score-CAM")
    name = tgt.trace.records[i].name
    ((_n, acts),) = ins.feature_maps(model, batch[0], layers=[name])
    acts = np.asarray(acts, np.float32)  # h x w x K
    k_all = np.arange(acts.shape[-1])
    if channels is not None:
        if int(channels) < 1:
            raise AttributionError(f"Score-CAM needs at least 1 channel, received {channels}")
        var = acts.reshape(-1, acts.shape[-1]).var(axis=0)
        k_all = np.sort(np.argsort(-var, kind="stable")[: int(channels)])
    maps = np.ascontiguousarray(np.moveaxis(acts[..., k_all], -1, 0))  # K x h x w
    fn = _scorecam_fn(tgt.trace, tgt.head)
    bs = _batch_size(tgt.trace, len(k_all), batch_size)
    scores = np.empty(len(k_all), np.float64)
    for start in range(0, len(k_all), bs):
        check_cancel(cancel)
        scores[start : start + bs] = np.asarray(fn(batch, maps[start : start + bs], tgt.weights))
        done = min(start + bs, len(k_all))
        report(progress, done, len(k_all), f"Score-CAM: {done} of {len(k_all)} channels")
    e = np.exp(scores - scores.max())
    w = e / e.sum()
    cam = np.maximum((acts[..., k_all] * w).sum(axis=-1), 0.0).astype(np.float32)
    heat = np.maximum(_upsample(cam, shape[:2]), 0.0)
    return _normalise(heat) if normalize else heat


def _pair(v: Any, what: str) -> tuple[int, int]:
    a, b = (v, v) if np.isscalar(v) else tuple(v)
    if int(a) < 1 or int(b) < 1:
        raise AttributionError(f"the occlusion {what} must be at least 1 pixel, received {v}")
    return int(a), int(b)


def _positions(n: int, size: int, stride: int) -> list[int]:
    """Patch corners along one axis: every ``stride`` pixels, plus one flush with the far edge."""
    pos = list(range(0, n - size + 1, stride))
    if pos[-1] != n - size:
        pos.append(n - size)
    return pos


def occlusion(
    model: Any, image: np.ndarray, class_index: int | None = None, head: str | None = None,
    patch: int | Sequence[int] | None = None, stride: int | Sequence[int] | None = None, fill: float | str = 0.0,
    sign: str = "positive", normalize: bool = True, batch_size: int | None = None,
    progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None,
) -> np.ndarray:
    """Occlusion sensitivity: the score's drop when a patch of the image is covered, averaged per pixel.

    Patches of ``patch`` pixels (int or (h, w); None: 1/8 of the shorter side) slide by
    ``stride`` (None: half the patch), the last one flush with the far edge so every pixel
    is covered; a patch is filled with ``fill`` (a number, or "mean": the image's mean per
    channel). ``raw[y, x]`` = mean over the patches covering (y, x) of f(x) - f(occluded):
    positive where hiding the pixels lowers the score.
    """
    batch, shape = ins._image_batch(model, image)
    tgt = _target(model, batch, shape, head, class_index)
    h, w = int(shape[0]), int(shape[1])
    if patch is None:
        patch = max(1, min(h, w) // 8)
    ph, pw = _pair(patch, "patch")
    if ph > h or pw > w:
        raise AttributionError(f"the occlusion patch {ph}x{pw} is larger than the image {h}x{w}")
    sh, sw = _pair(stride if stride is not None else (max(1, ph // 2), max(1, pw // 2)), "stride")
    x = batch[0]
    if isinstance(fill, str):
        if fill != "mean":
            raise AttributionError(f'fill must be a number or "mean", received {fill!r}')
        value = x.mean(axis=(0, 1))
    else:
        value = np.full(x.shape[-1], float(fill), np.float32)
    corners = [(y, xx) for y in _positions(h, ph, sh) for xx in _positions(w, pw, sw)]
    fn = _score_fn(tgt.trace, tgt.head)
    base = float(np.asarray(fn(batch), np.float64)[0] @ tgt.weights)
    bs = _batch_size(tgt.trace, len(corners), batch_size)
    total = np.zeros((h, w), np.float64)
    count = np.zeros((h, w), np.float64)
    for start in range(0, len(corners), bs):
        check_cancel(cancel)
        chunk = corners[start : start + bs]
        occluded = np.repeat(batch, len(chunk), axis=0)
        for j, (y, xx) in enumerate(chunk):
            occluded[j, y : y + ph, xx : xx + pw, :] = value
        drops = base - np.asarray(fn(occluded), np.float64) @ tgt.weights
        for (y, xx), d in zip(chunk, drops):
            total[y : y + ph, xx : xx + pw] += d
            count[y : y + ph, xx : xx + pw] += 1
        done = start + len(chunk)
        report(progress, done, len(corners), f"Occlusion: {done} of {len(corners)} patches")
    raw = (total / np.maximum(count, 1)).astype(np.float32)
    return _normalise(raw, sign) if normalize else raw


# --- one entry point -------------------------------------------------------------------------


def attribution(model: Any, image: np.ndarray, method: str, class_index: int | None = None, **options: Any) -> np.ndarray:
    """An attribution map ``H x W`` (float32, the image's size) by ``method``; see :func:`convexplorer.core.inspect.attribution`."""
    key = str(method).strip().lower()
    if key not in METHODS:
        raise AttributionError(f"unknown attribution method {method!r}; choose one of: {', '.join(METHODS)}")
    allowed = OPTIONS[key]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise AttributionError(
            f"{key} takes no option {', '.join(map(repr, unknown))}; its options are: {', '.join(allowed)}"
        )
    opts = dict(options)
    normalize = bool(opts.pop("normalize", True))
    head = opts.pop("head", None)
    if key in ("saliency", "gradcam", "gradcam++"):  # one pass: cancel before it, progress after it
        progress, cancel = opts.pop("progress", None), opts.pop("cancel", None)
        check_cancel(cancel)
        if key == "saliency" or key == "gradcam":
            if not normalize:
                raise AttributionError(
                    f"{key} maps come normalised to [0, 1] only (normalize=False is for the other methods)")
            if key == "saliency":
                heat = ins.saliency(model, image, class_index, head=head)
            else:
                heat = ins.grad_cam(model, image, class_index, opts.get("layer_name"), head=head)
        else:
            heat = gradcam_plus_plus(model, image, class_index, head=head, normalize=normalize, **opts)
        report(progress, 1, 1, key)
        return heat
    if key == "integrated_gradients":
        res = integrated_gradients(model, image, class_index, head=head, **opts)
        return res.heatmap if normalize else res.raw
    fn = {"smoothgrad": smoothgrad, "scorecam": scorecam, "occlusion": occlusion}[key]
    return fn(model, image, class_index, head=head, normalize=normalize, **opts)


# --- the sanity check ------------------------------------------------------------------------


@dataclass(frozen=True)
class RandomizationStep:
    """One step of the randomization check: the map after re-initialising ``layer`` (and, cascading, those above)."""

    #: The layer re-initialised at this step ("" for the first entry: the copy before any change).
    layer: str
    #: Every layer whose weights are random at this step, top first.
    randomized: tuple[str, ...]
    #: Spearman rank correlation of this map with the original map (nan when either map is constant).
    correlation: float
    #: The method's map (as :func:`attribution` returns it) on the randomized copy.
    heatmap: np.ndarray


def weighted_layers(model: Any, image_shape: Sequence[int] | None = None) -> list[str]:
    """Names of the layers that hold weights (nested ones as ``outer/inner``), from the output down."""
    trace = ins._get_trace(model, ins._default_shape(model, image_shape))
    return [r.name for r in reversed(trace.records) if not ins._is_model(r.layer) and r.layer.weights]


def _copy_model(model: Any, shape: Sequence[int]) -> Any:
    import keras

    try:
        copy = keras.models.clone_model(model)
    except Exception:  # noqa: BLE001 - a model clone_model cannot rebuild
        try:
            copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
        except Exception as exc:  # noqa: BLE001
            raise AttributionError(
                f"the model cannot be copied for the randomization check ({type(exc).__name__}: {exc})"
            ) from None
    if len(copy.weights) != len(model.weights):  # a Sequential without an Input: build it on the image's shape
        try:
            copy(np.zeros((1, *shape), np.float32), training=False)
        except Exception:  # noqa: BLE001 - set_weights says what went wrong
            pass
    try:
        copy.set_weights(model.get_weights())
    except Exception as exc:  # noqa: BLE001
        raise AttributionError(f"the copy of the model does not take its weights ({exc})") from None
    return copy


def _reinitialise(layer: Any, seed: int) -> None:
    """Give ``layer``'s weights fresh values from its own initializers (seeded), or shuffle them when it has none."""
    import keras

    rng = np.random.default_rng(seed)
    for k, v in enumerate(layer.weights):
        wname = str(getattr(v, "name", "")).rsplit("/", 1)[-1].split(":")[0]
        names = [f"{wname}_initializer", f"{wname.replace('_kernel', '')}_initializer"]
        init = next((getattr(layer, n) for n in names if getattr(layer, n, None) is not None), None)
        shape = tuple(v.shape)
        values = None
        if init is not None:
            try:
                init = keras.initializers.get(init)
                cfg = init.get_config()
                if "seed" in cfg:
                    cfg["seed"] = int(seed) * 1009 + k
                init = type(init).from_config(cfg)
                values = np.asarray(init(shape, dtype=v.dtype))
            except Exception:  # noqa: BLE001 - an initializer we cannot re-seed
                values = None
        if values is None:
            cur = np.asarray(v)
            values = rng.permutation(cur.ravel()).reshape(cur.shape)
        v.assign(values)


def randomization_check(
    model: Any, image: np.ndarray, method: str, layers: Sequence[str] | int | None = None,
    class_index: int | None = None, cascading: bool = True, seed: int = 0,
    progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None, **options: Any,
) -> list[RandomizationStep]:
    """Model-randomization sanity check; see :func:`convexplorer.core.inspect.randomization_check`."""
    from scipy.stats import spearmanr

    batch, shape = ins._image_batch(model, image)
    trace = ins._get_trace(model, shape)
    hname = trace.head(options.get("head"))
    tgt = _target(model, batch, shape, hname, class_index)
    class_index = tgt.index if tgt.kind == "classes" or tgt.index >= 0 else None
    options = {k: v for k, v in options.items() if k not in ("progress", "cancel")}
    options["cancel"] = cancel
    order = weighted_layers(model, shape)
    if layers is None:
        chosen = order
    elif isinstance(layers, (int, np.integer)):
        if int(layers) < 1:
            raise AttributionError(f"randomize at least 1 layer, received {layers}")
        chosen = order[: int(layers)]
    else:
        chosen = [trace.records[trace.index(n)].name for n in layers]
        plain = [n for n in chosen if n not in order]
        if plain:
            raise AttributionError(f"layer {plain[0]!r} has no weights to randomize; layers with weights: {', '.join(order)}")
    if not chosen:
        raise AttributionError("the model has no layer with weights to randomize")
    total = len(chosen) + 2
    original = attribution(model, image, method, class_index, **options)
    report(progress, 1, total, "the original map")
    check_cancel(cancel)
    copy = _copy_model(model, shape)
    ctrace = ins._get_trace(copy, shape)
    names = [r.name for r in trace.records]
    cnames = [r.name for r in ctrace.records]
    if len(names) != len(cnames):
        raise AttributionError("the copy of the model does not have the original's layers")
    by_name = {n: ctrace.records[names.index(n)].layer for n in chosen}
    pristine = {n: [np.asarray(v).copy() for v in by_name[n].weights] for n in chosen}

    def rank_corr(m: np.ndarray) -> float:
        if np.ptp(m) == 0 or np.ptp(original) == 0:
            return float("nan")
        return float(spearmanr(original.ravel(), m.ravel())[0])

    first = attribution(copy, image, method, class_index, **options)
    steps = [RandomizationStep("", (), rank_corr(first), first)]
    report(progress, 2, total, "the copy before any change")
    done_layers: list[str] = []
    for k, n in enumerate(chosen):
        check_cancel(cancel)
        if not cascading:
            for prev in done_layers:
                for v, val in zip(by_name[prev].weights, pristine[prev]):
                    v.assign(val)
            done_layers = []
        _reinitialise(by_name[n], seed + k + 1)
        done_layers.append(n)
        m = attribution(copy, image, method, class_index, **options)
        steps.append(RandomizationStep(n, tuple(done_layers), rank_corr(m), m))
        report(progress, k + 3, total, f"randomized {n}")
    return steps
