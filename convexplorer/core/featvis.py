"""Feature visualization worth looking at: regularized gradient ascent on an input image.

After Olah, Mordvintsev and Schubert, "Feature Visualization" (Distill, 2017,
https://distill.pub/2017/feature-visualization/): instead of climbing the
objective in raw pixel space (the textbook recipe, which ends in high-frequency
noise the network happens to like), the image is

* **parameterized** in a decorrelated space: 2-D Fourier coefficients scaled by
  ``1 / max(f, 1/size)`` (low frequencies dominate, as in natural images) and
  colours expressed in a decorrelated colour basis (the square root of ImageNet's
  colour-correlation matrix, for 3-channel models), then squashed into [0, 1]
  by a sigmoid;
* made **robust to transformations**: every step sees the image jittered,
  rescaled and rotated at random, so patterns that only work at one exact pixel
  alignment do not pay;
* optionally made **diverse**: several images of one objective are pushed apart
  by penalising the cosine similarity of their Gram matrices (their "style") at
  the objective's layer.

The textbook ascent stays available as the preset "none" (and is exactly the
computation of :func:`convexplorer.core.inspect.filter_patterns`), so a lesson can
show both side by side.

Objectives are :class:`Objective` values: one filter of a layer (its whole
channel or its centre neuron) or one class's pre-softmax score. Many images are
optimised together in one batch, through one ``tf.function`` traced once per
model, layer and kind of settings; numbers such as the learning rate, the
diversity weight and the random transformations are inputs of that function,
not constants baked into it.

Everything here is numpy in and out, with ``progress(done, total, message)`` and
a ``cancel`` event like every long core call; TensorFlow is imported lazily.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import ShapeError
from .inspect import (
    InspectError,
    _check_target,
    _class_scores,
    _deprocess,
    _get_trace,
    _spatial_record,
    _tf_function,
    auto_batch_size,
    default_conv_layer,
    input_shape,
)
from .progress import ProgressFn, check_cancel, report

#: Image parameterizations: raw pixels, or scaled 2-D Fourier coefficients.
PARAMETERIZATIONS: tuple[str, ...] = ("pixels", "fourier")
#: Optimizers: Adam (as Lucid and the Distill article use), or the textbook step
#: ``x += learning_rate * g / ||g||`` (Chollet's recipe; what ``filter_patterns`` does).
OPTIMIZERS: tuple[str, ...] = ("adam", "ascent")
#: Where a filter objective is read: the mean over the whole channel, or the centre neuron only.
PLACES: tuple[str, ...] = ("channel", "neuron")
#: Objective kinds.
OBJECTIVE_KINDS: tuple[str, ...] = ("filter", "logit")

#: Square root of ImageNet's empirical 3x3 colour-correlation matrix (rows: R, G, B), the
#: values published with Lucid (lucid/optvis/param/color.py). Its first column is the
#: luminance direction; the other two are colour-opponent directions.
COLOR_CORRELATION_SQRT: np.ndarray = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float64
)


def color_decorrelation_matrix(channels: int) -> np.ndarray:
    """The ``channels x channels`` matrix ``M`` that maps decorrelated colours to the model's colours.

    A pixel ``d`` of the decorrelated image becomes ``M @ d`` (row vectors: ``rgb = d @ M.T``).
    For 3 channels it is :data:`COLOR_CORRELATION_SQRT` divided by its largest column norm
    (so that no direction is amplified); for any other number of channels (grayscale) it is
    the identity. Returned as float64.
    """
    if int(channels) != 3:
        return np.eye(int(channels))
    return COLOR_CORRELATION_SQRT / np.linalg.norm(COLOR_CORRELATION_SQRT, axis=0).max()


def decorrelated_to_rgb(x: Any, channels: int | None = None) -> Any:
    """Map images ``... x C`` from the decorrelated colour space to the model's (``x @ M.T``).

    Works on numpy arrays (returns numpy) and on TensorFlow tensors (returns a tensor).
    ``channels`` defaults to the last dimension of ``x``.
    """
    c = int(channels if channels is not None else x.shape[-1])
    m = color_decorrelation_matrix(c)
    if isinstance(x, np.ndarray):
        return (x.astype(np.float64) @ m.T).astype(x.dtype)
    import tensorflow as tf

    return tf.tensordot(x, tf.constant(m.T, x.dtype), axes=1)


def rgb_to_decorrelated(x: np.ndarray) -> np.ndarray:
    """The inverse of :func:`decorrelated_to_rgb` for numpy images ``... x C`` (``x @ inv(M).T``)."""
    m = color_decorrelation_matrix(x.shape[-1])
    return (np.asarray(x, np.float64) @ np.linalg.inv(m).T).astype(np.asarray(x).dtype)


# --- the Fourier parameterization ---------------------------------------------------------------


def fourier_frequencies(height: int, width: int) -> np.ndarray:
    """Spatial frequency ``sqrt(fy^2 + fx^2)`` (cycles per pixel) of each coefficient of a real 2-D FFT.

    Shape ``height x (width // 2 + 1)``, the layout of ``np.fft.rfft2`` / ``tf.signal.rfft2d``:
    ``fy = np.fft.fftfreq(height)``, ``fx = np.fft.rfftfreq(width)``.
    """
    fy = np.fft.fftfreq(int(height))[:, None]
    fx = np.fft.rfftfreq(int(width))[None, :]
    return np.sqrt(fy * fy + fx * fx)


def fourier_scale(height: int, width: int, decay_power: float = 1.0) -> np.ndarray:
    """Per-coefficient scale ``1 / max(f, 1 / max(height, width)) ** decay_power``, float64.

    Natural images have a spectrum falling roughly as ``1/f``; scaling the learnt
    coefficients this way makes equal steps on every coefficient change the image
    like a natural image, so low frequencies dominate. The floor ``1/size`` (the
    lowest frequency the image can hold) keeps the constant term finite.
    """
    f = fourier_frequencies(height, width)
    return 1.0 / np.maximum(f, 1.0 / max(int(height), int(width))) ** float(decay_power)


def fourier_image(spectrum: Any, height: int, width: int, decay_power: float = 1.0) -> Any:
    """Images ``B x height x width x C`` from learnt Fourier coefficients ``B x C x height x (width//2+1) x 2``.

    The last axis holds the real and imaginary parts. The image is
    ``irfft2(sqrt(height * width) * fourier_scale(...) * (re + i im))`` per channel:
    the factor ``sqrt(height * width)`` undoes the ``1/(height * width)`` of the inverse
    FFT's normalisation in energy (as an orthonormal transform would), so the
    coefficients take learning rates similar to pixels'. Returns a float32 tensor.
    """
    import tensorflow as tf

    h, w = int(height), int(width)
    scale = tf.constant(fourier_scale(h, w, decay_power) * np.sqrt(h * w), tf.float32)
    spectrum = tf.convert_to_tensor(spectrum, tf.float32)
    z = tf.complex(spectrum[..., 0] * scale, spectrum[..., 1] * scale)
    img = tf.signal.irfft2d(z, fft_length=[h, w])  # B x C x h x w
    return tf.transpose(img, (0, 2, 3, 1))


# --- transformation robustness ------------------------------------------------------------------


def transform_matrices(
    rng: np.random.Generator, batch: int, height: int, width: int,
    jitter: int = 0, scale: Sequence[float] = (1.0,), rotate: float = 0.0,
) -> np.ndarray:
    """Random transformations for a batch: ``batch x 8`` float32 projective transforms (TF's layout).

    Each image gets its own: a whole-pixel shift drawn uniformly in ``[-jitter, jitter]``
    on each axis, a zoom factor drawn from ``scale`` and a rotation drawn uniformly in
    ``[-rotate, rotate]`` degrees, about the image centre. Row ``[a0, a1, a2, b0, b1, b2, 0, 0]``
    maps an output pixel ``(x, y)`` to the input point ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``,
    as ``tf.raw_ops.ImageProjectiveTransformV3`` expects. The same ``rng`` state gives
    the same transforms.
    """
    n = int(batch)
    j = int(jitter)
    scales = np.asarray(list(scale) or [1.0], np.float64)
    dx = rng.integers(-j, j + 1, n) if j > 0 else np.zeros(n)
    dy = rng.integers(-j, j + 1, n) if j > 0 else np.zeros(n)
    s = scales[rng.integers(0, len(scales), n)] if len(scales) > 1 else np.full(n, scales[0])
    theta = np.deg2rad(rng.uniform(-rotate, rotate, n)) if rotate > 0 else np.zeros(n)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    out = np.zeros((n, 8), np.float32)
    for k in range(n):
        # Output pixel p comes from input point q = (1/s) R(-theta) (p - c - d) + c.
        c, sn = np.cos(theta[k]), np.sin(theta[k])
        a = np.array([[c, sn], [-sn, c]]) / s[k]
        b = np.array([cx, cy]) - a @ np.array([cx + dx[k], cy + dy[k]])
        out[k] = [a[0, 0], a[0, 1], b[0], a[1, 0], a[1, 1], b[1], 0.0, 0.0]
    return out


def apply_transforms(images: Any, matrices: Any) -> Any:
    """Warp images ``B x H x W x C`` by ``B x 8`` transforms (:func:`transform_matrices`); same shape out.

    Bilinear sampling; points that fall outside the image are reflected back in
    (no grey or black borders to exploit). Differentiable with respect to the
    images. Returns a float32 tensor.
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images, tf.float32)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=tf.convert_to_tensor(matrices, tf.float32), output_shape=tf.shape(images)[1:3],
        interpolation="BILINEAR", fill_mode="REFLECT", fill_value=0.0,
    )
    out.set_shape(images.shape)  # keep the static shape: the objective reads the centre and crops borders
    return out


# --- objectives and settings --------------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """What an image should excite: one filter of a layer, or one class's pre-softmax score.

    Make one with :meth:`Objective.filter` or :meth:`Objective.logit`.
    """

    kind: str  # "filter" or "logit"
    index: int  # the filter (channel) or the class
    layer: str | None = None  # filter objectives: the layer's name (nested: "outer/inner")
    where: str = "channel"  # filter objectives: "channel" (mean over positions) or "neuron" (centre)
    head: str | None = None  # logit objectives: the head (None: the model's first classifier head)

    @classmethod
    def filter(cls, layer: str, index: int, where: str = "channel") -> Objective:
        """One filter of ``layer``: ``where="channel"`` climbs its mean activation over positions (a
        2-position border left out when the map is larger than 4x4, as ``filter_patterns`` does);
        ``where="neuron"`` climbs its activation at the centre position ``(H // 2, W // 2)`` only.
        See ``FeatureVisSettings.redirect_relu`` for units whose ReLU is closed at the start."""
        if where not in PLACES:
            raise InspectError(f"a filter objective is read at {' or '.join(PLACES)}, received {where!r}")
        return cls("filter", int(index), str(layer), where, None)

    @classmethod
    def filters(cls, layer: str, indices: Sequence[int] | int, where: str = "channel") -> list[Objective]:
        """One :meth:`filter` objective per index (an int ``n``: filters ``0 .. n-1``)."""
        if isinstance(indices, int):
            indices = range(indices)
        return [cls.filter(layer, i, where) for i in indices]

    @classmethod
    def logit(cls, class_index: int, head: str | None = None) -> Objective:
        """The pre-softmax score of class ``class_index`` (of ``head``; None: the first classifier head).

        When the model ends in a softmax (a Softmax layer, or a Dense layer with a softmax
        activation) the score before it is used, as Grad-CAM does: climbing a probability
        would mostly push the other classes down.
        """
        return cls("logit", int(class_index), None, "channel", head)

    @property
    def label(self) -> str:
        """Short words for a caption: ``"conv2 #7"``, ``"conv2 #7 (centre)"``, ``"class 3"``."""
        if self.kind == "logit":
            return f"class {self.index}" + (f" ({self.head})" if self.head else "")
        return f"{self.layer} #{self.index}" + (" (centre)" if self.where == "neuron" else "")


@dataclass(frozen=True)
class FeatureVisSettings:
    """How the image is parameterized, transformed and optimised. The defaults are the "distill" preset.

    * ``parameterization``: "fourier" (scaled 2-D Fourier coefficients, :func:`fourier_image`)
      or "pixels".
    * ``decorrelate``: learn colours in the decorrelated ImageNet basis
      (:func:`color_decorrelation_matrix`; 3-channel models only, identity otherwise).
    * ``constrain``: pass the image through a sigmoid so it stays in [0, 1] (then mapped to
      ``input_range`` for the model). False: pixels are free, as in the textbook recipe, and the
      result is standardised for display (mean 0.5, 4 standard deviations across [0, 1]).
    * ``optimizer``: "adam" or "ascent" (``x += learning_rate * g / ||g||`` per image).
    * ``jitter``: the largest random shift in pixels per step (None: ``size // 16``, at most a quarter
      of a filter objective's receptive field; 0: none). See :meth:`jitter_for`.
    * ``scale``: zoom factors drawn from per step (``(1.0,)``: none).
    * ``rotate``: the largest random rotation in degrees per step (0: none).
    * ``steps``, ``learning_rate``: optimisation steps and step size.
    * ``size``: image side in pixels (None: the model's input size, else 128). Filter objectives
      take any size of at least 8; logit objectives need the model's own size when it fixes one.
    * ``diversity``: weight of the diversity penalty among the images of one objective (0: off).
      Each image's objective is reduced by ``diversity * |objective| * s`` where ``s`` is the mean
      cosine similarity between its Gram matrix and those of the other images of the same objective
      at the objective's layer (logits: the last convolution's); so 1.0 means "identical
      images lose their whole objective", whatever the layer's scale.
    * ``seed``: the random start and the random transformations.
    * ``input_range``: constrained images in [0, 1] are fed to the model as
      ``lo + (hi - lo) * image`` (``(0, 255)`` for a model that rescales by 1/255 itself).
    * ``decay_power``: the exponent of the Fourier scaling (1.0: ``1/f``).
    * ``redirect_relu``: while a filter objective is 0 because the layer's ReLU is closed wherever
      it is read (common at a grey start: the textbook ascent then stays grey), climb the value
      before the ReLU instead; for a ReLU layer, or a Conv2D or Dense layer with ``activation="relu"``.
    """

    parameterization: str = "fourier"
    decorrelate: bool = True
    constrain: bool = True
    optimizer: str = "adam"
    jitter: int | None = None
    scale: tuple[float, ...] = (0.9, 0.95, 1.0, 1.05, 1.1)
    rotate: float = 10.0
    steps: int = 64
    learning_rate: float = 0.05
    size: int | None = None
    diversity: float = 0.0
    seed: int = 0
    input_range: tuple[float, float] = (0.0, 1.0)
    decay_power: float = 1.0
    redirect_relu: bool = True

    @classmethod
    def preset(cls, name: str, **changes: Any) -> FeatureVisSettings:
        """A named preset (:data:`PRESETS`: "none" or "distill"), with any fields changed by keyword."""
        try:
            base = PRESETS[name]
        except KeyError:
            raise InspectError(f"no feature-visualization preset named {name!r}; the presets are: {', '.join(PRESETS)}") from None
        return replace(base, **changes) if changes else base

    def jitter_for(self, size: int, receptive: int | None = None) -> int:
        """The jitter in pixels used at image side ``size``: ``jitter``, or for None ``size // 16``,
        at most a quarter of ``receptive`` (the objective's receptive field side, when known): a
        unit that sees 3x3 pixels cannot be shown a pattern that jumps by 2 pixels every step."""
        if self.jitter is not None:
            return max(0, int(self.jitter))
        j = int(size) // 16
        return max(0, min(j, int(receptive) // 4) if receptive else j)

    @property
    def transforms(self) -> bool:
        """True when any random transformation is on (jitter None counts as on)."""
        return (self.jitter is None or self.jitter > 0) or any(s != 1.0 for s in self.scale) or self.rotate > 0

    def check(self) -> None:
        """Raise :class:`InspectError`/:class:`ShapeError` with readable words for any setting out of range."""
        if self.parameterization not in PARAMETERIZATIONS:
            raise InspectError(f"parameterization must be {' or '.join(PARAMETERIZATIONS)}, received {self.parameterization!r}")
        if self.optimizer not in OPTIMIZERS:
            raise InspectError(f"optimizer must be {' or '.join(OPTIMIZERS)}, received {self.optimizer!r}")
        if int(self.steps) < 1:
            raise ShapeError(f"the number of steps must be at least 1, received {self.steps}")
        if not self.learning_rate > 0:
            raise InspectError(f"the learning rate must be positive, received {self.learning_rate}")
        if self.size is not None and int(self.size) < 8:
            raise ShapeError(f"the image size must be at least 8 pixels, received {self.size}")
        if self.diversity < 0:
            raise InspectError(f"the diversity weight must be 0 or more, received {self.diversity}")
        if not self.scale or any(not s > 0 for s in self.scale):
            raise InspectError(f"scale factors must be positive, received {self.scale}")
        if self.rotate < 0 or (self.jitter is not None and self.jitter < 0):
            raise InspectError("jitter and rotation must be 0 or more")
        lo, hi = self.input_range
        if not hi > lo:
            raise InspectError(f"the input range must go from low to high, received {self.input_range}")


#: The presets. "none" is the textbook gradient ascent in raw pixels (Chollet, Deep Learning with
#: Python), the very computation of ``inspect.filter_patterns``: 40 normalised-gradient steps of
#: size 10 from a grey image with a little noise, no transformation, no change of basis, no ReLU
#: redirection, the result standardised for display. "distill" follows the Distill article and
#: Lucid's defaults: Fourier coefficients with 1/f scaling and decorrelated colours, a sigmoid
#: into [0, 1], Adam with learning rate 0.05, and per step a jitter of size/16 pixels (8 at 128;
#: at most a quarter of the unit's receptive field), a zoom of 0.9-1.1 and a rotation of up to
#: 10 degrees; closed ReLUs are climbed through. Lucid runs 512 steps; 64 is where the images of
#: a small shapes convnet trained here had settled (64 and 128 steps looked alike, objectives
#: within 5 %), and it keeps a batch of 8 VGG16 block3 filters at 128x128 at 15-40 s on two
#: shared CPU cores (0.23-0.6 s a step, by load; benchmarks/inspect_speed.py). Raise ``steps``
#: for big pretrained nets.
#: Diversity is 0 in both: it only means something for several images of one objective. 1.0 is a
#: good start then: on a shapes-net filter it took the Gram similarity of 4 images from 0.995 to
#: 0.72 and kept their objectives within 25 %; at 3.0 it fell to 0.29 but two images lost most
#: of their objective.
PRESETS: dict[str, FeatureVisSettings] = {
    "none": FeatureVisSettings(
        parameterization="pixels", decorrelate=False, constrain=False, optimizer="ascent", jitter=0, scale=(1.0,),
        rotate=0.0, steps=40, learning_rate=10.0, redirect_relu=False,
    ),
    "distill": FeatureVisSettings(),
}


@dataclass
class FeatureVisResult:
    """What :func:`feature_visualization` made.

    ``images``: ``N x size x size x C`` float32 in [0, 1], one per entry of ``objectives``.
    ``values``: ``N x steps`` float32, each image's objective at every step (measured on that
    step's transformed image, before the step's update; diversity penalty not included).
    ``final``: ``N`` float32, the objective on each final image as the model sees it, untransformed.
    ``objectives``: the objective of each image (an objective asked for several images repeats).
    ``layer``: the full name of the objective's layer (logits: the head's name).
    """

    images: np.ndarray
    values: np.ndarray
    final: np.ndarray
    objectives: list[Objective]
    layer: str
    settings: FeatureVisSettings = field(default_factory=FeatureVisSettings)


# --- the optimisation ---------------------------------------------------------------------------


def _objectives_list(objective: Objective | Sequence[Objective]) -> list[Objective]:
    objs = [objective] if isinstance(objective, Objective) else list(objective)
    if not objs:
        raise InspectError("give at least one objective to visualise")
    first = objs[0]
    for o in objs:
        if not isinstance(o, Objective):
            raise InspectError(f"expected Objective values (Objective.filter, Objective.logit), received {type(o).__name__}")
        if o.kind not in OBJECTIVE_KINDS:
            raise InspectError(f"objective kind must be {' or '.join(OBJECTIVE_KINDS)}, received {o.kind!r}")
        if (o.kind, o.layer, o.where, o.head) != (first.kind, first.layer, first.where, first.head):
            raise InspectError(
                "the objectives of one batch must share their kind and layer (or head) and where they are read: "
                f"received {first.label} and {o.label}"
            )
    return objs


def feature_visualization(
    model: Any,
    objective: Objective | Sequence[Objective],
    settings: FeatureVisSettings | str | None = None,
    images_per_objective: int = 1,
    batch_size: int | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> FeatureVisResult:
    """Images that maximise ``objective`` (one :class:`Objective` or several of one layer or head).

    ``settings``: a :class:`FeatureVisSettings`, a preset name ("distill", "none") or None
    (the "distill" preset). ``images_per_objective`` (default 1) images are made for each
    objective, in order (objective 0's images first); with ``settings.diversity > 0`` the
    images of one objective are pushed apart. Up to ``batch_size`` images are optimised
    together (None: from the activation memory, as ``inspect.auto_batch_size``; the images
    of one objective always share a batch when diversity is on).

    ``progress(done, total, message)`` is called after every step (``done`` counts image-steps,
    ``total = N * steps``); ``cancel`` is checked before every step and raises
    :class:`~convexplorer.core.errors.Cancelled`. Returns a :class:`FeatureVisResult`.
    Raises :class:`InspectError` or :class:`ShapeError` with readable words for unknown
    layers, filters, classes, heads and settings.
    """
    import tensorflow as tf

    s = PRESETS["distill"] if settings is None else (FeatureVisSettings.preset(settings) if isinstance(settings, str) else settings)
    s.check()
    objs = _objectives_list(objective)
    per = int(images_per_objective)
    if per < 1:
        raise InspectError(f"images per objective must be at least 1, received {images_per_objective}")
    first = objs[0]
    fixed = input_shape(model)
    channels = fixed[2] if fixed and fixed[2] else 3

    if first.kind == "filter":
        size = int(s.size) if s.size is not None else (fixed[0] if fixed and fixed[0] else 128)
        if size < 8:
            raise ShapeError(f"the image size must be at least 8 pixels, received {size}")
        shape = (size, size, channels)
        own = fixed if fixed is not None and None not in fixed else shape
        full = _get_trace(model, own)  # the model's own size: clear layer names and errors
        name = full.records[_spatial_record(full, str(first.layer), "Feature visualization")].name
        trace = _get_trace(model, shape, stop_at=name)  # only the layers up to the chosen one run
        i = trace.index(name)
        target_t = trace.records[i].tensor
        n_units = int(target_t.shape[-1])
        bad = [o.index for o in objs if not 0 <= o.index < n_units]
        if bad:
            raise InspectError(f"{name} has filters 0 to {n_units - 1}, received {bad[0]}")
        pre_t = _pre_relu(trace, i) if s.redirect_relu else None
        div_t = target_t
        layer_label, key_part = name, ("filter", i, first.where)
        receptive = _receptive_side(model, name, own, full.records[full.index(name)].tensor.shape)
    else:
        if fixed is not None and None not in fixed:
            shape = tuple(int(v) for v in fixed)
            if s.size is not None and int(s.size) != shape[0]:
                raise ShapeError(
                    f"class scores need the model's own input size, {shape[0]}x{shape[1]}; received size {s.size}"
                )
        else:
            side = int(s.size) if s.size is not None else 128
            shape = (side, side, channels)
        if shape[0] != shape[1]:
            raise ShapeError(f"feature visualization makes square images; this model takes {shape[0]}x{shape[1]}")
        size = int(shape[0])
        trace = _get_trace(model, shape)
        hname = trace.head(first.head)
        if trace.head_kinds[hname] != "classes":
            raise InspectError(f"head {hname!r} does not predict classes, so it has no class scores to climb")
        scores_t = _class_scores(trace, hname)
        for o in objs:
            _check_target(trace, hname, o.index)
        n_units = int(scores_t.shape[-1])
        pre_t = None  # a class score has no ReLU
        div_t = trace.records[trace.index(default_conv_layer(model, shape))].tensor if s.diversity > 0 and per > 1 else None
        target_t = scores_t
        layer_label, key_part = hname, ("logit", hname)
        receptive = None  # a class score sees the whole image

    diverse = s.diversity > 0 and per > 1
    # The model's outputs: the objective's tensor, then the diversity's and the pre-ReLU values when used.
    outputs = [target_t] + ([div_t] if diverse else []) + ([pre_t] if pre_t is not None else [])
    transforming = s.transforms
    key = ("featvis", key_part, s.parameterization, s.decorrelate and channels == 3, s.constrain, s.optimizer,
           transforming, diverse, pre_t is not None, float(s.decay_power))
    fns = trace.cached(key, lambda: _make_step(trace.inp, outputs, first, s, size, channels, transforming, diverse,
                                               pre_t is not None))
    step_fn, eval_fn = fns

    # The list of images: each objective repeated, the images of one objective next to each other.
    targets = [o for o in objs for _r in range(per)]
    groups = np.repeat(np.arange(len(objs)), per)
    n = len(targets)
    if batch_size:
        bs = max(1, int(batch_size))
    elif first.kind == "filter":
        bs = auto_batch_size(trace, i, n)
    else:
        bs = max(1, min(n, 8))
    if diverse:
        bs = max(per, (bs // per) * per)

    steps = int(s.steps)
    jitter = s.jitter_for(size, receptive)
    rng = np.random.default_rng(s.seed)
    images = np.empty((n, size, size, channels), np.float32)
    values = np.zeros((n, steps), np.float32)
    final = np.zeros(n, np.float32)
    total = n * steps
    done = 0
    lr = tf.constant(float(s.learning_rate), tf.float32)
    div_w = tf.constant(float(s.diversity), tf.float32)
    lo, hi = (float(v) for v in s.input_range)
    rng_in = tf.constant([lo, hi], tf.float32)
    eye = np.eye(n_units, dtype=np.float32)
    for start in range(0, n, bs):
        idx = slice(start, min(n, start + bs))
        chunk = targets[idx]
        b = len(chunk)
        check_cancel(cancel)
        param = tf.constant(_initial(rng, s, b, size, channels))
        m1 = tf.zeros_like(param)
        m2 = tf.zeros_like(param)
        onehot = tf.constant(eye[[o.index for o in chunk]])
        grp = tf.constant(groups[idx].astype(np.int32))
        ident = np.tile(np.array([1, 0, 0, 0, 1, 0, 0, 0], np.float32), (b, 1))
        what = f"{layer_label}: images {start + 1}-{start + b} of {n}"
        for k in range(steps):
            check_cancel(cancel)
            mats = transform_matrices(rng, b, size, size, jitter, s.scale, s.rotate) if transforming else ident
            param, m1, m2, val = step_fn(param, m1, m2, tf.constant(float(k + 1)), onehot, grp, tf.constant(mats),
                                         lr, div_w, rng_in)
            values[idx, k] = np.asarray(val)
            done += b
            report(progress, done, total, f"{what}, step {k + 1} of {steps}")
        img, fin = eval_fn(param, onehot, rng_in)
        final[idx] = np.asarray(fin)
        img = np.asarray(img)
        images[idx] = np.clip(img, 0.0, 1.0) if s.constrain else _deprocess(img)
    return FeatureVisResult(images, values, final, targets, layer_label, s)


def _receptive_side(model: Any, name: str, shape: Sequence[int], out_shape: Sequence[int | None]) -> int | None:
    """The side in pixels of the receptive field of layer ``name``'s centre unit, or None if unknown."""
    from .inspect import receptive_field

    try:
        h, w = int(out_shape[1]), int(out_shape[2])
        top, left, bottom, right = receptive_field(model, name, h // 2, w // 2, shape)
    except Exception:  # noqa: BLE001 - no geometry for this layer: no cap on the jitter
        return None
    return int(max(bottom - top, right - left))


def _pre_relu(trace: Any, i: int) -> Any:
    """The symbolic value before layer ``i``'s ReLU (a ReLU layer, or a Conv2D/Dense with a relu), else None."""
    import keras

    rec = trace.records[i]
    layer = rec.layer
    kind = type(layer).__name__
    act = getattr(getattr(layer, "activation", None), "__name__", "")
    if len(rec.inputs) != 1:
        return None
    src = trace.records[rec.inputs[0]].tensor if rec.inputs[0] >= 0 else trace.inp
    if kind == "ReLU" or (kind == "Activation" and act == "relu"):
        if kind == "ReLU" and (getattr(layer, "threshold", 0) or getattr(layer, "negative_slope", 0)):
            return None
        return src
    if act != "relu" or kind not in ("Conv2D", "Convolution2D", "Dense"):
        return None
    try:
        pre = layer.convolution_op(src, layer.kernel) if kind != "Dense" else keras.ops.matmul(src, layer.kernel)
        return keras.ops.add(pre, layer.bias) if getattr(layer, "use_bias", False) else pre
    except Exception:  # noqa: BLE001 - an unusual layer: climb its output instead
        return None


def _initial(rng: np.random.Generator, s: FeatureVisSettings, b: int, size: int, channels: int) -> np.ndarray:
    """The random start: textbook pixels are grey with a little noise (as ``filter_patterns``);
    learnt coefficients are small normal noise (sd 0.01, as Lucid)."""
    if s.parameterization == "pixels" and not s.constrain:
        return rng.uniform(0.4, 0.6, (b, size, size, channels)).astype(np.float32)
    if s.parameterization == "pixels":
        return rng.normal(0.0, 0.01, (b, size, size, channels)).astype(np.float32)
    return rng.normal(0.0, 0.01, (b, channels, size, size // 2 + 1, 2)).astype(np.float32)


def _make_step(inp: Any, outputs: list[Any], objective: Objective, s: FeatureVisSettings, size: int, channels: int,
               transforming: bool, diverse: bool, redirect: bool) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The traced step ``(param, adam m, adam v, t, onehot, groups, transforms, lr, div_w, range) ->
    (param, m, v, objective per image)`` and the final evaluation ``(param, onehot, range) -> (image, objective)``."""
    import keras
    import tensorflow as tf

    m = keras.Model(inp, outputs)
    fourier = s.parameterization == "fourier"
    decorrelate = s.decorrelate and channels == 3
    constrain = s.constrain
    adam = s.optimizer == "adam"
    kind, where = objective.kind, objective.where
    decay = float(s.decay_power)

    def to_image(param: Any) -> Any:
        x = fourier_image(param, size, size, decay) if fourier else param
        if decorrelate:
            x = decorrelated_to_rgb(x, 3)
        if constrain:
            return tf.sigmoid(x)
        return x + 0.5 if fourier else x  # free Fourier images start from grey, like the textbook's

    def to_model(img: Any, rng_in: Any) -> Any:
        return rng_in[0] + (rng_in[1] - rng_in[0]) * img if constrain else img

    def objective_of(act: Any, onehot: Any) -> Any:
        if kind == "logit":
            return tf.reduce_sum(act * onehot, axis=-1)
        sel = tf.reduce_sum(act * onehot[:, None, None, :], axis=-1)
        h, w = act.shape[1], act.shape[2]
        if where == "neuron":
            return sel[:, h // 2, w // 2]
        if h is not None and w is not None and h > 4 and w > 4:
            sel = sel[:, 2:-2, 2:-2]
        return tf.reduce_mean(sel, axis=(1, 2))

    def similarity(act: Any, groups: Any) -> Any:
        """Each image's mean cosine similarity of Gram matrices with the other images of its group."""
        shp = tf.shape(act)
        flat = tf.reshape(act, (shp[0], -1, shp[-1]))
        gram = tf.matmul(flat, flat, transpose_a=True)
        gram = tf.reshape(gram, (shp[0], -1))
        gram = tf.math.l2_normalize(gram, axis=1, epsilon=1e-10)
        cos = tf.matmul(gram, gram, transpose_b=True)  # B x B
        same = tf.cast(tf.equal(groups[:, None], groups[None, :]), tf.float32)
        same = same - tf.eye(tf.shape(groups)[0])
        return tf.reduce_sum(cos * same, axis=1) / tf.maximum(tf.reduce_sum(same, axis=1), 1.0)

    def step(param: Any, m1: Any, m2: Any, t: Any, onehot: Any, groups: Any, mats: Any, lr: Any, div_w: Any,
             rng_in: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(param)
            x = to_image(param)
            if transforming:
                x = apply_transforms(x, mats)
            outs = m(to_model(x, rng_in), training=False)
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            value = objective_of(outs[0], onehot)
            total = tf.reduce_sum(value)
            if redirect:
                # A unit whose ReLU is closed everywhere it is read gives no gradient: climb the
                # value before the ReLU instead until it opens (Lucid redirects ReLU gradients alike).
                closed = tf.stop_gradient(tf.cast(value <= 0.0, tf.float32))
                total = total + tf.reduce_sum(closed * objective_of(outs[-1], onehot))
            if diverse:
                weight = div_w * tf.stop_gradient(tf.abs(value))
                total = total - tf.reduce_sum(weight * similarity(outs[1], groups))
        g = tape.gradient(total, param)
        if adam:
            b1, b2 = 0.9, 0.999
            m1 = b1 * m1 + (1.0 - b1) * g
            m2 = b2 * m2 + (1.0 - b2) * g * g
            mhat = m1 / (1.0 - tf.pow(b1, t))
            vhat = m2 / (1.0 - tf.pow(b2, t))
            param = param + lr * mhat / (tf.sqrt(vhat) + 1e-8)
        else:
            axes = list(range(1, len(param.shape)))
            param = param + lr * tf.math.l2_normalize(g, axis=axes)
        return param, m1, m2, value

    def evaluate(param: Any, onehot: Any, rng_in: Any) -> Any:
        x = to_image(param)
        outs = m(to_model(x, rng_in), training=False)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        return x, objective_of(outs[0], onehot)

    return _tf_function(step), _tf_function(evaluate)
