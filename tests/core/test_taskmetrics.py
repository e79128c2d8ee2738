"""core.taskmetrics: IoU, mean/per-class IoU and AP after each epoch, in the logs the Training panel charts."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from convexplorer.core.datasets.shapes import ShapesDetectionDataset, ShapesSegmentationDataset  # noqa: E402
from convexplorer.core.detection import encode_batch  # noqa: E402
from convexplorer.core.evaluation import evaluate_segmentation  # noqa: E402
from convexplorer.core.metrics import box_iou, detection_metrics, segmentation_iou  # noqa: E402
from convexplorer.core.targets import HeadTarget, head_dataset, with_grids  # noqa: E402
from convexplorer.core.taskmetrics import TaskMetricError, task_metrics, task_metrics_callback  # noqa: E402
from convexplorer.core.training import TrainingSession, TrainingSettings  # noqa: E402


def _segmenter(size=32, classes=5, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(classes, 1, activation="softmax", name="mask")(x)
    model = keras.Model(inputs, x)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.MeanIoU(classes, sparse_y_pred=False, name="mean_iou")])
    return model


@pytest.fixture(scope="module")
def seg_set():
    return ShapesSegmentationDataset(n=40, size=32, seed=1)


def test_mean_iou_equals_keras_meaniou_and_core_segmentation_iou(seg_set):
    model = _segmenter()
    heads = [HeadTarget("mask", "masks")]
    val = head_dataset(seg_set, heads, "validation", batch_size=4, shuffle=False)
    ours = task_metrics(model, val, heads, seg_set.class_names)
    keras_value = model.evaluate(val, verbose=0, return_dict=True)["mean_iou"]
    assert ours["mean_iou"] == pytest.approx(keras_value, abs=1e-5)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in val])
    pred = np.argmax(model.predict(np.concatenate(xs), verbose=0), -1)
    ref = segmentation_iou(np.concatenate(ys), pred, 5)
    assert ours["mean_iou"] == pytest.approx(ref["mean"], abs=1e-9)
    for k, name in enumerate(seg_set.class_names):  # per class: keras.metrics.IoU of one target class
        one = keras.metrics.IoU(5, target_class_ids=[k], sparse_y_pred=True)
        one.update_state(np.concatenate(ys), pred)
        if np.isnan(ref["per_class"][k]):
            assert np.isnan(ours[f"iou.{name}"])
        else:
            assert ours[f"iou.{name}"] == pytest.approx(float(one.result()), abs=1e-5)
    # the evaluation's per-pixel confusion matrix counts the same pixels
    res = evaluate_segmentation(model, val, seg_set.class_names)
    np.testing.assert_array_equal(res.confusion, ref["confusion"])
    assert res.per_pixel and res.mean_iou == pytest.approx(ref["mean"]) and res.accuracy == pytest.approx(
        np.trace(ref["confusion"]) / ref["confusion"].sum())
    assert res.to_dict()["n"] == int(ref["confusion"].sum())


def test_localization_iou_is_the_mean_of_the_diagonal_box_iou():
    rng = np.random.default_rng(0)
    x = rng.random((30, 8, 8, 1)).astype("float32")
    xy = rng.uniform(0, 0.5, (30, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(0.1, 0.5, (30, 2))], 1).astype("float32")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    flat = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, {"classes": keras.layers.Dense(3, activation="softmax", name="classes")(flat),
                                 "box": keras.layers.Dense(4, activation="sigmoid", name="box")(flat)})
    heads = [HeadTarget("classes"), HeadTarget("box", "boxes")]
    got = task_metrics(model, (x, {"classes": np.zeros(30, "int32"), "box": boxes}), heads)
    pred = model.predict(x, verbose=0)["box"]
    assert set(got) == {"iou"}
    assert got["iou"] == pytest.approx(float(np.diag(box_iou(boxes, pred)).mean()), abs=1e-6)
    with pytest.raises(TaskMetricError, match="one box"):
        task_metrics(model, (x, {"classes": boxes, "box": boxes}), [HeadTarget("classes", "boxes")] + heads[1:])


def _logits_from_targets(grid):
    """Logits whose decoding gives the target's boxes back with a score near 1."""
    out = np.zeros_like(grid)
    obj = grid[..., 0] > 0
    out[..., 0] = np.where(obj, 12.0, -12.0)
    xy = np.clip(grid[..., 1:3], 1e-4, 1 - 1e-4)
    out[..., 1:3] = np.log(xy / (1 - xy))
    out[..., 3:5] = grid[..., 3:5]
    out[..., 5:] = grid[..., 5:] * 12.0
    return out


class _Echo:
    """A 'model' that answers each batch with given outputs (its images are indices)."""

    def __init__(self, outputs):
        self.outputs = outputs

    def __call__(self, x, training=False):
        return self.outputs[np.asarray(x).astype(int).reshape(-1)]


def test_detection_ap_is_one_for_perfect_logits_and_matches_detection_metrics():
    ds = ShapesDetectionDataset(n=30, size=64, seed=2)
    objects = ds.object_fractions()
    head = with_grids(_grid_model(8, 3, 4), [HeadTarget("grid", "boxes")], ds)[0]
    anchors = np.asarray(head.anchors)
    grids, _dropped = encode_batch(objects, 8, anchors, 4)
    idx = np.arange(30, dtype="float32")
    perfect = task_metrics(_Echo(_logits_from_targets(grids)), (idx, grids), [head], ds.class_names)
    assert perfect["ap50"] == pytest.approx(1.0) and perfect["ap"] == pytest.approx(1.0)
    assert {f"ap50.{c}" for c in ds.class_names} <= set(perfect)
    # a noisy prediction: the same number as core.metrics.detection_metrics on the decoded boxes
    rng = np.random.default_rng(0)
    noisy = _logits_from_targets(grids) + rng.normal(0, 1.5, grids.shape).astype("float32")
    got = task_metrics(_Echo(noisy), (idx, grids), [head], ds.class_names)
    from convexplorer.core.detection import decode_grid

    truth = [decode_grid(g, anchors, 0.5, max_outputs=10_000) for g in grids]
    preds = [decode_grid(p, anchors, 0.05, from_logits=True, iou_threshold=0.5) for p in noisy]
    ref = detection_metrics([(b, c) for b, _, c in truth], [(b, c, s) for b, s, c in preds])
    assert 0.0 < got["ap"] < got["ap50"] < 1.0
    assert got["ap50"] == pytest.approx(ref["ap50"]) and got["ap"] == pytest.approx(ref["ap"])


def _grid_model(s, a, c):
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(a * (5 + c), 8, strides=8)(inputs)
    return keras.Model(inputs, keras.layers.Reshape((s, s, a, 5 + c))(x))


def test_with_grids_sizes_detection_heads_from_the_model_and_refuses_wrong_depths():
    from convexplorer.core.targets import TargetError

    ds = ShapesDetectionDataset(n=20, size=64, seed=3)
    head = with_grids(_grid_model(8, 3, 4), [HeadTarget("grid", "boxes")], ds)[0]
    assert head.grid_size == 8 and len(head.anchors) == 3
    with pytest.raises(TargetError, match="5 \\+ 4 = 9"):
        with_grids(_grid_model(8, 3, 2), [HeadTarget("grid", "boxes")], ds)


def test_the_callback_writes_val_metrics_into_the_history_and_events(seg_set):
    model = _segmenter(seed=1)
    heads = [HeadTarget("mask", "masks")]
    train = head_dataset(seg_set, heads, "train", batch_size=8, seed=0)
    val = head_dataset(seg_set, heads, "validation", batch_size=8, shuffle=False)
    events = []
    cb = task_metrics_callback(val, heads, seg_set.class_names)
    session = TrainingSession(model, train, val, TrainingSettings(epochs=2, batch_size=8), on_event=events.append,
                              metric_callbacks=[cb])
    result = session.run()
    assert result.ok
    h = result.history.epoch
    assert len(h["val_mean_iou"]) == 2 and all(0 <= v <= 1 for v in h["val_mean_iou"])
    assert "val_iou.background" in h and "val_iou.circle" in h
    epoch_logs = [e.logs for e in events if type(e).__name__ == "EpochEvent"]
    assert epoch_logs[-1]["val_mean_iou"] == pytest.approx(h["val_mean_iou"][-1])
    assert cb.history[-1]["val_mean_iou"] == pytest.approx(h["val_mean_iou"][-1])
