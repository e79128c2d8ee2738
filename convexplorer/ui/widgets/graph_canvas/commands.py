"""Undoable edits of a design on the canvas, one QUndoCommand each, applied with ModelSpec's editing methods.

Each command makes its change once (:meth:`SpecCommand.prepare`, through
``add_node``, ``remove_nodes``, ``connect``, ``disconnect``...) and keeps the
design as it was before and after, so that undo and redo give back exactly the
same ``spec.to_dict()`` (a chain made explicit by an edit comes back as a
chain). A refused edit (a cycle, a self-loop) raises SpecError from
``prepare`` and leaves the design untouched; the canvas then shows the message
and pushes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

from convexplorer.core.errors import SpecError
from convexplorer.core.spec import INPUT_ID, GroupSpec, LayerSpec, ModelSpec, PortRef

from .clipboard import paste_nodes

if TYPE_CHECKING:
    from .canvas import CanvasState, GraphCanvas

_MOVE_ID = 1
_PARAMS_ID = 2


def follow_head(spec: ModelSpec, source: str, target: str) -> None:
    """Extending the output: when the only head's node now feeds a node that feeds nothing, the head moves there.

    This keeps the stack builder's habit (the last layer is the output) on the
    canvas; a head named after its node takes the new node's name.
    """
    if len(spec.heads) != 1 or spec.heads[0].node != source or source == INPUT_ID:
        return
    if spec.consumers().get(target):
        return
    head = spec.heads[0]
    names = dict(zip((layer.id for layer in spec.layers), spec.layer_names()))
    if head.name == names.get(source):
        head.name = names.get(target, head.name)
    head.node = target


class SpecCommand(QUndoCommand):
    """An edit of the canvas's design: made once by :meth:`edit`, then undone/redone from snapshots."""

    def __init__(self, canvas: GraphCanvas, text: str) -> None:
        super().__init__(text)
        self.canvas = canvas
        self._before: CanvasState | None = None
        self._after: CanvasState | None = None

    def edit(self) -> None:
        """Change ``self.canvas.spec`` (raise SpecError to refuse)."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Make the edit now; on SpecError put everything back and re-raise."""
        canvas = self.canvas
        self._before = canvas.snapshot()
        try:
            self.edit()
            canvas.place_unplaced()
        except SpecError:
            canvas.restore(self._before)
            raise
        self._after = canvas.snapshot()

    def changes_nothing(self) -> bool:
        """True when the edit left the design and the drawing as they were."""
        return self._before is not None and self._after is not None and self._before.same_as(self._after)

    def redo(self) -> None:  # noqa: D401 - Qt override
        if self._after is None:
            self.prepare()
        else:
            self.canvas.restore(self._after)
        self.canvas.refresh()

    def undo(self) -> None:  # noqa: D401 - Qt override
        assert self._before is not None
        self.canvas.restore(self._before)
        self.canvas.refresh()


class AddNodeCommand(SpecCommand):
    """Add one layer, fed by ``inputs`` (empty: unconnected), at ``position`` (None: placed automatically)."""

    def __init__(self, canvas: GraphCanvas, layer: LayerSpec, inputs: Sequence[PortRef],
                 position: tuple[float, float] | None = None) -> None:
        super().__init__(canvas, f"add {layer.kind}")
        self.layer, self.inputs, self.position = layer, list(inputs), position
        self.node_id = ""

    def edit(self) -> None:
        spec = self.canvas.spec
        spec.pin_heads()
        layer = spec.add_node(self.layer, self.inputs)
        if self.position is not None:
            layer.position = (float(self.position[0]), float(self.position[1]))
        self.node_id = layer.id
        if len({src for src, _ in self.inputs}) == 1:
            follow_head(spec, self.inputs[0][0], layer.id)


class DeleteCommand(SpecCommand):
    """Delete nodes (with every edge into and out of them) and single edges (target id, input port)."""

    def __init__(self, canvas: GraphCanvas, node_ids: Sequence[str], edges: Sequence[tuple[str, int]] = ()) -> None:
        n, e = len(node_ids), len(edges)
        what = ", ".join(p for p in (f"{n} layer{'s' * (n != 1)}" if n else "", f"{e} connection{'s' * (e != 1)}" if e else "") if p)
        super().__init__(canvas, f"delete {what}")
        self.node_ids = [i for i in node_ids if i != INPUT_ID]
        self.edges = list(edges)

    def edit(self) -> None:
        spec = self.canvas.spec
        gone = set(self.node_ids)
        for target, port in sorted(self.edges, key=lambda tp: -tp[1]):  # later ports first: the others keep their numbers
            if target not in gone:
                spec.disconnect(target, port)
        if gone:
            spec.remove_nodes(gone)


class ConnectCommand(SpecCommand):
    """Feed ``source``'s output into input ``port`` of ``target`` (None: a new last input)."""

    def __init__(self, canvas: GraphCanvas, source: str, target: str, port: int | None = None, source_port: int = 0) -> None:
        super().__init__(canvas, "connect")
        self.source, self.target, self.port, self.source_port = source, target, port, source_port

    def edit(self) -> None:
        spec = self.canvas.spec
        spec.pin_heads()
        spec.connect(self.source, self.target, self.port, self.source_port)
        follow_head(spec, self.source, self.target)


class DisconnectCommand(SpecCommand):
    """Remove input ``port`` of ``target``."""

    def __init__(self, canvas: GraphCanvas, target: str, port: int) -> None:
        super().__init__(canvas, "disconnect")
        self.target, self.port = target, port

    def edit(self) -> None:
        self.canvas.spec.disconnect(self.target, self.port)


class MoveCommand(SpecCommand):
    """Put boxes at new positions (the user placed them: auto-layout keeps them); consecutive moves merge."""

    def __init__(self, canvas: GraphCanvas, moves: Mapping[str, tuple[float, float]]) -> None:
        super().__init__(canvas, f"move {len(moves)} layer{'s' * (len(moves) != 1)}")
        self.moves = {k: (float(x), float(y)) for k, (x, y) in moves.items()}

    def edit(self) -> None:
        self.canvas.set_positions(self.moves)

    def id(self) -> int:  # noqa: D401 - Qt override
        return _MOVE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: D401 - Qt override
        if not isinstance(other, MoveCommand) or set(other.moves) != set(self.moves):
            return False
        self.moves = dict(other.moves)
        self._after = other._after
        return True


class ParamsCommand(SpecCommand):
    """Change some parameters (and optionally the name) of one node; consecutive changes of the same ones merge."""

    def __init__(self, canvas: GraphCanvas, node_id: str, params: Mapping[str, Any], name: str | None = None) -> None:
        super().__init__(canvas, "change " + ", ".join(sorted(params)) if params else "rename")
        self.node_id, self.params, self.name = node_id, dict(params), name

    def edit(self) -> None:
        node = self.canvas.spec.node(self.node_id)
        node.params = {**node.params, **self.params}
        if self.name is not None:
            node.name = self.name

    def id(self) -> int:  # noqa: D401 - Qt override
        return _PARAMS_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: D401 - Qt override
        if (not isinstance(other, ParamsCommand) or other.node_id != self.node_id
                or set(other.params) != set(self.params) or (other.name is None) != (self.name is None)):
            return False
        self.params, self.name, self._after = dict(other.params), other.name, other._after
        return True


class GroupCommand(SpecCommand):
    """Make a named group of nodes (a block that can collapse into one box)."""

    def __init__(self, canvas: GraphCanvas, node_ids: Sequence[str], name: str) -> None:
        super().__init__(canvas, f"group {name}")
        self.node_ids, self.name = [i for i in node_ids if i != INPUT_ID], name

    def edit(self) -> None:
        spec = self.canvas.spec
        if not self.node_ids:
            raise SpecError("select the layers to group first")
        if any(g.name == self.name for g in spec.groups):
            raise SpecError(f'a group is already named "{self.name}"')
        for g in spec.groups:
            inside = set(g.nodes) & set(self.node_ids)
            if inside:
                raise SpecError(f'a layer can be in one group only; some of these are in "{g.name}" (ungroup it first)')
        order = {layer.id: i for i, layer in enumerate(spec.layers)}
        spec.groups.append(GroupSpec(self.name, sorted(self.node_ids, key=lambda n: order[n])))


class UngroupCommand(SpecCommand):
    """Dissolve groups (their nodes stay)."""

    def __init__(self, canvas: GraphCanvas, names: Sequence[str]) -> None:
        super().__init__(canvas, "ungroup " + ", ".join(names))
        self.names = set(names)

    def edit(self) -> None:
        spec = self.canvas.spec
        spec.groups = [g for g in spec.groups if g.name not in self.names]


class CollapseCommand(SpecCommand):
    """Collapse a group into one box, or expand it again."""

    def __init__(self, canvas: GraphCanvas, name: str, collapsed: bool) -> None:
        super().__init__(canvas, f"{'collapse' if collapsed else 'expand'} {name}")
        self.name, self.collapsed = name, collapsed

    def edit(self) -> None:
        for g in self.canvas.spec.groups:
            if g.name == self.name:
                g.collapsed = self.collapsed
                return
        raise SpecError(f'no group is named "{self.name}"')


class PasteCommand(SpecCommand):
    """Add copied nodes with new ids, their edges between them kept, moved by ``offset``."""

    def __init__(self, canvas: GraphCanvas, payload: Mapping[str, Any], offset: tuple[float, float]) -> None:
        n = len(payload.get("layers", []))
        super().__init__(canvas, f"paste {n} layer{'s' * (n != 1)}")
        self.payload, self.offset = payload, offset
        self.new_ids: list[str] = []

    def edit(self) -> None:
        spec = self.canvas.spec
        spec.pin_heads()
        self.new_ids = paste_nodes(spec, self.payload, self.offset)


class LayoutCommand(SpecCommand):
    """Lay the graph out in rows; nodes the user placed stay unless ``keep_user_positions`` is False."""

    def __init__(self, canvas: GraphCanvas, keep_user_positions: bool = True) -> None:
        super().__init__(canvas, "auto-layout" if keep_user_positions else "auto-layout (all)")
        self.keep = keep_user_positions

    def edit(self) -> None:
        self.canvas.apply_layout(self.keep)
