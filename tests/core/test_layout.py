"""The layered auto-layout: edges point down, boxes never overlap, pinned nodes stay, crossings are few."""

from __future__ import annotations

import itertools

import pytest

from convexplorer.core.layout import (
    GAP,
    NODE_SIZE,
    count_crossings,
    layered_layout,
    layout_graph,
)
from convexplorer.core.presets import preset
from convexplorer.core.spec import INPUT_ID, HeadSpec, ModelSpec, make_layer

W, H = NODE_SIZE


def _graph() -> ModelSpec:
    """Residual units, an inception-like block (four branches concatenated) and two heads."""
    spec = ModelSpec(input_shape=(32, 32, 3), num_classes=10)

    def add(kind: str, src: list[str], **params: object) -> str:
        return spec.add_node(make_layer(kind, **params), [(s, 0) for s in src]).id

    x = add("Conv2D", [INPUT_ID], padding="same")
    for _ in range(3):
        y = add("Conv2D", [x], padding="same")
        y = add("BatchNormalization", [y])
        y = add("Conv2D", [y], padding="same")
        x = add("Add", [x, y])
    b1 = add("Conv2D", [x], kernel_size=1)
    b2 = add("Conv2D", [add("Conv2D", [x], kernel_size=1)], padding="same")
    b3 = add("Conv2D", [add("Conv2D", [x], kernel_size=1)], kernel_size=5, padding="same")
    b4 = add("Conv2D", [add("MaxPooling2D", [x], pool_size=3, strides=1, padding="same")], kernel_size=1)
    x = add("Concatenate", [b1, b2, b3, b4])
    x = add("GlobalAveragePooling2D", [x])
    out = add("Dense", [x], units=10, activation="softmax")
    box = add("Dense", [x], units=4)
    spec.heads = [HeadSpec("classes", out), HeadSpec("box", box, "mean_squared_error")]
    spec.validate()
    return spec


def _overlaps(pos: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
    items = list(pos.items())
    bad = []
    for (a, (ax, ay)), (b, (bx, by)) in itertools.combinations(items, 2):
        if ax < bx + W and bx < ax + W and ay < by + H and by < ay + H:
            bad.append((a, b))
    return bad


def test_every_edge_points_down_and_no_boxes_overlap():
    spec = _graph()
    pos = layered_layout(spec)
    assert set(pos) == {INPUT_ID} | {layer.id for layer in spec.layers}
    for e in spec.edges():
        assert pos[e.target][1] >= pos[e.source][1] + H + GAP[1] - 1e-6, e
    assert _overlaps(pos) == []
    assert pos[INPUT_ID][1] == 0 and min(x for x, _ in pos.values()) == 0


def test_a_chain_is_one_straight_column():
    spec = preset("MNIST convnet")
    pos = layered_layout(spec)
    xs = {x for x, _ in pos.values()}
    assert len(xs) == 1
    ys = [pos[INPUT_ID][1]] + [pos[layer.id][1] for layer in spec.layers]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)


def test_the_layout_is_deterministic():
    spec = _graph()
    first = layered_layout(spec)
    assert layered_layout(spec.copy()) == first
    assert layered_layout(ModelSpec.from_json(spec.to_json())) == first


def test_pinned_nodes_stay_and_the_rest_flows_around_them():
    spec = _graph()
    free = layered_layout(spec)
    ids = [layer.id for layer in spec.layers]
    # the user dragged two nodes onto where others would go
    spec.node(ids[3]).position = free[ids[5]]
    spec.node(ids[-1]).position = (free[ids[-2]][0] + 20, free[ids[-2]][1] + 10)
    spec.node(ids[6]).position = (5000.0, 40.0)
    keep = {ids[3], ids[-1], ids[6]}
    pos = layered_layout(spec, keep)
    for node_id in keep:
        assert pos[node_id] == spec.node(node_id).position
    assert _overlaps(pos) == []
    assert layered_layout(spec, keep) == pos
    # unpinned positions are ignored: a node with a position but not in keep is laid out
    assert layered_layout(spec, set()) == free


def test_a_kept_node_without_a_position_is_laid_out():
    spec = _graph()
    assert layered_layout(spec, {spec.layers[0].id}) == layered_layout(spec)


def _rows(pos: dict[str, tuple[float, float]]) -> list[list[str]]:
    ys = sorted({y for _, y in pos.values()})
    return [sorted((n for n, (_, y) in pos.items() if y == row_y), key=lambda n: pos[n][0]) for row_y in ys]


def _min_crossings(rows: list[list[str]], edges: list[tuple[str, str]]) -> int:
    best = None
    for perm in itertools.product(*(itertools.permutations(r) for r in rows)):
        fake = {n: (float(i), float(r)) for r, row in enumerate(perm) for i, n in enumerate(row)}
        c = count_crossings(fake, edges)
        best = c if best is None else min(best, c)
    return best


def test_crossings_of_a_two_row_swap_drop_to_zero():
    # listed so that the first guess crosses: c reads b, d reads a, e reads both
    nodes = ["s", "a", "b", "c", "d", "e"]
    edges = [("s", "a"), ("s", "b"), ("b", "c"), ("a", "d"), ("b", "d"), ("a", "e"), ("b", "c")]
    pos = layout_graph(nodes, edges)
    assert count_crossings(pos, edges) == _min_crossings(_rows(pos), edges) == 0


def test_crossings_on_a_hand_made_graph_reach_the_known_minimum():
    nodes = ["s", "a", "b", "c", "d", "e", "f", "g", "h"]
    edges = [("s", "a"), ("s", "b"), ("s", "c"),
             ("a", "f"), ("b", "d"), ("c", "e"), ("a", "d"), ("c", "f"), ("b", "e"),
             ("d", "h"), ("f", "g"), ("e", "g"), ("e", "h")]
    pos = layout_graph(nodes, edges)
    rows = _rows(pos)
    assert [len(r) for r in rows] == [1, 3, 3, 2]
    best = _min_crossings(rows, edges)
    assert best == 2  # a six-cycle between rows 1 and 2 cannot be drawn flat (brute force over all 72 orders)
    assert count_crossings(pos, edges) == best


def test_k22_keeps_its_one_unavoidable_crossing():
    nodes = ["s", "a", "b", "c", "d"]
    edges = [("s", "a"), ("s", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")]
    assert count_crossings(layout_graph(nodes, edges), edges) == 1


def test_bad_input_is_refused_or_ignored():
    with pytest.raises(ValueError):
        layout_graph(["a", "a"], [])
    pos = layout_graph(["a", "b"], [("b", "a"), ("a", "a"), ("a", "zz")])  # against the order, loop, unknown
    assert pos["a"][1] == pos["b"][1] == 0 and _overlaps(pos) == []
    assert layout_graph([], []) == {}


def test_the_sources_of_a_merge_line_up_with_its_ports():
    # p is listed first, but q feeds port 0: q goes left so the two edges into the merge do not cross
    nodes = ["in", "x", "p", "q", "m"]
    edges = [("in", "x", 0), ("x", "p", 0), ("x", "q", 0), ("q", "m", 0), ("p", "m", 1)]
    pos = layout_graph(nodes, edges)
    assert pos["q"][0] < pos["p"][0]
    swapped = layout_graph(nodes, [("in", "x", 0), ("x", "p", 0), ("x", "q", 0), ("q", "m", 1), ("p", "m", 0)])
    assert swapped["p"][0] < swapped["q"][0]
