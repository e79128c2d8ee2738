"""Screenshot states of the Playground: the scene with Sobel x, the Gabor bank, the step-through,
the transposed convolution (stepped) and upsampling."""

from __future__ import annotations

from typing import Callable

import numpy as np

from convexplorer.ui.panels.playground import MODES, PlaygroundPanel

#: The tent kernel that makes a stride-2 transposed convolution a bilinear upsampling (the classic FCN start).
TENT = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], np.float32)


def prepare(panel: PlaygroundPanel) -> None:
    """The scene with Sobel x, stride 1, same padding and 2x2 max pooling."""
    panel.stop_step_through()
    panel.set_operation("conv")
    panel.tabs.setCurrentIndex(0)
    panel.sample_combo.setCurrentText("Scene (colour)")
    panel.mode_combo.setCurrentIndex(list(MODES).index("conv2d"))
    panel.preset_combo.setCurrentText("Sobel x")
    panel.padding_combo.setCurrentIndex(1)
    panel.stride_y.setValue(1)
    panel.stride_x.setValue(1)
    panel.dilation_y.setValue(1)
    panel.dilation_x.setValue(1)
    panel.bias_spin.setValue(0.0)
    panel.relu_check.setChecked(False)
    panel.pool_check.setChecked(True)
    panel.pool_mode.setCurrentIndex(0)
    panel.pool_size.setValue(2)
    panel.pool_stride.setValue(0)
    panel.pool_padding.setCurrentIndex(0)
    panel.recompute()


def prepare_gabor_bank(panel: PlaygroundPanel) -> None:
    """The Gabor preset on the scene and the bank tab, computed."""
    prepare(panel)
    panel.preset_combo.setCurrentText("Gabor")
    panel.recompute()
    panel.show_gabor_bank(wait=True)


def prepare_step_through(panel: PlaygroundPanel) -> None:
    """The step-through on the digit with Sobel x, same padding, paused on the stroke."""
    prepare(panel)
    panel.sample_combo.setCurrentText("Digit 7")
    panel.mode_combo.setCurrentIndex(0)
    panel.preset_combo.setCurrentText("Sobel x")
    panel.recompute()
    panel.start_step_through(play=False)
    panel.set_step_position(12, 15)


def prepare_transposed(panel: PlaygroundPanel) -> None:
    """A stride-2 transposed convolution of the digit with the tent kernel, 'same', output padding 1, stepped."""
    prepare(panel)
    panel.sample_combo.setCurrentText("Digit 7")
    panel.mode_combo.setCurrentIndex(0)
    panel.set_kernel(TENT)
    panel.set_operation("transposed")
    panel.t_stride_y.setValue(2)
    panel.t_stride_x.setValue(2)
    panel.t_padding.setCurrentIndex(1)
    panel.t_out_pad_default.setChecked(False)
    panel.t_out_pad_y.setValue(1)
    panel.t_out_pad_x.setValue(1)
    panel.recompute()
    panel.start_step_through(play=False)
    panel.set_step_position(13, 24)


def prepare_upsampling(panel: PlaygroundPanel) -> None:
    """The digit upsampled 4x, nearest beside bilinear, stepped onto a bilinear pixel at the stroke."""
    prepare(panel)
    panel.sample_combo.setCurrentText("Digit 7")
    panel.mode_combo.setCurrentIndex(0)
    panel.set_operation("upsample")
    panel.u_size_y.setValue(4)
    panel.u_size_x.setValue(4)
    panel.u_interpolation.setCurrentIndex(1)
    panel.recompute()
    panel.start_step_through(play=False)
    panel.set_step_position(30, 65)


def variants(panel: PlaygroundPanel) -> list[tuple[str, Callable[[], None]]]:
    """The Gabor bank, the step-through, the transposed convolution and upsampling, each taken after :func:`prepare`."""
    return [
        ("gabor-bank", lambda: prepare_gabor_bank(panel)),
        ("step-through", lambda: prepare_step_through(panel)),
        ("transposed", lambda: prepare_transposed(panel)),
        ("upsampling", lambda: prepare_upsampling(panel)),
    ]
