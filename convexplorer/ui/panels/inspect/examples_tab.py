"""The "Dataset examples" tab: the images of the current data set that activate a filter most."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from convexplorer.ui.panels.inspect.combos import Filling, fill_combo
from convexplorer.ui.panels.inspect.examples_grid import ExamplesGrid, ExampleTile
from convexplorer.ui.panels.inspect.job_bar import JobBar
from convexplorer.ui.style import set_role

#: The two modes of the tab.
MODES = ("One filter: its top k", "All filters: the best image of each")


@dataclass(frozen=True)
class ExamplesRequest:
    """What to look for: a layer, a filter (None: every filter's best image) and k."""

    layer: str
    filter_index: int | None
    k: int


class ExamplesTab(QWidget):
    """Layer, filter, k and mode pickers, Compute/Cancel with progress, and the grid of examples."""

    #: The user asked for examples (Compute, or another filter of a layer already scanned).
    compute_requested = Signal()
    #: The user clicked an example: (image index in the data set, its position in the grid).
    example_clicked = Signal(int, int)
    #: The layer picked changed: its name (the panel sets the filter range).
    layer_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filling = Filling()
        #: What the grid shows: ``jobs.dataset_examples``'s result (None: nothing yet).
        self.result: dict | None = None
        self.layer_combo = QComboBox()
        self.layer_combo.setMinimumWidth(200)
        self.filter_spin = QSpinBox()
        self.filter_spin.setRange(0, 0)
        self.filter_spin.setToolTip("The filter (channel) of the layer")
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 64)
        self.k_spin.setValue(9)
        self.k_spin.setToolTip("How many images to show")
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(MODES)
        self.job = JobBar("Find examples")
        self.examples_button = self.job.compute_button
        self.examples_cancel_button = self.job.cancel_button
        self.examples_progress = self.job.progress
        self.data_label = QLabel("")
        self.data_label.setWordWrap(True)
        set_role(self.data_label, "hint")
        self.grid = ExamplesGrid()
        self.caption = QLabel("Pick a layer and a filter, then press Find examples: every image of the data set is "
                              "run through the model up to that layer.")
        self.caption.setWordWrap(True)
        set_role(self.caption, "hint")
        self._lay_out()
        self.job.compute_requested.connect(self.compute_requested.emit)
        self.job.cancelled.connect(lambda: self.caption.setText("Cancelled."))
        self.grid.tile_clicked.connect(self._on_tile)
        self.layer_combo.currentTextChanged.connect(self._on_layer)
        self.mode_combo.currentIndexChanged.connect(self._on_mode)
        self.filter_spin.valueChanged.connect(self._on_filter)

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        for text, w in (("Layer", self.layer_combo), ("Filter", self.filter_spin), ("k", self.k_spin)):
            bar.addWidget(QLabel(text))
            bar.addWidget(w)
        bar.addWidget(self.mode_combo)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.job)
        lay.addWidget(self.data_label)
        lay.addWidget(self.grid, 1)
        lay.addWidget(self.caption)

    # --- pickers --------------------------------------------------------------------------------
    def set_tf_ready(self, ready: bool) -> None:
        """Enable Find examples once TensorFlow is in."""
        self.job.set_tf_ready(ready)

    def set_layers(self, names: list[str]) -> None:
        """Offer these layers; keep the chosen one, else pick the last."""
        with self.filling():
            old = self.layer_combo.currentText()
            fill_combo(self.layer_combo, names, old if old in names else (names[-1] if names else None))
        if self.layer_combo.currentText():
            self.layer_chosen.emit(self.layer_combo.currentText())

    def set_filter_count(self, count: int | None) -> None:
        """The chosen layer has ``count`` filters (None: unknown)."""
        with self.filling():
            self.filter_spin.setRange(0, max(0, (count or 1) - 1))

    def set_data(self, text: str) -> None:
        """Say which data set is scanned."""
        self.data_label.setText(text)

    def all_filters(self) -> bool:
        """Whether the grid shows every filter's best image."""
        return self.mode_combo.currentIndex() == 1

    def request(self) -> ExamplesRequest:
        """What the user asks for now."""
        f = None if self.all_filters() else self.filter_spin.value()
        return ExamplesRequest(self.layer_combo.currentText(), f, self.k_spin.value())

    def watch(self, worker) -> None:  # noqa: ANN001 - a Worker
        """Show ``worker``'s progress; Cancel cancels it."""
        self.caption.setText("Looking through the data set…")
        self.job.watch(worker)

    # --- results --------------------------------------------------------------------------------
    def show_examples(self, result: dict) -> None:
        """Draw ``jobs.dataset_examples``'s result: one tile an example (or a filter)."""
        self.result = result
        tiles, layer, every = result["tiles"], result["layer"], result["filter"] is None
        made = []
        for t in tiles:
            y0, x0, y1, x1 = t["box"]
            where = f"rows {y0}–{y1 - 1}, columns {x0}–{x1 - 1}"
            if every:
                caption = f"filter {t['filter']}\n#{t['index']} · {t['activation']:.3g}"
                tip = f"filter {t['filter']}: image {t['index']}, activation {t['activation']:.4g}, receptive field {where}"
            else:
                caption = f"#{t['index']} · {t['activation']:.3g}"
                tip = f"image {t['index']}: activation {t['activation']:.4g}, receptive field {where}. Click to inspect it."
            made.append(ExampleTile(t["image"], t["box"], None if every else t["crop"], caption, tip))
        self.grid.set_tiles(made, side=72 if every else 112)
        h, w = result["map_shape"]
        n = result["images"]
        if every:
            shown = len(tiles)
            more = f" (the first {shown} of {result['filters']})" if shown < result["filters"] else ""
            self.caption.setText(
                f"{layer}: the image that excites each filter most{more}, out of {n} images; the red box is the "
                f"receptive field of the strongest position of its {h}x{w} map. Click an image to inspect it.")
        else:
            self.caption.setText(
                f"{layer}, filter {result['filter']}: the {len(tiles)} images of {n} that excite it most (its maximum "
                f"over the {h}x{w} map), best first. Red: the input region the strongest position sees; beside it "
                "that region cropped. Click an image to inspect it.")

    def shown(self) -> int:
        """How many examples are on screen."""
        return self.grid.count

    def _on_tile(self, position: int) -> None:
        if self.result is not None and 0 <= position < len(self.result["tiles"]):
            self.example_clicked.emit(self.result["tiles"][position]["index"], position)

    def _on_layer(self, name: str) -> None:
        if not self.filling and name:
            self.layer_chosen.emit(name)

    def _on_mode(self, _i: int) -> None:
        self.filter_spin.setEnabled(not self.all_filters())
        self.k_spin.setEnabled(not self.all_filters())

    def _on_filter(self, _v: int) -> None:
        # Another filter of the layer just scanned: the pass is cached, so show it at once. (A job still
        # finishing its thread after delivering must not swallow the request: a new one replaces it.)
        r = self.result
        if not self.filling and r is not None and r["filter"] is not None and r["layer"] == self.layer_combo.currentText():
            self.compute_requested.emit()
