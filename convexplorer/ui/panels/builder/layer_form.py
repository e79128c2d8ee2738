"""The selected layer's properties: its name and one editor per parameter, rebuilt on each selection."""

from __future__ import annotations

import textwrap
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from convexplorer.core.spec import LAYER_KINDS, LayerSpec, ModelSpec
from convexplorer.ui.panels.builder.editors import make_editor
from convexplorer.ui.style import set_role


class LayerForm(QGroupBox):
    """The form of one layer's properties; reports each edit, never changes the design itself."""

    #: A parameter was edited: (layer index, parameter name, new value).
    param_edited = Signal(int, str, object)
    #: The layer's name was edited: (layer index, text).
    name_edited = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Layer properties", parent)
        self.form = QFormLayout(self)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        #: The editors of the layer shown, by parameter name ("name" for its name).
        self.editors: dict[str, Any] = {}
        #: The index of the layer shown (-1: none).
        self.index = -1

    def clear(self) -> None:
        """Remove every row (deleted later, so that an editor may clear the form from its own signal)."""
        # takeRow + deleteLater, never removeRow: choosing another base rebuilds the form from
        # inside that combo box's own signal, and deleting the combo there crashed Qt.
        while self.form.rowCount():
            row = self.form.takeRow(0)
            for item in (row.labelItem, row.fieldItem):
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.hide()
                    widget.deleteLater()
        self.editors = {}

    def show_layer(self, spec: ModelSpec, index: int) -> None:
        """Show the editors of layer ``index`` of ``spec`` (a hint when there is none)."""
        self.clear()
        self.index = index
        if not (0 <= index < len(spec.layers)):
            self.setTitle("Layer properties")
            hint = QLabel("Select a layer to edit it, or add one from the palette.")
            hint.setWordWrap(True)
            self.form.addRow(hint)
            return
        layer = spec.layers[index]
        kind = LAYER_KINDS[layer.kind]
        self.setTitle(f"Layer {index + 1}: {layer.kind}")
        # wrapped by hand: a word-wrapped label in a scrolling column is given one line's height and clipped
        desc = QLabel(textwrap.fill(kind.description, 46))
        set_role(desc, "hint")
        self.form.addRow(desc)
        if layer.kind != "Pretrained":
            self._add_name_row(index, layer.name, spec.layer_names()[index])
        for p in kind.params:
            editor = make_editor(layer, p, lambda v, i=index, n=p.name: self.param_edited.emit(i, n, v))
            self.editors[p.name] = editor
            label = QLabel(p.label or p.name)
            if p.help:
                label.setToolTip(p.help)
                editor.setToolTip(p.help)
            self.form.addRow(label, editor)
        self.update_enabled(layer)

    def _add_name_row(self, index: int, name: str, automatic: str) -> None:
        name_edit = QLineEdit(name)
        name_edit.setPlaceholderText(automatic)
        name_edit.setToolTip("Layer name (empty: automatic, as Keras numbers them)")
        name_edit.editingFinished.connect(lambda: self.name_edited.emit(index, name_edit.text()))
        self.editors["name"] = name_edit
        self.form.addRow("Name", name_edit)

    def update_enabled(self, layer: LayerSpec) -> None:
        """Enable only the editors that matter for the layer's current settings."""
        if layer.kind == "Pretrained" and "fine_tune_from" in self.editors:
            self.editors["fine_tune_from"].setEnabled(layer.get("trainable") == "fine_tune")
        if layer.kind == "Dense" and "units" in self.editors:
            self.editors["units"].setEnabled(not layer.get("units_from_classes"))
