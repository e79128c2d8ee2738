"""The graph canvas: a design drawn as boxes and arrows, edited with the mouse and keyboard, every edit undoable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QUndoStack
from PySide6.QtWidgets import QVBoxLayout, QWidget

from convexplorer.core.errors import SpecError
from convexplorer.core.layer_kinds import LAYER_KINDS
from convexplorer.core.layout import layout_graph
from convexplorer.core.spec import INPUT_ID, LayerSpec, ModelSpec, PortRef, make_layer
from convexplorer.core.summary import Summary
from convexplorer.ui.widgets.array_view import guard_pyside_refcounts

from . import style
from .clipboard import MIME_TYPE, nodes_from_json, nodes_to_json, unique_name
from .commands import (
    AddNodeCommand,
    CollapseCommand,
    ConnectCommand,
    DeleteCommand,
    DisconnectCommand,
    GroupCommand,
    LayoutCommand,
    MoveCommand,
    ParamsCommand,
    PasteCommand,
    SpecCommand,
    UngroupCommand,
)
from .node_item import NodeLook
from .scene import DrawnEdge, GraphScene
from .view import KIND_MIME_TYPE, GraphView

guard_pyside_refcounts()  # every redraw makes many void Qt calls (see its docstring)

Point = tuple[float, float]


@dataclass
class CanvasState:
    """What undo gives back: the design and where the canvas drew the nodes the user did not place."""

    spec: ModelSpec
    auto: dict[str, Point]

    def same_as(self, other: CanvasState) -> bool:
        """True when both states draw the same design the same way."""
        return self.auto == other.auto and self.spec.to_dict() == other.spec.to_dict()


@dataclass
class _NodeInfo:
    shape: str = ""
    params: int | None = None
    error: str = ""


class GraphCanvas(QWidget):
    """A design as a graph: add, connect, move, group, copy/paste, auto-layout; all through a QUndoStack."""

    #: The design changed (an edit, an undo or a redo); ``spec`` is the same object, changed in place.
    spec_changed = Signal()
    #: The selected node ids ("input" for the image input; a collapsed group gives its members).
    selection_changed = Signal(list)
    #: Something to tell the user (a refused edit says why).
    message = Signal(str)
    #: A node was double-clicked (its id): the place to open its parameters.
    node_activated = Signal(str)

    PASTE_STEP = 40.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spec = ModelSpec()
        self._auto: dict[str, Point] = {}
        self._errors: dict[str, str] = {}
        self._info: dict[str, _NodeInfo] = {}
        self._pastes = 0
        self._by_id: dict[str, LayerSpec] = {}
        self._by_id_of: list[LayerSpec] | None = None
        self._read_only = ""
        self.undo_stack = QUndoStack(self)
        self.scene = GraphScene(self)
        self.view = GraphView(self.scene, self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.scene.connect_requested.connect(self._on_connect_requested)
        self.scene.nodes_moved.connect(self._on_moved)
        self.scene.expand_requested.connect(lambda name: self.set_collapsed(name, False))
        self.scene.collapse_requested.connect(lambda name: self.set_collapsed(name, True))
        self.scene.node_activated.connect(self.node_activated)
        self.scene.selectionChanged.connect(self._on_selection)
        self.view.dropped.connect(self._on_drop)
        self.edit_actions: dict[str, QAction] = {}
        self._make_actions()
        self.setMinimumSize(320, 240)

    # --- public API -----------------------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        """The design being edited (edits change this object in place)."""
        return self._spec

    def set_spec(self, spec: ModelSpec, fit: bool = True) -> None:
        """Edit ``spec`` (kept by reference); forgets the undo history and lays out nodes without a position."""
        self._spec = spec
        self._auto = {}
        self._info = {}
        self._errors = {}
        self.undo_stack.clear()
        self.place_unplaced()
        self.refresh(emit=False)
        if fit:
            self.fit()

    def set_node_errors(self, errors: Mapping[str, str]) -> None:
        """Draw these nodes red with the message (node id -> what was expected and what was received)."""
        self._errors = dict(errors)
        self.refresh(emit=False)

    @property
    def read_only(self) -> str:
        """Why the design cannot be edited ("" when it can)."""
        return self._read_only

    def set_read_only(self, reason: str | None) -> None:
        """Lock the design against edits (refused with ``reason``; boxes still move and groups still fold), or unlock it."""
        self._read_only = reason or ""

    def show_summary(self, summary: Summary, errors: Mapping[str, str]) -> None:
        """:meth:`set_summary` and :meth:`set_node_errors` at once (one redraw)."""
        self._errors = dict(errors)
        self.set_summary(summary)

    def set_summary(self, summary: Summary) -> None:
        """Show output shapes, parameter counts and shape errors from ``summarize(spec)``."""
        info: dict[str, _NodeInfo] = {}
        layers = self._spec.layers
        for row in summary.rows:
            node_id = getattr(row, "node_id", None)
            if not node_id:
                if row.layer_index is None:
                    node_id = INPUT_ID if row.kind == "InputLayer" else None
                elif 0 <= row.layer_index < len(layers):
                    node_id = layers[row.layer_index].id
            if not node_id:
                continue
            entry = info.setdefault(node_id, _NodeInfo(params=0))
            entry.params = (entry.params or 0) + int(row.params)
            if row.pending:
                entry.shape = "measuring…"
            elif row.output_shape is not None:
                entry.shape = style.shape_text(row.output_shape)
            if row.error and not row.pending and not entry.error:
                entry.error = row.error
        self._info = info
        self.refresh(emit=False)

    def selected_ids(self) -> list[str]:
        """Selected node ids in design order (a collapsed group stands for its members)."""
        chosen: set[str] = set()
        for sid in self.scene.selected_box_ids():
            if sid.startswith(style.GROUP_PREFIX):
                chosen.update(self._group(sid[len(style.GROUP_PREFIX):]).nodes)
            else:
                chosen.add(sid)
        order = [INPUT_ID] + [layer.id for layer in self._spec.layers]
        return [n for n in order if n in chosen]

    def select(self, node_ids: Sequence[str]) -> None:
        """Select these nodes (their group's box when it is collapsed) and nothing else."""
        boxes = {self._box_of(n) for n in node_ids}
        self.scene.blockSignals(True)
        try:
            self.scene.clearSelection()
            for sid in boxes:
                item = self.scene.node_items.get(sid)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.scene.blockSignals(False)
        self._on_selection()

    def display_position(self, node_id: str) -> Point:
        """Where the box of a node (or the input) is drawn: its own position or the auto-layout's."""
        if node_id != INPUT_ID:
            layers = self._spec.layers
            if self._by_id_of is not layers or len(self._by_id) != len(layers):  # the list was replaced or resized
                self._by_id = {layer.id: layer for layer in layers}
                self._by_id_of = layers
            layer = self._by_id.get(node_id)
            pos = (layer if layer is not None and layer.id == node_id else self._spec.node(node_id)).position
            if pos is not None:
                return pos
        return self._auto[node_id]

    def add_node(self, kind: str, position: Point | None = None, params: Mapping[str, Any] | None = None,
                 inputs: Sequence[PortRef] | None = None, name: str = "") -> str | None:
        """Add a layer of ``kind``; fed by ``inputs`` or else the one selected node (or the image in an empty design)."""
        if kind not in LAYER_KINDS:
            self.message.emit(f'unknown layer type "{kind}"')
            return None
        layer = make_layer(kind, name, **dict(params or {}))
        if inputs is None:
            selected = self.selected_ids()
            if len(selected) == 1 and LAYER_KINDS[kind].max_inputs != 0:
                inputs = [(selected[0], 0)]
            elif not self._spec.layers:
                inputs = [(INPUT_ID, 0)]
            else:
                inputs = []
        cmd = AddNodeCommand(self, layer, inputs, position)
        if not self.execute(cmd):
            return None
        self.select([cmd.node_id])
        return cmd.node_id

    def delete_selection(self) -> bool:
        """Delete the selected nodes (with their edges) and selected edges."""
        nodes = [n for n in self.selected_ids() if n != INPUT_ID]
        edges = [(e.key[2], e.key[3]) for e in self.scene.selected_edges()]
        if not nodes and not edges:
            return False
        return self.execute(DeleteCommand(self, nodes, edges))

    def connect_nodes(self, source: str, target: str, port: int | None = None, source_port: int = 0) -> bool:
        """Connect ``source``'s output to ``target`` (input ``port``, None: the next free one); False if refused."""
        if source.startswith(style.GROUP_PREFIX) or target.startswith(style.GROUP_PREFIX):
            self.message.emit("expand the group first to connect to a layer inside it")
            return False
        if target == INPUT_ID:
            self.message.emit("the image input has no inputs: connect from its output port instead")
            return False
        try:
            index = self._spec.index_of(target)
        except SpecError as exc:
            self.message.emit(str(exc))
            return False
        layer = self._spec.layers[index]
        n = len(self._spec.inputs_of(index))
        most = LAYER_KINDS[layer.kind].max_inputs if layer.kind in LAYER_KINDS else None
        if port is None or port >= n:
            port = n
            if most is not None and n >= most:
                if most == 1:
                    port = 0  # a one-input layer: the new edge replaces the old one
                else:
                    self.message.emit(f"{layer.kind} takes {most} inputs and {n} are connected: disconnect one first")
                    return False
        return self.execute(ConnectCommand(self, source, target, port, source_port))

    def disconnect_input(self, target: str, port: int) -> bool:
        """Remove input ``port`` of ``target``."""
        return self.execute(DisconnectCommand(self, target, port))

    def move_nodes(self, moves: Mapping[str, Point]) -> bool:
        """Place nodes (ids or the input) at these top-left positions."""
        return self.execute(MoveCommand(self, moves))

    def set_params(self, node_id: str, params: Mapping[str, Any], name: str | None = None) -> bool:
        """Change parameters (and the name when given) of one node, undoably."""
        return self.execute(ParamsCommand(self, node_id, params, name))

    def group_selection(self, name: str | None = None) -> bool:
        """Group the selected nodes as a named block (``block``, ``block_2``... when no name is given)."""
        ids = [n for n in self.selected_ids() if n != INPUT_ID]
        name = name or unique_name("block", {g.name for g in self._spec.groups})
        return self.execute(GroupCommand(self, ids, name))

    def ungroup_selection(self) -> bool:
        """Dissolve the groups that hold a selected node."""
        chosen = set(self.selected_ids())
        names = [g.name for g in self._spec.groups if chosen & set(g.nodes)]
        if not names:
            self.message.emit("select a layer of a group to ungroup it")
            return False
        return self.execute(UngroupCommand(self, names))

    def set_collapsed(self, name: str, collapsed: bool) -> bool:
        """Collapse group ``name`` into one box, or expand it."""
        return self.execute(CollapseCommand(self, name, collapsed))

    def copy_selection(self) -> str:
        """Put the selected nodes on the clipboard as JSON (returned too; empty when nothing is selected)."""
        ids = [n for n in self.selected_ids() if n != INPUT_ID]
        if not ids:
            return ""
        text = nodes_to_json(self._spec, ids, {n: self.display_position(n) for n in ids})
        # As text: a QMimeData made in Python would be owned by Qt's clipboard and deleted by it
        # after Python has finalized, which crashed the interpreter at exit (shiboken, no thread state).
        QGuiApplication.clipboard().setText(text)
        self._pastes = 0
        return text

    def cut_selection(self) -> bool:
        """Copy the selection, then delete it."""
        return bool(self.copy_selection()) and self.delete_selection()

    def paste(self, text: str | None = None, position: Point | None = None) -> list[str]:
        """Paste copied nodes (from ``text`` or the clipboard), shifted a step or with their top-left at ``position``."""
        if text is None:
            mime = QGuiApplication.clipboard().mimeData()
            if mime is None:
                return []
            text = bytes(mime.data(MIME_TYPE).data()).decode() if mime.hasFormat(MIME_TYPE) else mime.text()
        try:
            payload = nodes_from_json(text)
        except SpecError as exc:
            self.message.emit(str(exc))
            return []
        spots = [d.get("position") for d in payload["layers"] if d.get("position")]
        if position is not None and spots:
            offset = (position[0] - min(p[0] for p in spots), position[1] - min(p[1] for p in spots))
        else:
            self._pastes += 1
            offset = (self.PASTE_STEP * self._pastes, self.PASTE_STEP * self._pastes)
        cmd = PasteCommand(self, payload, offset)
        if not self.execute(cmd):
            return []
        self.select(cmd.new_ids)
        return list(cmd.new_ids)

    def auto_layout(self, keep_user_positions: bool = True) -> bool:
        """Lay the graph out in rows, top to bottom; positions the user set stay unless told otherwise."""
        done = self.execute(LayoutCommand(self, keep_user_positions))
        self.fit()
        return done

    def fit(self) -> None:
        """Zoom and scroll to show the whole graph."""
        self.view.fit()

    def execute(self, cmd: SpecCommand) -> bool:
        """Make an edit and put it on the undo stack; a refused edit sends ``message`` and changes nothing."""
        if self._read_only and not isinstance(cmd, (MoveCommand, CollapseCommand)):
            self.message.emit(f"this design cannot be edited: {self._read_only}")
            self.refresh(emit=False)
            return False
        try:
            cmd.prepare()
        except SpecError as exc:
            self.message.emit(str(exc))
            self.refresh(emit=False)
            return False
        if cmd.changes_nothing():
            self.refresh(emit=False)
            return False
        self.undo_stack.push(cmd)
        return True

    # --- state used by the commands -----------------------------------------------------
    def snapshot(self) -> CanvasState:
        """The design and the automatic positions, copied."""
        return CanvasState(self._spec.copy(), dict(self._auto))

    def restore(self, state: CanvasState) -> None:
        """Put a snapshot back into the same ModelSpec object."""
        self._spec.__dict__.update(state.spec.copy().__dict__)
        self._auto = dict(state.auto)

    def set_positions(self, moves: Mapping[str, Point]) -> None:
        """Positions the user chose (boxes dragged); the input's is kept by the canvas."""
        for node_id, pos in moves.items():
            if node_id == INPUT_ID:
                self._auto[INPUT_ID] = pos
            else:
                self._spec.node(node_id).position = pos

    def place_unplaced(self) -> None:
        """Give nodes drawn nowhere yet a place that flows around the others (the input too)."""
        spec = self._spec
        ids = [INPUT_ID] + [layer.id for layer in spec.layers]
        by_id = {layer.id: layer for layer in spec.layers}
        placed = {}
        for n in ids:
            pos = None if n == INPUT_ID else by_id[n].position
            pos = pos if pos is not None else self._auto.get(n)
            if pos is not None:
                placed[n] = pos
        if len(placed) == len(ids):
            return
        result = layout_graph(ids, [(e.source, e.target, e.target_port) for e in spec.edges()], placed)
        for n in ids:
            if n not in placed:
                self._auto[n] = result[n]

    def apply_layout(self, keep_user_positions: bool) -> None:
        """Recompute the automatic positions of the drawn boxes (a collapsed group moves as one)."""
        spec = self._spec
        if not keep_user_positions:
            for layer in spec.layers:
                layer.position = None
        self.place_unplaced()
        boxes, edges = self._visible_graph()
        pinned: dict[str, Point] = {}
        for sid in boxes:
            if sid.startswith(style.GROUP_PREFIX):
                members = self._group(sid[len(style.GROUP_PREFIX):]).nodes
                if any(spec.node(m).position is not None for m in members):
                    pinned[sid] = self._box_position(sid)
            elif sid != INPUT_ID and spec.node(sid).position is not None:
                pinned[sid] = spec.node(sid).position  # type: ignore[assignment]
        result = layout_graph(boxes, [(e.source, e.target, e.target_port) for e in edges], pinned)
        for sid, pos in result.items():
            if sid in pinned:
                continue
            if sid.startswith(style.GROUP_PREFIX):
                old = self._box_position(sid)
                dx, dy = pos[0] - old[0], pos[1] - old[1]
                for m in self._group(sid[len(style.GROUP_PREFIX):]).nodes:
                    x, y = self.display_position(m)
                    if spec.node(m).position is not None:
                        spec.node(m).position = (x + dx, y + dy)
                    else:
                        self._auto[m] = (x + dx, y + dy)
            else:
                self._auto[sid] = pos

    # --- drawing ------------------------------------------------------------------------
    def refresh(self, emit: bool = True) -> None:
        """Redraw the design as it is now; with ``emit``, tell listeners it changed."""
        self.place_unplaced()
        spec = self._spec
        boxes_ids, edges = self._visible_graph()
        names = spec.layer_names()
        index = {layer.id: i for i, layer in enumerate(spec.layers)}
        problems = spec.wiring_problems()
        heads: dict[str, list[str]] = {}
        implied = not spec.heads
        for h in spec.output_heads():
            heads.setdefault(h.node, []).append("output" if implied else h.name)
        incoming: dict[str, int] = {}
        for e in edges:
            incoming[e.target] = max(incoming.get(e.target, 0), e.target_port + 1)
        boxes = []
        for sid in boxes_ids:
            if sid == INPUT_ID:
                info = self._info.get(INPUT_ID, _NodeInfo())
                h, w, c = spec.input_shape
                look = NodeLook("input", "Input", "Input", info.shape or f"{h}×{w}×{c}", None,
                                self._errors.get(INPUT_ID, info.error), n_inputs=0)
            elif sid.startswith(style.GROUP_PREFIX):
                look = self._group_look(sid, names, index, problems, heads, incoming.get(sid, 0))
            else:
                i = index[sid]
                layer = spec.layers[i]
                info = self._info.get(sid, _NodeInfo())
                n = len(spec.inputs_of(i))
                kind = LAYER_KINDS.get(layer.kind)
                most = kind.max_inputs if kind else 1
                ports = max(n + (1 if most is None or n < most else 0), kind.min_inputs if kind else 1)
                error = self._errors.get(sid) or problems.get(sid) or info.error
                look = NodeLook(names[i], layer.kind, kind.group if kind else "Core", info.shape, info.params, error,
                                heads.get(sid, []), ports, frozenset(range(n)))
            boxes.append((sid, look, self._box_position(sid)))
        frames = [(g.name, list(g.nodes)) for g in spec.groups if not g.collapsed]
        self.scene.sync(boxes, edges, frames)
        if emit:
            self.spec_changed.emit()

    def _group_look(self, sid: str, names: list[str], index: dict[str, int], problems: dict[str, str],
                    heads: dict[str, list[str]], n_in: int) -> NodeLook:
        group = self._group(sid[len(style.GROUP_PREFIX):])
        members = sorted(group.nodes, key=lambda n: index[n])
        inside = set(members)
        readers = self._spec.consumers()
        leaving = [m for m in members if any(r not in inside for r in readers.get(m, [])) or m in heads]
        last = (leaving or members)[-1]
        info = self._info.get(last, _NodeInfo())
        params = sum(self._info[m].params or 0 for m in members if m in self._info) if self._info else None
        error = ""
        for m in members:
            why = self._errors.get(m) or problems.get(m) or self._info.get(m, _NodeInfo()).error
            if why:
                error = f"{names[index[m]]}: {why}"
                break
        head_names = [h for m in members for h in heads.get(m, [])]
        return NodeLook(group.name, "block", "Blocks", info.shape, params, error, head_names, max(n_in, 1),
                        frozenset(range(n_in)), members=len(members))

    def _group(self, name: str) -> Any:
        for g in self._spec.groups:
            if g.name == name:
                return g
        raise SpecError(f'no group is named "{name}"')

    def _box_of(self, node_id: str) -> str:
        for g in self._spec.groups:
            if g.collapsed and node_id in g.nodes:
                return style.GROUP_PREFIX + g.name
        return node_id

    def _box_position(self, sid: str) -> Point:
        if sid.startswith(style.GROUP_PREFIX):
            spots = [self.display_position(m) for m in self._group(sid[len(style.GROUP_PREFIX):]).nodes]
            return (min(x for x, _ in spots), min(y for _, y in spots))
        return self.display_position(sid)

    def _visible_graph(self) -> tuple[list[str], list[DrawnEdge]]:
        """Boxes in design order (a collapsed group once, where its first member is) and the edges between them."""
        spec = self._spec
        boxes: list[str] = [INPUT_ID]
        seen = {INPUT_ID}
        for layer in spec.layers:
            sid = self._box_of(layer.id)
            if sid not in seen:
                seen.add(sid)
                boxes.append(sid)
        edges: list[DrawnEdge] = []
        group_ports: dict[str, int] = {}
        for e in spec.edges():
            s, t = self._box_of(e.source), self._box_of(e.target)
            if s == t:
                continue
            if t.startswith(style.GROUP_PREFIX):
                port = group_ports.get(t, 0)
                group_ports[t] = port + 1
            else:
                port = e.target_port
            edges.append(DrawnEdge(s, t, e.source_port, port, (e.source, e.source_port, e.target, e.target_port)))
        return boxes, edges

    # --- interaction ------------------------------------------------------------------------
    def _on_selection(self) -> None:
        self.selection_changed.emit(self.selected_ids())

    def _on_connect_requested(self, source: str, target: str, port: object) -> None:
        self.connect_nodes(source, target, port if isinstance(port, int) else None)

    def _on_moved(self, moved: dict) -> None:
        moves: dict[str, Point] = {}
        for sid, pos in moved.items():
            if sid.startswith(style.GROUP_PREFIX):
                old = self._box_position(sid)
                dx, dy = pos[0] - old[0], pos[1] - old[1]
                for m in self._group(sid[len(style.GROUP_PREFIX):]).nodes:
                    x, y = self.display_position(m)
                    moves[m] = (x + dx, y + dy)
            else:
                moves[sid] = pos
        if not self.move_nodes(moves):
            self.refresh(emit=False)

    def _on_drop(self, mime: QMimeData, pos: QPointF) -> None:
        at = (pos.x() - style.NODE_W / 2, pos.y() - style.NODE_H / 2)
        if mime.hasFormat(KIND_MIME_TYPE):
            kind = bytes(mime.data(KIND_MIME_TYPE).data()).decode()
            self.add_node(kind, at, inputs=[])
        elif mime.hasFormat(MIME_TYPE):
            self.paste(bytes(mime.data(MIME_TYPE).data()).decode(), at)

    def _make_actions(self) -> None:
        def make(key: str, text: str, shortcuts: Sequence[QKeySequence.StandardKey | str], slot: Any) -> QAction:
            action = QAction(text, self)
            keys: list[QKeySequence] = []
            for s in shortcuts:
                found = QKeySequence.keyBindings(s) if isinstance(s, QKeySequence.StandardKey) else [QKeySequence(s)]
                keys.extend(k for k in found if not k.isEmpty() and k not in keys)
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            self.edit_actions[key] = action
            return action

        make("delete", "Delete", [QKeySequence.StandardKey.Delete, "Backspace"], self.delete_selection)
        make("copy", "Copy", [QKeySequence.StandardKey.Copy], self.copy_selection)
        make("cut", "Cut", [QKeySequence.StandardKey.Cut], self.cut_selection)
        make("paste", "Paste", [QKeySequence.StandardKey.Paste], lambda: self.paste())
        make("undo", "Undo", [QKeySequence.StandardKey.Undo], self.undo_stack.undo)
        make("redo", "Redo", [QKeySequence.StandardKey.Redo, "Ctrl+Y", "Ctrl+Shift+Z"], self.undo_stack.redo)
        make("group", "Group as a block", ["Ctrl+G"], lambda: self.group_selection())
        make("ungroup", "Ungroup", ["Ctrl+Shift+G"], self.ungroup_selection)
        make("fit", "Fit to view", ["F"], self.fit)
        make("layout", "Auto-layout", ["L"], lambda: self.auto_layout())
        make("select_all", "Select all", [QKeySequence.StandardKey.SelectAll],
             lambda: self.select([INPUT_ID] + [layer.id for layer in self._spec.layers]))
        self.undo_stack.canUndoChanged.connect(self.edit_actions["undo"].setEnabled)
        self.undo_stack.canRedoChanged.connect(self.edit_actions["redo"].setEnabled)
        self.edit_actions["undo"].setEnabled(False)
        self.edit_actions["redo"].setEnabled(False)
