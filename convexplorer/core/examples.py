"""Dataset examples per unit: the images of a data set that excite a filter most.

For one layer, one pass over the images (in batches, through a cached
``tf.function`` of an extractor that outputs that layer; never
``model.predict``) keeps, for **every** filter of the layer, a running top-k of
(activation, image index, position): the activation of an image is the
filter's maximum over positions, and the position is where that maximum is
(the first one in row-major order when several positions tie). The running
state is ``filters x k`` entries whatever the data set's size, so a 100,000-image
set streams through in constant memory. The strongest position becomes a box
in input pixels through the layer's receptive field (the same geometry as
:func:`convexplorer.core.inspect.receptive_field`), clipped to the image.

Order: higher activation first; equal activations go to the lower image index
(deterministic, independent of the batch size).

Images are fed as :func:`convexplorer.core.inspect.prepare_image` fits them to the
model (resized with the aspect kept and padded, channels converted), as the
Inspect panel does; images already at the model's size go in unchanged. A
:class:`~convexplorer.core.datasets.base.Dataset` delivers them with its own
preparation (:meth:`Dataset.image`: its size and colour options), a ``uint8``
array is scaled to [0, 1], a float array is used as it is. ``app_name`` (a
``keras.applications`` name) adds that network's ``preprocess_input`` after the
fitting, as the Inspect panel does for zoo models.

Cache: a result is kept in memory (the last :data:`CACHE_SIZE` results, least
recently used dropped first) under a key made of

* the model object (its ``id``, checked against a weak reference, so a new model
  that reuses the address never matches) and a BLAKE2 hash of the weights of
  every layer that runs up to the chosen layer (kernels, biases, normalisation
  statistics): training, loading weights or editing a kernel changes the hash, so
  the next call computes afresh (the stale entry ages out of the LRU);
* the layer's full name and the input shape fed to the model, and ``app_name``;
* the images: for an array, its shape, dtype and a hash of every byte; for a
  ``Dataset``, its class, name, size, delivered shape and colour mode, native
  shape, labels and a hash of a sample of its images (data sets are not changed
  in place: ``with_options`` returns a copy), and ``subset``.

A request for another filter of the same layer, or for a smaller ``k``, is then
answered from the cached pass without touching the images again. A cancelled
pass stores nothing. :func:`clear_examples_cache` empties the cache.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np

from .errors import ShapeError
from .inspect import (
    InspectError,
    _Geo,
    _get_trace,
    _is_model,
    _layer_geo,
    _rank,
    _tf_function,
    _Trace,
    input_shape,
    prepare_image,
)
from .progress import ProgressFn, check_cancel, report

Box = tuple[int, int, int, int]

#: How many layer results the in-memory cache keeps (least recently used dropped first).
CACHE_SIZE = 4
#: Activation bytes per batch the automatic batch size aims at (CPU / GPU), and its bounds.
CPU_BATCH_BYTES = 64 << 20
GPU_BATCH_BYTES = 512 << 20
MAX_BATCH = 256
#: Images of a Dataset hashed for its fingerprint (evenly spaced, first and last included).
FINGERPRINT_SAMPLES = 8


class Example(NamedTuple):
    """One dataset example of a filter: the image's index, the activation and its receptive-field box.

    ``index`` is the image's index in the array or Dataset (``images[index]``,
    ``dataset.image(index)``); ``activation`` the filter's maximum over positions
    for that image; ``box`` ``(y0, x0, y1, x1)`` (end exclusive, clipped) in
    pixels of the image as fed to the model (see :func:`example_image`).
    """

    index: int
    activation: float
    box: Box


@dataclass(frozen=True, eq=False)
class LayerExamples:
    """Every filter's top-k dataset examples for one layer, from one pass over the images.

    Arrays (``F`` filters, ``k`` columns; a filter has fewer than ``k`` examples only
    when the set has fewer than ``k`` images, and then only the first ``count``
    columns are meaningful):

    * ``values``: ``F x k`` float32 activations, best first;
    * ``indices``: ``F x k`` int64 image indices (into the array or Dataset);
    * ``positions``: ``F x k x 2`` int32 ``(y, x)`` of the strongest position in the layer's map;
    * ``boxes``: ``F x k x 4`` int32 ``(y0, x0, y1, x1)`` receptive-field boxes in input pixels.
    """

    layer_name: str
    #: ``(H, W, C)`` of the images as fed to the model: the boxes are in these pixels.
    input_shape: tuple[int, int, int]
    #: ``(H, W)`` of the layer's map (``(1, 1)`` for a layer without spatial output).
    map_shape: tuple[int, int]
    k: int
    #: Images scanned.
    num_images: int
    values: np.ndarray
    indices: np.ndarray
    positions: np.ndarray
    boxes: np.ndarray
    #: Largest number of (value, index, position) entries the running top-k held during the pass:
    #: at most ``filters x k``, whatever the number of images (memory stays flat).
    peak_items: int = 0
    _lists: list[list[Example]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        lists = [
            [
                Example(int(self.indices[f, j]), float(self.values[f, j]), tuple(int(v) for v in self.boxes[f, j]))
                for j in range(self.count)
            ]
            for f in range(self.num_filters)
        ]
        object.__setattr__(self, "_lists", lists)

    @property
    def num_filters(self) -> int:
        """Filters (channels) of the layer."""
        return int(self.values.shape[0])

    @property
    def count(self) -> int:
        """Examples per filter: ``min(k, num_images)``."""
        return int(self.values.shape[1])

    def examples(self, filter_index: int) -> list[Example]:
        """Filter ``filter_index``'s top-k, best first (a new list of immutable :class:`Example` tuples)."""
        f = int(filter_index)
        if not 0 <= f < self.num_filters:
            raise InspectError(f"{self.layer_name} has filters 0 to {self.num_filters - 1}, received {filter_index}")
        return list(self._lists[f])

    def best(self) -> list[Example]:
        """The single best example of every filter, in filter order (the "one image per filter" grid)."""
        return [lst[0] for lst in self._lists]

    def position(self, filter_index: int, rank: int = 0) -> tuple[int, int]:
        """``(y, x)`` in the layer's map of the strongest position of filter ``filter_index``'s ``rank``-th example."""
        y, x = self.positions[int(filter_index), int(rank)]
        return int(y), int(x)

    def truncated(self, k: int) -> "LayerExamples":
        """The same result with only the first ``k`` examples per filter."""
        k = int(k)
        if k >= self.count:
            return self
        return LayerExamples(self.layer_name, self.input_shape, self.map_shape, k, self.num_images,
                             self.values[:, :k], self.indices[:, :k], self.positions[:, :k], self.boxes[:, :k],
                             self.peak_items)


# --- the running top-k ---------------------------------------------------------------------------


class _RunningTopK:
    """Per filter, the ``k`` best (value, index, flat position) seen so far; ties to the lower index."""

    def __init__(self, num_filters: int, k: int) -> None:
        self.k = int(k)
        self.values = np.empty((num_filters, 0), np.float32)
        self.indices = np.empty((num_filters, 0), np.int64)
        self.positions = np.empty((num_filters, 0), np.int64)
        self.peak_items = 0

    @property
    def items(self) -> int:
        """Entries held now (``filters x min(k, images seen)``)."""
        return int(self.values.size)

    def update(self, values: np.ndarray, indices: np.ndarray, positions: np.ndarray) -> None:
        """Merge a batch: ``values``/``positions`` ``B x F``, ``indices`` ``B`` (image indices)."""
        v = np.asarray(values, np.float32).T
        v = np.where(np.isnan(v), -np.inf, v).astype(np.float32)
        i = np.broadcast_to(np.asarray(indices, np.int64)[None, :], v.shape)
        p = np.asarray(positions, np.int64).T
        v = np.concatenate([self.values, v], axis=1)
        i = np.concatenate([self.indices, i], axis=1)
        p = np.concatenate([self.positions, p], axis=1)
        order = np.lexsort((i, -v), axis=-1)[:, : self.k]  # by value descending, then index ascending
        self.values = np.take_along_axis(v, order, axis=1)
        self.indices = np.take_along_axis(i, order, axis=1)
        self.positions = np.take_along_axis(p, order, axis=1)
        self.peak_items = max(self.peak_items, self.items)


# --- receptive-field geometry ---------------------------------------------------------------------


def _geometry(trace: _Trace, target: int, shape: Sequence[int]) -> tuple[_Geo, _Geo]:
    """Start, jump and size of ``target``'s receptive field along y and x (as ``inspect.receptive_field`` walks it)."""
    h, w = int(shape[0]), int(shape[1])
    full = (_Geo(0, 1, h, True), _Geo(0, 1, w, True))
    geos: dict[int, tuple[_Geo, _Geo]] = {-1: (_Geo(0, 1, 1), _Geo(0, 1, 1))}
    for idx in range(target + 1):
        rec = trace.records[idx]
        ins = [geos[j] for j in rec.inputs if j in geos]
        src = trace.records[rec.inputs[0]].tensor if rec.inputs and rec.inputs[0] >= 0 else None
        in_shape = tuple(src.shape) if src is not None and _rank(src) >= 0 else (None, *shape)
        if _is_model(rec.layer):
            geos[idx] = ins[0] if ins else full
            continue
        geos[idx] = _layer_geo(rec.layer, ins, in_shape, full)
    return geos[target]


def _boxes(geo: tuple[_Geo, _Geo], ys: np.ndarray, xs: np.ndarray, h: int, w: int) -> np.ndarray:
    """Receptive-field boxes ``(..., 4)`` (y0, x0, y1, x1), clipped to ``h x w``, of map positions ``ys, xs``."""
    gy, gx = geo
    if gy.full or gx.full:
        out = np.zeros(ys.shape + (4,), np.int32)
        out[..., 2], out[..., 3] = h, w
        return out
    top = gy.start + ys * gy.jump
    left = gx.start + xs * gx.jump
    out = np.stack([np.maximum(0, top), np.maximum(0, left),
                    np.minimum(h, top + gy.size), np.minimum(w, left + gx.size)], axis=-1)
    return np.asarray(out, np.float64).astype(np.int32)


def crop_box(image: np.ndarray, box: Sequence[int]) -> np.ndarray:
    """The part of ``image`` (``H x W [x C]``) inside ``box`` ``(y0, x0, y1, x1)`` (end exclusive; clipped to the image)."""
    arr = np.asarray(image)
    if arr.ndim < 2:
        raise ShapeError(f"expected an image H x W (x C), received an array of shape {arr.shape}")
    y0, x0, y1, x1 = (int(v) for v in box)
    h, w = arr.shape[:2]
    y0, x0 = max(0, min(h, y0)), max(0, min(w, x0))
    y1, x1 = max(y0, min(h, y1)), max(x0, min(w, x1))
    return arr[y0:y1, x0:x1]


# --- image sources --------------------------------------------------------------------------------


def _is_dataset(images: Any) -> bool:
    from .datasets.base import Dataset

    return isinstance(images, Dataset)


def _model_shape(model: Any, own: tuple[int, int, int]) -> tuple[int, int, int]:
    """What the model is fed: its fixed input size where it has one, else the images' own."""
    fixed = input_shape(model)
    if fixed is None:
        return own
    return tuple(own[a] if fixed[a] is None else int(fixed[a]) for a in range(3))  # type: ignore[return-value]


class _Source:
    """The images to scan: count, shape fed to the model, batches, fingerprint."""

    def __init__(self, model: Any, images: Any, subset: str | None, app_name: str | None) -> None:
        self.app_name = app_name
        self.dataset = images if _is_dataset(images) else None
        if self.dataset is not None:
            ds = self.dataset
            self.order = ds.subset_indices(subset) if subset else np.arange(len(ds), dtype=np.int64)
            own = tuple(int(v) for v in ds.image_shape)
            self.array = None
        else:
            if subset:
                raise InspectError("subset applies to a Dataset; pass the array rows you want instead")
            arr = np.asarray(images)
            if arr.ndim == 3:
                arr = arr[..., None]
            if arr.ndim != 4 or arr.shape[-1] < 1:
                raise ShapeError(f"expected images N x H x W x C (or a Dataset), received an array of shape {arr.shape}")
            self.array = arr
            self.order = np.arange(len(arr), dtype=np.int64)
            own = tuple(int(v) for v in arr.shape[1:])
        if len(self.order) == 0:
            raise InspectError("there are no images to look through: the data set (or subset) is empty")
        self.own_shape: tuple[int, int, int] = own  # type: ignore[assignment]
        self.shape = _model_shape(model, self.own_shape)

    def __len__(self) -> int:
        return int(len(self.order))

    def raw(self, index: int) -> np.ndarray:
        """Image ``index`` (array row or dataset index) in [0, 1] as the source delivers it."""
        if self.dataset is not None:
            return self.dataset.image(int(index))
        x = self.array[int(index)]  # type: ignore[index]
        return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)

    def fitted(self, index: int) -> np.ndarray:
        """Image ``index`` fitted to the model's input (as the Inspect panel fits it), before preprocessing."""
        img = self.raw(index)
        if tuple(img.shape) != self.shape:
            img = prepare_image(img, self.shape, keep_aspect=True)
        return img.astype(np.float32, copy=False)

    def batch(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Images ``order[start:stop]`` as fed to the model, and their indices."""
        idx = self.order[start:stop]
        if self.array is not None and self.own_shape == self.shape:
            x = self.array[start:stop]
            x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
        else:
            x = np.stack([self.fitted(int(i)) for i in idx])
        if self.app_name:
            from .zoo import preprocess

            x = preprocess(self.app_name, x)
        return x, idx

    def fingerprint(self, subset: str | None) -> str:
        """A hash of what the images are (see the module's notes on the cache)."""
        h = hashlib.blake2b(digest_size=16)
        if self.array is not None:
            arr = np.ascontiguousarray(self.array)
            h.update(f"array {arr.shape} {arr.dtype.str}".encode())
            h.update(memoryview(arr).cast("B"))
            return h.hexdigest()
        ds = self.dataset
        meta = (type(ds).__module__, type(ds).__qualname__, ds.name, len(ds), tuple(ds.image_shape),
                tuple(ds.native_shape), ds.color_mode, subset)
        h.update(repr(meta).encode())
        h.update(np.ascontiguousarray(ds.labels()).tobytes())
        n = len(ds)
        for i in sorted({int(round(v)) for v in np.linspace(0, n - 1, min(n, FINGERPRINT_SAMPLES))}):
            h.update(np.ascontiguousarray(ds.image(i), np.float32).tobytes())
        return h.hexdigest()


def example_image(model: Any, images: Any, index: int) -> np.ndarray:
    """Image ``index`` of ``images`` as the model is fed it (fitted to its input, in [0, 1], no preprocessing).

    The boxes of :class:`Example` are in this image's pixels: ``crop_box(example_image(...), box)``.
    """
    return _Source(model, images, None, None).fitted(int(index))


# --- the pass -------------------------------------------------------------------------------------


def _layer_record(trace: _Trace, layer_name: str) -> int:
    i = trace.index(layer_name)
    rank = _rank(trace.records[i].tensor)
    if rank not in (2, 4):
        shape = getattr(trace.records[i].tensor, "shape", None)
        what = f"shape {tuple(shape)}" if shape is not None else "several tensors"
        raise ShapeError(
            f"dataset examples need a layer with filters (H x W x filters) or units; "
            f"{trace.records[i].name!r} outputs {what}"
        )
    return i


def _weights_fingerprint(trace: _Trace, upto: int) -> str:
    """BLAKE2 hash of the weights of every layer that runs up to record ``upto`` (dedup'd, in order)."""
    h = hashlib.blake2b(digest_size=16)
    seen: set[int] = set()
    for rec in trace.records[: upto + 1]:
        for v in getattr(rec.layer, "weights", []):
            if id(v) in seen:
                continue
            seen.add(id(v))
            a = np.ascontiguousarray(np.asarray(v))
            h.update(f"{getattr(v, 'path', getattr(v, 'name', ''))} {a.shape} {a.dtype.str}".encode())
            h.update(memoryview(a).cast("B") if a.size else b"")
    return h.hexdigest()


def _auto_batch(trace: _Trace, upto: int) -> int:
    """Images per batch: as many as keep the largest activation under the budget (1 to MAX_BATCH)."""
    import tensorflow as tf

    per_image = 4
    for r in trace.records[: upto + 1]:
        if _rank(r.tensor) < 0:
            continue
        dims = [d for d in r.tensor.shape[1:] if d is not None]
        per_image = max(per_image, 4 * int(np.prod(dims)) if dims else 4)
    budget = GPU_BATCH_BYTES if tf.config.list_logical_devices("GPU") else CPU_BATCH_BYTES
    return int(max(1, min(MAX_BATCH, budget // per_image)))


def _extractor(trace: _Trace, i: int) -> Callable[..., Any]:
    """Cached tf.function: a batch of images -> per filter the max over positions and its first position."""

    def make() -> Callable[..., Any]:
        import keras
        import tensorflow as tf

        m = keras.Model(trace.inp, trace.records[i].tensor)

        def run(x: Any) -> Any:
            a = tf.cast(m(x, training=False), tf.float32)
            c = a.shape[-1]
            flat = tf.reshape(a, (tf.shape(a)[0], -1, c))  # B x positions x filters
            top = tf.reduce_max(flat, axis=1)
            n_pos = tf.shape(flat)[1]
            where = tf.range(n_pos)[None, :, None]
            first = tf.reduce_min(tf.where(flat >= top[:, None, :], where, n_pos), axis=1)
            return top, tf.minimum(first, n_pos - 1)  # NaN maps: position clamped, value sorted last

        return _tf_function(run)

    return trace.cached(("examples", i), make)


def _scan(trace: _Trace, i: int, source: _Source, k: int, batch_size: int,
          progress: Optional[ProgressFn], cancel: Optional[threading.Event]) -> LayerExamples:
    """One pass over ``source`` keeping every filter's top-k; raises Cancelled (storing nothing) when asked."""
    import tensorflow as tf

    rec = trace.records[i]
    tensor = rec.tensor
    num_filters = int(tensor.shape[-1])
    map_h, map_w = (int(tensor.shape[1]), int(tensor.shape[2])) if _rank(tensor) == 4 else (1, 1)
    fn = _extractor(trace, i)
    state = _RunningTopK(num_filters, k)
    n = len(source)
    report(progress, 0, n, f"{rec.name}: looking through {n} images")
    for start in range(0, n, batch_size):
        check_cancel(cancel)
        x, idx = source.batch(start, min(n, start + batch_size))
        check_cancel(cancel)
        top, first = fn(tf.constant(x))
        state.update(np.asarray(top), idx, np.asarray(first))
        done = min(n, start + batch_size)
        report(progress, done, n, f"{rec.name}: image {done} of {n}")
    pos = state.positions
    ys, xs = pos // map_w, pos % map_w
    h, w = source.shape[:2]
    boxes = _boxes(_geometry(trace, i, source.shape), ys, xs, h, w)
    return LayerExamples(rec.name, source.shape, (map_h, map_w), k, n, state.values, state.indices,
                         np.stack([ys, xs], axis=-1).astype(np.int32), boxes, state.peak_items)


# --- the cache ------------------------------------------------------------------------------------


_cache: "OrderedDict[tuple, tuple[weakref.ref, LayerExamples]]" = OrderedDict()
_cache_lock = threading.Lock()


def clear_examples_cache() -> None:
    """Forget every cached result (the next request makes a fresh pass)."""
    with _cache_lock:
        _cache.clear()


def _lookup(key: tuple, model: Any, k: int) -> LayerExamples | None:
    with _cache_lock:
        hit = _cache.get(key)
        if hit is None:
            return None
        ref, result = hit
        if ref() is not model:  # the address was reused by another model
            del _cache[key]
            return None
        if result.k < k and result.num_images > result.count:
            return None
        _cache.move_to_end(key)
        return result if result.k == k else result.truncated(k)


def _store(key: tuple, model: Any, result: LayerExamples) -> None:
    with _cache_lock:
        _cache[key] = (weakref.ref(model), result)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


# --- the public calls -----------------------------------------------------------------------------


class _Job:
    """A request resolved: the trace, the layer's record, the image source and the cache key."""

    def __init__(self, model: Any, layer_name: str, images: Any, k: int, subset: str | None,
                 app_name: str | None) -> None:
        if int(k) < 1:
            raise InspectError(f"k (examples per filter) must be at least 1, received {k}")
        self.k = int(k)
        self.source = _Source(model, images, subset, app_name)
        self.trace = _get_trace(model, self.source.shape)
        self.index = _layer_record(self.trace, layer_name)
        self.record = self.trace.records[self.index]
        self.num_filters = int(self.record.tensor.shape[-1])
        self.key = (id(model), _weights_fingerprint(self.trace, self.index), self.record.name, self.source.shape,
                    self.source.fingerprint(subset), subset or "", app_name or "")

    def run(self, model: Any, batch_size: int | None, progress: Optional[ProgressFn],
            cancel: Optional[threading.Event]) -> LayerExamples:
        cached = _lookup(self.key, model, self.k)
        if cached is not None:
            report(progress, len(self.source), len(self.source), f"{self.record.name}: from the cache")
            return cached
        bs = int(batch_size) if batch_size else _auto_batch(self.trace, self.index)
        if bs < 1:
            raise InspectError(f"batch size must be at least 1, received {batch_size}")
        result = _scan(self.trace, self.index, self.source, self.k, bs, progress, cancel)
        _store(self.key, model, result)
        return result


def top_examples_for_layer(
    model: Any,
    layer_name: str,
    images: Any,
    k: int = 9,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
    *,
    batch_size: int | None = None,
    subset: str | None = None,
    app_name: str | None = None,
) -> LayerExamples:
    """Every filter's ``k`` most activating images of ``images`` for ``layer_name``, from one pass.

    ``model``: a Keras model (Sequential, functional, nested, several heads).
    ``layer_name``: a layer name as :func:`convexplorer.core.inspect.layers` lists it
    (``"base/inner"`` inside a nested model; a unique short name works too); its output
    must be ``H x W x filters`` (or ``units``, treated as a 1x1 map whose box is the whole image).
    ``images``: an ``N x H x W x C`` (or ``N x H x W``) array or a
    :class:`~convexplorer.core.datasets.base.Dataset`; ``subset`` ("train", "validation",
    "test"; Dataset only) restricts the pass to those samples (indices stay the data set's).
    ``k``: examples per filter (>= 1). ``batch_size``: images per forward pass (None: from
    the activation size). ``app_name``: a ``keras.applications`` name whose
    ``preprocess_input`` the fitted images go through.
    ``progress(done, total, message)`` is called after each batch (``total`` = images);
    ``cancel`` set stops before the next batch with :class:`~convexplorer.core.errors.Cancelled`
    and caches nothing.

    Returns a :class:`LayerExamples` (arrays ``filters x k``; ``examples(f)``, ``best()``).
    Cached (see the module docstring): a second call with the same model weights, layer,
    images and options returns the very same object without another pass (a smaller ``k``:
    a truncated copy of it). Raises InspectError/ShapeError with a readable message.
    """
    job = _Job(model, layer_name, images, k, subset, app_name)
    return job.run(model, batch_size, progress, cancel)


def top_activating_examples(
    model: Any,
    layer_name: str,
    filter_index: int,
    images: Any,
    k: int = 9,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
    *,
    batch_size: int | None = None,
    subset: str | None = None,
    app_name: str | None = None,
) -> list[Example]:
    """The ``k`` images that activate filter ``filter_index`` of ``layer_name`` most, best first.

    Each item is an :class:`Example` ``(image index, activation, (y0, x0, y1, x1))``: the
    activation is the filter's maximum over positions for that image, the box the
    receptive field of the strongest position in pixels of the image as fed to the model
    (clipped; ``crop_box(example_image(model, images, index), box)`` is the crop). Ties go
    to the lower index. Read from :func:`top_examples_for_layer` (same parameters, same
    cache): the pass covers every filter of the layer, so asking for another filter of the
    same layer afterwards costs no pass. Fewer than ``k`` items only when there are fewer images.
    """
    job = _Job(model, layer_name, images, k, subset, app_name)
    f = int(filter_index)
    if not 0 <= f < job.num_filters:
        raise InspectError(f"{job.record.name} has filters 0 to {job.num_filters - 1}, received {filter_index}")
    return job.run(model, batch_size, progress, cancel).examples(f)
