"""Screenshot states of the Playground: the scene with Sobel x, the Gabor bank and the step-through."""

from __future__ import annotations

from typing import Callable

from convexplorer.ui.panels.playground import MODES, PlaygroundPanel


def prepare(panel: PlaygroundPanel) -> None:
    """The scene with Sobel x, stride 1, same padding and 2x2 max pooling."""
    panel.stop_step_through()
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


def variants(panel: PlaygroundPanel) -> list[tuple[str, Callable[[], None]]]:
    """The Gabor bank and the step-through, each taken after :func:`prepare`."""
    return [("gabor-bank", lambda: prepare_gabor_bank(panel)), ("step-through", lambda: prepare_step_through(panel))]
