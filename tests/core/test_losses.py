"""core.losses: the YOLO loss against a numpy re-implementation, its gradients, saving; the box IoU metric."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from convexplorer.core import losses  # noqa: E402
from convexplorer.core.detection import encode_batch  # noqa: E402
from convexplorer.core.metrics import box_iou  # noqa: E402


def _np_yolo(y_true, y_pred, noobj=losses.NO_OBJECT_WEIGHT, coord=losses.COORD_WEIGHT):
    """The formula of the module docstring, written again in plain numpy (float64)."""
    t = np.asarray(y_true, np.float64)
    p = np.asarray(y_pred, np.float64)
    obj = t[..., 0]
    z = p[..., 0]
    sig = 1 / (1 + np.exp(-z))
    bce = -(obj * np.log(sig) + (1 - obj) * np.log(1 - sig))
    obj_loss = bce * np.where(obj > 0, 1.0, noobj)
    xy = 1 / (1 + np.exp(-p[..., 1:3]))
    box = ((xy - t[..., 1:3]) ** 2).sum(-1) + ((p[..., 3:5] - t[..., 3:5]) ** 2).sum(-1)
    logits = p[..., 5:]
    logp = logits - logits.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    cls = -(t[..., 5:] * logp).sum(-1)
    per_cell = obj_loss + obj * (coord * box + cls)
    return per_cell.reshape(len(t), -1).sum(-1)


def _targets(rng, n=4, s=4, classes=3):
    anchors = np.array([[0.2, 0.2], [0.4, 0.25]])
    objects = []
    for _ in range(n):
        m = int(rng.integers(1, 4))
        xy = rng.uniform(0.05, 0.6, (m, 2))
        wh = rng.uniform(0.1, 0.35, (m, 2))
        objects.append((np.concatenate([xy, xy + wh], 1), rng.integers(0, classes, m)))
    grid, _ = encode_batch(objects, s, anchors, classes)
    return grid, anchors


def test_yolo_loss_equals_a_numpy_reimplementation_on_random_tensors():
    rng = np.random.default_rng(0)
    for trial in range(5):
        y_true, _ = _targets(rng)
        y_pred = rng.normal(0, 2, y_true.shape).astype("float32")
        want = _np_yolo(y_true, y_pred)
        got = keras.ops.convert_to_numpy(losses.yolo_loss(y_true, keras.ops.convert_to_tensor(y_pred)))
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-4)
        # the Keras loss object averages the per-image sums over the batch
        obj = losses.YoloLoss(no_object_weight=0.3, coord_weight=2.0)
        got_mean = float(keras.ops.convert_to_numpy(obj(y_true, y_pred)))
        assert got_mean == pytest.approx(_np_yolo(y_true, y_pred, 0.3, 2.0).mean(), rel=2e-5)


def test_yolo_loss_is_stable_on_large_logits_and_its_gradients_are_finite():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    y_true, _ = _targets(rng)
    y_pred = tf.Variable(rng.normal(0, 30, y_true.shape).astype("float32"))  # saturated sigmoids and softmaxes
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(losses.yolo_loss(tf.constant(y_true), y_pred))
    grad = tape.gradient(value, y_pred).numpy()
    assert np.isfinite(float(value)) and np.all(np.isfinite(grad))
    # only responsible anchors get box and class gradients
    empty = y_true[..., 0] == 0
    assert np.all(grad[..., 1:][empty] == 0)
    assert np.any(grad[..., 0][empty] != 0)  # the no-object term reaches every cell


def test_a_perfect_prediction_costs_almost_nothing_and_a_wrong_class_costs_more():
    rng = np.random.default_rng(2)
    y_true, _ = _targets(rng)
    perfect = np.zeros_like(y_true)
    obj = y_true[..., 0] > 0
    perfect[..., 0] = np.where(obj, 20.0, -20.0)
    xy = np.clip(y_true[..., 1:3], 1e-4, 1 - 1e-4)
    perfect[..., 1:3] = np.log(xy / (1 - xy))
    perfect[..., 3:5] = y_true[..., 3:5]
    perfect[..., 5:] = y_true[..., 5:] * 20.0
    assert float(keras.ops.convert_to_numpy(losses.YoloLoss()(y_true, perfect))) < 1e-3
    wrong = perfect.copy()
    wrong[..., 5:] = np.roll(y_true[..., 5:], 1, axis=-1) * 20.0
    assert float(keras.ops.convert_to_numpy(losses.YoloLoss()(y_true, wrong))) > 10


def _tiny_detector(s=4, a=2, c=3):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(4)(x)
    x = keras.layers.Conv2D(a * (5 + c), 1)(x)
    out = keras.layers.Reshape((s, s, a, 5 + c))(x)
    model = keras.Model(inputs, out)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=losses.YoloLoss())
    return model


def test_the_yolo_loss_decreases_on_a_tiny_batch():
    rng = np.random.default_rng(3)
    y_true, _ = _targets(rng, n=8)
    x = rng.random((8, 16, 16, 3)).astype("float32")
    model = _tiny_detector()
    history = model.fit(x, y_true, epochs=80, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]  # memorizing 8 images: the loss falls by more than half


def test_a_model_with_the_yolo_loss_and_box_iou_saves_and_loads_in_safe_mode(tmp_path):
    model = _tiny_detector()
    path = tmp_path / "detector.keras"
    model.save(path)
    back = keras.saving.load_model(path, safe_mode=True)  # registered: no custom_objects needed
    assert isinstance(back.loss, losses.YoloLoss) and back.loss.no_object_weight == losses.NO_OBJECT_WEIGHT
    x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(back(x).numpy(), model(x).numpy(), atol=1e-6)
    inputs = keras.Input((4,))
    box = keras.Model(inputs, keras.layers.Dense(4, activation="sigmoid")(inputs))
    box.compile(optimizer="adam", loss="huber", metrics=[losses.BoxIoU()])
    box.save(tmp_path / "box.keras")
    again = keras.saving.load_model(tmp_path / "box.keras", safe_mode=True)
    assert again.compiled


def test_box_iou_metric_equals_core_box_iou_diagonal():
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 0.6, (50, 2))
    a = np.concatenate([xy, xy + rng.uniform(0.05, 0.4, (50, 2))], 1).astype("float32")
    xy2 = np.clip(xy + rng.normal(0, 0.1, (50, 2)), 0, 0.6)
    b = np.concatenate([xy2, xy2 + rng.uniform(0.05, 0.4, (50, 2))], 1).astype("float32")
    m = losses.BoxIoU()
    m.update_state(a[:20], b[:20])
    m.update_state(a[20:], b[20:])
    assert float(m.result()) == pytest.approx(float(np.diag(box_iou(a, b)).mean()), abs=1e-5)
    # keras.utils.bounding_boxes agrees on the pairs too
    ref = keras.utils.bounding_boxes.compute_iou(a, b, bounding_box_format="xyxy")
    np.testing.assert_allclose(np.diag(keras.ops.convert_to_numpy(ref)),
                               keras.ops.convert_to_numpy(losses.box_iou_diagonal(a, b)), atol=1e-5)


def test_a_kept_detector_opens_in_a_fresh_process_through_modelio(tmp_path):
    """core.modelio registers our loss and metric before Keras reads the file (no import of core.losses needed)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    model = _tiny_detector()
    model.save(tmp_path / "det.keras")
    root = Path(__file__).resolve().parents[2]
    code = ("from convexplorer.core.modelio import load_keras_model\n"
            f"m = load_keras_model({str(tmp_path / 'det.keras')!r})\n"
            "print('LOSS', type(m.loss).__name__)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="3"), check=False)
    assert "LOSS YoloLoss" in proc.stdout, proc.stderr[-2000:]
