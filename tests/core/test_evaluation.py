"""Evaluation: confusion matrix and precision/recall against hand-worked values and TensorFlow's own op."""

from __future__ import annotations

import math

import numpy as np
import pytest

from convexplorer.core.errors import Cancelled
from convexplorer.core.evaluation import (
    EvaluationError,
    confusion_matrix,
    evaluate_model,
    precision_recall,
    summarize,
)


def test_confusion_matrix_hand_worked():
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 0, 1, 1, 2, 0, 2, 1]
    cm = confusion_matrix(y_true, y_pred, 3)
    np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 2, 0], [1, 1, 2]])
    p, r, f1, support = precision_recall(cm)
    # precision = TP / column sum, recall = TP / row sum
    np.testing.assert_allclose(p, [2 / 3, 2 / 4, 2 / 2])
    np.testing.assert_allclose(r, [2 / 3, 2 / 2, 2 / 4])
    np.testing.assert_allclose(f1, [2 / 3, 2 * 0.5 * 1 / 1.5, 2 * 1 * 0.5 / 1.5])
    np.testing.assert_array_equal(support, [3, 2, 4])


def test_confusion_matrix_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(3)
    t = rng.integers(0, 5, 500)
    p = np.where(rng.random(500) < 0.6, t, rng.integers(0, 5, 500))
    ref = tf.math.confusion_matrix(t, p, num_classes=5).numpy()
    np.testing.assert_array_equal(confusion_matrix(t, p, 5), ref)


def test_undefined_precision_and_recall_are_nan_not_zero():
    # class 2 never appears and is never predicted; class 1 is never predicted
    cm = confusion_matrix([0, 0, 1], [0, 0, 0], 3)
    p, r, f1, support = precision_recall(cm)
    assert p[0] == pytest.approx(2 / 3) and r[0] == 1.0
    assert math.isnan(p[1]) and r[1] == 0.0
    assert math.isnan(p[2]) and math.isnan(r[2]) and math.isnan(f1[2])
    np.testing.assert_array_equal(support, [2, 1, 0])


def test_bad_inputs_say_what_was_expected():
    with pytest.raises(EvaluationError, match="label 3 is outside the 3 classes"):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(EvaluationError, match="2 predictions and 3 labels"):
        confusion_matrix([0, 1, 2], [0, 1], 3)
    with pytest.raises(EvaluationError, match="outputs 2 classes but the data set has 3"):
        summarize([0, 1], np.eye(2), ["a", "b", "c"])


def test_summarize_orders_mistakes_by_confidence_and_maps_indices():
    probs = np.array(
        [
            [0.9, 0.1],  # true 0, right
            [0.6, 0.4],  # true 1, wrong (conf 0.6)
            [0.2, 0.8],  # true 0, wrong (conf 0.8)
            [0.3, 0.7],  # true 1, right
        ]
    )
    res = summarize([0, 1, 0, 1], probs, ["cat", "dog"])
    assert res.accuracy == 0.5
    np.testing.assert_array_equal(res.misclassified, [2, 1])
    expected_loss = -np.mean(np.log([0.9, 0.4, 0.2, 0.7]))
    assert res.loss == pytest.approx(expected_loss)
    mapped = summarize([0, 1, 0, 1], probs, ["cat", "dog"], indices=[10, 11, 12, 13])
    np.testing.assert_array_equal(mapped.misclassified, [12, 11])
    d = mapped.to_dict()
    assert d["accuracy"] == 0.5 and d["confusion"] == [[1, 1], [1, 1]] and d["class_names"] == ["cat", "dog"]


@pytest.fixture(scope="module")
def fixed_model():
    """A 'model' whose class scores are its input's first 3 values after softmax: predictions are known."""
    keras = pytest.importorskip("keras")
    inp = keras.Input((2, 2, 1))
    flat = keras.layers.Flatten()(inp)
    dense = keras.layers.Dense(3, use_bias=False, activation="softmax")
    out = dense(flat)
    model = keras.Model(inp, out)
    w = np.zeros((4, 3), np.float32)
    w[0, 0] = w[1, 1] = w[2, 2] = 10.0
    dense.set_weights([w])
    return model


def test_evaluate_model_on_arrays_and_tf_data(fixed_model):
    tf = pytest.importorskip("tensorflow")
    x = np.zeros((7, 2, 2, 1), np.float32)
    hot = [0, 1, 2, 2, 1, 0, 1]  # the model predicts these
    for i, h in enumerate(hot):
        x[i].reshape(-1)[h] = 1.0
    y = np.array([0, 1, 2, 0, 0, 0, 1])
    res = evaluate_model(fixed_model, (x, y), class_names=["a", "b", "c"], batch_size=3)
    np.testing.assert_array_equal(res.y_pred, hot)
    np.testing.assert_array_equal(res.confusion, confusion_matrix(y, hot, 3))
    assert res.accuracy == pytest.approx(5 / 7)
    assert sorted(res.misclassified.tolist()) == [3, 4]
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    res2 = evaluate_model(fixed_model, ds, class_names=["a", "b", "c"], indices=list(range(100, 107)))
    assert sorted(res2.misclassified.tolist()) == [103, 104]
    # the reported loss equals Keras's own cross-entropy
    import keras

    ref = float(keras.losses.SparseCategoricalCrossentropy()(y, fixed_model(x)))
    assert res2.loss == pytest.approx(ref, rel=1e-5)


def test_evaluate_model_reports_progress_and_cancels(fixed_model):
    import threading

    x = np.zeros((10, 2, 2, 1), np.float32)
    y = np.zeros(10, np.int64)
    seen = []
    evaluate_model(fixed_model, (x, y), batch_size=4, progress=lambda d, t, m: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        evaluate_model(fixed_model, (x, y), cancel=cancel)
