"""Layered (Sugiyama-style) auto-layout of a design graph, top to bottom.

Data flows downward: the image input sits in the top row, every edge goes from
a row to a lower row. The steps are the classic ones:

1. layering: each node's row is its longest path from the input (so every edge
   points down); an edge that spans several rows gets invisible dummy nodes,
   one per row it crosses, so that long skip connections take part in step 2;
2. crossing reduction: a few barycenter sweeps down and up, each followed by
   swaps of neighbours that lower the crossings; the order with the fewest
   crossings seen wins;
3. coordinates: each row is placed near the mean position of its neighbours
   in the row above (then below), keeping the order and a minimum gap (an
   isotonic regression per row), so a chain is one straight column.

Nodes whose ids are in ``keep`` stay exactly where they are; the rest are
pulled towards them and then nudged sideways off any box they would overlap.
Positions are the top-left corners of the node boxes, in the same scene
coordinates as :attr:`LayerSpec.position`. Plain Python: no Qt, no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from .spec import INPUT_ID, ModelSpec

Point = tuple[float, float]
Size = tuple[float, float]

#: Default box of a node on the canvas (width, height) and the gaps between boxes (across, down).
NODE_SIZE: Size = (176.0, 76.0)
GAP: Size = (36.0, 56.0)
#: Width a dummy node (a long edge passing through a row) takes in its row.
DUMMY_WIDTH = 16.0
#: Barycenter sweeps (each one down and one up) in the crossing reduction.
SWEEPS = 6

_PINNED_WEIGHT = 1000.0


def layered_layout(spec: ModelSpec, keep: Iterable[str] | None = None, node_size: Size = NODE_SIZE,
                   gap: Size = GAP, sizes: Mapping[str, Size] | None = None) -> dict[str, Point]:
    """Top-left positions for the input and every node of ``spec``; nodes in ``keep`` stay at their position.

    A kept node without a position is laid out like the others. The image input
    has the id :data:`~convexplorer.core.spec.INPUT_ID`.
    """
    nodes = [INPUT_ID] + [layer.id for layer in spec.layers]
    edges = [(e.source, e.target, e.target_port) for e in spec.edges()]
    pinned: dict[str, Point] = {}
    by_id = {layer.id: layer for layer in spec.layers}
    for node_id in keep or ():
        layer = by_id.get(node_id)
        if layer is not None and layer.position is not None:
            pinned[node_id] = layer.position
    return layout_graph(nodes, edges, pinned, node_size, gap, sizes)


def layout_graph(nodes: Sequence[str], edges: Iterable[tuple[str, str] | tuple[str, str, int]], pinned: Mapping[str, Point] | None = None,
                 node_size: Size = NODE_SIZE, gap: Size = GAP,
                 sizes: Mapping[str, Size] | None = None) -> dict[str, Point]:
    """Top-left positions for ``nodes`` (in an order where each comes after its sources) joined by ``edges``.

    An edge is (source, target) or (source, target, input port): with ports,
    the sources of a merge are ordered like its ports, so their edges do not
    cross just above it.

    ``pinned`` maps ids to positions that must not change. Edges between
    unknown ids and self-loops are ignored; an edge against the given order
    (a cycle) is ignored too.
    """
    pinned = dict(pinned or {})
    sizes = dict(sizes or {})
    order_index = {n: i for i, n in enumerate(nodes)}
    if len(order_index) != len(nodes):
        raise ValueError("node ids must be unique")
    size = {n: tuple(sizes.get(n, node_size)) for n in nodes}
    pitch = max([h for _, h in size.values()] or [node_size[1]]) + gap[1]
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    pred: dict[str, list[str]] = {n: [] for n in nodes}
    seen_edges: set[tuple[str, str]] = set()
    port_of: dict[tuple[str, str], int] = {}
    n_ports: dict[str, int] = {}
    for edge in edges:
        s, t = edge[0], edge[1]
        if len(edge) > 2:
            port = int(edge[2])  # type: ignore[misc]
            port_of[(s, t)] = min(port, port_of.get((s, t), port))
            n_ports[t] = max(n_ports.get(t, 0), port + 1)
        if s not in order_index or t not in order_index or s == t or (s, t) in seen_edges:
            continue
        if order_index[s] > order_index[t]:
            continue
        seen_edges.add((s, t))
        succ[s].append(t)
        pred[t].append(s)
    # where along its node a proper edge ends: a fraction in (-0.5, 0.5) from the port (0: the middle)
    frac: dict[tuple[str, str], float] = {}

    # 1. layering: longest path from the sources; a pinned node's row comes from its y
    rank: dict[str, int] = {}
    for n in nodes:
        if n in pinned:
            rank[n] = max(0, math.floor(pinned[n][1] / pitch + 0.5))
        else:
            rank[n] = max((rank[p] + 1 for p in pred[n]), default=0)
    n_rows = max(rank.values(), default=-1) + 1

    # dummies for edges spanning rows: chains of ("~k") ids
    rows: list[list[str]] = [[] for _ in range(n_rows)]
    for n in nodes:
        rows[rank[n]].append(n)
    up: dict[str, list[str]] = {n: [] for n in nodes}  # neighbours in the row above (proper edges)
    down: dict[str, list[str]] = {n: [] for n in nodes}
    width = {n: size[n][0] for n in nodes}
    k = 0
    for s in nodes:
        for t in succ[s]:
            if rank[t] <= rank[s]:
                continue  # a pinned node above its source: drawn as it is, left out of the ordering
            prev = s
            for r in range(rank[s] + 1, rank[t]):
                k += 1
                d = f"~{k}"
                up[d], down[d], width[d] = [prev], [], DUMMY_WIDTH
                down[prev].append(d)
                rows[r].append(d)
                prev = d
            down[prev].append(t)
            up[t].append(prev)
            if (s, t) in port_of and n_ports.get(t, 0) > 1:
                frac[(prev, t)] = (port_of[(s, t)] + 1) / (n_ports[t] + 1) - 0.5

    # 2. crossing reduction
    _initial_order(rows, up)
    best = [list(r) for r in rows]
    best_c = _total_crossings(rows, up, frac)
    for sweep in range(SWEEPS):
        if best_c == 0:
            break
        for r in range(1, n_rows):
            _barycenter_sort(rows[r], rows[r - 1], up)
        _transpose(rows, up, frac)
        for r in range(n_rows - 2, -1, -1):
            _barycenter_sort(rows[r], rows[r + 1], down, frac, below=True)
        _transpose(rows, up, frac)
        c = _total_crossings(rows, up, frac)
        if c < best_c:
            best, best_c = [list(r) for r in rows], c
    rows = best

    # 3. coordinates (centres across; rows down)
    x: dict[str, float] = {}
    for row in rows:
        pos = 0.0
        for i, n in enumerate(row):
            if i:
                pos += (width[row[i - 1]] + width[n]) / 2 + gap[0]
            x[n] = pos
        shift = pos / 2
        for n in row:
            x[n] -= shift
    target_pin = {n: p[0] + size[n][0] / 2 for n, p in pinned.items()}
    for it in range(8):
        passes = (range(1, n_rows), up), (range(n_rows - 2, -1, -1), down)
        for row_range, nbrs in passes:
            for r in row_range:
                _place_row(rows[r], x, nbrs, width, gap[0], target_pin)
    for r in range(n_rows):  # a last pass looking both ways
        both = {n: up[n] + down[n] for n in rows[r]}
        _place_row(rows[r], x, both, width, gap[0], target_pin)

    out: dict[str, Point] = {}
    for n in nodes:
        if n in pinned:
            out[n] = (float(pinned[n][0]), float(pinned[n][1]))
        else:
            out[n] = (x[n] - size[n][0] / 2, rank[n] * pitch)
    free = [n for n in nodes if n not in pinned]
    if not pinned and free:
        left = min(out[n][0] for n in free)
        out = {n: (px - left, py) for n, (px, py) in out.items()}
    if pinned:
        _nudge_free(out, size, pinned, [n for row in rows for n in row if n in order_index and n not in pinned], gap)
    return {n: (round(px, 2), round(py, 2)) for n, (px, py) in out.items()}


def count_crossings(positions: Mapping[str, Point], edges: Iterable[tuple[str, str]]) -> int:
    """Pairs of edges that cross, counting only edges between two adjacent rows (nodes with the same y)."""
    by_rows: dict[tuple[float, float], list[tuple[float, float]]] = {}
    for s, t in set(edges):
        (sx, sy), (tx, ty) = positions[s], positions[t]
        by_rows.setdefault((sy, ty), []).append((sx, tx))
    total = 0
    for segs in by_rows.values():
        for i in range(len(segs)):
            for j in range(i + 1, len(segs)):
                (a1, b1), (a2, b2) = segs[i], segs[j]
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


# --- helpers ----------------------------------------------------------------------------------

def _initial_order(rows: list[list[str]], up: Mapping[str, list[str]]) -> None:
    """Order each row by the first position of a neighbour above (a depth-first-like start), stable."""
    for r in range(1, len(rows)):
        above = {n: i for i, n in enumerate(rows[r - 1])}
        rows[r].sort(key=lambda n: min((above[p] for p in up[n] if p in above), default=len(above)))


def _barycenter_sort(row: list[str], fixed: list[str], nbrs: Mapping[str, list[str]],
                     frac: Mapping[tuple[str, str], float] | None = None, below: bool = False) -> None:
    """Sort ``row`` by the mean position of each node's neighbours in ``fixed`` (no neighbours: stay put).

    With ``below``, ``fixed`` is the row underneath and an edge counts at its input port (``frac``).
    """
    where = {n: i for i, n in enumerate(fixed)}
    keys = []
    for i, n in enumerate(row):
        ps = [where[p] + ((frac or {}).get((n, p), 0.0) if below else 0.0) for p in nbrs[n] if p in where]
        keys.append((sum(ps) / len(ps)) if ps else float(i) * len(fixed) / max(len(row), 1))
    order = sorted(range(len(row)), key=lambda i: (keys[i], i))
    row[:] = [row[i] for i in order]


def _pair_crossings(upper: list[str], lower: list[str], up: Mapping[str, list[str]],
                    frac: Mapping[tuple[str, str], float]) -> int:
    """Crossings between two adjacent rows (edges into one node cross when their ports disagree)."""
    where = {n: i for i, n in enumerate(upper)}
    segs = [(where[p], j + frac.get((p, n), 0.0)) for j, n in enumerate(lower) for p in up[n] if p in where]
    segs.sort()
    total = 0
    # count inversions of the lower ends (segments sorted by upper end)
    lows = [b for _, b in segs]
    for i in range(len(lows)):
        a_i = segs[i][0]
        for j in range(i + 1, len(lows)):
            if segs[j][0] != a_i and lows[j] < lows[i]:
                total += 1
    return total


def _total_crossings(rows: list[list[str]], up: Mapping[str, list[str]], frac: Mapping[tuple[str, str], float]) -> int:
    return sum(_pair_crossings(rows[r - 1], rows[r], up, frac) for r in range(1, len(rows)))


def _transpose(rows: list[list[str]], up: Mapping[str, list[str]], frac: Mapping[tuple[str, str], float]) -> None:
    """Swap neighbours in a row while that lowers the crossings with the rows around it."""
    for _ in range(4):
        improved = False
        for r, row in enumerate(rows):
            for i in range(len(row) - 1):
                before = _local(rows, r, up, frac)
                row[i], row[i + 1] = row[i + 1], row[i]
                if _local(rows, r, up, frac) < before:
                    improved = True
                else:
                    row[i], row[i + 1] = row[i + 1], row[i]
        if not improved:
            return


def _local(rows: list[list[str]], r: int, up: Mapping[str, list[str]], frac: Mapping[tuple[str, str], float]) -> int:
    c = _pair_crossings(rows[r - 1], rows[r], up, frac) if r > 0 else 0
    if r + 1 < len(rows):
        c += _pair_crossings(rows[r], rows[r + 1], up, frac)
    return c


def _place_row(row: list[str], x: dict[str, float], nbrs: Mapping[str, list[str]], width: Mapping[str, float],
               gap: float, pinned: Mapping[str, float]) -> None:
    """Move the row's nodes towards their neighbours' mean x, keeping the order and the gaps (weighted PAV)."""
    if not row:
        return
    offsets = [0.0]
    for i in range(1, len(row)):
        offsets.append(offsets[-1] + (width[row[i - 1]] + width[row[i]]) / 2 + gap)
    targets, weights = [], []
    for i, n in enumerate(row):
        if n in pinned:
            t, w = pinned[n], _PINNED_WEIGHT
        else:
            ps = [x[p] for p in nbrs[n] if p in x]
            t, w = ((sum(ps) / len(ps)), 1.0) if ps else (x[n], 0.05)
        targets.append(t - offsets[i])
        weights.append(w)
    # pool adjacent violators: non-decreasing y minimising sum w (y - t)^2
    blocks: list[list[float]] = []  # [value, weight, count]
    for t, w in zip(targets, weights):
        blocks.append([t, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    i = 0
    for v, _, c in blocks:
        for _ in range(c):
            x[row[i]] = v + offsets[i]
            i += 1


def _nudge_free(out: dict[str, Point], size: Mapping[str, Size], pinned: Mapping[str, Point],
                free: list[str], gap: Size) -> None:
    """Move free nodes sideways, the shortest way, until none overlaps a pinned or an already placed box."""
    placed: list[tuple[float, float, float, float]] = [
        (px, py, px + size[n][0], py + size[n][1]) for n, (px, py) in pinned.items()]
    mx, my = gap[0] / 2, gap[1] / 4

    def hits(x0: float, y0: float, w: float, h: float) -> list[tuple[float, float, float, float]]:
        return [b for b in placed if x0 < b[2] + mx and b[0] < x0 + w + mx and y0 < b[3] + my and b[1] < y0 + h + my]

    for n in sorted(free, key=lambda n: (out[n][1], out[n][0])):
        x0, y0 = out[n]
        w, h = size[n]
        if hits(x0, y0, w, h):
            best = None
            for direction in (1, -1):
                cx = x0
                for _ in range(len(placed) + 1):
                    hit = hits(cx, y0, w, h)
                    if not hit:
                        break
                    cx = (max(b[2] for b in hit) + mx) if direction > 0 else (min(b[0] for b in hit) - mx - w)
                if best is None or abs(cx - x0) < abs(best - x0):
                    best = cx
            x0 = best if best is not None else x0
            out[n] = (x0, y0)
        placed.append((x0, y0, x0 + w, y0 + h))
