"""TimelineView: slider, probes, overlays, curves with a marker, play/pause, live updates, GIF/PNG export."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from convexplorer.core.timeline import Snapshot, Timeline
from convexplorer.ui.widgets.overlay_view import blend
from convexplorer.ui.widgets.timeline_view import TimelineView, export_gif, upsample_cam

N_SNAPS = 4


def _snapshot(t: int, patterns: bool = False) -> Snapshot:
    """Snapshot ``t`` of 2 probes, 3 classes: values that are easy to check by hand."""
    probs = np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]], np.float32)
    probs = np.roll(probs, t, axis=1)  # the top class moves with t
    cams = np.zeros((2, 4, 4), np.float16)
    cams[0, t % 4, :] = 1.0  # a bright row that moves down
    cams[1, :, t % 4] = 1.0
    maps = {"conv1": np.full((2, 8, 8, 3), t, np.float16) + np.arange(3, dtype=np.float16)}
    maps["conv1"][:, 0, 0, :] = -1  # so each map has a range
    kernels = np.full((3, 3, 3, 4), 0.1 * t, np.float16)
    kernels[0, 0, 0, :] = -1
    pats = np.full((2, 8, 8, 3), 40 * t, np.uint8) if patterns else None
    return Snapshot(position=float(t), epoch=t - 1, step=5 * t, probabilities=probs, cams=cams,
                    cam_classes=np.argmax(probs, axis=1), maps=maps, kernels=kernels, patterns=pats,
                    logs={} if t == 0 else {"loss": 1.0 / t, "accuracy": 0.2 * t})


def _timeline(n: int = N_SNAPS, patterns: bool = False) -> Timeline:
    rng = np.random.default_rng(0)
    tl = Timeline(rng.uniform(0, 1, (2, 16, 16, 3)).astype(np.float32), probe_labels=[0, 2],
                  class_names=["circle", "square", "cross"], probe_names=["first", "second"],
                  cam_layer="conv3", kernel_layer="conv1")
    for t in range(n):
        tl.append(_snapshot(t, patterns))
        if t:
            tl.add_curve_point(float(t), {"loss": 1.0 / t, "accuracy": 0.2 * t, "val_loss": 1.2 / t})
    return tl


@pytest.fixture
def view(qtbot):
    v = TimelineView()
    qtbot.addWidget(v)
    v.resize(1100, 750)
    yield v
    v.shutdown()


def test_empty_view_says_what_to_do(view):
    assert view.count() == 0 and view.index() == -1
    assert "No timeline yet" in view.message.text()
    assert not view.slider.isEnabled() and not view.gif_button.isEnabled() and not view.play_button.isEnabled()


def test_shows_a_snapshot_and_moves_with_the_slider(view, qtbot):
    tl = _timeline()
    view.set_timeline(tl)
    assert view.count() == N_SNAPS and view.index() == 0
    assert view.slider.maximum() == N_SNAPS - 1
    assert [view.probe_combo.itemText(i) for i in range(2)] == ["first (circle)", "second (cross)"]
    assert [view.layer_combo.itemText(i) for i in range(view.layer_combo.count())] == ["conv1"]
    with qtbot.waitSignal(view.index_changed) as sig:
        view.slider.setValue(2)
    assert sig.args == [2] and view.index() == 2
    # the overlay is the probe blended with the upsampled Grad-CAM of snapshot 2, probe 0
    base = tl.probes[0].astype(np.float32) / 255.0
    ref = blend(base, upsample_cam(tl[2].cams[0], (16, 16)), 0.5)
    np.testing.assert_allclose(view.cam_view.composite(), ref, atol=1e-6)
    heat = upsample_cam(tl[2].cams[0], (16, 16))
    # coarse row 2 of 4 is bright: output rows 9-10 (centres 2 -/+ 1/8 in coarse rows: 0.875), the bottom is dark
    assert heat[9:11, 5].min() == pytest.approx(0.875) and heat[15, 5] == pytest.approx(0.0, abs=1e-6)
    # bars: snapshot 2 is [.5, .3, .2] rolled by 2 -> [.3, .2, .5]: class 2 ("cross") first
    preds = view.topk_chart.predictions()
    assert [p[0] for p in preds] == [2, 0, 1] and preds[0][1] == "cross" and preds[0][2] == pytest.approx(0.5)
    assert "true class circle: 30.0 % (rank 2)" in view.topk_chart._note
    assert view.cam_view.title_label.text() == "Grad-CAM for cross"
    # the curve markers sit at the snapshot's position and the label names it
    assert [m.value() for m in view.markers] == [2.0, 2.0]
    assert view.position_label.text().startswith("epoch 2 · snapshot 3 of 4 · loss 0.500")
    # feature maps of probe 0 for conv1: 3 tiles; kernels: 4 colour tiles
    assert view.maps_grid.count == 3 and view.kernels_grid.count == 4
    view.set_probe(1)
    np.testing.assert_allclose(view.cam_view.composite(), blend(tl.probes[1] / 255.0, upsample_cam(tl[2].cams[1], (16, 16))), atol=1e-6)
    assert view.topk_chart.predictions()[0][0] == 1  # [.2,.2,.6] rolled by 2 -> [.2,.6,.2]


def test_curves_come_from_the_timeline(view):
    view.set_timeline(_timeline())
    x, y = view._curve_items["loss"].getData()
    assert list(x) == [1.0, 2.0, 3.0] and np.allclose(y, [1.0, 0.5, 1 / 3])
    x, y = view._curve_items["val_loss"].getData()
    assert np.allclose(y, [1.2, 0.6, 0.4])
    x, _y = view._curve_items["val_accuracy"].getData()
    assert x is None or len(x) == 0  # not recorded: no curve


def test_play_runs_to_the_end_and_stops(view, qtbot):
    view.set_timeline(_timeline())
    view.play_timer.setInterval(10)
    seen = []
    view.index_changed.connect(seen.append)
    view.play()
    assert view.playing and view.play_button.text() == "⏸ Pause"
    qtbot.waitUntil(lambda: not view.playing, timeout=3000)
    assert seen == [1, 2, 3] and view.index() == N_SNAPS - 1
    assert view.play_button.text() == "▶ Play" and not view.play_button.isChecked()
    view.play()  # from the end it starts again at the beginning
    assert view.index() == 0 and view.playing
    view.pause()
    assert not view.playing


def test_live_view_follows_new_snapshots(view, qtbot):
    tl = _timeline(2)
    view.set_timeline(tl, live=True)
    assert view.index() == 1
    view.live_timer.setInterval(10)
    view.live_timer.start()
    tl.append(_snapshot(2))  # as the recorder does in the training thread
    tl.add_curve_point(2.0, {"loss": 0.5})
    qtbot.waitUntil(lambda: view.count() == 3, timeout=3000)
    assert view.index() == 2 and view.slider.maximum() == 2
    view.set_index(0)  # the user went back: new snapshots do not pull the view away
    tl.append(_snapshot(3))
    qtbot.waitUntil(lambda: view.count() == 4, timeout=3000)
    assert view.index() == 0
    view.set_live(False)
    assert not view.live_timer.isActive()


def test_patterns_tab(view):
    view.set_timeline(_timeline())
    assert "not recorded" in view.patterns_grid.caption.text()
    view.set_timeline(_timeline(patterns=True))
    view.set_index(1)
    assert view.patterns_grid.count == 2


def test_export_gif_and_strip(view, tmp_path):
    from PIL import Image, ImageSequence

    tl = _timeline()
    view.set_timeline(tl)
    gif = view.export_gif(tmp_path / "replay.gif")
    with Image.open(gif) as im:
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(im)]
        assert im.info.get("loop") == 0
    assert len(frames) == N_SNAPS
    # frames differ as the model "learns" (the moving Grad-CAM row)
    assert np.abs(np.asarray(frames[0], np.int16) - np.asarray(frames[-1], np.int16)).max() > 30
    strip = view.export_strip(tmp_path / "strip.png")
    with Image.open(strip) as im:
        w, h = im.size
    assert w > 4 * 96 and h >= 96  # four columns of at least 96 pixels
    with pytest.raises(ValueError, match="no snapshots"):
        export_gif(_timeline(0), tmp_path / "empty.gif")


def test_a_saved_timeline_replays_after_a_restart(view, tmp_path):
    tl = _timeline()
    tl.save(tmp_path / "timeline.npz")
    back = Timeline.load(tmp_path)
    view.set_timeline(back)
    view.set_index(3)
    assert view.count() == N_SNAPS
    assert view.position_label.text().startswith("epoch 3")
    np.testing.assert_allclose(view.cam_view.composite(),
                               blend(tl.probes[0] / 255.0, upsample_cam(tl[3].cams[0], (16, 16))), atol=1e-6)


def test_live_view_during_a_real_training_in_a_worker_thread(view, qtbot):
    """The recorder appends in the training thread; the live view picks each snapshot up and ends on the last."""
    pytest.importorskip("keras")
    import keras

    from convexplorer.core.timeline import TimelineRecorder
    from convexplorer.ui.workers import run_in_thread

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (32, 12, 12, 3)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0.5).astype(np.int32)
    rec = TimelineRecorder(x[:2], probe_labels=y[:2], class_names=["dark", "red"])
    view.set_timeline(rec.timeline, live=True)
    view.live_timer.setInterval(20)
    seen = []
    view.index_changed.connect(seen.append)
    worker = run_in_thread(lambda: model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[rec]).history)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: view.count() == 4, timeout=3000)
    assert rec.error is None
    assert view.index() == 3 and view.position_label.text().startswith("epoch 3")
    assert seen and seen[-1] == 3 and seen == sorted(seen)  # it only moved forward, following the recording
    x_loss, _ = view._curve_items["loss"].getData()
    assert list(x_loss) == [1.0, 2.0, 3.0]


def test_probe_picker_pins_and_builds_a_recorder(qtbot, tmp_path):
    from convexplorer.core.datasets.shapes import ShapesDataset
    from convexplorer.ui.widgets.timeline_view import ProbePicker

    picker = ProbePicker()
    qtbot.addWidget(picker)
    assert picker.make_recorder() is None  # nothing pinned
    ds = ShapesDataset(n=40, size=16, seed=0, classes=("circle", "cross"))
    picker.set_dataset(ds)
    with qtbot.waitSignal(picker.changed):
        qtbot.mouseClick(picker.per_class_button, Qt.MouseButton.LeftButton)
    images, labels, names = picker.probes()
    assert images.shape == (2, 16, 16, 3) and sorted(labels.tolist()) == [0, 1]
    for img, name in zip(images, names):
        np.testing.assert_array_equal(img, ds.image(int(name.split()[0][1:])))
    assert picker.list.count() == 2 and "2 probe(s) pinned, 16x16x3" in picker.status_label.text()
    assert not picker.pin_image(np.zeros((8, 8, 3)), 0, "small")  # another size is refused, in words
    assert "8x8x3" in picker.status_label.text() and picker.count() == 2
    assert picker.pin_image(np.ones((16, 16, 3)), None, "dropped.png")
    assert picker.probes()[1] is None  # a probe without a label: Grad-CAM of the top class for all
    picker.unpin(2)
    picker.every_spin.setValue(5)
    picker.patterns_check.setChecked(True)
    s = picker.settings()
    assert s.every_n_batches == 5 and s.patterns
    rec = picker.make_recorder(ds.class_names, save_to=tmp_path / "timeline.npz")
    assert rec.timeline.num_probes == 2 and rec.timeline.class_names == ["circle", "cross"]
    assert rec.settings.every_n_batches == 5 and rec.save_to == tmp_path / "timeline.npz"
    picker.enabled_check.setChecked(False)
    assert picker.make_recorder(ds.class_names) is None
    picker.clear()
    assert picker.count() == 0
