"""What each head of a model learns from a data set, and the ``tf.data`` input that feeds them all.

A model with one output (every chain design) trains on ``(images, labels)`` as
it always did: :func:`head_dataset` then returns exactly
``Dataset.to_tf_dataset``. A graph design with several heads (a dict of
outputs keyed by head name) trains on ``(images, {head name: target})``: the
class label for a "labels" head, the box ``[x0, y0, x1, y1]`` as fractions of
the image for a "boxes" head, the class mask (H x W uint8, 0 background) for a
"masks" head. On a detection set (several objects an image) a "boxes" head is a
YOLO-style grid: :func:`detection_head` sizes it (grid, anchors by k-means over
the set's boxes) and its target is ``core.detection.encode_batch`` of the
objects, ``S x S x A x (5 + C)`` a sample.

Augmentation that moves pixels (rotation, shift, shear, zoom, flips) moves the
boxes and masks with them: :func:`head_dataset` hands each batch's images,
boxes (in pixels) and masks to Keras's own box- and mask-aware layers
(``core.datasets.augment_targets``, the layers the Data panel's preview uses),
so one random transformation moves all three; a detection grid is encoded
after the move. A Keras layer given in place of an AugmentationSpec is not
known to move targets, and is refused for a box or mask head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import ConvExplorerError

#: What a head can learn from a data set (as ``core.spec.HeadSpec.target``).
TARGETS: tuple[str, ...] = ("labels", "boxes", "masks")
#: AugmentationSpec options that move pixels (and so boxes), with the words the Data panel uses.
GEOMETRIC_OPTIONS: tuple[tuple[str, str], ...] = (
    ("rotation", "rotation"), ("width_shift", "width shift"), ("height_shift", "height shift"),
    ("shear", "shear"), ("zoom", "zoom"), ("horizontal_flip", "horizontal flip"), ("vertical_flip", "vertical flip"),
)


class TargetError(ConvExplorerError):
    """A head cannot be fed from this data set (no boxes, no masks, augmentation that moves them)."""


@dataclass(frozen=True)
class HeadTarget:
    """One head to train: its name (the model's output key) and what it learns ("labels", "boxes", "masks").

    A "boxes" head on a detection set also names its grid: ``grid_size`` cells a side and
    ``anchors`` (width, height as fractions of the image); see :func:`detection_head`.
    """

    name: str
    target: str = "labels"
    grid_size: int = 0
    anchors: tuple[tuple[float, float], ...] = ()


def detection_head(name: str, dataset: Any, grid_size: int, num_anchors: int = 5, seed: int = 0) -> HeadTarget:
    """A "boxes" head on a ``grid_size`` grid with ``num_anchors`` anchors from k-means over ``dataset``'s boxes."""
    from .detection import dataset_anchors

    objects = dataset.object_fractions() if hasattr(dataset, "object_fractions") else None
    if not objects:
        raise TargetError(f'the head "{name}" is a detection grid, but {getattr(dataset, "name", "this data set")} has no objects')
    anchors = dataset_anchors(objects, int(num_anchors), seed=seed)
    return HeadTarget(name, "boxes", int(grid_size), tuple((float(w), float(h)) for w, h in anchors))


def output_shapes(model: Any, heads: Sequence[HeadTarget]) -> dict[str, tuple]:
    """The shape of each head's output (without the batch axis), by head name."""
    out = getattr(model, "output", None)
    if isinstance(out, dict):
        return {h.name: tuple(out[h.name].shape[1:]) for h in heads if h.name in out}
    outputs = list(getattr(model, "outputs", None) or [])
    if len(heads) == 1 and len(outputs) == 1:
        return {heads[0].name: tuple(outputs[0].shape[1:])}
    names = model_output_names(model)
    return {n: tuple(t.shape[1:]) for n, t in zip(names, outputs)}


def with_grids(model: Any, heads: Sequence[HeadTarget], dataset: Any, seed: int = 0) -> list[HeadTarget]:
    """``heads`` with each "boxes" head whose output is a grid (S x S x A x (5 + C)) sized by :func:`detection_head`.

    The grid size and anchor count come from the model's output; the anchors from k-means over
    ``dataset``'s boxes. A grid on a data set without objects, or a grid whose class scores do not
    match the data set's classes, raises TargetError naming the head.
    """
    shapes = output_shapes(model, heads)
    out = []
    for h in heads:
        shape = shapes.get(h.name, ())
        if h.target == "boxes" and len(shape) == 4 and not h.grid_size:
            s, s2, a, depth = shape
            k = len(getattr(dataset, "class_names", []))
            if s != s2:
                raise TargetError(f'the head "{h.name}" is a detection grid, but it is not square: {s} x {s2}')
            if depth != 5 + k:
                raise TargetError(
                    f'the head "{h.name}" is a detection grid of {depth} values an anchor, but the data set has {k} '
                    f"classes: it needs 5 + {k} = {5 + k} (objectness, x, y, w, h and a score a class)"
                )
            out.append(detection_head(h.name, dataset, int(s), int(a), seed=seed))
        else:
            out.append(h)
    return out


def model_output_names(model: Any) -> list[str]:
    """The names of a model's outputs when it has several (dict keys in the model's order), else []."""
    struct = getattr(model, "_outputs_struct", None)
    if isinstance(struct, dict):
        return [str(k) for k in struct]
    outputs = getattr(model, "outputs", None) or []
    if len(outputs) > 1:
        return [str(n) for n in (getattr(model, "output_names", None) or [])]
    return []


def heads_for_training(model: Any, spec: Any = None) -> list[HeadTarget]:
    """The heads a model trains, with their targets; [] for a model with one output (trained on labels).

    Targets come from the design's heads (``spec.heads``) when it names them; otherwise they
    are read from the model (:func:`convexplorer.core.inspect.output_heads`: a classifier
    learns labels, four numbers without a softmax learn a box).
    """
    names = model_output_names(model)
    spec_heads = {h.name: h for h in (getattr(spec, "heads", None) or [])}
    if not names:
        if len(spec_heads) == 1:
            only = next(iter(spec_heads.values()))
            if getattr(only, "target", "labels") != "labels":
                return [HeadTarget(only.name, only.target)]
        return []
    kinds: dict[str, str] = {}
    if any(n not in spec_heads for n in names):
        from . import inspect as ins

        kinds = {h.name: h.kind for h in ins.output_heads(model)}
    out = []
    for n in names:
        if n in spec_heads:
            target = getattr(spec_heads[n], "target", "labels")
        else:
            kind = kinds.get(n, "values")
            if kind not in ("classes", "boxes"):
                raise TargetError(
                    f'cannot tell what the head "{n}" learns (it is neither a classifier nor a box): '
                    "give it a target in the Builder's heads"
                )
            target = "labels" if kind == "classes" else "boxes"
        out.append(HeadTarget(n, target))
    return out


def target_tables(dataset: Any, heads: Sequence[HeadTarget]) -> dict[str, np.ndarray]:
    """One table a head, a row a sample: labels (int32), boxes (N x 4 fractions, or N x S x S x A x (5 + C) grids on a
    detection set) or masks (N x H x W uint8); TargetError naming the head."""
    tables: dict[str, np.ndarray] = {}
    name = getattr(dataset, "name", "this data set")
    for h in heads:
        if h.target == "labels":
            tables[h.name] = np.asarray(dataset.labels(), np.int32)
        elif h.target == "boxes":
            has_objects = getattr(dataset, "has_objects", lambda: False)()
            if has_objects:
                if not h.grid_size or not h.anchors:
                    raise TargetError(
                        f'the head "{h.name}" learns boxes, and {name} has several objects an image: the head must be '
                        "a detection grid (S x S x anchors x (5 + classes)); give it a grid size and anchors"
                    )
                from .detection import encode_batch

                table, _dropped = encode_batch(
                    dataset.object_fractions(), h.grid_size, np.asarray(h.anchors), len(dataset.class_names)
                )
                tables[h.name] = table
                continue
            boxes = dataset.box_fractions() if hasattr(dataset, "box_fractions") else None
            if boxes is None:
                raise TargetError(
                    f'the head "{h.name}" learns boxes, but {name} has no boxes: choose a data set with boxes '
                    "(Shapes) or change the head's target to labels"
                )
            tables[h.name] = np.asarray(boxes, np.float32)
        elif h.target == "masks":
            masks = dataset.all_masks() if getattr(dataset, "has_masks", lambda: False)() else None
            if masks is None:
                raise TargetError(
                    f'the head "{h.name}" learns masks, but {name} has no masks: this data set has no masks '
                    "(choose Shapes segmentation, a folder of images and masks, or COCO polygons); change the head's target"
                )
            tables[h.name] = np.asarray(masks, np.uint8)
        else:
            raise TargetError(f'the head "{h.name}" has an unknown target {h.target!r}; expected one of {", ".join(TARGETS)}')
    return tables


def moves_pixels(augmentation: Any) -> bool:
    """Whether ``augmentation`` (an AugmentationSpec, a Keras layer, None or False) may move pixels."""
    if augmentation is None or augmentation is False:
        return False
    from .datasets.augmentation import AugmentationSpec

    if not isinstance(augmentation, AugmentationSpec):
        return True
    return any(getattr(augmentation, attr) for attr, _words in GEOMETRIC_OPTIONS)


def check_augmentation(augmentation: Any, heads: Sequence[HeadTarget]) -> None:
    """Refuse augmentation that cannot move a box or mask head's targets with the pixels, saying what to do.

    An AugmentationSpec moves boxes and masks with the image (Keras's box- and mask-aware
    layers) for at most one box head; a Keras layer of the user's own is not known to.
    """
    geometric = [h for h in heads if h.target in ("boxes", "masks")]
    if not geometric or not moves_pixels(augmentation):
        return
    from .datasets.augmentation import AugmentationSpec

    head = geometric[0]
    if not isinstance(augmentation, AugmentationSpec):
        raise TargetError(
            f'the head "{head.name}" learns {head.target}, and this augmentation may move pixels away from them: '
            "train without it, or choose the augmentation in the Data panel (it moves boxes and masks too)"
        )
    box_heads = [h.name for h in heads if h.target == "boxes"]
    if len(box_heads) > 1:
        on = [words for attr, words in GEOMETRIC_OPTIONS if getattr(augmentation, attr)]
        raise TargetError(
            f'the heads "{box_heads[0]}" and "{box_heads[1]}" both learn boxes, and {", ".join(on)} can move '
            f"the boxes of one head only: switch off {', '.join(on)} in the Data panel's augmentation "
            "(brightness may stay on)"
        )


def _padded_objects(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every sample's objects as ``N x M x 4`` box fractions and ``N x M`` classes, padded with class -1."""
    objects = dataset.object_fractions()
    most = max(1, max((len(np.asarray(k).reshape(-1)) for _b, k in objects), default=1))
    boxes = np.zeros((len(objects), most, 4), np.float32)
    classes = np.full((len(objects), most), -1, np.int32)
    for i, (b, k) in enumerate(objects):
        k = np.asarray(k, np.int32).reshape(-1)
        boxes[i, : len(k)] = np.asarray(b, np.float32).reshape(-1, 4)
        classes[i, : len(k)] = k
    return boxes, classes


def _moving_tables(dataset: Any, heads: Sequence[HeadTarget]) -> dict[str, np.ndarray]:
    """:func:`target_tables`, but a detection grid's head gets its raw objects (``name/boxes``, ``name/classes``),
    so that they can be moved with the image before the grid is encoded."""
    grid_heads = {h.name for h in heads if h.target == "boxes" and h.grid_size and dataset.has_objects()}
    tables = target_tables(dataset, [h for h in heads if h.name not in grid_heads])
    for name in grid_heads:
        tables[f"{name}/boxes"], tables[f"{name}/classes"] = _padded_objects(dataset)
    return tables


def _target_mover(dataset: Any, heads: Sequence[HeadTarget], spec: Any, seed: int):
    """A ``tf.data`` map function: one batch's images with their box and mask targets moved by ``spec``'s layers."""
    import tensorflow as tf

    from .datasets.augment_targets import target_layers
    from .detection import encode_batch, grid_shape

    layers = target_layers(spec, seed)
    h, w = dataset.image_shape[:2]
    to_pixels = tf.constant([w, h, w, h], tf.float32)
    box_head = next((b for b in heads if b.target == "boxes"), None)
    mask_heads = [m.name for m in heads if m.target == "masks"]
    grid = box_head is not None and bool(box_head.grid_size) and dataset.has_objects()
    num_classes = len(dataset.class_names)
    grid_cells = list(grid_shape(box_head.grid_size, box_head.anchors, num_classes)) if grid else []

    def encode(boxes: np.ndarray, classes: np.ndarray) -> np.ndarray:
        objects = [(b[k >= 0], k[k >= 0]) for b, k in zip(boxes, classes.astype(np.int32))]
        return encode_batch(objects, box_head.grid_size, np.asarray(box_head.anchors), num_classes)[0]

    def move(x, y):
        data = {"images": x}
        if box_head is not None:
            if grid:
                boxes, classes = y[f"{box_head.name}/boxes"], y[f"{box_head.name}/classes"]
            else:  # one box an image (localization)
                boxes = y[box_head.name][:, None, :]
                classes = tf.zeros(tf.shape(boxes)[:2], tf.int32)
            data["bounding_boxes"] = {"boxes": boxes * to_pixels, "labels": classes}
        for name in mask_heads[:1]:
            data["segmentation_masks"] = tf.cast(y[name][..., None], tf.float32)
        for layer in layers:
            data = layer(data, training=True)
        out = {k: v for k, v in y.items() if "/" not in k}
        if box_head is not None:
            moved = tf.clip_by_value(data["bounding_boxes"]["boxes"] / to_pixels, 0.0, 1.0)
            if grid:
                labels = tf.cast(data["bounding_boxes"]["labels"], tf.int32)
                # a box moved out of the image has no area left: drop it, as the preview does
                gone = (moved[..., 2] <= moved[..., 0]) | (moved[..., 3] <= moved[..., 1])
                labels = tf.where(gone, -1, labels)
                table = tf.numpy_function(encode, [moved, labels], tf.float32, stateful=False)
                out[box_head.name] = tf.ensure_shape(table, [None, *grid_cells])
            else:
                out[box_head.name] = moved[:, 0, :]
        if mask_heads:
            moved_mask = tf.cast(tf.round(data["segmentation_masks"][..., 0]), y[mask_heads[0]].dtype)
            for name in mask_heads:  # several mask heads learn the same mask
                out[name] = moved_mask
        return tf.clip_by_value(data["images"], 0.0, 1.0), out

    return move


def head_dataset(
    dataset: Any,
    heads: Sequence[HeadTarget],
    subset: str = "train",
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 0,
    augmentation: Any = None,
    drop_remainder: bool = False,
) -> Any:
    """The batched ``tf.data`` input for ``heads``: ``(images, labels)`` for [] (one output, as always), else
    ``(images, {head: target})``; augmentation and ``drop_remainder`` as in ``Dataset.to_tf_dataset`` (augmentation
    None: the data set's own, for "train")."""
    if not heads:
        return dataset.to_tf_dataset(subset, batch_size=batch_size, shuffle=shuffle, augmentation=augmentation, seed=seed,
                                     drop_remainder=drop_remainder)
    chosen = augmentation
    if chosen is None and subset == "train":
        chosen = getattr(dataset, "augmentation", None)
    check_augmentation(chosen, heads)
    if moves_pixels(chosen) and any(h.target in ("boxes", "masks") for h in heads):
        import tensorflow as tf

        tables = _moving_tables(dataset, heads)
        ds = dataset.to_tf_dataset(
            subset, batch_size=batch_size, shuffle=shuffle, augmentation=False, seed=seed, targets=tables,
            drop_remainder=drop_remainder,
        )
        ds = ds.map(_target_mover(dataset, heads, chosen, seed), num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.prefetch(tf.data.AUTOTUNE)
    else:
        tables = target_tables(dataset, heads)
        ds = dataset.to_tf_dataset(
            subset, batch_size=batch_size, shuffle=shuffle, augmentation=augmentation, seed=seed, targets=tables,
            drop_remainder=drop_remainder,
        )
    if len(heads) == 1:  # a single output that learns something else than labels: (images, target)
        only = heads[0].name
        ds = ds.map(lambda x, y: (x, y[only]))
    return ds


@dataclass(frozen=True)
class TrainingInputs:
    """The batched training and validation inputs of a run, and what was left out to keep replicas even."""

    train: Any
    validation: Any
    batch_size: int
    validation_batch_size: int
    note: str = ""


def training_inputs(
    dataset: Any, heads: Sequence[HeadTarget], batch_size: int, seed: int = 0, replicas: int = 1,
    use_validation: bool = True,
) -> TrainingInputs:
    """The training input (shuffled, augmented) and validation input (None without one) of a run.

    Under a ``tf.distribute`` strategy with several replicas every batch must split evenly between
    them (Keras fails on a validation set smaller than one global batch, and on a last batch that
    does not divide): the last partial batch is dropped, and the validation batch is the largest
    multiple of the replica count that fits the validation subset. ``note`` says what was left out.
    """
    n_train = len(dataset.subset_indices("train"))
    n_val = len(dataset.subset_indices("validation")) if use_validation else 0
    replicas = max(1, int(replicas))
    even = replicas > 1
    notes = []
    if even and n_train < batch_size:
        raise ConvExplorerError(
            f"the training subset has {n_train} images, fewer than one global batch of {batch_size} "
            f"({replicas} replicas): lower the batch size or add images"
        )
    train = head_dataset(dataset, heads, "train", batch_size=batch_size, shuffle=True, seed=seed, drop_remainder=even)
    if even and n_train % batch_size:
        notes.append(f"the last {n_train % batch_size} shuffled training images of each epoch are skipped so that "
                     f"batches split evenly between {replicas} replicas")
    val, val_batch = None, batch_size
    if n_val > 0:
        if even:
            val_batch = min(batch_size, n_val // replicas * replicas)
            if val_batch == 0:
                notes.append(f"no validation: {n_val} images cannot be shared by {replicas} replicas")
            else:
                left = n_val % val_batch
                if left:
                    notes.append(f"{left} of {n_val} validation images left out so that batches split evenly")
        if val_batch > 0:
            val = head_dataset(dataset, heads, "validation", batch_size=val_batch, shuffle=False, drop_remainder=even)
    return TrainingInputs(train, val, batch_size, val_batch, "; ".join(notes))
