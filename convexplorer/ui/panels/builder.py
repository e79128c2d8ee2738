"""The Builder panel: design a convnet by clicks and see exactly what Keras will build.

Left: a palette of layers and the layer list (drag to reorder). Middle: the
selected layer's properties, the input shape and classes (from the current
data set or typed in) and the compile settings. Right: a ``model.summary()``
table computed without TensorFlow by :mod:`convexplorer.core.summary`, with
invalid rows in red; below, a diagram of the architecture. Every change calls
``state.set_spec`` so that the Training panel builds the current design.
Saving designs (JSON) is instant; exporting a ``.keras`` model or a Python
script and opening ``.keras`` files run on workers.

For screenshots: :meth:`BuilderPanel.prepare_screenshot` loads the MNIST
convnet; :meth:`BuilderPanel.show_invalid_example` then makes its third
convolution too large for its input, to show an invalid row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.presets import PRESETS, preset
from convexplorer.core.spec import (
    LAYER_KINDS,
    LOSS_FOR_LABELS,
    OPTIMIZERS,
    LayerSpec,
    ModelSpec,
    ParamDef,
    make_layer,
    normalize_pair,
)
from convexplorer.core.summary import Summary, measured_base, summarize, tunable_layers
from convexplorer.ui.panels.base import Panel, control_column, preview
from convexplorer.ui.state import AppState
from convexplorer.ui.widgets.architecture_diagram import ArchitectureDiagram
from convexplorer.ui.widgets.layer_table import LayerList, SummaryTable
from convexplorer.ui.workers import run_in_thread

LABEL_TYPES = {
    "integer": "Integer labels (sparse categorical)",
    "one-hot": "One-hot labels (categorical)",
    "binary": "Two classes, one sigmoid output (binary)",
}
METRIC_BOXES = (("accuracy", "Accuracy"), ("top5", "Top-5 accuracy"), ("auc", "AUC"), ("precision", "Precision"),
                ("recall", "Recall"))
SCREENSHOT_PRESET = "MNIST convnet"


def _build_and_save(spec: ModelSpec, path: str, progress: Any = None, cancel: Any = None) -> str:
    """Build, compile and save the design as .keras (runs on a worker)."""
    from convexplorer.core.builder import build_model
    from convexplorer.core.modelio import save_keras_model

    model = build_model(spec, compile=True, progress=progress, cancel=cancel)
    save_keras_model(model, path, cancel=cancel)
    return path


def _write_script(spec: ModelSpec, path: str) -> str:
    from convexplorer.core.export import export_script

    return str(export_script(spec, path))


def _measure(application: str, shape: tuple[int, int, int], progress: Any = None, cancel: Any = None) -> Any:
    from convexplorer.core.builder import measure_base

    return measure_base(application, shape, progress=progress, cancel=cancel)


def _open_model(path: str, allow_unsafe: bool, progress: Any = None, cancel: Any = None) -> Any:
    from convexplorer.core.modelio import load_keras_model

    return load_keras_model(path, allow_unsafe=allow_unsafe, progress=progress, cancel=cancel)


def _compact(combo: QComboBox) -> QComboBox:
    """A combo box that does not widen its column to its longest item."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    return combo


class BuilderPanel(Panel):
    """Design a model by clicks; Keras-equal summary, diagram, presets, save/open/export."""

    title = "Builder"
    key = "builder"
    needs_tensorflow = False

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.spec: ModelSpec = preset(SCREENSHOT_PRESET)
        self.summary: Summary = summarize(self.spec)
        self.last_valid: Summary = self.summary
        self.current_path: Path | None = None
        #: Asked before opening a model with safe mode off; replace in tests.
        self.confirm_unsafe: Callable[[str], bool] = self._ask_unsafe
        self._editors: dict[str, Any] = {}
        self._form_index = -1
        self._measuring: set[tuple[str, tuple[int, int, int]]] = set()
        self._updating = False
        self._build_ui()
        self._connect()
        self._load_spec(self.spec, message=f'Preset "{SCREENSHOT_PRESET}" loaded: edit it or pick another preset')
        state.dataset_changed.connect(self._on_dataset)
        if state.dataset is not None:
            self._on_dataset(state.dataset)

    # ------------------------------------------------------------------ UI
    def _build_ui(self) -> None:
        outer = QVBoxLayout(self.body)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(4)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Preset:"))
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("Choose a textbook model…", None)
        for name in PRESETS:
            self.preset_combo.addItem(name, name)
        self.preset_combo.setMinimumContentsLength(28)
        self.preset_combo.setToolTip("Load a classic model (replaces the current design)")
        bar.addWidget(self.preset_combo)
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Start an empty design")
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a .json design or a .keras model")
        self.save_button = QPushButton("Save design…")
        self.save_button.setToolTip("Save the design as JSON")
        self.export_keras_button = QPushButton("Export .keras…")
        self.export_keras_button.setToolTip("Build the model with Keras and save it as a .keras file")
        self.export_script_button = QPushButton("Export script…")
        self.export_script_button.setToolTip("Write a Python script that rebuilds and trains this model")
        for b in (self.new_button, self.open_button, self.save_button, self.export_keras_button,
                  self.export_script_button):
            bar.addWidget(b)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setVisible(False)
        bar.addWidget(self.busy_bar)
        bar.addStretch(1)
        outer.addLayout(bar)

        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.message_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self._build_layers_column())
        self.splitter.addWidget(self._build_settings_column())
        self.splitter.addWidget(self._build_summary_column())
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setSizes([235, 355, 690])

        self.diagram = ArchitectureDiagram()
        self.diagram_scroll = QScrollArea()
        self.diagram_scroll.setWidget(self.diagram)
        self.diagram_scroll.setWidgetResizable(True)
        self.diagram_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.diagram_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.diagram_scroll.setMinimumHeight(150)
        diagram_box = QGroupBox("Architecture")
        dl = QVBoxLayout(diagram_box)
        dl.setContentsMargins(4, 4, 4, 4)
        dl.addWidget(self.diagram_scroll)

        self.vsplit = QSplitter(Qt.Orientation.Vertical)
        self.vsplit.addWidget(self.splitter)
        self.vsplit.addWidget(diagram_box)
        self.vsplit.setStretchFactor(0, 1)
        self.vsplit.setStretchFactor(1, 0)
        self.vsplit.setSizes([570, 170])
        outer.addWidget(self.vsplit, 1)

    def _build_layers_column(self) -> QWidget:
        col = QWidget()
        v = QVBoxLayout(col)
        v.setContentsMargins(0, 0, 4, 0)
        palette_box = QGroupBox("Add a layer (after the selected one)")
        grid = QGridLayout(palette_box)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setSpacing(2)
        self.palette_buttons: dict[str, QToolButton] = {}
        for i, (kind, info) in enumerate(LAYER_KINDS.items()):
            b = QToolButton()
            b.setText(kind.replace("Pooling2D", "Pool2D").replace("Normalization", "Norm"))
            b.setToolTip(f"{kind} ({info.group}): {info.description}")
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.clicked.connect(lambda _=False, k=kind: self.add_layer(k))
            self.palette_buttons[kind] = b
            grid.addWidget(b, i // 2, i % 2)
        v.addWidget(palette_box)

        layers_box = QGroupBox("Layers (drag to reorder)")
        lv = QVBoxLayout(layers_box)
        lv.setContentsMargins(4, 4, 4, 4)
        self.layer_list = LayerList()
        lv.addWidget(self.layer_list, 1)
        row = QHBoxLayout()
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.duplicate_button = QPushButton("Duplicate")
        self.remove_button = QPushButton("Remove")
        for b in (self.up_button, self.down_button, self.duplicate_button, self.remove_button):
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            row.addWidget(b)
        lv.addLayout(row)
        v.addWidget(layers_box, 1)
        return col

    def _build_settings_column(self) -> QWidget:
        inner = QWidget()
        v = QVBoxLayout(inner)
        v.setContentsMargins(0, 0, 4, 0)

        self.props_box = QGroupBox("Layer properties")
        self.props_form = QFormLayout(self.props_box)
        self.props_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        v.addWidget(self.props_box)

        input_box = QGroupBox("Input and classes")
        f = QFormLayout(input_box)
        self.follow_dataset_check = QCheckBox("Take them from the current data set")
        self.follow_dataset_check.setChecked(True)
        self.dataset_label = QLabel("No data set chosen: type the shape in.")
        self.dataset_label.setWordWrap(True)
        self.dataset_label.setStyleSheet("color:#555;")
        shape_row = QHBoxLayout()
        self.height_spin, self.width_spin, self.channels_spin = QSpinBox(), QSpinBox(), QSpinBox()
        for spin, tip, hi in ((self.height_spin, "height", 4096), (self.width_spin, "width", 4096),
                              (self.channels_spin, "channels (1 grey, 3 colour)", 64)):
            spin.setRange(1, hi)
            spin.setToolTip(f"input {tip}")
            shape_row.addWidget(spin)
        self.classes_spin = QSpinBox()
        self.classes_spin.setRange(1, 100_000)
        self.classes_spin.setToolTip("number of classes: the output layer's units when 'Units = classes' is on")
        f.addRow(self.follow_dataset_check)
        f.addRow(self.dataset_label)
        f.addRow("Height × width × ch.", shape_row)
        f.addRow("Classes", self.classes_spin)
        v.addWidget(input_box)

        compile_box = QGroupBox("Compile settings")
        c = QFormLayout(compile_box)
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.addItems(list(OPTIMIZERS))
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(0.000001, 10.0)
        self.lr_spin.setSingleStep(0.0001)
        self.momentum_spin = QDoubleSpinBox()
        self.momentum_spin.setDecimals(3)
        self.momentum_spin.setRange(0.0, 0.999)
        self.momentum_spin.setSingleStep(0.05)
        self.momentum_spin.setToolTip("SGD momentum (other optimizers ignore it)")
        self.labels_combo = QComboBox()
        for key, text in LABEL_TYPES.items():
            self.labels_combo.addItem(text, key)
        self.loss_label = QLabel("")
        self.loss_label.setStyleSheet("color:#555;")
        metrics_row = QGridLayout()
        self.metric_checks: dict[str, QCheckBox] = {}
        for i, (key, text) in enumerate(METRIC_BOXES):
            box = QCheckBox(text)
            self.metric_checks[key] = box
            metrics_row.addWidget(box, i // 2, i % 2)
        c.addRow("Optimizer", self.optimizer_combo)
        c.addRow("Learning rate", self.lr_spin)
        c.addRow("Momentum", self.momentum_spin)
        c.addRow("Labels", self.labels_combo)
        c.addRow("Loss", self.loss_label)
        c.addRow("Metrics", metrics_row)
        v.addWidget(compile_box)
        v.addStretch(1)
        for combo in (self.optimizer_combo, self.labels_combo):
            _compact(combo)

        return control_column(inner, 280)

    def _build_summary_column(self) -> QWidget:
        col = QWidget()
        v = QVBoxLayout(col)
        v.setContentsMargins(4, 0, 0, 0)
        head = QLabel("<b>Summary</b> – as Keras's model.summary() will print it (computed without TensorFlow)")
        head.setWordWrap(True)
        v.addWidget(head)
        self.summary_table = SummaryTable()
        v.addWidget(self.summary_table, 1)
        self.totals_label = QLabel("")
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.totals_label)
        self.memory_label = QLabel("")
        self.memory_label.setWordWrap(True)
        self.memory_label.setStyleSheet("color:#555;")
        v.addWidget(self.memory_label)
        self.problem_label = QLabel("")
        self.problem_label.setWordWrap(True)
        v.addWidget(self.problem_label)
        return col

    def _connect(self) -> None:
        self.preset_combo.activated.connect(self._on_preset_chosen)
        self.new_button.clicked.connect(self.new_design)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.export_keras_button.clicked.connect(self._on_export_keras_clicked)
        self.export_script_button.clicked.connect(self._on_export_script_clicked)
        self.layer_list.currentRowChanged.connect(self._on_layer_selected)
        self.layer_list.orderChanged.connect(self._on_order_changed)
        self.up_button.clicked.connect(lambda: self.move_layer(self.selected_index(), -1))
        self.down_button.clicked.connect(lambda: self.move_layer(self.selected_index(), +1))
        self.duplicate_button.clicked.connect(lambda: self.duplicate_layer(self.selected_index()))
        self.remove_button.clicked.connect(lambda: self.remove_layer(self.selected_index()))
        self.diagram.layerClicked.connect(self._on_diagram_clicked)
        for keys, slot in (
            (QKeySequence.StandardKey.Delete, lambda: self.remove_layer(self.selected_index())),
            ("Ctrl+D", lambda: self.duplicate_layer(self.selected_index())),
            ("Alt+Up", lambda: self.move_layer(self.selected_index(), -1)),
            ("Alt+Down", lambda: self.move_layer(self.selected_index(), +1)),
        ):
            shortcut = QShortcut(QKeySequence(keys), self.layer_list)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        self.remove_button.setToolTip("Remove the selected layer (Delete)")
        self.duplicate_button.setToolTip("Insert a copy of the selected layer after it (Ctrl+D)")
        self.up_button.setToolTip("Move the selected layer up (Alt+Up)")
        self.down_button.setToolTip("Move the selected layer down (Alt+Down)")
        self.follow_dataset_check.toggled.connect(self._on_follow_toggled)
        for spin in (self.height_spin, self.width_spin, self.channels_spin, self.classes_spin):
            spin.valueChanged.connect(self._on_input_changed)
        self.optimizer_combo.currentTextChanged.connect(self._on_compile_changed)
        self.lr_spin.valueChanged.connect(self._on_compile_changed)
        self.momentum_spin.valueChanged.connect(self._on_compile_changed)
        self.labels_combo.currentIndexChanged.connect(self._on_compile_changed)
        for box in self.metric_checks.values():
            box.toggled.connect(self._on_compile_changed)

    # ------------------------------------------------------------------ public API
    def selected_index(self) -> int:
        """Index of the selected layer (-1 if none)."""
        return self.layer_list.currentRow()

    def set_spec(self, spec: ModelSpec, message: str = "") -> None:
        """Replace the design (a copy of ``spec`` is kept)."""
        self._load_spec(spec.copy(), message)

    def load_preset(self, name: str) -> None:
        """Load a textbook preset by name (adapted to the data set when following it)."""
        self._load_spec(preset(name))
        original = PRESETS[name]
        message = f'Preset "{name}" loaded. {original.description}'
        if (self.spec.input_shape, self.spec.num_classes) != (original.input_shape, original.num_classes):
            shape = "×".join(map(str, self.spec.input_shape))
            textbook = "×".join(map(str, original.input_shape))
            message = (f'Preset "{name}" loaded and adapted to the data set ({shape}, {self.spec.num_classes} classes): '
                       f"{self.summary.total:,} parameters. The textbook version ({textbook}, "
                       f"{original.num_classes} classes) has {summarize(original).total:,}; untick "
                       "\"Take them from the current data set\" to type another shape.")
        self._show_info(message)

    def new_design(self) -> None:
        """Start an empty design with the current input shape and classes."""
        spec = ModelSpec("my_model", self.spec.input_shape, self.spec.num_classes, [], self.spec.compile)
        self._load_spec(spec, message="New design: add layers from the palette")

    def add_layer(self, kind: str, index: int | None = None) -> None:
        """Insert a layer of ``kind`` after the selected one (or at ``index``)."""
        if index is None:
            sel = self.selected_index()
            index = sel + 1 if sel >= 0 else len(self.spec.layers)
        layer = make_layer(kind)
        if kind == "Pretrained":
            layer.params["weights"] = "imagenet"
        self.spec.layers.insert(index, layer)
        self._changed(select=index)

    def remove_layer(self, index: int) -> None:
        """Remove the layer at ``index``."""
        if 0 <= index < len(self.spec.layers):
            del self.spec.layers[index]
            self._changed(select=min(index, len(self.spec.layers) - 1))

    def duplicate_layer(self, index: int) -> None:
        """Insert a copy of the layer at ``index`` right after it (without its custom name)."""
        if 0 <= index < len(self.spec.layers):
            src = self.spec.layers[index]
            copy = LayerSpec(src.kind, dict(src.params), "")
            self.spec.layers.insert(index + 1, copy)
            self._changed(select=index + 1)

    def move_layer(self, index: int, delta: int) -> None:
        """Move the layer at ``index`` up (-1) or down (+1)."""
        target = index + delta
        if 0 <= index < len(self.spec.layers) and 0 <= target < len(self.spec.layers):
            layers = self.spec.layers
            layers.insert(target, layers.pop(index))
            self._changed(select=target)

    def set_layer_param(self, index: int, name: str, value: Any) -> None:
        """Set one parameter of a layer (as the form does)."""
        layer = self.spec.layers[index]
        layer.params[name] = value
        if layer.kind == "Pretrained" and name == "application":
            layer.params["fine_tune_from"] = ""
        self._fill_fine_tune_from()
        self._changed(select=index, rebuild_form=(layer.kind == "Pretrained"))

    def save_design(self, path: str | Path) -> None:
        """Save the design as JSON (atomic write)."""
        from convexplorer.core.workspace import atomic_write_text

        p = Path(path)
        try:
            atomic_write_text(p, self.spec.to_json())
        except ConvExplorerError as exc:
            self._show_error(str(exc))
            return
        self.current_path = p
        self._show_info(f"Design saved to {p}")

    def open_path(self, path: Path) -> bool:
        """Open a .json design or a .keras/.h5 model (the model also goes to Inspect)."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".json":
            self._open_design(p)
            return True
        if suffix in (".keras", ".h5"):
            self._open_keras(p, allow_unsafe=False)
            return True
        return False

    def export_keras(self, path: str | Path) -> Any:
        """Build the model with Keras and save it as .keras on a worker; returns the worker."""
        if not self._check_exportable():
            return None
        worker = self.track(run_in_thread(_build_and_save, self.spec.copy(), str(path)))
        self._busy(True, "Building the model with Keras…")
        worker.result.connect(lambda p: self._show_info(f"Model saved to {p}"))
        worker.error.connect(self._worker_error)
        worker.finished.connect(lambda: self._busy(False))
        return worker

    def export_script(self, path: str | Path) -> Any:
        """Write the runnable training script on a worker; returns the worker."""
        if not self._check_exportable():
            return None
        worker = self.track(run_in_thread(_write_script, self.spec.copy(), str(path)))
        self._busy(True, "Writing the script…")
        worker.result.connect(lambda p: self._show_info(f"Script written to {p}: run it with  python {Path(p).name} --data DATA"))
        worker.error.connect(self._worker_error)
        worker.finished.connect(lambda: self._busy(False))
        return worker

    def prepare_screenshot(self) -> None:
        """The MNIST convnet preset as in the textbook (28x28x1, 10 classes), first conv selected."""
        self.follow_dataset_check.setChecked(False)
        self.load_preset(SCREENSHOT_PRESET)
        self.layer_list.setCurrentRow(0)

    def screenshot_variants(self) -> list[tuple[str, Callable[[], None]]]:
        """An invalid row, and transfer learning on VGG16."""
        return [("invalid", self.show_invalid_example),
                ("transfer", lambda: self.load_preset("VGG16 transfer: fine-tune block 5"))]

    def show_invalid_example(self) -> None:
        """The MNIST convnet with a 7x7 third conv on its 5x5 map: an invalid row for screenshots."""
        self.load_preset(SCREENSHOT_PRESET)
        self.set_layer_param(4, "kernel_size", [7, 7])
        self.layer_list.setCurrentRow(4)

    # ------------------------------------------------------------------ refresh
    def _load_spec(self, spec: ModelSpec, message: str = "") -> None:
        follow = self.follow_dataset_check.isChecked() and self.state.dataset is not None
        self.spec = spec
        if follow:
            self._apply_dataset(self.state.dataset)
        self._sync_inputs()
        self._changed(select=0 if spec.layers else None)
        if message:
            self._show_info(message)

    def _sync_inputs(self) -> None:
        self._updating = True
        try:
            h, w, c = self.spec.input_shape
            self.height_spin.setValue(h)
            self.width_spin.setValue(w)
            self.channels_spin.setValue(c)
            self.classes_spin.setValue(self.spec.num_classes)
            comp = self.spec.compile
            self.optimizer_combo.setCurrentText(comp.optimizer)
            self.lr_spin.setValue(comp.learning_rate)
            self.momentum_spin.setValue(comp.momentum)
            label = next((k for k, v in LOSS_FOR_LABELS.items() if v == comp.loss), "integer")
            self.labels_combo.setCurrentIndex(self.labels_combo.findData(label))
            for key, box in self.metric_checks.items():
                names = {"top5": ("top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy")}.get(key, (key,))
                box.setChecked(any(n in comp.metrics for n in names))
            self._update_enabled()
        finally:
            self._updating = False

    def _update_enabled(self) -> None:
        following = self.follow_dataset_check.isChecked() and self.state.dataset is not None
        for spin in (self.height_spin, self.width_spin, self.channels_spin, self.classes_spin):
            spin.setEnabled(not following)
        self.momentum_spin.setEnabled(self.optimizer_combo.currentText() == "sgd")
        self.loss_label.setText(self.spec.compile.loss)

    def _changed(self, select: int | None = None, rebuild_form: bool = True) -> None:
        """Recompute the summary and redraw everything; publish the design."""
        self.summary = summarize(self.spec)
        if self.summary.valid:
            self.last_valid = self.summary
        names = self.spec.layer_names()
        current = self.selected_index() if select is None else select
        bad = self.summary.error_index
        if bad is not None and any(r.pending for r in self.summary.rows if r.layer_index == bad):
            bad = None  # waiting for a measurement is not a design error
        self.layer_list.set_layers(self.spec.layers, names, bad, None)
        self.summary_table.set_summary(self.summary)
        kinds = [layer.kind for layer in self.spec.layers]
        self.diagram.set_summary(self.summary, kinds, current if current is not None and current >= 0 else None)
        self._show_totals()
        self._updating = True
        try:
            if current is not None and 0 <= current < len(self.spec.layers):
                self.layer_list.setCurrentRow(current)
        finally:
            self._updating = False
        if rebuild_form or current != self._form_index:
            self._build_form(current if current is not None else -1)
        self._update_buttons()
        self.state.set_spec(self.spec.copy())
        self._measure_bases()

    # ------------------------------------------------------------------ pretrained bases
    def _fill_fine_tune_from(self) -> None:
        """Fine-tuning with no layer chosen: start from the last layer with weights (once it is known)."""
        for layer in self.spec.layers:
            if layer.kind == "Pretrained" and layer.get("trainable") == "fine_tune" and not layer.get("fine_tune_from"):
                names = tunable_layers(layer.get("application"))
                if names:
                    layer.params["fine_tune_from"] = names[-1]

    def _bases_to_measure(self) -> set[tuple[str, tuple[int, int, int]]]:
        from convexplorer.core.spec import KNOWN_APPLICATIONS
        from convexplorer.core.zoo import APPLICATIONS

        keys = set(self.summary.pending)
        for i, layer in enumerate(self.spec.layers):
            app = layer.get("application") if layer.kind == "Pretrained" else None
            if app is None or app in KNOWN_APPLICATIONS or app not in APPLICATIONS:
                continue
            before = [r for r in self.summary.rows if r.layer_index is None or r.layer_index < i]
            shape = before[-1].output_shape if before else None
            if shape is None or len(shape) != 4:
                continue
            hwc = tuple(int(v) for v in shape[1:])
            if hwc[2] == 3 and min(hwc[:2]) >= APPLICATIONS[app].min_size and measured_base(app, hwc) is None:
                keys.add((app, hwc))  # type: ignore[arg-type]
        return keys

    def _measure_bases(self) -> None:
        for key in self._bases_to_measure() - self._measuring:
            self._measuring.add(key)
            worker = self.track(run_in_thread(_measure, *key))
            self._busy(True)
            worker.result.connect(lambda _m, key=key: self._base_measured(key))
            worker.error.connect(lambda msg, det, key=key: self._base_failed(key, msg))
            worker.finished.connect(lambda: self._busy(bool(self._measuring)))

    def _base_measured(self, key: tuple[str, tuple[int, int, int]]) -> None:
        self._measuring.discard(key)
        self._fill_fine_tune_from()
        self._changed(rebuild_form=True)
        self._show_info(f"{key[0]} measured: its shapes and parameters are in the summary")

    def _base_failed(self, key: tuple[str, tuple[int, int, int]], message: str) -> None:
        self._measuring.discard(key)
        self._show_error(f"{key[0]} could not be measured: {message}")

    def _show_totals(self) -> None:
        s = self.summary
        if s.valid:
            self.totals_label.setText("<br>".join(s.totals_lines()))
            self.memory_label.setText("Memory (float32): " + s.memory_text())
            self.memory_label.setVisible(True)
            if s.warnings:
                self.problem_label.setStyleSheet("color:#8a5a00;")
                self.problem_label.setText("⚠ " + "<br>⚠ ".join(s.warnings))
            else:
                self.problem_label.setStyleSheet("color:#1b5e20;")
                self.problem_label.setText("✔ Valid design: Keras will build exactly this.")
        elif s.pending:
            self.totals_label.setText(
                "<span style='color:#777'>Last complete summary:</span><br>" + "<br>".join(self.last_valid.totals_lines())
            )
            self.memory_label.setVisible(False)
            self.problem_label.setStyleSheet("color:#8a5a00;")
            self.problem_label.setText("⏳ " + next(r.error for r in s.rows if r.pending))
        else:
            last = self.last_valid
            self.totals_label.setText(
                "<span style='color:#777'>Last valid design:</span><br>" + "<br>".join(last.totals_lines())
            )
            self.memory_label.setText("")
            self.memory_label.setVisible(False)
            self.problem_label.setStyleSheet("color:#a40e0e;")
            self.problem_label.setText("✖ " + s.error)

    def _update_buttons(self) -> None:
        i = self.selected_index()
        n = len(self.spec.layers)
        self.up_button.setEnabled(i > 0)
        self.down_button.setEnabled(0 <= i < n - 1)
        self.duplicate_button.setEnabled(0 <= i < n)
        self.remove_button.setEnabled(0 <= i < n)

    # ------------------------------------------------------------------ property form
    def _clear_form(self) -> None:
        # takeRow + deleteLater, never removeRow: choosing another base rebuilds the form from
        # inside that combo box's own signal, and deleting the combo there crashed Qt.
        while self.props_form.rowCount():
            row = self.props_form.takeRow(0)
            for item in (row.labelItem, row.fieldItem):
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.hide()
                    widget.deleteLater()
        self._editors = {}

    def _build_form(self, index: int) -> None:
        self._clear_form()
        self._form_index = index
        if not (0 <= index < len(self.spec.layers)):
            self.props_box.setTitle("Layer properties")
            hint = QLabel("Select a layer to edit it, or add one from the palette.")
            hint.setWordWrap(True)
            self.props_form.addRow(hint)
            return
        layer = self.spec.layers[index]
        kind = LAYER_KINDS[layer.kind]
        self.props_box.setTitle(f"Layer {index + 1}: {layer.kind}")
        desc = QLabel(kind.description)
        desc.setWordWrap(True)
        desc.setStyleSheet("color:#555;")
        self.props_form.addRow(desc)
        if layer.kind != "Pretrained":
            name_edit = QLineEdit(layer.name)
            name_edit.setPlaceholderText(self.spec.layer_names()[index])
            name_edit.setToolTip("Layer name (empty: automatic, as Keras numbers them)")
            name_edit.editingFinished.connect(lambda e=name_edit, i=index: self._on_name_edited(i, e.text()))
            self._editors["name"] = name_edit
            self.props_form.addRow("Name", name_edit)
        for p in kind.params:
            editor = self._make_editor(index, layer, p)
            self._editors[p.name] = editor
            label = QLabel(p.label or p.name)
            if p.help:
                label.setToolTip(p.help)
                editor.setToolTip(p.help)
            self.props_form.addRow(label, editor)
        self._update_form_enabled(layer)

    def _make_editor(self, index: int, layer: LayerSpec, p: ParamDef) -> QWidget:
        value = layer.get(p.name)
        emit = lambda v, i=index, n=p.name: self._on_param_edited(i, n, v)  # noqa: E731
        if p.type == "int":
            spin = QSpinBox()
            spin.setRange(0, int(p.maximum or 1_000_000))  # 0 allowed so that the summary can explain it
            spin.setValue(int(value) if isinstance(value, int) else 0)
            spin.valueChanged.connect(emit)
            return spin
        if p.type == "float":
            spin = QDoubleSpinBox()
            spin.setDecimals(6 if p.name == "scale" else 4)
            spin.setRange(float(p.minimum if p.minimum is not None else -1e6), float(p.maximum or 1e6) + 1)
            spin.setSingleStep(0.05)
            spin.setValue(float(value))
            spin.valueChanged.connect(emit)
            return spin
        if p.type in ("pair", "pair_or_none"):
            box = QWidget()
            h = QHBoxLayout(box)
            h.setContentsMargins(0, 0, 0, 0)
            auto = None
            if p.type == "pair_or_none":
                auto = QCheckBox("auto")
                auto.setToolTip(p.help or "automatic")
                auto.setChecked(value is None)
                h.addWidget(auto)
            pair = normalize_pair(value) or normalize_pair(layer.params.get("pool_size", 2)) or (1, 1)
            a, b = QSpinBox(), QSpinBox()
            for spin, v in ((a, pair[0]), (b, pair[1])):
                spin.setRange(0, int(p.maximum or 1000))
                spin.setValue(int(v))
                h.addWidget(spin)

            def changed(*_: Any, a: QSpinBox = a, b: QSpinBox = b, auto: QCheckBox | None = auto) -> None:
                if auto is not None:
                    a.setEnabled(not auto.isChecked())
                    b.setEnabled(not auto.isChecked())
                    if auto.isChecked():
                        emit(None)
                        return
                emit([a.value(), b.value()])

            a.valueChanged.connect(changed)
            b.valueChanged.connect(changed)
            if auto is not None:
                a.setEnabled(not auto.isChecked())
                b.setEnabled(not auto.isChecked())
                auto.toggled.connect(changed)
            box.spins = (a, b)  # type: ignore[attr-defined]
            box.auto = auto  # type: ignore[attr-defined]
            return box
        if p.type == "choice":
            combo = _compact(QComboBox())
            for c in p.choices:
                combo.addItem(str(c), c)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.currentIndexChanged.connect(lambda _i, c=combo: emit(c.currentData()))
            return combo
        if p.type == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(emit)
            return box
        # str: the fine-tune layer of a pretrained base
        combo = _compact(QComboBox())
        if p.name == "fine_tune_from" and layer.kind == "Pretrained":
            names = tunable_layers(layer.get("application"))
            combo.addItem("" if names else "(known once the base is measured)", "")
            for n in names:
                combo.addItem(n, n)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.setMaxVisibleItems(20)
        combo.currentIndexChanged.connect(lambda _i, c=combo: emit(c.currentData()))
        return combo

    def _update_form_enabled(self, layer: LayerSpec) -> None:
        if layer.kind == "Pretrained" and "fine_tune_from" in self._editors:
            self._editors["fine_tune_from"].setEnabled(layer.get("trainable") == "fine_tune")
        if layer.kind == "Dense" and "units" in self._editors:
            self._editors["units"].setEnabled(not layer.get("units_from_classes"))

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
        self._update_form_enabled(layer)

    def _on_name_edited(self, index: int, text: str) -> None:
        if 0 <= index < len(self.spec.layers) and self.spec.layers[index].name != text.strip():
            self.spec.layers[index].name = text.strip()
            self._changed(select=index, rebuild_form=False)

    def _on_layer_selected(self, row: int) -> None:
        if self._updating:
            return
        self._build_form(row)
        self.diagram.set_selected(row if row >= 0 else None)
        table_row = self.summary_table.row_for_layer(row)
        if table_row is not None:
            self.summary_table.selectRow(table_row)
        self._update_buttons()

    def _on_diagram_clicked(self, index: int) -> None:
        if index >= 0:
            self.layer_list.setCurrentRow(index)

    def _on_order_changed(self, order: list) -> None:
        selected_old = self.selected_index()
        layers = self.spec.layers
        if sorted(order) != list(range(len(layers))):
            return
        self.spec.layers = [layers[i] for i in order]
        moved_to = order.index(selected_old) if selected_old in order else 0
        self._changed(select=moved_to)

    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        if name:
            self.load_preset(name)
        self.preset_combo.setCurrentIndex(0)

    def _on_input_changed(self) -> None:
        if self._updating:
            return
        self.spec.input_shape = (self.height_spin.value(), self.width_spin.value(), self.channels_spin.value())
        self.spec.num_classes = self.classes_spin.value()
        self._changed(rebuild_form=False)

    def _on_compile_changed(self) -> None:
        if self._updating:
            return
        comp = self.spec.compile
        comp.optimizer = self.optimizer_combo.currentText()
        comp.learning_rate = float(self.lr_spin.value())
        comp.momentum = float(self.momentum_spin.value())
        comp.loss = LOSS_FOR_LABELS[self.labels_combo.currentData()]
        metrics = []
        for key, box in self.metric_checks.items():
            if box.isChecked():
                if key == "top5":
                    key = "sparse_top_k_categorical_accuracy" if comp.loss == "sparse_categorical_crossentropy" else "top_k_categorical_accuracy"
                metrics.append(key)
        comp.metrics = metrics
        self._update_enabled()
        self._changed(rebuild_form=False)

    def _on_follow_toggled(self, checked: bool) -> None:
        if checked and self.state.dataset is not None:
            self._apply_dataset(self.state.dataset)
            self._sync_inputs()
            self._changed(rebuild_form=False)
        self._update_enabled()

    def _apply_dataset(self, dataset: Any) -> None:
        shape = tuple(int(v) for v in getattr(dataset, "image_shape", ()) or ())
        classes = list(getattr(dataset, "class_names", []) or [])
        if len(shape) == 3:
            self.spec.input_shape = shape  # type: ignore[assignment]
        if classes:
            self.spec.num_classes = len(classes)
            if len(classes) > 2 and self.spec.compile.loss == "binary_crossentropy":
                # one sigmoid output cannot tell more than two classes apart: use softmax over the classes
                self.spec.compile.loss = "sparse_categorical_crossentropy"
                for layer in self.spec.layers:
                    if layer.kind == "Dense" and layer.get("units_from_classes") and layer.get("activation") == "sigmoid":
                        layer.params["activation"] = "softmax"

    def _on_dataset(self, dataset: Any) -> None:
        if dataset is None:
            self.dataset_label.setText("No data set chosen: type the shape in.")
            self._update_enabled()
            return
        shape = "×".join(str(v) for v in getattr(dataset, "image_shape", ()))
        n = len(getattr(dataset, "class_names", []) or [])
        self.dataset_label.setText(f"Data set “{getattr(dataset, 'name', 'current')}”: {shape}, {n} classes")
        if self.follow_dataset_check.isChecked():
            self._apply_dataset(dataset)
            self._sync_inputs()
            self._changed(rebuild_form=False)
        self._update_enabled()

    # ------------------------------------------------------------------ files
    def _open_design(self, p: Path) -> None:
        from convexplorer.core.workspace import read_json

        try:
            spec = ModelSpec.from_dict(read_json(p))
        except ConvExplorerError as exc:
            self._show_error(f"Cannot open {p.name}: {exc}")
            return
        self.current_path = p
        self._load_spec(spec, message=f"Design {p.name} opened")

    def _open_keras(self, p: Path, allow_unsafe: bool) -> None:
        worker = self.track(run_in_thread(_open_model, str(p), allow_unsafe))
        self._busy(True, f"Opening {p.name}…")
        worker.result.connect(lambda model, p=p: self._model_opened(p, model))
        worker.error.connect(lambda msg, det, p=p: self._model_failed(p, msg, det, allow_unsafe))
        worker.finished.connect(lambda: self._busy(False))

    def _model_opened(self, p: Path, model: Any) -> None:
        from convexplorer.core.errors import SpecError
        from convexplorer.core.modelio import spec_from_model

        self.state.set_model(model, p.name)
        try:
            spec = spec_from_model(model, name=p.stem)
        except SpecError as exc:
            self._show_info(f"{p.name} opened for inspection (see Inspect). It cannot be edited here: {exc}")
            return
        self._load_spec(spec, message=f"{p.name} opened: its layers are in the list, and the model is in Inspect")

    def _model_failed(self, p: Path, message: str, details: str, was_unsafe: bool) -> None:
        if not was_unsafe and "Lambda" in message:
            from convexplorer.core.modelio import UNSAFE_WARNING

            if self.confirm_unsafe(f"{message}\n\n{UNSAFE_WARNING}\n\nOpen {p.name} with safe mode off?"):
                self._open_keras(p, allow_unsafe=True)
                return
        self._show_error(message)

    def _ask_unsafe(self, text: str) -> bool:
        answer = QMessageBox.warning(self, "Allow unsafe code?", text,
                                     QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                     QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _check_exportable(self) -> bool:
        if not self.summary.valid:
            self._show_error(f"Fix the design first: {self.summary.error}")
            return False
        if not self.spec.layers:
            self._show_error("The design has no layers: add some from the palette first")
            return False
        return True

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a design or model", str(self.current_path or ""),
                                              "Designs and models (*.json *.keras *.h5);;All files (*)")
        if path:
            self.open_path(Path(path))

    def _on_save_clicked(self) -> None:
        default = str(self.current_path or f"{self.spec.name}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save design", default, "Designs (*.json)")
        if path:
            self.save_design(path if path.endswith(".json") else path + ".json")

    def _on_export_keras_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export Keras model", f"{self.spec.name}.keras", "Keras models (*.keras)")
        if path:
            self.export_keras(path if path.endswith(".keras") else path + ".keras")

    def _on_export_script_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export training script", f"train_{self.spec.name}.py", "Python (*.py)")
        if path:
            self.export_script(path if path.endswith(".py") else path + ".py")

    # ------------------------------------------------------------------ messages
    def _busy(self, on: bool, message: str = "") -> None:
        self.busy_bar.setVisible(on)
        for b in (self.export_keras_button, self.export_script_button, self.open_button):
            b.setEnabled(not on)
        if on and message:
            self._show_info(message)

    def _show_info(self, text: str) -> None:
        self.message_label.setStyleSheet("color:#333;")
        self.message_label.setText(text)
        self.state.status.emit(text)

    def _show_error(self, text: str, details: str = "") -> None:
        self.message_label.setStyleSheet("color:#a40e0e;")
        self.message_label.setText("✖ " + text)

    def _worker_error(self, message: str, details: str) -> None:
        self._show_error(message, details)


if __name__ == "__main__":
    raise SystemExit(preview(BuilderPanel))
