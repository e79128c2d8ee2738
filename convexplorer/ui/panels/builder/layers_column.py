"""The left column: a palette of layer kinds and blocks, and the layer list with its Up/Down/Duplicate/Remove buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QSizePolicy,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.blocks import BLOCKS
from convexplorer.core.spec import LAYER_KINDS, LayerSpec
from convexplorer.ui.panels.builder.palette_button import PaletteButton
from convexplorer.ui.widgets.layer_table import LayerList

_SHORT = (("GlobalAveragePooling2D", "GlobalAvgPool"), ("GlobalMaxPooling2D", "GlobalMaxPool"), ("Pooling2D", "Pool2D"),
          ("Normalization", "Norm"), ("SeparableConv2D", "SeparableConv"), ("DepthwiseConv2D", "DepthwiseConv"),
          ("Conv2DTranspose", "ConvTranspose"), ("RandomTranslation", "RandomShift"), ("RandomContrast", "RandContrast"),
          ("RandomRotation", "RandomRotate"), ("ZeroPadding2D", "ZeroPadding"), ("UpSampling2D", "UpSampling"))


def short_name(kind: str) -> str:
    """A layer kind short enough for a palette button (the tooltip names it in full)."""
    for long, short in _SHORT:
        kind = kind.replace(long, short)
    return kind


class LayersColumn(QWidget):
    """Palette and layer list; asks for edits by signals and shows the layers it is given."""

    #: A palette button was clicked: the layer kind to add after the selected layer.
    add_requested = Signal(str)
    #: A block button was clicked: the block (a name of ``BLOCKS``) to insert after the selected layer.
    block_requested = Signal(str)
    #: Move the selected layer by this many rows (-1 up, +1 down).
    move_requested = Signal(int)
    #: Insert a copy of the selected layer after it.
    duplicate_requested = Signal()
    #: Remove the selected layer.
    remove_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 4, 0)
        v.addWidget(self._build_palette())
        layers_box = QGroupBox("Layers, in order")
        lv = QVBoxLayout(layers_box)
        lv.setContentsMargins(4, 4, 4, 4)
        self.layer_list = LayerList()
        lv.addWidget(self.layer_list, 1)
        row = QHBoxLayout()
        self.up_button = self._button(row, "Up", "Move the selected layer up (Alt+Up)")
        self.down_button = self._button(row, "Down", "Move the selected layer down (Alt+Down)")
        self.duplicate_button = self._button(row, "Duplicate", "Insert a copy of the selected layer after it (Ctrl+D)")
        self.remove_button = self._button(row, "Remove", "Remove the selected layer (Delete)")
        lv.addLayout(row)
        v.addWidget(layers_box, 1)
        self.up_button.clicked.connect(lambda: self.move_requested.emit(-1))
        self.down_button.clicked.connect(lambda: self.move_requested.emit(+1))
        self.duplicate_button.clicked.connect(self.duplicate_requested)
        self.remove_button.clicked.connect(self.remove_requested)
        self._add_shortcuts()

    def _build_palette(self) -> QTabWidget:
        self.palette_tabs = QTabWidget()
        self.palette_tabs.setDocumentMode(True)
        layers_page, grid = self._grid_page()
        self.palette_buttons: dict[str, QToolButton] = {}
        offered = [(kind, info) for kind, info in LAYER_KINDS.items() if info.editable]
        for i, (kind, info) in enumerate(offered):
            b = PaletteButton(kind)
            b.setText(short_name(kind))
            b.setToolTip(f"{kind} ({info.group}): {info.description}\nClick: add it after the selected layer. "
                         "Drag it onto the graph to place it unconnected.")
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.clicked.connect(lambda _=False, k=kind: self.add_requested.emit(k))
            self.palette_buttons[kind] = b
            grid.addWidget(b, i // 2, i % 2)
        self.palette_tabs.addTab(layers_page, "Add a layer")
        blocks_page, bgrid = self._grid_page()
        self.block_buttons: dict[str, QToolButton] = {}
        for i, (name, block) in enumerate(BLOCKS.items()):
            b = QToolButton()
            b.setText(name)
            source = f" ({block.reference})" if block.reference else ""
            b.setToolTip(f"{name}: {block.description}{source}\nClick: insert it after the selected layer, as real "
                         "layers you can edit (grouped: collapse the group to see it as one box).")
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.clicked.connect(lambda _=False, n=name: self.block_requested.emit(n))
            self.block_buttons[name] = b
            bgrid.addWidget(b, i, 0)
        bgrid.setRowStretch(len(BLOCKS), 1)
        self.palette_tabs.addTab(blocks_page, "Add a block")
        self.palette_tabs.setToolTip("Added after the selected layer (and wired to it)")
        return self.palette_tabs

    @staticmethod
    def _grid_page() -> tuple[QWidget, QGridLayout]:
        page = QWidget()
        grid = QGridLayout(page)
        grid.setContentsMargins(2, 4, 2, 2)
        grid.setSpacing(2)
        return page, grid

    @staticmethod
    def _button(row: QHBoxLayout, text: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        row.addWidget(b)
        return b

    def _add_shortcuts(self) -> None:
        for keys, signal, args in (
            (QKeySequence.StandardKey.Delete, self.remove_requested, ()),
            ("Ctrl+D", self.duplicate_requested, ()),
            ("Alt+Up", self.move_requested, (-1,)),
            ("Alt+Down", self.move_requested, (+1,)),
        ):
            shortcut = QShortcut(QKeySequence(keys), self.layer_list)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda s=signal, a=args: s.emit(*a))

    def selected_index(self) -> int:
        """Index of the selected layer (-1 if none)."""
        return self.layer_list.currentRow()

    def select(self, index: int) -> None:
        """Select the layer at ``index`` (as a click would)."""
        self.layer_list.setCurrentRow(index)

    def show_layers(self, layers: list[LayerSpec], names: list[str], error_index: int | None) -> None:
        """Show the design's layers (with their Keras names), ``error_index`` in red."""
        self.layer_list.set_layers(layers, names, error_index, None)
        self.layer_list.reset()  # set_layers fills the model with its signals blocked: the view re-reads every row

    def update_buttons(self, count: int, stack: bool = True, editable: bool = True) -> None:
        """Enable the buttons that can act on the selected layer of ``count`` (Up/Down only reorder a stack)."""
        i = self.selected_index()
        self.up_button.setEnabled(editable and stack and i > 0)
        self.down_button.setEnabled(editable and stack and 0 <= i < count - 1)
        self.duplicate_button.setEnabled(editable and 0 <= i < count)
        self.remove_button.setEnabled(editable and 0 <= i < count)
        tip = "" if stack else " (a graph's order follows its connections: rewire it on the graph)"
        self.up_button.setToolTip("Move the selected layer up (Alt+Up)" + tip)
        self.down_button.setToolTip("Move the selected layer down (Alt+Down)" + tip)
        self.layer_list.setDragEnabled(editable and stack)
        self.palette_tabs.setEnabled(editable)
