"""The U layout of an encoder–decoder, free of Qt: the contracting path going down on the left, the expanding
path coming up on the right, and the skip connections straight across, as the U-Net paper (and SegNet's,
FCN's) draw them. ``layout.layout_graph`` asks ``layout_u`` first and falls back to its layers when the graph
is no encoder–decoder.

What makes one is read from the data, never from a model's name: the spatial size of every output gives a
*level* (one level per halving of the map, counted along the edges so that unpadded 3×3 convs do not drift),
and a graph is an encoder–decoder when its levels go down to a deepest point and come back up at least two
levels, with edges (concatenations, sums, pooling indices handed over) joining nodes before the deepest point
to nodes after it at the same level, at two levels at least (FCN-8s: pool4 and pool3). Each level is one
row: the encoder's nodes of that level on the left (rows right-aligned), the decoder's on the right (rows
left-aligned), the skip edges across the gap between them with a label that says what they carry ("copy and
crop") and the shape. The bottom of the U moves up into the decoder's lowest row when the encoder has nothing
there (SegNet's last pool beside its first unpooling), so that the U is no taller than its levels.

In compact mode (``fold_stages``) each stage of a level is one node, as the papers draw them: SegNet's three
Conv 3×3 + BN + ReLU and their pool are "3× Conv 3×3", so that VGG-16 and its mirror fit a projected screen
legibly; what the skips join (the pools that hand their indices over, FCN's score convs, crops and sums, the
unpoolings) stays a node of its own.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from cnn_explorer.widgets.common import format
from cnn_explorer.widgets.graph.data import GraphData, GraphNode
from cnn_explorer.widgets.graph.folding import FoldedGraph, foldable_paths, merge_runs
from cnn_explorer.widgets.graph.routes import EdgeRoute, GraphLayout

MIN_LEVELS = 2  # the deepest point at least this many halvings below the input, the output as far back up


# -- levels -------------------------------------------------------------------------------------------------

def _height(shape) -> int | None:
    """The map's height of a (C, H, W) shape; None for anything else (a vector, several tensors)."""
    return shape[1] if shape is not None and len(shape) == 3 and shape[1] > 0 else None


def _topological(count: int, edges: list[tuple[int, int]]) -> list[int] | None:
    """The nodes in an order where every edge goes forwards (the lowest index first); None with a cycle."""
    preds_left = [0] * count
    succs: list[list[int]] = [[] for _ in range(count)]
    for s, d in edges:
        succs[s].append(d)
        preds_left[d] += 1
    ready = [i for i in range(count) if preds_left[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        v = heapq.heappop(ready)
        order.append(v)
        for d in succs[v]:
            preds_left[d] -= 1
            if preds_left[d] == 0:
                heapq.heappush(ready, d)
    return order if len(order) == count else None


class UShape:
    """An encoder–decoder found in a graph of ``count`` nodes: each node's ``band`` (row, 0 at the top), its
    ``arm`` ("enc" or "dec"), the topological ``order``, and the indices of the ``skips`` (edges across)."""

    def __init__(self, band: list[int], arm: list[str], order: list[int], skips: set[int]):
        self.band, self.arm, self.order, self.skips = band, arm, order, skips


def find_u(heights: list[int | None], edges: list[tuple[int, int]],
           edge_heights: list[int | None]) -> UShape | None:
    """The encoder–decoder in a graph whose nodes output maps ``heights`` high, with ``edges`` carrying maps
    ``edge_heights`` high; None when the graph is none (a chain, a ResNet, a detector, a net without skips)."""
    count = len(heights)
    if count < 5 or any(h is None for h in heights) or any(h is None for h in edge_heights):
        return None
    order = _topological(count, edges)
    if order is None:
        return None
    preds: list[list[int]] = [[] for _ in range(count)]
    for i, (s, d) in enumerate(edges):
        preds[d].append(i)
    if sum(1 for v in range(count) if not preds[v]) != 1:
        return None
    # Output level: the level of the input map plus the halvings of the op; the one most inputs agree on.
    out = [0] * count
    into = [0] * count  # the deepest level that comes in
    for v in order:
        if not preds[v]:
            continue
        votes = [out[edges[i][0]] + round(math.log2(edge_heights[i] / heights[v])) for i in preds[v]]
        out[v] = max(set(votes), key=lambda level: (votes.count(level), -level))
        into[v] = max(out[edges[i][0]] for i in preds[v])
    deepest = max(out)
    bottom = max(k for k, v in enumerate(order) if out[v] == deepest)
    encoder = set(order[:bottom + 1])
    if deepest < MIN_LEVELS or len(encoder) == count:
        return None
    sources = {s for s, _ in edges}
    sinks = [v for v in range(count) if v not in sources]
    if max(out[v] for v in sinks) > deepest - MIN_LEVELS:
        return None
    place = list(out)
    skips: set[int] = set()
    feeds_encoder = {s for s, d in edges if d in encoder}
    for i, (s, d) in enumerate(edges):
        if s not in encoder or d in encoder:
            continue
        if out[s] == out[d]:
            skips.add(i)
        elif into[s] == out[d] != out[s] and s in feeds_encoder:
            # a pool handing its indices to the unpooling on the side, while its map goes on down: it is drawn
            # at the level of its input, where the unpooling puts them back
            place[s] = into[s]
            skips.add(i)
    if len({place[edges[i][0]] for i in skips} - {deepest}) < 2:  # skips at two levels at least: not one
        return None  # branch that comes back (DeepLab's image pooling beside its atrous convs)
    # The bottom of the U (the encoder below the decoder's lowest row) moves up into that row when nothing of
    # the encoder is there (SegNet's last pool, which hands its map and indices straight to the unpooling;
    # DeconvNet's fc6 and fc7 beside its first deconvolution): a row the less, and the U's bottom flat.
    lowest = max(place[v] for v in range(count) if v not in encoder)
    below = [v for v in encoder if place[v] > lowest]
    if below and not any(place[v] == lowest for v in encoder):
        for v in below:
            place[v] = lowest
    for s, d in edges:  # down the encoder, up the decoder
        if s in encoder and d in encoder and place[d] < place[s]:
            return None
        if s not in encoder and place[d] > place[s]:
            return None
    ranks = {level: rank for rank, level in enumerate(sorted(set(place)))}
    return UShape([ranks[p] for p in place], ["enc" if v in encoder else "dec" for v in range(count)], order,
                  skips)


def find_u_in_data(data: GraphData) -> UShape | None:
    """``find_u`` on the layers of ``data`` themselves (nothing folded)."""
    index = {node.id: i for i, node in enumerate(data.nodes)}
    edges = [(index[e.src], index[e.dst]) for e in data.edges if e.src in index and e.dst in index]
    heights = [_height(node.shape) for node in data.nodes]
    edge_heights = [_height(e.shape) for e in data.edges if e.src in index and e.dst in index]
    return find_u(heights, edges, edge_heights)


def blocks_to_open(data: GraphData, candidates: list[str]) -> set[str]:
    """Of the foldable blocks ``candidates`` (those a graph opens folded), the ones that hold the skip taps of
    several levels of an encoder–decoder (SegNet's VGG-16 encoder hands its pooling indices over at five):
    folded, the U would have no left arm, so the graph opens with them open."""
    u = find_u_in_data(data)
    if u is None:
        return set()
    index = {node.id: i for i, node in enumerate(data.nodes)}
    pairs = [(index[e.src], index[e.dst]) for e in data.edges if e.src in index and e.dst in index]
    opened = set()
    for path in candidates:
        levels = {u.band[s] for i, (s, d) in enumerate(pairs) if i in u.skips
                  and path in data.nodes[s].blocks and path not in data.nodes[d].blocks}
        if len(levels) >= 2:
            opened.add(path)
    return opened


# -- what a skip carries --------------------------------------------------------------------------------------

def skip_words(data: GraphData, src: GraphNode, dst: GraphNode, carried) -> tuple[str, str]:
    """What a skip edge ``src`` → ``dst`` does, in the papers' words, and the shape it carries (the one home of
    these words: the layer graph's U and the Figure tab's U both say them): "copy and crop" (U-Net: the
    encoder's map cropped to the decoder's and concatenated), "copy and concatenate", "pooling indices"
    (SegNet: the pool's switches for the unpooling), "skip, crop and sum" (FCN's fused scores)."""
    succs: dict[int, list[GraphNode]] = {}
    by_id = {node.id: node for node in data.nodes}
    for edge in data.edges:
        succs.setdefault(edge.src, []).append(by_id[edge.dst])
    height = _height(carried)
    node, cropped, shape = dst, False, format.shape(carried)
    for _ in range(4):  # through a crop or a 1×1 score conv to what joins it to the decoder
        h = _height(node.shape)
        if node.kind == "pool" and h is not None and height is not None and h > height:
            return "pooling indices", shape
        if node.kind == "merge":
            break
        if node.kind == "reshape" and h is not None and height is not None and h < height:
            cropped = True
        nexts = succs.get(node.id, [])
        if len(nexts) != 1:
            break
        node = nexts[0]
    title = node.title.lower()
    if node.kind == "merge" and ("cat" in title or "concat" in title):
        return ("copy and crop" if cropped else "copy and concatenate"), shape
    if node.kind == "merge" and ("add" in title or "sum" in title or title == "+"):
        return ("skip, crop and sum" if cropped else "skip and sum"), shape
    return ("skip, cropped" if cropped else "skip"), shape


# -- the layout ---------------------------------------------------------------------------------------------------

def _visible_shapes(graph: FoldedGraph, data: GraphData):
    """The numeric output shape of each visible node (None when its outputs differ in size), and for each
    visible edge the raw edge it stands for (the first)."""
    by_id = {node.id: node for node in data.nodes}
    leaving: dict[int, list] = {}
    raw_of: dict[tuple[int, int], tuple] = {}
    for edge in data.edges:
        s, d = graph.index_of_id.get(edge.src), graph.index_of_id.get(edge.dst)
        if s is None or d is None or s == d:
            continue
        leaving.setdefault(s, []).append(by_id[edge.src].shape)
        raw_of.setdefault((s, d), edge)
    shapes = []
    for i, node in enumerate(graph.nodes):
        outs = leaving.get(i) or [by_id[node.members[-1]].shape]
        shapes.append(outs[-1] if len({_height(o) for o in outs}) == 1 else None)
    return shapes, [raw_of.get((e.src, e.dst)) for e in graph.edges]


def _chain_order(row: list[int], pairs: list[tuple[int, int]], skip_in: set[int],
                 position: dict[int, int]) -> list[int]:
    """A decoder row in an order where every edge goes right: first what a skip comes into, then each node's
    successor as soon as all its inputs are placed (FCN: score_pool4, its crop, then the upsampled scores
    beside the sum), so that most edges join neighbours."""
    members = set(row)
    preds = {v: {s for s, d in pairs if d == v and s in members} for v in row}
    succs = {v: [d for s, d in pairs if s == v and d in members] for v in row}
    placed: list[int] = []
    done: set[int] = set()
    while len(placed) < len(row):
        ready = [v for v in row if v not in done and preds[v] <= done]
        follow = [d for d in (succs[placed[-1]] if placed else []) if d in ready]
        v = min(follow or ready, key=lambda v: (v not in skip_in, position[v]))
        placed.append(v)
        done.add(v)
    return placed


def _u_of(graph: FoldedGraph, data: GraphData):
    """``find_u`` on the visible nodes of ``graph`` (folded from ``data``), with their shapes and the raw edge
    of each visible edge; None when it is no encoder–decoder."""
    shapes, raw = _visible_shapes(graph, data)
    if any(r is None for r in raw):
        return None
    u = find_u([_height(s) for s in shapes], [(e.src, e.dst) for e in graph.edges], [_height(r.shape) for r in raw])
    return None if u is None else (u, shapes, raw)


def _same_level(a: int | None, b: int | None) -> bool:
    """Two map heights at one level: no halving between them (U-Net's unpadded 3×3 takes 570 to 568)."""
    return a is not None and b is not None and abs(math.log2(a / b)) < 0.5


def stage_runs(graph: FoldedGraph, data: GraphData) -> list[list[int]]:
    """The stages of a compact encoder–decoder that its paper draws as one box each: runs of consecutive compact
    conv nodes at one level with the same norm and activation after each (SegNet's three Conv 3×3 + BN + ReLU,
    FCN's conv3_1..conv3_3, its fc6 and fc7 with their dropouts), each the only successor of the one before,
    and nothing drawn around a part of it. A run ends at a node that feeds something else too (a skip's
    source: SegNet's pool that hands its indices over, FCN's conv4_3 that pool4's scores come from) and at the
    pool that takes the map a level down; [] when ``graph`` is no U. Everything else stays a node of its own
    (unpoolings, up-convolutions that change the level, crops, sums, a classifier without an activation)."""
    if _u_of(graph, data) is None:
        return []
    by_id = {node.id: node for node in data.nodes}
    foldable = foldable_paths(data)
    succs: dict[int, list[int]] = {}
    preds: dict[int, list[int]] = {}
    for e in graph.edges:
        succs.setdefault(e.src, []).append(e.dst)
        preds.setdefault(e.dst, []).append(e.src)

    def frames(v: int) -> tuple[str, ...]:
        return tuple(p for p in graph.nodes[v].blocks if p in foldable)

    def unit(v: int):
        """A compact conv node: what must be alike in a run (the norm and activation after its conv), the
        heights of its conv's output and of its own output; None for anything else."""
        node = graph.nodes[v]
        conv = by_id[node.members[0]]
        if node.is_block or conv.kind != "conv":
            return None
        followers = tuple(by_id[i].title for i in node.members[1:] if by_id[i].kind != "pool")
        return followers, _height(conv.shape), _height(by_id[node.members[-1]].shape)

    def dropout(v: int) -> bool:
        node = graph.nodes[v]
        return not node.is_block and len(node.members) == 1 and node.kind == "dropout"

    runs: list[list[int]] = []
    done: set[int] = set()
    for v in range(len(graph.nodes)):
        if v in done or (first := unit(v)) is None:
            continue
        run, last_unit = [v], first
        while len(succs.get(run[-1], ())) == 1 and _same_level(last_unit[1], last_unit[2]):
            nxt = succs[run[-1]][0]
            if len(preds.get(nxt, ())) != 1 or frames(nxt) != frames(v) or nxt in done:
                break
            if not dropout(nxt):
                following = unit(nxt)
                if following is None or following[0] != first[0] or not _same_level(following[1], first[1]):
                    break
                last_unit = following
            run.append(nxt)
        done.update(run)
        if len(run) > 1:
            runs.append(run)
    return runs


def fold_stages(graph: FoldedGraph, data: GraphData) -> FoldedGraph:
    """Compact mode's encoder–decoder drawn a stage a node (``stage_runs``), as SegNet's, DeconvNet's and FCN's
    papers draw them, so that a U of VGG-16 and its mirror fits a projected screen legibly; ``graph`` itself
    when it is no U or has no such stage (a chain, a ResNet: every conv stays a node)."""
    runs = stage_runs(graph, data)
    if not runs:
        return graph
    merged = merge_runs(graph, data, runs)
    return merged if _u_of(merged, data) is not None else graph


def layout_u(graph: FoldedGraph, data: GraphData, sizes: list[tuple[float, float]], *, hgap: float,
             vgap: float, text_width: Callable[[str], float], label_height: float, aspect: float | None,
             reserve: float, direction: str) -> GraphLayout | None:
    """The U layout of ``graph`` (folded from ``data``), or None when it is no encoder–decoder. ``hgap``:
    between the nodes of a row; ``vgap``: between rows; ``text_width`` measures a skip's label (drawn
    ``label_height`` high above and below its line); ``aspect`` (width / height of the screen, else 16:10)
    and ``reserve`` (what is drawn above) choose how far the arms slant."""
    found = _u_of(graph, data)
    if found is None:
        return None
    u, _, raw = found
    pairs = [(e.src, e.dst) for e in graph.edges]
    count = len(graph.nodes)
    vgap *= 0.5  # the rows need room for arrows only: the skips' labels run beside them
    arm, skips = u.arm, u.skips
    position = {v: k for k, v in enumerate(u.order)}
    width = [w for w, _ in sizes]
    gap_in_row = hgap * 0.6
    skip_in = {pairs[i][1] for i in skips}
    by_id = {node.id: node for node in data.nodes}
    labels = {i: skip_words(data, by_id[raw[i].src], by_id[raw[i].dst], raw[i].shape) for i in skips}
    column = sorted(width)[len(width) // 2] + gap_in_row

    def arrange(lift: bool, slant: float):
        """Rows, their heights and places. ``lift``: the input and the output in a row of their own above the
        top one, over the nodes they feed and come from (the U-Net paper's input tile and output map), so
        that the top row is no wider than the others; ``slant``: the arms lean this much per row towards the
        middle."""
        band = list(u.band)
        rows: dict[tuple[str, int], list[int]] = {}
        for v in u.order:
            rows.setdefault((arm[v], band[v]), []).append(v)
        for (side, b), row in rows.items():
            if side == "dec":
                rows[(side, b)] = _chain_order(row, pairs, skip_in, position)
        lifted: dict[int, int] = {}  # a node in the top row -> the node it stands over
        if lift:
            enc0, dec0 = rows.get(("enc", 0), []), rows.get(("dec", 0), [])
            if len(enc0) >= 2 and not any(d == enc0[0] for _, d in pairs):
                lifted[enc0[0]] = enc0[1]
            if len(dec0) >= 2 and not any(s == dec0[-1] for s, _ in pairs):
                lifted[dec0[-1]] = dec0[-2]
            if not lifted:
                return None
            band = [b + 1 for b in band]
            for v in lifted:
                band[v] = 0
            rows = {(side, b + 1): [v for v in row if v not in lifted] for (side, b), row in rows.items()}
            for v in lifted:
                rows[(arm[v], 0)] = [v]
        bands = max(band) + 1

        def row_width(side: str, b: int) -> float:
            row = rows.get((side, b), [])
            return sum(width[v] for v in row) + gap_in_row * max(len(row) - 1, 0)

        gap_needed = [2 * hgap] * bands
        for i in skips:
            b = band[pairs[i][0]]
            gap_needed[b] = max(gap_needed[b], max(text_width(t) for t in labels[i]) + gap_in_row)
        tall = [max((sizes[v][1] for v in range(count) if band[v] == b), default=0.0) for b in range(bands)]
        ys, y = [], 0.0
        for b in range(bands):
            ys.append(y + tall[b] / 2)
            y += tall[b] + vgap
        bottom = max(b for b in range(bands) if ("enc", b) in rows)
        turning = ("dec", bottom) not in rows and bottom > 0  # the bottom row turns up into the decoder
        placed = [b for b in range(bands) if ("enc", b) in rows and not (b == 0 and lifted)]
        upper = [b for b in placed if not (turning and b == bottom)] or placed
        left = max(row_width("enc", b) - slant * b for b in upper)
        enc_end = {b: left + slant * b for b in range(bands)}
        gap = 0.0
        for b in range(bands):
            if ("dec", b) in rows or any(band[pairs[i][0]] == b for i in skips):
                gap = max(gap, gap_needed[b] + 2 * slant * b)
        dec_start = {b: enc_end[0] + gap - slant * b for b in range(bands)}
        if turning:  # as far right as it can go: under the gap, its last node just left of the decoder, and
            # a row wider than the encoder and the gap goes on under the decoder (FCN's pool5, fc6–7 and scores)
            lefts = [enc_end[b] - row_width("enc", b) for b in upper]
            enc_end[bottom] = max(enc_end[bottom - 1] + slant, dec_start[bottom - 1] - hgap,
                                  min(lefts) + row_width("enc", bottom))
        centers: list[tuple[float, float]] = [(0.0, 0.0)] * count
        column_of = [0] * count
        for (side, b), row in rows.items():
            x = enc_end[b] - row_width(side, b) if side == "enc" else dec_start[b]
            for k, v in enumerate(row):
                centers[v] = (x + width[v] / 2, ys[b])
                column_of[v] = k
                x += width[v] + gap_in_row
        for v, under in lifted.items():
            centers[v] = (centers[under][0], ys[0])
        span = (max(x + w / 2 for (x, _), w in zip(centers, width)) - min(x - w / 2 for (x, _), w in zip(centers, width)))
        score = min((aspect or 1.6) / span, 1.0 / (y - vgap + reserve))
        return score, band, rows, centers, column_of, ys, tall, enc_end, dec_start

    # The largest on the screen; of those as large, without the top row, then leaning the most.
    options = [(lift, arranged) for lift in (False, True) for step in range(5)
               if (arranged := arrange(lift, column * step / 4)) is not None]
    best = max(arranged[0] for _, arranged in options)
    good = [(lift, arranged) for lift, arranged in options if arranged[0] >= best * 0.999]
    lift = min(lift for lift, _ in good)
    score, band, rows, centers, column_of, ys, tall, enc_end, dec_start = [a for f, a in good if f == lift][-1]

    def l(v):
        return centers[v][0] - width[v] / 2

    def r(v):
        return centers[v][0] + width[v] / 2

    def t(v):
        return centers[v][1] - sizes[v][1] / 2

    def bo(v):
        return centers[v][1] + sizes[v][1] / 2

    def above(b):  # the lane in the gap above row b
        return ys[b] - tall[b] / 2 - vgap / 2

    def below(b):
        return ys[b] + tall[b] / 2 + vgap / 2

    routes: list[EdgeRoute] = []
    for i, (s, d) in enumerate(pairs):
        shape = graph.edges[i].shape
        (xs, ys_), (xd, yd) = centers[s], centers[d]
        label: tuple[str, ...] = ()
        at = None
        same_row = band[s] == band[d] and arm[s] == arm[d]
        if same_row and column_of[d] == column_of[s] + 1:
            points = [(r(s), ys_), (l(d), yd)]
        elif same_row:  # over nodes of its row: below them
            lane = below(band[s]) - vgap * 0.15
            points = [(xs + width[s] / 4, bo(s)), (xs + width[s] / 4, lane), (xd - width[d] / 4, lane),
                      (xd - width[d] / 4, bo(d))]
        elif i in skips:
            label = labels[i]
            row_s, row_d = rows[("enc", band[s])], rows[("dec", band[d])]
            if row_s[-1] == s and row_d[0] == d:  # straight across
                points = [(r(s), ys_), (l(d), yd)]
            else:  # over the rows, below the lane that comes down into the row
                lane = above(band[s]) + vgap * 0.3
                points = [(xs, t(s)), (xs, lane), (xd, lane), (xd, t(d))]
            start = max(r(v) for v in row_s if v != d)
            end = min(l(v) for v in row_d)
            at = ((start + end) / 2, points[1][1] if len(points) == 4 else ys_)
        elif band[d] > band[s] and arm[d] == "enc":  # down the encoder to the next row
            if l(d) < xs < r(d):
                points = [(xs, bo(s)), (xs, t(d))]
            else:
                lane = above(band[d])
                points = [(xs, bo(s)), (xs, lane), (xd, lane), (xd, t(d))]
        elif band[d] < band[s] and arm[s] == "enc":  # the bottom turning up into the decoder
            if xd > r(s):
                points = [(r(s), ys_), (xd, ys_), (xd, bo(d))]
            else:
                lane = below(band[d])
                points = [(xs, t(s)), (xs, lane), (xd, lane), (xd, bo(d))]
        elif band[d] < band[s]:  # up the decoder
            if l(d) < xs < r(d):
                points = [(xs, t(s)), (xs, bo(d))]
            else:
                lane = below(band[d])
                points = [(xs, t(s)), (xs, lane), (xd, lane), (xd, bo(d))]
        else:  # anything else: across the gap at its middle
            middle = (enc_end[band[s]] + dec_start[band[s]]) / 2
            points = [(r(s), ys_), (middle, ys_), (middle, yd), (l(d), yd)]
        routes.append(EdgeRoute(s, d, shape, points, orthogonal=True, label=label, label_at=at))

    # Several edges into one side of a node: spread along it (a straight skip keeps its line).
    ends: dict[tuple[int, float, float], list[EdgeRoute]] = {}
    for route in routes:
        if not route.label or len(route.points) != 2:
            ends.setdefault((route.dst, *route.points[-1]), []).append(route)
    for (d, x, y), group in ends.items():
        if len(group) < 2:
            continue
        vertical_side = abs(y - centers[d][1]) < 0.5  # the left side
        span = (sizes[d][1] if vertical_side else width[d]) - 16
        step = min(14.0, span / (len(group) - 1))
        for k, route in enumerate(group):
            offset = (k - (len(group) - 1) / 2) * step
            px, py = route.points[-1]
            new = (px, py + offset) if vertical_side else (px + offset, py)
            route.points[-1] = new
            if len(route.points) > 2:  # keep the last run straight
                qx, qy = route.points[-2]
                route.points[-2] = (qx, new[1]) if vertical_side else (new[0], qy)

    lefts = [l(v) for v in range(count)] + [x for route in routes for x, _ in route.points]
    tops = [t(v) for v in range(count)] + [y for route in routes for _, y in route.points]
    shift_x, shift_y = -min(lefts), -min(min(tops), 0.0)
    centers = [(x + shift_x, y + shift_y) for x, y in centers]
    for route in routes:
        route.points = [(x + shift_x, y + shift_y) for x, y in route.points]
        if route.label_at is not None:
            route.label_at = (route.label_at[0] + shift_x, route.label_at[1] + shift_y)
    total_width = max([x + w / 2 for (x, _), (w, _) in zip(centers, sizes)]
                      + [x for route in routes for x, _ in route.points])
    total_height = max([y + h / 2 for (_, y), (_, h) in zip(centers, sizes)]
                       + [y for route in routes for _, y in route.points]) + label_height
    return GraphLayout(centers=centers, sizes=list(sizes), layers=list(band), edges=routes, buses=[],
                       width=total_width, height=total_height, direction=direction, u_shape=True)
