"""The design being edited, as plain Python: its spec, its summary and the edits the Builder makes.

No Qt here: :class:`Design` changes the :class:`~convexplorer.core.spec.ModelSpec`
and recomputes its :class:`~convexplorer.core.summary.Summary`; the panel
redraws its parts from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convexplorer.core.presets import PRESETS
from convexplorer.core.spec import LayerSpec, ModelSpec, make_layer
from convexplorer.core.summary import Summary, measured_base, summarize, tunable_layers

#: The preset the Builder starts with (and the one its screenshots show).
SCREENSHOT_PRESET = "MNIST convnet"

#: A pretrained base to measure: (application, input height/width/channels).
BaseKey = tuple[str, tuple[int, int, int]]


class Design:
    """A design being edited: the spec, its summary, the last valid summary and the file it came from."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec: ModelSpec = spec
        self.summary: Summary = summarize(spec)
        self.last_valid: Summary = self.summary
        self.current_path: Path | None = None

    def recompute(self) -> Summary:
        """Summarize the spec again (remembering it when valid); returns the summary."""
        self.summary = summarize(self.spec)
        if self.summary.valid:
            self.last_valid = self.summary
        return self.summary

    def error_index(self) -> int | None:
        """The layer to mark red: the first invalid one, unless it only waits for a measurement."""
        bad = self.summary.error_index
        if bad is not None and any(r.pending for r in self.summary.rows if r.layer_index == bad):
            return None  # waiting for a measurement is not a design error
        return bad

    def export_problem(self) -> str:
        """Why the design cannot be built now ("" when it can)."""
        if not self.summary.valid:
            return f"Fix the design first: {self.summary.error}"
        if not self.spec.layers:
            return "The design has no layers: add some from the palette first"
        return ""

    # ------------------------------------------------------------------ edits (each returns the row to select)
    def insert_layer(self, kind: str, index: int) -> int:
        """Insert a new layer of ``kind`` at ``index``."""
        layer = make_layer(kind)
        if kind == "Pretrained":
            layer.params["weights"] = "imagenet"
        self.spec.layers.insert(index, layer)
        return index

    def remove_layer(self, index: int) -> int | None:
        """Remove the layer at ``index`` (None if there is none)."""
        if not 0 <= index < len(self.spec.layers):
            return None
        del self.spec.layers[index]
        return min(index, len(self.spec.layers) - 1)

    def duplicate_layer(self, index: int) -> int | None:
        """Insert a copy of the layer at ``index`` right after it, without its custom name."""
        if not 0 <= index < len(self.spec.layers):
            return None
        src = self.spec.layers[index]
        self.spec.layers.insert(index + 1, LayerSpec(src.kind, dict(src.params), ""))
        return index + 1

    def move_layer(self, index: int, delta: int) -> int | None:
        """Move the layer at ``index`` by ``delta`` rows (None if it cannot move)."""
        target = index + delta
        layers = self.spec.layers
        if not (0 <= index < len(layers) and 0 <= target < len(layers)):
            return None
        layers.insert(target, layers.pop(index))
        return target

    def reorder(self, order: list[int], selected: int) -> int | None:
        """Put the layers in ``order`` (old indices); returns where ``selected`` went."""
        layers = self.spec.layers
        if sorted(order) != list(range(len(layers))):
            return None
        self.spec.layers = [layers[i] for i in order]
        return order.index(selected) if selected in order else 0

    def set_param(self, index: int, name: str, value: Any) -> LayerSpec:
        """Set one parameter of a layer, keeping a pretrained base's fine-tune layer consistent."""
        layer = self.spec.layers[index]
        layer.params[name] = value
        if layer.kind == "Pretrained" and name == "application":
            layer.params["fine_tune_from"] = ""
        self.fill_fine_tune_from()
        return layer

    def rename_layer(self, index: int, name: str) -> bool:
        """Give the layer at ``index`` a custom name; False if nothing changed."""
        if 0 <= index < len(self.spec.layers) and self.spec.layers[index].name != name.strip():
            self.spec.layers[index].name = name.strip()
            return True
        return False

    def apply_dataset(self, dataset: Any) -> None:
        """Take the input shape and classes from a data set (softmax when binary no longer fits)."""
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

    # ------------------------------------------------------------------ pretrained bases
    def fill_fine_tune_from(self) -> None:
        """Fine-tuning with no layer chosen: start from the last layer with weights (once it is known)."""
        for layer in self.spec.layers:
            if layer.kind == "Pretrained" and layer.get("trainable") == "fine_tune" and not layer.get("fine_tune_from"):
                names = tunable_layers(layer.get("application"))
                if names:
                    layer.params["fine_tune_from"] = names[-1]

    def bases_to_measure(self) -> set[BaseKey]:
        """The pretrained bases whose shapes and parameters the summary still needs."""
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


def preset_message(name: str, spec: ModelSpec, summary: Summary) -> str:
    """What to say once preset ``name`` is loaded as ``spec`` (and how it was adapted to the data set)."""
    original = PRESETS[name]
    if (spec.input_shape, spec.num_classes) == (original.input_shape, original.num_classes):
        return f'Preset "{name}" loaded. {original.description}'
    shape = "×".join(map(str, spec.input_shape))
    textbook = "×".join(map(str, original.input_shape))
    return (f'Preset "{name}" loaded and adapted to the data set ({shape}, {spec.num_classes} classes): '
            f"{summary.total:,} parameters. The textbook version ({textbook}, "
            f"{original.num_classes} classes) has {summarize(original).total:,}; untick "
            "\"Take them from the current data set\" to type another shape.")
