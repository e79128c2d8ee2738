"""KernelGrid: an editable grid of kernel weights, 1x1 to 11x11, any shape.

Each cell shows its weight (tinted blue for negative, red for positive;
long decimals are shortened on screen, the exact value is in the tooltip and
is what the kernel uses); typing a value updates the kernel at once. A cell that is empty or not a
number (``"abc"``, ``"1/0"``) turns red with the reason in its tooltip and in
the message line under the grid, and the last good kernel stays in use::

    grid = KernelGrid()
    grid.set_kernel(np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]]))
    grid.kernel_changed.connect(lambda k: ...)   # float32 kh x kw, only when every cell is valid
    grid.invalid.connect(lambda message: ...)    # names the bad cells
    grid.set_size(5, 5)                          # keeps the old weights centred, new cells 0
    grid.kernel()                                # the current kernel, or None while a cell is bad
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.errors import ShapeError
from convexplorer.core.kernels import MAX_KERNEL_SIZE, format_cell, parse_cell, parse_kernel
from convexplorer.ui.style import set_role

BAD_CELL_COLOUR = QColor("#ff8a80")
#: Cell widths: wide for small kernels, narrow enough for 11 columns in ~340 px.
CELL_PX_MIN, CELL_PX_MAX, GRID_PX = 30, 46, 332


def compact(value: float) -> str:
    """Short text for a weight in a narrow cell: '2', '-0.5', '.012', '-.0031', '1.2e-05'."""
    v = float(value)
    if v == int(v) and abs(v) < 1e5:
        return str(int(v))
    a = abs(v)
    if a >= 100:
        text = f"{v:.0f}"
    elif a >= 1:
        text = f"{v:.3g}"
    elif a >= 0.001:
        text = f"{v:.2g}" if a < 0.1 else f"{v:.2f}".rstrip("0")
        text = text.replace("0.", ".", 1) if len(text) > 4 else text
    else:
        text = "≈0"  # the exact value is in the tooltip
    return text


def _tint(value: float, scale: float) -> QColor:
    """White for 0, blue for negative, red for positive weights."""
    if scale <= 0:
        return QColor("white")
    f = max(-1.0, min(1.0, value / scale))
    if f >= 0:
        return QColor(255, int(255 - 120 * f), int(255 - 120 * f))
    return QColor(int(255 + 120 * f), int(255 + 80 * f), 255)


class KernelGrid(QWidget):
    """Editable kernel weights with size spin boxes and a message line for bad cells."""

    #: The new kernel (float32 kh x kw) whenever every cell holds a number.
    kernel_changed = Signal(object)
    #: A message naming the bad cells, whenever an edit leaves one.
    invalid = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        self._last_good = np.zeros((3, 3), np.float32)
        self._values = np.zeros((3, 3), np.float64)  # exact weights; cell texts may be shortened
        self._error = ""

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        size_row = QHBoxLayout()
        size_row.addWidget(QLabel("Size"))
        self.rows_spin = QSpinBox()
        self.rows_spin.setRange(1, MAX_KERNEL_SIZE)
        self.rows_spin.setToolTip("kernel height (rows)")
        self.cols_spin = QSpinBox()
        self.cols_spin.setRange(1, MAX_KERNEL_SIZE)
        self.cols_spin.setToolTip("kernel width (columns)")
        size_row.addWidget(self.rows_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.cols_spin)
        size_row.addStretch(1)
        self.sum_label = QLabel("")
        set_role(self.sum_label, "hint")
        size_row.addWidget(self.sum_label)
        layout.addLayout(size_row)

        self.table = QTableWidget(3, 3)
        self.table.horizontalHeader().setVisible(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.horizontalHeader().setDefaultSectionSize(CELL_PX_MIN)
        self.table.verticalHeader().setDefaultSectionSize(CELL_PX_MIN - 6)
        self.table.horizontalHeader().setMinimumSectionSize(10)
        self.table.verticalHeader().setMinimumSectionSize(10)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.setStyleSheet("QTableWidget { gridline-color:#bbb; font-size:8pt; }")
        layout.addWidget(self.table, 0, Qt.AlignmentFlag.AlignLeft)

        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        set_role(self.message_label, "error")
        self.message_label.setVisible(False)
        layout.addWidget(self.message_label)

        self.table.itemChanged.connect(self._on_item_changed)
        self.rows_spin.valueChanged.connect(self._on_size_spin)
        self.cols_spin.valueChanged.connect(self._on_size_spin)
        self.set_kernel(self._last_good, emit=False)

    # --- public API ----------------------------------------------------------------
    def set_kernel(self, kernel: np.ndarray, emit: bool = True) -> None:
        """Show ``kernel`` (2-D, at most 11x11); emits ``kernel_changed`` once if ``emit``."""
        k = np.asarray(kernel, dtype=np.float32)
        if k.ndim != 2 or not (1 <= k.shape[0] <= MAX_KERNEL_SIZE and 1 <= k.shape[1] <= MAX_KERNEL_SIZE):
            raise ShapeError(f"the kernel grid shows 1x1 to {MAX_KERNEL_SIZE}x{MAX_KERNEL_SIZE} kernels, got shape {k.shape}")
        self._values = k.astype(np.float64)
        self._fill([[compact(v) for v in row] for row in k])
        self._validate(emit=emit)

    def kernel(self) -> np.ndarray | None:
        """The kernel in the grid, or None while a cell is bad."""
        return None if self._error else self._last_good.copy()

    def last_good_kernel(self) -> np.ndarray:
        """The last kernel whose cells were all numbers."""
        return self._last_good.copy()

    def is_valid(self) -> bool:
        """True when every cell holds a number."""
        return not self._error

    def error_text(self) -> str:
        """The message about bad cells ('' when all are good)."""
        return self._error

    def set_size(self, rows: int, cols: int) -> None:
        """Resize to ``rows x cols`` (clamped to 1..11), keeping the old weights centred."""
        rows = max(1, min(MAX_KERNEL_SIZE, int(rows)))
        cols = max(1, min(MAX_KERNEL_SIZE, int(cols)))
        old = self.texts()
        oh, ow = len(old), len(old[0]) if old else 0
        new = [["0"] * cols for _ in range(rows)]
        values = np.zeros((rows, cols), np.float64)
        dy, dx = (rows - oh) // 2, (cols - ow) // 2
        for i in range(oh):
            for j in range(ow):
                ni, nj = i + dy, j + dx
                if 0 <= ni < rows and 0 <= nj < cols:
                    new[ni][nj] = old[i][j]
                    values[ni, nj] = self._values[i, j]
        self._values = values
        self._fill(new)
        self._validate(emit=True)

    def set_cell(self, row: int, col: int, text: str) -> None:
        """Type ``text`` into a cell, as a user would (validates and emits)."""
        self.table.item(row, col).setText(text)

    def texts(self) -> list[list[str]]:
        """The cell texts, row by row."""
        return [
            [self.table.item(i, j).text() if self.table.item(i, j) else "" for j in range(self.table.columnCount())]
            for i in range(self.table.rowCount())
        ]

    # --- internals -----------------------------------------------------------------
    def _fill(self, texts: list[list[str]]) -> None:
        self._updating = True
        try:
            rows, cols = len(texts), len(texts[0])
            self.rows_spin.blockSignals(True)
            self.cols_spin.blockSignals(True)
            self.rows_spin.setValue(rows)
            self.cols_spin.setValue(cols)
            self.rows_spin.blockSignals(False)
            self.cols_spin.blockSignals(False)
            self.table.setRowCount(rows)
            self.table.setColumnCount(cols)
            for i in range(rows):
                for j in range(cols):
                    item = self.table.item(i, j)
                    if item is None:
                        item = QTableWidgetItem()
                        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                        self.table.setItem(i, j, item)
                    item.setText(texts[i][j])
            cell = max(CELL_PX_MIN, min(CELL_PX_MAX, GRID_PX // cols))
            self.table.setStyleSheet(
                f"QTableWidget {{ gridline-color:#bbb; font-size:{7 if cols > 7 else 8}pt; }}"
                " QTableWidget::item { padding:0px; }"
            )
            self.table.horizontalHeader().setDefaultSectionSize(cell)
            for j in range(cols):
                self.table.setColumnWidth(j, cell)
            w = cols * cell + 2 * self.table.frameWidth()
            h = rows * self.table.verticalHeader().defaultSectionSize() + 2 * self.table.frameWidth()
            self.table.setFixedSize(w, h)
        finally:
            self._updating = False

    def _validate(self, emit: bool) -> None:
        texts = self.texts()
        bad = np.zeros((len(texts), len(texts[0])), bool)
        self._updating = True
        try:
            for i, row in enumerate(texts):
                for j, t in enumerate(row):
                    try:
                        parse_cell(t)
                    except ValueError as exc:
                        bad[i, j] = True
                        item = self.table.item(i, j)
                        item.setBackground(QBrush(BAD_CELL_COLOUR))
                        item.setToolTip(f"not used: {exc}" if t.strip() else "not used: empty cell")
            values = self._values
            scale = float(np.max(np.abs(values[~bad]))) if np.any(~bad) else 0.0
            for i in range(values.shape[0]):
                for j in range(values.shape[1]):
                    if not bad[i, j]:
                        item = self.table.item(i, j)
                        item.setBackground(QBrush(_tint(values[i, j], scale)))
                        item.setToolTip(f"row {i + 1}, column {j + 1}: {values[i, j]:.6g}")
        finally:
            self._updating = False
        try:
            parse_kernel(texts)  # names every bad cell
        except ShapeError as exc:
            self._error = str(exc)
            self.message_label.setText(self._error)
            self.message_label.setVisible(True)
            self.sum_label.setText("")
            if emit:
                self.invalid.emit(self._error)
            return
        kernel = self._values.astype(np.float32)
        self._error = ""
        self.message_label.setVisible(False)
        self._last_good = kernel
        self.sum_label.setText(f"sum {format_cell(round(float(kernel.sum()), 4))}")
        if emit:
            self.kernel_changed.emit(kernel.copy())

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._updating:
            return
        try:
            self._values[item.row(), item.column()] = parse_cell(item.text())
        except ValueError:
            pass  # flagged by _validate; the cell's old value is not used while it is bad
        self._validate(emit=True)

    def _on_size_spin(self, _value: int) -> None:
        self.set_size(self.rows_spin.value(), self.cols_spin.value())
