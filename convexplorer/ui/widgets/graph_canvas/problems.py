"""Wiring problems of every node at once (validate() stops at the first): arity and dead ends.

Plain Python over ModelSpec's public methods, with validate()'s wording. It
belongs in core (``ModelSpec.problems()``, proposed to the lead); it lives
here until then.
"""

from __future__ import annotations

from convexplorer.core.layer_kinds import LAYER_KINDS
from convexplorer.core.spec import ModelSpec


def node_problems(spec: ModelSpec) -> dict[str, str]:
    """For each node that cannot be built as wired, what was expected and what was received."""
    out: dict[str, str] = {}
    readers = spec.consumers()
    heads = {h.node for h in spec.output_heads()}
    for i, layer in enumerate(spec.layers):
        kind = LAYER_KINDS.get(layer.kind)
        if kind is None:
            continue
        n = len(spec.inputs_of(i))
        if n < kind.min_inputs:
            need = "two or more inputs" if kind.min_inputs == 2 and kind.max_inputs is None else (
                f"{kind.min_inputs} input{'s' if kind.min_inputs > 1 else ''}")
            got = "none is connected" if not n else f"{n} {'is' if n == 1 else 'are'} connected"
            out[layer.id] = f"{layer.kind} needs {need}; {got}"
        elif kind.max_inputs is not None and n > kind.max_inputs:
            out[layer.id] = f"{layer.kind} takes {kind.max_inputs} input{'s' if kind.max_inputs > 1 else ''}; {n} are connected"
        elif not readers.get(layer.id) and layer.id not in heads:
            out[layer.id] = "a dead-end branch: its output goes nowhere (connect it to a layer or make it a head)"
    return out
