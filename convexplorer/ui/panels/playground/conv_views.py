"""The Convolution tab: padded input, kernel, feature map and pooled map, and the lines of text under them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from convexplorer.core.conv import WindowStep, pad_input
from convexplorer.ui.widgets.array_view import ArrayView

from .compute import ConvResult, PoolSettings
from .describe import global_pool_text, shapes_html

CHANNEL_NAMES = ("R", "G", "B")
WINDOW_COLOUR = "#00c853"  # green: stands out on grey images and on the blue-white-red maps
IMAGE_AREA_COLOUR = "#ffb300"
_INFO_STYLE = "font-family:monospace;font-size:8pt;background:{};padding:4px;"


def _info_label(background: str, horizontal: QSizePolicy.Policy) -> QLabel:
    label = QLabel("")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet(_INFO_STYLE.format(background))
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setSizePolicy(horizontal, QSizePolicy.Policy.Maximum)
    return label


def _line(style: str) -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setStyleSheet(style)
    label.setVisible(False)
    return label


class ConvolutionViews(QWidget):
    """The Convolution tab: draws a :class:`ConvResult` and the step-through window on it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The dashed image area inside the padding, (row, col, h, w, colour, dashed), or None without padding.
        self.pad_rect: tuple | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(2, 2, 2, 2)
        col.setSpacing(3)
        grid = QGridLayout()
        grid.setSpacing(4)
        self.input_view = ArrayView("Input (padded)", colormap="grey")
        self.kernel_view = ArrayView("Kernel", colormap="CET-D1", symmetric=True)
        self.output_view = ArrayView("Feature map", colormap="CET-D1", symmetric=True)
        self.pooled_view = ArrayView("Pooled map", colormap="CET-D1", symmetric=True)
        self.output_view.set_robust(True)
        self.pooled_view.set_robust(True)
        grid.addWidget(self.input_view, 0, 0)
        grid.addWidget(self.kernel_view, 0, 1)
        grid.addWidget(self.output_view, 1, 0)
        grid.addWidget(self.pooled_view, 1, 1)
        for i in range(2):
            grid.setRowStretch(i, 1)
            grid.setColumnStretch(i, 1)
        col.addLayout(grid, 1)

        row = QHBoxLayout()
        self.channel_label = QLabel("Show channel")
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("which output channel the feature and pooled maps show")
        row.addWidget(self.channel_label)
        row.addWidget(self.channel_combo)
        row.addStretch(1)
        self.global_label = QLabel("")
        self.global_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.global_label)
        col.addLayout(row)

        self.message_label = _line("color:#b00020;font-weight:bold;")
        col.addWidget(self.message_label)
        self.note_label = _line("color:#6a4a00;")
        col.addWidget(self.note_label)
        info = QHBoxLayout()
        info.setSpacing(6)
        self.shapes_label = _info_label("#f6f6f6", QSizePolicy.Policy.Preferred)
        self.shapes_label.setTextFormat(Qt.TextFormat.RichText)
        info.addWidget(self.shapes_label, 1)
        self.step_label = _info_label("#fff0ee", QSizePolicy.Policy.Ignored)
        self.step_label.setWordWrap(True)
        self.step_label.setVisible(False)
        info.addWidget(self.step_label, 1)
        col.addLayout(info)

    # ------------------------------------------------------------------ results
    def show_result(self, r: ConvResult, mode: str, pool: PoolSettings | None, grid_error: str, image_note: str) -> None:
        """Draw everything of one run: input, kernel, maps, numbers, shapes, messages and notes."""
        self.draw_kernel(r.kernel2d, r.settings.dilation)
        if r.fmap is None:
            self.draw_input(r.x, None)
            self.output_view.set_array(None)
            self.pooled_view.set_array(None)
            self.output_view.set_subtitle("")
            self.pooled_view.set_subtitle("")
            self.shapes_label.setText(shapes_html(r.x, mode, None, None, None))
            self.global_label.setText("")
            self.show_message(r.error)
            self.show_notes(image_note, [])
            self.step_label.setVisible(False)
            return
        self.update_channel_combo(r.fmap.shape[2])
        self.draw_input(r.x, r.geo.padding)
        self.draw_maps(r.fmap, r.pooled, pool is not None)
        self.global_label.setText(global_pool_text(r.fmap))
        self.shapes_label.setText(shapes_html(r.x, mode, r.geo, r.pgeo, pool))
        self.show_message(" ".join(r.messages))
        if grid_error:
            self.show_message(grid_error + " (the last good kernel is in use)")
        self.show_notes(image_note, r.notes)

    def draw_kernel(self, k2: np.ndarray, dilation: tuple[int, int]) -> None:
        """Show the 2-D kernel, with its dilation in the subtitle when there is one."""
        self.kernel_view.set_array(k2)
        dilated = f", dilation {dilation[0]}×{dilation[1]}" if max(dilation) > 1 else ""
        self.kernel_view.set_subtitle(f"{k2.shape[0]}×{k2.shape[1]}" + dilated)

    def draw_input(self, x: np.ndarray, padding: tuple | None) -> None:
        """Show the input as convolved, with its zero padding around it and the image area dashed."""
        padding = padding if padding is not None else ((0, 0), (0, 0))
        xp = pad_input(x, padding)
        if xp.ndim == 3 and xp.shape[2] == 1:
            xp = xp[..., 0]
        self.input_view.set_array(xp, levels=(0.0, 1.0) if xp.ndim == 2 else None)
        (t, b), (l, r) = padding
        h, w = x.shape[:2]
        sub = f"{h}×{w}" + (f"×{x.shape[2]}" if x.ndim == 3 else "")
        if t or b or l or r:
            sub += f" → padded {h + t + b}×{w + l + r} (zeros outside the dashed line)"
        self.input_view.set_subtitle(sub)
        self.pad_rect = (t, l, h, w, IMAGE_AREA_COLOUR, True) if (t or b or l or r) else None

    def draw_maps(self, fmap: np.ndarray, pooled: np.ndarray | None, pool_on: bool) -> None:
        """Show the chosen channel of the feature and pooled maps (diverging colours for signed values)."""
        ch = min(self.channel(), fmap.shape[2] - 1)
        for view, arr in ((self.output_view, fmap), (self.pooled_view, pooled)):
            if arr is None:
                view.set_array(None)
                view.set_subtitle("pooling off" if view is self.pooled_view and not pool_on else "")
                continue
            plane = arr[..., ch]
            signed = float(plane.min()) < 0.0
            view.set_colormap("CET-D1" if signed else "viridis")
            view.set_symmetric(signed)
            view.set_array(plane)
            shape = f"{arr.shape[0]}×{arr.shape[1]}×{arr.shape[2]}"
            view.set_subtitle(shape + (f", channel {self.channel_combo.currentText()}" if arr.shape[2] > 1 else ""))

    def channel(self) -> int:
        """The output channel the maps show."""
        return max(0, self.channel_combo.currentIndex())

    def update_channel_combo(self, channels: int) -> None:
        """Offer one entry a channel (R, G, B for three); hidden for one channel."""
        names = list(CHANNEL_NAMES[:channels]) if channels <= 3 else [str(i) for i in range(channels)]
        current = [self.channel_combo.itemText(i) for i in range(self.channel_combo.count())]
        if current != names:
            self.channel_combo.blockSignals(True)
            self.channel_combo.clear()
            self.channel_combo.addItems(names)
            self.channel_combo.blockSignals(False)
        multi = channels > 1
        self.channel_combo.setVisible(multi)
        self.channel_label.setVisible(multi)

    # ------------------------------------------------------------------ lines of text
    def show_message(self, text: str) -> None:
        """The red error line ('' hides it)."""
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def show_notes(self, image_note: str, notes: list[str]) -> None:
        """The brown notes line: what happened to the image, then the run's notes."""
        all_notes = ([f"Image {image_note}."] if image_note else []) + notes
        self.note_label.setText(" ".join(all_notes))
        self.note_label.setVisible(bool(all_notes))

    def show_step_text(self, html: str) -> None:
        """The step-through's explanation beside the shapes."""
        self.step_label.setText(html)
        self.step_label.setVisible(True)

    # ------------------------------------------------------------------ step-through window
    def draw_window(
        self, st: WindowStep | None, cells: Sequence[tuple[int, int]] = (), dilated: bool = False, zoom: bool = False
    ) -> None:
        """Outline the window of ``st`` on the input, its output pixel and pooled cells (None: only the padding)."""
        rects = [self.pad_rect] if self.pad_rect else []
        if st is None:
            self.input_view.set_highlights(rects)
            self.input_view.set_markers([])
            self.output_view.set_highlight(None)
            self.pooled_view.set_highlight(None)
            return
        (r0, c0), (eh, ew) = st.top_left, st.extent
        rects.append((r0, c0, eh, ew, WINDOW_COLOUR))
        self.input_view.set_highlights(rects)
        if dilated:
            self.input_view.set_markers([(r, c) for r in st.rows for c in st.cols], WINDOW_COLOUR)
        else:
            self.input_view.set_markers([])
        i, j = st.out_pos
        self.output_view.set_highlight((i, j, 1, 1), WINDOW_COLOUR)
        self.pooled_view.set_highlights([(pi, pj, 1, 1, WINDOW_COLOUR, True) for pi, pj in cells])
        if zoom:
            margin = 2
            vb = self.input_view.plot.getViewBox()
            side = max(eh, ew) + 2 * margin
            cy, cx = r0 + eh / 2, c0 + ew / 2
            vb.setRange(QRectF(cx - side / 2, cy - side / 2, side, side), padding=0)
