"""The Playground panel: builds the parts, wires their signals and offers the panel's public API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QTabWidget, QVBoxLayout, QWidget

from convexplorer.core.conv import conv_step
from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.images import is_image_path, load_image
from convexplorer.ui.panels.base import Panel, control_column
from convexplorer.ui.state import AppState

from .compute import ConvResult, convolve
from .conv_controls import ConvControls
from .conv_views import ConvolutionViews
from .describe import step_html
from .gabor_bank import GaborBank
from .image_source import ImageSource
from .kernel_controls import KernelControls
from .pool_controls import PoolControls
from .step_through import StepThrough


class PlaygroundPanel(Panel):
    """Live convolution and pooling on sample or user images, with step-through and Gabor bank."""

    title = "Playground"
    key = "playground"
    needs_tensorflow = False

    #: Emitted after every recompute (results drawn).
    updated = Signal()
    #: Emitted when the Gabor bank has been drawn.
    bank_updated = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._result: ConvResult | None = None
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(0)

        self.image_source = ImageSource()
        self.kernel_controls = KernelControls()
        self.conv_controls = ConvControls()
        self.pool_controls = PoolControls()
        self.step_through = StepThrough()
        self.views = ConvolutionViews()
        self.gabor_bank = GaborBank(lambda: (self.image_source.source, self.kernel_controls.gabor_envelope()), self.run_in_thread)
        self._lay_out()
        self._expose_widgets()
        self._connect()
        self.image_source.add_samples()
        # The first computation imports scipy's BLAS (~0.4 s): do it once the window is up.
        self._schedule()

    def _lay_out(self) -> None:
        outer = QHBoxLayout(self.body)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(6)
        controls = QWidget()
        col = QVBoxLayout(controls)
        col.setContentsMargins(2, 2, 2, 2)
        col.setSpacing(6)
        for part in (self.image_source, self.kernel_controls, self.conv_controls, self.pool_controls, self.step_through):
            col.addWidget(part)
        col.addStretch(1)
        self.controls_scroll = control_column(controls, 392, 392)  # fixed: the grid does not reflow
        outer.addWidget(self.controls_scroll)
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs, 1)
        self.tabs.addTab(self.views, "Convolution")
        self.tabs.addTab(self.gabor_bank, "Gabor bank")

    def _expose_widgets(self) -> None:
        """The parts' widgets under the names tests, lessons and the main window use on the panel."""
        source = self.image_source
        self.sample_combo = source.sample_combo
        self.open_button = source.open_button
        self.mode_combo = source.mode_combo
        self.image_note = source.image_note

        kernel = self.kernel_controls
        self.preset_combo = kernel.preset_combo
        self.preset_note = kernel.preset_note
        self.gabor_box = kernel.gabor_box
        self.gabor_freq = kernel.gabor_freq
        self.gabor_theta = kernel.gabor_theta
        self.gabor_sigma = kernel.gabor_sigma
        self.gabor_size = kernel.gabor_size
        self.gabor_phase = kernel.gabor_phase
        self.kernel_grid = kernel.kernel_grid

        conv = self.conv_controls
        self.padding_combo = conv.padding_combo
        self.custom_pad_box = conv.custom_pad_box
        self.pad_top = conv.pad_top
        self.pad_bottom = conv.pad_bottom
        self.pad_left = conv.pad_left
        self.pad_right = conv.pad_right
        self.stride_y = conv.stride_y
        self.stride_x = conv.stride_x
        self.dilation_y = conv.dilation_y
        self.dilation_x = conv.dilation_x
        self.bias_spin = conv.bias_spin
        self.relu_check = conv.relu_check

        pool = self.pool_controls
        self.pool_check = pool.pool_check
        self.pool_mode = pool.pool_mode
        self.pool_size = pool.pool_size
        self.pool_stride = pool.pool_stride
        self.pool_padding = pool.pool_padding

        steps = self.step_through
        self.step_play = steps.step_play
        self.step_back = steps.step_back
        self.step_next = steps.step_next
        self.step_stop = steps.step_stop
        self.step_speed = steps.step_speed
        self.step_zoom = steps.step_zoom

        views = self.views
        self.input_view = views.input_view
        self.kernel_view = views.kernel_view
        self.output_view = views.output_view
        self.pooled_view = views.pooled_view
        self.channel_label = views.channel_label
        self.channel_combo = views.channel_combo
        self.global_label = views.global_label
        self.message_label = views.message_label
        self.note_label = views.note_label
        self.shapes_label = views.shapes_label
        self.step_label = views.step_label

        bank = self.gabor_bank
        self.bank_orientations = bank.bank_orientations
        self.bank_frequencies = bank.bank_frequencies
        self.bank_caption = bank.bank_caption
        self.bank_kernels_view = bank.bank_kernels_view
        self.bank_maps_view = bank.bank_maps_view
        self.bank_status = bank.bank_status

    def _connect(self) -> None:
        self._update_timer.timeout.connect(self.recompute)
        self.image_source.changed.connect(self._on_image_changed)
        self.image_source.file_chosen.connect(self.open_path)
        self.sample_combo.currentTextChanged.connect(self._schedule)
        self.mode_combo.currentIndexChanged.connect(self._schedule)
        self.kernel_controls.preset_applied.connect(self._on_preset_applied)
        self.kernel_controls.edited.connect(self._schedule)
        self.kernel_controls.gabor_changed.connect(self.gabor_bank.mark_dirty)
        self.kernel_grid.invalid.connect(self._on_grid_invalid)
        self.conv_controls.changed.connect(self._schedule)
        self.pool_controls.changed.connect(self._schedule)
        self.channel_combo.currentIndexChanged.connect(self._on_channel)
        self.step_through.step_requested.connect(self.step)
        self.step_through.stop_requested.connect(self.stop_step_through)
        self.step_through.redraw_requested.connect(self._show_step)
        self.output_view.clicked.connect(self.set_step_position)
        self.tabs.currentChanged.connect(lambda index: self.gabor_bank.set_current(index == 1))
        self.gabor_bank.updated.connect(self.bank_updated.emit)
        self.state.image_array_opened.connect(self._on_state_image)

    # ================================================================== public API
    @property
    def _source(self) -> np.ndarray:
        """The input image (float32 H x W x (1|3) in [0, 1])."""
        return self.image_source.source

    def set_image(self, image: np.ndarray, label: str = "your image") -> None:
        """Use ``image`` (H x W or H x W x C; uint8 or float in [0, 1]) as the input, listed under ``label``."""
        self.image_source.add_image(image, label)
        self._schedule()

    def set_kernel(self, kernel: np.ndarray) -> None:
        """Use a 2-D kernel (shown in the grid as "Custom")."""
        self.kernel_controls.set_kernel(kernel)

    def kernel(self) -> np.ndarray:
        """The 2-D kernel in use."""
        return self.kernel_controls.kernel2d.copy()

    def feature_map(self) -> np.ndarray | None:
        """The last feature map (H' x W' x F, after bias and ReLU), or None after an error."""
        fmap = self._fmap()
        return None if fmap is None else fmap.copy()

    def pooled_map(self) -> np.ndarray | None:
        """The last pooled map (H'' x W'' x F), or None when pooling is off or failed."""
        pooled = self._result.pooled if self._result is not None else None
        return None if pooled is None else pooled.copy()

    def message(self) -> str:
        """The error line under the views ('' when all is well)."""
        return self.message_label.text() if self.message_label.isVisibleTo(self) else ""

    def open_path(self, path: Path) -> bool:
        """Open an image file as the input; True when the path is an image (errors are shown inline)."""
        path = Path(path)
        if path.is_dir() or not is_image_path(path):
            return False
        try:
            image = load_image(path, "rgb")
            self.set_image(image, path.name)
        except ConvExplorerError as exc:
            self.views.show_message(str(exc))
        return True

    def step(self, delta: int = 1) -> None:
        """Move the step-through window by ``delta`` output positions (wraps around)."""
        fmap = self._fmap()
        if fmap is None:
            return
        self.step_through.advance(delta, fmap.shape[0] * fmap.shape[1])
        self._show_step()

    def set_step_position(self, row: int, col: int) -> None:
        """Show the window that makes output pixel (row, col)."""
        fmap = self._fmap()
        if fmap is None:
            return
        oh, ow = fmap.shape[:2]
        self.step_through.go_to(min(max(row, 0), oh - 1) * ow + min(max(col, 0), ow - 1))
        self._show_step()

    def step_position(self) -> tuple[int, int] | None:
        """The output position the step-through shows, or None when it is off."""
        fmap = self._fmap()
        return None if fmap is None else self.step_through.position(fmap.shape[1])

    def start_step_through(self, play: bool = True) -> None:
        """Start the step-through from the first output pixel (animated when ``play``)."""
        self.tabs.setCurrentIndex(0)
        self.step_through.go_to(0)
        self._show_step()
        self.step_play.setChecked(play)

    def stop_step_through(self) -> None:
        """Stop the animation and remove the window overlays."""
        self.step_through.stop()
        self.step_label.setVisible(False)
        self.views.draw_window(None)

    def show_gabor_bank(self, wait: bool = True) -> None:
        """Switch to the Gabor bank tab and compute it (synchronously when ``wait``)."""
        self.tabs.setCurrentIndex(1)
        self.gabor_bank.refresh(wait)

    def workspace_state(self) -> dict:
        """The settings and kernel as plain JSON data, for the workspace file."""
        return {
            **self.image_source.state(),
            **self.kernel_controls.state(),
            **self.conv_controls.state(),
            "pool": self.pool_controls.state(),
        }

    def restore_workspace_state(self, data: dict) -> None:
        """Apply what :meth:`workspace_state` saved; unknown or missing entries keep their current values."""
        if not isinstance(data, dict):
            raise ConvExplorerError(f"the Playground part of the workspace must be a mapping, got {type(data).__name__}")
        self.image_source.restore(data)
        self.kernel_controls.restore_gabor(data.get("gabor") or {})
        self.conv_controls.restore(data)
        self.pool_controls.restore(data.get("pool") or {})
        self.kernel_controls.restore_kernel(data)
        self._schedule()

    def shutdown(self) -> None:
        """Stop timers, cancel the bank worker and join it."""
        self.step_through.timer.stop()
        self._update_timer.stop()
        self.gabor_bank.timer.stop()
        super().shutdown()

    def recompute(self) -> None:
        """Run the convolution and pooling on the current settings and draw everything (synchronous)."""
        self._update_timer.stop()
        mode = self.image_source.mode()
        pool = self.pool_controls.settings()
        r = convolve(self.image_source.source, self.kernel_controls.kernel2d, self.conv_controls.settings(mode), pool)
        self._result = r
        self.views.show_result(r, mode, pool, self.kernel_grid.error_text(), self.image_source.note())
        if r.fmap is not None and self.step_through.active:
            self.step_through.clamp(r.fmap.shape[0] * r.fmap.shape[1])
            self._show_step()
        else:
            self.views.draw_window(None)
        self.updated.emit()

    # ================================================================== slots
    def _fmap(self) -> np.ndarray | None:
        return self._result.fmap if self._result is not None else None

    def _schedule(self, *_args: object) -> None:
        """Recompute once the current burst of events is handled (coalesces slider drags)."""
        self._update_timer.start()

    def _show_step(self) -> None:
        r = self._result
        if not self.step_through.active or r is None or r.fmap is None:
            self.views.draw_window(None)
            return
        oh, ow = r.fmap.shape[:2]
        i, j = divmod(self.step_through.index, ow)
        channel = self.views.channel() if self.image_source.mode() == "depthwise" else 0
        geo = r.geo
        try:
            st = conv_step(r.x, r.kernel, (i, j), geo.stride, geo.padding, geo.dilation,
                           bias=self.conv_controls.bias(), channel=channel)
        except ConvExplorerError as exc:
            self.views.show_message(str(exc))
            return
        cells = r.pooled_cells(i, j)
        self.views.draw_window(st, cells, dilated=max(geo.dilation) > 1, zoom=self.step_zoom.isChecked())
        self.views.show_step_text(step_html(st, (oh, ow), self.relu_check.isChecked(), cells))

    def _on_image_changed(self) -> None:
        self.gabor_bank.mark_dirty()
        self.input_view.set_colormap("grey")

    def _on_preset_applied(self) -> None:
        self.views.show_message("")
        self._schedule()

    def _on_grid_invalid(self, message: str) -> None:
        self.views.show_message(message + " (the last good kernel is in use)")

    def _on_state_image(self, array: object, label: str) -> None:
        try:
            self.set_image(np.asarray(array), label or "picked image")
        except ConvExplorerError as exc:
            self.views.show_message(str(exc))

    def _on_channel(self, _index: int) -> None:
        r = self._result
        if r is not None and r.fmap is not None:
            self.views.draw_maps(r.fmap, r.pooled, self.pool_controls.is_on())
        if self.step_through.active:
            self._show_step()
