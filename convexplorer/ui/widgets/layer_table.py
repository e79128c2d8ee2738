"""The builder's two lists: the editable layer list and the Keras-style summary table.

:class:`LayerList` shows one line per layer of a design ("3  Conv2D  64 3x3 relu"),
reorders by drag and drop and reports the new order; :class:`SummaryTable`
draws a :class:`~convexplorer.core.summary.Summary` like ``model.summary()``
(layer, output shape, parameters, trainable, non-trainable) with invalid rows
in red and their reason.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QListWidget, QListWidgetItem, QTableWidget, QTableWidgetItem

from convexplorer.core.spec import LayerSpec, normalize_pair
from convexplorer.core.summary import Summary

ERROR_BG = QColor("#fde2e1")
PENDING_BG = QColor("#fff4ce")
ERROR_FG = QColor("#a40e0e")
PENDING_FG = QColor("#8a8a8a")


def _pair_text(value: Any) -> str:
    p = normalize_pair(value)
    return f"{p[0]}x{p[1]}" if p else "?"


def layer_caption(layer: LayerSpec) -> str:
    """A short description of a layer's main settings ("32 3x3 relu")."""
    g = layer.get
    k = layer.kind
    if k in ("Conv2D", "SeparableConv2D"):
        extra = f" /{_pair_text(g('strides'))}" if normalize_pair(g("strides")) != (1, 1) else ""
        pad = " same" if g("padding") == "same" else ""
        return f"{g('filters')} {_pair_text(g('kernel_size'))}{extra}{pad} {g('activation')}"
    if k in ("MaxPooling2D", "AveragePooling2D"):
        return _pair_text(g("pool_size"))
    if k == "Dense":
        units = "classes" if g("units_from_classes") else str(g("units"))
        return f"{units} {g('activation')}"
    if k == "Dropout":
        return f"{g('rate'):g}"
    if k == "Activation":
        return str(g("activation"))
    if k == "Rescaling":
        return f"x{g('scale'):.4g} {g('offset'):+g}" if g("offset") else f"x{g('scale'):.4g}"
    if k == "ResidualBlock":
        return f"{g('filters')}{' + pool' if g('pooling') else ''}"
    if k == "Pretrained":
        mode = g("trainable")
        mode = f"fine-tune from {g('fine_tune_from')}" if mode == "fine_tune" else mode
        return f"{g('application')} ({mode})"
    if k == "RandomFlip":
        return str(g("mode"))
    for key in ("factor", "height_factor"):
        if key in layer.params:
            return f"{g(key):g}"
    return ""


class LayerList(QListWidget):
    """The design's layers, one per line; drag to reorder."""

    #: The rows were reordered by drag and drop: the new order as old indices.
    orderChanged = Signal(list)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.model().rowsMoved.connect(self._rows_moved)
        self._error_row: int | None = None

    def set_layers(self, layers: list[LayerSpec], names: list[str], error_index: int | None = None,
                   select: int | None = None) -> None:
        """Show ``layers`` (with their Keras names); mark ``error_index`` red; select a row."""
        blocked = self.blockSignals(True)
        self.model().blockSignals(True)
        try:
            self.clear()
            for i, (layer, name) in enumerate(zip(layers, names)):
                item = QListWidgetItem(f"{i + 1:>2}  {layer.kind}  {layer_caption(layer)}")
                item.setData(Qt.ItemDataRole.UserRole, i)
                item.setToolTip(f"{name} ({layer.kind})")
                if i == error_index:
                    item.setBackground(QBrush(ERROR_BG))
                    item.setForeground(QBrush(ERROR_FG))
                self.addItem(item)
        finally:
            self.model().blockSignals(False)
            self.blockSignals(blocked)
        if select is not None and 0 <= select < self.count():
            self.setCurrentRow(select)

    def _rows_moved(self, *args: Any) -> None:
        order = [self.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.count())]
        if order != sorted(order):
            self.orderChanged.emit(order)

    def move_row(self, source: int, target: int) -> None:
        """Move a row programmatically, as a drag would (emits ``orderChanged``)."""
        n = self.count()
        if not (0 <= source < n and 0 <= target < n) or source == target:
            return
        order = list(range(n))
        order.insert(target, order.pop(source))
        self.orderChanged.emit(order)


class SummaryTable(QTableWidget):
    """A ``model.summary()``-like table; invalid rows red with the reason."""

    HEADERS = ("Layer (type)", "Output shape", "Param #", "Trainable", "Non-trainable")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(list(self.HEADERS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # sized once per summary (ResizeToContents would re-measure every row at every cell change)
        for col in range(1, len(self.HEADERS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        self._mono = QFont("monospace")
        self._mono.setStyleHint(QFont.StyleHint.Monospace)
        self.summary: Summary | None = None

    def set_summary(self, summary: Summary) -> None:
        """Show every row of ``summary``; the offending row gets the reason in place of numbers."""
        self.summary = summary
        self.setUpdatesEnabled(False)
        try:
            self.clearSpans()
            self.setRowCount(len(summary.rows))
            for r, row in enumerate(summary.rows):
                known = row.output_shape is not None
                cells = [
                    f"{row.name} ({row.kind})",
                    "" if row.error else row.shape_text,  # the reason is written after sizing the column
                    f"{row.params:,}" if known else "",
                    f"{row.trainable:,}" if known else "",
                    f"{row.non_trainable:,}" if known else "",
                ]
                if row.pending:
                    fg, bg, tip = QColor("#5c4400"), PENDING_BG, row.error
                elif row.error:
                    fg, bg, tip = ERROR_FG, ERROR_BG, row.error
                elif not known:
                    fg, bg, tip = PENDING_FG, None, "not computed: an earlier layer is invalid"
                else:
                    fg, bg, tip = None, None, ""
                for c, text in enumerate(cells):
                    item = self.item(r, c)
                    if item is None:
                        item = QTableWidgetItem()
                        if c >= 2:
                            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                        if c == 1:
                            item.setFont(self._mono)
                        self.setItem(r, c, item)
                    item.setText(text)
                    item.setForeground(QBrush(fg) if fg is not None else QBrush())
                    item.setBackground(QBrush(bg) if bg is not None else QBrush())
                    item.setToolTip(tip or (text if c == 0 else ""))
            for c in range(1, len(self.HEADERS)):
                self.resizeColumnToContents(c)
            for r, row in enumerate(summary.rows):
                if row.error:
                    self.setSpan(r, 1, 1, len(self.HEADERS) - 1)
                    self.item(r, 1).setText(("⏳ " if row.pending else "✖ ") + row.error)
        finally:
            self.setUpdatesEnabled(True)

    def error_rows(self) -> list[int]:
        """Rows shown as invalid."""
        if self.summary is None:
            return []
        return [i for i, row in enumerate(self.summary.rows) if row.error and not row.pending]

    def row_for_layer(self, layer_index: int) -> int | None:
        """The first table row of a design layer."""
        if self.summary is None:
            return None
        for i, row in enumerate(self.summary.rows):
            if row.layer_index == layer_index:
                return i
        return None
