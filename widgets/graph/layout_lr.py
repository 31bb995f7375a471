"""The left-to-right layout, free of Qt: the layers of a Sugiyama layout run from left to right and wrap into
rows (like lines of text), as many as show the whole graph largest on the screen it is made for, breaking
rows between blocks. ``layout.layout_graph(..., direction="lr")`` calls ``layout_rows``.
"""

from __future__ import annotations

from bisect import bisect_right

from cnn_explorer.widgets.graph.folding import FoldedGraph
from cnn_explorer.widgets.graph.routes import EdgeRoute, GraphLayout


MAX_ROWS = 40  # more rows than this would be too small to read on any screen


def _bands(widths: list[float], gap: float, heights, band_gap: float, aspect: float | None,
           reserve: float, clean: list[bool] | None = None) -> list[int]:
    """The row of each layer: consecutive layers, as many rows as make the whole largest on a screen of
    ``aspect`` (one row without it). ``heights(first, last)``: the height of a row of those layers;
    ``clean[i]``: whether a row may end after layer i without cutting a block in two (preferred).

    Each row count is tried with a bisection over the row width (16 packings), so a packing costs a search
    per row, not a walk over every layer: DenseNet-201 unfolded (~450 layers) took 0.2 s a layout walking."""
    count = len(widths)
    if aspect is None or count < 2:
        return [0] * count
    clean = clean or [True] * count
    # reach[i]: the width of layers 0..i-1 with the gaps between them and one more gap, so the width of the
    # layers start..end-1 is reach[end] - reach[start] - gap; it only grows, so a row's end is a bisection.
    reach = [0.0]
    for i, w in enumerate(widths):
        reach.append(reach[-1] + w + gap)
    last_clean, seen = [-1] * count, -1  # last_clean[i]: the last layer ≤ i after which a row may end
    for i in range(count):
        seen = i if clean[i] else seen
        last_clean[i] = seen

    def pack(limit: float) -> list[int]:
        """The first layer of each row: rows filled from the left up to ``limit`` wide (a layer wider than
        that gets a row of its own), ended after the last layer that cuts no block when that leaves the row
        at least a third full."""
        starts, start = [], 0
        while start < count:
            end = max(start + 1, min(bisect_right(reach, limit + gap + reach[start]) - 1, count))
            if end < count and not clean[end - 1] and end - 2 >= start:
                k = last_clean[end - 2]
                if k >= start and reach[k + 1] - reach[start] - gap >= limit / 3:
                    end = k + 1
            starts.append(start)
            start = end
        return starts

    def assign(starts: list[int]) -> list[int]:
        assignment = []
        for band, first in enumerate(starts):
            assignment += [band] * ((starts[band + 1] if band + 1 < len(starts) else count) - first)
        return assignment

    def score(starts: list[int]) -> float:
        height, widest = reserve + band_gap * (len(starts) - 1), 0.0
        for band, first in enumerate(starts):
            end = starts[band + 1] if band + 1 < len(starts) else count
            widest = max(widest, reach[end] - reach[first] - gap)
            height += heights(first, end - 1)
        return min(aspect / widest, 1.0 / height)

    total = reach[count] - gap
    best, best_scale = [0], score([0])
    for rows in range(2, min(count, MAX_ROWS) + 1):
        low, high = max(widths), total  # the narrowest limit that packs into ``rows`` rows
        for _ in range(16):
            middle = (low + high) / 2
            low, high = (low, middle) if len(pack(middle)) <= rows else (middle, high)
        starts = pack(high)
        scale = score(starts)
        if scale > best_scale * 1.0001:
            best, best_scale = starts, scale
    return assign(best)


def layout_rows(graph: FoldedGraph, sizes, layer, coords, routing, kept, reversed_edges, *, layer_gap: float,
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
    tallest = [0.0] * layer_count
    for i in range(count):
        tallest[layer[i]] = max(tallest[layer[i]], sizes[i][1])

    lowest = [min(p, default=float("inf")) for p in positions]
    highest = [max(p, default=float("-inf")) for p in positions]

    def row_height(first: int, last: int) -> float:
        return (max(highest[first:last + 1]) - min(lowest[first:last + 1])) * unit + max(tallest[first:last + 1])

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
