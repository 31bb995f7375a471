"""Layered (Sugiyama) layout of a GraphData, top to bottom or left to right in rows, with folded blocks.

Two steps, both free of Qt:

1. ``fold_graph(data, folded, compact)`` collapses the nodes of every folded block into one node for the
   block (and in compact mode a conv with the norm, activation and pool after it into one node); edges are
   re-routed to it and duplicates merged.
2. ``layout_graph(graph, sizes)`` places the nodes in layers with igraph's ``layout_sugiyama`` (C code) and
   routes the edges: short edges are smooth curves through the dummy vertices that Sugiyama adds on long
   edges; the many long edges of a tensor that is reused again and again (DenseNet's concatenations) are
   concentrated into one vertical *bus* beside the layers they skip. Edge concentration keeps DenseNet-201
   (2,500 edges, 180,000 dummy vertices without it) readable and fast to lay out.

Left to right (``direction="lr"``), the same layers run from left to right and wrap into rows (like lines of
text), as many as show the whole graph largest on the screen it is made for, breaking rows between blocks.

Coordinates are in scene pixels: node centres, y growing downwards.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from collections import Counter
from collections.abc import Sequence, Set
from dataclasses import dataclass, field


from cnn_explorer.widgets.common import format
from cnn_explorer.widgets.graph.data import GraphData


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

BLOCK_KIND = "block"  # kind of a visible node that stands for a folded block

# An edge that skips layers goes to a bus when its source feeds at least this many layer-skipping edges.
BUS_FAN_OUT = 3
# At most this many dummy vertices per node are given to Sugiyama; the longest edges beyond go to a bus.
DUMMIES_PER_NODE = 4


# -- blocks -----------------------------------------------------------------------------------------
# Which module paths hold which is decided in models/analysis/ops.py and arrives as ``GraphNode.blocks`` and
# ``GraphBlock.parents``; nothing here reads it out of the path strings.

def enclosing_blocks(data: GraphData, key: str) -> tuple[str, ...]:
    """The module paths that hold the layer or block ``key``, outermost first: a layer's ``blocks``, or a
    block's ``parents`` and the block itself; () for the model (``""``) or an unknown key."""
    node = data.node_by_name(key)
    if node is not None:
        return node.blocks
    block = data.blocks.get(key)
    return (*block.parents, key) if block is not None and key else ()


def node_counts(data: GraphData) -> Counter[str]:
    """Number of graph nodes inside each module path."""
    counts: Counter[str] = Counter()
    for node in data.nodes:
        counts.update(node.blocks)
    return counts


def foldable_paths(data: GraphData) -> set[str]:
    return {path for path, block in data.blocks.items() if block.foldable}


def outermost_foldable(data: GraphData, within: str = "") -> list[str]:
    """The foldable blocks inside ``within`` (the whole model for "") that no other foldable block inside
    ``within`` encloses, in recording order."""
    foldable = foldable_paths(data)
    found = []
    for path, block in data.blocks.items():
        if path == within or path not in foldable or not data.block_in_block(path, within):
            continue
        if not any(p in foldable and p != within and data.block_in_block(p, within) for p in block.parents):
            found.append(path)
    return found


def innermost_foldable(data: GraphData, paths: Sequence[str], foldable: Set[str] | None = None) -> str | None:
    """The innermost foldable block among ``paths``, module paths outermost first: a node's ``blocks``, a
    block's ``parents``, or ``enclosing_blocks(data, key)``. ``foldable``: foldable_paths(data), when the
    caller has it."""
    foldable = foldable_paths(data) if foldable is None else foldable
    return next((p for p in reversed(paths) if p in foldable), None)


# -- folding ----------------------------------------------------------------------------------------

@dataclass
class VisibleNode:
    key: str  # the layer name, or the block path of a folded block
    title: str
    subtitle: str  # the block path for a folded block, "" for a layer
    shape: str  # the output shape as text (format.shape), "" when none
    params: int
    kind: str  # one of KINDS, or BLOCK_KIND
    scope: str  # the module path of the layer's block, or the folded block's own path
    members: list[int]  # ids of the GraphNodes it stands for
    blocks: tuple[str, ...] = ()  # the module paths that hold it, outermost first (a folded block: itself last)
    merged: tuple[str, ...] = ()  # compact mode: the titles of the layers drawn inside this one (ReLU, MaxPool)

    @property
    def is_block(self) -> bool:
        return self.kind == BLOCK_KIND


@dataclass
class VisibleEdge:
    src: int  # index into FoldedGraph.nodes
    dst: int
    shape: str  # the tensor shape carried, as text (format.shape)


@dataclass
class FoldedGraph:
    nodes: list[VisibleNode]
    edges: list[VisibleEdge]
    index_of_id: dict[int, int]  # GraphNode id -> index of the visible node that shows it

    def index_of_key(self, key: str) -> int | None:
        return next((i for i, n in enumerate(self.nodes) if n.key == key), None)


# Compact mode: a layer of a MAIN_KINDS kind takes in the chain of layers that follow it alone, as lectures draw
# "conv + BN + ReLU (+ pool)" as one box: at most one of each FOLLOWER_KINDS kind, a pool, dropout or reshape
# ending it (a pool that no conv took in takes the flatten after it).
MAIN_KINDS = ("conv", "linear", "pool")
FOLLOWER_KINDS = {"conv": ("norm", "activation", "pool"), "linear": ("norm", "activation", "dropout"),
                  "pool": ("reshape",)}
ENDING_KINDS = ("pool", "dropout", "reshape")


def compact_chains(data: GraphData) -> dict[int, int]:
    """GraphNode id -> id of the main layer (a conv or linear) whose node it is drawn in, in compact mode;
    only the followers are keys. The kinds come from the data (models/analysis/ops.py decides them)."""
    succs: dict[int, set[int]] = {}
    preds: dict[int, set[int]] = {}
    for edge in data.edges:
        succs.setdefault(edge.src, set()).add(edge.dst)
        preds.setdefault(edge.dst, set()).add(edge.src)
    by_id = {node.id: node for node in data.nodes}
    foldable = foldable_paths(data)

    def frames(node):  # the blocks drawn around it: a chain never crosses a block's border
        return tuple(p for p in node.blocks if p in foldable)

    owner: dict[int, int] = {}
    for node in data.nodes:
        if node.kind not in MAIN_KINDS or node.id in owner:
            continue
        allowed, seen, current = FOLLOWER_KINDS[node.kind], set(), node
        while len(succs.get(current.id, ())) == 1:
            nxt = by_id.get(next(iter(succs[current.id])))
            if (nxt is None or preds.get(nxt.id) != {current.id} or nxt.kind not in allowed or nxt.kind in seen
                    or frames(nxt) != frames(node) or nxt.id in owner):
                break
            owner[nxt.id] = node.id
            seen.add(nxt.kind)
            current = nxt
            if nxt.kind in ENDING_KINDS:
                break
    return owner


def fold_graph(data: GraphData, folded: set[str] | frozenset[str], compact: bool = False) -> FoldedGraph:
    """The graph as shown with the blocks in ``folded`` collapsed (a block inside a folded block is hidden
    with it); ``compact``: a conv or linear layer and the norm, activation and pool that follow it alone are
    one node, keyed by the conv (see ``compact_chains``)."""
    folded = {p for p in folded if p in data.blocks and data.blocks[p].foldable}
    owner = compact_chains(data) if compact else {}
    names = {node.id: node.name for node in data.nodes} if owner else {}
    rep_of: dict[int, str] = {}  # GraphNode id -> key of its visible node
    members: dict[str, list[int]] = {}
    order: list[str] = []
    by_id = {}
    for node in data.nodes:
        by_id[node.id] = node
        key = next((p for p in node.blocks if p in folded), None) if folded else None
        if key is None:  # layers and blocks never share a key
            key = "\0" + (names[owner[node.id]] if node.id in owner else node.name)
        rep_of[node.id] = key
        if key not in members:
            members[key] = []
            order.append(key)
        members[key].append(node.id)

    outgoing_outside: set[int] = set()
    for edge in data.edges:
        if rep_of.get(edge.src) != rep_of.get(edge.dst):
            outgoing_outside.add(edge.src)

    nodes: list[VisibleNode] = []
    index_of_key: dict[str, int] = {}
    for key in order:
        ids = members[key]
        index_of_key[key] = len(nodes)
        if key.startswith("\0"):
            node, last = by_id[ids[0]], by_id[ids[-1]]
            # E1 (vocabulary): the lecture's name first ("conv1 · Conv 11×11 /4"); several outputs said in words.
            nodes.append(VisibleNode(key=node.name, title=f"{node.label} · {node.title}" if node.label else node.title,
                                     subtitle="", shape=format.outputs(last.outputs, last.shape),
                                     params=sum(by_id[i].params for i in ids), kind=node.kind, scope=node.scope,
                                     members=ids, blocks=node.blocks,
                                     merged=tuple(by_id[i].title for i in ids[1:])))
            continue
        block = data.blocks[key]
        exits = [i for i in ids if i in outgoing_outside]
        output = by_id[exits[-1] if exits else ids[-1]]
        # The block's output, and how many other tensors (of other shapes) leave it.
        other_shapes = {by_id[i].shape for i in exits} - {output.shape}
        shape = format.shape(output.shape, len(other_shapes) + output.extra_outputs)
        shape = format.outputs(block.outputs) if block.outputs else shape  # E1: "5 maps: P2–P6, …", not "(+4)"
        nodes.append(VisibleNode(key=key, title=block.type_name, subtitle=key, shape=shape,
                                 params=sum(by_id[i].params for i in ids), kind=BLOCK_KIND, scope=key,
                                 members=ids, blocks=(*block.parents, key)))

    edges: list[VisibleEdge] = []
    seen: set[tuple[int, int]] = set()
    for edge in data.edges:
        if edge.src not in rep_of or edge.dst not in rep_of:
            continue
        src, dst = index_of_key[rep_of[edge.src]], index_of_key[rep_of[edge.dst]]
        if src == dst or (src, dst) in seen:
            continue
        seen.add((src, dst))
        edges.append(VisibleEdge(src, dst, format.shape(edge.shape)))
    index_of_id = {node_id: index_of_key[key] for node_id, key in rep_of.items()}
    return FoldedGraph(nodes=nodes, edges=edges, index_of_id=index_of_id)


# -- layout -----------------------------------------------------------------------------------------

@dataclass
class EdgeRoute:
    src: int
    dst: int
    shape: str
    points: list[tuple[float, float]]  # from the source's port to the target's port
    bus: int | None = None  # index into GraphLayout.buses for a concentrated edge, else None
    orthogonal: bool = False  # left to right: a route of straight runs (to another row, or below a row)


@dataclass
class Bus:
    """A vertical trunk shared by concentrated edges: from (x, top) to (x, bottom)."""

    x: float
    top: float
    bottom: float


@dataclass
class GraphLayout:
    centers: list[tuple[float, float]]
    sizes: list[tuple[float, float]]
    layers: list[int]
    edges: list[EdgeRoute]
    buses: list[Bus] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    direction: str = "tb"  # "tb": layers top to bottom; "lr": left to right, wrapped into rows (bands)
    bands: list[int] = field(default_factory=list)  # left to right: the row of each node

    def rect(self, index: int) -> tuple[float, float, float, float]:
        """(left, top, width, height) of node ``index``."""
        (x, y), (w, h) = self.centers[index], self.sizes[index]
        return (x - w / 2, y - h / 2, w, h)


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
                 direction: str = "tb", aspect: float | None = None, reserve: float = 0.0) -> GraphLayout:
    """Place the nodes of ``graph`` (of the given pixel ``sizes``) in layers, top to bottom, and route its
    edges. ``hgap`` is the space between neighbours in a layer, ``vgap`` between layers. ``groups``: the
    block each node is drawn in (a frame), to keep the nodes of a block together (see ``_layers``).

    ``direction="lr"``: layers left to right, and (with ``aspect``, the width / height of the screen it is
    shown on) the layers wrapped into rows, as many as let the whole graph be shown largest on that screen
    (``reserve``: the height of what is drawn above it). Then ``hgap`` separates the nodes of a layer
    (vertically) and ``vgap`` the layers (horizontally)."""
    count = len(graph.nodes)
    if count == 0:
        return GraphLayout([], [], [], [], direction=direction)
    pairs = [(e.src, e.dst) for e in graph.edges]
    layer, reversed_edges = _layers(count, pairs, groups)
    bus_edges = _bus_edges(count, pairs, layer)
    kept = [i for i in range(len(pairs)) if i not in bus_edges]
    sugiyama_edges = [(pairs[i][1], pairs[i][0]) if i in reversed_edges else pairs[i] for i in kept]

    layout = igraph_graph()(n=count, edges=sugiyama_edges, directed=True).layout_sugiyama(layers=layer, hgap=1, vgap=1)
    if direction == "lr":
        return _layout_lr(graph, sizes, layer, layout.coords, layout.edge_routing or [[] for _ in kept], kept,
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


# -- left to right, wrapped into rows ------------------------------------------------------------------------

MAX_ROWS = 40  # more rows than this would be too small to read on any screen


def _bands(widths: list[float], gap: float, heights, band_gap: float, aspect: float | None,
           reserve: float, clean: list[bool] | None = None) -> list[int]:
    """The row of each layer: consecutive layers, as many rows as make the whole largest on a screen of
    ``aspect`` (one row without it). ``heights(first, last)``: the height of a row of those layers;
    ``clean[i]``: whether a row may end after layer i without cutting a block in two (preferred)."""
    count = len(widths)
    if aspect is None or count < 2:
        return [0] * count
    clean = clean or [True] * count
    prefix = [0.0]
    for w in widths:
        prefix.append(prefix[-1] + w)

    def pack(limit: float) -> list[int]:
        """Rows filled from the left up to ``limit`` wide (a layer wider than that gets a row of its own),
        ended after the last layer that cuts no block when that leaves the row at least a third full."""
        starts, start = [], 0
        while start < count:
            used, end = widths[start], start + 1
            while end < count and used + gap + widths[end] <= limit:
                used += gap + widths[end]
                end += 1
            if end < count and not clean[end - 1]:
                better = next((k + 1 for k in range(end - 2, start - 1, -1)
                               if clean[k] and prefix[k + 1] - prefix[start] + gap * (k - start) >= limit / 3),
                              None)
                end = better or end
            starts.append(start)
            start = end
        assignment = []
        for band, first in enumerate(starts):
            last = starts[band + 1] if band + 1 < len(starts) else count
            assignment += [band] * (last - first)
        return assignment

    def score(assignment: list[int]) -> float:
        rows, height, widest, first = assignment[-1] + 1, reserve, 0.0, 0
        height += band_gap * (rows - 1)
        for index in range(1, count + 1):
            if index == count or assignment[index] != assignment[first]:
                widest = max(widest, sum(widths[first:index]) + gap * (index - 1 - first))
                height += heights(first, index - 1)
                first = index
        return min(aspect / widest, 1.0 / height)

    total = sum(widths) + gap * (count - 1)
    best, best_scale = [0] * count, score([0] * count)
    for rows in range(2, min(count, MAX_ROWS) + 1):
        low, high = max(widths), total  # the narrowest limit that packs into ``rows`` rows
        for _ in range(16):
            middle = (low + high) / 2
            low, high = (low, middle) if pack(middle)[-1] + 1 <= rows else (middle, high)
        assignment = pack(high)
        scale = score(assignment)
        if scale > best_scale * 1.0001:
            best, best_scale = assignment, scale
    return best


def _layout_lr(graph: FoldedGraph, sizes, layer, coords, routing, kept, reversed_edges, *, layer_gap: float,
               cross_gap: float, port_gap: float, aspect: float | None, reserve: float,
               groups: list[str | None] | None = None) -> GraphLayout:
    count = len(graph.nodes)
    pairs = [(e.src, e.dst) for e in graph.edges]
    layer_count = max(layer) + 1
    unit = max(h for _, h in sizes) + cross_gap  # between neighbours of a layer, centre to centre
    column = [0.0] * layer_count
    for i in range(count):
        column[layer[i]] = max(column[layer[i]], sizes[i][0])
    # The cross position (Sugiyama's x) of every node and dummy point, by layer.
    positions: list[list[float]] = [[] for _ in range(layer_count)]
    for i in range(count):
        positions[layer[i]].append(coords[i][0])
    for points in routing:
        for x, y in points:
            positions[round(y)].append(x)
    tallest = [max((sizes[i][1] for i in range(count) if layer[i] == row), default=0.0)
               for row in range(layer_count)]

    def row_height(first: int, last: int) -> float:
        values = [p for row in range(first, last + 1) for p in positions[row]]
        return (max(values) - min(values)) * unit + max(tallest[first:last + 1])

    band_gap = layer_gap * 0.85
    # A row may end after a layer when no block (``groups``) has nodes on both sides.
    span: dict[str, list[int]] = {}
    for i, group in enumerate(groups or []):
        if group is not None:
            first, last = span.get(group, [layer[i], layer[i]])
            span[group] = [min(first, layer[i]), max(last, layer[i])]
    clean = [True] * layer_count
    for first, last in span.values():
        for row in range(first, last):
            clean[row] = False
    band = _bands(column, layer_gap, row_height, band_gap, aspect, reserve, clean)
    band_count = band[-1] + 1
    # Each row: its layers from the left, its cross positions from its top.
    x_of_layer = [0.0] * layer_count
    top_of_band, min_of_band, bottom_of_band = [0.0] * band_count, [0.0] * band_count, [0.0] * band_count
    y = 0.0
    for b in range(band_count):
        rows = [r for r in range(layer_count) if band[r] == b]
        x = 0.0
        for r in rows:
            x_of_layer[r] = x + column[r] / 2
            x += column[r] + layer_gap
        min_of_band[b] = min(p for r in rows for p in positions[r])
        top_of_band[b] = y + max(tallest[r] for r in rows) / 2
        y += row_height(rows[0], rows[-1])
        bottom_of_band[b] = y
        y += band_gap

    def place(position: float, row: int) -> tuple[float, float]:
        b = band[row]
        return x_of_layer[row], top_of_band[b] + (position - min_of_band[b]) * unit

    centers = [place(coords[i][0], layer[i]) for i in range(count)]
    node_band = [band[layer[i]] for i in range(count)]

    def right(i):
        return centers[i][0] + sizes[i][0] / 2

    def left(i):
        return centers[i][0] - sizes[i][0] / 2

    routes: list[EdgeRoute | None] = [None] * len(pairs)
    kept_position = {i: k for k, i in enumerate(kept)}
    lane = [bottom_of_band[b] + band_gap / 2 for b in range(band_count)]
    stub = layer_gap / 3
    for i, (s, d) in enumerate(pairs):
        shape = graph.edges[i].shape
        forward = i not in reversed_edges and layer[d] > layer[s]
        if forward and i in kept_position and node_band[s] == node_band[d]:
            bends = [place(x, round(y_)) for x, y_ in routing[kept_position[i]]]
            routes[i] = EdgeRoute(s, d, shape, [(right(s), centers[s][1])] + bends + [(left(d), centers[d][1])])
            continue
        (sx, sy), (dx, dy) = centers[s], centers[d]
        if forward and node_band[s] == node_band[d]:  # a long skip: below the row, into the target's bottom
            below = lane[node_band[s]] - band_gap * 0.2
            bottom_s, bottom_d = sy + sizes[s][1] / 2, dy + sizes[d][1] / 2
            points = [(sx + sizes[s][0] / 4, bottom_s), (sx + sizes[s][0] / 4, below),
                      (dx - sizes[d][0] / 4, below), (dx - sizes[d][0] / 4, bottom_d)]
        else:  # to a later row (or back): out of the right side, along the gap under the row, into the left side
            bx = right(s) + stub
            points = [(right(s), sy), (bx, sy), (bx, lane[node_band[s]]), (left(d) - stub, lane[node_band[s]]),
                      (left(d) - stub, dy), (left(d), dy)]
        routes[i] = EdgeRoute(s, d, shape, points, orthogonal=True)

    # Spread the inputs of a node over its left side, ordered by where they come from.
    incoming: dict[int, list[int]] = {}
    for i, route in enumerate(routes):
        if not route.orthogonal:
            incoming.setdefault(route.dst, []).append(i)
    for d, edge_ids in incoming.items():
        if len(edge_ids) < 2:
            continue
        edge_ids.sort(key=lambda i: routes[i].points[-2][1])
        step = min(port_gap, (sizes[d][1] - 12) / max(len(edge_ids) - 1, 1))
        for k, i in enumerate(edge_ids):
            routes[i].points[-1] = (left(d), centers[d][1] + (k - (len(edge_ids) - 1) / 2) * step)

    xs = [p[0] for r in routes for p in r.points] + [left(i) for i in range(count)]
    ys = [p[1] for r in routes for p in r.points] + [centers[i][1] - sizes[i][1] / 2 for i in range(count)]
    shift_x, shift_y = -min(xs), -min(min(ys), 0.0)
    centers = [(x + shift_x, y + shift_y) for x, y in centers]
    for route in routes:
        route.points = [(x + shift_x, y + shift_y) for x, y in route.points]
    width = max([x for r in routes for x, _ in r.points] + [x + w / 2 for (x, _), (w, _) in zip(centers, sizes)])
    height = max([y for r in routes for _, y in r.points] + [y + h / 2 for (_, y), (_, h) in zip(centers, sizes)])
    return GraphLayout(centers=centers, sizes=list(sizes), layers=list(layer), edges=routes, buses=[],
                       width=width, height=height, direction="lr", bands=node_band)
