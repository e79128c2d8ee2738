"""The Builder panel: builds its parts, wires their signals, and redraws them from the design.

Every edit, from the canvas or from the other parts, goes through the canvas's
QUndoStack (the parts' edits as :class:`~convexplorer.ui.panels.builder.edits.DesignEdit`);
the canvas's ``spec_changed`` then recomputes the summary and redraws every part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from convexplorer.core.blocks import refit_detection_heads
from convexplorer.core.errors import SpecError
from convexplorer.core.presets import preset
from convexplorer.core.spec import INPUT_ID, ModelSpec
from convexplorer.core.summary import Summary
from convexplorer.ui.panels.base import Panel, control_column
from convexplorer.ui.panels.builder.bases import BaseMeasurer
from convexplorer.ui.panels.builder.compile_settings import CompileSettings
from convexplorer.ui.panels.builder.design import SCREENSHOT_PRESET, Design, MeasureKey, preset_message
from convexplorer.ui.panels.builder.design_bar import DesignBar
from convexplorer.ui.panels.builder.diagram_view import DiagramView
from convexplorer.ui.panels.builder.edits import DesignEdit
from convexplorer.ui.panels.builder.files import DesignFiles, Opened
from convexplorer.ui.panels.builder.graph_view import GraphView
from convexplorer.ui.panels.builder.heads_editor import HeadsEditor
from convexplorer.ui.panels.builder.input_settings import InputSettings
from convexplorer.ui.panels.builder.layer_form import LayerForm
from convexplorer.ui.panels.builder.layers_column import LayersColumn
from convexplorer.ui.panels.builder.summary_view import SummaryView
from convexplorer.ui.state import AppState
from convexplorer.ui.workers import Worker


class BuilderPanel(Panel):
    """Design a model as a graph by clicks; Keras-equal summary, diagram, presets, save/open/export, undo."""

    title = "Builder"
    key = "builder"
    needs_tensorflow = False

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.design = Design(preset(SCREENSHOT_PRESET))
        self._updating = False  # True while the panel itself fills the widgets: their signals are not edits
        self._keep_form = False  # True while the form's own edit runs: its editors stay (one is being used)
        self._select_next: str | None = None  # the node to select once the edit running now is drawn
        self.design_bar = DesignBar()
        self.graph_view = GraphView()
        self.canvas = self.graph_view.canvas
        self.layers_column = LayersColumn()
        self.layer_form = LayerForm()
        self.heads_editor = HeadsEditor()
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
        # The graph is the main view: it is what a student draws on paper, and its boxes show the summary's
        # shapes and parameters. The summary table and the stack diagram stay one click away; the totals and
        # the verdict stay in sight under all three.
        self.views = QTabWidget()
        self.views.addTab(self.graph_view, "Graph")
        self.views.addTab(self.summary_view, "Summary table")
        self.views.addTab(self.diagram_view, "Stack diagram")
        self.views.setTabToolTip(0, "The design as a graph: edit it here")
        self.views.setTabToolTip(1, "Every layer as Keras's model.summary() prints it")
        self.views.setTabToolTip(2, "The layers in order, as the textbook draws a stack")
        main = QWidget()
        mv = QVBoxLayout(main)
        mv.setContentsMargins(0, 0, 0, 0)
        mv.setSpacing(2)
        mv.addWidget(self.views, 1)
        mv.addWidget(self.summary_view.totals_box)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for part in (self.layers_column, self._settings_column(), main):
            self.splitter.addWidget(part)
        for i, stretch in enumerate((0, 0, 1)):
            self.splitter.setStretchFactor(i, stretch)
        self.splitter.setSizes([215, 352, 713])
        outer.addWidget(self.splitter, 1)

    def _settings_column(self) -> QScrollArea:
        inner = QWidget()
        v = QVBoxLayout(inner)
        v.setContentsMargins(0, 0, 4, 0)
        for part in (self.layer_form, self.heads_editor, self.input_settings, self.compile_settings):
            v.addWidget(part)
        v.addStretch(1)
        return control_column(inner, 345)

    def _expose_widgets(self) -> None:
        """The parts' widgets under the names that lessons, tests and the main window use."""
        bar = self.design_bar
        self.preset_combo = bar.preset_combo
        self.new_button, self.open_button, self.save_button = bar.new_button, bar.open_button, bar.save_button
        self.export_button = bar.export_button
        self.busy_bar, self.message_label = bar.busy_bar, bar.message_label
        layers = self.layers_column
        self.palette_buttons, self.layer_list = layers.palette_buttons, layers.layer_list
        self.block_buttons = layers.block_buttons
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
        self.undo_stack = self.canvas.undo_stack
        self.undo_button, self.redo_button = self.graph_view.undo_button, self.graph_view.redo_button

    def _connect(self) -> None:
        bar, layers, files = self.design_bar, self.layers_column, self.files
        bar.preset_chosen.connect(self.load_preset)
        bar.new_button.clicked.connect(self.new_design)
        bar.open_button.clicked.connect(files.ask_open)
        bar.save_button.clicked.connect(files.ask_save)
        bar.export_keras_action.triggered.connect(files.ask_export_keras)
        bar.export_json_action.triggered.connect(files.ask_export_keras_json)
        bar.export_script_action.triggered.connect(files.ask_export_script)
        layers.add_requested.connect(self.add_layer)
        layers.block_requested.connect(self.add_block)
        layers.move_requested.connect(lambda delta: self.move_layer(self.selected_index(), delta))
        layers.duplicate_requested.connect(lambda: self.duplicate_layer(self.selected_index()))
        layers.remove_requested.connect(lambda: self.remove_layer(self.selected_index()))
        layers.layer_list.currentRowChanged.connect(self._on_layer_selected)
        layers.layer_list.orderChanged.connect(self._on_order_changed)
        self.diagram_view.diagram.layerClicked.connect(self._on_diagram_clicked)
        self.canvas.spec_changed.connect(self._refresh)
        self.canvas.selection_changed.connect(self._on_canvas_selection)
        self.canvas.message.connect(self._show_error)
        self.graph_view.fold_requested.connect(self.toggle_group)
        self.graph_view.head_requested.connect(self.make_selected_head)
        self.heads_editor.add_requested.connect(self.make_selected_head)
        self.heads_editor.remove_requested.connect(self._on_head_removed)
        self.heads_editor.head_edited.connect(self._on_head_edited)
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

    def edit(self, text: str, change: Callable[[ModelSpec], Any], merge: str = "", keep_form: bool = False) -> bool:
        """Make ``change(spec)`` one undoable edit and select what it returns (a row, a node id, new ids).

        Returns False when it was refused (the message bar says why) or changed nothing. Edits
        with the same ``merge`` key in a row are one undo step (typing in a spin box).
        """
        def run(spec: ModelSpec) -> Any:
            out = change(spec)
            if isinstance(out, int) and not isinstance(out, bool) and 0 <= out < len(spec.layers):
                self._select_next = spec.layers[out].id
            elif isinstance(out, str) and out:
                self._select_next = out
            elif isinstance(out, list) and out:
                self._select_next = out[-1]
            return out

        self._keep_form = keep_form
        try:
            return self.canvas.execute(DesignEdit(self.canvas, text, run, merge))
        finally:
            self._keep_form = False
            self._select_next = None

    def add_layer(self, kind: str, index: int | None = None) -> None:
        """Insert a layer of ``kind`` after the selected one (or at ``index``); in a graph it is spliced in."""
        if index is None:
            sel = self.selected_index()
            index = sel + 1 if sel >= 0 else len(self.spec.layers)
        self.edit(f"add {kind}", lambda _s: self.design.insert_layer(kind, index))

    def add_block(self, name: str) -> bool:
        """Insert block ``name`` after the selected node as real layers (grouped); False, with the reason, if refused."""
        selected = self.canvas.selected_ids()
        return self.edit(f"add {name}", lambda _s: self.design.insert_block(name, selected))

    def remove_layer(self, index: int) -> None:
        """Remove the layer at ``index`` (what read it reads its input instead)."""
        self.edit("remove a layer", lambda _s: self.design.remove_layer(index))

    def duplicate_layer(self, index: int) -> None:
        """Insert a copy of the layer at ``index`` right after it (without its custom name)."""
        self.edit("duplicate a layer", lambda _s: self.design.duplicate_layer(index))

    def move_layer(self, index: int, delta: int) -> None:
        """Move the layer at ``index`` up (-1) or down (+1) (a stack only)."""
        self.edit("move a layer", lambda _s: self.design.move_layer(index, delta))

    def set_layer_param(self, index: int, name: str, value: Any) -> None:
        """Set one parameter of a layer (as the form does), undoably."""
        self.edit(f"change {name}", lambda _s: (self.design.set_param(index, name, value), index)[1])

    def make_selected_head(self) -> bool:
        """Make the selected layer an output of the model (a new head)."""
        ids = [n for n in self.canvas.selected_ids() if n != INPUT_ID]
        if len(ids) != 1:
            self._show_error("select one layer to make it an output")
            return False
        return self.edit("make a head", lambda _s: (self.design.make_head(ids[0]), ids[0])[1], keep_form=True)

    def toggle_group(self) -> bool:
        """Collapse the group of the selected layers into one box, or expand it."""
        chosen = set(self.canvas.selected_ids())
        for g in self.spec.groups:
            if chosen & set(g.nodes):
                name, members = g.name, list(g.nodes)
                done = self.canvas.set_collapsed(name, not g.collapsed)
                self.canvas.select(members)  # the block's box, or its layers again
                return done
        self._show_error("select a layer of a group (or group some with Ctrl+G) to collapse or expand it")
        return False

    def undo(self) -> None:
        """Undo the last edit."""
        self.canvas.undo_stack.undo()

    def redo(self) -> None:
        """Redo the last edit undone."""
        self.canvas.undo_stack.redo()

    def save_design(self, path: str | Path) -> None:
        """Save the design as JSON (atomic write)."""
        self.files.save_design(path)

    def open_path(self, path: Path) -> bool:
        """Open a .json design, Keras JSON, or a .keras/.h5 model (the model also goes to Inspect)."""
        return self.files.open_path(path)

    def export_keras(self, path: str | Path) -> Worker | None:
        """Build the model with Keras and save it as .keras on a worker; returns the worker."""
        return self.files.export_keras(path)

    def export_keras_json(self, path: str | Path) -> Worker | None:
        """Write the design as Keras JSON on a worker; returns the worker."""
        return self.files.export_keras_json(path)

    def export_script(self, path: str | Path) -> Worker | None:
        """Write the runnable training script on a worker; returns the worker."""
        return self.files.export_script(path)

    def show_invalid_example(self) -> None:
        """The MNIST convnet with a 7x7 third conv on its 5x5 map: an invalid row (tests, screenshots)."""
        self.load_preset(SCREENSHOT_PRESET)
        self.set_layer_param(4, "kernel_size", [7, 7])
        self.layers_column.select(4)

    def show_invalid_graph_example(self) -> None:
        """Small residual net whose first Add also reads a map before the pooling: shapes that differ, drawn red."""
        self.load_preset("Small residual net")
        spec = self.spec
        add = next(layer for layer in spec.layers if layer.kind == "Add")
        conv = next(layer for layer in spec.layers if layer.kind == "Conv2D")
        self.canvas.connect_nodes(conv.id, add.id)
        self.canvas.select([add.id])

    # ------------------------------------------------------------------ redraw
    def _load_spec(self, spec: ModelSpec, message: str = "", opened: Opened | None = None) -> None:
        follow = self.input_settings.follows_dataset() and self.state.dataset is not None
        read_only = opened.read_only if opened is not None else None
        self.design.spec = spec
        self.design.read_only = read_only
        self.design.initial_weights = dict(opened.weights) if opened is not None else {}
        if follow and not read_only:
            self.design.apply_dataset(self.state.dataset)
        self.canvas.set_read_only(read_only)
        self.canvas.set_spec(spec, fit=False)
        self.graph_view.show_read_only(read_only)
        self._select_next = spec.layers[0].id if spec.layers else None
        try:
            self._refresh()
        finally:
            self._select_next = None
        self.graph_view.show_design()
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

    def _refresh(self) -> None:
        """The design changed (an edit, undo or redo): recompute the summary, redraw every part, publish the design."""
        spec, design = self.spec, self.design
        summary = design.recompute()
        self.canvas.show_summary(summary, summary.node_errors())
        self.layers_column.show_layers(spec.layers, spec.layer_names(), design.error_index())
        self.summary_view.show_summary(summary, design.last_valid)
        if self._select_next is not None:
            self.canvas.blockSignals(True)
            try:
                self.canvas.select([self._select_next])
            finally:
                self.canvas.blockSignals(False)
        current = self._selected_layer_index()
        self.diagram_view.show_summary(summary, [layer.kind for layer in spec.layers], current)
        self._updating = True
        try:
            self.layers_column.select(current)
        finally:
            self._updating = False
        if self._keep_form and current == self.layer_form.index and current >= 0:
            self.layer_form.update_enabled(spec.layers[current])
        else:
            self.layer_form.show_layer(spec, current)
        self._lock_form()
        self.summary_view.select_layer(current)
        self.heads_editor.show_heads(spec, editable=not design.read_only)
        self._update_buttons()
        self._sync_inputs()
        self.state.set_spec(design.published())
        self.bases.measure(design.bases_to_measure())

    def _selected_layer_index(self) -> int:
        """Row of the first selected layer on the canvas (-1: none, or only the input)."""
        ids = [n for n in self.canvas.selected_ids() if n != INPUT_ID]
        if not ids:
            return -1
        try:
            return self.spec.index_of(ids[0])
        except SpecError:
            return -1

    def _update_buttons(self) -> None:
        self.layers_column.update_buttons(len(self.spec.layers), self.design.is_stack(), not self.design.read_only)
        self.graph_view.head_button.setEnabled(not self.design.read_only and self._selected_layer_index() >= 0)

    def _lock_form(self) -> None:
        """A read-only design shows its layers' settings but does not let them change."""
        locked = bool(self.design.read_only)
        if locked:
            for editor in self.layer_form.editors.values():
                editor.setEnabled(False)
        for part in (self.input_settings, self.compile_settings):
            part.setEnabled(not locked)

    # ------------------------------------------------------------------ slots
    def _on_param_edited(self, index: int, name: str, value: Any) -> None:
        if self._updating or not (0 <= index < len(self.spec.layers)):
            return
        layer = self.spec.layers[index]
        if layer.kind == "Pretrained" and name in ("application", "trainable"):
            self.set_layer_param(index, name, value)  # also fixes fine_tune_from and rebuilds the form
            return
        self._keep_form = True
        try:
            self.canvas.set_params(layer.id, {name: value})
        finally:
            self._keep_form = False

    def _on_name_edited(self, index: int, text: str) -> None:
        if 0 <= index < len(self.spec.layers) and self.spec.layers[index].name != text.strip():
            self._keep_form = True
            try:
                self.canvas.set_params(self.spec.layers[index].id, {}, name=text.strip())
            finally:
                self._keep_form = False

    def _on_layer_selected(self, row: int) -> None:
        if self._updating:
            return
        self.canvas.select([self.spec.layers[row].id] if 0 <= row < len(self.spec.layers) else [])

    def _on_canvas_selection(self, ids: list) -> None:
        """The canvas selection drives the layer list, the form, the diagram and the summary table."""
        current = self._selected_layer_index()
        self._updating = True
        try:
            self.layers_column.select(current)
        finally:
            self._updating = False
        if current != self.layer_form.index:
            self.layer_form.show_layer(self.spec, current)
            self._lock_form()
        self.diagram_view.select_layer(current)
        self.summary_view.select_layer(current)
        self._update_buttons()

    def _on_diagram_clicked(self, index: int) -> None:
        if index >= 0:
            self.layers_column.select(index)

    def _on_order_changed(self, order: list) -> None:
        selected = self.selected_index()
        if not self.edit("reorder layers", lambda _s: self.design.reorder(order, selected)):
            self.layers_column.show_layers(self.spec.layers, self.spec.layer_names(), self.design.error_index())
            self._on_canvas_selection(self.canvas.selected_ids())
            if not self.design.is_stack():
                self._show_error("a graph's order follows its connections: rewire it on the graph instead")

    def _on_input_changed(self) -> None:
        if self._updating:
            return
        shape, classes = self.input_settings.input_shape(), self.input_settings.classes()

        def change(spec: ModelSpec) -> None:
            spec.input_shape, spec.num_classes = shape, classes
            refit_detection_heads(spec)  # a detection grid follows the input's size and the classes

        self.edit("change the input", change, merge="input", keep_form=True)

    def _on_compile_changed(self) -> None:
        if self._updating:
            return
        settings = self.compile_settings

        def change(spec: ModelSpec) -> None:
            settings.read_into(spec.compile)
            self.design.sync_single_head()

        self.edit("change the compile settings", change, merge="compile", keep_form=True)
        self._update_enabled()

    def _on_follow_toggled(self, checked: bool) -> None:
        if checked and self.state.dataset is not None:
            self._take_dataset(self.state.dataset)
        self._update_enabled()

    def _on_dataset(self, dataset: Any) -> None:
        self.input_settings.show_dataset(dataset)
        if dataset is not None and self.input_settings.follows_dataset():
            self._take_dataset(dataset)
        self._update_enabled()

    def _take_dataset(self, dataset: Any) -> None:
        if not self.design.read_only:
            self.edit("take the input from the data set", lambda _s: self.design.apply_dataset(dataset), keep_form=True)

    def _on_head_edited(self, index: int, field: str, value: Any) -> None:
        self.edit(f"change the head's {field}", lambda _s: self.design.set_head(index, field, value),
                  merge=f"head{index}.{field}", keep_form=True)

    def _on_head_removed(self, index: int) -> None:
        self.edit("remove a head", lambda _s: self.design.remove_head(index), keep_form=True)

    def _base_measured(self, key: MeasureKey) -> None:
        if not self.edit("choose the layer to fine-tune from", lambda _s: self.design.fill_fine_tune_from()):
            self._refresh()  # the summary knows more now even though the design did not change
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
