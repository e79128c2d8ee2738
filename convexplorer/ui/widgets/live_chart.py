"""LiveChart: a pyqtgraph chart of training curves that keeps up with thousands of points.

Series are appended to (``append``) or replaced (``set_series``) from the GUI
thread at any rate; the chart redraws at most ~25 times a second from the
latest data (a single-shot ``QTimer``), never once per batch. Each series has
one raw curve, created once and updated with ``setData`` (clip to view, peak
downsampling, float64 x), and, when smoothing is on, a smoothed curve drawn
over a faint raw one (exponential moving average, factor 0.8 by default as in
*Deep Learning with Python*). A log-scale toggle and a hover read-out of the
values nearest the mouse come with it::

    chart = LiveChart("Loss", x_label="epoch")
    chart.add_series("loss/batch", "training (batches)", "#1f77b4", kind="batch")
    chart.add_series("loss/epoch", "training", "#1f77b4", kind="epoch")
    chart.append("loss/batch", 0.25, 0.71)
    chart.set_smoothing(0.6); chart.set_log_y(True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from convexplorer.ui.widgets.array_view import guard_pyside_refcounts

# PySide6 6.12 on Python 3.11 loses a reference to None/True/False per void call; a
# training session makes many such calls a second (labels, progress, curves).
guard_pyside_refcounts()

#: Redraw period: at most this many milliseconds between a new point and its drawing.
REDRAW_MS = 40


def ema(values: np.ndarray, factor: float) -> np.ndarray:
    """Exponential moving average ``s_t = f s_{t-1} + (1 - f) y_t`` starting at the first value; NaNs are skipped."""
    y = np.asarray(values, dtype=np.float64)
    out = np.full_like(y, np.nan)
    if y.size == 0 or factor <= 0:
        return y.copy()
    ok = np.isfinite(y)
    if not ok.any():
        return out
    yf = y[ok]
    from scipy.signal import lfilter  # imported ahead by the TensorFlow loader (0.7 s)

    out[ok] = lfilter([1.0 - factor], [1.0, -factor], yf, zi=[factor * yf[0]])[0]
    return out


class _Buffer:
    """Growable float64 x/y arrays (amortised doubling)."""

    def __init__(self) -> None:
        self.x = np.empty(256, np.float64)
        self.y = np.empty(256, np.float64)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == self.x.size:
            self.x = np.concatenate([self.x, np.empty_like(self.x)])
            self.y = np.concatenate([self.y, np.empty_like(self.y)])
        self.x[self.n] = x
        self.y[self.n] = y
        self.n += 1

    def set(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, np.float64).reshape(-1)
        y = np.asarray(y, np.float64).reshape(-1)
        n = min(x.size, y.size)
        cap = max(256, 1 << max(0, int(n - 1).bit_length()))
        self.x = np.empty(cap, np.float64)
        self.y = np.empty(cap, np.float64)
        self.x[:n], self.y[:n] = x[:n], y[:n]
        self.n = n

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


@dataclass
class _Series:
    key: str
    label: str
    color: str
    kind: str
    buffer: _Buffer = field(default_factory=_Buffer)
    raw: object = None
    smooth: object = None
    dirty: bool = True
    visible: bool = True
    smooth_on: bool = True


class LiveChart(QWidget):
    """A titled chart of named series (per batch and per epoch) with smoothing, log scale and hover read-out."""

    #: Emitted after a redraw (tests wait on it).
    redrawn = Signal()

    def __init__(self, title: str, x_label: str = "epoch", y_label: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"liveChart_{title}")
        self._series: dict[str, _Series] = {}
        self._smoothing = 0.8
        self._log_y = False
        self._show_batches = True
        self._zero_based = False
        self.redraw_count = 0

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumHeight(160)
        item = self.plot.getPlotItem()
        item.setTitle(title, color="#222", size="10pt")
        item.setLabel("bottom", x_label)
        if y_label:
            item.setLabel("left", y_label)
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        self.legend = item.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTextPen("#333")
            item.getAxis(axis).setPen("#888")
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#999", style=pg.QtCore.Qt.PenStyle.DashLine))
        self.cursor.hide()
        item.addItem(self.cursor, ignoreBounds=True)
        layout.addWidget(self.plot, 1)
        self.readout = QLabel(" ")
        self.readout.setObjectName("chartReadout")
        self.readout.setStyleSheet("color:#333;font-size:11px;")
        self.readout.setMinimumHeight(16)
        layout.addWidget(self.readout)
        self.empty_text = pg.TextItem("no data yet", color="#888", anchor=(0.5, 0.5))
        item.addItem(self.empty_text, ignoreBounds=True)
        self.empty_text.setPos(0.5, 0.5)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        self._mouse_proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)

    # --- series --------------------------------------------------------------
    def add_series(
        self,
        key: str,
        label: str,
        color: str,
        kind: str = "batch",
        width: float | None = None,
        in_legend: bool = True,
        smooth: bool = True,
        dashed: bool = False,
    ) -> None:
        """Create a series once: ``kind`` "batch" (thin line) or "epoch" (line with dots); ``smooth`` follows the EMA
        setting; ``dashed`` draws it dashed (e.g. a head's validation curve beside its solid training curve)."""
        if key in self._series:
            return
        s = _Series(key, label, color, kind, smooth_on=smooth)
        item = self.plot.getPlotItem()
        c = QColor(color)
        w = width if width is not None else (1.2 if kind == "batch" else 2.0)
        style = {"style": pg.QtCore.Qt.PenStyle.DashLine} if dashed else {}
        if kind == "epoch":
            s.raw = item.plot([], [], pen=pg.mkPen(c, width=w, **style), symbol="o", symbolSize=6,
                              symbolBrush=c, symbolPen=c, connect="finite")
        else:
            s.raw = item.plot([], [], pen=pg.mkPen(c, width=w, **style), connect="finite")
        faint = QColor(c)
        faint.setAlpha(70)
        s.smooth = item.plot([], [], pen=pg.mkPen(c, width=w + 0.6, **style), connect="finite")
        s.faint_pen = pg.mkPen(faint, width=1, **style)  # type: ignore[attr-defined]
        s.full_pen = pg.mkPen(c, width=w, **style)  # type: ignore[attr-defined]
        if in_legend:
            self.legend.addItem(s.raw, label)
        self.legend.setVisible(len(self.legend.items) > 0)
        self._series[key] = s
        self._schedule()

    def set_title(self, title: str) -> None:
        """Change the chart's title."""
        self.plot.getPlotItem().setTitle(title, color="#222", size="10pt")

    def title(self) -> str:
        """The chart's title text."""
        return str(self.plot.getPlotItem().titleLabel.text)

    def set_legend_label(self, key: str, label: str | None) -> None:
        """Show series ``key`` in the legend as ``label`` (None: take it out of the legend)."""
        s = self._series[key]
        self.legend.removeItem(s.raw)
        if label is not None:
            s.label = label
            self.legend.addItem(s.raw, label)
        self.legend.setVisible(len(self.legend.items) > 0)

    def legend_labels(self) -> list[str]:
        """The labels in the legend, in order."""
        return [label.text for _sample, label in self.legend.items]

    def has_series(self, key: str) -> bool:
        """True if ``key`` was added."""
        return key in self._series

    def series_keys(self) -> list[str]:
        """Keys of all series, in creation order."""
        return list(self._series)

    def remove_series(self, key: str) -> None:
        """Remove a series and its curves."""
        s = self._series.pop(key, None)
        if s is None:
            return
        item = self.plot.getPlotItem()
        for curve in (s.raw, s.smooth):
            item.removeItem(curve)
        self.legend.removeItem(s.raw)
        self.legend.setVisible(len(self.legend.items) > 0)
        self._schedule()

    def append(self, key: str, x: float, y: float) -> None:
        """Add one point (cheap; drawn at the next redraw tick)."""
        s = self._series[key]
        s.buffer.append(float(x), float(y))
        s.dirty = True
        self._schedule()

    def set_series(self, key: str, x: np.ndarray, y: np.ndarray) -> None:
        """Replace a series' points."""
        s = self._series[key]
        s.buffer.set(x, y)
        s.dirty = True
        self._schedule()

    def data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """A copy of a series' points (x, y)."""
        x, y = self._series[key].buffer.view()
        return x.copy(), y.copy()

    def clear(self) -> None:
        """Empty every series (curves stay)."""
        for s in self._series.values():
            s.buffer.set(np.zeros(0), np.zeros(0))
            s.dirty = True
        self._schedule()

    # --- options -------------------------------------------------------------
    def set_smoothing(self, factor: float) -> None:
        """EMA factor in [0, 0.99]; 0 turns smoothing off."""
        self._smoothing = float(min(max(factor, 0.0), 0.99))
        for s in self._series.values():
            s.dirty = True
        self._schedule()

    def smoothing(self) -> float:
        """The EMA factor."""
        return self._smoothing

    def set_log_y(self, on: bool) -> None:
        """Logarithmic y axis on or off."""
        self._log_y = bool(on)
        self.plot.getPlotItem().setLogMode(x=False, y=self._log_y)
        self._schedule()

    def set_zero_based(self, on: bool) -> None:
        """Start the y axis at 0 (linear scale), e.g. for a learning rate that stays constant."""
        self._zero_based = bool(on)
        self._schedule()

    def set_show_batches(self, on: bool) -> None:
        """Show or hide the per-batch series."""
        self._show_batches = bool(on)
        for s in self._series.values():
            s.dirty = True
        self._schedule()

    def set_series_visible(self, key: str, on: bool) -> None:
        """Show or hide one series."""
        self._series[key].visible = bool(on)
        self._series[key].dirty = True
        self._schedule()

    # --- drawing -------------------------------------------------------------
    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def redraw_now(self) -> None:
        """Draw pending changes at once (screenshots, tests)."""
        self._timer.stop()
        self._redraw()

    def _redraw(self) -> None:
        any_points = False
        for s in self._series.values():
            x, y = s.buffer.view()
            shown = s.visible and (s.kind != "batch" or self._show_batches)
            any_points = any_points or (shown and x.size > 0)
            if not s.dirty:
                continue
            s.dirty = False
            if not shown:
                s.raw.setData([], [])
                s.smooth.setData([], [])
                continue
            yy = y
            if self._log_y:
                yy = np.where(y > 0, y, np.nan)
            if self._smoothing > 0 and x.size > 1 and s.smooth_on:
                s.raw.setData(x, yy)
                s.raw.setPen(s.faint_pen)
                if s.kind == "epoch":
                    s.raw.setSymbolBrush(s.faint_pen.color())
                    s.raw.setSymbolPen(s.faint_pen.color())
                s.smooth.setData(x, ema(yy, self._smoothing))
            else:
                s.raw.setData(x, yy)
                s.raw.setPen(s.full_pen)
                if s.kind == "epoch":
                    s.raw.setSymbolBrush(s.full_pen.color())
                    s.raw.setSymbolPen(s.full_pen.color())
                s.smooth.setData([], [])
        self.empty_text.setVisible(not any_points)
        if self._zero_based and not self._log_y:
            top = 0.0
            for s in self._series.values():
                if s.visible and s.buffer.n:
                    ys = s.buffer.view()[1]
                    fin = ys[np.isfinite(ys)]
                    if fin.size:
                        top = max(top, float(fin.max()))
            if top > 0:
                self.plot.getPlotItem().setYRange(0.0, top * 1.15, padding=0)
            self.plot.getPlotItem().enableAutoRange(axis="x")
        self.redraw_count += 1
        self.redrawn.emit()

    # --- hover read-out -------------------------------------------------------
    def readout_at(self, x: float) -> str:
        """Text with each visible series' value nearest to ``x`` (what the hover shows)."""
        parts = []
        for s in self._series.values():
            if not s.visible or (s.kind == "batch" and not self._show_batches):
                continue
            xs, ys = s.buffer.view()
            if xs.size == 0:
                continue
            i = int(np.clip(np.searchsorted(xs, x), 0, xs.size - 1))
            if i > 0 and abs(xs[i - 1] - x) < abs(xs[i] - x):
                i -= 1
            v = ys[i]
            if self._smoothing > 0 and xs.size > 1 and s.smooth_on:
                v = ema(ys[: i + 1], self._smoothing)[-1]
            parts.append(f"{s.label} {_fmt(v)}")
        return (f"epoch {x:.2f}: " + " · ".join(parts)) if parts else " "

    def _on_mouse(self, event: tuple) -> None:
        pos = event[0]
        vb = self.plot.getPlotItem().vb
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        x = vb.mapSceneToView(pos).x()
        self.cursor.setPos(x)
        self.cursor.show()
        self.readout.setText(self.readout_at(x))

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Hide the hover line when the mouse leaves."""
        self.cursor.hide()
        super().leaveEvent(event)


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "–"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
        return f"{v:.3g}"
    return f"{v:.4f}"
