"""TimelineView: replay what a network saw of its probe images, epoch by epoch.

It draws a :class:`convexplorer.core.timeline.Timeline`: a slider over the
snapshots (with play/pause), a probe picker, the probe with its Grad-CAM
overlay, the class probabilities, the feature maps of a chosen layer, the
first-layer kernels (and filter patterns when they were recorded), and the
loss/accuracy curves with a marker at the current snapshot. The replay can be
exported as an animated GIF or a PNG strip (Pillow)::

    view = TimelineView()
    view.set_timeline(Timeline.load(run_dir))     # or recorder.timeline, live=True while training
    view.set_index(3)
    view.export_gif("/tmp/learning.gif")

With ``live=True`` the view checks for new snapshots twice a second (the
recorder appends them in the training thread) and follows the newest one
while the slider is at the end.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.timeline import Snapshot, Timeline
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.feature_grid import FeatureGrid, grid_shape, normalise_tiles, tile
from convexplorer.ui.widgets.overlay_view import OverlayView, blend, colorize
from convexplorer.ui.widgets.topk_chart import TopKChart

#: Milliseconds between frames while playing.
PLAY_INTERVAL_MS = 700
#: Milliseconds between checks for new snapshots while live.
LIVE_INTERVAL_MS = 500
#: Most frames in a PNG strip (snapshots are picked evenly beyond that).
MAX_STRIP_FRAMES = 24


# --------------------------------------------------------------------------- frames (numpy + Pillow, no Qt)
def upsample_cam(cam: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """A coarse Grad-CAM map (float16 or float32) resized bilinearly to ``hw`` and clipped to [0, 1]."""
    from PIL import Image

    img = Image.fromarray(np.asarray(cam, np.float32), mode="F").resize((hw[1], hw[0]), Image.BILINEAR)
    return np.clip(np.asarray(img, np.float32), 0.0, 1.0)


def probe_float(timeline: Timeline, probe: int) -> np.ndarray:
    """A probe image as ``H x W x 3`` float in [0, 1] (grey probes repeated to RGB)."""
    img = timeline.probes[probe].astype(np.float32) / 255.0
    return np.repeat(img, 3, axis=-1) if img.shape[-1] == 1 else img


def _to_u8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def _scaled(img_u8: np.ndarray, height: int):
    from PIL import Image

    pil = Image.fromarray(img_u8)
    w = max(1, round(pil.width * height / pil.height))
    return pil.resize((w, height), Image.NEAREST if pil.height < height else Image.BILINEAR)


def maps_tile(maps: np.ndarray) -> np.ndarray:
    """``h x w x c`` maps as one RGB image (viridis, each map stretched on its own, white gaps)."""
    m = np.moveaxis(np.asarray(maps, np.float32), -1, 0)
    _rows, cols = grid_shape(m.shape[0], aspect=1.0)
    t = tile(normalise_tiles(m, shared=False), cols, pad=1, fill=np.nan)
    rgb = colorize(np.nan_to_num(t, nan=0.0), "viridis")
    rgb[np.isnan(t)] = 1.0
    return rgb


def kernels_tile(kernels: np.ndarray) -> np.ndarray:
    """``kh x kw x c_in x f`` kernels as one RGB image (colour when ``c_in`` is 3, else the first channel)."""
    k = np.asarray(kernels, np.float32)
    if k.shape[2] == 3:
        tiles = normalise_tiles(np.moveaxis(k, -1, 0), shared=True)  # f x kh x kw x 3
    else:
        g = normalise_tiles(np.moveaxis(k[:, :, 0, :], -1, 0), shared=True)
        tiles = np.repeat(g[..., None], 3, axis=-1)
    _rows, cols = grid_shape(tiles.shape[0], aspect=1.0)
    return tile(tiles, cols, pad=1, fill=1.0)


def render_frame(timeline: Timeline, index: int, probe: int = 0, layer: str | None = None, height: int = 160) -> np.ndarray:
    """One replay frame as ``uint8`` RGB: probe + Grad-CAM, top classes, feature maps, kernels and a caption."""
    from PIL import Image, ImageDraw

    snap = timeline[index]
    base = probe_float(timeline, probe)
    heat = upsample_cam(snap.cams[probe], base.shape[:2])
    panels = [_scaled(_to_u8(blend(base, heat, 0.5)), height)]
    # probability bars
    bars = Image.new("RGB", (190, height), "white")
    d = ImageDraw.Draw(bars)
    probs = np.asarray(snap.probabilities[probe], np.float64)
    true = None if timeline.probe_labels is None else int(timeline.probe_labels[probe])
    order = np.argsort(-probs, kind="stable")[:5]
    row = max(14, (height - 24) // 5)
    for r, c in enumerate(order):
        y = 4 + r * row
        name = timeline.class_name(int(c))[:12]
        d.text((4, y), name, fill=(30, 30, 30))
        x0 = 82
        d.rectangle([x0, y + 2, x0 + 70, y + row - 4], fill=(235, 235, 235))
        colour = (232, 89, 12) if true == int(c) else (28, 126, 214)
        d.rectangle([x0, y + 2, x0 + int(70 * probs[c]), y + row - 4], fill=colour)
        d.text((x0 + 74, y), f"{100 * probs[c]:.0f}%", fill=(30, 30, 30))
    panels.append(bars)
    name = layer if layer in snap.maps else (next(iter(snap.maps)) if snap.maps else None)
    if name is not None:
        panels.append(_scaled(_to_u8(maps_tile(snap.maps[name][probe])), height))
    if snap.kernels is not None:
        panels.append(_scaled(_to_u8(kernels_tile(snap.kernels)), height))
    gap = 6
    caption_h = 22
    width = sum(p.width for p in panels) + gap * (len(panels) + 1)
    frame = Image.new("RGB", (width, height + caption_h + gap), "white")
    x = gap
    for p in panels:
        frame.paste(p, (x, caption_h))
        x += p.width + gap
    d = ImageDraw.Draw(frame)
    text = f"{snap.label}  ·  {timeline.probe_names[probe]}"
    if true is not None:
        text += f" (true: {timeline.class_name(true)})"
    for key in ("loss", "accuracy"):
        if key in snap.logs and math.isfinite(snap.logs[key]):
            text += f"  ·  {key} {snap.logs[key]:.3f}"
    d.text((gap, 5), text, fill=(20, 20, 20))
    return np.asarray(frame)


def strip_frame(timeline: Timeline, index: int, probe: int = 0, layer: str | None = None, size: int = 96) -> np.ndarray:
    """A compact column for PNG strips: the label, the probe with Grad-CAM, and the layer's maps below."""
    from PIL import Image, ImageDraw

    snap = timeline[index]
    base = probe_float(timeline, probe)
    cam = _scaled(_to_u8(blend(base, upsample_cam(snap.cams[probe], base.shape[:2]), 0.5)), size)
    parts = [cam]
    name = layer if layer in snap.maps else (next(iter(snap.maps)) if snap.maps else None)
    if name is not None:
        m = _scaled(_to_u8(maps_tile(snap.maps[name][probe])), size)
        parts.append(m.resize((cam.width, size)))
    col = Image.new("RGB", (cam.width, 16 + sum(p.height for p in parts) + 2 * len(parts)), "white")
    ImageDraw.Draw(col).text((2, 2), snap.label.replace("before training", "start"), fill=(20, 20, 20))
    y = 16
    for p in parts:
        col.paste(p, (0, y))
        y += p.height + 2
    return np.asarray(col)


def _even_pick(n: int, limit: int) -> list[int]:
    if n <= limit:
        return list(range(n))
    return sorted({int(round(v)) for v in np.linspace(0, n - 1, limit)})


def export_gif(timeline: Timeline, path: str | Path, probe: int = 0, layer: str | None = None, frame_ms: int = PLAY_INTERVAL_MS) -> Path:
    """Write the replay of one probe as an animated GIF (one frame per snapshot, looping)."""
    from PIL import Image

    if len(timeline) == 0:
        raise ValueError("the timeline has no snapshots yet")
    frames = [Image.fromarray(render_frame(timeline, i, probe, layer)) for i in range(len(timeline))]
    w = max(f.width for f in frames)
    h = max(f.height for f in frames)
    padded = []
    for f in frames:
        canvas = Image.new("RGB", (w, h), "white")
        canvas.paste(f, (0, 0))
        padded.append(canvas.convert("P", palette=Image.ADAPTIVE, colors=255))
    target = Path(path)
    padded[0].save(target, save_all=True, append_images=padded[1:], duration=int(frame_ms), loop=0, optimize=False)
    return target


def export_strip(timeline: Timeline, path: str | Path, probe: int = 0, layer: str | None = None) -> Path:
    """Write one probe's snapshots side by side as a PNG (at most ``MAX_STRIP_FRAMES`` columns)."""
    from PIL import Image

    if len(timeline) == 0:
        raise ValueError("the timeline has no snapshots yet")
    cols = [Image.fromarray(strip_frame(timeline, i, probe, layer)) for i in _even_pick(len(timeline), MAX_STRIP_FRAMES)]
    gap = 4
    strip = Image.new("RGB", (sum(c.width for c in cols) + gap * (len(cols) + 1), max(c.height for c in cols) + 2 * gap), "white")
    x = gap
    for c in cols:
        strip.paste(c, (x, gap))
        x += c.width + gap
    target = Path(path)
    strip.save(target)
    return target


# --------------------------------------------------------------------------- the widget
def _icon(img_u8: np.ndarray) -> QIcon:
    rgb = np.ascontiguousarray(np.repeat(img_u8, 3, axis=-1) if img_u8.shape[-1] == 1 else img_u8[..., :3])
    h, w = rgb.shape[:2]
    qimg = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QIcon(QPixmap.fromImage(qimg))


class TimelineView(QWidget):
    """Slider, play/pause and views of one :class:`Timeline` (see the module docstring)."""

    #: The snapshot shown changed: its index.
    index_changed = Signal(int)
    #: A file was exported: its path.
    exported = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timeline: Optional[Timeline] = None
        self._count = 0
        self._index = -1
        self._live = False
        self._build_ui()
        self.play_timer = QTimer(self)
        self.play_timer.setInterval(PLAY_INTERVAL_MS)
        self.play_timer.timeout.connect(self._advance)
        self.live_timer = QTimer(self)
        self.live_timer.setInterval(LIVE_INTERVAL_MS)
        self.live_timer.timeout.connect(self.refresh)
        self._update_enabled()

    # --- layout ------------------------------------------------------------------
    def _build_ui(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)

        bar = QHBoxLayout()
        self.probe_combo = QComboBox()
        self.probe_combo.setToolTip("The pinned image whose snapshots are shown")
        self.probe_combo.setMinimumWidth(170)
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("Layer whose feature maps are shown (recorded downsampled, a few channels)")
        self.layer_combo.setMinimumWidth(110)
        self.gif_button = QPushButton("Export GIF…")
        self.gif_button.setToolTip("Save the replay of this probe as an animated GIF")
        self.strip_button = QPushButton("Export PNG strip…")
        self.strip_button.setToolTip("Save this probe's snapshots side by side in one PNG")
        bar.addWidget(QLabel("Probe"))
        bar.addWidget(self.probe_combo)
        bar.addSpacing(8)
        bar.addWidget(QLabel("Layer"))
        bar.addWidget(self.layer_combo)
        bar.addStretch(1)
        bar.addWidget(self.gif_button)
        bar.addWidget(self.strip_button)
        root.addLayout(bar)

        self.message = QLabel("No timeline yet: pin probe images and train with the timeline on, or open a run's timeline.")
        self.message.setWordWrap(True)
        set_role(self.message, "hint")
        root.addWidget(self.message)

        views = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.cam_view = OverlayView("Grad-CAM")
        self.cam_view.setMinimumSize(180, 180)
        self.topk_chart = TopKChart()
        self.topk_chart.clear("No snapshot yet.")
        ll.addWidget(self.cam_view, 3)
        ll.addWidget(self.topk_chart, 0)
        views.addWidget(left)
        self.maps_grid = FeatureGrid()
        views.addWidget(self.maps_grid)
        self.weights_tabs = QTabWidget()
        self.kernels_grid = FeatureGrid()
        self.patterns_grid = FeatureGrid()
        self.weights_tabs.addTab(self.kernels_grid, "First-layer kernels")
        self.weights_tabs.addTab(self.patterns_grid, "Filter patterns")
        views.addWidget(self.weights_tabs)
        views.setSizes([300, 420, 300])
        root.addWidget(views, 1)

        self.curves = pg.GraphicsLayoutWidget()
        self.curves.setBackground("w")
        self.curves.setMinimumHeight(150)
        self.curves.setMaximumHeight(200)
        self.loss_plot = self.curves.addPlot(row=0, col=0, title="loss")
        self.acc_plot = self.curves.addPlot(row=0, col=1, title="accuracy")
        self.markers = []
        self._curve_items: dict[str, pg.PlotDataItem] = {}
        for plot in (self.loss_plot, self.acc_plot):
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("bottom", "epoch")
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            # loss falls and accuracy rises: their legends sit in the corner the curve leaves free
            plot.addLegend(offset=(-4, 4) if plot is self.loss_plot else (-4, -4), labelTextSize="8pt")
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#e8590c", width=2))
            plot.addItem(line)
            self.markers.append(line)
        for key, plot, colour, style in (
            ("loss", self.loss_plot, "#1c7ed6", Qt.PenStyle.SolidLine),
            ("val_loss", self.loss_plot, "#1c7ed6", Qt.PenStyle.DashLine),
            ("accuracy", self.acc_plot, "#2b8a3e", Qt.PenStyle.SolidLine),
            ("val_accuracy", self.acc_plot, "#2b8a3e", Qt.PenStyle.DashLine),
        ):
            item = plot.plot([], [], pen=pg.mkPen(colour, width=2, style=style), symbol="o", symbolSize=5,
                             symbolBrush=colour, symbolPen=None, name=key.replace("_", " "))
            self._curve_items[key] = item
        self.curves.scene().sigMouseClicked.connect(self._on_curve_click)
        root.addWidget(self.curves)

        controls = QHBoxLayout()
        self.play_button = QPushButton("▶ Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Replay the snapshots one after the other")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimum(0)
        self.slider.setMaximum(0)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setToolTip("Snapshots over training: drag to go back and forth in time")
        self.position_label = QLabel("–")
        self.position_label.setMinimumWidth(260)
        self.position_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.position_label)
        root.addLayout(controls)

        self.slider.valueChanged.connect(self.set_index)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.probe_combo.currentIndexChanged.connect(lambda _i: self._show())
        self.layer_combo.currentIndexChanged.connect(lambda _i: self._show())
        self.gif_button.clicked.connect(lambda: self._on_export("gif"))
        self.strip_button.clicked.connect(lambda: self._on_export("png"))

    # --- public API --------------------------------------------------------------
    def timeline(self) -> Optional[Timeline]:
        """The timeline shown (None when empty)."""
        return self._timeline

    def set_timeline(self, timeline: Optional[Timeline], live: bool = False) -> None:
        """Show ``timeline``; with ``live`` keep checking for new snapshots (a recording in progress)."""
        self.pause()
        self._timeline = timeline
        self._count = 0
        self._index = -1
        self.probe_combo.blockSignals(True)
        self.probe_combo.clear()
        if timeline is not None:
            for i, name in enumerate(timeline.probe_names):
                text = name
                if timeline.probe_labels is not None:
                    text += f" ({timeline.class_name(int(timeline.probe_labels[i]))})"
                self.probe_combo.addItem(_icon(timeline.probes[i]), text)
        self.probe_combo.blockSignals(False)
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.blockSignals(False)
        self.set_live(live)
        self.refresh()
        if timeline is not None and len(timeline):
            self.set_index(0 if not live else len(timeline) - 1)
        self._show()

    def set_live(self, live: bool) -> None:
        """Follow a recording in progress (check for new snapshots twice a second)."""
        self._live = bool(live)
        if self._live:
            self.live_timer.start()
        else:
            self.live_timer.stop()

    def refresh(self) -> None:
        """Pick up snapshots added since the last look (cheap when nothing changed)."""
        tl = self._timeline
        n = len(tl) if tl is not None else 0
        if n == self._count and self.layer_combo.count():
            self._update_curves()
            return
        at_end = self._index >= self._count - 1
        self._count = n
        if tl is not None and n and self.layer_combo.count() == 0:
            self.layer_combo.blockSignals(True)
            self.layer_combo.addItems(tl.layers())
            self.layer_combo.setCurrentIndex(0)
            self.layer_combo.blockSignals(False)
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(0, n - 1))
        self.slider.blockSignals(False)
        self._update_curves()
        self._update_enabled()
        if n and (self._index < 0 or (self._live and at_end)):
            self.set_index(n - 1)

    def count(self) -> int:
        """Number of snapshots known to the view."""
        return self._count

    def index(self) -> int:
        """Index of the snapshot shown (-1 when none)."""
        return self._index

    def set_index(self, index: int) -> None:
        """Show snapshot ``index``."""
        if self._timeline is None or self._count == 0:
            return
        index = int(max(0, min(int(index), self._count - 1)))
        changed = index != self._index
        self._index = index
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        self._show()
        if changed:
            self.index_changed.emit(index)

    def set_probe(self, probe: int) -> None:
        """Show probe number ``probe``."""
        self.probe_combo.setCurrentIndex(int(probe))

    def probe(self) -> int:
        """The probe shown."""
        return max(0, self.probe_combo.currentIndex())

    def layer(self) -> Optional[str]:
        """The layer whose maps are shown."""
        return self.layer_combo.currentText() or None

    def play(self) -> None:
        """Start replaying from the current snapshot (from the start when at the end)."""
        if self._count < 2:
            return
        if self._index >= self._count - 1:
            self.set_index(0)
        self.play_button.setChecked(True)

    def pause(self) -> None:
        """Stop replaying."""
        self.play_button.setChecked(False)

    @property
    def playing(self) -> bool:
        """True while replaying."""
        return self.play_timer.isActive()

    def export_gif(self, path: str | Path) -> Path:
        """Save the replay of the current probe as an animated GIF."""
        if self._timeline is None:
            raise ValueError("no timeline to export")
        out = export_gif(self._timeline, path, self.probe(), self.layer())
        self.exported.emit(str(out))
        return out

    def export_strip(self, path: str | Path) -> Path:
        """Save the current probe's snapshots side by side as a PNG."""
        if self._timeline is None:
            raise ValueError("no timeline to export")
        out = export_strip(self._timeline, path, self.probe(), self.layer())
        self.exported.emit(str(out))
        return out

    def shutdown(self) -> None:
        """Stop the timers (before the widget goes away)."""
        self.play_timer.stop()
        self.live_timer.stop()

    # --- drawing -----------------------------------------------------------------
    def _update_enabled(self) -> None:
        has = self._count > 0
        for w in (self.slider, self.gif_button, self.strip_button, self.probe_combo, self.layer_combo):
            w.setEnabled(has)
        self.play_button.setEnabled(self._count > 1)
        self.message.setVisible(not has)

    def _update_curves(self) -> None:
        tl = self._timeline
        last = 1.0
        for key, item in self._curve_items.items():
            if tl is None:
                item.setData([], [])
                continue
            x, y = tl.curve_arrays(key)
            item.setData(x.astype(np.float64), y.astype(np.float64))
            if x.size:
                last = max(last, float(x.max()))
        if tl is not None and self._count:
            last = max(last, float(tl[self._count - 1].position))
        for plot in (self.loss_plot, self.acc_plot):
            plot.setXRange(0.0, last, padding=0.03)  # from "before training" (0) to the newest snapshot

    def _show(self) -> None:
        tl = self._timeline
        if tl is None or self._count == 0 or self._index < 0:
            self.cam_view.set_base(None)
            self.topk_chart.clear("No snapshot yet.")
            self.maps_grid.set_maps(None, caption="")
            self.kernels_grid.set_maps(None, caption="")
            self.patterns_grid.set_maps(None, caption="")
            self.position_label.setText("–")
            return
        snap: Snapshot = tl[self._index]
        p = min(self.probe(), tl.num_probes - 1)
        base = probe_float(tl, p)
        self.cam_view.set_base(base)
        self.cam_view.set_heat(upsample_cam(snap.cams[p], base.shape[:2]))
        cls = int(snap.cam_classes[p])
        self.cam_view.set_title(f"Grad-CAM for {tl.class_name(cls)}")
        sub = f"{tl.cam_layer} · {snap.label}" if tl.cam_layer else snap.label
        if not float(np.max(snap.cams[p])) > 0:
            sub += f" · no evidence for {tl.class_name(cls)} yet"
        self.cam_view.set_subtitle(sub)
        probs = np.asarray(snap.probabilities[p], np.float64)
        order = np.argsort(-probs, kind="stable")[:5]
        true = None if tl.probe_labels is None else int(tl.probe_labels[p])
        note = ""
        if true is not None:
            rank = int(np.sum(probs > probs[true])) + 1
            note = f"true class {tl.class_name(true)}: {100 * probs[true]:.1f} % (rank {rank})"
        self.topk_chart.set_predictions([(int(c), tl.class_name(int(c)), float(probs[c])) for c in order], note)
        self.topk_chart.set_highlight(true)
        layer = self.layer()
        if layer and layer in snap.maps:
            m = snap.maps[layer][p].astype(np.float32)
            self.maps_grid.set_maps(m, caption=f"{layer}: {m.shape[-1]} channels, {m.shape[0]}x{m.shape[1]} (downsampled)")
        else:
            self.maps_grid.set_maps(None, caption="no feature maps recorded")
        if snap.kernels is not None:
            k = snap.kernels.astype(np.float32)
            if k.shape[2] == 3:
                self.kernels_grid.set_maps(np.moveaxis(k, -1, 0), rgb=True,
                                           caption=f"{tl.kernel_layer}: {k.shape[3]} kernels {k.shape[0]}x{k.shape[1]}")
            else:
                self.kernels_grid.set_maps(k[:, :, 0, :], caption=f"{tl.kernel_layer}: {k.shape[3]} kernels (channel 1)")
            self.kernels_grid.set_shared_scale(True)
        else:
            self.kernels_grid.set_maps(None, caption="no convolution kernels")
        if snap.patterns is not None:
            self.patterns_grid.set_maps(snap.patterns.astype(np.float32) / 255.0, rgb=snap.patterns.shape[-1] == 3,
                                        caption=f"{tl.pattern_layer}: filters {', '.join(map(str, tl.pattern_filters))}")
        else:
            self.patterns_grid.set_maps(None, caption="not recorded: turn on filter patterns before training (slower)")
        for line in self.markers:
            line.setValue(float(snap.position))
        bits = [f"{snap.label}", f"snapshot {self._index + 1} of {self._count}"]
        for key in ("loss", "accuracy"):
            v = snap.logs.get(key)
            if v is not None and math.isfinite(v):
                bits.append(f"{key} {v:.3f}")
        self.position_label.setText(" · ".join(bits))

    # --- slots -------------------------------------------------------------------
    def _on_play_toggled(self, on: bool) -> None:
        if on and self._count > 1:
            if self._index >= self._count - 1:
                self.set_index(0)
            self.play_timer.start()
            self.play_button.setText("⏸ Pause")
        else:
            self.play_timer.stop()
            self.play_button.setText("▶ Play")
            if on:
                self.play_button.setChecked(False)

    def _advance(self) -> None:
        if self._index >= self._count - 1:
            self.pause()
            return
        self.set_index(self._index + 1)
        if self._index >= self._count - 1 and not self._live:
            self.pause()

    def _on_curve_click(self, event) -> None:  # noqa: ANN001 - pyqtgraph mouse event
        tl = self._timeline
        if tl is None or not self._count:
            return
        for plot in (self.loss_plot, self.acc_plot):
            if plot.sceneBoundingRect().contains(event.scenePos()):
                x = plot.vb.mapSceneToView(event.scenePos()).x()
                self.set_index(tl.nearest(x))
                return

    def _on_export(self, kind: str) -> None:
        if self._timeline is None or not self._count:
            return
        flt = "Animated GIF (*.gif)" if kind == "gif" else "PNG image (*.png)"
        path, _ = QFileDialog.getSaveFileName(self, "Export the replay", f"timeline.{kind}", flt)
        if not path:
            return
        try:
            if kind == "gif":
                self.export_gif(path)
            else:
                self.export_strip(path)
            self.message.setText(f"saved {Path(path).name}")
        except (OSError, ValueError) as exc:
            self.message.setText(f"could not save {Path(path).name}: {exc}")
        self.message.setVisible(True)


# --------------------------------------------------------------------------- pinning probes
class ProbePicker(QWidget):
    """Pin probe images for the timeline and choose how often to record (for the panel that starts training).

    ``pin_per_class(dataset)`` pins one image of each class; ``pin_image``
    pins an opened or dropped image; the list shows them and a double click
    unpins one. :meth:`make_recorder` builds the Keras callback from what was
    chosen::

        picker.pin_per_class(dataset)
        recorder = picker.make_recorder(class_names, save_to=run_dir / TIMELINE_FILE)
    """

    #: The pinned probes changed: their number.
    changed = Signal(int)

    #: Most probes a timeline takes (the recorder's limit).
    MAX_PROBES = 16

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images: list[np.ndarray] = []
        self._labels: list[Optional[int]] = []
        self._names: list[str] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.enabled_check = QCheckBox("Record a learning timeline of these probes")
        self.enabled_check.setChecked(True)
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(40, 40))
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setMaximumHeight(92)
        self.list.setToolTip("Pinned probe images; double-click one to unpin it")
        row = QHBoxLayout()
        self.per_class_button = QPushButton("Pin one per class")
        self.clear_button = QPushButton("Clear")
        row.addWidget(self.per_class_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        opts = QHBoxLayout()
        self.every_spin = QSpinBox()
        self.every_spin.setRange(0, 100000)
        self.every_spin.setSpecialValueText("each epoch")
        self.every_spin.setPrefix("every ")
        self.every_spin.setSuffix(" batches")
        self.every_spin.setToolTip("Record every N batches instead of once per epoch (0: at the end of each epoch)")
        self.patterns_check = QCheckBox("filter patterns (slower)")
        self.patterns_check.setToolTip("Also compute a few filters' patterns at each snapshot (gradient ascent: slower)")
        opts.addWidget(QLabel("Record"))
        opts.addWidget(self.every_spin)
        opts.addWidget(self.patterns_check)
        opts.addStretch(1)
        self.status_label = QLabel("No probes pinned: pin one image per class, or pin an opened image.")
        self.status_label.setWordWrap(True)
        set_role(self.status_label, "hint")
        lay.addWidget(self.enabled_check)
        lay.addWidget(self.list)
        lay.addLayout(row)
        lay.addLayout(opts)
        lay.addWidget(self.status_label)
        self._dataset: Any = None
        self.per_class_button.clicked.connect(lambda: self._dataset is not None and self.pin_per_class(self._dataset))
        self.per_class_button.setEnabled(False)
        self.clear_button.clicked.connect(self.clear)
        self.list.itemDoubleClicked.connect(lambda item: self.unpin(self.list.row(item)))

    def set_dataset(self, dataset: Any) -> None:
        """The data set probes are pinned from (enables "Pin one per class")."""
        self._dataset = dataset
        self.per_class_button.setEnabled(dataset is not None)

    def count(self) -> int:
        """Number of pinned probes."""
        return len(self._images)

    def pin_image(self, image: np.ndarray, label: Optional[int] = None, name: str = "") -> bool:
        """Pin one image (``H x W x C`` float in [0, 1]); False when the limit is reached or the size differs."""
        img = np.asarray(image, np.float32)
        if img.ndim == 2:
            img = img[..., None]
        if len(self._images) >= self.MAX_PROBES:
            self.status_label.setText(f"at most {self.MAX_PROBES} probes can be pinned")
            return False
        if self._images and img.shape != self._images[0].shape:
            a, b = self._images[0].shape, img.shape
            self.status_label.setText(
                f"probes must all have one size: pinned ones are {a[0]}x{a[1]}x{a[2]}, this one is {b[0]}x{b[1]}x{b[2]}"
            )
            return False
        self._images.append(img)
        self._labels.append(None if label is None else int(label))
        self._names.append(name or f"probe {len(self._images)}")
        u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
        self.list.addItem(QListWidgetItem(_icon(u8), self._names[-1]))
        self._update_status()
        return True

    def pin_per_class(self, dataset: Any, per_class: int = 1) -> int:
        """Pin ``per_class`` validation images of each class of ``dataset`` (replacing the pinned ones)."""
        from convexplorer.core.timeline import probes_from_dataset

        self.clear()
        images, labels, names = probes_from_dataset(dataset, per_class=per_class, max_probes=self.MAX_PROBES)
        for img, y, n in zip(images, labels, names):
            self.pin_image(img, int(y), n)
        return self.count()

    def unpin(self, row: int) -> None:
        """Remove pinned probe ``row``."""
        if 0 <= row < len(self._images):
            del self._images[row], self._labels[row], self._names[row]
            self.list.takeItem(row)
            self._update_status()

    def clear(self) -> None:
        """Unpin every probe."""
        self._images, self._labels, self._names = [], [], []
        self.list.clear()
        self._update_status()

    def probes(self) -> tuple[np.ndarray, Optional[np.ndarray], list[str]]:
        """Pinned images ``P x H x W x C``, their labels (None unless every probe has one) and names."""
        if not self._images:
            return np.zeros((0, 1, 1, 1), np.float32), None, []
        labels = None if any(v is None for v in self._labels) else np.asarray(self._labels, np.int64)
        return np.stack(self._images), labels, list(self._names)

    def settings(self) -> Any:
        """The recorder settings chosen (every N batches, filter patterns)."""
        from convexplorer.core.timeline import RecorderSettings

        n = self.every_spin.value()
        return RecorderSettings(every_n_batches=n or None, patterns=self.patterns_check.isChecked())

    def make_recorder(self, class_names: Optional[Sequence[str]] = None, save_to: Any = None) -> Any:
        """A TimelineRecorder for the pinned probes (None when recording is off or nothing is pinned)."""
        from convexplorer.core.timeline import TimelineRecorder

        if not self.enabled_check.isChecked() or not self._images:
            return None
        images, labels, names = self.probes()
        return TimelineRecorder(images, probe_labels=labels, class_names=class_names, probe_names=names,
                                save_to=save_to, settings=self.settings())

    def _update_status(self) -> None:
        n = len(self._images)
        if n:
            h, w, c = self._images[0].shape
            self.status_label.setText(f"{n} probe(s) pinned, {w}x{h}x{c}: they are recorded while the model trains")
        else:
            self.status_label.setText("No probes pinned: pin one image per class, or pin an opened image.")
        self.changed.emit(n)
