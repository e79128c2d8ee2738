"""The Playground's transposed-convolution and upsampling operations, driven offscreen with qtbot.

The panel must draw exactly what convexplorer.core computes (those functions are
checked against TensorFlow and Keras in tests/core/test_conv_transpose.py):
these tests compare the arrays in the views, the words under them and the
step-through with direct core calls.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from convexplorer.core import kernels as K
from convexplorer.core.arithmetic import conv_transpose_geometry
from convexplorer.core.conv import (
    conv2d_transpose,
    conv_transpose_step,
    flip_kernel,
    upsample2d,
    upsample_sources,
    zero_insert,
)
from convexplorer.core.samples import SAMPLES
from convexplorer.ui.panels.playground import PlaygroundPanel
from convexplorer.ui.panels.playground.operation_views import TITLES
from convexplorer.ui.screenshots.playground import TENT, prepare_transposed, prepare_upsampling
from convexplorer.ui.state import AppState


@pytest.fixture
def panel(qtbot):
    p = PlaygroundPanel(AppState())
    qtbot.addWidget(p)
    p.resize(1280, 800)
    p.show()
    p.recompute()
    yield p
    p.shutdown()


def settle(qtbot, panel, trigger):
    """Run ``trigger`` and wait for the panel's coalesced recompute."""
    with qtbot.waitSignal(panel.updated, timeout=5000):
        trigger()


def digit() -> np.ndarray:
    """The digit sample as the panel convolves it in grayscale: 28 x 28 x 1."""
    return K.to_grayscale(SAMPLES["Digit 7"]())[..., None].astype(np.float32)


def transposed_on_digit(qtbot, panel, stride=2, same=True):
    """Digit 7, Sobel x, the transposed operation with ``stride`` and 'same' (or 'valid') padding."""
    with qtbot.waitSignal(panel.updated, timeout=5000):
        panel.sample_combo.setCurrentText("Digit 7")
        panel.preset_combo.setCurrentText("Sobel x")
        panel.set_operation("transposed")
        panel.t_stride_y.setValue(stride)
        panel.t_stride_x.setValue(stride)
        panel.t_padding.setCurrentIndex(1 if same else 0)


# --- transposed convolution ------------------------------------------------------------------------------
def test_transposed_views_show_what_core_computes(panel, qtbot):
    transposed_on_digit(qtbot, panel)
    x, k = digit(), K.sobel("x")
    out = conv2d_transpose(x, k, 2, "same")
    assert panel.operation() == "transposed"
    np.testing.assert_array_equal(panel.feature_map(), out)
    assert panel.feature_map().shape == (56, 56, 1)
    np.testing.assert_array_equal(panel.output_view.array(), out[..., 0])
    geo = conv_transpose_geometry((28, 28), (3, 3), 2, "same")
    np.testing.assert_array_equal(panel.input_view.array(), zero_insert(x, geo)[..., 0])  # the zeros the stride inserts
    assert panel.input_view.array().shape == geo.grid_hw == (58, 58)
    assert geo.grid_padding == ((2, 1), (2, 1))  # TensorFlow's placement: the odd rows/columns are the inserted zeros
    assert not panel.input_view.array()[1::2].any() and not panel.input_view.array()[:, 1::2].any()
    np.testing.assert_array_equal(panel.kernel_view.array(), flip_kernel(k))  # as it slides: rotated 180 degrees
    np.testing.assert_array_equal(panel.pooled_view.array(), x[..., 0])  # the original input beside the output
    assert panel.pooled_map() is None  # no pooling in this operation
    titles = [v.title_label.text() for v in (panel.input_view, panel.kernel_view, panel.output_view, panel.pooled_view)]
    assert titles == list(TITLES["transposed"])
    assert not panel.conv_controls.isVisibleTo(panel) and not panel.pool_controls.isVisibleTo(panel)
    assert panel.kernel_controls.isVisibleTo(panel) and panel.operation_controls.transposed_box.isVisibleTo(panel)
    assert panel.message() == ""


def test_formula_text_follows_the_controls_live(panel, qtbot):
    transposed_on_digit(qtbot, panel)
    text = panel.shapes_label.text()
    assert "out = (in − 1)·stride − 2·pad + kernel + output_padding" in text
    assert "height: out = (28 − 1)·2 − 2·1 + 3 + 1 = 56" in text  # Keras's default output padding for 'same'
    assert "1 zero between pixels; around: top 2, bottom 1, left 2, right 1" in text
    settle(qtbot, panel, lambda: panel.t_stride_y.setValue(3))
    assert "height: out = (28 − 1)·3 − 2·1 + 3 + 2 = 84" in panel.shapes_label.text()
    assert "width:&nbsp; out = (28 − 1)·2 − 2·1 + 3 + 1 = 56" in panel.shapes_label.text()
    assert panel.feature_map().shape[:2] == (84, 56)
    # an explicit output padding, limited to less than the stride
    settle(qtbot, panel, lambda: panel.t_out_pad_default.setChecked(False))
    assert panel.t_out_pad_y.isEnabled() and panel.t_out_pad_y.maximum() == 2 and panel.t_out_pad_x.maximum() == 1
    with qtbot.waitSignal(panel.updated):
        panel.t_out_pad_y.setValue(2)
        panel.t_out_pad_x.setValue(0)
    assert "height: out = (28 − 1)·3 − 2·1 + 3 + 2 = 84" in panel.shapes_label.text()
    assert "width:&nbsp; out = (28 − 1)·2 − 2·1 + 3 + 0 = 55" in panel.shapes_label.text()
    np.testing.assert_array_equal(panel.feature_map(), conv2d_transpose(digit(), K.sobel("x"), (3, 2), "same", (2, 0)))
    settle(qtbot, panel, lambda: panel.t_stride_y.setValue(1))
    assert panel.t_out_pad_y.value() == 0  # clamped under the new stride
    settle(qtbot, panel, lambda: panel.t_padding.setCurrentIndex(0))
    assert "height: out = (28 − 1)·1 − 2·0 + 3 + 0 = 30" in panel.shapes_label.text()


def test_refused_and_impossible_settings_are_said_not_raised(panel, qtbot):
    transposed_on_digit(qtbot, panel)
    panel.set_kernel(np.ones((2, 2), np.float32))
    with qtbot.waitSignal(panel.updated):
        panel.t_out_pad_default.setChecked(False)
        panel.t_out_pad_y.setValue(0)
        panel.t_out_pad_x.setValue(0)
    assert "TensorFlow's Conv2DTranspose refuses an even kernel" in panel.note_label.text()
    np.testing.assert_array_equal(panel.feature_map(), conv2d_transpose(digit(), np.ones((2, 2)), 2, "same", 0))
    with qtbot.waitSignal(panel.updated):
        panel.set_image(np.ones((1, 1), np.float32), "one pixel")
    assert "output would be empty" in panel.message()
    assert panel.feature_map() is None and panel.output_view.array() is None
    panel.step(1)  # nothing to step through: no error
    assert panel.step_position() is None


def test_transposed_step_through_window_on_the_grid(panel, qtbot):
    transposed_on_digit(qtbot, panel)
    panel.set_step_position(13, 24)
    assert panel.step_position() == (13, 24)
    st = conv_transpose_step(digit(), K.sobel("x"), (13, 24), 2, "same")
    assert (13.0, 24.0, 3.0, 3.0) in panel.input_view.highlights()  # the window on the zero-inserted grid
    xs, ys = panel.input_view.markers.getData()
    dots = sorted(zip((int(y - 0.5) for y in ys), (int(x - 0.5) for x in xs)))
    assert dots == sorted((st.rows[a], st.cols[b]) for a, b, _, _ in st.sources)  # dots on the taps that read pixels
    assert panel.output_view.highlights() == [(13.0, 24.0, 1.0, 1.0)]
    assert sorted(panel.pooled_view.highlights()) == sorted((float(i), float(j), 1.0, 1.0) for i, j in st.input_pixels)
    text = panel.step_label.text()
    assert f"= {float(panel.feature_map()[13, 24, 0]):.3f}" in text
    assert f"{len(st.sources)} of the 9 taps on input pixels" in text and "zero-inserted grid" in text
    panel.step(1)
    assert panel.step_position() == (13, 25)
    panel.set_step_position(0, 0)
    assert "on padding" in panel.step_label.text()
    settle(qtbot, panel, lambda: panel.t_stride_x.setValue(1))  # the output shrinks: the position stays inside
    assert panel.step_position() is not None
    panel.stop_step_through()
    assert panel.output_view.highlights() == [] and not panel.step_label.isVisibleTo(panel)


def test_colour_modes_of_the_transposed_convolution(panel, qtbot):
    with qtbot.waitSignal(panel.updated):
        panel.sample_combo.setCurrentText("Scene (colour)")
        panel.preset_combo.setCurrentText("Sobel x")
        panel.mode_combo.setCurrentIndex(1)  # depthwise
        panel.set_operation("transposed")
        panel.t_padding.setCurrentIndex(1)
    scene = SAMPLES["Scene (colour)"]().astype(np.float32)
    out = conv2d_transpose(scene, K.sobel("x"), 2, "same")
    np.testing.assert_allclose(panel.feature_map(), out, rtol=1e-6, atol=1e-6)
    assert panel.channel_combo.isVisibleTo(panel) and panel.channel_combo.count() == 3
    panel.channel_combo.setCurrentIndex(2)
    np.testing.assert_array_equal(panel.output_view.array(), panel.feature_map()[..., 2])
    np.testing.assert_array_equal(panel.pooled_view.array(), scene)  # the original input survives the redraw
    panel.set_step_position(5, 6)
    st = conv_transpose_step(scene, K.sobel("x"), (5, 6), 2, "same", channel=2)
    assert f"= {st.value:.3f}" in panel.step_label.text()
    settle(qtbot, panel, lambda: panel.mode_combo.setCurrentIndex(2))  # one filter summing the channels
    k4 = np.repeat(K.sobel("x")[:, :, None, None], 3, axis=3)
    np.testing.assert_allclose(panel.feature_map(), conv2d_transpose(scene, k4, 2, "same"), rtol=1e-5, atol=1e-5)
    assert "3×3×1×3 (one filter summing the channels)" in panel.shapes_label.text()


def test_large_image_is_scaled_down_for_a_strided_transpose(panel, qtbot):
    rng = np.random.default_rng(0)
    with qtbot.waitSignal(panel.updated):
        panel.set_image(rng.random((512, 384, 3), dtype=np.float32), "big")
        panel.mode_combo.setCurrentIndex(1)  # each channel
        panel.set_operation("transposed")
        panel.t_padding.setCurrentIndex(1)
    r = panel.operation_result()
    assert r.x.shape == (256, 192, 3) and panel.feature_map().shape == (512, 384, 3)
    assert "scaled down to 192×256 for this operation" in panel.note_label.text()
    settle(qtbot, panel, lambda: (panel.t_stride_y.setValue(1), panel.t_stride_x.setValue(1)))
    assert panel.operation_result().x.shape == (512, 384, 3)  # stride 1: the image as it is


# --- upsampling -----------------------------------------------------------------------------------------
def test_upsampling_shows_nearest_beside_bilinear(panel, qtbot):
    with qtbot.waitSignal(panel.updated):
        panel.sample_combo.setCurrentText("Digit 7")
        panel.set_operation("upsample")
        panel.u_size_y.setValue(4)
        panel.u_size_x.setValue(3)
    x = digit()
    nearest, bilinear = upsample2d(x, (4, 3), "nearest"), upsample2d(x, (4, 3), "bilinear")
    np.testing.assert_array_equal(panel.output_view.array(), nearest[..., 0])
    np.testing.assert_array_equal(panel.pooled_view.array(), bilinear[..., 0])
    np.testing.assert_array_equal(panel.kernel_view.array(), bilinear[..., 0] - nearest[..., 0])
    np.testing.assert_array_equal(panel.input_view.array(), x[..., 0])
    np.testing.assert_array_equal(panel.feature_map(), nearest)  # the step-through follows "nearest" by default
    assert "height: out = 28·4 = 112" in panel.shapes_label.text() and "width:&nbsp; out = 28·3 = 84" in panel.shapes_label.text()
    assert not panel.kernel_controls.isVisibleTo(panel) and not panel.conv_controls.isVisibleTo(panel)
    settle(qtbot, panel, lambda: panel.u_interpolation.setCurrentIndex(1))
    np.testing.assert_array_equal(panel.feature_map(), bilinear)
    # step-through: the source pixels and their weights
    panel.set_step_position(30, 65)
    sources = upsample_sources((28, 28), (4, 3), (30, 65), "bilinear")
    assert sorted(panel.input_view.highlights()) == sorted((float(r), float(c), 1.0, 1.0) for r, c, _ in sources)
    assert panel.pooled_view.highlights() == [(30.0, 65.0, 1.0, 1.0)] and panel.output_view.highlights() == [(30.0, 65.0, 1.0, 1.0)]
    assert f"= {float(bilinear[30, 65, 0]):.3f}" in panel.step_label.text()
    # a click on the bilinear view steps there too
    panel._on_pooled_clicked(3, 4)
    assert panel.step_position() == (3, 4)


def test_back_to_convolution_restores_the_views(panel, qtbot):
    transposed_on_digit(qtbot, panel)
    settle(qtbot, panel, lambda: panel.set_operation("conv"))
    titles = [v.title_label.text() for v in (panel.input_view, panel.kernel_view, panel.output_view, panel.pooled_view)]
    assert titles == list(TITLES["conv"])
    assert panel.conv_controls.isVisibleTo(panel) and panel.pool_controls.isVisibleTo(panel)
    assert panel.operation_result() is None and panel.pooled_map() is not None
    # the Convolution box kept its own settings (valid, stride 1): the transposed stride is a separate control
    assert panel.stride_y.value() == 1 and panel.feature_map().shape == (26, 26, 1)


def test_operation_settings_round_trip_through_the_workspace(qtbot):
    a = PlaygroundPanel(AppState())
    qtbot.addWidget(a)
    a.set_operation("transposed")
    a.t_stride_y.setValue(3)
    a.t_padding.setCurrentIndex(1)
    a.t_out_pad_default.setChecked(False)
    a.t_out_pad_y.setValue(2)
    a.u_size_x.setValue(5)
    a.u_interpolation.setCurrentIndex(1)
    a.recompute()
    saved = json.loads(json.dumps(a.workspace_state()))
    assert saved["operation"] == "transposed" and saved["transposed"]["output_padding"] == [2, 0]
    b = PlaygroundPanel(AppState())
    qtbot.addWidget(b)
    with qtbot.waitSignal(b.updated):
        b.restore_workspace_state(saved)
    assert b.operation() == "transposed" and b.t_stride_y.value() == 3 and b.t_out_pad_y.value() == 2
    assert not b.t_out_pad_default.isChecked() and b.u_size_x.value() == 5 and b.u_interpolation.currentData() == "bilinear"
    np.testing.assert_array_equal(b.feature_map(), a.feature_map())
    # an older workspace without these entries keeps the defaults (convolution)
    c = PlaygroundPanel(AppState())
    qtbot.addWidget(c)
    c.restore_workspace_state({"image": "Digit 7"})
    assert c.operation() == "conv"
    for p in (a, b, c):
        p.shutdown()


def test_screenshot_states_of_the_new_operations(panel, qtbot):
    prepare_transposed(panel)
    np.testing.assert_array_equal(panel.feature_map(), conv2d_transpose(digit(), TENT, 2, "same", 1))
    assert panel.step_position() == (13, 24)
    assert "out = (28 − 1)·2 − 2·1 + 3 + 1 = 56" in panel.shapes_label.text()
    prepare_upsampling(panel)
    assert panel.feature_map().shape == (112, 112, 1) and panel.step_position() == (30, 65)
    from convexplorer.ui.screenshots import prepare_panel

    prepare_panel(panel)  # back to the representative convolution state
    assert panel.operation() == "conv" and panel.feature_map().shape == (128, 128, 1)


@pytest.mark.allow_leaks  # the module's main window starts its own background work (data, TensorFlow), as in test_lessons
def test_lessons_switch_the_playground_back_to_convolution(window, qtbot):
    """A lesson about convolution started while the Playground shows another operation brings the Convolution box back."""
    playground = window.panels["playground"]
    playground.set_operation("upsample")
    window.start_lesson("02-shapes")
    qtbot.waitUntil(lambda: playground.operation() == "conv", timeout=5000)
    assert playground.conv_controls.isVisibleTo(playground)
    window.lessons.close_lesson()
    window.lessons_dock.hide()
