"""Copy and paste of nodes as JSON: the selected nodes with their internal edges, ids remapped on paste."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from convexplorer.core.errors import SpecError
from convexplorer.core.spec import GroupSpec, LayerSpec, ModelSpec

#: Clipboard MIME type of copied nodes (the text flavour holds the same JSON).
MIME_TYPE = "application/x-convexplorer-nodes"
FORMAT = "convexplorer-nodes"


def nodes_to_json(spec: ModelSpec, ids: Iterable[str], positions: Mapping[str, tuple[float, float]]) -> str:
    """The nodes ``ids`` (in design order) with explicit inputs, drawn positions and the groups wholly inside."""
    chosen = set(ids)
    layers = []
    for i, layer in enumerate(spec.layers):
        if layer.id not in chosen:
            continue
        d = layer.to_dict()
        d["inputs"] = [[src, port] for src, port in spec.inputs_of(i)]
        if layer.id in positions:
            d["position"] = [round(positions[layer.id][0], 2), round(positions[layer.id][1], 2)]
        layers.append(d)
    groups = [g.to_dict() for g in spec.groups if g.nodes and set(g.nodes) <= chosen]
    return json.dumps({"format": FORMAT, "version": 1, "layers": layers, "groups": groups})


def nodes_from_json(text: str) -> dict[str, Any]:
    """The payload of :func:`nodes_to_json`; SpecError if ``text`` is not one."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise SpecError("the clipboard does not hold ConvExplorer layers") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("layers"), list):
        raise SpecError("the clipboard does not hold ConvExplorer layers")
    return data


def paste_nodes(spec: ModelSpec, payload: Mapping[str, Any], offset: tuple[float, float]) -> list[str]:
    """Add the payload's nodes to ``spec`` with new ids, edges between them kept, positions moved by ``offset``.

    Inputs from nodes outside the payload are dropped (the pasted node shows a
    free port); a name already used is dropped (Keras-style automatic names).
    Returns the new ids in order.
    """
    layers = [LayerSpec.from_dict(d, i) for i, d in enumerate(payload.get("layers", []))]
    taken = set(spec.layer_names())
    remap: dict[str, str] = {}
    new_ids = []
    for layer in layers:
        old = layer.id
        ins = [(remap[src], port) for src, port in (layer.inputs or []) if src in remap]
        layer.id = ""
        if layer.name in taken:
            layer.name = ""
        if layer.position is not None:
            layer.position = (layer.position[0] + offset[0], layer.position[1] + offset[1])
        spec.add_node(layer, ins)
        remap[old] = layer.id
        new_ids.append(layer.id)
        if layer.name:
            taken.add(layer.name)
    names = {g.name for g in spec.groups}
    for i, d in enumerate(payload.get("groups", [])):
        g = GroupSpec.from_dict(d, i)
        members = [remap[n] for n in g.nodes if n in remap]
        if members:
            spec.groups.append(GroupSpec(unique_name(g.name, names), members, g.collapsed))
            names.add(spec.groups[-1].name)
    return new_ids


def unique_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever is free."""
    if base not in taken:
        return base
    k = 2
    while f"{base}_{k}" in taken:
        k += 1
    return f"{base}_{k}"
