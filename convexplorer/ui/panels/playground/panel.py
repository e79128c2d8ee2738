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
from .image_source import MAX_SIDE, ImageSource
from .kernel_controls import KernelControls
from .operation_controls import OperationControls
from .operation_views import OperationViews
from .operations import OPERATIONS, TransposedResult, UpsampleResult, transpose, upsample
from .pool_controls import PoolControls
from .step_through import HINTS, StepThrough


class PlaygroundPanel(Panel):
    """Live convolution and pooling, transposed convolution and upsampling on sample or user images.

    With step-through and the Gabor bank.
    """

    title = "Playground"
    key = "playground"
    needs_tensorflow = False
    #: The operations the panel computes (keys of :data:`.operations.OPERATIONS`).
    OPERATIONS = tuple(OPERATIONS)

    #: Emitted after every recompute (results drawn).
    updated = Signal()
    #: Emitted when the Gabor bank has been drawn.
    bank_updated = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._result: ConvResult | None = None
        self._op_result: TransposedResult | UpsampleResult | None = None
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(0)

        self.image_source = ImageSource()
        self.operation_controls = OperationControls()
        self.kernel_controls = KernelControls()
        self.conv_controls = ConvControls()
        self.pool_controls = PoolControls()
        self.step_through = StepThrough()
        self.views = ConvolutionViews()
        self.op_views = OperationViews(self.views)
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
        for part in (self.image_source, self.operation_controls, self.kernel_controls, self.conv_controls, self.pool_controls,
                     self.step_through):
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
        names = {
            self.image_source: "sample_combo open_button mode_combo image_note",
            self.operation_controls: "operation_combo t_stride_y t_stride_x t_padding t_out_pad_default t_out_pad_y t_out_pad_x "
            "u_size_y u_size_x u_interpolation",
            self.kernel_controls: "preset_combo preset_note gabor_box gabor_freq gabor_theta gabor_sigma gabor_size gabor_phase "
            "kernel_grid",
            self.conv_controls: "padding_combo custom_pad_box pad_top pad_bottom pad_left pad_right stride_y stride_x "
            "dilation_y dilation_x bias_spin relu_check",
            self.pool_controls: "pool_check pool_mode pool_size pool_stride pool_padding",
            self.step_through: "step_play step_back step_next step_stop step_speed step_zoom",
            self.views: "input_view kernel_view output_view pooled_view channel_label channel_combo global_label "
            "message_label note_label shapes_label step_label",
            self.gabor_bank: "bank_orientations bank_frequencies bank_caption bank_kernels_view bank_maps_view bank_status",
        }
        for part, attrs in names.items():
            for name in attrs.split():
                setattr(self, name, getattr(part, name))

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
        self.operation_controls.changed.connect(self._schedule)
        self.operation_controls.operation_changed.connect(self._on_operation)
        self.pool_controls.changed.connect(self._schedule)
        self.channel_combo.currentIndexChanged.connect(self._on_channel)
        self.step_through.step_requested.connect(self.step)
        self.step_through.stop_requested.connect(self.stop_step_through)
        self.step_through.redraw_requested.connect(self._show_step)
        self.output_view.clicked.connect(self.set_step_position)
        self.pooled_view.clicked.connect(self._on_pooled_clicked)
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
        """The last feature map (H' x W' x F, after bias and ReLU), or the operation's output; None after an error."""
        fmap = self._fmap()
        return None if fmap is None else fmap.copy()

    def operation(self) -> str:
        """What the panel computes: "conv", "transposed" or "upsample"."""
        return self.operation_controls.operation()

    def set_operation(self, key: str) -> None:
        """Compute ``key`` ("conv", "transposed" or "upsample") from now on."""
        self.operation_controls.set_operation(key)

    def operation_result(self) -> TransposedResult | UpsampleResult | None:
        """The last transposed convolution or upsampling (None in the convolution operation)."""
        return self._op_result

    def operation_output_hw(self) -> list[int]:
        """Height and width of what the current operation outputs ([] when nothing is computed)."""
        out = self._fmap()
        return [] if out is None else [int(out.shape[0]), int(out.shape[1])]

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
            **self.operation_controls.state(),
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
        self.operation_controls.restore(data)
        self._schedule()

    def shutdown(self) -> None:
        """Stop timers, cancel the bank worker and join it."""
        self.step_through.timer.stop()
        self._update_timer.stop()
        self.gabor_bank.timer.stop()
        super().shutdown()

    def recompute(self) -> None:
        """Run the chosen operation on the current settings and draw everything (synchronous)."""
        self._update_timer.stop()
        mode, op = self.image_source.mode(), self.operation()
        source, kernel, note = self.image_source.source, self.kernel_controls.kernel2d, self.image_source.note()
        self._result = self._op_result = None
        if op == "conv":
            pool = self.pool_controls.settings()
            self._result = convolve(source, kernel, self.conv_controls.settings(mode), pool)
            self.views.show_result(self._result, mode, pool, self.kernel_grid.error_text(), note)
        elif op == "transposed":
            self._op_result = transpose(source, kernel, mode, self.operation_controls.transpose_settings(), MAX_SIDE)
            self.op_views.show_transposed(self._op_result, mode, self.kernel_grid.error_text(), note)
        else:
            self._op_result = upsample(source, mode, self.operation_controls.upsample_settings(), MAX_SIDE)
            self.op_views.show_upsampled(self._op_result, note)
        out = self._fmap()
        if out is not None and self.step_through.active:
            self.step_through.clamp(out.shape[0] * out.shape[1])
            self._show_step()
        else:
            self.views.draw_window(None)
        self.updated.emit()

    # ================================================================== slots
    def _fmap(self) -> np.ndarray | None:
        """The map the step-through walks: the feature map, or the transposed/upsampled output."""
        if self._op_result is not None:
            return self._op_result.out
        return self._result.fmap if self._result is not None else None

    def _schedule(self, *_args: object) -> None:
        """Recompute once the current burst of events is handled (coalesces slider drags)."""
        self._update_timer.start()

    def _show_step(self) -> None:
        out = self._fmap()
        if not self.step_through.active or out is None:
            self.views.draw_window(None)
            return
        oh, ow = out.shape[:2]
        i, j = divmod(self.step_through.index, ow)
        channel = self.views.channel() if self.image_source.mode() == "depthwise" else 0
        if self._op_result is not None:
            try:
                self.op_views.show_step(self._op_result, i, j, channel, self.step_zoom.isChecked())
            except ConvExplorerError as exc:
                self.views.show_message(str(exc))
            return
        r = self._result
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
        if self._op_result is not None:
            self.op_views.redraw_output(self._op_result)
        if self.step_through.active:
            self._show_step()

    def _on_operation(self, op: str) -> None:
        """Show the boxes and titles of ``op`` and compute it."""
        self.kernel_controls.setVisible(op != "upsample")
        self.conv_controls.setVisible(op == "conv")
        self.pool_controls.setVisible(op == "conv")
        self.op_views.set_operation(op)
        self.step_through.hint.setText(HINTS[op])
        if op != "conv":
            self.tabs.setCurrentIndex(0)
        self._schedule()

    def _on_pooled_clicked(self, row: int, col: int) -> None:
        """In upsampling the bottom-right view is the bilinear result: a click there steps to that pixel."""
        if self.operation() == "upsample":
            self.set_step_position(row, col)
