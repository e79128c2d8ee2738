"""The Convolution tab's four views and lines of text, as the transposed convolution and upsampling use them.

Transposed: the zero-inserted, padded grid (top left), the rotated kernel,
the output, and the original input whose pixels a step-through window reads.
Upsampling: the input, bilinear minus nearest, and the two results.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF

from convexplorer.core.conv import TransposedStep, conv_transpose_step, upsample_sources

from .conv_views import IMAGE_AREA_COLOUR, WINDOW_COLOUR, ConvolutionViews
from .describe import between, transposed_html, transposed_step_html, upsample_html, upsample_step_html
from .operations import TransposedResult, UpsampleResult

#: Titles of the views (input, kernel, output, pooled) for each operation.
TITLES = {
    "conv": ("Input (padded)", "Kernel", "Feature map", "Pooled map"),
    "transposed": ("Input with zeros inserted", "Kernel as it slides (rotated 180°)", "Output", "Input pixels (original)"),
    "upsample": ("Input", "Bilinear − nearest", "Nearest", "Bilinear"),
}


def _image(x: np.ndarray) -> np.ndarray:
    """An H x W x 1|3 image as a view shows it (H x W for one channel)."""
    return x[..., 0] if x.shape[2] == 1 else x


def zoom_to(view, r0: int, c0: int, eh: int, ew: int, margin: int = 2) -> None:
    """Zoom ``view`` onto the cells ``(r0, c0)`` to ``(r0 + eh, c0 + ew)``, with a margin."""
    side = max(eh, ew) + 2 * margin
    cy, cx = r0 + eh / 2, c0 + ew / 2
    view.plot.getViewBox().setRange(QRectF(cx - side / 2, cy - side / 2, side, side), padding=0)


class OperationViews:
    """Draws :class:`TransposedResult` and :class:`UpsampleResult` (and their step-through) on the tab's views."""

    def __init__(self, views: ConvolutionViews) -> None:
        self.views = views

    def set_operation(self, op: str) -> None:
        """Title the four views for ``op``."""
        v = self.views
        for view, title in zip((v.input_view, v.kernel_view, v.output_view, v.pooled_view), TITLES[op]):
            view.set_title(title)

    def show_step(self, r: TransposedResult | UpsampleResult, i: int, j: int, channel: int, zoom: bool) -> None:
        """The step-through at output pixel (i, j): window or source pixels drawn, the sum written out."""
        out_hw = r.out.shape[:2]
        if isinstance(r, TransposedResult):
            s = r.settings
            st = conv_transpose_step(r.x, r.kernel, (i, j), s.stride, s.padding, s.output_padding, channel=channel)
            self.draw_transposed_step(st, zoom)
            self.views.show_step_text(transposed_step_html(st, out_hw))
        else:
            interpolation = r.settings.interpolation
            sources = upsample_sources(r.x.shape[:2], r.settings.size, (i, j), interpolation)
            self.draw_upsample_step(r, (i, j), sources, zoom)
            self.views.show_step_text(upsample_step_html((i, j), interpolation, sources, r.x, r.out[i, j]))

    # ------------------------------------------------------------------ transposed convolution
    def show_transposed(self, r: TransposedResult, mode: str, grid_error: str, image_note: str) -> None:
        """The grid, the rotated kernel, the output and the original input, with the formula under them."""
        v = self.views
        v.kernel_view.set_colormap("CET-D1")
        v.kernel_view.set_symmetric(True)
        v.kernel_view.set_array(r.flipped)
        v.kernel_view.set_subtitle(f"{r.kernel2d.shape[0]}×{r.kernel2d.shape[1]}; the layer stores it unrotated")
        v.global_label.setText("")
        if r.out is None:
            v.input_view.set_array(_image(r.x), levels=(0.0, 1.0) if r.x.shape[2] == 1 else None)
            v.input_view.set_subtitle("")
            v.output_view.set_array(None)
            v.output_view.set_subtitle("")
            self._draw_original(r)
            v.pad_rect = None
            v.shapes_label.setText(transposed_html(r, mode))
            v.show_message(r.error)
            v.show_notes(image_note, r.notes)
            v.step_label.setVisible(False)
            return
        geo = r.geo
        v.input_view.set_array(_image(r.grid), levels=(0.0, 1.0) if r.grid.shape[2] == 1 else None)
        (t, b), (l, rr) = geo.grid_padding
        ih, iw = geo.inserted_hw
        v.input_view.set_subtitle(
            f"{geo.grid_hw[0]}×{geo.grid_hw[1]}: {between(geo.stride)}; {t} above, {b} below, {l} left, {rr} right"
        )
        v.pad_rect = (t, l, ih, iw, IMAGE_AREA_COLOUR, True)
        v.update_channel_combo(r.out.shape[2])
        self.redraw_output(r)
        v.shapes_label.setText(transposed_html(r, mode))
        v.show_message(grid_error + " (the last good kernel is in use)" if grid_error else "")
        v.show_notes(image_note, r.notes)

    def redraw_output(self, r: TransposedResult | UpsampleResult) -> None:
        """Draw again what depends on the channel box: the output (transposed) or the difference (upsampling)."""
        if isinstance(r, UpsampleResult):
            self.draw_difference(r)
        elif r.out is not None:
            self.views.draw_maps(r.out, None, True)  # the output; clears the bottom-right view ...
            self._draw_original(r)  # ... which shows the original input instead

    def _draw_original(self, r: TransposedResult) -> None:
        view = self.views.pooled_view
        view.set_colormap("grey")
        view.set_symmetric(False)
        view.set_array(_image(r.x), levels=(0.0, 1.0) if r.x.shape[2] == 1 else None)
        view.set_subtitle(f"{r.x.shape[0]}×{r.x.shape[1]}×{r.x.shape[2]}: the pixels the window reads")

    def draw_transposed_step(self, st: TransposedStep | None, zoom: bool) -> None:
        """The window on the grid (dots on the taps that read input pixels), its output pixel and those input pixels."""
        v = self.views
        rects = [v.pad_rect] if v.pad_rect else []
        if st is None:
            v.draw_window(None)
            return
        (r0, c0), (eh, ew) = st.top_left, st.extent
        v.input_view.set_highlights(rects + [(r0, c0, eh, ew, WINDOW_COLOUR)])
        v.input_view.set_markers([(st.rows[a], st.cols[b]) for a, b, _, _ in st.sources], WINDOW_COLOUR)
        v.output_view.set_highlight((st.out_pos[0], st.out_pos[1], 1, 1), WINDOW_COLOUR)
        v.pooled_view.set_highlights([(i, j, 1, 1, WINDOW_COLOUR) for i, j in st.input_pixels])
        if zoom:
            zoom_to(v.input_view, r0, c0, eh, ew)

    # ------------------------------------------------------------------ upsampling
    def show_upsampled(self, r: UpsampleResult, image_note: str) -> None:
        """The input, bilinear minus nearest (the channel chosen), and both results."""
        v = self.views
        gray = r.x.shape[2] == 1
        levels = (0.0, 1.0) if gray else None
        v.pad_rect = None
        v.input_view.set_array(_image(r.x), levels=levels)
        v.input_view.set_subtitle(f"{r.x.shape[0]}×{r.x.shape[1]}×{r.x.shape[2]}")
        v.update_channel_combo(r.x.shape[2])
        self.draw_difference(r)
        shape = f"{r.nearest.shape[0]}×{r.nearest.shape[1]}×{r.nearest.shape[2]}"
        for view, arr, what in ((v.output_view, r.nearest, "copies"), (v.pooled_view, r.bilinear, "blends of 4 neighbours")):
            view.set_colormap("grey")
            view.set_symmetric(False)
            view.set_array(_image(arr), levels=levels)
            view.set_subtitle(f"{shape}: {what}")
        v.global_label.setText("")
        v.shapes_label.setText(upsample_html(r))
        v.show_message("")
        v.show_notes(image_note, r.notes)

    def draw_difference(self, r: UpsampleResult) -> None:
        """Bilinear minus nearest for the channel the channel box shows."""
        v = self.views
        ch = min(v.channel(), r.x.shape[2] - 1)
        diff = r.bilinear[..., ch] - r.nearest[..., ch]
        v.kernel_view.set_colormap("CET-D1")
        v.kernel_view.set_symmetric(True)
        v.kernel_view.set_array(diff)
        v.kernel_view.set_subtitle("where they differ: along edges" + (f", channel {v.channel_combo.currentText()}" if r.x.shape[2] > 1 else ""))

    def draw_upsample_step(self, r: UpsampleResult, out_pos: tuple[int, int] | None, sources: list, zoom: bool) -> None:
        """The output pixel in both results and the input pixels it comes from."""
        v = self.views
        if out_pos is None:
            v.draw_window(None)
            return
        i, j = out_pos
        v.input_view.set_highlights([(a, b, 1, 1, WINDOW_COLOUR) for a, b, _ in sources])
        v.input_view.set_markers([])
        chosen, other = (v.pooled_view, v.output_view) if r.settings.interpolation == "bilinear" else (v.output_view, v.pooled_view)
        chosen.set_highlight((i, j, 1, 1), WINDOW_COLOUR)
        other.set_highlights([(i, j, 1, 1, WINDOW_COLOUR, True)])
        if zoom:
            rows = [a for a, _, _ in sources]
            cols = [b for _, b, _ in sources]
            zoom_to(v.input_view, min(rows), min(cols), max(rows) - min(rows) + 1, max(cols) - min(cols) + 1)
