"""core.timeline: a real short training run records snapshots that change; save/load round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from convexplorer.core import timeline as T
from tests.models import small_convnet



# --------------------------------------------------------------------------- pure helpers
def test_downsample_maps_is_block_mean():
    a = np.arange(4 * 6 * 2, dtype=np.float32).reshape(4, 6, 2)
    out = T.downsample_maps(a, 3)  # factor ceil(6 / 3) = 2
    assert out.shape == (2, 3, 2)
    assert out[0, 0, 0] == pytest.approx(np.mean([a[0, 0, 0], a[0, 1, 0], a[1, 0, 0], a[1, 1, 0]]))
    assert out[1, 2, 1] == pytest.approx(np.mean(a[2:4, 4:6, 1]))
    assert T.downsample_maps(a, 8) is not None and T.downsample_maps(a, 8).shape == (4, 6, 2)


def test_downsample_odd_size_pads_with_edge():
    a = np.arange(5 * 5, dtype=np.float32).reshape(5, 5, 1)
    out = T.downsample_maps(a, 3)  # factor 2, padded to 6 x 6 with the edge values
    assert out.shape == (3, 3, 1)
    assert out[2, 2, 0] == pytest.approx(a[4, 4, 0])  # the corner block is all edge copies of a[4, 4]
    assert out[0, 2, 0] == pytest.approx(np.mean([a[0, 4, 0], a[0, 4, 0], a[1, 4, 0], a[1, 4, 0]]))


def test_channels_to_keep_spreads_evenly():
    assert list(T.channels_to_keep(5, 16)) == [0, 1, 2, 3, 4]
    assert list(T.channels_to_keep(64, 4)) == [0, 21, 42, 63]


def test_pick_probes_one_per_class_round_robin():
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 3])
    idx = T.pick_probes(y, per_class=1)
    assert sorted(y[idx].tolist()) == [0, 1, 2, 3]
    idx2 = T.pick_probes(y, per_class=2, max_probes=5)
    assert sorted(y[idx2].tolist()) == [0, 0, 1, 2, 3]  # round 1: one of each class, round 2: class 0 first
    assert len(set(idx2.tolist())) == 5


def test_probes_from_dataset_one_per_class():
    from convexplorer.core.datasets.shapes import ShapesDataset

    ds = ShapesDataset(n=40, size=16, seed=0)
    images, labels, names = T.probes_from_dataset(ds, per_class=1)
    assert images.shape == (4, 16, 16, 3) and images.dtype == np.float32
    assert sorted(labels.tolist()) == [0, 1, 2, 3]
    val = set(ds.subset_indices("validation").tolist())
    for img, y, name in zip(images, labels, names):
        i = int(name.split()[0][1:])
        assert i in val and ds.label(i) == y and name.endswith(ds.class_names[y])
        np.testing.assert_array_equal(img, ds.image(i))


def test_settings_validation_messages():
    with pytest.raises(T.TimelineError, match="at least 1, received 0"):
        T.RecorderSettings(every_n_batches=0).validate()


def test_display_probes_rejects_bad_shape():
    with pytest.raises(T.TimelineError, match="P x H x W x C"):
        T.display_probes(np.zeros((2, 3, 4, 5, 6)))


# --------------------------------------------------------------------------- a real run
@pytest.fixture(scope="module")
def run():
    """Shapes 32x32, tiny convnet, 3 epochs of 6 batches, 4 probes (one per class)."""
    from convexplorer.core.datasets.shapes import ShapesDataset
    ds = ShapesDataset(n=192, size=32, seed=1)
    x = ds.materialize().astype(np.float32) / 255.0
    y = ds.labels()
    idx = T.pick_probes(y, per_class=1)
    model = small_convnet((32, 32, 3), 4, learning_rate=1e-2, seed=3)
    rec = T.TimelineRecorder(x[idx], probe_labels=y[idx], class_names=ds.class_names)
    hist = model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[rec], shuffle=True)
    return dict(model=model, rec=rec, hist=hist.history, probes=x[idx], labels=y[idx], names=ds.class_names)


def test_records_one_snapshot_before_training_and_after_each_epoch(run):
    rec = run["rec"]
    assert rec.error is None
    tl = rec.timeline
    assert len(tl) == 4
    assert tl.positions().tolist() == [0.0, 1.0, 2.0, 3.0]
    assert [s.epoch for s in tl.snapshots()] == [-1, 0, 1, 2]
    assert [s.step for s in tl.snapshots()] == [0, 6, 12, 18]
    assert tl.layers() == ["conv1", "conv3"]  # first and last convolution
    assert tl.cam_layer == "conv3" and tl.kernel_layer == "conv1"
    assert tl[0].label == "before training" and tl[2].label == "epoch 2"


def test_snapshots_change_between_epochs(run):
    snaps = run["rec"].timeline.snapshots()
    for a, b in zip(snaps, snaps[1:]):
        assert np.abs(a.probabilities - b.probabilities).max() > 1e-3
        assert np.abs(a.kernels.astype(np.float32) - b.kernels.astype(np.float32)).max() > 1e-3
        for name in a.maps:
            assert np.abs(a.maps[name].astype(np.float32) - b.maps[name].astype(np.float32)).max() > 1e-3
        assert not np.array_equal(a.cams, b.cams)


def test_last_snapshot_matches_the_trained_model(run):
    """Against Keras itself: the model's outputs, its kernel and its conv1 activations after training."""
    import keras
    import tensorflow as tf

    model, probes, last = run["model"], run["probes"], run["rec"].timeline[-1]
    ref_probs = np.asarray(model(probes, training=False))
    np.testing.assert_allclose(last.probabilities, ref_probs, atol=1e-5)
    ref_kernel = np.asarray(model.get_layer("conv1").kernel)
    np.testing.assert_allclose(last.kernels.astype(np.float32), ref_kernel, atol=2e-3, rtol=1e-3)
    conv1 = keras.Model(model.inputs[0], model.get_layer("conv1").output)(probes)
    pooled = np.asarray(tf.nn.avg_pool2d(conv1, 2, 2, "VALID"))  # 32 -> 16 = the default map size
    n = pooled.shape[-1]
    pooled = pooled[..., np.linspace(0, n - 1, 16).round().astype(int)] if n > 16 else pooled
    got = last.maps["conv1"].astype(np.float32)
    assert got.shape == (4, 16, 16, min(n, 16))
    np.testing.assert_allclose(got, pooled, atol=2e-2, rtol=1e-2)
    assert last.maps["conv1"].dtype == np.float16
    # Grad-CAM is for the probes' true classes, at conv3's 8x8 resolution, in [0, 1]
    assert last.cam_classes.tolist() == run["labels"].tolist()
    assert last.cams.shape == (4, 8, 8) and float(last.cams.max()) <= 1.0 and float(last.cams.min()) >= 0.0


def test_batched_pass_equals_inspect_per_probe(run):
    """The one-pass recorder agrees with core.inspect's own Grad-CAM and feature maps, probe by probe."""
    model, probes, labels = run["model"], run["probes"], run["labels"]
    fast = T._batched_pass(model, probes, ["conv1", "conv3"], "conv3", labels)
    slow = T._per_probe_pass(model, probes, ["conv1", "conv3"], "conv3", labels)
    np.testing.assert_allclose(fast[0], slow[0], atol=1e-5)  # probabilities
    np.testing.assert_allclose(fast[1], slow[1], atol=1e-4)  # coarse Grad-CAM
    assert fast[2].tolist() == slow[2].tolist() == labels.tolist()
    for a, b in zip(fast[3], slow[3]):
        np.testing.assert_allclose(a, b, atol=1e-4)
    top = T._batched_pass(model, probes, [], "conv3", None)  # without labels: each probe's top class
    assert top[2].tolist() == np.argmax(fast[0], axis=1).tolist()


def test_curve_equals_keras_history(run):
    tl, hist = run["rec"].timeline, run["hist"]
    x, loss = tl.curve_arrays("loss")
    assert x.tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(loss, hist["loss"], rtol=1e-6)
    _, acc = tl.curve_arrays("accuracy")
    np.testing.assert_allclose(acc, hist["accuracy"], rtol=1e-6)
    assert tl[-1].logs["loss"] == pytest.approx(hist["loss"][-1])


def test_save_load_round_trip(run, tmp_path):
    tl = run["rec"].timeline
    path = tl.save(tmp_path / T.TIMELINE_FILE)
    assert [p.name for p in tmp_path.iterdir()] == [T.TIMELINE_FILE]  # no temporary file left
    back = T.Timeline.load(tmp_path)  # a run folder works too
    assert len(back) == len(tl)
    assert back.class_names == run["names"] and back.probe_labels.tolist() == run["labels"].tolist()
    assert back.cam_layer == "conv3" and back.layers() == ["conv1", "conv3"]
    np.testing.assert_array_equal(back.probes, tl.probes)
    assert back.probes.dtype == np.uint8
    for a, b in zip(tl.snapshots(), back.snapshots()):
        assert (a.position, a.epoch, a.step) == (b.position, b.epoch, b.step)
        np.testing.assert_array_equal(a.probabilities, b.probabilities)
        np.testing.assert_array_equal(a.cams, b.cams)
        np.testing.assert_array_equal(a.kernels, b.kernels)
        for name in a.maps:
            np.testing.assert_array_equal(a.maps[name], b.maps[name])
        assert a.logs == b.logs
        assert b.patterns is None
    assert back.curve == tl.curve
    # compact: four snapshots of four 32x32 probes take well under 200 kB
    assert path.stat().st_size < 200_000


def test_load_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(T.TimelineError, match="no timeline recorded"):
        T.Timeline.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(T.TimelineError, match="damaged"):
        T.Timeline.load(bad)


def test_positions_must_not_go_backwards():
    tl = T.Timeline(np.zeros((1, 8, 8, 3), np.float32))
    snap = T.Snapshot(2.0, 1, 10, np.zeros((1, 2)), np.zeros((1, 2, 2)), np.zeros(1, np.int64))
    tl.append(snap)
    with pytest.raises(T.TimelineError, match="training order"):
        tl.append(T.Snapshot(1.0, 0, 5, np.zeros((1, 2)), np.zeros((1, 2, 2)), np.zeros(1, np.int64)))


# --------------------------------------------------------------------------- options
def _tiny_data(n=64, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, size, size, 3)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0.5).astype(np.int32)
    return x, y


@pytest.fixture(scope="module")
def small():
    """One small compiled model shared by the option tests (its train function is traced once)."""
    return small_convnet((16, 16, 3), 2, seed=0)


def test_every_n_batches_positions_and_autosave(tmp_path, small):
    x, y = _tiny_data(64)  # batch 8 -> 8 batches an epoch
    model = small
    target = tmp_path / "run" / T.TIMELINE_FILE
    rec = T.TimelineRecorder(x[:2], every_n_batches=3, layers=["conv2"], save_to=target)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[rec], shuffle=False)
    assert rec.error is None
    # steps 3, 6 | epoch end 8 | 9 -> 1 + 1/8, 12 -> 1 + 4/8, 15 -> 1 + 7/8 | epoch end 16
    expected = [0.0, 3 / 8, 6 / 8, 1.0, 1 + 1 / 8, 1.5, 1 + 7 / 8, 2.0]
    np.testing.assert_allclose(rec.timeline.positions(), expected)
    steps = [s.step for s in rec.timeline.snapshots()]
    assert [v - steps[0] for v in steps] == [0, 3, 6, 8, 9, 12, 15, 16]
    assert steps[-1] == int(model.optimizer.iterations.numpy())
    assert rec.timeline.layers() == ["conv2"]
    assert rec.timeline[1].label.startswith("epoch 1 (")
    back = T.Timeline.load(target)  # saved after each epoch and at the end
    assert len(back) == 8
    assert back.probe_labels is None


def test_continue_recording_into_an_existing_timeline(small):
    x, y = _tiny_data(32)  # batch 16 -> 2 batches an epoch
    model = small
    rec = T.TimelineRecorder(x[:1])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[rec])
    rec2 = T.TimelineRecorder(x[:1], timeline=rec.timeline)
    model.fit(x, y, epochs=3, initial_epoch=1, batch_size=16, verbose=0, callbacks=[rec2])
    assert rec2.error is None
    assert rec2.timeline.positions().tolist() == [0.0, 1.0, 2.0, 3.0]  # no second "before training"
    steps = [s.step for s in rec2.timeline.snapshots()]
    assert [v - steps[0] for v in steps] == [0, 2, 4, 6]  # batches counted over both fits


def test_bad_probes_turn_recording_off_but_training_goes_on(small):
    x, y = _tiny_data(32)  # batch 16 -> 2 batches an epoch
    model = small
    rec = T.TimelineRecorder(np.zeros((2, 20, 20, 3), np.float32))
    hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[rec])
    assert len(hist.history["loss"]) == 2
    assert rec.error is not None and "20x20x3" in rec.error and "16x16x3" in rec.error
    assert len(rec.timeline) == 0
    assert len(rec.timeline.curve["loss"]) == 2  # the curve is still kept


def test_filter_patterns_only_when_asked(tmp_path, small):
    x, y = _tiny_data(32)
    model = small
    settings = T.RecorderSettings(patterns=True, pattern_filters=3, pattern_steps=2, record_initial=False)
    rec = T.TimelineRecorder(x[:1], settings=settings)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[rec])
    assert rec.error is None
    snap = rec.timeline[0]
    assert snap.patterns is not None and snap.patterns.shape == (3, 16, 16, 3) and snap.patterns.dtype == np.uint8
    assert rec.timeline.pattern_layer == "conv3" and rec.timeline.pattern_filters == [0, 8, 15]
    back = T.Timeline.load(rec.timeline.save(tmp_path / "t.npz"))
    np.testing.assert_array_equal(back[0].patterns, snap.patterns)
    assert math.isfinite(back[0].record_s)
