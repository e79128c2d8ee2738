"""The design being edited, as plain Python: its spec, its summary and the edits the Builder makes.

No Qt here: :class:`Design` changes the :class:`~convexplorer.core.spec.ModelSpec`
and recomputes its :class:`~convexplorer.core.summary.Summary`; the panel
redraws its parts from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convexplorer.core.blocks import refit_detection_heads
from convexplorer.core.errors import SpecError
from convexplorer.core.presets import PRESETS
from convexplorer.core.spec import INPUT_ID, HeadSpec, LayerSpec, ModelSpec, make_layer
from convexplorer.core.summary import KerasLayerKey, Summary, measured_base, summarize, tunable_layers

#: The preset the Builder starts with (and the one its screenshots show).
SCREENSHOT_PRESET = "MNIST convnet"

#: A pretrained base to measure: (application, input height/width/channels).
BaseKey = tuple[str, tuple[int, int, int]]


#: What the Builder measures with Keras on a worker: a pretrained base or a layer kept as Keras config.
MeasureKey = BaseKey | KerasLayerKey


class Design:
    """A design being edited: the spec, its summary, the last valid summary and the file it came from.

    A design is a *stack* while no node names its inputs (each reads the one
    before it): list edits (insert at an index, move, reorder) keep it one. Once
    it is a graph, "insert after" splices the new node in after the selected one.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.spec: ModelSpec = spec
        self.summary: Summary = summarize(spec)
        self.last_valid: Summary = self.summary
        self.current_path: Path | None = None
        #: Why the design cannot be edited (an opened model with a shared layer or a Lambda); None: editable.
        self.read_only: str | None = None
        #: Weights kept from an opened model: node id -> (fingerprint, weights); applied to unchanged nodes.
        self.initial_weights: dict[str, tuple[str, list[Any]]] = {}

    def is_stack(self) -> bool:
        """True while every node reads the one before it (no explicit inputs anywhere)."""
        return all(layer.inputs is None for layer in self.spec.layers)

    def published(self) -> ModelSpec:
        """A copy for the other panels; it carries the kept weights as ``initial_weights`` when there are any."""
        copy = self.spec.copy()
        if self.initial_weights:
            copy.initial_weights = self.initial_weights  # type: ignore[attr-defined] - read by the training job
        return copy

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
        """Insert a new layer of ``kind`` at ``index`` (a graph: spliced in after the node before ``index``)."""
        layer = make_layer(kind)
        if kind == "Pretrained":
            layer.params["weights"] = "imagenet"
        spec = self.spec
        index = max(0, min(index, len(spec.layers)))
        prev = spec.layers[index - 1].id if index > 0 else INPUT_ID
        if not self.is_stack():
            return self.insert_after(layer, prev)
        spec.layers.insert(index, layer)
        spec.ensure_ids()
        if index == len(spec.layers) - 1:
            self._follow_heads(prev, layer.id)
        return index

    def insert_after(self, layer: LayerSpec, prev: str) -> int:
        """Splice ``layer`` in after node ``prev``: it reads ``prev``, and what read ``prev`` reads it; returns its index."""
        spec = self.spec
        spec.make_explicit()
        index = 0 if prev == INPUT_ID else spec.index_of(prev) + 1
        had_readers = bool(spec.consumers().get(prev))
        spec.add_node(layer, [(prev, 0)], index)
        for node in spec.layers:
            if node is not layer and node.inputs:
                node.inputs = [(layer.id, 0) if ref == (prev, 0) else ref for ref in node.inputs]
        if not had_readers:
            self._follow_heads(prev, layer.id)
        return index

    def _follow_heads(self, old: str, new: str) -> None:
        """Heads on ``old`` move to ``new`` (a head named after its layer takes the new layer's name)."""
        names = dict(zip((layer.id for layer in self.spec.layers), self.spec.layer_names()))
        for head in self.spec.heads:
            if head.node == old:
                if head.name == names.get(old) and names.get(new):
                    head.name = names[new]
                head.node = new

    def remove_layer(self, index: int) -> int | None:
        """Remove the layer at ``index``; what read it reads its input instead (None if there is none)."""
        spec = self.spec
        if not 0 <= index < len(spec.layers):
            return None
        node = spec.layers[index]
        ins = spec.inputs_of(index)
        source = ins[0] if len(ins) == 1 else None
        stack = self.is_stack()
        if not stack:
            for other in spec.layers:
                if other is not node and other.inputs and source is not None:
                    other.inputs = [source if ref == (node.id, 0) else ref for ref in other.inputs]
        if source is not None and source[0] != INPUT_ID and not any(h.node == source[0] for h in spec.heads):
            self._follow_heads(node.id, source[0])
        if stack:
            del spec.layers[index]
            spec.heads = [h for h in spec.heads if h.node != node.id]
            for g in spec.groups:
                g.nodes = [n for n in g.nodes if n != node.id]
            spec.groups = [g for g in spec.groups if g.nodes]
        else:
            spec.remove_nodes([node.id])
        return min(index, len(spec.layers) - 1)

    def duplicate_layer(self, index: int) -> int | None:
        """Insert a copy of the layer at ``index`` right after it, without its custom name."""
        if not 0 <= index < len(self.spec.layers):
            return None
        src = self.spec.layers[index]
        copy = LayerSpec(src.kind, dict(src.params), "")
        if self.is_stack():
            self.spec.layers.insert(index + 1, copy)
            self.spec.ensure_ids()
            if index + 1 == len(self.spec.layers) - 1:
                self._follow_heads(src.id, copy.id)
            return index + 1
        return self.insert_after(copy, src.id)

    def move_layer(self, index: int, delta: int) -> int | None:
        """Move the layer at ``index`` by ``delta`` rows (None if it cannot move; a graph is wired, not ordered)."""
        target = index + delta
        layers = self.spec.layers
        if not self.is_stack() or not (0 <= index < len(layers) and 0 <= target < len(layers)):
            return None
        layers.insert(target, layers.pop(index))
        return target

    def reorder(self, order: list[int], selected: int) -> int | None:
        """Put the layers in ``order`` (old indices); returns where ``selected`` went (None: refused)."""
        layers = self.spec.layers
        if not self.is_stack() or sorted(order) != list(range(len(layers))):
            return None
        self.spec.layers = [layers[i] for i in order]
        return order.index(selected) if selected in order else 0

    def insert_block(self, name: str, selected: list[str]) -> list[str]:
        """Add block ``name`` after the selected node (a U-Net up stage: the later of two, the earlier is the skip).

        The block is spliced in like a layer (what read the source reads the block's
        output), except a localization head, which branches off as a second head.
        Returns the new node ids; raises SpecError when it cannot be added.
        """
        from convexplorer.core.blocks import BLOCKS, insert_block

        spec = self.spec
        if name not in BLOCKS:
            raise SpecError(f'unknown block "{name}"')
        chosen = [n for n in selected if n != INPUT_ID] or ([spec.layers[-1].id] if spec.layers else [INPUT_ID])
        if INPUT_ID in selected and len(selected) == 1:
            chosen = [INPUT_ID]
        skip = None
        if "skip" in BLOCKS[name].sources:
            if len(chosen) != 2:
                raise SpecError(f"{name}: select two layers (Ctrl+click): the deeper one it reads and the skip "
                                "(the down stage's output before its pooling)")
            skip, chosen = (chosen[0], 0), [chosen[1]]
        source = chosen[-1]
        had_readers = bool(spec.consumers().get(source))
        spec.make_explicit()
        result = insert_block(spec, name, (source, 0), skip)
        out = result.output
        if name != "Localization head":
            new = set(result.nodes)
            for node in spec.layers:
                if node.id not in new and node.inputs:
                    node.inputs = [out if ref == (source, 0) else ref for ref in node.inputs]
            if not had_readers:
                self._follow_heads(source, out[0])
            spec.sort_topologically()
        return list(result.nodes)

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

    # ------------------------------------------------------------------ heads
    def make_head(self, node_id: str) -> str:
        """Make a node an output of the model (a new head, with the compile settings' loss); returns its name."""
        spec = self.spec
        if node_id == INPUT_ID:
            raise SpecError("the image input cannot be an output: select a layer")
        spec.pin_heads()
        if any(h.node == node_id for h in spec.heads):
            raise SpecError("this layer is already a head")
        taken = {h.name for h in spec.heads}
        name = spec.layer_names()[spec.index_of(node_id)]
        base, k = name, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        spec.heads.append(HeadSpec(name, node_id, spec.compile.loss, 1.0, list(spec.compile.metrics)))
        return name

    def remove_head(self, index: int) -> None:
        """Stop using head ``index`` as an output (a model keeps at least one)."""
        spec = self.spec
        spec.pin_heads()
        if len(spec.heads) <= 1:
            raise SpecError("a model needs at least one output: make another layer a head first")
        del spec.heads[index]

    def set_head(self, index: int, field: str, value: Any) -> None:
        """Change one field of head ``index`` (name, loss, loss_weight, metrics, target)."""
        spec = self.spec
        spec.pin_heads()
        head = spec.heads[index]
        setattr(head, field, list(value) if field == "metrics" else value)
        if len(spec.heads) == 1 and field in ("loss", "metrics"):
            setattr(spec.compile, field, list(value) if field == "metrics" else value)

    def sync_single_head(self) -> None:
        """With one head, the compile settings' loss and metrics are the head's (the form edits them)."""
        if len(self.spec.heads) == 1:
            self.spec.heads[0].loss = self.spec.compile.loss
            self.spec.heads[0].metrics = list(self.spec.compile.metrics)

    def apply_dataset(self, dataset: Any) -> None:
        """Take the input shape and classes from a data set (softmax when binary no longer fits)."""
        shape = tuple(int(v) for v in getattr(dataset, "image_shape", ()) or ())
        classes = list(getattr(dataset, "class_names", []) or [])
        if len(shape) == 3:
            self.spec.input_shape = shape  # type: ignore[assignment]
        if classes:
            self.spec.num_classes = len(classes)
        refit_detection_heads(self.spec)  # a detection grid follows the input's size and the classes
        if classes:
            if len(classes) > 2 and self.spec.compile.loss == "binary_crossentropy":
                # one sigmoid output cannot tell more than two classes apart: use softmax over the classes
                self.spec.compile.loss = "sparse_categorical_crossentropy"
                for layer in self.spec.layers:
                    if layer.kind == "Dense" and layer.get("units_from_classes") and layer.get("activation") == "sigmoid":
                        layer.params["activation"] = "softmax"
                self.sync_single_head()

    # ------------------------------------------------------------------ pretrained bases
    def fill_fine_tune_from(self) -> None:
        """Fine-tuning with no layer chosen: start from the last layer with weights (once it is known)."""
        for layer in self.spec.layers:
            if layer.kind == "Pretrained" and layer.get("trainable") == "fine_tune" and not layer.get("fine_tune_from"):
                names = tunable_layers(layer.get("application"))
                if names:
                    layer.params["fine_tune_from"] = names[-1]

    def bases_to_measure(self) -> set[MeasureKey]:
        """The pretrained bases and kept Keras layers whose shapes and parameters the summary still needs."""
        from convexplorer.core.spec import KNOWN_APPLICATIONS
        from convexplorer.core.zoo import APPLICATIONS

        keys: set[MeasureKey] = set(self.summary.pending) | set(self.summary.pending_layers)
        spec = self.spec
        for i, layer in enumerate(spec.layers):
            app = layer.get("application") if layer.kind == "Pretrained" else None
            if app is None or app in KNOWN_APPLICATIONS or app not in APPLICATIONS:
                continue
            ins = spec.inputs_of(i)
            if len(ins) != 1:
                continue
            src = ins[0][0]
            shape = (None, *spec.input_shape) if src == INPUT_ID else self.summary.node_shapes.get(src)
            if shape is None or len(shape) != 4 or any(v is None for v in shape[1:]):
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
