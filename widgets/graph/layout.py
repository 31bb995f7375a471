"""Layered (Sugiyama) layout of a GraphData, top to bottom or left to right in rows, with folded blocks.

Two steps, both free of Qt:

1. ``fold_graph(data, folded, compact)`` (in ``folding.py``) collapses the nodes of every folded block into
   one node for the block (and in compact mode a conv with the norm, activation and pool after it into one
   node); edges are re-routed to it and duplicates merged. In compact mode an encoder–decoder then takes each
   stage of its U as one node (``fold_stages``, in ``layout_u.py``).
2. ``layout_graph(graph, sizes)`` places the nodes in layers with igraph's ``layout_sugiyama`` (C code) and
   routes the edges: short edges are smooth curves through the dummy vertices that Sugiyama adds on long
   edges; the many long edges of a tensor that is reused again and again (DenseNet's concatenations) are
   concentrated into one vertical *bus* beside the layers they skip. Edge concentration keeps DenseNet-201
   (2,500 edges, 180,000 dummy vertices without it) readable and fast to lay out.

Left to right (``direction="lr"``), the same layers run from left to right and wrap into rows (like lines of
text), as many as show the whole graph largest on the screen it is made for, breaking rows between blocks
(in ``layout_lr.py``). The result types (``GraphLayout``, ``EdgeRoute``, ``Bus``) are in ``routes.py``; this
module re-exports them and the folding names, so ``layout`` stays the one place to import from.

Coordinates are in scene pixels: node centres, y growing downwards.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from collections import Counter

from cnn_explorer.widgets.graph.folding import (  # noqa: F401  (re-exported: layout is where they are imported from)
    BLOCK_KIND, FoldedGraph, VisibleEdge, VisibleNode, compact_chains, enclosing_blocks, fold_graph,
    foldable_paths, innermost_foldable, node_counts, outermost_foldable)
from cnn_explorer.widgets.graph.data import GraphData
from cnn_explorer.widgets.graph.layout_lr import layout_rows
from cnn_explorer.widgets.graph.layout_u import fold_stages, layout_u  # noqa: F401  (fold_stages re-exported)
from cnn_explorer.widgets.graph.routes import Bus, EdgeRoute, GraphLayout  # noqa: F401  (re-exported)


class _NoMatplotlibHere(importlib.abc.MetaPathFinder):
    """Answers "not installed" for matplotlib, to the thread that imports igraph only."""

    def __init__(self):
        self.thread = threading.get_ident()

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "matplotlib" and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def igraph_graph():
    """igraph's ``Graph``. igraph imports ``matplotlib.pyplot`` when matplotlib is installed (Captum brings it),
    for plotting that this app never asks of it: 0.34 s of 0.36 s, a sixth of a first ``cnn-explorer graph``.
    Imported where matplotlib is not imported yet, igraph is told that it is not installed, and uses its own
    stand-in for its plotting; another thread that imports matplotlib meanwhile gets it."""
    if "igraph" not in sys.modules and "matplotlib" not in sys.modules:
        finder = _NoMatplotlibHere()
        sys.meta_path.insert(0, finder)
        try:
            import igraph  # noqa: F401
        finally:
            sys.meta_path.remove(finder)
    from igraph import Graph

    return Graph


# An edge that skips layers goes to a bus when its source feeds at least this many layer-skipping edges.
BUS_FAN_OUT = 3
# At most this many dummy vertices per node are given to Sugiyama; the longest edges beyond go to a bus.
DUMMIES_PER_NODE = 4


def _layers(count: int, edges: list[tuple[int, int]],
            groups: list[str | None] | None = None) -> tuple[list[int], set[int]]:
    """Longest-path layering. Returns the layer of every node and the indices of edges that had to be
    reversed to break cycles (an approximate feedback arc set, found only when the graph has a cycle).

    With ``groups`` (the block each node is drawn in, or None), a node that longest-path layering puts above
    all the other nodes of its group moves down towards them as far as its successors allow: U-Net's crop of
    a skip connection then sits in its decoder block rather than up beside the encoder."""
    Graph = igraph_graph()
    graph = Graph(n=count, edges=edges, directed=True)
    reversed_edges: set[int] = set()
    if not graph.is_dag():
        reversed_edges = set(graph.feedback_arc_set(algo="eades"))
    forward = [(d, s) if i in reversed_edges else (s, d) for i, (s, d) in enumerate(edges)]
    order = Graph(n=count, edges=forward, directed=True).topological_sorting()
    preds: list[list[int]] = [[] for _ in range(count)]
    for s, d in forward:
        preds[d].append(s)
    layer = [0] * count
    for v in order:
        for u in preds[v]:
            layer[v] = max(layer[v], layer[u] + 1)
    if groups:
        succs: list[list[int]] = [[] for _ in range(count)]
        members: dict[str, list[int]] = {}
        for s, d in forward:
            succs[s].append(d)
        for v, group in enumerate(groups):
            if group is not None:
                members.setdefault(group, []).append(v)
        for v in reversed(order):
            group = groups[v]
            if group is None or not succs[v]:
                continue
            others = [layer[u] for u in members[group] if u != v]
            if not others or min(others) <= layer[v]:
                continue
            layer[v] = max(layer[v], min(min(others), min(layer[d] for d in succs[v]) - 1))
    return layer, reversed_edges


def _bus_edges(count: int, edges: list[tuple[int, int]], layer: list[int]) -> set[int]:
    """Edges to concentrate into buses: the layer-skipping edges of a tensor that feeds many of them, and
    then the longest edges while Sugiyama would need too many dummy vertices."""
    span = [abs(layer[d] - layer[s]) for s, d in edges]
    long_out = Counter(s for (s, _), n in zip(edges, span) if n > 1)
    bus = {i for i, (s, _) in enumerate(edges) if span[i] > 1 and long_out[s] >= BUS_FAN_OUT}
    # A node that already takes two inputs from buses takes its other layer-skipping inputs from there too.
    bus_in = Counter(edges[i][1] for i in bus)
    bus |= {i for i, (_, d) in enumerate(edges) if span[i] > 1 and bus_in[d] >= 2}
    budget = DUMMIES_PER_NODE * count + 200
    dummies = sum(n - 1 for i, n in enumerate(span) if i not in bus)
    for i in sorted(range(len(edges)), key=lambda i: -span[i]):
        if dummies <= budget or span[i] <= 1:
            break
        if i not in bus:
            bus.add(i)
            dummies -= span[i] - 1
    return bus


DIRECTIONS = ("tb", "lr")


def layout_graph(graph: FoldedGraph, sizes: list[tuple[float, float]], *, hgap: float = 40.0,
                 vgap: float = 56.0, port_gap: float = 14.0, groups: list[str | None] | None = None,
                 direction: str = "tb", aspect: float | None = None, reserve: float = 0.0,
                 data: GraphData | None = None, text_width=None, label_height: float = 0.0) -> GraphLayout:
    """Place the nodes of ``graph`` (of the given pixel ``sizes``) in layers, top to bottom, and route its
    edges. ``hgap`` is the space between neighbours in a layer, ``vgap`` between layers. ``groups``: the
    block each node is drawn in (a frame), to keep the nodes of a block together (see ``_layers``).

    ``direction="lr"``: layers left to right, and (with ``aspect``, the width / height of the screen it is
    shown on) the layers wrapped into rows, as many as let the whole graph be shown largest on that screen
    (``reserve``: the height of what is drawn above it). Then ``hgap`` separates the nodes of a layer
    (vertically) and ``vgap`` the layers (horizontally).

    With ``data`` (what ``graph`` was folded from) and ``text_width`` (a function that measures a label), an
    encoder–decoder is drawn as a U in either direction (``layout_u.py``), its skips labelled."""
    count = len(graph.nodes)
    if count == 0:
        return GraphLayout([], [], [], [], direction=direction)
    if data is not None and text_width is not None:
        u = layout_u(graph, data, sizes, hgap=hgap, vgap=vgap, text_width=text_width, label_height=label_height,
                     aspect=aspect, reserve=reserve, direction=direction)
        if u is not None:
            return u
    pairs = [(e.src, e.dst) for e in graph.edges]
    layer, reversed_edges = _layers(count, pairs, groups)
    bus_edges = _bus_edges(count, pairs, layer)
    kept = [i for i in range(len(pairs)) if i not in bus_edges]
    sugiyama_edges = [(pairs[i][1], pairs[i][0]) if i in reversed_edges else pairs[i] for i in kept]

    layout = igraph_graph()(n=count, edges=sugiyama_edges, directed=True).layout_sugiyama(layers=layer, hgap=1, vgap=1)
    if direction == "lr":
        return layout_rows(graph, sizes, layer, layout.coords, layout.edge_routing or [[] for _ in kept], kept,
                          reversed_edges, layer_gap=vgap, cross_gap=hgap, port_gap=port_gap, aspect=aspect,
                          reserve=reserve, groups=groups)
    unit = max(w for w, _ in sizes) + hgap
    # Each layer as tall as its tallest node, ``vgap`` between layers.
    layer_count = max(layer) + 1
    layer_height = [0.0] * layer_count
    for i in range(count):
        layer_height[layer[i]] = max(layer_height[layer[i]], sizes[i][1])
    layer_y = [0.0] * layer_count
    for row in range(1, layer_count):
        layer_y[row] = layer_y[row - 1] + (layer_height[row - 1] + layer_height[row]) / 2 + vgap
    coords = layout.coords
    xs = [coords[i][0] * unit for i in range(count)]
    ys = [layer_y[layer[i]] for i in range(count)]
    left = min(xs[i] - sizes[i][0] / 2 for i in range(count))
    routing = layout.edge_routing or [[] for _ in kept]
    left = min([left] + [x * unit - 6 for points in routing for x, _ in points])
    xs = [x - left for x in xs]
    shift = -left

    def top(i):
        return ys[i] - sizes[i][1] / 2

    def bottom(i):
        return ys[i] + sizes[i][1] / 2

    # Right extent of everything in each layer, for the buses.
    right = [0.0] * layer_count
    for i in range(count):
        right[layer[i]] = max(right[layer[i]], xs[i] + sizes[i][0] / 2)

    routes: list[EdgeRoute | None] = [None] * len(pairs)
    for position, i in enumerate(kept):
        s, d = pairs[i]
        bends = [(x * unit + shift, layer_y[round(y)]) for x, y in routing[position]]
        if i in reversed_edges:
            bends.reverse()
        for (x, _), (_, y) in zip(bends, routing[position]):
            right[round(y)] = max(right[round(y)], x + 6)
        routes[i] = EdgeRoute(s, d, graph.edges[i].shape, [(xs[s], bottom(s))] + bends + [(xs[d], top(d))])

    # Spread the inputs of a node over its top side, ordered by where they come from.
    incoming: dict[int, list[int]] = {}
    for i in kept:
        incoming.setdefault(pairs[i][1], []).append(i)
    for d, edge_ids in incoming.items():
        if len(edge_ids) < 2:
            continue
        edge_ids.sort(key=lambda i: routes[i].points[-2][0])
        step = min(port_gap, (sizes[d][0] - 24) / max(len(edge_ids) - 1, 1))
        for k, i in enumerate(edge_ids):
            x = xs[d] + (k - (len(edge_ids) - 1) / 2) * step
            routes[i].points[-1] = (x, top(d))

    # Concentrated edges: out of the source's right side to a trunk beside the layers they skip, and into
    # the target's right side. Edges whose layer ranges overlap share one trunk.
    buses: list[Bus] = []
    spans = sorted((min(layer[s], layer[d]), max(layer[s], layer[d]), i)
                   for i, (s, d) in enumerate(pairs) if i in bus_edges)
    groups: list[list[tuple[int, int, int]]] = []
    group_end = -1
    for item in spans:
        if groups and item[0] < group_end:
            groups[-1].append(item)
        else:
            groups.append([item])
        group_end = max(group_end, item[1])
    for group in groups:
        first, last = min(g[0] for g in group), max(g[1] for g in group)
        x = max(right[first:last + 1]) + hgap * 0.75
        for row in range(first, last + 1):
            right[row] = x + 6
        tops, bottoms = [], []
        for _, _, i in group:
            s, d = pairs[i]
            ys_, yd = ys[s], ys[d]
            tops.append(min(ys_, yd))
            bottoms.append(max(ys_, yd))
            routes[i] = EdgeRoute(s, d, graph.edges[i].shape,
                                  [(xs[s] + sizes[s][0] / 2, ys_), (x, ys_), (x, yd), (xs[d] + sizes[d][0] / 2, yd)],
                                  bus=len(buses))
        buses.append(Bus(x=x, top=min(tops), bottom=max(bottoms)))

    width = max(max(right), max(xs[i] + sizes[i][0] / 2 for i in range(count)))
    height = max(bottom(i) for i in range(count)) - min(top(i) for i in range(count))
    return GraphLayout(centers=list(zip(xs, ys)), sizes=list(sizes), layers=layer,
                       edges=[r for r in routes if r is not None], buses=buses, width=width, height=height)
