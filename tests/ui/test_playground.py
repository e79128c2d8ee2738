"""The Playground panel and its widgets, driven offscreen with qtbot.

References are independent of convexplorer.core.conv: scipy.ndimage.correlate
for the maps, numpy reshapes for pooling, hand-made image files for opening.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from scipy import ndimage

from convexplorer.core import kernels as K
from convexplorer.core.samples import SAMPLES
from convexplorer.ui.panels.playground import MAX_SIDE, PlaygroundPanel
from convexplorer.ui.screenshots import prepare_panel
from convexplorer.ui.screenshots.playground import prepare_step_through
from convexplorer.ui.state import AppState
from convexplorer.ui.widgets.array_view import ArrayView, guard_pyside_refcounts
from convexplorer.ui.widgets.kernel_grid import KernelGrid


@pytest.fixture
def panel(qtbot):
    p = PlaygroundPanel(AppState())
    qtbot.addWidget(p)
    p.resize(1280, 800)
    p.show()
    yield p
    p.shutdown()


def settle(qtbot, panel, trigger):
    """Run ``trigger`` and wait for the panel's coalesced recompute."""
    with qtbot.waitSignal(panel.updated, timeout=5000):
        trigger()


def reference_same(x2: np.ndarray, k: np.ndarray) -> np.ndarray:
    """'same' zero-padded correlation for odd kernels, by scipy (independent of core.conv)."""
    return ndimage.correlate(x2.astype(np.float64), k.astype(np.float64), mode="constant", cval=0.0)


def png_with_header_size(path, width: int, height: int) -> None:
    """A PNG whose header claims width x height (data is a stub): a decompression-bomb stand-in."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


# --- the representative state --------------------------------------------------------------------
def test_screenshot_state_equals_scipy_reference(panel, qtbot):
    prepare_panel(panel)
    scene = SAMPLES["Scene (colour)"]()
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)
    ref = sum(reference_same(scene[..., c], sobel) for c in range(3))  # one filter summing the channels
    fmap = panel.feature_map()
    assert fmap.shape == (128, 128, 1)
    np.testing.assert_allclose(fmap[..., 0], ref, rtol=1e-5, atol=1e-5)
    pooled = panel.pooled_map()
    np.testing.assert_allclose(pooled[..., 0], ref.reshape(64, 2, 64, 2).max(axis=(1, 3)), rtol=1e-5, atol=1e-5)
    text = panel.shapes_label.text()
    assert "out = floor((128 + 1 + 1 - 1*(3-1) - 1) / 1) + 1 = 128" in text
    assert "out = floor((128 + 0 + 0 - 1*(2-1) - 1) / 2) + 1 = 64" in text
    assert panel.output_view.array().shape == (128, 128)
    assert panel.input_view.array().shape == (130, 130, 3)  # padded input on show
    assert "zero padding" in panel.note_label.text()
    assert panel.message() == ""


def test_controls_update_live_and_shapes_follow(panel, qtbot):
    prepare_panel(panel)
    settle(qtbot, panel, lambda: panel.stride_y.setValue(3))
    assert panel.feature_map().shape[:2] == (math.ceil(128 / 3), 128)
    assert "/ 3) + 1 = 43" in panel.shapes_label.text()
    settle(qtbot, panel, lambda: panel.padding_combo.setCurrentIndex(0))  # valid
    assert panel.feature_map().shape[:2] == ((128 - 3) // 3 + 1, 126)
    # custom padding per side
    settle(qtbot, panel, lambda: panel.padding_combo.setCurrentIndex(2))
    assert panel.custom_pad_box.isVisibleTo(panel)
    with qtbot.waitSignal(panel.updated):
        panel.pad_top.setValue(4)
        panel.pad_left.setValue(0)
        panel.pad_right.setValue(2)
    assert panel.feature_map().shape[:2] == ((128 + 4 + 1 - 3) // 3 + 1, 128 + 0 + 2 - 2)
    assert panel.input_view.array().shape[:2] == (128 + 5, 128 + 2)


def test_many_slider_moves_are_coalesced(panel, qtbot):
    prepare_panel(panel)
    count = []
    panel.updated.connect(lambda: count.append(1))
    with qtbot.waitSignal(panel.updated):
        for v in range(1, 6):
            panel.stride_x.setValue(v)
    assert len(count) == 1
    assert panel.feature_map().shape[1] == math.ceil(128 / 5)


def test_bias_relu_and_channel_modes(panel, qtbot):
    prepare_panel(panel)
    scene = SAMPLES["Scene (colour)"]()
    sobel = K.sobel("x").astype(np.float64)
    per_channel = np.stack([reference_same(scene[..., c], sobel) for c in range(3)], -1)
    with qtbot.waitSignal(panel.updated):
        panel.bias_spin.setValue(-0.5)
        panel.relu_check.setChecked(True)
    np.testing.assert_allclose(panel.feature_map()[..., 0], np.maximum(per_channel.sum(-1) - 0.5, 0), rtol=1e-5, atol=1e-5)
    settle(qtbot, panel, lambda: panel.mode_combo.setCurrentIndex(1))  # depthwise
    fmap = panel.feature_map()
    assert fmap.shape == (128, 128, 3)
    np.testing.assert_allclose(fmap, np.maximum(per_channel - 0.5, 0), rtol=1e-5, atol=1e-5)
    assert panel.channel_combo.isVisibleTo(panel) and panel.channel_combo.count() == 3
    panel.channel_combo.setCurrentIndex(2)
    np.testing.assert_array_equal(panel.output_view.array(), fmap[..., 2])
    settle(qtbot, panel, lambda: panel.mode_combo.setCurrentIndex(0))  # grayscale
    gray = K.to_grayscale(scene)
    np.testing.assert_allclose(panel.feature_map()[..., 0], np.maximum(reference_same(gray, sobel) - 0.5, 0), rtol=1e-5, atol=1e-5)
    assert not panel.channel_combo.isVisibleTo(panel)


def test_average_pooling_and_global_numbers(panel, qtbot):
    prepare_panel(panel)
    with qtbot.waitSignal(panel.updated):
        panel.pool_mode.setCurrentIndex(1)
        panel.pool_size.setValue(4)
    fmap = panel.feature_map()[..., 0]
    np.testing.assert_allclose(panel.pooled_map()[..., 0], fmap.reshape(32, 4, 32, 4).mean(axis=(1, 3)), rtol=1e-5, atol=1e-6)
    assert f"{fmap.mean():.4g}" in panel.global_label.text() and f"{fmap.max():.4g}" in panel.global_label.text()
    with qtbot.waitSignal(panel.updated):
        panel.pool_size.setValue(3)
        panel.pool_stride.setValue(2)
    panel.set_step_position(4, 4)  # overlapping 3x3/2 windows: pixel 4 lies in windows 1 and 2 on each axis
    assert sorted(panel.pooled_view.highlights()) == [(r, c, 1.0, 1.0) for r in (1.0, 2.0) for c in (1.0, 2.0)]
    settle(qtbot, panel, lambda: panel.pool_check.setChecked(False))
    assert panel.pooled_map() is None and panel.pooled_view.array() is None


# --- bad input ------------------------------------------------------------------------------------------
def test_kernel_larger_than_input_and_one_pixel_image(panel, qtbot):
    prepare_panel(panel)
    with qtbot.waitSignal(panel.updated):
        panel.padding_combo.setCurrentIndex(0)
        panel.set_image(np.ones((1, 1), np.float32), "one pixel")
    assert "kernel larger than padded input: 3x3 on 1x1" in panel.message()
    assert panel.feature_map() is None and panel.output_view.array() is None
    settle(qtbot, panel, lambda: panel.padding_combo.setCurrentIndex(1))  # same
    assert panel.feature_map().shape == (1, 1, 1)
    assert panel.feature_map()[0, 0, 0] == 0.0  # Sobel sees only zeros around the single pixel
    # 2x2 valid pooling of a 1x1 map is refused, and said so
    assert panel.message() == "Pooling: pool window larger than its input: 2x2 on 1x1"
    assert panel.pooled_map() is None
    settle(qtbot, panel, lambda: panel.pool_padding.setCurrentIndex(1))  # same pooling works
    assert panel.message() == "" and panel.pooled_map().shape == (1, 1, 1)


def test_pooling_too_big_is_reported_not_raised(panel, qtbot):
    prepare_panel(panel)
    with qtbot.waitSignal(panel.updated):
        panel.sample_combo.setCurrentText("Digit 7")
        panel.stride_y.setValue(8)
        panel.stride_x.setValue(8)
        panel.pool_size.setValue(8)
    assert panel.feature_map().shape[:2] == (4, 4)
    assert panel.message().startswith("Pooling: pool window larger than its input: 8x8 on 4x4")
    assert panel.pooled_map() is None


def test_stride_and_dilation_cannot_go_below_one(panel):
    for spin in (panel.stride_y, panel.stride_x, panel.dilation_y, panel.dilation_x):
        spin.setValue(0)
        assert spin.value() == 1
        spin.setValue(-4)
        assert spin.value() == 1


def test_keras_refused_combination_is_computed_and_noted(panel, qtbot):
    prepare_panel(panel)
    with qtbot.waitSignal(panel.updated):
        panel.padding_combo.setCurrentIndex(0)
        panel.stride_y.setValue(2)
        panel.stride_x.setValue(2)
        panel.dilation_y.setValue(2)
        panel.dilation_x.setValue(2)
    assert "Keras Conv2D layer refuses" in panel.note_label.text()
    scene = SAMPLES["Scene (colour)"]()
    k = np.zeros((5, 5))
    k[::2, ::2] = K.sobel("x")  # a dilated 3x3 is a 5x5 with holes
    ref = sum(ndimage.correlate(scene[..., c].astype(np.float64), k, mode="constant")[2:-2:2, 2:-2:2] for c in range(3))
    np.testing.assert_allclose(panel.feature_map()[..., 0], ref, rtol=1e-5, atol=1e-5)


def test_open_path_images_and_bad_files(panel, qtbot, tmp_path):
    from PIL import Image

    rgb = (np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8)
    good = tmp_path / "mine.png"
    Image.fromarray(rgb).save(good)
    with qtbot.waitSignal(panel.updated):
        assert panel.open_path(good) is True
    assert panel.sample_combo.currentText() == "mine.png"
    assert panel.input_view.array().shape[:2] in {(20, 30), (22, 32)}
    np.testing.assert_allclose(panel._source, rgb / 255.0, atol=1e-6)

    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert panel.open_path(notes) is False  # not an image: the window tries other panels
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a png")
    assert panel.open_path(broken) is True
    assert "broken.png" in panel.message() and "not in a format" in panel.message()
    bomb = tmp_path / "huge.png"
    png_with_header_size(bomb, 20000, 20000)
    assert panel.open_path(bomb) is True
    assert "image too large: huge.png" in panel.message()
    assert panel.sample_combo.currentText() == "mine.png"  # the last good image stays

    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((600, 1200, 3), np.uint8)).save(big)
    with qtbot.waitSignal(panel.updated):
        panel.open_path(big)
    assert max(panel._source.shape[:2]) == MAX_SIDE
    assert "scaled down from 1200x600" in panel.note_label.text()


def test_huge_arrays_are_scaled_down_and_odd_arrays_refused(panel, qtbot):
    with qtbot.waitSignal(panel.updated):
        panel.set_image(np.zeros((3000, 1100, 4), np.uint8), "tall")
    assert panel._source.shape == (MAX_SIDE, round(1100 * MAX_SIDE / 3000), 1)  # alpha dropped, gray kept as 1 channel
    assert "scaled down from 1100x3000" in panel.note_label.text()
    from convexplorer.core.errors import ImageError

    with pytest.raises(ImageError, match="got an array of shape"):
        panel.set_image(np.zeros((4, 4, 2)), "two channels")
    panel.state.image_array_opened.emit(np.zeros((4, 4, 2)), "two channels")  # via the state: shown, not raised
    assert "got an array of shape (4, 4, 2)" in panel.message()


def test_image_from_another_panel_through_state(panel, qtbot):
    arr = np.random.default_rng(1).random((16, 12, 3)).astype(np.float32)
    with qtbot.waitSignal(panel.updated):
        panel.state.image_array_opened.emit(arr, "picked in Data")
    assert panel.sample_combo.currentText() == "picked in Data"
    np.testing.assert_array_equal(panel._source, arr)


# --- kernels ----------------------------------------------------------------------------------------------
def test_presets_and_editable_grid(panel, qtbot):
    prepare_panel(panel)
    settle(qtbot, panel, lambda: panel.preset_combo.setCurrentText("Laplacian"))
    np.testing.assert_array_equal(panel.kernel(), K.preset("Laplacian"))
    assert panel.kernel_grid.texts() == [["0", "1", "0"], ["1", "-4", "1"], ["0", "1", "0"]]
    settle(qtbot, panel, lambda: panel.kernel_grid.set_cell(1, 1, "-8"))
    assert panel.preset_combo.currentText().startswith("Custom")
    assert panel.kernel()[1, 1] == -8.0
    # a non-numeric entry: flagged, message shown, last good kernel kept
    panel.kernel_grid.set_cell(0, 0, "abc")
    assert 'row 1, column 1: "abc" is not a number' in panel.message()
    assert panel.kernel_grid.table.item(0, 0).background().color().name() == "#ff8a80"
    assert panel.kernel()[0, 0] == 0.0 and panel.kernel_grid.kernel() is None
    panel.kernel_grid.set_cell(0, 1, "")
    assert "row 1, column 2: is empty" in panel.kernel_grid.error_text()
    panel.kernel_grid.set_cell(0, 1, "1")
    settle(qtbot, panel, lambda: panel.kernel_grid.set_cell(0, 0, "1/4"))
    assert panel.kernel()[0, 0] == 0.25 and panel.kernel_grid.is_valid()
    assert panel.message() == ""


def test_kernel_grid_sizes_non_square_and_clamped(qtbot):
    grid = KernelGrid()
    qtbot.addWidget(grid)
    got = []
    grid.kernel_changed.connect(got.append)
    grid.set_kernel(K.sobel("x"))
    grid.set_size(5, 3)
    k = got[-1]
    assert k.shape == (5, 3)
    np.testing.assert_array_equal(k[1:4], K.sobel("x"))  # old weights stay centred
    assert not k[0].any() and not k[4].any()
    grid.rows_spin.setValue(1)
    grid.cols_spin.setValue(11)
    assert got[-1].shape == (1, 11)
    grid.set_size(40, 0)
    assert got[-1].shape == (11, 1)
    # exact values survive the short display text
    grid.set_kernel(np.full((2, 2), 1 / 9))
    assert grid.texts()[0][0] == "0.11"
    np.testing.assert_allclose(got[-1], np.full((2, 2), 1 / 9, np.float32))


def test_gabor_sliders_and_bank(panel, qtbot):
    prepare_panel(panel)
    settle(qtbot, panel, lambda: panel.preset_combo.setCurrentText("Gabor"))
    assert panel.gabor_box.isVisibleTo(panel)
    with qtbot.waitSignal(panel.updated):
        panel.gabor_theta.setValue(90.0)
        panel.gabor_freq.setValue(0.25)
        panel.gabor_sigma.setValue(2.0)
    g = K.gabor(11, 0.25, math.pi / 2, 2.0)
    np.testing.assert_allclose(panel.kernel(), g / np.abs(g).max(), rtol=1e-5, atol=1e-6)
    # the bank computes on a worker thread
    with qtbot.waitSignal(panel.bank_updated, timeout=10000):
        panel.show_gabor_bank(wait=False)
    assert panel.tabs.currentIndex() == 1
    maps = panel.bank_maps_view.array()
    gap = max(1, 128 // 24)
    assert maps.shape == (3 * 128 + 2 * gap, 4 * 128 + 3 * gap)
    kernels_mosaic = panel.bank_kernels_view.array()
    assert kernels_mosaic.shape == (3 * 11 + 2, 4 * 11 + 3)
    assert "0°, 45°, 90°, 135°" in panel.bank_caption.text()
    with qtbot.waitSignal(panel.bank_updated, timeout=10000):
        panel.bank_orientations.setValue(2)
    assert panel.bank_kernels_view.array().shape == (3 * 11 + 2, 2 * 11 + 1)


# --- step-through ---------------------------------------------------------------------------------------------
def test_step_through_window_and_multiply_add(panel, qtbot):
    prepare_step_through(panel)
    assert panel.step_position() == (12, 15)
    rects = panel.input_view.highlights()
    assert (12.0, 15.0, 3.0, 3.0) in rects  # the window on the padded input
    assert (1.0, 1.0, 28.0, 28.0) in rects  # the dashed image area inside the padding
    assert panel.output_view.highlights() == [(12.0, 15.0, 1.0, 1.0)]
    assert panel.pooled_view.highlights() == [(6.0, 7.0, 1.0, 1.0)]  # 2x2/2 pooling: (12, 15) -> (6, 7)
    assert "pooled into cell (6, 7)" in panel.step_label.text()
    value = float(panel.feature_map()[12, 15, 0])
    assert panel.step_label.isVisibleTo(panel)
    assert f"= {value:.3f}" in panel.step_label.text()
    panel.step(1)
    assert panel.step_position() == (12, 16)
    panel.step(-2)
    assert panel.step_position() == (12, 14)
    panel.set_step_position(0, 0)
    assert "taps fall on padding zeros" in panel.step_label.text()
    # play: the window moves on by itself
    panel.step_speed.setValue(60)
    panel.step_play.setChecked(True)
    qtbot.waitUntil(lambda: panel.step_position() is not None and panel.step_position()[1] >= 3, timeout=5000)
    panel.step_play.setChecked(False)
    panel.stop_step_through()
    assert panel.step_position() is None
    assert panel.output_view.highlights() == []
    assert not panel.step_label.isVisibleTo(panel)


def test_click_on_feature_map_shows_its_window(panel, qtbot):
    prepare_step_through(panel)
    panel.stop_step_through()
    view = panel.output_view
    vb = view.plot.getViewBox()
    from PySide6.QtCore import QPointF

    scene_pt = vb.mapViewToScene(QPointF(7.5, 20.5))  # x = col, y = row
    widget_pt = view.graphics.mapFromScene(scene_pt)
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(widget_pt.x()), int(widget_pt.y())))
    qtbot.waitUntil(lambda: panel.step_position() == (20, 7), timeout=3000)


def test_dilated_window_marks_its_taps(panel, qtbot):
    prepare_step_through(panel)
    with qtbot.waitSignal(panel.updated):
        panel.dilation_y.setValue(2)
        panel.dilation_x.setValue(3)
    panel.set_step_position(5, 6)
    xs, ys = panel.input_view.markers.getData()
    cells = sorted(zip((int(y - 0.5) for y in ys), (int(x - 0.5) for x in xs)))
    # same padding for a 3x3 kernel dilated (2, 3) on 28x28 is 2 and 3 on each side; taps at
    # rows 5 + 2a and columns 6 + 3b
    assert cells == sorted((5 + 2 * a, 6 + 3 * b) for a in range(3) for b in range(3))
    assert (5.0, 6.0, 5.0, 7.0) in panel.input_view.highlights()


# --- widgets alone ---------------------------------------------------------------------------------------------
def test_array_view_values_on_zoom_and_readout(qtbot):
    view = ArrayView("t")
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    qtbot.waitExposed(view)
    view.set_array(np.array([[1.0, -2.0], [0.5, 0.0]]))
    qtbot.waitUntil(lambda: view.visible_value_labels() == 4)
    from PySide6.QtCore import QPointF

    seen = []
    view.hovered.connect(lambda r, c, v: seen.append((r, c, v)))
    pt = view.graphics.mapFromScene(view.plot.getViewBox().mapViewToScene(QPointF(1.5, 0.5)))  # row 0, col 1
    qtbot.mouseMove(view.graphics.viewport(), QPoint(int(pt.x()), int(pt.y())))
    qtbot.waitUntil(lambda: bool(seen))
    assert seen[-1] == (0, 1, -2.0)
    assert view.readout_label.text() == "row 0, col 1: -2"
    view.set_array(np.random.default_rng(0).random((200, 200)))
    qtbot.waitUntil(lambda: view.visible_value_labels() == 0)  # too many cells to write
    assert view.value_at(3, 4) == pytest.approx(view.array()[3, 4])
    assert view.value_at(200, 0) is None
    view.set_symmetric(True)
    lo, hi = view.levels()
    assert lo == -hi and hi == pytest.approx(np.abs(view.array()).max())


def test_refcount_guard_keeps_many_qt_calls_safe(qtbot):
    """PySide6 6.12 on Python 3.11 drops a None reference per void call; the guard must make that harmless."""
    from PySide6.QtWidgets import QLabel

    guard_pyside_refcounts()
    label = QLabel()
    qtbot.addWidget(label)
    for _ in range(40000):  # more than None's natural reference count
        label.setText("x")
    assert sys.getrefcount(None) > 1000


def test_workspace_state_round_trip(qtbot):
    import json

    a = PlaygroundPanel(AppState())
    qtbot.addWidget(a)
    prepare_panel(a)
    a.set_kernel(np.array([[1, 2, 3], [0, 0.5, 0]], np.float32))
    a.stride_x.setValue(3)
    a.dilation_y.setValue(2)
    a.relu_check.setChecked(True)
    a.pool_mode.setCurrentIndex(1)
    a.padding_combo.setCurrentIndex(2)
    a.pad_left.setValue(4)
    a.recompute()
    saved = json.loads(json.dumps(a.workspace_state()))
    b = PlaygroundPanel(AppState())
    qtbot.addWidget(b)
    with qtbot.waitSignal(b.updated):
        b.restore_workspace_state(saved)
    np.testing.assert_array_equal(b.kernel(), a.kernel())
    np.testing.assert_array_equal(b.feature_map(), a.feature_map())
    np.testing.assert_array_equal(b.pooled_map(), a.pooled_map())
    assert b.sample_combo.currentText() == "Scene (colour)" and b.pad_left.value() == 4
    a.shutdown()
    b.shutdown()
