"""ArrayView: a reusable view of a 2-D float array (or an RGB image).

A pyqtgraph ``ImageItem`` with a colour map and colour bar, a read-out of the
pixel under the mouse, pixel values written into the cells once you zoom in
far enough, and optional rectangle / marker overlays::

    from convexplorer.ui.widgets.array_view import ArrayView

    view = ArrayView("Feature map", colormap="viridis")   # or symmetric=True for +/- data
    view.set_array(fmap)                  # H x W float (colour map) or H x W x 3 in [0, 1] (RGB)
    view.set_array(fmap, levels=(-1, 1))  # fixed levels instead of the data's min/max
    view.set_highlight((row, col, height, width))        # one rectangle (None clears)
    view.set_highlights([(r, c, h, w, "#ff3b30"), ...])  # several, each with a colour
    view.set_markers([(r, c), ...])       # small dots on cells (e.g. dilated kernel taps)
    view.set_subtitle("128x128")          # text under the title
    view.hovered.connect(lambda r, c, v: ...)   # row, col, value under the mouse
    view.clicked.connect(lambda r, c: ...)      # left click on a cell
    view.set_values_visible(True)         # write values in cells when zoomed in (default on)
    view.set_robust(True)                 # colour range ignores the 2 % most extreme values

Coordinates are (row, col) in array cells; row 0 is at the top. Everything
is drawn by pyqtgraph items created once and updated with ``setData``-style
calls, so calling ``set_array`` on every slider move is cheap.
"""

from __future__ import annotations

import sys
from typing import Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from convexplorer.ui.style import set_role


def guard_pyside_refcounts() -> bool:
    """Work around PySide6 6.12 on Python < 3.12 dropping a reference to None on every void call.

    Its wrappers return ``Py_None`` without a new reference (harmless on 3.12+,
    where None is immortal); on 3.11 each ``widget.setVisible(...)``-style call
    lowers None's count by one and after ~16,000 calls Python aborts with
    "none_dealloc: deallocating None". When that is detected, give None, True
    and False a huge reference count (what 3.12 does by design). Returns True
    when the guard was applied. Idempotent.
    """
    if sys.version_info >= (3, 12) or getattr(guard_pyside_refcounts, "applied", False):
        return getattr(guard_pyside_refcounts, "applied", False)
    import ctypes

    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    leaking = sys.getrefcount(None) < before - 8
    if leaking:
        for obj in (None, True, False):
            ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 48
    guard_pyside_refcounts.applied = leaking  # type: ignore[attr-defined]
    return leaking


guard_pyside_refcounts()

#: Most cells that get a value written in them (beyond that, only the hover read-out).
MAX_VALUE_LABELS = 400
#: A cell must be at least this many screen pixels wide before its value is written in it.
MIN_CELL_PX_FOR_VALUES = 26.0

Rect = Sequence  # (row, col, height, width) or (row, col, height, width, colour)


def format_value(value: float) -> str:
    """Short text for a cell value (at most ~5 characters): '0', '.004', '0.81', '-2.5', '1.2e+03'."""
    v = float(value)
    if not np.isfinite(v):
        return str(v)
    a = abs(v)
    if a == 0.0:
        return "0"
    if a < 0.0005:
        return "≈0"
    if a < 0.1:
        return f"{v:.3f}".replace("0.", ".", 1)
    if a < 1:
        return f"{v:.2f}"
    if a < 1000:
        return f"{v:.3g}"
    return f"{v:.1e}"


class ArrayView(QWidget):
    """A titled view of a 2-D array with colour bar, hover read-out and overlays."""

    #: Mouse over cell (row, col) whose value is ``value`` (float, or a tuple for RGB).
    hovered = Signal(int, int, object)
    #: Left click on cell (row, col).
    clicked = Signal(int, int)

    def __init__(
        self,
        title: str = "",
        colormap: str = "viridis",
        symmetric: bool = False,
        show_colorbar: bool = True,
        show_axes: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._array: np.ndarray | None = None
        self._symmetric = symmetric
        self._colormap_name = colormap
        self._values_visible = True
        self._fixed_levels: tuple[float, float] | None = None
        self._robust = False
        self._cmap_applied = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(1)
        self.title_label = QLabel(title)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.subtitle_label = QLabel("")
        self.subtitle_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        set_role(self.subtitle_label, "hint")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.graphics.setMinimumSize(120, 120)
        self.readout_label = QLabel(" ")
        self.readout_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.readout_label.setStyleSheet("color:#333;font-family:monospace;")
        layout.addWidget(self.title_label)
        layout.addWidget(self.subtitle_label)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout_label)

        self.plot = self.graphics.addPlot(row=0, col=0)
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        small = QFont()
        small.setPointSize(7)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setStyle(tickFont=small, tickLength=-4)
            axis.setTextPen("#444")
            axis.setPen("#888")
        self.plot.showAxis("left", show_axes)
        self.plot.showAxis("bottom", show_axes)

        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar: pg.ColorBarItem | None = None
        if show_colorbar:
            self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=self._cmap(), interactive=False, width=12)
            self.colorbar.setImageItem(self.image)
            self.colorbar.axis.setStyle(tickFont=small)
            self.graphics.addItem(self.colorbar, row=0, col=1)
        self.image.setColorMap(self._cmap())

        self._rect_items: list[QRectF] = []
        self._rect_graphics: list[pg.QtWidgets.QGraphicsRectItem] = []
        self.markers = pg.ScatterPlotItem(size=7, pen=pg.mkPen("w", width=1), brush=pg.mkBrush("#ff3b30"))
        self.markers.setZValue(20)
        self.plot.addItem(self.markers)
        self._value_items: list[pg.TextItem] = []

        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.plot.getViewBox().sigRangeChanged.connect(self._update_value_labels)
        self.plot.getViewBox().sigResized.connect(self._update_value_labels)

    # --- public API ----------------------------------------------------------------
    def set_title(self, text: str) -> None:
        """Set the bold title above the view."""
        self.title_label.setText(text)

    def set_subtitle(self, text: str) -> None:
        """Set the grey line under the title (shapes, notes)."""
        self.subtitle_label.setText(text)

    def array(self) -> np.ndarray | None:
        """The array shown now (as given to :meth:`set_array`)."""
        return self._array

    def set_colormap(self, name: str) -> None:
        """Use a pyqtgraph colour map by name ("viridis", "CET-D1", "grey"...)."""
        if name == self._colormap_name and self._cmap_applied:
            return
        self._cmap_applied = True
        self._colormap_name = name
        cmap = self._cmap()
        self.image.setColorMap(cmap)
        if self.colorbar is not None:
            self.colorbar.setColorMap(cmap)

    def set_symmetric(self, symmetric: bool) -> None:
        """Levels symmetric around 0 (for signed data such as edge responses)."""
        if symmetric == self._symmetric:
            return
        self._symmetric = symmetric
        if self._array is not None:
            self._apply_levels()

    def set_robust(self, robust: bool) -> None:
        """Colour range from the 2nd and 98th percentiles, so a few extreme pixels do not wash out the rest."""
        self._robust = robust
        if self._array is not None:
            self._apply_levels()

    def set_values_visible(self, visible: bool) -> None:
        """Write cell values into the cells when zoomed in far enough."""
        self._values_visible = visible
        self._update_value_labels()

    def set_array(self, array: np.ndarray | None, levels: tuple[float, float] | None = None, autorange: bool | None = None) -> None:
        """Show ``array``: H x W (colour map) or H x W x 3 / x 1; ``None`` clears the view.

        ``levels`` fixes the colour range; by default it follows the data (or
        is symmetric around 0 with ``symmetric=True``). The view zooms to fit
        when the shape changes (or when ``autorange`` is True).
        """
        if array is None:
            self._array = None
            self.image.clear()
            self._update_value_labels()
            return
        arr = np.asarray(array)
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3):
            raise ValueError(f"ArrayView shows H x W or H x W x 3 arrays, got shape {arr.shape}")
        shape_changed = self._array is None or self._array.shape[:2] != arr.shape[:2]
        self._array = arr
        self._fixed_levels = None if levels is None else (float(levels[0]), float(levels[1]))
        if arr.ndim == 3:
            rgb = np.clip(arr.astype(np.float32), 0.0, 1.0)
            self.image.setImage(rgb, autoLevels=False, levels=(0.0, 1.0))
            if self.colorbar is not None:
                self.colorbar.setVisible(False)
        else:
            data = arr.astype(np.float32, copy=False)
            self.image.setImage(data, autoLevels=False)
            if self.colorbar is not None:
                self.colorbar.setVisible(True)
            self._apply_levels()
        if shape_changed:
            self._set_ticks(arr.shape[0], arr.shape[1])
        if shape_changed or autorange:
            self.plot.getViewBox().autoRange(padding=0.02)
        self._update_value_labels()

    def levels(self) -> tuple[float, float]:
        """The colour range in use."""
        lv = self.image.getLevels()
        if lv is None:
            return (0.0, 1.0)
        lv = np.asarray(lv, dtype=float).ravel()
        return float(lv[0]), float(lv[-1])

    def set_highlight(self, rect: Rect | None, color: str = "#ff3b30") -> None:
        """Draw one rectangle ``(row, col, height, width)`` over the cells; ``None`` clears."""
        self.set_highlights([] if rect is None else [tuple(rect[:4]) + (color,)])

    def set_highlights(self, rects: Iterable[Rect]) -> None:
        """Draw rectangles ``(row, col, height, width[, colour[, dashed]])``, replacing the previous ones."""
        rects = list(rects)
        while len(self._rect_graphics) < len(rects):
            item = pg.QtWidgets.QGraphicsRectItem()
            item.setZValue(10)
            self.plot.addItem(item)
            self._rect_graphics.append(item)
        for i, item in enumerate(self._rect_graphics):
            if i < len(rects):
                r = rects[i]
                row, col, h, w = (float(v) for v in r[:4])
                color = r[4] if len(r) > 4 else "#ff3b30"
                dashed = bool(r[5]) if len(r) > 5 else False
                pen = pg.mkPen(color, width=2.5, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
                pen.setCosmetic(True)
                item.setPen(pen)
                item.setRect(QRectF(col, row, w, h))
                item.setVisible(True)
            else:
                item.setVisible(False)

    def highlights(self) -> list[tuple[float, float, float, float]]:
        """The visible rectangles as ``(row, col, height, width)`` (for tests)."""
        out = []
        for item in self._rect_graphics:
            if item.isVisible():
                r = item.rect()
                out.append((r.y(), r.x(), r.height(), r.width()))
        return out

    def set_markers(self, cells: Iterable[tuple[float, float]], color: str = "#ff3b30") -> None:
        """Mark cells ``(row, col)`` with dots at their centres; an empty list clears."""
        pts = [(c + 0.5, r + 0.5) for r, c in cells]
        if pts:
            xs, ys = zip(*pts)
            self.markers.setData(x=list(xs), y=list(ys), brush=pg.mkBrush(color))
        else:
            self.markers.setData(x=[], y=[])

    def value_at(self, row: int, col: int) -> float | tuple[float, ...] | None:
        """Value of cell (row, col), or None outside the array."""
        a = self._array
        if a is None or not (0 <= row < a.shape[0] and 0 <= col < a.shape[1]):
            return None
        v = a[row, col]
        return tuple(float(x) for x in v) if np.ndim(v) else float(v)

    def visible_value_labels(self) -> int:
        """How many cells currently have their value written in them (for tests)."""
        return sum(1 for t in self._value_items if t.isVisible())

    # --- internals -----------------------------------------------------------------
    def _cmap(self) -> pg.ColorMap:
        name = self._colormap_name
        if name in ("grey", "gray"):
            return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])
        return pg.colormap.get(name)

    def _apply_levels(self) -> None:
        a = self._array
        if a is None or a.ndim != 2:
            return
        if self._fixed_levels is not None:
            lo, hi = self._fixed_levels
        else:
            finite = a[np.isfinite(a)] if not np.all(np.isfinite(a)) else a
            if finite.size == 0:
                lo, hi = 0.0, 1.0
            elif self._robust and finite.size > 64:
                step = max(1, finite.size // 20000)
                sample = np.ravel(finite)[::step]
                if self._symmetric:
                    m = float(np.percentile(np.abs(sample), 98.0)) or float(np.max(np.abs(finite)))
                    lo, hi = -m, m
                else:
                    lo, hi = (float(v) for v in np.percentile(sample, [2.0, 98.0]))
                    if hi <= lo:
                        lo, hi = float(finite.min()), float(finite.max())
            elif self._symmetric:
                m = float(np.max(np.abs(finite)))
                lo, hi = -m, m
            else:
                lo, hi = float(finite.min()), float(finite.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        self.image.setLevels((lo, hi))
        if self.colorbar is not None:
            self.colorbar.setLevels((lo, hi))

    def _set_ticks(self, h: int, w: int) -> None:
        # small arrays: one tick per cell, labelled with its index at the cell centre
        for name, n in (("left", h), ("bottom", w)):
            axis = self.plot.getAxis(name)
            if n <= 16:
                axis.setTicks([[(i + 0.5, str(i)) for i in range(n)], []])
            else:
                axis.setTicks(None)

    def _on_mouse_moved(self, pos: QPointF) -> None:
        if self._array is None or not self.plot.sceneBoundingRect().contains(pos):
            return
        p = self.plot.getViewBox().mapSceneToView(pos)
        row, col = int(np.floor(p.y())), int(np.floor(p.x()))
        v = self.value_at(row, col)
        if v is None:
            self.readout_label.setText(" ")
            return
        text = ", ".join(f"{x:.4g}" for x in v) if isinstance(v, tuple) else f"{v:.4g}"
        self.readout_label.setText(f"row {row}, col {col}: {text}")
        self.hovered.emit(row, col, v)

    def _on_mouse_clicked(self, event) -> None:
        if self._array is None or event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.scenePos()
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        p = self.plot.getViewBox().mapSceneToView(pos)
        row, col = int(np.floor(p.y())), int(np.floor(p.x()))
        if self.value_at(row, col) is not None:
            self.clicked.emit(row, col)

    def _update_value_labels(self, *args: object) -> None:
        a = self._array
        shown = 0
        if a is not None and self._values_visible:
            vb = self.plot.getViewBox()
            (x0, x1), (y0, y1) = vb.viewRange()
            width_px = max(1.0, vb.width())
            cell_px = width_px / max(1e-9, (x1 - x0))
            r0, r1 = max(0, int(np.floor(y0))), min(a.shape[0], int(np.ceil(y1)))
            c0, c1 = max(0, int(np.floor(x0))), min(a.shape[1], int(np.ceil(x1)))
            n = max(0, r1 - r0) * max(0, c1 - c0)
            if cell_px >= MIN_CELL_PX_FOR_VALUES and 0 < n <= MAX_VALUE_LABELS:
                lo, hi = self.levels()
                font = QFont()
                font.setPointSize(8 if cell_px < 40 else 9)
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        item = self._value_item(shown)
                        v = a[r, c]
                        if a.ndim == 3:
                            text = "\n".join(format_value(x) for x in v) if cell_px >= 48 else format_value(float(np.mean(v)))
                            bright = float(np.mean(v)) > 0.55
                        else:
                            text = format_value(v)
                            frac = (float(v) - lo) / (hi - lo) if hi > lo else 0.5
                            bright = frac > 0.6 if self._colormap_name in ("viridis", "grey", "gray", "inferno", "magma", "plasma") else 0.3 < frac < 0.7
                        item.setText(text)
                        item.setColor(QColor("black") if bright else QColor("white"))
                        item.textItem.setFont(font)
                        item.setPos(c + 0.5, r + 0.5)
                        item.setVisible(True)
                        shown += 1
        for item in self._value_items[shown:]:
            item.setVisible(False)

    def _value_item(self, i: int) -> pg.TextItem:
        while len(self._value_items) <= i:
            t = pg.TextItem(anchor=(0.5, 0.5))
            t.setZValue(15)
            self.plot.addItem(t)
            self._value_items.append(t)
        return self._value_items[i]


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication, QHBoxLayout

    app = QApplication.instance() or QApplication(sys.argv)
    w = QWidget()
    row = QHBoxLayout(w)
    a = ArrayView("Random 40x60")
    a.set_array(np.random.default_rng(0).normal(size=(40, 60)))
    a.set_highlight((5, 10, 3, 3))
    b = ArrayView("Kernel 3x3", colormap="CET-D1", symmetric=True)
    b.set_array(np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float))
    row.addWidget(a)
    row.addWidget(b)
    w.resize(900, 400)
    w.show()
    raise SystemExit(app.exec())
