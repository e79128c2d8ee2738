"""The Builder panel: builds its parts, wires their signals, and redraws them from the design."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QSplitter, QVBoxLayout, QWidget

from convexplorer.core.presets import preset
from convexplorer.core.spec import ModelSpec
from convexplorer.core.summary import Summary
from convexplorer.ui.panels.base import Panel, control_column
from convexplorer.ui.panels.builder.bases import BaseMeasurer
from convexplorer.ui.panels.builder.compile_settings import CompileSettings
from convexplorer.ui.panels.builder.design import SCREENSHOT_PRESET, BaseKey, Design, preset_message
from convexplorer.ui.panels.builder.design_bar import DesignBar
from convexplorer.ui.panels.builder.diagram_view import DiagramView
from convexplorer.ui.panels.builder.files import DesignFiles
from convexplorer.ui.panels.builder.input_settings import InputSettings
from convexplorer.ui.panels.builder.layer_form import LayerForm
from convexplorer.ui.panels.builder.layers_column import LayersColumn
from convexplorer.ui.panels.builder.summary_view import SummaryView
from convexplorer.ui.state import AppState
from convexplorer.ui.workers import Worker


class BuilderPanel(Panel):
    """Design a model by clicks; Keras-equal summary, diagram, presets, save/open/export."""

    title = "Builder"
    key = "builder"
    needs_tensorflow = False

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.design = Design(preset(SCREENSHOT_PRESET))
        self._updating = False  # True while the panel itself fills the widgets: their signals are not edits
        self.design_bar = DesignBar()
        self.layers_column = LayersColumn()
        self.layer_form = LayerForm()
        self.input_settings = InputSettings()
        self.compile_settings = CompileSettings()
        self.summary_view = SummaryView()
        self.diagram_view = DiagramView()
        self.files = DesignFiles(self.design, state, self.run_in_thread, self)
        self.bases = BaseMeasurer(self.run_in_thread, self)
        self._lay_out()
        self._expose_widgets()
        self._connect()
        self._load_spec(self.spec, message=f'Preset "{SCREENSHOT_PRESET}" loaded: edit it or pick another preset')
        state.dataset_changed.connect(self._on_dataset)
        if state.dataset is not None:
            self._on_dataset(state.dataset)

    # ------------------------------------------------------------------ parts
    def _lay_out(self) -> None:
        outer = QVBoxLayout(self.body)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(4)
        outer.addWidget(self.design_bar)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for part in (self.layers_column, self._settings_column(), self.summary_view):
            self.splitter.addWidget(part)
        for i, stretch in enumerate((0, 0, 1)):
            self.splitter.setStretchFactor(i, stretch)
        self.splitter.setSizes([235, 355, 690])
        self.vsplit = QSplitter(Qt.Orientation.Vertical)
        self.vsplit.addWidget(self.splitter)
        self.vsplit.addWidget(self.diagram_view)
        self.vsplit.setStretchFactor(0, 1)
        self.vsplit.setStretchFactor(1, 0)
        self.vsplit.setSizes([570, 170])
        outer.addWidget(self.vsplit, 1)

    def _settings_column(self) -> QScrollArea:
        inner = QWidget()
        v = QVBoxLayout(inner)
        v.setContentsMargins(0, 0, 4, 0)
        for part in (self.layer_form, self.input_settings, self.compile_settings):
            v.addWidget(part)
        v.addStretch(1)
        return control_column(inner, 280)

    def _expose_widgets(self) -> None:
        """The parts' widgets under the names that lessons, tests and the main window use."""
        bar = self.design_bar
        self.preset_combo = bar.preset_combo
        self.new_button, self.open_button, self.save_button = bar.new_button, bar.open_button, bar.save_button
        self.export_keras_button, self.export_script_button = bar.export_keras_button, bar.export_script_button
        self.busy_bar, self.message_label = bar.busy_bar, bar.message_label
        layers = self.layers_column
        self.palette_buttons, self.layer_list = layers.palette_buttons, layers.layer_list
        self.up_button, self.down_button = layers.up_button, layers.down_button
        self.duplicate_button, self.remove_button = layers.duplicate_button, layers.remove_button
        self.props_box, self.props_form = self.layer_form, self.layer_form.form
        inputs = self.input_settings
        self.follow_dataset_check, self.dataset_label = inputs.follow_dataset_check, inputs.dataset_label
        self.height_spin, self.width_spin, self.channels_spin, self.classes_spin = inputs.spins()
        comp = self.compile_settings
        self.optimizer_combo, self.lr_spin, self.momentum_spin = comp.optimizer_combo, comp.lr_spin, comp.momentum_spin
        self.labels_combo, self.loss_label, self.metric_checks = comp.labels_combo, comp.loss_label, comp.metric_checks
        view = self.summary_view
        self.summary_table, self.totals_label = view.summary_table, view.totals_label
        self.memory_label, self.problem_label = view.memory_label, view.problem_label
        self.diagram, self.diagram_scroll = self.diagram_view.diagram, self.diagram_view.diagram_scroll

    def _connect(self) -> None:
        bar, layers, files = self.design_bar, self.layers_column, self.files
        bar.preset_chosen.connect(self.load_preset)
        bar.new_button.clicked.connect(self.new_design)
        bar.open_button.clicked.connect(files.ask_open)
        bar.save_button.clicked.connect(files.ask_save)
        bar.export_keras_button.clicked.connect(files.ask_export_keras)
        bar.export_script_button.clicked.connect(files.ask_export_script)
        layers.add_requested.connect(self.add_layer)
        layers.move_requested.connect(lambda delta: self.move_layer(self.selected_index(), delta))
        layers.duplicate_requested.connect(lambda: self.duplicate_layer(self.selected_index()))
        layers.remove_requested.connect(lambda: self.remove_layer(self.selected_index()))
        layers.layer_list.currentRowChanged.connect(self._on_layer_selected)
        layers.layer_list.orderChanged.connect(self._on_order_changed)
        self.diagram_view.diagram.layerClicked.connect(self._on_diagram_clicked)
        self.layer_form.param_edited.connect(self._on_param_edited)
        self.layer_form.name_edited.connect(self._on_name_edited)
        self.input_settings.follow_dataset_check.toggled.connect(self._on_follow_toggled)
        self.input_settings.edited.connect(self._on_input_changed)
        self.compile_settings.edited.connect(self._on_compile_changed)
        files.opened.connect(self._load_spec)
        files.info.connect(self._show_info)
        files.error.connect(self._show_error)
        files.busy.connect(self._busy)
        self.bases.measured.connect(self._base_measured)
        self.bases.failed.connect(lambda key, message: self._show_error(f"{key[0]} could not be measured: {message}"))
        self.bases.busy.connect(self._busy)

    # ------------------------------------------------------------------ the design (kept in self.design)
    @property
    def spec(self) -> ModelSpec:
        """The design being edited (edit it through the panel so that every part follows)."""
        return self.design.spec

    @spec.setter
    def spec(self, spec: ModelSpec) -> None:
        self.design.spec = spec

    @property
    def summary(self) -> Summary:
        """The summary of the current design."""
        return self.design.summary

    @property
    def last_valid(self) -> Summary:
        """The summary of the last valid design (its totals stay on screen while the design is invalid)."""
        return self.design.last_valid

    @property
    def current_path(self) -> Path | None:
        """The file the design was last opened from or saved to."""
        return self.design.current_path

    @current_path.setter
    def current_path(self, path: Path | None) -> None:
        self.design.current_path = path

    @property
    def confirm_unsafe(self) -> Callable[[str], bool]:
        """Asked before opening a model with safe mode off; replace in tests."""
        return self.files.confirm_unsafe

    @confirm_unsafe.setter
    def confirm_unsafe(self, ask: Callable[[str], bool]) -> None:
        self.files.confirm_unsafe = ask

    @property
    def _editors(self) -> dict[str, Any]:
        """The property form's editors, by parameter name."""
        return self.layer_form.editors

    # ------------------------------------------------------------------ public API
    def selected_index(self) -> int:
        """Index of the selected layer (-1 if none)."""
        return self.layers_column.selected_index()

    def set_spec(self, spec: ModelSpec, message: str = "") -> None:
        """Replace the design (a copy of ``spec`` is kept)."""
        self._load_spec(spec.copy(), message)

    def load_preset(self, name: str) -> None:
        """Load a textbook preset by name (adapted to the data set when following it)."""
        self._load_spec(preset(name))
        self._show_info(preset_message(name, self.spec, self.summary))

    def new_design(self) -> None:
        """Start an empty design with the current input shape and classes."""
        spec = ModelSpec("my_model", self.spec.input_shape, self.spec.num_classes, [], self.spec.compile)
        self._load_spec(spec, message="New design: add layers from the palette")

    def add_layer(self, kind: str, index: int | None = None) -> None:
        """Insert a layer of ``kind`` after the selected one (or at ``index``)."""
        if index is None:
            sel = self.selected_index()
            index = sel + 1 if sel >= 0 else len(self.spec.layers)
        self._changed(select=self.design.insert_layer(kind, index))

    def remove_layer(self, index: int) -> None:
        """Remove the layer at ``index``."""
        self._changed_if(self.design.remove_layer(index))

    def duplicate_layer(self, index: int) -> None:
        """Insert a copy of the layer at ``index`` right after it (without its custom name)."""
        self._changed_if(self.design.duplicate_layer(index))

    def move_layer(self, index: int, delta: int) -> None:
        """Move the layer at ``index`` up (-1) or down (+1)."""
        self._changed_if(self.design.move_layer(index, delta))

    def set_layer_param(self, index: int, name: str, value: Any) -> None:
        """Set one parameter of a layer (as the form does)."""
        layer = self.design.set_param(index, name, value)
        self._changed(select=index, rebuild_form=(layer.kind == "Pretrained"))

    def save_design(self, path: str | Path) -> None:
        """Save the design as JSON (atomic write)."""
        self.files.save_design(path)

    def open_path(self, path: Path) -> bool:
        """Open a .json design or a .keras/.h5 model (the model also goes to Inspect)."""
        return self.files.open_path(path)

    def export_keras(self, path: str | Path) -> Worker | None:
        """Build the model with Keras and save it as .keras on a worker; returns the worker."""
        return self.files.export_keras(path)

    def export_script(self, path: str | Path) -> Worker | None:
        """Write the runnable training script on a worker; returns the worker."""
        return self.files.export_script(path)

    def show_invalid_example(self) -> None:
        """The MNIST convnet with a 7x7 third conv on its 5x5 map: an invalid row (tests, screenshots)."""
        self.load_preset(SCREENSHOT_PRESET)
        self.set_layer_param(4, "kernel_size", [7, 7])
        self.layers_column.select(4)

    # ------------------------------------------------------------------ redraw
    def _load_spec(self, spec: ModelSpec, message: str = "") -> None:
        follow = self.input_settings.follows_dataset() and self.state.dataset is not None
        self.design.spec = spec
        if follow:
            self.design.apply_dataset(self.state.dataset)
        self._sync_inputs()
        self._changed(select=0 if spec.layers else None)
        if message:
            self._show_info(message)

    def _sync_inputs(self) -> None:
        self._updating = True
        try:
            self.input_settings.show_input(self.spec.input_shape, self.spec.num_classes)
            self.compile_settings.show_settings(self.spec.compile)
            self._update_enabled()
        finally:
            self._updating = False

    def _update_enabled(self) -> None:
        self.input_settings.set_following(self.input_settings.follows_dataset() and self.state.dataset is not None)
        self.compile_settings.refresh(self.spec.compile.loss)

    def _changed_if(self, select: int | None) -> None:
        """Redraw after an edit that returned the row to select (None: nothing changed)."""
        if select is not None:
            self._changed(select=select)

    def _changed(self, select: int | None = None, rebuild_form: bool = True) -> None:
        """Recompute the summary and redraw everything; publish the design."""
        summary = self.design.recompute()
        current = self.selected_index() if select is None else select
        self.layers_column.show_layers(self.spec.layers, self.spec.layer_names(), self.design.error_index())
        self.summary_view.show_summary(summary, self.design.last_valid)
        self.diagram_view.show_summary(summary, [layer.kind for layer in self.spec.layers], current)
        self._updating = True
        try:
            if current is not None and 0 <= current < len(self.spec.layers):
                self.layers_column.select(current)
        finally:
            self._updating = False
        if rebuild_form or current != self.layer_form.index:
            self.layer_form.show_layer(self.spec, current if current is not None else -1)
        self.layers_column.update_buttons(len(self.spec.layers))
        self.state.set_spec(self.spec.copy())
        self.bases.measure(self.design.bases_to_measure())

    # ------------------------------------------------------------------ slots
    def _on_param_edited(self, index: int, name: str, value: Any) -> None:
        if self._updating or not (0 <= index < len(self.spec.layers)):
            return
        layer = self.spec.layers[index]
        layer.params[name] = value
        if layer.kind == "Pretrained" and name in ("application", "trainable"):
            self.set_layer_param(index, name, value)  # also fixes fine_tune_from and rebuilds the form
            return
        self._changed(select=index, rebuild_form=False)
        self.layer_form.update_enabled(layer)

    def _on_name_edited(self, index: int, text: str) -> None:
        if self.design.rename_layer(index, text):
            self._changed(select=index, rebuild_form=False)

    def _on_layer_selected(self, row: int) -> None:
        if self._updating:
            return
        self.layer_form.show_layer(self.spec, row)
        self.diagram_view.select_layer(row)
        self.summary_view.select_layer(row)
        self.layers_column.update_buttons(len(self.spec.layers))

    def _on_diagram_clicked(self, index: int) -> None:
        if index >= 0:
            self.layers_column.select(index)

    def _on_order_changed(self, order: list) -> None:
        self._changed_if(self.design.reorder(order, self.selected_index()))

    def _on_input_changed(self) -> None:
        if self._updating:
            return
        self.spec.input_shape = self.input_settings.input_shape()
        self.spec.num_classes = self.input_settings.classes()
        self._changed(rebuild_form=False)

    def _on_compile_changed(self) -> None:
        if self._updating:
            return
        self.compile_settings.read_into(self.spec.compile)
        self._update_enabled()
        self._changed(rebuild_form=False)

    def _on_follow_toggled(self, checked: bool) -> None:
        if checked and self.state.dataset is not None:
            self.design.apply_dataset(self.state.dataset)
            self._sync_inputs()
            self._changed(rebuild_form=False)
        self._update_enabled()

    def _on_dataset(self, dataset: Any) -> None:
        self.input_settings.show_dataset(dataset)
        if dataset is not None and self.input_settings.follows_dataset():
            self.design.apply_dataset(dataset)
            self._sync_inputs()
            self._changed(rebuild_form=False)
        self._update_enabled()

    def _base_measured(self, key: BaseKey) -> None:
        self.design.fill_fine_tune_from()
        self._changed(rebuild_form=True)
        self._show_info(f"{key[0]} measured: its shapes and parameters are in the summary")

    # ------------------------------------------------------------------ messages
    def _busy(self, on: bool, message: str = "") -> None:
        self.design_bar.set_busy(on)
        if on and message:
            self._show_info(message)

    def _show_info(self, text: str) -> None:
        self.design_bar.show_info(text)
        self.state.status.emit(text)

    def _show_error(self, text: str) -> None:
        self.design_bar.show_error(text)
